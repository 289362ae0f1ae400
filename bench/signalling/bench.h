/* bench/signalling/bench.h - the parts of bench-signalling (bench/signalling.c).
 *
 * A benchmark program, not a library: the daemon it starts, the REST
 * set-up, the WebSocket load generator (libwebsockets, one thread) and the
 * REST reader (libcurl multi, one thread), and the latency samples they
 * fill. Times are CLOCK_MONOTONIC nanoseconds (bench_now_ns()).
 */
#ifndef VEJ_BENCH_SIGNALLING_H
#define VEJ_BENCH_SIGNALLING_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_HEARINGS 64

/* What a request is, for the latency tables. The first four are the steady
 * mix; the others belong to the connect phase and the admission. */
enum bench_req {
    REQ_READ,       /* REST GET /api/v1/hearings/{id} (clerk token) */
    REQ_JOIN,       /* hearing.join again on a joined socket (snapshot) */
    REQ_MOVE,       /* clerk: hearing.move main <-> consultation:bench */
    REQ_MUTE,       /* clerk: hearing.mute audio or video, toggled */
    REQ_HELLO,      /* session.hello {join token} */
    REQ_FIRST_JOIN, /* the first hearing.join of a socket */
    REQ_ADMIT,      /* clerk: hearing.admit lobby -> main */
    REQ_WEBRTC,     /* --busy: webrtc.subscribe by a socket of the busy hearing */
    REQ_N
};

/* A request of the steady window (answered ones count in its tables). */
static inline bool
bench_req_steady(enum bench_req k)
{
    return k <= REQ_MUTE || k == REQ_WEBRTC;
}

/* Latencies of one kind of request, in microseconds. */
struct bench_samples {
    double *us;
    size_t n, cap;
    uint64_t errors;          /* error replies or HTTP status != 200 */
    uint64_t unanswered;      /* still waiting when the run ended */
    uint64_t error_codes[8];  /* the first distinct codes seen ... */
    int error_code_values[8]; /* ... and their values */
};

struct bench_options {
    const char *gateway;
    const char *vejctl;
    int participants;            /* 1000 */
    int hearings;                /* 2 */
    int rate;                    /* steady requests per second, 2000 */
    int duration_s;              /* 20 */
    int drain_s;                 /* 10: how long to wait for replies after the window */
    int rest_connections;        /* 32 keep-alive connections for the REST reads */
    bool pin;                    /* daemon on CPU 0, generator on CPU 1 */
    bool admit;                  /* admit everyone from the lobby before the window */
    bool keep;                   /* keep the temporary directory */
    const char *profile_wrapper; /* e.g. "valgrind --tool=callgrind ..." */
    /* --busy N: a hearing of N media subscribers and one publisher
     * (vej-loadgen) shares the daemon's one media worker with the others */
    int busy;
    int busy_clients;    /* its sockets making webrtc.* requests (10) */
    int busy_rate;       /* their webrtc.subscribe per second (50) */
    const char *loadgen; /* the vej-loadgen program */
};

struct bench_daemon {
    pid_t pid;
    int port;
    char *root; /* temporary directory (removed at exit) */
    char *data_dir;
    char *config_path;
    char *log_path;
    char *cert_path;
};

/* One participant of the load, as the REST set-up made it. */
struct bench_participant {
    char *id;         /* ptc_... */
    char *join_token; /* secret: never printed */
    int hearing;      /* index into world.hearing_ids */
    bool busy;        /* in the busy hearing instead (lobby; webrtc.* only) */
};

struct bench_world {
    char *clerk_token;
    char *hearing_ids[BENCH_MAX_HEARINGS];
    int n_hearings;
    struct bench_participant *p;
    int n;
    char *courtroom_id;
    char *busy_hearing_id; /* --busy: the hearing vej-loadgen made */
};

/* One request of the steady window: at start + at_ns, of a kind, aimed at a
 * participant (the sender is that participant's socket for joins, its
 * hearing's clerk for moves and mutes; reads go to its hearing). */
struct bench_op {
    int64_t at_ns;
    enum bench_req kind;
    int target;
};

/* ---- stats.c ---- */

int64_t bench_now_ns(void);
void bench_samples_add(struct bench_samples *s, double us);
void bench_samples_error(struct bench_samples *s, int code);
/* Moves every sample of src into dst (src is left empty). */
void bench_samples_merge(struct bench_samples *dst, struct bench_samples *src);
void bench_samples_clear(struct bench_samples *s);
/* Sorts s and returns the nearest-rank quantile q (0..1) in us; 0 if empty. */
double bench_samples_quantile(struct bench_samples *s, double q);
/* Prints one table row: name, count, errors, p50, p90, p99, max (ms). */
void bench_samples_print_row(const char *name, struct bench_samples *s);
void bench_samples_print_header(void);
const char *bench_req_name(enum bench_req k);

