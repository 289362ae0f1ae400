/* tools/vej-loadgen/report.c - the measured window and its figures.
 *
 * Forwarded packets: RTP packets with a valid stamp that the subscribe PCs
 * received and decrypted during the window (one packet to one subscriber).
 * Loss: per received SSRC, sequence numbers expected (the gateway rewrites
 * them without gaps) minus packets received in the window; also the
 * deliveries expected from what the publishers sent (sent x M). Gateway
 * CPU: utime + stime of --gateway-pid (every thread) over the window. The
 * machine: busy / total of /proc/stat's "cpu" line; over 85% the run is
 * "saturated" and its per-packet figure is not a result. The per-stream
 * counts and the histograms are marked, cleared and read with every media
 * thread paused (workers.c); the totals are read atomically. */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SATURATED_PERCENT 85.0

struct snapshot {
    int64_t ns;
    uint64_t rx, gw_ticks, self_ticks, busy, total, gw_wakeups, gw_sys;
    uint64_t sent;
    uint64_t cpu_busy[2], cpu_total[2];
    struct lg_alloc_counts alloc;
    bool gw_ok, alloc_ok;
};

static void
take(struct lg_run *run, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->ns = lg_now_ns();
    s->rx = LG_GET(run->rx_packets);
    uint64_t gw_user = 0;
    s->gw_ok =
        run->o.gateway_pid > 0 && lg_proc_cpu_split(run->o.gateway_pid, &gw_user, &s->gw_sys);
    s->gw_ticks = gw_user + s->gw_sys;
    if (run->o.gateway_pid > 0)
        lg_proc_wakeups(run->o.gateway_pid, &s->gw_wakeups);
    lg_proc_cpu_ticks(getpid(), &s->self_ticks);
    lg_machine_ticks(&s->busy, &s->total);
    for (int c = 0; c < 2; c++)
        lg_cpu_ticks(c, &s->cpu_busy[c], &s->cpu_total[c]);
    s->alloc_ok = lg_alloc_read(run->o.alloc_file, &s->alloc);
    for (guint i = 0; i < run->pubs->len; i++) {
        struct lg_pc *pc = run->pubs->pdata[i];
        s->sent += LG_GET(pc->sent[0]) + LG_GET(pc->sent[1]);
    }
}

static void
mark_streams(struct lg_run *run)
{
    for (guint i = 0; i < run->subs->len; i++) {
        struct lg_pc *pc = run->subs->pdata[i];
        for (size_t k = 0; k < pc->n_rx; k++) {
            struct lg_rx_stream *s = &pc->rx[k];
            s->received_mark = s->received;
            s->expected_mark = s->started ? s->ext_max - s->first_seq + 1 : 0;
        }
    }
}

static void
window_loss(struct lg_run *run, uint64_t *expected, uint64_t *received, size_t *streams)
{
    *expected = *received = 0;
    *streams = 0;
    for (guint i = 0; i < run->subs->len; i++) {
        struct lg_pc *pc = run->subs->pdata[i];
        for (size_t k = 0; k < pc->n_rx; k++) {
            struct lg_rx_stream *s = &pc->rx[k];
            if (!s->started)
                continue;
            uint64_t exp_now = s->ext_max - s->first_seq + 1;
            *expected += exp_now - s->expected_mark;
            *received += s->received - s->received_mark;
            (*streams)++;
        }
    }
}

/* --window-hook: "CMD start" / "CMD stop", waited for (before the first
 * snapshot, after the last: what it costs falls outside the window). */
static void
run_hook(const char *hook, const char *what)
{
    if (!hook)
        return;
    g_autofree char *cmd = g_strdup_printf("%s %s", hook, what);
    g_autoptr(GError) err = NULL;
    int status = 0;
    if (!g_spawn_command_line_sync(cmd, NULL, NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, &err))
        fprintf(stderr, "vej-loadgen: window hook %s: %s\n", what, err->message);
}

static void
pump_for(double seconds)
{
    int64_t end = lg_now_ns() + (int64_t)(seconds * 1e9);
    while (lg_now_ns() < end)
        g_main_context_iteration(NULL, TRUE);
}

/* Prints the gateway's CPU split, wake-ups and memory growth over the run
 * (from before the first participant) and returns them as JSON members
 * for --json. */
