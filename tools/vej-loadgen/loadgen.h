/* tools/vej-loadgen/loadgen.h - the parts of vej-loadgen (main.c).
 *
 * A load generator, not a library: the main thread runs the signalling
 * (libsoup: REST and wss JSON-RPC) on the default main context; --threads
 * N media threads (workers.c) each run a GMainContext with their share of
 * the libnice agents, the DTLS handshakes (gateway/transport/dtls.c as
 * client), SRTP (gateway/transport/srtp.c) and their publishers' clock. Publishers send synthetic
 * VP8 (~1 Mbit/s, 30 fps, keyframe every 2 s) and Opus (20 ms) whose payload ends with a stamp
 * (struct lg_stamp) carrying the send time; subscribers count packets, loss
 * by sequence number and one-way latency on the same machine's clock.
 * Times are CLOCK_MONOTONIC nanoseconds (lg_now_ns()).
 */
#pragma once

#include "tools/vej-loadgen/feedback.h"

#include "gateway/transport/dtls.h"
#include "gateway/wire/nack.h"
#include "gateway/sdp/sdp.h"
#include "gateway/transport/srtp.h"

#include <agent.h>
#include <glib.h>
#include <jansson.h>
#include <libsoup/soup.h>
#include <stdbool.h>
#include <stdint.h>

#define LG_PT_OPUS 111
#define LG_PT_VP8 96
#define LG_MAX_RX_STREAMS 64 /* per subscribe PC */
#define LG_PKT_MAX 1500
/* Totals that several media threads update. */
#define LG_ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)
#define LG_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define LG_EXT_AUDIO_LEVEL 1        /* the publish offer's extmap id for RFC 6464 */
#define LG_REMB_BPS 5000000         /* what every subscriber's REMB says it can take */
#define LG_MAX_RTX_MAP 64           /* RTX SSRC -> media SSRC pairs per subscribe PC */
#define LG_SR_CLOCK_OFFSET_S 3600LL /* publishers' SR clock: the real time less this */

enum lg_kind { LG_AUDIO = 0, LG_VIDEO = 1 };

/* The last bytes of every payload the load generator sends. */
#define LG_STAMP_MAGIC 0x564c4731u /* "VLG1" */
struct lg_stamp {
    uint32_t magic;
    uint16_t publisher; /* index */
    uint8_t kind;       /* enum lg_kind */
    uint8_t pad;
    uint32_t counter; /* per publisher stream, from 0 */
    uint64_t sent_ns; /* lg_now_ns() just before protect */
} __attribute__((packed));

/* ---- stats.c ---- */

int64_t lg_now_ns(void);
/* Latency histogram: 1 µs buckets up to 1 s; larger values go to the last. */
struct lg_hist {
    uint64_t n;
    uint32_t *bucket; /* LG_HIST_BUCKETS */
};
#define LG_HIST_BUCKETS 1000000
void lg_hist_init(struct lg_hist *h);
void lg_hist_clear(struct lg_hist *h);
void lg_hist_free(struct lg_hist *h);
void lg_hist_add_us(struct lg_hist *h, int64_t us);
/* Nearest-rank quantile q (0..1) in µs; -1 if empty. */
double lg_hist_quantile(const struct lg_hist *h, double q);

/* CPU times from /proc in clock ticks (sysconf(_SC_CLK_TCK)). */
bool lg_proc_cpu_ticks(int pid, uint64_t *ticks);       /* utime + stime */
bool lg_proc_cpu_split(int pid, uint64_t *user, uint64_t *sys); /* utime, stime */
bool lg_machine_ticks(uint64_t *busy, uint64_t *total); /* /proc/stat "cpu" line */
/* A process's memory in KiB: VmRSS of /proc/PID/status, and Rss, Pss and
 * Anonymous of /proc/PID/smaps_rollup (-1 where unreadable). */
struct lg_mem {
    long long vm_rss_kib, rss_kib, pss_kib, anon_kib;
};
bool lg_proc_memory(int pid, struct lg_mem *m);
/* Voluntary context switches (a thread going to sleep, so one wake-up
 * each) summed over every thread of the process. */
bool lg_proc_wakeups(int pid, uint64_t *n);
/* The same for one CPU ("cpuN"), or the whole machine when cpu < 0. */
bool lg_cpu_ticks(int cpu, uint64_t *busy, uint64_t *total);
/* Counters of bench/relay/malloc-count.c's shared file; false if absent. */
#define LG_ALLOC_DSOS 16 /* must match bench/relay/malloc-count.c */
struct lg_alloc_counts {
    uint64_t total;
    uint64_t by_dso[LG_ALLOC_DSOS];
    char names[LG_ALLOC_DSOS][48];
    uint64_t attribute_now; /* we write it: the shim attributes while non-zero */
};
bool lg_alloc_read(const char *path, struct lg_alloc_counts *out);
/* Turns the shim's per-allocation attribution on or off. */
void lg_alloc_attribute(const char *path, bool on);

