/* router.c - forwarding inside a hearing, on the hearing's worker.
 *
 * A publisher's accepted m-lines are tracks; a subscriber's m-lines are
 * outs. Each track keeps the list of outs that forward it, so a packet
 * costs one unprotect, then per out: one policy bit, a header rewrite in
 * the worker's scratch buffer, one protect, one send.
 *
 * Per out the relay writes its own SSRC, payload type, sequence numbers
 * and timestamps (the publisher's plus a fixed offset). Sequence numbers
 * follow the source's within a run of forwarded packets and continue
 * after the highest sent when a run starts (seqmap.h), so packets
 * withheld by policy leave no gap while losses upstream stay visible to
 * the subscriber. Header extensions are per hop: each copy carries the
 * gateway's own block, with the ids the subscriber's answer kept — the
 * out's mid, abs-send-time from the time the packet was read, and (audio)
 * the publisher's audio-level, the only element passed through; RTX
 * carries mid and abs-send-time too. Nothing else of the publisher's
 * block survives, and transport-wide-cc is never offered or written. A
 * publisher's packets are matched to its tracks by SSRC, else by the mid
 * extension (unsignalled SSRCs), else by payload type. Before that, while
 * still encrypted, a packet whose plaintext SSRC is no track's is dropped
 * (unknown_ssrc) unless a track's SSRC is still to learn, and then for at
 * most VEJ_LEARN_SSRC_MAX such SSRCs per negotiation: cycling SSRCs costs
 * no crypto and no SRTP state. SRTP stream state goes when a track ends or
 * changes SSRC, when an out ends, and for learning SSRCs no track took. A
 * video out starts (and restarts after being withheld) on a keyframe,
 * which it asks for; so does a video out whose subscriber lost packets it
 * cannot NACK (not held, over its RTX budget, over the publisher's
 * budget, given up upstream, the publisher renumbered or changed SSRC):
 * out_lost().
 *
 * A publisher's SSRC change (renegotiated) starts every per-SSRC state
 * afresh (track_new_ssrc). Sender reports to subscribers carry only the
 * publisher's clock: none before its first SR for the current SSRC. Before
 * anything is copied, the publish PC's per-kind budgets (ingress.c) take
 * the packet.
 *
 * Loss (docs/architecture.md): each track's history drops duplicates and
 * packets too late to forward and keeps video payloads; a subscriber's
 * NACK is answered with RTX from it, for numbers of its current run only,
 * within a per-subscriber byte budget. Gaps in a publisher's video are
 * NACKed as packets arrive; its RTX is unwrapped and forwarded like the
 * original, late.
 *
 * The subscriber's SDP changes only when a track appears or disappears for
 * it: mutes and hearing states only flip `flowing`. Offers are serialised:
 * one in flight, later changes coalesced into the next. m-lines are never
 * removed nor revived: a track that goes away leaves its m-line inactive
 * for good and every new track gets a new m-line (stock clients such as
 * webrtcbin 1.22 cannot turn an inactive m-line active again). A
 * subscribe PC holds at most [media] max_media_per_subscribe; one that needs more is
 * closed and the client subscribes afresh.
 */
#include "gateway/relay/relay-priv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gateway/wire/rtcp.h"

/* m-lines of one subscribe PC (the inactive ones included) unless
 * [media] max_media_per_subscribe says otherwise. */
#define VEJ_SUB_MAX_MLINES_DEFAULT 64
#define KEYFRAME_REQUEST_MIN_US (300 * 1000)
#define REMB_BITRATE 2500000
#define RTCP_INTERVAL_MS 1000
/* Sequence numbers of one subscriber datagram (RTCP compound) looked up
 * at most; the rest are counted unanswerable. A NACK names up to 17 per
 * 4 bytes: this bounds the work an authenticated subscriber can cause. */
#define NACKED_PER_DATAGRAM_MAX 512
/* The header extension ids of every subscribe offer: the same on every
 * m-line of the BUNDLE group, one-byte ids (1-14) so that the one-byte
 * form suffices. audio-level goes on audio m-lines only. transport-wide-cc
 * is not offered: the gateway sends no transport-cc feedback. */
#define VEJ_OFFER_AUDIO_LEVEL_ID 1
#define VEJ_OFFER_MID_ID 2
#define VEJ_OFFER_ABS_SEND_TIME_ID 3

/* ---- keyframes ---- */

static bool
is_keyframe_start(enum vej_sdp_codec codec, const uint8_t *p, size_t n)
{
    if (codec == VEJ_SDP_CODEC_VP8) {
        /* RFC 7741 payload descriptor, then the VP8 payload header. */
        if (n < 1)
            return false;
        size_t off = 1;
        bool start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
        if (p[0] & 0x80) {
            if (n < 2)
                return false;
            uint8_t x = p[1];
            off = 2;
            if (x & 0x80)
                off += (n > 2 && (p[2] & 0x80)) ? 2 : 1;
            if (x & 0x40)
                off++;
            if (x & 0x30)
                off++;
        }
        return start && off < n && (p[off] & 0x01) == 0;
    }
    if (codec == VEJ_SDP_CODEC_H264) {
        if (n < 2)
            return false;
        uint8_t type = p[0] & 0x1f;
        if (type == 5 || type == 7)
            return true;
        if (type == 24) { /* STAP-A: look at the aggregated NAL units */
            for (size_t off = 1; off + 2 < n;) {
                size_t len = ((size_t)p[off] << 8) | p[off + 1];
                uint8_t t = p[off + 2] & 0x1f;
                if (t == 5 || t == 7)
                    return true;
                off += 2 + len;
            }
            return false;
        }
        if (type == 28) /* FU-A start of an IDR */
            return (p[1] & 0x80) && (p[1] & 0x1f) == 5;
        return false;
    }
    return true; /* audio: every packet */
}

void
vej__router_request_keyframe(struct vej_track *t)
{
    if (t->kind != VEJ_SDP_KIND_VIDEO || !t->ssrc_known)
        return;
    int64_t now = g_get_monotonic_time();
    if (t->last_keyframe_request_us && now - t->last_keyframe_request_us < KEYFRAME_REQUEST_MIN_US)
        return;
    t->last_keyframe_request_us = now;
    struct vej_rworker *rw = t->pub->part->h->rw;
    uint8_t buf[64 + VEJ_SRTP_MAX_OVERHEAD];
    long n = vej_rtcp_write_pli(buf, 64, t->pub->rtcp_ssrc, t->ssrc);
    if (n > 0) {
        VEJ_STAT_ADD(&rw->stats, keyframe_requests, 1);
        vej__peer_send_rtcp(t->pub, buf, (size_t)n, sizeof buf);
    }
}

/* o's subscriber lost packets it cannot get back by NACK (not held, over
 * its retransmission budget, withheld by the publish budget, the
 * publisher renumbered or changed SSRC): its run ends and, for video, it
 * waits for a keyframe, which is asked for, instead of forwarding a
 * picture its decoder cannot build. */
static void
out_lost(struct vej_out *o)
{
    vej_seqmap_pause(&o->map);
    if (o->kind != VEJ_SDP_KIND_VIDEO || o->need_keyframe || !o->track)
        return;
    o->need_keyframe = true;
    VEJ_STAT_ADD(&o->sub->part->h->rw->stats, keyframe_waits, 1);
    if (o->negotiated)
        vej__router_request_keyframe(o->track);
}

/* Every copy of t lost packets its subscribers cannot NACK. */
static void
track_lost(struct vej_track *t)
{
    for (guint i = 0; i < t->outs->len; i++)
        out_lost(t->outs->pdata[i]);
}

/* ---- from publishers ---- */

/* The mid a packet names in the publisher's mid extension (RFC 8843):
 * 1 with the track it names, 0 when it carries none, -1 when it names
 * no track of p. Ids are per m-line in the SDP, though BUNDLE makes them
 * one; each distinct id is looked up once. */
