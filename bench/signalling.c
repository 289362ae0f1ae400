/* bench/signalling.c - load on the signalling server.
 *
 * Not a test: prints figures. It starts vej-gateway itself on a temporary
 * data directory (open-file limit raised, pinned to CPU 0 when there are
 * two cores; the generator takes CPU 1), makes a clerk, a courtroom, open
 * hearings and the participants over REST, then:
 *
 *   1. connects every participant at once over wss:// (TLS on loopback),
 *      each saying session.hello with its join token and hearing.join, and
 *      prints the wall time from the first connect to the last join result;
 *   2. (unless --no-admit) has the clerks admit everyone from the lobby, so
 *      the hearings look like a hearing in progress: everyone in main, and
 *      every change fanned out to every other participant;
 *   3. holds every socket open and sends a steady open-loop load at --rate
 *      requests per second for --duration seconds: 70% reads (REST GET
 *      /api/v1/hearings/{id} with the clerk's token, over a pool of
 *      keep-alive connections), 10% hearing.join again on a joined socket
 *      (idempotent; answers a full snapshot), 10% hearing.move by the clerk
 *      (main <-> consultation:bench) and 10% hearing.mute by the clerk
 *      (audio or video, toggled; each writes an audit entry). Each request
 *      leaves at its scheduled time whatever happened to the earlier ones
 *      and its latency runs from that time, so queueing in the server shows.
 *
 * It prints latency p50/p90/p99/max per kind and overall, the achieved
 * rate, errors, the notifications received per second (the fan-out), and
 * the daemon's CPU time (utime + stime from /proc/PID/stat) per request.
 * The whole run is bounded (--budget, 115 s): at the bound, or on SIGINT /
 * SIGTERM, the daemon is killed and the temporary directory removed.
 *
 * With --busy N (the busy-worker mode) the daemon has one media worker
 * (`[media] workers = 1`), shared by every hearing. Before phase 1,
 * vej-loadgen (--loadgen) makes a hearing of one publisher and N
 * subscribers with real media (VP8 + Opus through ICE, DTLS and SRTP) and
 * keeps it going for the whole run; --busy-clients observers of that
 * hearing (left in its lobby) then send webrtc.subscribe, --busy-rate per
 * second in all, during the steady window, while the clerks of the other
 * hearings mute and move their participants (--mix; e.g. 0,0,50,50). The
 * tables print both: the mutes' and moves' latency is what a busy worker
 * in another hearing costs them.
 *
 * Usage: bench-signalling --gateway PATH --vejctl PATH [--participants N]
 *   [--hearings H] [--rate R] [--duration S] [--drain S] [--no-pin]
 *   [--no-admit] [--keep] [--budget S] [--mix READ,JOIN,MOVE,MUTE]
 *   [--rest-connections N] [--wrapper 'valgrind --tool=callgrind ...']
 *   [--busy N --loadgen PATH [--busy-clients K] [--busy-rate R]]
 */
#include "signalling/bench.h"

#include <curl/curl.h>
#include <libwebsockets.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS_PER_S ((int64_t)1000000000)

struct run {
    struct bench_options o;
    int budget_s;
    int mix[4]; /* percent of reads, joins, moves, mutes */
    bool pinned;
    struct bench_daemon d;
    struct bench_world w;
    struct bench_ws *ws;
    struct bench_op *ops;
    size_t n_ops;
    int64_t t_begin;
    pid_t loadgen_pid; /* --busy */
};

static bool
parse_int(const char *text, int min, int max, int *out)
{
    gint64 v;
    if (!text || !g_ascii_string_to_signed(text, 10, min, max, &v, NULL))
        return false;
    *out = (int)v;
    return true;
}

