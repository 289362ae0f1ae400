/* relay-priv.h - internals of the media relay (gateway/relay/relay.c, peer.c,
 * router.c).
 *
 * Ownership and threads: a `struct vej_rhearing` and everything below it
 * (participants, peers, tracks, outs) belong to the hearing's worker and
 * are touched only there. The relay's hearing map is the only structure
 * shared with the signalling thread; it is guarded by `lock` and maps ids
 * to hearings so that a call can be posted to the right worker.
 */
#pragma once

#include <agent.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/transport/dtls.h"
#include "gateway/wire/history.h"
#include "gateway/wire/nack.h"
#include "gateway/relay.h"
#include "gateway/relay/policy-table.h"
#include "gateway/wire/rtp.h"
#include "gateway/wire/rtx.h"
#include "gateway/sdp/sdp.h"
#include "gateway/wire/seqmap.h"
#include "gateway/transport/send-path.h"
#include "gateway/transport/srtp.h"
#include "gateway/transport/worker.h"

/* Room for one packet: MTU-sized datagrams plus the SRTP trailer. */
#define VEJ_PKT_MAX 1600
#define VEJ_MAX_PENDING_CANDIDATES 32

/* Retransmission (docs/architecture.md, "Loss"). Each published video
 * track keeps its recent packets in a payload ring of this many bytes,
 * allocated with the track: about 1.2 s at 2.5 Mbit/s (the REMB the
 * relay sends publishers), at most VEJ_HISTORY_SLOTS packets, answered
 * for at most VEJ_RTX_MAX_AGE_US. */
#define VEJ_RTX_ARENA_BYTES (384 * 1024)
#define VEJ_RTX_MAX_AGE_US (1000 * 1000)
/* The ring is mapped whole but used from VEJ_RTX_ARENA_START bytes, grown
 * once a second (in steps of VEJ_RTX_ARENA_STEP) to hold what the
 * publisher sent in the last second and a quarter more: the pages beyond
 * the part in use are never touched, so a 1 Mbit/s publisher costs 192 KiB
 * of memory, not 384. */
#define VEJ_RTX_ARENA_START (64 * 1024)
#define VEJ_RTX_ARENA_STEP (64 * 1024)
/* Retransmissions to one subscribe PC: at most 2 Mbit/s, 48 KB at once. */
#define VEJ_RTX_BUDGET_BYTES_PER_S (250 * 1000)
#define VEJ_RTX_BUDGET_BURST_BYTES (48 * 1024)

struct vej_peer;
struct vej_rhearing;

/* Counters of struct vej_relay_stats: each worker's are written by that
 * worker only and read by vej_relay_stats on the signalling thread, so
 * both sides use relaxed atomics (one writer: a load and a store, no
 * locked instruction on the forwarding path). Always through these. */
#define VEJ_STAT_ADD(st, field, n)                                                                 \
    __atomic_store_n(&(st)->field, __atomic_load_n(&(st)->field, __ATOMIC_RELAXED) + (n),          \
                     __ATOMIC_RELAXED)
#define VEJ_STAT_SUB(st, field, n)                                                                 \
    __atomic_store_n(&(st)->field, __atomic_load_n(&(st)->field, __ATOMIC_RELAXED) - (n),          \
                     __ATOMIC_RELAXED)

/* Per-worker state: scratch buffers for the hot path and counters. Only
 * the worker writes the counters (VEJ_STAT_ADD); vej_relay_stats reads
 * them with relaxed atomic loads. */
struct vej_rworker {
    struct vej_worker *worker;
    uint8_t in[VEJ_PKT_MAX];
    uint8_t out[VEJ_PKT_MAX];
    struct vej_relay_stats stats;
    gint closing_agents; /* nice_agent_close_async not yet finished */
};

struct vej_relay {
    struct vej_relay_config config;
    struct vej_relay_callbacks cb;
    struct vej_tap tap; /* tap.packet NULL: no recorder */
    guint next_tap_key; /* atomic: keys of captured tracks */
    struct vej_dtls_cert *cert;
    char fingerprint[VEJ_DTLS_FINGERPRINT_MAX + 16];
    struct vej_rworker *workers;
    unsigned n_workers;
    unsigned next_worker;
    GMutex lock;
    GHashTable *hearings; /* id -> struct vej_rhearing * (guarded by lock) */
};