static int
track_by_mid(struct vej_peer *p, const struct vej_rtp_view *v, struct vej_track **out)
{
    struct vej_rtp_ext_element e = {0};
    uint8_t looked_up = 0;
    bool carries = false;

    if (v->ext_form != VEJ_RTP_EXT_ONE_BYTE && v->ext_form != VEJ_RTP_EXT_TWO_BYTE)
        return 0;
    for (guint i = 0; i < p->tracks->len; i++) {
        struct vej_track *t = p->tracks->pdata[i];
        if (!t->mid_ext_id)
            continue;
        if (t->mid_ext_id != looked_up) {
            looked_up = t->mid_ext_id;
            carries = vej_rtp_ext_find(v, looked_up, &e) == VEJ_RTP_OK && e.len > 0;
        }
        if (carries && e.len == strlen(t->mid) && memcmp(e.data, t->mid, e.len) == 0) {
            *out = t;
            return 1;
        }
    }
    return carries ? -1 : 0;
}

bool
vej__router_ssrc_admissible(struct vej_peer *p, uint32_t ssrc)
{
    if (p->pc != VEJ_RELAY_PUBLISH || !p->tracks)
        return false; /* subscribers send RTCP only */
    bool learnable = false;
    for (guint i = 0; i < p->tracks->len; i++) {
        const struct vej_track *t = p->tracks->pdata[i];
        if ((t->ssrc_known && t->ssrc == ssrc) ||
            (t->rtx_pt && t->rtx_ssrc_known && t->rtx_ssrc == ssrc))
            return true;
        learnable = learnable || !t->ssrc_known || (t->rtx_pt && !t->rtx_ssrc_known);
    }
    if (!learnable)
        return false;
    for (unsigned i = 0; i < p->n_learning; i++)
        if (p->learning[i] == ssrc)
            return true;
    if (p->n_learning >= VEJ_LEARN_SSRC_MAX)
        return false;
    p->learning[p->n_learning++] = ssrc;
    return true;
}

/* Forgets the SRTP state of the SSRCs let through for learning that no
 * track took (the budget starts again with each negotiation). */
static void
forget_learning(struct vej_peer *p)
{
    for (unsigned i = 0; i < p->n_learning; i++) {
        bool kept = false;
        for (guint j = 0; j < p->tracks->len && !kept; j++) {
            const struct vej_track *t = p->tracks->pdata[j];
            kept = (t->ssrc_known && t->ssrc == p->learning[i]) ||
                   (t->rtx_ssrc_known && t->rtx_ssrc == p->learning[i]);
        }
        if (!kept && p->srtp)
            vej_srtp_remove_stream(p->srtp, p->learning[i], false);
    }
    p->n_learning = 0;
}

/* The track of a packet, by SSRC; else, for an SSRC the offer did not
 * give (learnt from this packet), by the mid extension when the packet
 * carries one (and then only by it: m-lines of one PC often share payload
 * types), else by payload type. *rtx: it is the track's RTX stream. */
static struct vej_track *
track_for(struct vej_peer *p, const struct vej_rtp_view *v, bool *rtx)
{
    struct vej_track *by_pt = NULL, *by_rtx_pt = NULL, *by_mid = NULL;
    *rtx = false;
    for (guint i = 0; i < p->tracks->len; i++) {
        struct vej_track *t = p->tracks->pdata[i];
        if (t->ssrc_known && t->ssrc == v->ssrc)
            return t;
        if (t->rtx_pt && t->rtx_ssrc_known && t->rtx_ssrc == v->ssrc) {
            *rtx = true;
            return t;
        }
        if (!t->ssrc_known && t->pt == v->payload_type && !by_pt)
            by_pt = t;
        if (t->rtx_pt && !t->rtx_ssrc_known && t->rtx_pt == v->payload_type && !by_rtx_pt)
            by_rtx_pt = t;
    }
    switch (track_by_mid(p, v, &by_mid)) {
    case -1:
        return NULL; /* a mid we did not accept */
    case 1:
        /* The mid decides the track; the payload type, which of its
         * streams (a known SSRC is never rebound). */
        by_pt = !by_mid->ssrc_known && by_mid->pt == v->payload_type ? by_mid : NULL;
        by_rtx_pt = by_mid->rtx_pt && !by_mid->rtx_ssrc_known && by_mid->rtx_pt == v->payload_type
                        ? by_mid
                        : NULL;
        break;
    default:
        break;
    }
    if (by_pt) { /* no a=ssrc in the offer: learn it from the first packet */
        by_pt->ssrc = v->ssrc;
        by_pt->ssrc_known = true;
        return by_pt;
    }
    if (by_rtx_pt) { /* likewise for a=ssrc-group:FID */
        by_rtx_pt->rtx_ssrc = v->ssrc;
        by_rtx_pt->rtx_ssrc_known = true;
        *rtx = true;
    }
    return by_rtx_pt;
}

/* Turns a parsed RTX packet into a view of the original (OSN as the
 * sequence number, the original payload, the track's SSRC and PT, no
 * padding). false for padding-only probes, which carry no OSN. */
static bool
unwrap_rtx(const struct vej_track *t, struct vej_rtp_view *v)
{
    uint16_t osn;
    const uint8_t *payload;
    size_t len;

    if (vej_rtx_unwrap(v, &osn, &payload, &len) != VEJ_RTP_OK)
        return false;
    v->seq = osn;
    v->payload = payload;
    v->payload_len = len;
    v->padding = false;
    v->padding_len = 0;
    v->ssrc = t->ssrc;
    v->payload_type = t->pt;
    return true;
}

/* NACKs (preceded by an empty RR) for the missing numbers now due. */
static void
request_missing(struct vej_track *t, struct vej_rworker *rw, int64_t now)
{
    if (t->missing->n_missing == 0 || now < t->missing->next_us)
        return; /* the common case: nothing missing, nothing due */
    uint16_t seqs[VEJ_NACK_MAX_MISSING];
    uint8_t buf[8 + 12 + 4 * VEJ_NACK_MAX_MISSING + VEJ_SRTP_MAX_OVERHEAD];
    size_t cap = sizeof buf - VEJ_SRTP_MAX_OVERHEAD, gave_up = 0;
    size_t n_seqs = vej_nack_due(t->missing, now, seqs, G_N_ELEMENTS(seqs), &gave_up);
    struct vej_rtcp_rr rr = {.ssrc = t->pub->rtcp_ssrc};

    VEJ_STAT_ADD(&rw->stats, nack_given_up, gave_up);
    /* A packet given up for lost leaves the subscribers' decoders broken
     * until the next keyframe: ask for one now (rate-limited per track). */
    if (gave_up && t->kind == VEJ_SDP_KIND_VIDEO)
        track_lost(t);
    if (n_seqs == 0)
        return;
    long n = vej_rtcp_write_rr(buf, cap, &rr);
    long m = n > 0 ? vej_rtcp_write_nack(buf + n, cap - (size_t)n, t->pub->rtcp_ssrc, t->ssrc, seqs,
                                         n_seqs)
                   : -1;
    if (m <= 0)
        return;
    VEJ_STAT_ADD(&rw->stats, nack_sent, n_seqs);
    vej__peer_send_rtcp(t->pub, buf, (size_t)(n + m), sizeof buf);
}

static void
note_received(struct vej_track *t, uint16_t seq)
{
    if (!t->seq_started) {
        t->seq_started = true;
        t->max_seq = seq;
    } else if ((uint16_t)(seq - t->max_seq) < 0x8000) {
        if (seq < t->max_seq)
            t->cycles += 0x10000;
        t->max_seq = seq;
    }
    t->received++;
}

/* Header extensions are per hop: the out's own block (its mid, our send
 * time `ast` of the packet, computed once for all its copies, and the
 * publisher's audio-level) under the ids the subscriber agreed to. seq
 * is the subscriber's number for the packet; `newest`: no later packet
 * went out before it. */