static bool
parse_args(int argc, char **argv, struct run *r)
{
    struct bench_options *o = &r->o;
    *o = (struct bench_options){.participants = 1000,
                                .hearings = 2,
                                .rate = 2000,
                                .duration_s = 20,
                                .drain_s = 10,
                                .rest_connections = 32,
                                .pin = true,
                                .admit = true,
                                .busy_clients = 10,
                                .busy_rate = 50};
    r->budget_s = 115;
    const char *mix = "70,10,10,10";
    o->gateway = g_getenv("VEJ_GATEWAY");
    o->vejctl = g_getenv("VEJCTL");
    o->loadgen = g_getenv("VEJ_LOADGEN");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes = true;
        if (strcmp(a, "--gateway") == 0)
            ok = (o->gateway = v) != NULL;
        else if (strcmp(a, "--vejctl") == 0)
            ok = (o->vejctl = v) != NULL;
        else if (strcmp(a, "--participants") == 0)
            ok = parse_int(v, 2, 10000, &o->participants);
        else if (strcmp(a, "--hearings") == 0)
            ok = parse_int(v, 1, BENCH_MAX_HEARINGS, &o->hearings);
        else if (strcmp(a, "--rate") == 0)
            ok = parse_int(v, 1, 100000, &o->rate);
        else if (strcmp(a, "--duration") == 0)
            ok = parse_int(v, 1, 600, &o->duration_s);
        else if (strcmp(a, "--drain") == 0)
            ok = parse_int(v, 0, 600, &o->drain_s);
        else if (strcmp(a, "--rest-connections") == 0)
            ok = parse_int(v, 1, 1000, &o->rest_connections);
        else if (strcmp(a, "--budget") == 0)
            ok = parse_int(v, 10, 3600, &r->budget_s);
        else if (strcmp(a, "--mix") == 0)
            ok = (mix = v) != NULL;
        else if (strcmp(a, "--wrapper") == 0)
            ok = (o->profile_wrapper = v) != NULL;
        else if (strcmp(a, "--busy") == 0)
            ok = parse_int(v, 1, 2000, &o->busy);
        else if (strcmp(a, "--busy-clients") == 0)
            ok = parse_int(v, 1, 500, &o->busy_clients);
        else if (strcmp(a, "--busy-rate") == 0)
            ok = parse_int(v, 0, 10000, &o->busy_rate);
        else if (strcmp(a, "--loadgen") == 0)
            ok = (o->loadgen = v) != NULL;
        else {
            takes = false;
            if (strcmp(a, "--no-pin") == 0)
                o->pin = false;
            else if (strcmp(a, "--no-admit") == 0)
                o->admit = false;
            else if (strcmp(a, "--keep") == 0)
                o->keep = true;
            else
                ok = false;
        }
        if (!ok) {
            fprintf(stderr,
                    "bench-signalling: bad or unknown argument %s (see the head of "
                    "bench/signalling.c)\n",
                    a);
            return false;
        }
        i += takes;
    }
    if (!o->gateway || !o->vejctl) {
        fprintf(stderr, "bench-signalling: --gateway and --vejctl (or VEJ_GATEWAY, VEJCTL) "
                        "are required\n");
        return false;
    }
    if (o->busy && !o->loadgen) {
        fprintf(stderr, "bench-signalling: --busy needs --loadgen (or VEJ_LOADGEN)\n");
        return false;
    }
    g_auto(GStrv) parts = g_strsplit(mix, ",", -1);
    int sum = 0;
    for (int k = 0; k < 4; k++) {
        if (g_strv_length(parts) != 4 || !parse_int(parts[k], 0, 100, &r->mix[k])) {
            fprintf(stderr, "bench-signalling: --mix READ,JOIN,MOVE,MUTE (percentages)\n");
            return false;
        }
        sum += r->mix[k];
    }
    if (sum != 100) {
        fprintf(stderr, "bench-signalling: --mix percentages must add up to 100\n");
        return false;
    }
    if ((o->participants + o->hearings - 1) / o->hearings + 1 > 1000) {
        fprintf(stderr, "bench-signalling: more than 999 participants per hearing: the daemon "
                        "caps a hearing at 1000; add --hearings\n");
        return false;
    }
    return true;
}

static void
raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("bench-signalling: setrlimit(RLIMIT_NOFILE)");
    }
}

/* Other work on the machine skews every figure: say how much there was. */
static void
print_loadavg(const char *when)
{
    g_autofree char *text = NULL;
    if (g_file_get_contents("/proc/loadavg", &text, NULL, NULL))
        printf("load average %s: %s", when, text);
}

