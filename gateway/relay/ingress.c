/* ingress.c - what one publish PeerConnection may send, by kind.
 *
 * A publisher's RTP is forwarded to every subscriber of the hearing, so
 * whatever one participant sends is multiplied by the hearing's size.
 * Each publish PC is therefore bounded per kind ([media]
 * max_publish_{audio,video}_{tracks,kbps,pps}, docs/operations.md):
 *
 *  - tracks: sending m-lines of a kind beyond the cap are rejected in the
 *    answer (port 0) in the order of the offer, so a renegotiation keeps
 *    the tracks it had (new m-lines come last);
 *  - bitrate and packet rate: two token buckets per kind, each holding one
 *    second's worth, refilled by the time since the last packet.
 *
 * Invariants: audio and video never share a budget (a video flood never
 * costs the publisher its voice); RTX counts against video; the check runs
 * after SRTP authentication (a forged packet cannot drain a budget) and
 * before any copy is made. Plain arithmetic on the peer's state: no
 * allocation, no lock, on the peer's worker.
 */
#include "gateway/relay/relay-priv.h"

static unsigned
cap_tracks(const struct vej_relay_config *c, enum vej_sdp_kind kind)
{
    return kind == VEJ_SDP_KIND_AUDIO ? c->max_publish_audio_tracks : c->max_publish_video_tracks;
}

void
vej__ingress_cap_tracks(struct vej_relay *r, struct vej_rworker *rw, struct vej_sdp_description *d)
{
    unsigned n[2] = {0, 0};
    for (size_t i = 0; i < d->n_media; i++) {
        struct vej_sdp_media *m = &d->media[i];
        if (!m->accepted || m->direction == VEJ_SDP_DIR_RECVONLY ||
            m->direction == VEJ_SDP_DIR_INACTIVE ||
            (m->kind != VEJ_SDP_KIND_AUDIO && m->kind != VEJ_SDP_KIND_VIDEO))
            continue;
        unsigned k = m->kind == VEJ_SDP_KIND_VIDEO, cap = cap_tracks(&r->config, m->kind);
        if (cap && n[k] >= cap) {
            m->accepted = false;
            m->reject_reason = k ? "over [media] max_publish_video_tracks"
                                 : "over [media] max_publish_audio_tracks";
            VEJ_STAT_ADD(&rw->stats, limit_publish_tracks, 1);
            continue;
        }
        n[k]++;
    }
}

/* The kind's buckets, set up on first use from the configuration
 * (rate 0: that limit is off). */
static struct vej_ingress *
buckets(struct vej_peer *p, bool video)
{
    struct vej_ingress *in = &p->ingress[video];
    if (!in->ready) {
        const struct vej_relay_config *c = &p->part->h->relay->config;
        unsigned kbps = video ? c->max_publish_video_kbps : c->max_publish_audio_kbps;
        unsigned pps = video ? c->max_publish_video_pps : c->max_publish_audio_pps;
        /* one second's worth of each; kbps <= 1,000,000 fits in bytes/s */
        vej_rtx_budget_init(&in->bytes, kbps * 125u, kbps * 125u);
        vej_rtx_budget_init(&in->packets, pps, pps);
        in->ready = true;
    }
    return in;
}

bool
vej__ingress_allowed(struct vej_peer *p, enum vej_sdp_kind kind, size_t len, int64_t now)
{
    bool video = kind == VEJ_SDP_KIND_VIDEO;
    struct vej_ingress *in = buckets(p, video);
    struct vej_relay_stats *st = &p->part->h->rw->stats;
    if (in->packets.rate && !vej_rtx_budget_take(&in->packets, 1, now)) {
        if (video)
            VEJ_STAT_ADD(st, limited_video_packet_rate, 1);
        else
            VEJ_STAT_ADD(st, limited_audio_packet_rate, 1);
        VEJ_STAT_ADD(st, dropped_rate_limit, 1);
        return false;
    }
    if (in->bytes.rate && !vej_rtx_budget_take(&in->bytes, len, now)) {
        if (video)
            VEJ_STAT_ADD(st, limited_video_bitrate, 1);
        else
            VEJ_STAT_ADD(st, limited_audio_bitrate, 1);
        VEJ_STAT_ADD(st, dropped_rate_limit, 1);
        return false;
    }
    return true;
}