/* A published m-line. */
struct vej_track {
    struct vej_peer *pub;
    char mid[VEJ_SDP_MID_LEN];
    enum vej_sdp_kind kind;
    enum vej_sdp_codec codec;
    uint8_t pt;
    uint32_t clock_rate;
    char fmtp[VEJ_SDP_FMTP_LEN];
    uint32_t ssrc; /* from the SDP, or learned from the first packet */
    bool ssrc_known;
    uint8_t mid_ext_id;     /* the publisher's id for sdes:mid, 0: none (track_for) */
    uint8_t audio_level_id; /* the publisher's id for ssrc-audio-level, 0: none */
    /* Opaque stream id for the subscriber's SDP (cname, msid): never the
     * participant id, which a screened receiver must not learn. */
    char stream_id[24];
    char track_id[24];
    /* receive side */
    uint16_t max_seq;
    uint32_t cycles;
    uint32_t received;
    bool seq_started;
    /* The publisher's clock: its last SR for `ssrc` (0: none yet, and
     * then subscribers are sent no SR for this track). */
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    int64_t sr_arrival_us;
    int64_t last_keyframe_request_us;
    GPtrArray *outs; /* struct vej_out *: subscribers forwarding it */
    /* Loss. The history filters duplicates and late packets (every kind)
     * and holds video payloads for subscribers' NACKs (arena: video
     * only, VEJ_RTX_ARENA_BYTES). `missing` tracks gaps to NACK (video);
     * NACKs go out when the publisher accepted them (`nack`); its
     * retransmissions come as RTX (rtx_pt, rtx_ssrc) when answered so. */
    struct vej_history *history; /* heap, with the track */
    uint8_t *arena;              /* mapped (mmap), video only */
    uint64_t arena_mark;         /* the history's head at the last sizing (router.c) */
    struct vej_nack *missing;    /* heap, video only */
    bool nack;
    uint8_t rtx_pt; /* 0: the publisher sends no RTX */
    uint32_t rtx_ssrc;
    bool rtx_ssrc_known;
    /* The recorder (tap.h): `captured` is the policy's answer for
     * VEJ_RELAY_RECORDER; tap_key is this track's key while its SSRC is
     * tap_ssrc (0: not described to the tap yet). */
    bool captured;
    bool tap_need_keyframe; /* video: capture (re)starts on a keyframe */
    uint32_t tap_key;
    uint32_t tap_ssrc;
};

/* One m-line of a subscriber's subscribe PC. */
struct vej_out {
    struct vej_peer *sub;
    char mid[VEJ_SDP_MID_LEN];
    enum vej_sdp_kind kind;
    struct vej_track *track; /* NULL: inactive for good */
    char publisher_id[64];
    uint32_t ssrc;
    uint8_t pt;
    /* The extensions written on this m-line, with the ids the subscriber's
     * answer kept (all 0 until answered): its mid, our send time, the
     * publisher's audio-level (audio). */
    struct vej_rtp_hop_ext ext;
    uint8_t mid_len;
    bool flowing;
    bool negotiated; /* the client answered an offer that carries it */
    bool need_keyframe;
    bool started;          /* a packet went out: ts_offset is set */
    bool rebase;           /* the source's SSRC changed: ts_offset is set afresh */
    struct vej_seqmap map; /* sequence numbers (runs; see seqmap.h) */
    /* RTX (RFC 4588): offered as rtx_pt on rtx_ssrc (video); used when
     * the answer kept it and generic NACK (`rtx`). */
    uint8_t rtx_pt;
    uint32_t rtx_ssrc;
    bool rtx;
    uint16_t rtx_seq;
    uint32_t rtx_packets;
    uint32_t ts_offset;
    uint32_t last_ts;
    int64_t last_sent_us;
    uint32_t packets;
    uint32_t octets;
};

/* A subscribe PC's payload types (ptmap.c): one per codec and fmtp. */
#define VEJ_PT_MAP_MAX 16
struct vej_pt_entry {
    enum vej_sdp_codec codec;
    char fmtp[VEJ_SDP_FMTP_LEN];
    uint8_t pt;
    uint8_t rtx_pt; /* video; 0: none free */
};
struct vej_pt_map {
    struct vej_pt_entry e[VEJ_PT_MAP_MAX];
    unsigned n;
};

/* One kind's budgets on a publish PC (ingress.c): bytes and packets. */
struct vej_ingress {
    struct vej_rtx_budget bytes, packets; /* rate 0: no limit */
    bool ready;
};

enum vej_peer_state { PEER_NEW, PEER_CONNECTING, PEER_CONNECTED, PEER_FAILED, PEER_CLOSED };

struct vej_rpart {
    char *id;
    uint32_t index; /* in the hearing's policy (0: not bound yet) */
    struct vej_rhearing *h;
    struct vej_peer *pub;
    struct vej_peer *sub;
};