/* ---- signalling.c: REST (blocking) and JSON-RPC over wss ---- */

struct lg_rest;
/* base: "https://127.0.0.1:8443". Certificates are not checked (a local
 * benchmark against a self-signed gateway). */
struct lg_rest *lg_rest_new(const char *base);
void lg_rest_free(struct lg_rest *r);
/* One request; returns the parsed body when the status is `want`, else
 * NULL with a message printed. (transfer full) body: (transfer full). */
json_t *lg_rest_call(struct lg_rest *r, const char *method, const char *path, json_t *body,
                     const char *token, unsigned want);

struct lg_rpc;
/* Notification handler: method and params (transfer none). */
typedef void (*lg_note_fn)(void *user, const char *method, json_t *params);
/* Connects to base's /ws (wss) through `session` (shared by every socket:
 * a session per socket reloads the system trust store each time); pumps
 * the main context until connected or `timeout_s`. NULL with a message. */
struct lg_rpc *lg_rpc_connect(SoupSession *session, const char *base, lg_note_fn on_note,
                              void *user, int timeout_s);
void lg_rpc_free(struct lg_rpc *rpc);
/* Sends a request and pumps the main context until its reply (or
 * timeout_s). Returns the result (transfer full) or NULL with the error
 * printed. params: (transfer full). */
json_t *lg_rpc_call(struct lg_rpc *rpc, const char *method, json_t *params, int timeout_s);
/* Sends a request whose reply is only checked for an error (printed). */
void lg_rpc_send(struct lg_rpc *rpc, const char *method, json_t *params);

/* Pumps the default main context until *flag or timeout_s. */
bool lg_pump_until(const volatile bool *flag, int timeout_s);
/* Pumps until all n flags (array of bool, stride bytes apart) are true. */
bool lg_pump_until_count(const int *count, int want, int timeout_s);

/* ---- pc.c: one PeerConnection (ICE, DTLS client, SRTP) ---- */

struct lg_run;
struct lg_pc;
enum lg_pc_dir { LG_PC_PUBLISH, LG_PC_SUBSCRIBE };

/* Per-SSRC receive state of a subscribe PC. */
struct lg_rx_stream {
    uint32_t ssrc;
    bool started;
    uint16_t first_seq;
    uint64_t ext_max; /* extended highest sequence number */
    uint64_t received;
    uint64_t received_mark, expected_mark; /* at the window start */
    struct lg_fb_stream fb;                /* for the receiver report */
    struct vej_nack *nack;                 /* video only: gaps to ask for */
    /* the newest packet (hostile.c checks sender reports against it) */
    bool have_last;
    uint16_t last_seq;
    uint32_t last_ts;
    int64_t last_ns;
};

struct lg_pc {
    struct lg_run *run;
    GMainContext *ctx; /* its media thread's (workers.c) */
    struct lg_rpc *rpc;
    enum lg_pc_dir dir;
    int index; /* publisher index (publish) or subscriber index */
    NiceAgent *agent;
    guint stream;
    char ufrag[VEJ_SDP_ICE_UFRAG_LEN], pwd[VEJ_SDP_ICE_PWD_LEN];
    bool remote_set, ice_ok, dtls_started, failed;
    struct vej_dtls *dtls;
    GSource *dtls_timer;
    struct vej_srtp *srtp;
    enum vej_srtp_profile profile;
    /* publish */
    uint32_t ssrc[2];
    uint16_t seq[2];
    uint32_t counter[2];
    int64_t next_video_ns, next_audio_ns;
    uint32_t frame_no;
    bool force_keyframe;
    uint64_t sent[2];
    uint32_t sess_id;    /* the o= session id of every publish offer */
    uint32_t ts_base[2]; /* RTP timestamp of each stream's first packet */
    int64_t since_ns[2]; /* first packet of the stream's current SSRC, 0: none */
    uint32_t last_ts[2]; /* the stream's newest timestamp sent, at last_sent_ns */
    int64_t last_sent_ns[2];
    int64_t next_sr_ns; /* --sr-after */
    bool renumbered;    /* --renumber done */
    /* subscribe */
    uint32_t local_ssrc; /* the RTCP sender SSRC */
    GSource *rtcp_timer; /* receiver report + REMB every second */
    struct lg_fb_dropper dropper;
    int audio_level_id; /* the subscribe offer's audio-level extmap id, 0: none */
    int n_rtx_map;      /* written by the signalling thread, LG_GET by the media one */
    struct {
        uint32_t rtx, media;
    } rtx_map[LG_MAX_RTX_MAP];
    size_t n_rx;
    struct lg_rx_stream rx[LG_MAX_RX_STREAMS];
    int answers;
};

