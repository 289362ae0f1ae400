/* tools/vej-loadgen/main.c - vej-loadgen: media load through the real
 * signalling, ICE, DTLS and SRTP of a running VEJ Gateway.
 *
 *   vej-loadgen --url https://127.0.0.1:8443 --token CLERK_TOKEN \
 *       --publishers 10 --subscribers 10 --warmup 3 --duration 10 \
 *       --gateway-pid PID [--courtroom ID] [--aes-cm] [--alloc-file F] [--json F]
 *       [--loss P] [--threads N] [--no-media] [--window-hook CMD]
 *       [--video-kbps K] [--sr-after S] [--renumber S] [--ssrc-change S] [--no-rtx]
 *       (hostile.c)
 *   vej-loadgen --server janus --url http://127.0.0.1:8088/janus [--room 1234]
 *       --address HOST_IP -n N -m M --gateway-pid JANUS_PID ...   (janus.c)
 *
 * With a clerk token it creates a courtroom (unless given), a hearing
 * (open, then in_session) and N publishers (party roles) plus M observers
 * over REST; each gets a WebSocket (session.hello with its join token,
 * hearing.join) and the clerk's socket admits it. Every publisher opens a
 * publish PC and sends VP8 + Opus (media.c); every observer opens a
 * subscribe PC and so receives all N publishers: N x M x ~175 forwarded
 * packets per second. After --warmup seconds it measures for --duration
 * seconds and prints the figures (and --json writes them). Subscribers
 * send receiver reports, REMB and NACK and take RTX; --loss P drops that
 * share of the RTP they receive. The hostile.c options make publishers
 * behave like broken peers: bigger video, sender reports on a clock of
 * their own, renumbering, an SSRC change; subscribers check every SR. */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct lg_party {
    struct lg_run *run;
    char *id;
    char *join_token;
    struct lg_rpc *rpc;
    struct lg_pc *pc;
    int index;
    bool publisher;
};

static const char *const party_roles[] = {"defendant",   "prosecution", "defence",        "witness",
                                          "interpreter", "probation",   "custody_officer"};

/* ---- notifications of a participant's socket ---- */

static void
answer_offer(struct lg_party *p, json_t *params)
{
    const char *sdp = json_string_value(json_object_get(params, "sdp"));
    json_t *revision = json_object_get(params, "revision");
    if (!sdp || !p->pc || p->pc->dir != LG_PC_SUBSCRIBE)
        return;
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    if (!lg_sdp_parse_subscribe_offer(sdp, d))
        return;
    if (d->n_media > 0 && d->ice_ufrag[0] && !lg_pc_set_remote(p->pc, d))
        return;
    lg_pc_note_offer(p->pc, d);
    g_autofree char *answer = lg_sdp_subscribe_answer(p->pc, d, p->run->fingerprint);
    lg_rpc_send(p->rpc, "webrtc.answer",
                json_pack("{s:s,s:O?}", "sdp", answer, "revision", revision));
}

static void
on_note(void *user, const char *method, json_t *params)
{
    struct lg_party *p = user;
    if (strcmp(method, "webrtc.offer") == 0) {
        answer_offer(p, params);
    } else if (strcmp(method, "webrtc.candidate") == 0 && p->pc) {
        const char *pc = json_string_value(json_object_get(params, "pc"));
        bool pub = pc && strcmp(pc, "publish") == 0;
        if (pub == (p->pc->dir == LG_PC_PUBLISH))
            lg_pc_add_candidate(p->pc, json_string_value(json_object_get(params, "candidate")));
    } else if (strcmp(method, "webrtc.state") == 0) {
        const char *st = json_string_value(json_object_get(params, "state"));
        if (st && (strcmp(st, "failed") == 0 || strcmp(st, "closed") == 0))
            fprintf(stderr, "vej-loadgen: participant %d: webrtc.state %s (%s)\n", p->index, st,
                    json_string_value(json_object_get(params, "reason")));
    } else if (strcmp(method, "session.closing") == 0) {
        fprintf(stderr, "vej-loadgen: session.closing\n");
    }
}

/* ---- callbacks from pc.c ---- */

void
lg_run_pc_ready(struct lg_run *run, struct lg_pc *pc)
{
    __atomic_store_n(&run->profile_seen, pc->profile, __ATOMIC_RELAXED);
    LG_ADD(run->n_ready, 1);
    g_main_context_wakeup(NULL); /* the signalling thread waits for the count */
}