static json_t *
gateway_report(const struct lg_run *run, const struct lg_mem *after, double cpu_s, double sys_s,
               double wakeups)
{
    const struct lg_mem *m0 = &run->mem_before;
    int n_pcs = run->o.publishers + run->o.subscribers;
    double per_pc = after->vm_rss_kib >= 0 && m0->vm_rss_kib >= 0
                        ? (double)(after->vm_rss_kib - m0->vm_rss_kib) / n_pcs
                        : -1;
    printf("gateway CPU split  %.3f s user, %.3f s system (kernel)\n",
           cpu_s >= 0 ? cpu_s - sys_s : -1.0, sys_s);
    printf("gateway wake-ups   %.0f per second (voluntary context switches, every thread)\n",
           wakeups);
    printf("gateway memory     VmRSS %lld -> %lld KiB (%.1f KiB per PC of %d); smaps_rollup "
           "Rss %lld, Pss %lld, Anonymous %lld KiB (before: %lld, %lld, %lld)\n",
           m0->vm_rss_kib, after->vm_rss_kib, per_pc, n_pcs, after->rss_kib, after->pss_kib,
           after->anon_kib, m0->rss_kib, m0->pss_kib, m0->anon_kib);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f}", "rss_before_kib",
                     (json_int_t)m0->vm_rss_kib, "rss_after_kib", (json_int_t)after->vm_rss_kib,
                     "rollup_rss_before_kib", (json_int_t)m0->rss_kib, "rollup_rss_after_kib",
                     (json_int_t)after->rss_kib, "pss_before_kib", (json_int_t)m0->pss_kib,
                     "pss_after_kib", (json_int_t)after->pss_kib, "anon_before_kib",
                     (json_int_t)m0->anon_kib, "anon_after_kib", (json_int_t)after->anon_kib,
                     "rss_per_pc_kib", per_pc, "wakeups_per_s", wakeups, "gateway_sys_s", sys_s);
}

/* The load generator's own counters over the whole run (not the window). */
static void
print_run_counters(struct lg_run *run)
{
    const struct lg_options *o = &run->o;
    printf("receive problems   srtp %llu, bad stamp %llu\n",
           (unsigned long long)LG_GET(run->rx_srtp_fail),
           (unsigned long long)LG_GET(run->rx_bad_stamp));
    printf("header extensions  %llu of %llu RTP packets received carry a block\n",
           (unsigned long long)LG_GET(run->rx_with_extensions),
           (unsigned long long)LG_GET(run->rx_packets));
    printf("audio level        %llu of %llu audio packets received carry one\n",
           (unsigned long long)LG_GET(run->rx_audio_level),
           (unsigned long long)LG_GET(run->rx_audio));
    printf("feedback (run)     %llu RTCP compounds sent, %llu seqs NACKed, %llu RTX received "
           "(%llu filled a gap), %llu dropped (--loss %.3f), %llu PLI/FIR to publishers\n",
           (unsigned long long)LG_GET(run->tx_rtcp), (unsigned long long)LG_GET(run->tx_nacked),
           (unsigned long long)LG_GET(run->rx_rtx), (unsigned long long)LG_GET(run->rx_recovered),
           (unsigned long long)LG_GET(run->rx_dropped), o->loss,
           (unsigned long long)LG_GET(run->pli_seen));
    printf("sender reports     %llu received by subscribers, %llu not on the publisher's clock, "
           "%llu off their stream's timestamps\n",
           (unsigned long long)LG_GET(run->rx_sr), (unsigned long long)LG_GET(run->rx_sr_foreign),
           (unsigned long long)LG_GET(run->rx_sr_inconsistent));
    printf("sender reports     %llu received by subscribers in %llu compounds\n",
           (unsigned long long)LG_GET(run->rx_srs),
           (unsigned long long)LG_GET(run->rx_sr_compounds));
}

