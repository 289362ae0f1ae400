/* relay.h - the media relay as the signalling layer sees it.
 *
 * The relay owns the media workers. Hearings are pinned to a worker; each
 * participant may have a publish PeerConnection (the client offers) and a
 * subscribe PeerConnection (the relay offers). Everything is addressed by
 * (hearing id, participant id): no pointer crosses from signalling into
 * the relay.
 *
 * Threads: every vej_relay_* function is called from the signalling thread
 * and never waits for a worker (vej_relay_free excepted, at shutdown;
 * vej_relay_set_policy only takes a per-hearing lock). A
 * call is checked for what the signalling thread can tell alone (a hearing
 * with no media state: NOT_FOUND at once, nothing posted), then posted to
 * the hearing's worker, in order: the calls of one hearing run on its
 * worker in the order they were made, and a busy worker delays only its
 * own hearings. A call given a non-zero `call_id` is answered by
 * callbacks->done with that id once it has run on the worker (possibly
 * before the call has returned on the signalling thread), and never when
 * it failed at once. The callbacks (done and the reports) are called on a
 * worker thread: the signalling side must post them to its own thread
 * (they must not call back into the relay). A call's done comes
 * after the reports it caused (an offer, a state), which are made as it
 * runs: the signalling side holds a participant's reports back while one
 * of its calls is unanswered, so that the result goes first.
 *
 * Policy: the relay forwards a publisher's track to a subscriber only when
 * the policy's cell for the pair says so; a track is offered to a
 * subscriber only when `present` is set for it (screened tracks never
 * appear in that subscriber's SDP) and flows only when `flowing` is set
 * (mute and hearing state clear it without renegotiating). Policy updates
 * are changes by integer index, never wait, and are reported once
 * enforced (policy_applied), so that the signalling layer announces a
 * change only after the relay enforces it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/tap.h"

G_BEGIN_DECLS

#define VEJ_RELAY_ERROR (vej_relay_error_quark())
GQuark vej_relay_error_quark(void);

enum vej_relay_error_code {
    VEJ_RELAY_ERROR_FAILED,
    VEJ_RELAY_ERROR_INVALID, /* bad SDP or candidate: the client's fault */
    VEJ_RELAY_ERROR_NOT_FOUND,
    VEJ_RELAY_ERROR_CONFLICT, /* stale revision, offer in flight */
    VEJ_RELAY_ERROR_LIMIT,
};

enum vej_relay_pc { VEJ_RELAY_PUBLISH, VEJ_RELAY_SUBSCRIBE };

struct vej_relay_config {
    unsigned workers;     /* 0: number of cores */
    char *bind_addresses; /* comma-separated IPs for host candidates; NULL: all */
    unsigned port_min, port_max;
    bool ipv6;
    bool ice_tcp;
    bool ice_lite;
    char *public_ipv4; /* 1:1 NAT address to advertise, or NULL */
    char *public_ipv6; /* the same for IPv6, or NULL */
    bool hide_private; /* with a public address: leave the private candidates out */
    unsigned max_remote_candidates;
    unsigned max_media_per_offer;
    unsigned max_media_per_subscribe; /* m-lines per subscribe PC (0: 64) */
    size_t max_sdp_bytes;
    char *cert_file, *key_file; /* DTLS certificate, or NULL for a fresh one */
    uint32_t allowed_codecs;    /* VEJ_SDP_CODEC_BIT()s; 0: VEJ_SDP_CODECS_DEFAULT */
    /* Per publish PC and kind (ingress.c); 0: no limit. */
    unsigned max_publish_audio_tracks, max_publish_video_tracks;
    unsigned max_publish_audio_kbps, max_publish_video_kbps;
    unsigned max_publish_audio_pps, max_publish_video_pps;
};

/* Reports, called on a worker thread. Strings are (transfer none). */
struct vej_relay_callbacks {
    /* A local ICE candidate to trickle to the client ("candidate:..."),
     * or NULL when gathering is done. */
    void (*candidate)(void *user, const char *hearing_id, const char *participant_id,
                      enum vej_relay_pc pc, const char *mid, const char *candidate);
    /* A subscribe offer (or re-offer) for the client, with its revision;
     * media_tracks_json lists [{mid, participant_id, kind}] for the
     * media.tracks notification sent before it, or is NULL when there is
     * nothing to tell (no track yet). */
    void (*offer)(void *user, const char *hearing_id, const char *participant_id, const char *sdp,
                  uint64_t revision, const char *media_tracks_json);
    /* A PeerConnection's state: "connecting", "connected", "failed",
     * "closed", with a reason. */
    void (*state)(void *user, const char *hearing_id, const char *participant_id,
                  enum vej_relay_pc pc, const char *state, const char *reason);
    /* A publisher's tracks changed ([{mid, kind}]). */
    void (*tracks)(void *user, const char *hearing_id, const char *participant_id,
                   const char *tracks_json);
    /* The outcome of the call numbered call_id: error NULL when it did
     * what was asked, with `result` the publish answer's SDP (NULL for the
     * other calls); else error says why (VEJ_RELAY_ERROR). */
    void (*done)(void *user, const char *hearing_id, const char *participant_id, uint64_t call_id,
                 const char *result, const GError *error);
    void *user;
    /* The hearing's policy up to vej_relay_set_policy's `generation` is
     * enforced (coalesced updates report only their latest generation). */
    void (*policy_applied)(void *user, const char *hearing_id, uint64_t generation);
};