static void
forward_one(struct vej_out *o, const struct vej_rtp_view *v, struct vej_rworker *rw,
            const struct vej_rtp_ext_element *level, uint32_t ast, int64_t now, uint16_t seq,
            bool newest)
{
    struct vej_rtp_ext_builder b;
    vej_rtp_ext_build_hop(&b, &o->ext, o->mid, o->mid_len, ast, level);
    long n = vej_rtp_write_packet(v, &b, rw->out, sizeof rw->out - VEJ_SRTP_MAX_OVERHEAD);
    if (n < 0) {
        VEJ_STAT_ADD(&rw->stats, dropped_malformed, 1);
        return;
    }
    if (!o->started) {
        o->started = true;
        o->ts_offset = g_random_int() - v->timestamp;
    } else if (o->rebase) {
        /* A new source SSRC has timestamps of its own: ours go on from
         * the last one sent, advanced by the time since (at least one). */
        int64_t ticks = (now - o->last_sent_us) * (int64_t)o->track->clock_rate / G_USEC_PER_SEC;
        o->ts_offset = o->last_ts + (uint32_t)MAX(ticks, 1) - v->timestamp;
    }
    o->rebase = false;
    uint32_t ts = v->timestamp + o->ts_offset;
    if (newest)
        o->last_ts = ts;
    if (!v->padding_len) /* an unwrapped RTX packet: its header said padding */
        rw->out[0] &= (uint8_t)~0x20u;
    vej_rtp_set_ssrc(rw->out, (size_t)n, o->ssrc);
    vej_rtp_set_payload_type(rw->out, (size_t)n, o->pt);
    vej_rtp_set_marker(rw->out, (size_t)n, v->marker);
    vej_rtp_set_seq(rw->out, (size_t)n, seq);
    vej_rtp_set_timestamp(rw->out, (size_t)n, ts);
    o->packets++;
    o->octets += (uint32_t)v->payload_len;
    o->last_sent_us = now;
    vej__peer_send_rtp(o->sub, rw->out, (size_t)n, sizeof rw->out);
}

/* The history's verdict on an arriving packet: false to drop it. Keeps
 * the missing list and NACKs what is due. */
static bool
admit(struct vej_track *t, const struct vej_rtp_view *v, struct vej_rworker *rw, int64_t now,
      uint32_t *arrival, bool *newest)
{
    enum vej_history_verdict hv = vej_history_add(t->history, v->seq, v->timestamp, v->marker,
                                                  v->payload, v->payload_len, now, arrival);
    if (hv == VEJ_HISTORY_DUPLICATE) {
        VEJ_STAT_ADD(&rw->stats, dropped_duplicate, 1);
        return false;
    }
    if (hv == VEJ_HISTORY_TOO_OLD) {
        VEJ_STAT_ADD(&rw->stats, dropped_late, 1);
        return false;
    }
    *newest = hv != VEJ_HISTORY_LATE;
    if (hv == VEJ_HISTORY_RESTART) {
        /* The publisher renumbered: subscribers continue from their own
         * highest number, nothing of before is missing any more, and
         * what was lost across the jump cannot be asked for. */
        track_lost(t);
        if (t->missing)
            vej_nack_reset(t->missing);
    }
    note_received(t, v->seq);
    if (t->missing && t->nack) {
        unsigned r = vej_nack_on_packet(t->missing, v->seq, now);
        if (r & VEJ_NACK_RECOVERED)
            VEJ_STAT_ADD(&rw->stats, nack_recovered, 1);
        if (r & VEJ_NACK_OVERFLOW)
            vej__router_request_keyframe(t);
        request_missing(t, rw, now);
    }
    return true;
}

void
vej__router_on_rtp(struct vej_peer *p, uint8_t *pkt, size_t len)
{
    struct vej_rworker *rw = p->part->h->rw;
    struct vej_rtp_view v;
    if (p->pc != VEJ_RELAY_PUBLISH || vej_rtp_parse(pkt, len, &v) != VEJ_RTP_OK) {
        VEJ_STAT_ADD(&rw->stats, dropped_malformed, 1);
        return;
    }
    bool rtx;
    struct vej_track *t = track_for(p, &v, &rtx);
    if (!t) {
        VEJ_STAT_ADD(&rw->stats, dropped_unknown_ssrc, 1);
        return;
    }
    if (rtx) {
        if (!unwrap_rtx(t, &v)) {
            VEJ_STAT_ADD(&rw->stats, dropped_padding, 1);
            return;
        }
        VEJ_STAT_ADD(&rw->stats, rtx_received, 1);
    }
    int64_t now = g_get_monotonic_time(); /* once per packet, not per copy */
    uint32_t arrival;
    bool newest;
    if (!admit(t, &v, rw, now, &arrival, &newest))
        return;
    /* Over the publish rate limit: withheld like a policy drop (taken as
     * received, so never NACKed; the subscribers' runs end, so no gap is
     * asked for and nothing of it is retransmitted). */
    if (!vej__ingress_allowed(p, t->kind, len, now)) {
        track_lost(t);
        return;
    }
    bool key = is_keyframe_start(t->codec, v.payload, v.payload_len);
    if (t->captured) /* the recorder's copy, before rw->out is reused per subscriber */
        vej__tap_rtp(t, pkt, len, &v, rtx, key);
    struct vej_rtp_ext_element level_el;
    const struct vej_rtp_ext_element *level = NULL;
    if (t->audio_level_id && vej_rtp_ext_find(&v, t->audio_level_id, &level_el) == VEJ_RTP_OK)
        level = &level_el;
    uint32_t ast = vej_rtp_abs_send_time_from_us((uint64_t)now);
    for (guint i = 0; i < t->outs->len; i++) {
        struct vej_out *o = t->outs->pdata[i];
        /* Any packet not forwarded ends the out's run (seqmap.h). */
        if (!o->negotiated || o->sub->state != PEER_CONNECTED) {
            vej_seqmap_pause(&o->map);
            continue;
        }
        if (!o->flowing) {
            vej_seqmap_pause(&o->map);
            VEJ_STAT_ADD(&rw->stats, dropped_policy, 1);
            continue;
        }
        /* A run never starts on a late packet: it may be one withheld
         * from this subscriber (muted, in another room) a moment ago. */
        if (!o->map.running && !newest) {
            vej_seqmap_pause(&o->map);
            VEJ_STAT_ADD(&rw->stats, dropped_late, 1);
            continue;
        }
        if (o->need_keyframe) {
            if (!key) {
                /* Ask again (rate-limited): the keyframe asked for earlier
                 * may have gone by before this subscriber was ready. */
                vej_seqmap_pause(&o->map);
                VEJ_STAT_ADD(&rw->stats, dropped_awaiting_keyframe, 1);
                vej__router_request_keyframe(t);
                continue;
            }
            o->need_keyframe = false;
        }
        /* The random start is drawn once per out (g_random_int locks). */
        uint16_t first = o->map.started ? 0 : (uint16_t)g_random_int();
        uint16_t seq;
        if (!vej_seqmap_forward(&o->map, v.seq, arrival, first, &seq)) {
            VEJ_STAT_ADD(&rw->stats, dropped_late, 1); /* from before this subscriber's run */
            continue;
        }
        forward_one(o, &v, rw, level, ast, now, seq, newest);
    }
}

/* ---- RTCP ---- */

static struct vej_out *
out_by_ssrc(struct vej_peer *sub, uint32_t ssrc)
{
    for (guint i = 0; i < sub->outs->len; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        if (o->ssrc == ssrc)
            return o;
    }
    return NULL;
}

/* A publisher's sender report: the track it is for keeps its clock
 * mapping. Returns that track, or NULL. */
static struct vej_track *
on_publisher_rtcp(struct vej_peer *p, const struct vej_rtcp_packet *pk)
{
    struct vej_rtcp_sr sr;
    if (pk->type != VEJ_RTCP_SR || vej_rtcp_parse_sr(pk, &sr) != VEJ_RTCP_OK)
        return NULL;
    for (guint i = 0; i < p->tracks->len; i++) {
        struct vej_track *t = p->tracks->pdata[i];
        if (t->ssrc_known && t->ssrc == sr.ssrc) {
            t->sr_ntp = sr.ntp_time;
            t->sr_rtp = sr.rtp_time;
            t->sr_arrival_us = g_get_monotonic_time();
            return t;
        }
    }
    return NULL;
}