void
lg_run_rx(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len)
{
    lg_media_rx(run, pc, pkt, len);
}

static gboolean
keep_waking(gpointer user)
{
    return G_SOURCE_CONTINUE;
}

/* ---- set-up ---- */

static char *
rfc3339_in(int64_t seconds)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) t = g_date_time_add_seconds(now, (gdouble)seconds);
    return g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
}

static char *
member(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? g_strdup(v) : NULL;
}

/* REST: courtroom (if needed), hearing in_session, the participants. */
static char *
make_hearing(struct lg_run *run, struct lg_rest *rest, struct lg_party *parties, int n)
{
    const struct lg_options *o = &run->o;
    g_autofree char *courtroom = g_strdup(o->courtroom);
    json_t *r;
    if (!courtroom) {
        char name[64];
        snprintf(name, sizeof name, "Loadgen %d-%u", (int)getpid(), g_random_int() % 100000);
        r = lg_rest_call(rest, "POST", "/courtrooms",
                         json_pack("{s:s,s:i,s:s}", "name", name, "retention_days", 30, "time_zone",
                                   "Europe/London"),
                         o->token, 201);
        courtroom = r ? member(r, "id") : NULL;
        json_decref(r);
        if (!courtroom)
            return NULL;
    }
    g_autofree char *starts = rfc3339_in(1800), *ends = rfc3339_in(1800 + 7200);
    char ref[48];
    snprintf(ref, sizeof ref, "LOAD/%u", g_random_int() % 1000000);
    r = lg_rest_call(rest, "POST", "/hearings",
                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "courtroom_id", courtroom, "case_reference",
                               ref, "title", "R v Load", "starts_at", starts, "ends_at", ends),
                     o->token, 201);
    char *hid = r ? member(r, "id") : NULL;
    json_decref(r);
    if (!hid)
        return NULL;
    g_autofree char *state_path = g_strdup_printf("/hearings/%s/state", hid);
    g_autofree char *part_path = g_strdup_printf("/hearings/%s/participants", hid);
    for (int i = 0; i < n; i++) {
        struct lg_party *p = &parties[i];
        char name[48];
        snprintf(name, sizeof name, "%s %d", p->publisher ? "Publisher" : "Observer", p->index);
        const char *role =
            p->publisher ? party_roles[p->index % G_N_ELEMENTS(party_roles)] : "observer";
        r = lg_rest_call(rest, "POST", part_path,
                         json_pack("{s:s,s:s}", "display_name", name, "role", role), o->token, 201);
        p->id = r ? member(r, "participant_id") : NULL;
        p->join_token = r ? member(r, "join_token") : NULL;
        json_decref(r);
        if (!p->id || !p->join_token) {
            g_free(hid);
            return NULL;
        }
    }
    for (int s = 0; s < 2; s++) {
        r = lg_rest_call(rest, "POST", state_path,
                         json_pack("{s:s}", "state", s == 0 ? "open" : "in_session"), o->token,
                         200);
        if (!r) {
            g_free(hid);
            return NULL;
        }
        json_decref(r);
    }
    return hid;
}

/* Every participant: socket, hello, join; the clerk admits it. */
static bool
join_all(struct lg_run *run, SoupSession *session, struct lg_rpc *clerk, struct lg_party *parties,
         int n)
{
    int64_t t0 = lg_now_ns();
    for (int i = 0; i < n; i++) {
        struct lg_party *p = &parties[i];
        p->rpc = lg_rpc_connect(session, run->o.url, on_note, p, 15);
        if (!p->rpc)
            return false;
        json_t *r =
            lg_rpc_call(p->rpc, "session.hello", json_pack("{s:s}", "token", p->join_token), 15);
        if (!r)
            return false;
        json_decref(r);
        r = lg_rpc_call(p->rpc, "hearing.join", json_object(), 15);
        if (!r)
            return false;
        json_decref(r);
        r = lg_rpc_call(clerk, "hearing.admit", json_pack("{s:s}", "participant_id", p->id), 15);
        if (!r)
            return false;
        json_decref(r);
        if ((i + 1) % 100 == 0)
            fprintf(stderr, "vej-loadgen: %d joined and admitted (%.1f s)\n", i + 1,
                    (double)(lg_now_ns() - t0) / 1e9);
    }
    return true;
}