struct vej_relay;

struct vej_relay *vej_relay_new(const struct vej_relay_config *config,
                                const struct vej_relay_callbacks *callbacks, GError **error);
/* Closes every peer (BYE, close_notify), stops and joins the workers. */
void vej_relay_free(struct vej_relay *relay);

/* Flags of vej_relay_publish. */
enum {
    /* Special measure: the participant publishes no video; video m-lines
     * are rejected in the answer (port 0). */
    VEJ_RELAY_PUBLISH_AUDIO_ONLY = 1 << 0,
};

/* Calls on a participant's PeerConnections. Each returns FALSE with *error
 * (nothing posted, done never called) or TRUE: posted, and answered by
 * callbacks->done(call_id) unless call_id is 0. Strings are copied. */

/* Applies a publisher's offer (first one, renegotiation or ICE restart);
 * done's result is the answer. Creates the hearing's media state. */
gboolean vej_relay_publish(struct vej_relay *relay, const char *hearing_id,
                           const char *participant_id, const char *offer_sdp, unsigned flags,
                           uint64_t call_id, GError **error);

/* Creates the subscribe PeerConnection if needed; the offer arrives through
 * callbacks->offer. An offer still unanswered is replaced by a new revision
 * (the client may have lost it). Creates the hearing's media state. */
gboolean vej_relay_subscribe(struct vej_relay *relay, const char *hearing_id,
                             const char *participant_id, uint64_t call_id, GError **error);

/* The client's answer to the subscribe offer `revision`: CONFLICT for any
 * other revision than the offer in flight. */
gboolean vej_relay_subscribe_answer(struct vej_relay *relay, const char *hearing_id,
                                    const char *participant_id, uint64_t revision,
                                    const char *answer_sdp, uint64_t call_id, GError **error);

/* A trickled remote candidate; NULL or "" ends the remote candidates. */
gboolean vej_relay_add_candidate(struct vej_relay *relay, const char *hearing_id,
                                 const char *participant_id, enum vej_relay_pc pc,
                                 const char *candidate, uint64_t call_id, GError **error);

/* Re-offers the subscribe PC with fresh ICE credentials. */
gboolean vej_relay_restart_ice(struct vej_relay *relay, const char *hearing_id,
                               const char *participant_id, uint64_t call_id, GError **error);

/* The participant's client came back (session.resume): a subscribe offer
 * left unanswered is replaced by a new revision; nothing else changes.
 * Posted; nothing happens when there is no such offer. */
void vej_relay_resend_offer(struct vej_relay *relay, const char *hearing_id,
                            const char *participant_id);

/* Policy. Each participant of a hearing has a small integer index there
 * (1 to VEJ_RELAY_INDEX_MAX - 1, given by the signalling layer and
 * reused after it leaves); index VEJ_RELAY_RECORDER is the recorder as a
 * subscriber: its cell {VEJ_RELAY_RECORDER, publisher} says whether the
 * tap captures that participant's tracks now (tap.h). A cell says, per
 * kind, whether a publisher's track may be in a subscriber's SDP
 * (`present`) and be forwarded now (`flowing`). */
#define VEJ_RELAY_RECORDER 0u
#define VEJ_RELAY_INDEX_MAX 4096u
enum {
    VEJ_RELAY_AUDIO_PRESENT = 1 << 0,
    VEJ_RELAY_AUDIO_FLOWING = 1 << 1,
    VEJ_RELAY_VIDEO_PRESENT = 1 << 2,
    VEJ_RELAY_VIDEO_FLOWING = 1 << 3,
};
/* The bits of a kind (enum vej_media_kind: 0 audio, 1 video). */
#define VEJ_RELAY_PRESENT(kind) (1u << (2 * (kind)))
#define VEJ_RELAY_FLOWING(kind) (2u << (2 * (kind)))

/* A participant's index in its hearing (participant_id NULL: the index is
 * free again). Either way every cell of the index's row and column is
 * reset to nothing: the new holder's cells come in the same update. */
struct vej_relay_binding {
    uint32_t index;
    const char *participant_id;
};

/* One cell: may publisher's tracks reach subscriber (both indexes)? */
struct vej_relay_cell {
    uint32_t subscriber;
    uint32_t publisher;
    uint8_t bits; /* VEJ_RELAY_{AUDIO,VIDEO}_{PRESENT,FLOWING} */
};