enum resend_result { RESENT, UNANSWERABLE, LOST, RATE_LIMITED };

/* Answers the subscriber's NACK for its number `seq` with an RTX packet:
 * only for a number of the out's current run whose packet arrived during
 * that run and is still held (so never a packet withheld from this
 * subscriber or one from before it was allowed), within the subscriber's
 * byte budget. The RTX stream has its own SSRC and numbers, so no SRTP
 * index is used twice. */
static enum resend_result
resend(struct vej_out *o, uint16_t seq, struct vej_rworker *rw, int64_t now)
{
    struct vej_history_packet hp;
    uint16_t src;

    if (!o || !o->track || !o->flowing || o->need_keyframe || o->sub->state != PEER_CONNECTED ||
        !vej_seqmap_source(&o->map, seq, &src))
        return UNANSWERABLE;
    /* A number of the current run that cannot be sent again is lost to
     * the subscriber for good (LOST), unless the relay still waits for
     * it from the publisher: then it is forwarded when it comes. */
    if (!o->rtx || !o->rtx_pt)
        return LOST;
    if (!vej_history_get(o->track->history, src, now, VEJ_RTX_MAX_AGE_US, &hp))
        return o->track->missing && vej_nack_is_missing(o->track->missing, src) ? UNANSWERABLE
                                                                                : LOST;
    if (!vej_seqmap_arrived_in_run(&o->map, hp.arrival))
        return LOST;
    /* RTX carries the mid of its m-line (RFC 8843) and our send time. */
    struct vej_rtp_ext_builder ext;
    vej_rtp_ext_build_hop(&ext, &o->ext, o->mid, o->mid_len,
                          vej_rtp_abs_send_time_from_us((uint64_t)now), NULL);
    size_t cap = sizeof rw->out - VEJ_SRTP_MAX_OVERHEAD;
    size_t len = VEJ_RTP_HEADER_MIN + vej_rtp_ext_block_size(&ext) + VEJ_RTX_OSN_LEN + hp.len;
    if (len > cap)
        return UNANSWERABLE;
    struct vej_rtx_budget *budget = &o->sub->rtx_budget;
    if (!budget->rate)
        vej_rtx_budget_init(budget, VEJ_RTX_BUDGET_BYTES_PER_S, VEJ_RTX_BUDGET_BURST_BYTES);
    if (!vej_rtx_budget_take(budget, len, now))
        return RATE_LIMITED;
    struct vej_rtx_header h = {
        .payload_type = o->rtx_pt,
        .marker = hp.marker,
        .seq = o->rtx_seq++,
        .timestamp = hp.timestamp + o->ts_offset,
        .ssrc = o->rtx_ssrc,
        .extensions = &ext,
    };
    long n = vej_rtx_write(rw->out, cap, &h, seq, hp.payload, hp.len);
    if (n < 0)
        return UNANSWERABLE;
    o->rtx_packets++;
    vej__peer_send_rtp(o->sub, rw->out, (size_t)n, sizeof rw->out);
    return RESENT;
}

/* A generic NACK (RTPFB FMT 1) from a subscriber: every number its PID
 * and BLP name is counted and answered or not; *allowance is how many of
 * this datagram may still be looked up. */
static void
on_subscriber_nack(struct vej_peer *sub, const struct vej_rtcp_packet *pk, size_t *allowance)
{
    struct vej_rworker *rw = sub->part->h->rw;
    struct vej_rtcp_nack nack;
    uint16_t pid, blp;

    if (vej_rtcp_parse_nack(pk, &nack) != VEJ_RTCP_OK) {
        VEJ_STAT_ADD(&rw->stats, dropped_malformed, 1);
        return;
    }
    struct vej_out *o = out_by_ssrc(sub, nack.media_ssrc);
    int64_t now = g_get_monotonic_time();
    bool lost = false;
    for (size_t i = 0; vej_rtcp_nack_item(&nack, i, &pid, &blp); i++) {
        for (int bit = -1; bit < 16; bit++) {
            if (bit >= 0 && !(blp & (1u << bit)))
                continue;
            VEJ_STAT_ADD(&rw->stats, nack_received, 1);
            if (*allowance == 0) {
                VEJ_STAT_ADD(&rw->stats, nack_unanswerable, 1);
                continue;
            }
            (*allowance)--;
            switch (resend(o, (uint16_t)(pid + bit + 1), rw, now)) {
            case RESENT:
                VEJ_STAT_ADD(&rw->stats, rtx_sent, 1);
                break;
            case UNANSWERABLE:
                VEJ_STAT_ADD(&rw->stats, nack_unanswerable, 1);
                break;
            case LOST:
                VEJ_STAT_ADD(&rw->stats, nack_unanswerable, 1);
                lost = true;
                break;
            case RATE_LIMITED:
                VEJ_STAT_ADD(&rw->stats, rtx_rate_limited, 1);
                lost = true;
                break;
            }
        }
    }
    if (lost) /* its picture is broken until the next keyframe */
        out_lost(o);
}

static void
on_subscriber_rtcp(struct vej_peer *p, const struct vej_rtcp_packet *pk, size_t *nack_allowance)
{
    struct vej_rtcp_fb fb;
    if (pk->type == VEJ_RTCP_RTPFB && pk->count == VEJ_RTCP_RTPFB_NACK) {
        on_subscriber_nack(p, pk, nack_allowance);
        return;
    }
    if (pk->type != VEJ_RTCP_PSFB || vej_rtcp_parse_fb(pk, &fb) != VEJ_RTCP_OK)
        return;
    uint32_t media = fb.media_ssrc;
    if (fb.fmt == VEJ_RTCP_PSFB_FIR) {
        struct vej_rtcp_fir fir;
        if (vej_rtcp_parse_fir(pk, &fir) != VEJ_RTCP_OK || fir.n_entries == 0)
            return;
        media = vej_rtcp_fir_entry_at(&fir, 0).ssrc;
    } else if (fb.fmt != VEJ_RTCP_PSFB_PLI) {
        return;
    }
    struct vej_out *o = out_by_ssrc(p, media);
    if (o && o->track)
        vej__router_request_keyframe(o->track);
}

void
vej__router_on_rtcp(struct vej_peer *p, uint8_t *pkt, size_t len)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet pk;
    size_t nack_allowance = NACKED_PER_DATAGRAM_MAX;
    struct vej_track *reported[8]; /* captured tracks with a sender report here */
    size_t n_reported = 0;
    vej_rtcp_iter_init(&it, pkt, len);
    int rc;
    while ((rc = vej_rtcp_next(&it, &pk)) > 0) {
        if (p->pc == VEJ_RELAY_PUBLISH) {
            struct vej_track *t = on_publisher_rtcp(p, &pk);
            if (t && t->captured && n_reported < G_N_ELEMENTS(reported))
                reported[n_reported++] = t;
        } else
            on_subscriber_rtcp(p, &pk, &nack_allowance);
    }
    if (rc < 0) {
        VEJ_STAT_ADD(&p->part->h->rw->stats, dropped_malformed, 1);
        return;
    }
    /* The recorder gets the whole compound, once per captured track whose
     * sender report it carries. */
    for (size_t i = 0; i < n_reported; i++)
        vej__tap_rtcp(reported[i], pkt, len);
}