struct vej_peer {
    struct vej_rpart *part;
    enum vej_relay_pc pc;
    NiceAgent *agent;
    guint stream;
    char local_ufrag[VEJ_SDP_ICE_UFRAG_LEN];
    char local_pwd[VEJ_SDP_ICE_PWD_LEN];
    bool remote_creds;
    char remote_ufrag[VEJ_SDP_ICE_UFRAG_LEN];
    char remote_pwd[VEJ_SDP_ICE_PWD_LEN];
    bool local_restart;        /* we restarted ICE: the answer brings new remote creds */
    uint64_t restart_revision; /* the offer that carried our ICE restart's credentials */
    int64_t restarted_us;      /* monotonic time of the last ICE restart, 0: none */
    GSource *fail_timer;       /* ICE failed just after a restart: failure held back */
    /* The peer's certificate fingerprint and o= session id from its first
     * description: a different one later is a new PeerConnection on the
     * client (GStreamer shares one certificate between its PCs). */
    uint64_t remote_session_id;
    enum vej_sdp_fingerprint_alg remote_fp_alg;
    uint8_t remote_fp[VEJ_SDP_FINGERPRINT_MAX];
    size_t remote_fp_len;
    bool ice_connected;
    struct vej_send_path path; /* peer.c: the selected pair, for sending without libnice */
    enum vej_peer_state state;
    struct vej_dtls *dtls;
    GSource *dtls_timer;
    struct vej_srtp *srtp;
    enum vej_srtp_profile profile;
    uint32_t rtcp_ssrc;            /* our SSRC in RTCP we send on this PC */
    GPtrArray *pending_candidates; /* char *, before remote credentials */
    unsigned n_remote_candidates;
    /* publish */
    GPtrArray *tracks; /* struct vej_track * */
    /* ingress.c: [media] max_publish_* budgets, [0] audio, [1] video */
    struct vej_ingress ingress[2];
    /* subscribe */
    GPtrArray *outs;                  /* struct vej_out * */
    struct vej_pt_map pts;            /* subscribe: the PTs of its offers */
    struct vej_rtx_budget rtx_budget; /* retransmissions to this subscriber */
    uint64_t sdp_session_id;
    uint64_t sdp_version;
    uint64_t revision; /* of the offer in flight or last answered */
    bool offer_in_flight;
    bool renegotiate;
    bool answered_once;
    bool told_tracks;                 /* a media.tracks with at least one track was sent */
    struct vej_sdp_offer *last_offer; /* heap: large */
    unsigned next_mid;
    /* Publish: SSRCs no track has that were let through to unprotect
     * while a track's SSRC was still to learn (at most
     * VEJ_LEARN_SSRC_MAX per negotiation; see router.c). */
    uint32_t learning[8];
    unsigned n_learning;
};
#define VEJ_LEARN_SSRC_MAX 8

struct vej_rhearing {
    struct vej_relay *relay;
    struct vej_rworker *rw;
    char *id;
    GHashTable *parts; /* id -> struct vej_rpart * */
    /* Policy, as the signalling layer sets it (vej_relay_set_policy):
     * `desired` and `bindings_in` under policy_lock, taken by the worker
     * in one closure however many updates were queued (policy_queued). */
    GMutex policy_lock;
    struct vej_policy_table desired;
    GArray *bindings_in; /* struct vej_rbinding, in order */
    uint64_t generation_in;
    bool policy_queued;
    /* Worker only: the policy enforced, and who has which index. */
    struct vej_policy_table applied;
    char **index_ids;               /* index -> participant id (NULL: free) */
    struct vej_rpart **index_parts; /* index -> its part, if it has one */
    uint32_t n_indexes;             /* the two arrays' length */
    GSource *rtcp_timer;
};

/* A binding queued for the worker (id owned; NULL: the index is freed). */
struct vej_rbinding {
    uint32_t index;
    char *id;
};

/* peer.c: transport (ICE, DTLS, SRTP) */
struct vej_peer *vej__peer_new(struct vej_rpart *part, enum vej_relay_pc pc, GError **error);
void vej__peer_free(struct vej_peer *p);
/* Applies remote ICE credentials and DTLS parameters from a description. */
gboolean vej__peer_set_remote(struct vej_peer *p, const struct vej_sdp_description *d,
                              GError **error);
gboolean vej__peer_add_candidate(struct vej_peer *p, const char *candidate, GError **error);
/* Whether `d` comes from the client PeerConnection this PC was made for:
 * the same certificate fingerprint and the same o= session id (true
 * before any remote description). */
bool vej__peer_same_connection(const struct vej_peer *p, const struct vej_sdp_description *d);
/* Restarts ICE: new local credentials (read into the peer), the same
 * DTLS association; an ICE failure soon after is held back a moment. */