static void
print_machine(struct run *r)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    g_autofree char *cpuinfo = NULL;
    char model[128] = "unknown";
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
        const char *m = strstr(cpuinfo, "model name");
        const char *colon = m ? strchr(m, ':') : NULL;
        if (colon) {
            colon += 2;
            size_t n = strcspn(colon, "\n");
            g_strlcpy(model, colon, MIN(n + 1, sizeof model));
        }
    }
    struct utsname u;
    uname(&u);
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    r->pinned = r->o.pin && ncpu >= 2;
    printf("machine: %ld CPUs online, %s; Linux %s; lws %s; %s\n", ncpu, model, u.release,
           lws_get_library_version(), curl_version());
    printf("open-file limit: %llu (generator and daemon)\n", (unsigned long long)rl.rlim_cur);
    printf("pinning: %s\n", r->pinned ? "daemon on CPU 0, load generator (both threads) on CPU 1"
                                      : "none (fewer than 2 CPUs, or --no-pin)");
    print_loadavg("before the run");
    printf("daemon: %s%s%s\n", r->o.gateway, r->o.profile_wrapper ? " under " : "",
           r->o.profile_wrapper ? r->o.profile_wrapper : "");
}

static void
pin_self(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(1, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("bench-signalling: sched_setaffinity");
}

static uint64_t
xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int
by_time(const void *x, const void *y)
{
    const struct bench_op *a = x, *b = y;
    if (a->at_ns != b->at_ns)
        return a->at_ns < b->at_ns ? -1 : 1;
    return (int)a->kind - (int)b->kind;
}

/* Evenly spaced ops; each block of 100 holds the --mix percentages of
 * each kind in a shuffled order; targets uniform over the participants.
 * The seed is fixed, so every run sends the same sequence. */
static void
build_schedule(struct run *r)
{
    r->n_ops = (size_t)r->o.rate * (size_t)r->o.duration_s;
    r->ops = g_new0(struct bench_op, r->n_ops);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    enum bench_req block[100];
    for (size_t i = 0; i < r->n_ops; i++) {
        if (i % 100 == 0) {
            int at = 0;
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < r->mix[k]; j++)
                    block[at++] = (enum bench_req)(REQ_READ + k);
            for (int k = 99; k > 0; k--) {
                int j = (int)(xorshift(&seed) % (uint64_t)(k + 1));
                enum bench_req t = block[k];
                block[k] = block[j];
                block[j] = t;
            }
        }
        r->ops[i].at_ns = (int64_t)((double)i * 1e9 / r->o.rate);
        r->ops[i].kind = block[i % 100];
        /* the busy hearing's sockets (after the others) only make webrtc.* */
        r->ops[i].target = (int)(xorshift(&seed) % (uint64_t)r->o.participants);
    }
    if (!r->o.busy || !r->o.busy_rate)
        return;
    size_t n_mix = r->n_ops, n_busy = (size_t)r->o.busy_rate * (size_t)r->o.duration_s;
    r->ops = g_renew(struct bench_op, r->ops, n_mix + n_busy);
    for (size_t i = 0; i < n_busy; i++)
        r->ops[n_mix + i] = (struct bench_op){
            .at_ns = (int64_t)(((double)i + 0.5) * 1e9 / r->o.busy_rate),
            .kind = REQ_WEBRTC,
            .target = r->o.participants + (int)(i % (size_t)r->o.busy_clients),
        };
    r->n_ops = n_mix + n_busy;
    qsort(r->ops, r->n_ops, sizeof *r->ops, by_time);
}

static int64_t
self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS_PER_S +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int64_t
left_ns(struct run *r, int64_t want_ns)
{
    int64_t end = r->t_begin + (int64_t)(r->budget_s - 8) * NS_PER_S;
    int64_t now = bench_now_ns();
    return MIN(now + want_ns, end);
}

static void
print_cpu(const char *what, int64_t cpu_ns, int64_t wall_ns, uint64_t requests, int64_t gen_ns)
{
    printf("  daemon CPU (%s): %.2f s over %.2f s wall (%.0f%% of one core)", what,
           (double)cpu_ns / 1e9, (double)wall_ns / 1e9,
           wall_ns > 0 ? 100.0 * (double)cpu_ns / (double)wall_ns : 0.0);
    if (requests)
        printf(", %.3f ms per request", (double)cpu_ns / 1e6 / (double)requests);
    printf("; generator %.2f s (%.0f%%)\n", (double)gen_ns / 1e9,
           wall_ns > 0 ? 100.0 * (double)gen_ns / (double)wall_ns : 0.0);
}