/* Receiver reports and REMB to publishers, sender reports to subscribers. */
static void
send_reports_to_publisher(struct vej_peer *pub)
{
    uint8_t buf[512 + VEJ_SRTP_MAX_OVERHEAD];
    struct vej_rtcp_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = pub->rtcp_ssrc;
    uint32_t ssrcs[16];
    size_t n_ssrcs = 0;
    for (guint i = 0; i < pub->tracks->len && rr.n_reports < 16; i++) {
        struct vej_track *t = pub->tracks->pdata[i];
        if (!t->ssrc_known || !t->seq_started)
            continue;
        struct vej_rtcp_report_block *b = &rr.reports[rr.n_reports++];
        b->ssrc = t->ssrc;
        b->highest_seq = t->cycles + t->max_seq;
        if (t->sr_ntp) {
            b->lsr = (uint32_t)(t->sr_ntp >> 16);
            int64_t d = g_get_monotonic_time() - t->sr_arrival_us;
            b->dlsr = (uint32_t)(d * 65536 / G_USEC_PER_SEC);
        }
        if (t->kind == VEJ_SDP_KIND_VIDEO)
            ssrcs[n_ssrcs++] = t->ssrc;
    }
    long n = vej_rtcp_write_rr(buf, 512, &rr);
    if (n <= 0)
        return;
    if (n_ssrcs) {
        long m = vej_rtcp_write_remb(buf + n, 512 - (size_t)n, pub->rtcp_ssrc, REMB_BITRATE, ssrcs,
                                     n_ssrcs);
        if (m > 0)
            n += m;
    }
    vej__peer_send_rtcp(pub, buf, (size_t)n, sizeof buf);
}

static void
send_reports_to_subscriber(struct vej_peer *sub)
{
    for (guint i = 0; i < sub->outs->len; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        if (!o->track || !o->started)
            continue;
        uint8_t buf[256 + VEJ_SRTP_MAX_OVERHEAD];
        struct vej_rtcp_sr sr;
        memset(&sr, 0, sizeof sr);
        sr.ssrc = o->ssrc;
        struct vej_track *t = o->track;
        /* One clock per track, the publisher's: nothing before its first
         * SR (a receiver would take our clock for its and then see it
         * jump), nor while the copy's timestamps wait to be rebased on a
         * new source SSRC. */
        if (!t->sr_ntp || o->rebase)
            continue;
        int64_t now = g_get_monotonic_time();
        /* The publisher's clock mapping, carried through our offset. */
        int64_t since = now - t->sr_arrival_us;
        uint64_t frac = (uint64_t)(since % G_USEC_PER_SEC) * 4294967296ULL / G_USEC_PER_SEC;
        sr.ntp_time = t->sr_ntp + ((uint64_t)(since / G_USEC_PER_SEC) << 32) + frac;
        sr.rtp_time =
            t->sr_rtp + o->ts_offset + (uint32_t)(since * (int64_t)t->clock_rate / G_USEC_PER_SEC);
        sr.packet_count = o->packets;
        sr.octet_count = o->octets;
        long n = vej_rtcp_write_sr(buf, 256, &sr);
        if (n <= 0)
            continue;
        long m = vej_rtcp_write_sdes_cname(buf + n, 256 - (size_t)n, o->ssrc, t->stream_id,
                                           strlen(t->stream_id));
        if (m > 0)
            n += m;
        vej__peer_send_rtcp(sub, buf, (size_t)n, sizeof buf);
    }
}

/* A video track's retransmission ring (relay-priv.h): mapped whole, its
 * pages untouched (so out of memory) until the history uses them. */
static uint8_t *
arena_map(void)
{
    void *p =
        mmap(NULL, VEJ_RTX_ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        g_error("relay: cannot map a retransmission ring of %d bytes", VEJ_RTX_ARENA_BYTES);
    return p;
}

/* Once a second: the ring grows to hold what the publisher sent in the
 * last second and a quarter more, in steps, up to the whole mapping (it
 * never shrinks: its pages are in memory by then anyway). Growing drops
 * the payloads held (vej_history_use_arena): a NACK in that instant is
 * not answered, as for a packet too old. */
static void
size_rtx_ring(struct vej_track *t)
{
    struct vej_history *hist = t->history;
    if (!t->arena)
        return;
    uint64_t sent = hist->head - t->arena_mark;
    t->arena_mark = hist->head;
    size_t want = (size_t)MIN(sent + sent / 4, (uint64_t)VEJ_RTX_ARENA_BYTES);
    if (want <= hist->arena_size)
        return;
    want = MIN((want + VEJ_RTX_ARENA_STEP - 1) / VEJ_RTX_ARENA_STEP * VEJ_RTX_ARENA_STEP,
               (size_t)VEJ_RTX_ARENA_BYTES);
    vej_history_use_arena(hist, want);
    t->arena_mark = hist->head;
}

static gboolean
rtcp_tick(gpointer user)
{
    struct vej_rhearing *h = user;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, h->parts);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_rpart *part = value;
        for (guint i = 0; part->pub && i < part->pub->tracks->len; i++)
            size_rtx_ring(part->pub->tracks->pdata[i]);
        if (part->pub && part->pub->state == PEER_CONNECTED)
            send_reports_to_publisher(part->pub);
        if (part->sub && part->sub->state == PEER_CONNECTED) {
            vej__peer_rtcp_hold(part->sub); /* one compound per PC */
            send_reports_to_subscriber(part->sub);
            vej__peer_rtcp_release(part->sub);
        }
    }
    return G_SOURCE_CONTINUE;
}

void
vej__router_start_timer(struct vej_rhearing *h)
{
    h->rtcp_timer = g_timeout_source_new(RTCP_INTERVAL_MS);
    g_source_set_callback(h->rtcp_timer, rtcp_tick, h, NULL);
    g_source_attach(h->rtcp_timer, vej_worker_context(h->rw->worker));
}

/* ---- tracks and policy ---- */

static void
out_unlink(struct vej_out *o)
{
    if (o->track && o->sub->srtp) { /* the m-line ends: its SSRCs are never used again */
        vej_srtp_remove_stream(o->sub->srtp, o->ssrc, true);
        vej_srtp_remove_stream(o->sub->srtp, o->rtx_ssrc, true);
    }
    if (o->track)
        g_ptr_array_remove(o->track->outs, o);
    o->track = NULL;
    o->flowing = false;
    o->negotiated = false;
    o->rtx = false;
    vej_seqmap_pause(&o->map);
}

/* The publisher's SRTP state for t's streams goes with them. */
static void
track_forget_streams(struct vej_track *t)
{
    if (!t->pub->srtp)
        return;
    if (t->ssrc_known)
        vej_srtp_remove_stream(t->pub->srtp, t->ssrc, false);
    if (t->rtx_ssrc_known)
        vej_srtp_remove_stream(t->pub->srtp, t->rtx_ssrc, false);
}

/* The publisher gave t another SSRC (a renegotiation): a new stream, with
 * its own numbers, timestamps and clock. Everything kept per SSRC starts
 * again: SRTP state, receive statistics, history and NACK list, the
 * sender-report clock (none is sent until the new SSRC's first SR). Each
 * copy keeps its own SSRC and numbering: its run ends, its timestamps go
 * on from the last sent, and video waits for a keyframe. */
static void
track_new_ssrc(struct vej_track *t)
{
    if (t->pub->srtp)
        vej_srtp_remove_stream(t->pub->srtp, t->ssrc, false);
    t->seq_started = false;
    t->max_seq = 0;
    t->cycles = 0;
    t->received = 0;
    t->sr_ntp = 0;
    t->sr_rtp = 0;
    t->sr_arrival_us = 0;
    t->last_keyframe_request_us = 0;
    size_t in_use = t->history->arena_size; /* the ring keeps the size it grew to */
    vej_history_init(t->history, t->arena, t->arena ? VEJ_RTX_ARENA_BYTES : 0);
    if (t->arena)
        vej_history_use_arena(t->history, in_use);
    t->arena_mark = t->history->head;
    if (t->missing)
        vej_nack_reset(t->missing);
    for (guint i = 0; i < t->outs->len; i++) {
        struct vej_out *o = t->outs->pdata[i];
        o->rebase = o->started;
        out_lost(o);
    }
}

static void
track_free(struct vej_track *t)
{
    vej__tap_track_gone(t);
    track_forget_streams(t);
    while (t->outs->len) {
        struct vej_out *o = t->outs->pdata[t->outs->len - 1];
        out_unlink(o);
        o->sub->renegotiate = true;
    }
    g_ptr_array_unref(t->outs);
    g_free(t->history);
    if (t->arena)
        munmap(t->arena, VEJ_RTX_ARENA_BYTES);
    g_free(t->missing);
    g_free(t);
}

