/* tap.c - the router's side of the recorder's tap (gateway/tap.h).
 *
 * A track is captured while the policy's cell for VEJ_RELAY_RECORDER
 * says so (the hearing logic: main room, in session, not muted; never a
 * consultation). The tap learns a track once its SSRC is known, under a
 * key that stays while the SSRC does; a new SSRC ends the old key. Video
 * capture starts on a keyframe the relay asks for, like a subscriber's.
 *
 * Everything runs on the hearing's worker, on the forwarding path: one
 * clock read and one call into the tap per captured packet, which copies
 * it into its ring. An RTX-repaired packet is rebuilt as the original
 * (SSRC, payload type, sequence number, no padding) in the worker's out
 * buffer, without header extensions; a packet as received is handed over
 * as its bytes stand.
 */
#include "gateway/relay/relay-priv.h"

#include <string.h>
#include <time.h>

static int64_t
realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *const codec_names[] = {
    [VEJ_SDP_CODEC_OPUS] = "opus",
    [VEJ_SDP_CODEC_VP8] = "VP8",
    [VEJ_SDP_CODEC_H264] = "H264",
};

static const char *
codec_name(enum vej_sdp_codec c)
{
    if ((size_t)c < G_N_ELEMENTS(codec_names) && codec_names[c])
        return codec_names[c];
    return "unknown";
}

static unsigned
worker_of(const struct vej_track *t)
{
    return vej_worker_index(t->pub->part->h->rw->worker);
}

static void
end_key(struct vej_track *t)
{
    struct vej_relay *r = t->pub->part->h->relay;
    if (t->tap_key && r->tap.track_end)
        r->tap.track_end(r->tap.user, worker_of(t), t->tap_key);
    t->tap_key = 0;
}

/* Describes the track to the tap under a (new) key, once its SSRC is
 * known. false while it cannot be described yet. */
static bool
describe(struct vej_track *t)
{
    struct vej_relay *r = t->pub->part->h->relay;
    if (!r->tap.packet || !t->ssrc_known)
        return false;
    if (t->tap_key && t->tap_ssrc == t->ssrc)
        return true;
    end_key(t);
    guint key;
    do
        key = (guint)g_atomic_int_add(&r->next_tap_key, 1) + 1;
    while (key == 0);
    t->tap_key = key;
    t->tap_ssrc = t->ssrc;
    struct vej_tap_track d = {
        .key = key,
        .hearing_id = t->pub->part->h->id,
        .participant_id = t->pub->part->id,
        .kind = t->kind == VEJ_SDP_KIND_VIDEO ? 1 : 0,
        .codec = codec_name(t->codec),
        .payload_type = t->pt,
        .clock_rate = t->clock_rate,
        .channels = t->kind == VEJ_SDP_KIND_AUDIO && t->codec == VEJ_SDP_CODEC_OPUS ? 2 : 0,
        .fmtp = t->fmtp,
        .ssrc = t->ssrc,
        .mid_ext_id = t->mid_ext_id,
        .audio_level_ext_id = t->audio_level_id,
    };
    if (r->tap.track)
        r->tap.track(r->tap.user, worker_of(t), &d);
    return true;
}

void
vej__tap_set_captured(struct vej_track *t, bool captured)
{
    struct vej_relay *r = t->pub->part->h->relay;
    if (!r->tap.packet)
        return;
    if (captured && !t->captured) {
        t->captured = true;
        describe(t);
        vej__router_request_keyframe(t);
        t->tap_need_keyframe = t->kind == VEJ_SDP_KIND_VIDEO;
    } else if (!captured) {
        t->captured = false;
    }
}

static void
hand_over(struct vej_track *t, bool rtcp, const uint8_t *data, size_t len)
{
    struct vej_rworker *rw = t->pub->part->h->rw;
    struct vej_relay *r = t->pub->part->h->relay;
    if (r->tap.packet(r->tap.user, worker_of(t), t->tap_key, rtcp, realtime_ns(), data, len))
        VEJ_STAT_ADD(&rw->stats, tap_packets, 1);
    else
        VEJ_STAT_ADD(&rw->stats, tap_dropped, 1);
}

void
vej__tap_rtp(struct vej_track *t, const uint8_t *pkt, size_t len, const struct vej_rtp_view *v,
             bool rtx, bool keyframe)
{
    if (!t->captured || !describe(t))
        return;
    if (t->tap_need_keyframe) {
        if (!keyframe)
            return;
        t->tap_need_keyframe = false;
    }
    if (!rtx) {
        hand_over(t, false, pkt, len);
        return;
    }
    struct vej_rworker *rw = t->pub->part->h->rw;
    struct vej_rtp_ext_builder none;
    vej_rtp_ext_builder_init(&none);
    long n = vej_rtp_write_packet(v, &none, rw->out, sizeof rw->out);
    if (n < 0)
        return;
    rw->out[0] &= (uint8_t)~0x20u; /* the RTX packet's padding is not the original's */
    vej_rtp_set_ssrc(rw->out, (size_t)n, v->ssrc);
    vej_rtp_set_payload_type(rw->out, (size_t)n, v->payload_type);
    vej_rtp_set_seq(rw->out, (size_t)n, v->seq);
    hand_over(t, false, rw->out, (size_t)n);
}

void
vej__tap_rtcp(struct vej_track *t, const uint8_t *pkt, size_t len)
{
    if (t->captured && describe(t))
        hand_over(t, true, pkt, len);
}

void
vej__tap_track_gone(struct vej_track *t)
{
    end_key(t);
    t->captured = false;
}