/* A PC with its agent gathered on `address` (ICE controlling for publish,
 * controlled for subscribe) and a DTLS client, run on `ctx`. NULL with a
 * message. */
struct lg_pc *lg_pc_new(struct lg_run *run, struct lg_rpc *rpc, enum lg_pc_dir dir, int index,
                        const char *address, GMainContext *ctx);
void lg_pc_free(struct lg_pc *pc);
/* The local host candidates ("candidate:..." lines, no "a="), appended. */
void lg_pc_local_candidates(struct lg_pc *pc, GString *sdp);
/* Remote ICE credentials, fingerprint and inline candidates from a parsed
 * description; only the first call has an effect. */
bool lg_pc_set_remote(struct lg_pc *pc, const struct vej_sdp_description *d);
/* A trickled remote candidate ("candidate:..."). */
void lg_pc_add_candidate(struct lg_pc *pc, const char *candidate);
/* Remembers a subscribe offer's RTX SSRC -> media SSRC pairs. */
void lg_pc_note_offer(struct lg_pc *pc, const struct vej_sdp_description *d);
/* Protects and sends one RTCP compound (buf has room for the trailer). */
void lg_pc_send_rtcp(struct lg_pc *pc, uint8_t *buf, size_t len, size_t cap);
/* Protects and sends one RTP packet (buf has room for the trailer). */
void lg_pc_send_rtp(struct lg_pc *pc, uint8_t *buf, size_t len, size_t cap);
/* Called when an ICE + DTLS + SRTP PC is ready / received a packet. */
void lg_run_pc_ready(struct lg_run *run, struct lg_pc *pc);
void lg_run_rx(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len);

/* ---- sdp-client.c ---- */

/* The publish offer (VP8 + Opus, a=setup:`setup`: "actpass" for the
 * gateway, "active" for Janus). (transfer full) */
char *lg_sdp_publish_offer(struct lg_pc *pc, const char *fingerprint, const char *setup);
/* Parses the gateway's answer to lg_sdp_publish_offer. */
bool lg_sdp_parse_publish_answer(const char *sdp, struct vej_sdp_description *out);
/* Parses a subscribe offer; *n_mlines is 0 for an offer without m-lines
 * (then `out` holds nothing). */
bool lg_sdp_parse_subscribe_offer(const char *sdp, struct vej_sdp_description *out);
/* The answer (recvonly, a=setup:active) to a parsed subscribe offer.
 * (transfer full) */
char *lg_sdp_subscribe_answer(struct lg_pc *pc, const struct vej_sdp_description *offer,
                              const char *fingerprint);

/* ---- media.c: the packet clock and the receive side ---- */

/* Starts the clocks of these publishers (spread over a frame interval). */
void lg_media_start_pubs(GPtrArray *pubs);
/* Sends the packets of these publishers that are due at `now`. */
void lg_media_tick_pubs(GPtrArray *pubs, int64_t now);
/* Sets up the per-publisher send state (SSRCs, first due times). */
void lg_media_publisher_init(struct lg_pc *pc);
/* Allocates the fan-out spread table. */
void lg_media_fanout_init(struct lg_run *run);
/* Sends a subscribe PC's receiver report and REMB (every second). */
void lg_media_send_report(struct lg_pc *pc);
/* Handles one decrypted RTP packet of a subscribe PC (RTX included). */
void lg_media_rx(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len);

/* ---- the run (main.c) ---- */

struct lg_options {
    char *url;   /* https://127.0.0.1:PORT */
    char *token; /* staff (clerk) token */
    char *courtroom;
    char *address;   /* local ICE address, 127.0.0.1 */
    int publishers;  /* N */
    int subscribers; /* M (each receives every publisher) */
    int warmup_s, duration_s;
    int gateway_pid;
    char *alloc_file;  /* bench/relay/malloc-count.c's counter file, optional */
    bool aes_cm;       /* offer only AES_CM_128_HMAC_SHA1_80 */
    int threads;       /* media threads */
    bool janus;        /* --server janus: Janus's VideoRoom over its REST API */
    int room;          /* the VideoRoom room (janus) */
    bool no_media;     /* PCs up, no media: the idle case */
    double loss;       /* share of received RTP packets dropped (0..1) */
    int video_kbps;    /* publishers' video, about (0: 1000) */
    bool no_rtx;       /* subscribers answer without RTX (NACK kept) */
    int sr_after_s;    /* publishers send SRs from this long into each SSRC; -1: never */
    int renumber_s;    /* video numbering jumps this long into the media; 0: never */
    int ssrc_change_s; /* video changes SSRC (renegotiated) this long into the media; 0: never */
    char *json_out;    /* also write the figures as JSON here */
    char *window_hook; /* run as "HOOK start" / "HOOK stop" around the window */
};