/* t's publisher renegotiated it to another codec (or its parameters):
 * its subscribers' m-lines end, and the policy gives it new ones with
 * each subscriber's payload types for the new codec (a re-offer); the
 * recorder learns it afresh. */
static void
track_recodec(struct vej_track *t)
{
    vej__tap_track_gone(t);
    while (t->outs->len) {
        struct vej_out *o = t->outs->pdata[t->outs->len - 1];
        out_unlink(o);
        o->sub->renegotiate = true;
    }
}

void
vej__router_set_tracks(struct vej_peer *pub, const struct vej_sdp_description *offer)
{
    /* Keep tracks whose mid persists (a renegotiation must not disturb
     * running media); drop the others. */
    for (guint i = pub->tracks->len; i-- > 0;) {
        struct vej_track *t = pub->tracks->pdata[i];
        int idx = vej_sdp_find_mid(offer, t->mid);
        if (idx < 0 || !offer->media[idx].accepted ||
            offer->media[idx].direction == VEJ_SDP_DIR_RECVONLY ||
            offer->media[idx].direction == VEJ_SDP_DIR_INACTIVE) {
            g_ptr_array_remove_index(pub->tracks, i);
            track_free(t);
        }
    }
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct vej_sdp_media *m = &offer->media[i];
        if (!m->accepted || m->direction == VEJ_SDP_DIR_RECVONLY ||
            m->direction == VEJ_SDP_DIR_INACTIVE)
            continue;
        struct vej_track *t = NULL;
        for (guint j = 0; j < pub->tracks->len && !t; j++)
            if (strcmp(((struct vej_track *)pub->tracks->pdata[j])->mid, m->mid) == 0)
                t = pub->tracks->pdata[j];
        if (!t) {
            t = g_new0(struct vej_track, 1);
            t->pub = pub;
            t->outs = g_ptr_array_new();
            g_strlcpy(t->mid, m->mid, sizeof t->mid);
            g_snprintf(t->stream_id, sizeof t->stream_id, "s%08x%08x", g_random_int(),
                       g_random_int());
            g_snprintf(t->track_id, sizeof t->track_id, "t%08x%08x", g_random_int(),
                       g_random_int());
            /* Everything the forwarding path needs, allocated once here. */
            t->history = g_new(struct vej_history, 1);
            if (m->kind == VEJ_SDP_KIND_VIDEO) {
                t->arena = arena_map();
                t->missing = g_new(struct vej_nack, 1);
                vej_nack_init(t->missing);
            }
            vej_history_init(t->history, t->arena, t->arena ? VEJ_RTX_ARENA_BYTES : 0);
            if (t->arena)
                vej_history_use_arena(t->history, VEJ_RTX_ARENA_START);
            t->arena_mark = t->history->head;
            g_ptr_array_add(pub->tracks, t);
        }
        if (t->codec && (t->codec != m->codec || strcmp(t->fmtp, m->fmtp) != 0))
            track_recodec(t);
        t->kind = m->kind;
        t->codec = m->codec;
        t->pt = m->pt;
        t->clock_rate = m->clock_rate;
        g_strlcpy(t->fmtp, m->fmtp, sizeof t->fmtp);
        t->mid_ext_id = m->extmap.mid;
        t->audio_level_id = m->kind == VEJ_SDP_KIND_AUDIO ? m->extmap.audio_level : 0;
        if (m->has_ssrc) {
            if (t->ssrc_known && t->ssrc != m->ssrc)
                track_new_ssrc(t);
            t->ssrc = m->ssrc;
            t->ssrc_known = true;
        }
        /* As answered (vej_sdp_make_answer): generic NACK for video when
         * offered, RTX when offered with it. */
        t->nack = m->kind == VEJ_SDP_KIND_VIDEO && (m->rtcp_fb & VEJ_SDP_FB_NACK);
        t->rtx_pt = m->has_rtx ? m->rtx_pt : 0;
        if (m->has_rtx && m->has_rtx_ssrc) {
            if (t->rtx_ssrc_known && t->rtx_ssrc != m->rtx_ssrc && pub->srtp)
                vej_srtp_remove_stream(pub->srtp, t->rtx_ssrc, false); /* its RTX is new too */
            t->rtx_ssrc = m->rtx_ssrc;
            t->rtx_ssrc_known = true;
        }
    }
    forget_learning(pub);
    /* One CNAME and msid stream per publisher, so browsers lip-sync. */
    for (guint j = 1; j < pub->tracks->len; j++)
        g_strlcpy(((struct vej_track *)pub->tracks->pdata[j])->stream_id,
                  ((struct vej_track *)pub->tracks->pdata[0])->stream_id,
                  sizeof((struct vej_track *)pub->tracks->pdata[0])->stream_id);
}

static struct vej_out *
out_for_track(struct vej_peer *sub, struct vej_track *t)
{
    for (guint i = 0; i < sub->outs->len; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        if (o->track == t)
            return o;
    }
    return NULL;
}

/* A new m-line for t, or NULL when sub has its maximum already (of
 * m-lines, or of codecs: ptmap.c). Its payload types are sub's own for
 * t's codec and fmtp. An m-line that carried a track is never given another one: clients
 * (webrtcbin 1.22) may not take an inactive m-line back to sendonly. */
static struct vej_out *
out_new(struct vej_peer *sub, struct vej_track *t)
{
    unsigned max = sub->part->h->relay->config.max_media_per_subscribe;
    if (sub->outs->len >= MIN(max ? max : VEJ_SUB_MAX_MLINES_DEFAULT, VEJ_SDP_MAX_MLINES))
        return NULL;
    const struct vej_pt_entry *pts = vej__ptmap_get(&sub->pts, t->codec, t->fmtp);
    if (!pts)
        return NULL;
    struct vej_out *o = g_new0(struct vej_out, 1);
    o->sub = sub;
    o->kind = t->kind;
    g_snprintf(o->mid, sizeof o->mid, "%u", sub->next_mid++);
    o->mid_len = (uint8_t)strlen(o->mid);
    g_ptr_array_add(sub->outs, o);
    o->track = t;
    o->ssrc = g_random_int() | 1;
    o->pt = pts->pt;
    o->started = false;
    o->negotiated = false;
    o->packets = o->octets = 0;
    /* A new stream: fresh SSRCs, so fresh SRTP indexes from 0 numbers on. */
    vej_seqmap_init(&o->map);
    o->rtx = false;
    o->rtx_pt = 0;
    o->rtx_packets = 0;
    if (t->kind == VEJ_SDP_KIND_VIDEO) {
        o->rtx_pt = pts->rtx_pt;
        do
            o->rtx_ssrc = g_random_int() | 1;
        while (o->rtx_ssrc == o->ssrc);
        o->rtx_seq = (uint16_t)g_random_int();
    }
    g_strlcpy(o->publisher_id, t->pub->part->id, sizeof o->publisher_id);
    g_ptr_array_add(t->outs, o);
    return o;
}

void
vej__router_add_placeholder(struct vej_peer *sub)
{
    struct vej_out *o = g_new0(struct vej_out, 1);
    o->sub = sub;
    o->kind = VEJ_SDP_KIND_AUDIO;
    g_snprintf(o->mid, sizeof o->mid, "%u", sub->next_mid++);
    o->mid_len = (uint8_t)strlen(o->mid);
    g_ptr_array_add(sub->outs, o);
    sub->renegotiate = true;
}

/* sub needs an m-line beyond its maximum: its streams end (RTCP
 * BYE) and it is closed, reported `closed` (reason "mline_limit"); the
 * client's webrtc.subscribe then makes a fresh one (relay.c). */
static void
subscriber_exhausted(struct vej_peer *sub)
{
    g_message("hearing %s participant %s subscribe PC has %u m-lines: closed for a fresh one",
              sub->part->h->id, sub->part->id, sub->outs->len);
    vej__router_detach(sub);
    sub->state = PEER_CLOSED;
    sub->renegotiate = false;
    vej__peer_report_state(sub, "closed", "mline_limit");
}