static bool
phase_connect(struct run *r)
{
    printf("\n== 1. %d WebSocket clients connect (TLS), session.hello, hearing.join ==\n", r->w.n);
    int64_t cpu0 = bench_daemon_cpu_ns(&r->d), t0 = bench_now_ns(), g0 = self_cpu_ns();
    int64_t wall = bench_ws_connect_all(r->ws, left_ns(r, 60 * NS_PER_S));
    print_cpu("phase", bench_daemon_cpu_ns(&r->d) - cpu0, bench_now_ns() - t0, (uint64_t)r->w.n,
              self_cpu_ns() - g0);
    bench_samples_print_header();
    bench_samples_print_row(bench_req_name(REQ_HELLO), bench_ws_samples(r->ws, REQ_HELLO));
    bench_samples_print_row(bench_req_name(REQ_FIRST_JOIN),
                            bench_ws_samples(r->ws, REQ_FIRST_JOIN));
    bench_ws_print_closes(r->ws);
    if (wall < 0) {
        printf("RESULT connect+join: NOT all %d joined within the time allowed\n", r->w.n);
        return false;
    }
    printf("RESULT connect+join: %d clients joined in %.2f s from the first connect to the last "
           "join result (goal: under 5 s: %s)\n",
           r->w.n, (double)wall / 1e9, wall < 5 * NS_PER_S ? "met" : "MISSED");
    return true;
}

static void
phase_admit(struct run *r)
{
    printf("\n== 2. the clerks admit everyone from the lobby (set-up for 3, not a goal) ==\n");
    int64_t cpu0 = bench_daemon_cpu_ns(&r->d), t0 = bench_now_ns(), g0 = self_cpu_ns();
    bench_ws_admit_all(r->ws, left_ns(r, 45 * NS_PER_S));
    print_cpu("phase", bench_daemon_cpu_ns(&r->d) - cpu0, bench_now_ns() - t0, (uint64_t)r->w.n,
              self_cpu_ns() - g0);
    bench_samples_print_header();
    bench_samples_print_row(bench_req_name(REQ_ADMIT), bench_ws_samples(r->ws, REQ_ADMIT));
}

static void
print_steady(struct run *r, int64_t start, int64_t end, int64_t cpu_ns, int64_t gen_ns,
             double read_lag_us)
{
    struct bench_samples all = {0};
    uint64_t answered = 0, errors = 0, unanswered = 0;
    bench_samples_print_header();
    for (int k = REQ_READ; k < REQ_N; k++) {
        if (!bench_req_steady((enum bench_req)k) || (k == REQ_WEBRTC && !r->o.busy))
            continue;
        struct bench_samples *s = bench_ws_samples(r->ws, (enum bench_req)k);
        bench_samples_print_row(bench_req_name((enum bench_req)k), s);
        for (size_t i = 0; i < s->n; i++)
            bench_samples_add(&all, s->us[i]);
        all.errors += s->errors;
        all.unanswered += s->unanswered;
        answered += s->n - s->unanswered;
        errors += s->errors;
        unanswered += s->unanswered;
    }
    bench_samples_print_row("all", &all);
    double p99 = bench_samples_quantile(&all, 0.99);
    bench_samples_clear(&all);
    double elapsed = (double)(end - start) / 1e9;
    printf("  (latency from each request's scheduled send time; unanswered requests count up to "
           "the end of the run, a lower bound)\n");
    printf("  offered: %zu requests at %d/s for %d s; answered %" G_GUINT64_FORMAT
           " (errors %" G_GUINT64_FORMAT ", unanswered %" G_GUINT64_FORMAT ") in %.2f s from the "
           "window's start: %.0f answered/s\n",
           r->n_ops, r->o.rate, r->o.duration_s, answered, errors, unanswered, elapsed,
           (double)answered / elapsed);
    double ws_max, ws_p99;
    bench_ws_send_lag(r->ws, &ws_max, &ws_p99);
    printf("  generator timer lag (schedule -> queued): WebSocket p99 %.2f ms, max %.2f ms; "
           "REST max %.2f ms\n",
           ws_p99 / 1000, ws_max / 1000, read_lag_us / 1000);
    bench_ws_print_notifications(r->ws, elapsed);
    print_cpu("window + drain", cpu_ns, end - start, answered + errors, gen_ns);
    bench_ws_print_closes(r->ws);
    if (r->o.busy) {
        for (int k = REQ_MOVE; k <= REQ_MUTE; k++) {
            struct bench_samples *s = bench_ws_samples(r->ws, (enum bench_req)k);
            printf("RESULT busy worker: %s in the other hearings: p50 %.2f ms, p99 %.2f ms, max "
                   "%.2f ms (%zu answered, %" G_GUINT64_FORMAT " errors), while a hearing of %d "
                   "media subscribers on the same worker made %d webrtc.subscribe/s\n",
                   bench_req_name((enum bench_req)k), bench_samples_quantile(s, 0.5) / 1000,
                   bench_samples_quantile(s, 0.99) / 1000, bench_samples_quantile(s, 1.0) / 1000,
                   s->n - s->unanswered, s->errors, r->o.busy, r->o.busy_rate);
        }
    }
    bool standard = r->o.rate >= 2000 && r->mix[0] == 70 && r->mix[1] == 10 && r->mix[2] == 10;
    printf("RESULT steady: %d req/s offered (mix %d/%d/%d/%d), %.0f answered/s, p99 %.2f ms "
           "overall (goal: p99 under 10 ms at 2,000 req/s of the 70/10/10/10 mix: %s)\n",
           r->o.rate, r->mix[0], r->mix[1], r->mix[2], r->mix[3], (double)answered / elapsed,
           p99 / 1000,
           !standard                                       ? "n/a for this rate or mix"
           : p99 < 10000 && unanswered == 0 && errors == 0 ? "met"
                                                           : "MISSED");
}