static bool
publish_all(struct lg_run *run, struct lg_party *parties, int n)
{
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    for (int i = 0; i < n; i++) {
        struct lg_party *p = &parties[i];
        if (!p->publisher)
            continue;
        p->pc = lg_pc_new(run, p->rpc, LG_PC_PUBLISH, p->index, run->o.address,
                          lg_workers_context(run, i));
        if (!p->pc)
            return false;
        lg_workers_add_publisher(run, i, p->pc);
        g_ptr_array_add(run->pubs, p->pc);
        g_autofree char *offer = lg_sdp_publish_offer(p->pc, run->fingerprint, "actpass");
        json_t *r = lg_rpc_call(p->rpc, "webrtc.publish", json_pack("{s:s}", "sdp", offer), 15);
        const char *answer = json_string_value(json_object_get(r, "sdp"));
        bool ok = answer && lg_sdp_parse_publish_answer(answer, d) && lg_pc_set_remote(p->pc, d);
        json_decref(r);
        if (!ok)
            return false;
    }
    return true;
}

static bool
subscribe_all(struct lg_run *run, struct lg_party *parties, int n)
{
    int64_t t0 = lg_now_ns();
    for (int i = 0; i < n; i++) {
        struct lg_party *p = &parties[i];
        if (p->publisher)
            continue;
        p->pc = lg_pc_new(run, p->rpc, LG_PC_SUBSCRIBE, p->index, run->o.address,
                          lg_workers_context(run, i));
        if (!p->pc)
            return false;
        g_ptr_array_add(run->subs, p->pc);
        json_t *r = lg_rpc_call(p->rpc, "webrtc.subscribe", json_object(), 15);
        if (!r)
            return false;
        json_decref(r);
        if ((p->index + 1) % 100 == 0)
            fprintf(stderr, "vej-loadgen: %d subscribed, %d PCs up (%.1f s)\n", p->index + 1,
                    LG_GET(run->n_ready), (double)(lg_now_ns() - t0) / 1e9);
    }
    return true;
}

static void
raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static bool
parse_options(int argc, char **argv, struct lg_options *o)
{
    o->publishers = 1;
    o->subscribers = 1;
    o->warmup_s = 3;
    o->duration_s = 10;
    o->threads = 1;
    o->room = 1234;
    o->sr_after_s = 0; /* as browsers do: from the first packets */
    g_autofree char *server = NULL;
    GOptionEntry entries[] = {
        {"url", 0, 0, G_OPTION_ARG_STRING, &o->url, "gateway base URL (https://HOST:PORT)", "URL"},
        {"token", 0, 0, G_OPTION_ARG_STRING, &o->token, "clerk token (REST and wss)", "TOKEN"},
        {"courtroom", 0, 0, G_OPTION_ARG_STRING, &o->courtroom, "courtroom id (default: create)",
         "ID"},
        {"address", 0, 0, G_OPTION_ARG_STRING, &o->address, "local ICE address", "IP"},
        {"publishers", 'n', 0, G_OPTION_ARG_INT, &o->publishers, "publishers (N)", "N"},
        {"subscribers", 'm', 0, G_OPTION_ARG_INT, &o->subscribers,
         "subscribers, each receiving every publisher (M)", "M"},
        {"warmup", 0, 0, G_OPTION_ARG_INT, &o->warmup_s, "seconds before measuring", "S"},
        {"duration", 0, 0, G_OPTION_ARG_INT, &o->duration_s, "seconds measured", "S"},
        {"gateway-pid", 0, 0, G_OPTION_ARG_INT, &o->gateway_pid, "the gateway's pid (CPU)", "PID"},
        {"alloc-file", 0, 0, G_OPTION_ARG_FILENAME, &o->alloc_file,
         "counter file of bench/relay/malloc-count.so in the gateway", "FILE"},
        {"aes-cm", 0, 0, G_OPTION_ARG_NONE, &o->aes_cm, "offer only AES_CM_128_HMAC_SHA1_80", NULL},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &o->json_out, "write the figures as JSON", "FILE"},
        {"server", 0, 0, G_OPTION_ARG_STRING, &server,
         "signalling of the server under test: vej (default) or janus (VideoRoom)", "KIND"},
        {"room", 0, 0, G_OPTION_ARG_INT, &o->room, "Janus VideoRoom room (default 1234)", "ID"},
        {"no-media", 0, 0, G_OPTION_ARG_NONE, &o->no_media,
         "connect every PC but send no media (the idle case: server CPU only)", NULL},
        {"threads", 0, 0, G_OPTION_ARG_INT, &o->threads,
         "media threads; PeerConnections are spread over them (default 1)", "N"},
        {"window-hook", 0, 0, G_OPTION_ARG_STRING, &o->window_hook,
         "command run as 'CMD start' before and 'CMD stop' after the measured window "
         "(bench/run-relay --callgrind: instruction counting on)",
         "CMD"},
        {"loss", 0, 0, G_OPTION_ARG_DOUBLE, &o->loss,
         "share of received RTP packets to drop, 0 to 1 (exercises NACK and RTX)", "P"},
        {"no-rtx", 0, 0, G_OPTION_ARG_NONE, &o->no_rtx,
         "subscribers answer without RTX but keep generic NACK", NULL},
        {"video-kbps", 0, 0, G_OPTION_ARG_INT, &o->video_kbps,
         "publishers' video bitrate, about (default 1000)", "K"},
        {"sr-after", 0, 0, G_OPTION_ARG_INT, &o->sr_after_s,
         "publishers send sender reports from S s into each SSRC (default 0, as browsers do; -1: "
         "never)",
         "S"},
        {"renumber", 0, 0, G_OPTION_ARG_INT, &o->renumber_s,
         "publishers' video numbering jumps S s into the media", "S"},
        {"ssrc-change", 0, 0, G_OPTION_ARG_INT, &o->ssrc_change_s,
         "publishers' video takes a new SSRC (renegotiated) S s into the media", "S"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- media load for VEJ Gateway");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "vej-loadgen: %s\n", err->message);
        return false;
    }
    if (!o->address)
        o->address = g_strdup("127.0.0.1");
    if (server && strcmp(server, "janus") == 0) {
        o->janus = true;
    } else if (server && strcmp(server, "vej") != 0) {
        fprintf(stderr, "vej-loadgen: --server is vej or janus\n");
        return false;
    }
    if (!o->url || (!o->token && !o->janus) || o->publishers < 1 || o->publishers > 300 ||
        o->subscribers < 0 || o->subscribers > 2000 || o->duration_s < 1 || o->warmup_s < 0 ||
        o->video_kbps < 0 || o->video_kbps > 100000 || o->sr_after_s < -1 || o->renumber_s < 0 ||
        o->ssrc_change_s < 0 || !(o->loss >= 0) || o->loss >= 1 || o->threads < 1 ||
        o->threads > 64) {
        fprintf(stderr, "vej-loadgen: --url and --token are required; 1 <= N <= 300, "
                        "0 <= M <= 2000, --duration >= 1, 0 <= --loss < 1, 1 <= --threads <= 64\n");
        return false;
    }
    return true;
}