/* ---- policy: cells by integer index (relay.h, policy-table.h) ---- */

/* The part holding a policy index, or NULL. */
static struct vej_rpart *
part_at(struct vej_rhearing *h, uint32_t index)
{
    return index && index < h->n_indexes ? h->index_parts[index] : NULL;
}

/* One track of a publisher for one subscriber, as the cell's bits say:
 * its out ends when the track is no longer present (the m-line stays,
 * inactive for good), a new out when it becomes present, `flowing` set
 * (a video out restarting waits for a key frame, which it asks for).
 * False when sub was closed for a fresh one (m-lines exhausted). */
static bool
apply_track(struct vej_peer *sub, struct vej_track *t, uint8_t bits)
{
    unsigned kind = t->kind == VEJ_SDP_KIND_VIDEO;
    struct vej_out *o = out_for_track(sub, t);
    if (!(bits & VEJ_RELAY_PRESENT(kind))) {
        if (o) {
            out_unlink(o);
            sub->renegotiate = true;
        }
        return true;
    }
    if (!o) {
        o = out_new(sub, t);
        if (!o) {
            subscriber_exhausted(sub);
            return false;
        }
        sub->renegotiate = true;
    }
    bool was = o->flowing;
    o->flowing = (bits & VEJ_RELAY_FLOWING(kind)) != 0;
    if (o->flowing != was) /* what was sent before is not answerable */
        vej_seqmap_pause(&o->map);
    if (o->flowing && !was && o->kind == VEJ_SDP_KIND_VIDEO) {
        o->need_keyframe = true;
        if (o->negotiated)
            vej__router_request_keyframe(t);
    }
    return true;
}

/* The cell (subp, pubp) applied to every track of pubp at subp; subp is
 * added to `touched` (it may need an offer). */
static void
apply_pair(struct vej_rpart *subp, struct vej_rpart *pubp, uint8_t bits, GPtrArray *touched)
{
    struct vej_peer *sub = subp->sub;
    if (subp == pubp || !sub || sub->state == PEER_CLOSED || !pubp->pub)
        return;
    for (guint i = 0; i < pubp->pub->tracks->len; i++)
        if (!apply_track(sub, pubp->pub->tracks->pdata[i], bits))
            return;
    if (sub->renegotiate)
        g_ptr_array_add(touched, sub);
}

/* The recorder's cell for a publisher: which of its tracks the tap captures. */
static void
apply_recorder(struct vej_rpart *pubp, uint8_t bits)
{
    for (guint i = 0; pubp->pub && i < pubp->pub->tracks->len; i++) {
        struct vej_track *t = pubp->pub->tracks->pdata[i];
        vej__tap_set_captured(t, (bits & VEJ_RELAY_FLOWING(t->kind == VEJ_SDP_KIND_VIDEO)) != 0);
    }
}

static void
apply_cell(struct vej_rhearing *h, uint32_t sub, uint32_t pub, uint8_t bits, GPtrArray *touched)
{
    struct vej_rpart *pubp = part_at(h, pub);
    if (!pubp)
        return;
    if (sub == VEJ_RELAY_RECORDER) {
        apply_recorder(pubp, bits);
        return;
    }
    struct vej_rpart *subp = part_at(h, sub);
    if (subp)
        apply_pair(subp, pubp, bits, touched);
}

static void
offer_touched(GPtrArray *touched)
{
    for (guint i = 0; i < touched->len; i++)
        vej__router_maybe_offer(touched->pdata[i]);
}

void
vej__router_apply_part(struct vej_rpart *part)
{
    struct vej_rhearing *h = part->h;
    uint32_t me = part->index;
    if (!me || part_at(h, me) != part) {
        /* Not bound yet: its cells come with its binding. */
        if (part->sub)
            vej__router_maybe_offer(part->sub);
        return;
    }
    g_autoptr(GPtrArray) touched = g_ptr_array_new();
    for (uint32_t j = 1; j < h->n_indexes; j++) {
        struct vej_rpart *other = h->index_parts[j];
        if (!other || other == part)
            continue;
        apply_pair(part, other, vej_policy_table_get(&h->applied, me, j), touched);
        apply_pair(other, part, vej_policy_table_get(&h->applied, j, me), touched);
    }
    apply_recorder(part, vej_policy_table_get(&h->applied, VEJ_RELAY_RECORDER, me));
    if (part->sub)
        g_ptr_array_add(touched, part->sub);
    offer_touched(touched);
}

static void
ensure_indexes(struct vej_rhearing *h, uint32_t n)
{
    if (n <= h->n_indexes)
        return;
    h->index_ids = g_renew(char *, h->index_ids, n);
    h->index_parts = g_renew(struct vej_rpart *, h->index_parts, n);
    for (uint32_t i = h->n_indexes; i < n; i++) {
        h->index_ids[i] = NULL;
        h->index_parts[i] = NULL;
    }
    h->n_indexes = n;
}

/* index now belongs to b->id (or to nobody): what its previous holder
 * was given ends (every applied cell of its row and column back to
 * nothing), then the new holder's part, if any, takes the index. */
static void
apply_binding(struct vej_rhearing *h, const struct vej_rbinding *b, GPtrArray *touched)
{
    ensure_indexes(h, b->index + 1);
    /* The same holder again (a full resynchronisation): nothing ends; the
     * cells of the same update bring the differences. */
    if (b->id && g_strcmp0(h->index_ids[b->index], b->id) == 0)
        return;
    for (uint32_t j = 0; j < h->n_indexes; j++) {
        if (vej_policy_table_get(&h->applied, b->index, j))
            apply_cell(h, b->index, j, 0, touched);
        if (j != b->index && vej_policy_table_get(&h->applied, j, b->index))
            apply_cell(h, j, b->index, 0, touched);
    }
    VEJ_STAT_ADD(&h->rw->stats, policy_cells_applied,
                 vej_policy_table_clear_index(&h->applied, b->index));
    struct vej_rpart *old = h->index_parts[b->index];
    if (old)
        old->index = 0;
    h->index_parts[b->index] = NULL;
    g_free(h->index_ids[b->index]);
    h->index_ids[b->index] = g_strdup(b->id);
    struct vej_rpart *part = b->id ? g_hash_table_lookup(h->parts, b->id) : NULL;
    if (part) {
        if (part->index && part_at(h, part->index) == part)
            h->index_parts[part->index] = NULL;
        part->index = b->index;
        h->index_parts[b->index] = part;
        if (part->sub)
            g_ptr_array_add(touched, part->sub);
    }
}

void
vej__router_take_policy(struct vej_rhearing *h)
{
    g_mutex_lock(&h->policy_lock);
    GArray *bindings = h->bindings_in;
    h->bindings_in = g_array_new(FALSE, FALSE, sizeof(struct vej_rbinding));
    struct vej_policy_change *changes = NULL;
    size_t n = vej_policy_table_take(&h->desired, &changes);
    uint64_t generation = h->generation_in;
    h->policy_queued = false;
    g_mutex_unlock(&h->policy_lock);

    g_autoptr(GPtrArray) touched = g_ptr_array_new();
    for (guint i = 0; i < bindings->len; i++) {
        struct vej_rbinding *b = &g_array_index(bindings, struct vej_rbinding, i);
        apply_binding(h, b, touched);
        g_free(b->id);
    }
    g_array_unref(bindings);
    for (size_t i = 0; i < n; i++) {
        const struct vej_policy_change *c = &changes[i];
        if (vej_policy_table_get(&h->applied, c->subscriber, c->publisher) == c->bits)
            continue;
        if (vej_policy_table_set(&h->applied, c->subscriber, c->publisher, c->bits) < 0)
            continue;
        VEJ_STAT_ADD(&h->rw->stats, policy_cells_applied, 1);
        apply_cell(h, c->subscriber, c->publisher, c->bits, touched);
    }
    free(changes);
    VEJ_STAT_ADD(&h->rw->stats, policy_takes, 1);
    offer_touched(touched);
    struct vej_relay *relay = h->relay;
    if (relay->cb.policy_applied)
        relay->cb.policy_applied(relay->cb.user, h->id, generation);
}