static void
phase_steady(struct run *r)
{
    printf("\n== 3. steady load: %d req/s for %d s, open loop; mix %d%% REST GET hearing, %d%% "
           "hearing.join (rejoin), %d%% hearing.move, %d%% hearing.mute ==\n",
           r->o.rate, r->o.duration_s, r->mix[0], r->mix[1], r->mix[2], r->mix[3]);
    build_schedule(r);
    struct bench_reader *reader = bench_reader_start(&r->o, &r->d, &r->w, r->ops, r->n_ops);
    bench_ws_idle(r->ws, left_ns(r, 20 * NS_PER_S), reader);
    int64_t start = bench_now_ns() + 100 * 1000000;
    int64_t window_end = start + (int64_t)r->o.duration_s * NS_PER_S;
    int64_t stop = left_ns(r, (int64_t)(r->o.duration_s + r->o.drain_s) * NS_PER_S + 100000000);
    bench_reader_go(reader, start, stop);
    int64_t cpu0 = bench_daemon_cpu_ns(&r->d), g0 = self_cpu_ns();
    int64_t ws_end = bench_ws_steady(r->ws, r->ops, r->n_ops, start, window_end, stop);
    struct bench_samples *reads = bench_ws_samples(r->ws, REQ_READ);
    double read_lag = 0;
    int64_t reader_end = bench_reader_join(reader, reads, &read_lag);
    int64_t cpu = bench_daemon_cpu_ns(&r->d) - cpu0, gen = self_cpu_ns() - g0;
    print_steady(r, start, MAX(ws_end, reader_end), cpu, gen, read_lag);
    long rss = bench_daemon_rss_kib(&r->d);
    if (rss > 0)
        printf("  daemon resident memory: %.1f MiB\n", (double)rss / 1024);
}

/* The busy hearing's id, from vej-loadgen's "N PCs up in S s (hrg_...)";
 * NULL while not there yet. */
static char *
loadgen_hearing(const char *log_path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(log_path, &text, NULL, NULL))
        return NULL;
    const char *up = strstr(text, " PCs up in ");
    const char *open = up ? strchr(up, '(') : NULL;
    const char *close = open ? strchr(open, ')') : NULL;
    if (!close || close - open < 5 || strncmp(open + 1, "hrg_", 4) != 0)
        return NULL;
    return g_strndup(open + 1, (gsize)(close - open - 1));
}

/* --busy: vej-loadgen makes its hearing (1 publisher, N subscribers, real
 * media, for longer than the run) with our clerk; once every PC is up,
 * our sockets of that hearing are added to the world. Its output goes to
 * loadgen.log in the temporary directory; it dies with us. */