static int connect_and_measure(struct lg_run *run, int n, int64_t t0, const char *what);
static int run_janus(struct lg_run *run, int n);
static void run_free(struct lg_run *run);

int
main(int argc, char **argv)
{
    struct lg_run run = {0};
    if (!parse_options(argc, argv, &run.o))
        return 2;
    raise_nofile();
    g_autoptr(GError) err = NULL;
    if (!vej_srtp_global_init(&err) || !(run.cert = vej_dtls_cert_new_self_signed(&err))) {
        fprintf(stderr, "vej-loadgen: %s\n", err->message);
        return 1;
    }
    g_strlcpy(run.fingerprint, vej_dtls_cert_fingerprint(run.cert, NULL), sizeof run.fingerprint);
    run.pubs = g_ptr_array_new();
    run.subs = g_ptr_array_new();
    lg_hist_init(&run.latency);
    lg_hist_init(&run.spread);
    lg_media_fanout_init(&run);
    g_mutex_init(&run.fanout_lock);

    int n = run.o.publishers + run.o.subscribers;
    if (run.o.gateway_pid > 0)
        lg_proc_memory(run.o.gateway_pid, &run.mem_before);
    if (run.o.janus)
        return run_janus(&run, n);
    struct lg_party *parties = g_new0(struct lg_party, (gsize)n);
    for (int i = 0; i < n; i++) {
        parties[i].run = &run;
        parties[i].publisher = i < run.o.publishers;
        parties[i].index = parties[i].publisher ? i : i - run.o.publishers;
    }
    int status = 1;
    struct lg_rest *rest = lg_rest_new(run.o.url);
    g_autofree char *hid = make_hearing(&run, rest, parties, n);
    SoupSession *ws_session = soup_session_new_with_options("timeout", 0, "max-conns", 100000,
                                                            "max-conns-per-host", 100000, NULL);
    struct lg_rpc *clerk = hid ? lg_rpc_connect(ws_session, run.o.url, NULL, NULL, 15) : NULL;
    json_t *r = NULL;
    if (clerk &&
        (r = lg_rpc_call(clerk, "session.hello", json_pack("{s:s}", "token", run.o.token), 15))) {
        json_decref(r);
        r = lg_rpc_call(clerk, "hearing.join", json_pack("{s:s}", "hearing_id", hid), 15);
    }
    if (!r)
        goto out;
    json_decref(r);
    int64_t t0 = lg_now_ns();
    lg_workers_start(&run, run.o.threads);
    /* The media runs on its own threads: this timer bounds every wait of
     * the signalling thread's loops (lg_pump_*, the measured window). */
    guint wake_id = g_timeout_add(50, keep_waking, NULL);
    if (!join_all(&run, ws_session, clerk, parties, n) || !publish_all(&run, parties, n) ||
        !subscribe_all(&run, parties, n))
        goto out_tick;
    status = connect_and_measure(&run, n, t0, hid);
out_tick:
    g_source_remove(wake_id);
    lg_workers_stop(&run);
out:
    for (int i = 0; i < n; i++) {
        lg_pc_free(parties[i].pc);
        lg_rpc_free(parties[i].rpc);
        g_free(parties[i].id);
        g_free(parties[i].join_token);
    }
    g_free(parties);
    lg_rpc_free(clerk);
    g_object_unref(ws_session);
    lg_rest_free(rest);
    run_free(&run);
    return status;
}