void
vej__router_part_bound(struct vej_rpart *part)
{
    struct vej_rhearing *h = part->h;
    for (uint32_t i = 1; i < h->n_indexes; i++) {
        if (h->index_ids[i] && strcmp(h->index_ids[i], part->id) == 0) {
            part->index = i;
            h->index_parts[i] = part;
            return;
        }
    }
}

void
vej__router_part_unbound(struct vej_rpart *part)
{
    if (part_at(part->h, part->index) == part)
        part->h->index_parts[part->index] = NULL;
    part->index = 0;
}

void
vej__router_offer_all(struct vej_rhearing *h)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, h->parts);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_rpart *part = value;
        if (part->sub)
            vej__router_maybe_offer(part->sub);
    }
}

void
vej__router_policy_free(struct vej_rhearing *h)
{
    for (guint i = 0; h->bindings_in && i < h->bindings_in->len; i++)
        g_free(g_array_index(h->bindings_in, struct vej_rbinding, i).id);
    g_clear_pointer(&h->bindings_in, g_array_unref);
    for (uint32_t i = 0; i < h->n_indexes; i++)
        g_free(h->index_ids[i]);
    g_clear_pointer(&h->index_ids, g_free);
    g_clear_pointer(&h->index_parts, g_free);
    h->n_indexes = 0;
    vej_policy_table_clear(&h->desired);
    vej_policy_table_clear(&h->applied);
    g_mutex_clear(&h->policy_lock);
}

static char *
tracks_json(struct vej_peer *sub)
{
    GString *s = g_string_new("[");
    bool first = true;
    for (guint i = 0; i < sub->outs->len; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        if (!o->track)
            continue;
        /* Ids are [a-z0-9_] and mids digits: no JSON escaping needed. */
        g_string_append_printf(s, "%s{\"mid\":\"%s\",\"participant_id\":\"%s\",\"kind\":\"%s\"}",
                               first ? "" : ",", o->mid, o->publisher_id,
                               o->kind == VEJ_SDP_KIND_VIDEO ? "video" : "audio");
        first = false;
    }
    g_string_append_c(s, ']');
    return g_string_free(s, FALSE);
}

/* The codec an inactive m-line of sub names: the first of its kind in
 * sub's payload types (so that each PT keeps one meaning in the BUNDLE
 * group), else VP8 96 or Opus 111, which ptmap.c keeps for them. */
static void
inactive_codec(struct vej_peer *sub, enum vej_sdp_kind kind, struct vej_sdp_track *tr)
{
    bool video = kind == VEJ_SDP_KIND_VIDEO;
    for (unsigned i = 0; i < sub->pts.n; i++) {
        const struct vej_pt_entry *e = &sub->pts.e[i];
        if ((e->codec != VEJ_SDP_CODEC_OPUS) == video) {
            tr->codec = e->codec;
            tr->pt = e->pt;
            g_strlcpy(tr->fmtp, e->fmtp, sizeof tr->fmtp);
            return;
        }
    }
    tr->codec = video ? VEJ_SDP_CODEC_VP8 : VEJ_SDP_CODEC_OPUS;
    tr->pt = video ? 96 : 111;
}

void
vej__router_maybe_offer(struct vej_peer *sub)
{
    /* A failed PC is offered only an ICE restart: its way back. */
    if (!sub->renegotiate || sub->offer_in_flight ||
        (sub->state == PEER_FAILED && !sub->local_restart) || sub->state == PEER_CLOSED ||
        sub->outs->len == 0)
        return;
    struct vej_relay *relay = sub->part->h->relay;
    struct vej_sdp_offer *offer = g_new0(struct vej_sdp_offer, 1);
    vej__peer_local_sdp(sub, &offer->local);
    offer->extmap.audio_level = VEJ_OFFER_AUDIO_LEVEL_ID;
    offer->extmap.mid = VEJ_OFFER_MID_ID;
    offer->extmap.abs_send_time = VEJ_OFFER_ABS_SEND_TIME_ID;
    for (guint i = 0; i < sub->outs->len && offer->n_tracks < VEJ_SDP_MAX_MLINES; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        struct vej_sdp_track *tr = &offer->tracks[offer->n_tracks++];
        g_strlcpy(tr->mid, o->mid, sizeof tr->mid);
        tr->kind = o->kind;
        if (o->track) {
            tr->direction = VEJ_SDP_DIR_SENDONLY;
            tr->codec = o->track->codec;
            tr->pt = o->pt;
            g_strlcpy(tr->fmtp, o->track->fmtp, sizeof tr->fmtp);
            tr->ssrc = o->ssrc;
            tr->rtx_pt = o->rtx_pt;
            tr->rtx_ssrc = o->rtx_ssrc;
            g_strlcpy(tr->cname, o->track->stream_id, sizeof tr->cname);
            g_strlcpy(tr->msid_stream, o->track->stream_id, sizeof tr->msid_stream);
            g_strlcpy(tr->msid_track, o->track->track_id, sizeof tr->msid_track);
        } else {
            tr->direction = VEJ_SDP_DIR_INACTIVE;
            inactive_codec(sub, o->kind, tr);
        }
    }
    char *sdp = NULL;
    const char *why = NULL;
    if (vej_sdp_make_offer(offer, &sdp, &why) != VEJ_SDP_OK) {
        g_warning("subscribe offer for %s: %s", sub->part->id, why);
        g_free(offer);
        return;
    }
    g_free(sub->last_offer);
    sub->last_offer = offer;
    sub->renegotiate = false;
    sub->offer_in_flight = true;
    sub->revision++;
    if (sub->local_restart)
        sub->restart_revision = sub->revision; /* this offer carries the new ICE credentials */
    /* media.tracks precedes an offer that carries tracks, or one that
     * takes the last ones away; the placeholder offer has nothing to say. */
    g_autofree char *tracks = tracks_json(sub);
    bool has_tracks = strcmp(tracks, "[]") != 0;
    if (!has_tracks && !sub->told_tracks)
        g_clear_pointer(&tracks, g_free);
    sub->told_tracks = sub->told_tracks || has_tracks;
    if (relay->cb.offer)
        relay->cb.offer(relay->cb.user, sub->part->h->id, sub->part->id, sdp, sub->revision,
                        tracks);
    g_free(sdp);
}

void
vej__router_detach(struct vej_peer *p)
{
    if (p->tracks) {
        while (p->tracks->len) {
            struct vej_track *t = p->tracks->pdata[p->tracks->len - 1];
            g_ptr_array_remove_index(p->tracks, p->tracks->len - 1);
            track_free(t);
        }
    }
    if (p->outs) {
        /* Tell the subscriber its streams end (RTCP BYE) while the
         * transport is still up. */
        uint32_t ssrcs[31];
        size_t n = 0;
        for (guint i = 0; i < p->outs->len && n < G_N_ELEMENTS(ssrcs); i++) {
            struct vej_out *o = p->outs->pdata[i];
            if (o->started)
                ssrcs[n++] = o->ssrc;
            if (o->rtx_packets && n < G_N_ELEMENTS(ssrcs))
                ssrcs[n++] = o->rtx_ssrc;
        }
        uint8_t buf[256 + VEJ_SRTP_MAX_OVERHEAD];
        struct vej_rtcp_rr rr = {.ssrc = p->rtcp_ssrc};
        long len = n ? vej_rtcp_write_rr(buf, 256, &rr) : 0; /* a compound starts with RR */
        long bye =
            len > 0 ? vej_rtcp_write_bye(buf + len, 256 - (size_t)len, ssrcs, n, NULL, 0) : 0;
        if (len > 0 && bye > 0)
            vej__peer_send_rtcp(p, buf, (size_t)(len + bye), sizeof buf);
        for (guint i = 0; i < p->outs->len; i++) {
            struct vej_out *o = p->outs->pdata[i];
            out_unlink(o);
            g_free(o);
        }
        g_ptr_array_set_size(p->outs, 0);
    }
}