int
lg_measure(struct lg_run *run)
{
    const struct lg_options *o = &run->o;
    pump_for(o->warmup_s);
    struct snapshot a, b;
    lg_workers_pause(run);
    mark_streams(run);
    lg_hist_clear(&run->latency);
    lg_hist_clear(&run->spread);
    lg_alloc_attribute(o->alloc_file, true);
    run_hook(o->window_hook, "start");
    __atomic_store_n(&run->measuring, true, __ATOMIC_RELAXED);
    take(run, &a);
    lg_workers_resume(run);
    pump_for(o->duration_s);
    take(run, &b);
    __atomic_store_n(&run->measuring, false, __ATOMIC_RELAXED);
    run_hook(o->window_hook, "stop");
    lg_alloc_attribute(o->alloc_file, false);
    struct lg_mem mem_after = {-1, -1, -1, -1};
    if (o->gateway_pid > 0)
        lg_proc_memory(o->gateway_pid, &mem_after);
    /* Packets still in flight at the window's end count as received. */
    uint64_t expected, received;
    size_t streams;
    pump_for(0.2);
    lg_workers_pause(run);
    window_loss(run, &expected, &received, &streams);
    lg_workers_resume(run);

    double secs = (double)(b.ns - a.ns) / 1e9;
    double tck = (double)sysconf(_SC_CLK_TCK);
    uint64_t fwd = b.rx - a.rx;
    double pps = (double)fwd / secs;
    double gw_cpu_s = a.gw_ok && b.gw_ok ? (double)(b.gw_ticks - a.gw_ticks) / tck : -1;
    double us_per_pkt = gw_cpu_s >= 0 && fwd ? gw_cpu_s * 1e6 / (double)fwd : -1;
    double self_pct = (double)(b.self_ticks - a.self_ticks) / tck / secs * 100.0;
    double machine_pct =
        b.total > a.total ? (double)(b.busy - a.busy) * 100.0 / (double)(b.total - a.total) : -1;
    double loss_pct = expected ? (double)(expected > received ? expected - received : 0) * 100.0 /
                                     (double)expected
                               : -1;
    uint64_t sent = b.sent - a.sent;
    double deliver_pct =
        sent && o->subscribers ? (double)fwd * 100.0 / ((double)sent * (double)o->subscribers) : -1;
    double missing_pct = deliver_pct >= 0 ? MAX(0.0, 100.0 - deliver_pct) : -1;
    double p50 = lg_hist_quantile(&run->latency, 0.50), p99 = lg_hist_quantile(&run->latency, 0.99);
    double pmax = lg_hist_quantile(&run->latency, 1.0);
    double s50 = lg_hist_quantile(&run->spread, 0.50), s99 = lg_hist_quantile(&run->spread, 0.99);
    double cpu_pct[2];
    for (int c = 0; c < 2; c++)
        cpu_pct[c] = b.cpu_total[c] > a.cpu_total[c]
                         ? (double)(b.cpu_busy[c] - a.cpu_busy[c]) * 100.0 /
                               (double)(b.cpu_total[c] - a.cpu_total[c])
                         : -1;
    /* Busy time of everything but the gateway and us, in cores. */
    double others = ((double)(b.busy - a.busy) - (double)(b.gw_ticks - a.gw_ticks) -
                     (double)(b.self_ticks - a.self_ticks)) /
                    tck / secs;
    bool saturated = machine_pct > SATURATED_PERCENT;
    bool lg_saturated = self_pct > 90.0;
    double allocs = -1, allocs_ours = -1;
    if (a.alloc_ok && b.alloc_ok && fwd) {
        allocs = (double)(b.alloc.total - a.alloc.total) / (double)fwd;
        allocs_ours = 0; /* no slot: nothing was ever charged to the executable */
        for (int i = 0; i < LG_ALLOC_DSOS; i++)
            if (strcmp(b.alloc.names[i], "vej-gateway") == 0)
                allocs_ours = (double)(b.alloc.by_dso[i] - a.alloc.by_dso[i]) / (double)fwd;
    }
    const char *profile = vej_srtp_profile_name(LG_GET(run->profile_seen));

    printf("profile            %s\n", profile);
    printf("publishers x subs  %d x %d (%zu streams received)\n", o->publishers, o->subscribers,
           streams);
    printf("window             %.2f s\n", secs);
    printf("sent               %.0f packets/s (all publishers)\n", (double)sent / secs);
    printf("forwarded          %.0f packets/s (%.2f%% of sent x M)\n", pps, deliver_pct);
    printf("gateway CPU        %.3f s = %.2f us per forwarded packet, %.3f%% of a core per PC\n",
           gw_cpu_s, us_per_pkt,
           gw_cpu_s >= 0 ? gw_cpu_s * 100.0 / secs / (o->publishers + o->subscribers) : -1.0);
    double gw_sys_s = a.gw_ok && b.gw_ok ? (double)(b.gw_sys - a.gw_sys) / tck : -1;
    json_t *extra = gateway_report(run, &mem_after, gw_cpu_s, gw_sys_s,
                                   (double)(b.gw_wakeups - a.gw_wakeups) / secs);
    printf("machine CPU        %.1f%%%s\n", machine_pct, saturated ? "  SATURATED (> 85%)" : "");
    printf("cpu0 / cpu1        %.1f%% / %.1f%% busy; other processes %.2f cores\n", cpu_pct[0],
           cpu_pct[1], others);
    printf("loadgen CPU        %.1f%% of one core%s\n", self_pct,
           lg_saturated ? "  LOADGEN SATURATED" : "");
    printf("loss (by seq)      %.4f%% (%llu of %llu)\n", loss_pct,
           (unsigned long long)(expected > received ? expected - received : 0),
           (unsigned long long)expected);
    printf("latency            p50 %.0f us, p99 %.0f us, max %.0f us (%llu samples)\n", p50, p99,
           pmax, (unsigned long long)run->latency.n);
    if (o->subscribers > 1)
        printf("fan-out spread     p50 %.0f us, p99 %.0f us (first to last of %d copies)\n", s50,
               s99, o->subscribers);
    if (allocs >= 0) {
        printf("allocations        %.3f per forwarded packet (vej-gateway code: %.3f)\n", allocs,
               allocs_ours);
        for (int i = 0; i < LG_ALLOC_DSOS && b.alloc.names[i][0]; i++)
            printf("  %-24s %.3f\n", b.alloc.names[i],
                   (double)(b.alloc.by_dso[i] - a.alloc.by_dso[i]) / (double)fwd);
    }
    print_run_counters(run);
    if (o->json_out) {
        json_t *j = json_pack(
            "{s:s,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:b,s:b,s:f,s:f,"
            "s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
            "profile", profile, "publishers", o->publishers, "subscribers", o->subscribers,
            "window_s", secs, "sent_pps", (double)sent / secs, "forwarded_pps", pps,
            "delivered_pct", deliver_pct, "gateway_cpu_s", gw_cpu_s, "us_per_packet", us_per_pkt,
            "machine_cpu_pct", machine_pct, "loadgen_cpu_pct", self_pct, "loss_pct", loss_pct,
            "latency_p50_us", p50, "latency_p99_us", p99, "spread_p50_us", s50, "spread_p99_us",
            s99, "saturated", saturated, "loadgen_saturated", lg_saturated, "allocs_per_packet",
            allocs, "allocs_ours_per_packet", allocs_ours, "cpu0_pct", cpu_pct[0], "cpu1_pct",
            cpu_pct[1], "other_cores", others, "latency_max_us", pmax, "missing_pct", missing_pct,
            "rtcp_sent", (json_int_t)LG_GET(run->tx_rtcp), "nacked",
            (json_int_t)LG_GET(run->tx_nacked), "rtx_received", (json_int_t)LG_GET(run->rx_rtx),
            "recovered", (json_int_t)LG_GET(run->rx_recovered), "dropped",
            (json_int_t)LG_GET(run->rx_dropped), "audio_received",
            (json_int_t)LG_GET(run->rx_audio), "audio_with_level",
            (json_int_t)LG_GET(run->rx_audio_level), "pli_seen", (json_int_t)LG_GET(run->pli_seen),
            "sr_received", (json_int_t)LG_GET(run->rx_sr), "sr_foreign_clock",
            (json_int_t)LG_GET(run->rx_sr_foreign), "sr_inconsistent",
            (json_int_t)LG_GET(run->rx_sr_inconsistent));
        json_object_update(j, extra);
        json_object_set_new(j, "sender_reports", json_integer((json_int_t)LG_GET(run->rx_srs)));
        json_object_set_new(j, "sender_report_compounds",
                            json_integer((json_int_t)LG_GET(run->rx_sr_compounds)));
        if (json_dump_file(j, o->json_out, JSON_COMPACT) != 0)
            fprintf(stderr, "vej-loadgen: cannot write %s\n", o->json_out);
        json_decref(j);
    }
    json_decref(extra);
    return fwd > 0 || o->no_media || o->subscribers == 0 ? 0 : 1;
}