static bool
start_busy(struct run *r)
{
    printf("\n== 0. busy worker: vej-loadgen, 1 publisher and %d subscribers (one media worker "
           "for all hearings) ==\n",
           r->o.busy);
    g_autofree char *log_path = g_build_filename(r->d.root, "loadgen.log", NULL);
    g_autofree char *url = g_strdup_printf("https://127.0.0.1:%d", r->d.port);
    g_autofree char *subs = g_strdup_printf("%d", r->o.busy);
    g_autofree char *duration = g_strdup_printf("%d", r->budget_s + 30);
    g_autofree char *gw = g_strdup_printf("%d", (int)r->d.pid);
    const char *argv[] = {r->o.loadgen,
                          "--url",
                          url,
                          "--token",
                          r->w.clerk_token,
                          "--courtroom",
                          r->w.courtroom_id,
                          "-n",
                          "1",
                          "-m",
                          subs,
                          "--warmup",
                          "0",
                          "--duration",
                          duration,
                          "--gateway-pid",
                          gw,
                          NULL};
    int64_t t0 = bench_now_ns();
    pid_t child = fork();
    if (child < 0) {
        perror("bench-signalling: fork");
        return false;
    }
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        FILE *f = freopen(log_path, "w", stderr);
        if (!f || dup2(fileno(stderr), 1) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    r->loadgen_pid = child;
    int64_t deadline = left_ns(r, 100 * NS_PER_S);
    char *hid = NULL;
    while (!(hid = loadgen_hearing(log_path)) && bench_now_ns() < deadline) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            r->loadgen_pid = 0;
            fprintf(stderr, "bench-signalling: vej-loadgen exited (status %d); see %s (--keep)\n",
                    status, log_path);
            return false;
        }
        g_usleep(200000);
    }
    if (!hid) {
        fprintf(stderr, "bench-signalling: vej-loadgen's PCs not up in time; see %s\n", log_path);
        return false;
    }
    printf("  %d PCs up in %.1f s (hearing %s); media flowing\n", r->o.busy + 1,
           (double)(bench_now_ns() - t0) / 1e9, hid);
    bool ok = bench_world_add_busy(&r->o, &r->d, &r->w, hid);
    g_free(hid);
    return ok;
}

static void
stop_loadgen(struct run *r)
{
    if (r->loadgen_pid <= 0)
        return;
    kill(r->loadgen_pid, SIGTERM);
    int status;
    for (int i = 0; i < 50 && waitpid(r->loadgen_pid, &status, WNOHANG) == 0; i++)
        g_usleep(100000);
    if (waitpid(r->loadgen_pid, &status, WNOHANG) == 0) {
        kill(r->loadgen_pid, SIGKILL);
        waitpid(r->loadgen_pid, &status, 0);
    }
    r->loadgen_pid = 0;
}

static int
run(struct run *r)
{
    if (!bench_daemon_start(&r->o, &r->d))
        return 1;
    if (r->pinned)
        pin_self();
    printf("daemon: pid %d, port %d, data %s\n", (int)r->d.pid, r->d.port, r->d.data_dir);
    if (!bench_world_setup(&r->o, &r->d, &r->w))
        return 1;
    if (r->o.busy && !start_busy(r))
        return 1;
    r->ws = bench_ws_new(&r->o, &r->d, &r->w);
    if (!r->ws || !bench_ws_clerks(r->ws, left_ns(r, 15 * NS_PER_S)))
        return 1;
    bool joined = phase_connect(r);
    if (joined && r->o.admit)
        phase_admit(r);
    phase_steady(r);
    return joined ? 0 : 2;
}

int
main(int argc, char **argv)
{
    struct run r = {0};
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!parse_args(argc, argv, &r))
        return 64;
    r.t_begin = bench_now_ns();
    alarm((unsigned)r.budget_s);
    raise_nofile();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    print_machine(&r);
    printf("load: %d participants in %d open hearing(s) (+1 clerk socket each), %s\n",
           r.o.participants, r.o.hearings,
           r.o.admit ? "admitted to main before the steady window" : "left in the lobby");
    int rc = run(&r);
    stop_loadgen(&r);
    print_loadavg("at the end");
    bench_ws_free(r.ws);
    if (r.d.pid > 0) {
        int64_t t0 = bench_now_ns();
        bench_daemon_stop(&r.d, r.o.profile_wrapper ? 120 : 10);
        printf("\ndaemon stopped in %.2f s\n", (double)(bench_now_ns() - t0) / 1e9);
    }
    bench_world_clear(&r.w);
    g_free(r.ops);
    curl_global_cleanup();
    printf("total run time %.1f s\n", (double)(bench_now_ns() - r.t_begin) / 1e9);
    return rc; /* the atexit clean-up removes the temporary directory */
}