gboolean vej__peer_restart_ice(struct vej_peer *p, GError **error);
/* Fills the local transport part of an SDP. */
void vej__peer_local_sdp(struct vej_peer *p, struct vej_sdp_local *local);
/* Protects and sends an RTP or RTCP packet built in buf (cap bytes). */
void vej__peer_send_rtp(struct vej_peer *p, uint8_t *buf, size_t len, size_t cap);
void vej__peer_send_rtcp(struct vej_peer *p, uint8_t *buf, size_t len, size_t cap);
/* From hold to release, p's RTCP is compounded and sent as one datagram
 * (a new one every 1,200 bytes) on release; one PC at a time per thread. */
void vej__peer_rtcp_hold(struct vej_peer *p);
void vej__peer_rtcp_release(struct vej_peer *p);
void vej__peer_report_state(struct vej_peer *p, const char *state, const char *reason);

/* router.c: tracks, forwarding, RTCP, policy, subscribe offers */
void vej__router_on_rtp(struct vej_peer *p, uint8_t *pkt, size_t len);
void vej__router_on_rtcp(struct vej_peer *p, uint8_t *pkt, size_t len);
/* Whether an RTP packet with this plaintext SSRC may be unprotected on
 * p: a track's SSRC (or RTX SSRC), or while one is still to learn, one of
 * at most VEJ_LEARN_SSRC_MAX others. Never on a subscribe PC. */
bool vej__router_ssrc_admissible(struct vej_peer *p, uint32_t ssrc);
/* A publisher's offer was accepted: (re)build its tracks. */
void vej__router_set_tracks(struct vej_peer *pub, const struct vej_sdp_description *offer);
/* Applies the queued policy updates (relay.c's closure): bindings, then
 * the cells that changed, then one offer per subscriber touched. O(changes). */
void vej__router_take_policy(struct vej_rhearing *h);
/* Applies the policy's row and column of one participant (a PC or tracks
 * appeared, a subscribe PC connected): O(participants). */
void vej__router_apply_part(struct vej_rpart *part);
/* A part was created or is going: its index is looked up, or forgotten. */
void vej__router_part_bound(struct vej_rpart *part);
void vej__router_part_unbound(struct vej_rpart *part);
/* Offers what changed to every subscriber (after a part was closed). */
void vej__router_offer_all(struct vej_rhearing *h);
/* Frees the hearing's policy state (worker, or after the worker stopped). */
void vej__router_policy_free(struct vej_rhearing *h);
/* Sends an offer if one is needed and none is in flight. */
void vej__router_maybe_offer(struct vej_peer *sub);
/* Adds an inactive audio m-line to an empty subscribe PC. */
void vej__router_add_placeholder(struct vej_peer *sub);
/* Removes a peer's tracks/outs from the router before it is freed. */
void vej__router_detach(struct vej_peer *p);
void vej__router_start_timer(struct vej_rhearing *h);
void vej__router_request_keyframe(struct vej_track *t);

/* ingress.c: per-kind caps of a publish PC */
/* Rejects (port 0) the sending m-lines of offer d beyond [media]
 * max_publish_{audio,video}_tracks, in offer order, counting them. */
void vej__ingress_cap_tracks(struct vej_relay *r, struct vej_rworker *rw,
                             struct vej_sdp_description *d);
/* Takes one packet of len bytes of `kind` from p's budgets; false (and
 * counted) when over its kind's bitrate or packet rate. */
bool vej__ingress_allowed(struct vej_peer *p, enum vej_sdp_kind kind, size_t len, int64_t now);

/* ptmap.c: a subscribe PC's payload types */
/* The PTs (media, RTX) of codec with fmtp in m, assigned on first use and
 * fixed thereafter; NULL when m is full or fmtp too long. */
const struct vej_pt_entry *vej__ptmap_get(struct vej_pt_map *m, enum vej_sdp_codec codec,
                                          const char *fmtp);

/* tap.c: the recorder's view of the router */
/* The policy's capture answer for a track changed (or may have). */
void vej__tap_set_captured(struct vej_track *t, bool captured);
/* An RTP packet of a captured track, after loss repair (rtx: it was
 * unwrapped from RTX; v describes the original). Uses the worker's out
 * buffer, so call it before forwarding. */
void vej__tap_rtp(struct vej_track *t, const uint8_t *pkt, size_t len, const struct vej_rtp_view *v,
                  bool rtx, bool keyframe);
/* A publisher's whole compound RTCP, which carries a sender report of
 * captured track t (router.c matched it). */
void vej__tap_rtcp(struct vej_track *t, const uint8_t *pkt, size_t len);
/* The track is going away. */
void vej__tap_track_gone(struct vej_track *t);