/* A change of a hearing's policy: bindings first, then cells; cells not
 * named keep their value (initially nothing flows). */
struct vej_relay_policy_update {
    const struct vej_relay_binding *bindings;
    size_t n_bindings;
    const struct vej_relay_cell *cells;
    size_t n_cells;
};

/* Changes a hearing's policy; never waits for the worker. Costs O(size
 * of the update) here and O(cells whose value changed) on the worker.
 * Updates not yet applied coalesce (a cell's latest value wins). Once the
 * worker enforces this update (and every earlier one) it reports
 * `generation` through callbacks->policy_applied: a packet it reads after
 * that is forwarded (or captured) by this policy. Generations must grow
 * from one call to the next. */
void vej_relay_set_policy(struct vej_relay *relay, const char *hearing_id, uint64_t generation,
                          const struct vej_relay_policy_update *update);

/* The number of media workers (tap.h's worker indexes are below it). */
unsigned vej_relay_n_workers(struct vej_relay *relay);

/* Sets the recorder's tap (copied; NULL: none). Call before any hearing
 * has media: the workers read it without a lock. */
void vej_relay_set_tap(struct vej_relay *relay, const struct vej_tap *tap);

/* Closes a participant's PeerConnections (leave, removal, move to lobby
 * needs nothing: the policy does it). Posted: returns at once. */
void vej_relay_close_participant(struct vej_relay *relay, const char *hearing_id,
                                 const char *participant_id);

/* The hearing is over: every PeerConnection of it is closed (RTCP BYE,
 * DTLS close_notify, agents closed) and its state freed, on its worker
 * after every call made before (posted: returns at once). A later call for
 * the same id starts afresh. */
void vej_relay_close_hearing(struct vej_relay *relay, const char *hearing_id);

/* The DTLS fingerprint ("sha-256 AB:CD:...") the relay presents. */
const char *vej_relay_fingerprint(struct vej_relay *relay);

/* Counters for /metrics, summed over workers. */
/* Only uint64_t fields: vej_relay_stats() sums the workers' as arrays. */
struct vej_relay_stats {
    uint64_t hearings; /* with media state in the relay */
    uint64_t peers;
    uint64_t rtp_in, rtp_out, rtcp_in, rtcp_out;
    uint64_t bytes_in, bytes_out;
    uint64_t dropped_policy, dropped_srtp, dropped_unknown_ssrc, dropped_malformed,
        dropped_not_ready, dropped_awaiting_keyframe;
    /* sends that failed: socket buffer full (EAGAIN), no kernel buffer
     * (ENOBUFS), any other error */
    uint64_t dropped_send_eagain, dropped_send_nobufs, dropped_send_error;
    /* RTP/RTCP sent through nice_agent_send() because no direct path to
     * the selected pair was usable (relayed or TCP pair, ICE not settled) */
    uint64_t sent_via_libnice;
    uint64_t dtls_failures;
    uint64_t keyframe_requests;
    /* Video copies that lost packets their subscriber cannot NACK (not
     * held, over its retransmission budget, over the publish budget,
     * the publisher renumbered or changed SSRC, given up upstream) and
     * so wait for a keyframe. */
    uint64_t keyframe_waits;
    /* Loss: duplicates dropped, packets too late to forward, padding-only
     * RTX probes from publishers. */
    uint64_t dropped_duplicate, dropped_late, dropped_padding, dropped_rate_limit;
    /* Of dropped_rate_limit, by kind and budget ([media] max_publish_*). */
    uint64_t limited_audio_bitrate, limited_audio_packet_rate, limited_video_bitrate,
        limited_video_packet_rate;
    /* configured limits hit: [media] max_remote_candidates, candidates
     * before the description, [media] max_media_per_offer */
    uint64_t limit_remote_candidates, limit_early_candidates, limit_mlines;
    /* sending m-lines rejected: over [media] max_publish_{audio,video}_tracks */
    uint64_t limit_publish_tracks;
    /* Subscribers' NACKs: sequence numbers asked for, answered with RTX,
     * not answerable (not held, too old, not theirs, RTX not negotiated),
     * over the subscriber's retransmission budget. */
    uint64_t nack_received, rtx_sent, nack_unanswerable, rtx_rate_limited;
    /* Publishers: sequence numbers NACKed (each request counts), of those
     * the packets that then arrived, and numbers given up; RTX packets
     * received. */
    uint64_t nack_sent, nack_recovered, nack_given_up, rtx_received;
    /* The recorder's tap: packets handed to it, and those it dropped
     * (its ring full). */
    uint64_t tap_packets, tap_dropped;
    /* Policy: updates taken by a worker (several queued updates are one),
     * and cells whose value changed there (the work they cost). */
    uint64_t policy_takes, policy_cells_applied;
};
void vej_relay_stats(struct vej_relay *relay, struct vej_relay_stats *out);

G_END_DECLS