/* ---- daemon.c ---- */

/* Makes the temporary directory and the configuration, starts the daemon
 * (open-file limit raised to the hard limit, pinned to CPU 0 when
 * options->pin) and waits for its port. Installs the clean-up (atexit and
 * signals) that kills it and removes the directory. false: message printed. */
bool bench_daemon_start(const struct bench_options *o, struct bench_daemon *d);
/* SIGTERM, up to timeout_s, then SIGKILL of its process group. */
void bench_daemon_stop(struct bench_daemon *d, int timeout_s);
/* The daemon's utime + stime so far, in ns; -1 when unreadable. */
int64_t bench_daemon_cpu_ns(const struct bench_daemon *d);
/* Resident set size in KiB; -1 when unreadable. */
long bench_daemon_rss_kib(const struct bench_daemon *d);
/* Runs `vejctl user add NAME --role ROLE --data-dir DIR`, password on stdin. */
bool bench_vejctl_user_add(const struct bench_options *o, const struct bench_daemon *d,
                           const char *name, const char *role, const char *password);
/* Removes the directory tree (best effort). */
void bench_remove_tree(const char *path);

/* ---- rest.c ---- */

/* Admin password change, a clerk, a courtroom, the hearings (open) and the
 * participants with their join tokens. false: message printed. */
bool bench_world_setup(const struct bench_options *o, const struct bench_daemon *d,
                       struct bench_world *w);
void bench_world_clear(struct bench_world *w);
/* Adds o->busy_clients observers of hearing `hid` (busy, left in its lobby)
 * to the world. false: message printed. */
bool bench_world_add_busy(const struct bench_options *o, const struct bench_daemon *d,
                          struct bench_world *w, const char *hid);

struct bench_reader;
/* Starts the REST reader thread: it opens its connections (warm-up) and
 * then waits for bench_reader_go(). (transfer none) for every argument;
 * they must outlive bench_reader_join(). */
struct bench_reader *bench_reader_start(const struct bench_options *o, const struct bench_daemon *d,
                                        const struct bench_world *w, const struct bench_op *ops,
                                        size_t n_ops);
/* true once the warm-up is done. */
bool bench_reader_ready(struct bench_reader *r);
/* Starts the schedule at start_ns; the thread stops at stop_ns. */
void bench_reader_go(struct bench_reader *r, int64_t start_ns, int64_t stop_ns);
/* Waits for the thread and moves its samples into `reads`; returns when
 * its window loop ended, and the largest timer lag (schedule -> queued for
 * a connection) in us through *max_lag_us. */
int64_t bench_reader_join(struct bench_reader *r, struct bench_samples *reads, double *max_lag_us);

/* ---- ws.c ---- */

struct bench_ws;
struct bench_ws *bench_ws_new(const struct bench_options *o, const struct bench_daemon *d,
                              struct bench_world *w);
void bench_ws_free(struct bench_ws *b);
/* Connects one clerk socket per hearing (hello + join). */
bool bench_ws_clerks(struct bench_ws *b, int64_t deadline_ns);
/* Phase 1: every participant connects, says hello and joins. Returns the
 * wall time from the first connect to the last join result, in ns (-1 if
 * not all joined before the deadline). */
int64_t bench_ws_connect_all(struct bench_ws *b, int64_t deadline_ns);
/* The clerks admit everyone from the lobby; returns the wall time in ns
 * (-1 if not done before the deadline). */
int64_t bench_ws_admit_all(struct bench_ws *b, int64_t deadline_ns);
/* Runs the event loop until `until_ns` (used to let the REST reader warm up). */
void bench_ws_idle(struct bench_ws *b, int64_t until_ns, struct bench_reader *r);
/* The steady window: sends the WebSocket ops of `ops` on schedule from
 * start_ns; returns when every reply arrived or at stop_ns, with the time
 * of the last reply (or stop). */
int64_t bench_ws_steady(struct bench_ws *b, const struct bench_op *ops, size_t n_ops,
                        int64_t start_ns, int64_t window_end_ns, int64_t stop_ns);
/* Samples of a kind (phase 1, admission and the steady window). */
struct bench_samples *bench_ws_samples(struct bench_ws *b, enum bench_req k);
/* Notifications received during the steady window, and the top methods. */
void bench_ws_print_notifications(struct bench_ws *b, double window_s);
/* Timer lag of the steady window's WebSocket ops (schedule -> queued on
 * the socket), in us: the largest and the p99. */
void bench_ws_send_lag(struct bench_ws *b, double *max_us, double *p99_us);
/* Sockets closed by the daemon or lost, with their close codes. */
void bench_ws_print_closes(struct bench_ws *b);

#endif