static gboolean
ssrc_change(gpointer user)
{
    struct lg_run *run = user;
    run->ssrc_changed = true;
    run->ssrc_change_failed = !lg_hostile_ssrc_change(run);
    return G_SOURCE_REMOVE;
}

static int
connect_and_measure(struct lg_run *run, int n, int64_t t0, const char *what)
{
    fprintf(stderr, "vej-loadgen: signalling done in %.1f s\n", (double)(lg_now_ns() - t0) / 1e9);
    if (!lg_pump_until_count(&run->n_ready, n, 60 + n / 2)) {
        fprintf(stderr, "vej-loadgen: only %d of %d PCs connected (ICE + DTLS) in time\n",
                LG_GET(run->n_ready), n);
        return 1;
    }
    fprintf(stderr, "vej-loadgen: %d PCs up in %.1f s (%s)\n", n, (double)(lg_now_ns() - t0) / 1e9,
            what);
    /* Media starts when every PC is up: a set-up under full load is slow
     * and measures nothing (each publisher starts with a keyframe). */
    if (!run->o.no_media) {
        __atomic_store_n(&run->sending_since_ns, lg_now_ns(), __ATOMIC_RELAXED);
        __atomic_store_n(&run->sending, true, __ATOMIC_RELEASE);
    }
    guint change = run->o.ssrc_change_s && !run->o.no_media
                       ? g_timeout_add_seconds((guint)run->o.ssrc_change_s, ssrc_change, run)
                       : 0;
    int status = lg_measure(run);
    if (change && !run->ssrc_changed) {
        g_source_remove(change);
        fprintf(stderr, "vej-loadgen: the run ended before --ssrc-change\n");
        status = 1;
    }
    return run->ssrc_change_failed ? 1 : status;
}

static int
run_janus(struct lg_run *run, int n)
{
    int64_t t0 = lg_now_ns();
    lg_workers_start(run, run->o.threads);
    guint wake_id = g_timeout_add(50, keep_waking, NULL);
    int status = lg_janus_setup(run) ? connect_and_measure(run, n, t0, "Janus VideoRoom") : 1;
    g_source_remove(wake_id);
    lg_workers_stop(run);
    for (guint i = 0; i < run->pubs->len; i++)
        lg_pc_free(run->pubs->pdata[i]);
    for (guint i = 0; i < run->subs->len; i++)
        lg_pc_free(run->subs->pdata[i]);
    run_free(run);
    return status;
}

static void
run_free(struct lg_run *run)
{
    vej_dtls_cert_unref(run->cert);
    g_ptr_array_unref(run->pubs);
    g_ptr_array_unref(run->subs);
    lg_hist_free(&run->latency);
    lg_hist_free(&run->spread);
    g_free(run->fanout);
    g_mutex_clear(&run->fanout_lock);
    g_free(run->o.url);
    g_free(run->o.token);
    g_free(run->o.courtroom);
    g_free(run->o.address);
    g_free(run->o.alloc_file);
    g_free(run->o.json_out);
    g_free(run->o.window_hook);
    if (run->workers)
        lg_workers_free(run);
}