struct lg_worker;

struct lg_run {
    struct lg_options o;
    /* media threads (workers.c) */
    int n_workers;
    struct lg_worker *workers;
    GMutex pause_lock;
    GCond pause_cond;
    bool paused;
    int n_paused;
    GMutex fanout_lock;
    struct vej_dtls_cert *cert;
    char fingerprint[VEJ_DTLS_FINGERPRINT_MAX];
    GPtrArray *pubs, *subs;                /* struct lg_pc * */
    int n_ready;                           /* PCs with SRTP */
    bool sending;                          /* publishers send (from when every PC is up) */
    int64_t sending_since_ns;              /* when they started (LG_GET) */
    bool ssrc_changed, ssrc_change_failed; /* --ssrc-change, main thread */
    bool measuring;                        /* inside the window */
    /* receive totals */
    uint64_t rx_packets, rx_bad_stamp, rx_srtp_fail, rx_rtcp;
    /* RTCP compounds received by subscribe PCs that carry sender reports,
     * and the sender reports in them (the gateway compounds a PC's) */
    uint64_t rx_sr_compounds, rx_srs;
    uint64_t rx_with_extensions;       /* RTP received with an RFC 8285 block */
    uint64_t rx_dropped;               /* RTP dropped on purpose (--loss) */
    uint64_t rx_audio, rx_audio_level; /* audio received; of it, with an audio level */
    uint64_t rx_rtx, rx_recovered;     /* RTX received; of those, a missing packet */
    uint64_t tx_rtcp, tx_nacked;       /* RTCP compounds sent; sequence numbers NACKed */
    uint64_t pli_seen;                 /* PLI/FIR received by publishers */
    /* sender reports received by subscribers; of those, not on the
     * publishers' clock, and not matching their stream's timestamps */
    uint64_t rx_sr, rx_sr_foreign, rx_sr_inconsistent;
    struct lg_hist latency;
    /* fan-out spread: first to last subscriber's copy of one packet */
    struct lg_hist spread;
    struct lg_fanout_slot {
        uint32_t key; /* publisher << 24 | kind << 23 | counter & 0x7fffff, +1 */
        int n;
        int64_t first_ns, last_ns;
    } * fanout;
    size_t fanout_len;
    enum vej_srtp_profile profile_seen;
    struct lg_mem mem_before; /* the gateway's, before the first participant */
};

/* ---- janus.c: the Janus VideoRoom backend ---- */

/* Makes every publish and subscribe PC through Janus (run->o.url is its
 * REST base); false with a message. The PCs are in run->pubs / subs. */
bool lg_janus_setup(struct lg_run *run);

/* ---- workers.c: the media threads ---- */

/* Starts n threads, each with its own main context and 1 ms media clock. */
void lg_workers_start(struct lg_run *run, int n);
/* Quits and joins every thread (their contexts stay for the PCs' teardown). */
void lg_workers_stop(struct lg_run *run);
void lg_workers_free(struct lg_run *run);
/* The context of the thread PC number k belongs to. */
GMainContext *lg_workers_context(struct lg_run *run, int k);
/* Puts a publisher on thread k's clock. */
void lg_workers_add_publisher(struct lg_run *run, int k, struct lg_pc *pc);
/* Holds every media thread still until lg_workers_resume (main thread). */
void lg_workers_pause(struct lg_run *run);
void lg_workers_resume(struct lg_run *run);

/* ---- hostile.c: broken publishers (--sr-after, --renumber, --ssrc-change) ---- */

/* A packet of stream k with timestamp ts went out at now. */
void lg_hostile_note_sent(struct lg_pc *pc, enum lg_kind k, uint32_t ts, int64_t now);
/* A publisher's media-thread tick: its SRs, its renumbering. */
void lg_hostile_tick_pub(struct lg_pc *pc, int64_t now);
/* Main thread: every publisher's video takes a new SSRC, renegotiated. */
bool lg_hostile_ssrc_change(struct lg_run *run);
/* A subscriber took RTP packet seq/ts of stream s at now. */
void lg_hostile_note_rx(struct lg_rx_stream *s, uint16_t seq, uint32_t ts, int64_t now);
/* A subscriber's decrypted RTCP compound: its SRs are checked. */
void lg_hostile_rx_rtcp(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len);

/* report.c: warm-up, the measured window, the figures; the exit status. */
int lg_measure(struct lg_run *run);

/* Installs the AES-CM-only profile override (srtp-profile.c): from then
 * on, new SSL_CTXs offer only AES_CM_128_HMAC_SHA1_80. */
