/* Unit tests for gateway/relay/ingress.c: a publish PC's per-kind caps.
 * Sending m-lines over the track cap are rejected in offer order (recvonly
 * and inactive ones do not count); bitrate and packet-rate buckets hold
 * one second's worth, refill with time, and audio's never pay for video's
 * packets (or the other way round); each drop is counted under its kind
 * and budget and in dropped_rate_limit; 0 turns a limit off. */
#include "gateway/relay/relay-priv.h"

#include <glib.h>
#include <string.h>

#define S 1000000 /* microseconds */

/* A publish PC of a hearing of a relay with `config`, on one worker. */
struct world {
    struct vej_relay relay;
    struct vej_rworker rw;
    struct vej_rhearing h;
    struct vej_rpart part;
    struct vej_peer pub;
};

static struct world *
world_new(const struct vej_relay_config *config)
{
    struct world *w = g_new0(struct world, 1);
    w->relay.config = *config;
    w->h.relay = &w->relay;
    w->h.rw = &w->rw;
    w->part.h = &w->h;
    w->pub.part = &w->part;
    w->pub.pc = VEJ_RELAY_PUBLISH;
    return w;
}

static void
test_track_caps(void)
{
    const struct vej_relay_config c = {.max_publish_audio_tracks = 1,
                                       .max_publish_video_tracks = 2};
    g_autofree struct world *w = world_new(&c);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    static const struct {
        enum vej_sdp_kind kind;
        enum vej_sdp_direction dir;
        bool accepted;
    } in[] = {
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_RECVONLY, true}, /* receives nothing: not counted */
        {VEJ_SDP_KIND_AUDIO, VEJ_SDP_DIR_SENDONLY, true},
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_SENDONLY, true},
        {VEJ_SDP_KIND_AUDIO, VEJ_SDP_DIR_SENDRECV, true},  /* over 1 audio */
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_INACTIVE, true},  /* not counted */
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_SENDONLY, false}, /* rejected already */
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_SENDONLY, true},
        {VEJ_SDP_KIND_VIDEO, VEJ_SDP_DIR_SENDONLY, true}, /* over 2 video */
    };
    static const bool want[] = {true, true, true, false, true, false, true, false};
    d->n_media = G_N_ELEMENTS(in);
    for (size_t i = 0; i < d->n_media; i++) {
        d->media[i].kind = in[i].kind;
        d->media[i].direction = in[i].dir;
        d->media[i].accepted = in[i].accepted;
    }
    vej__ingress_cap_tracks(&w->relay, &w->rw, d);
    for (size_t i = 0; i < d->n_media; i++)
        g_assert_cmpint(d->media[i].accepted, ==, want[i]);
    g_assert_cmpstr(d->media[3].reject_reason, ==, "over [media] max_publish_audio_tracks");
    g_assert_cmpstr(d->media[7].reject_reason, ==, "over [media] max_publish_video_tracks");
    g_assert_cmpuint(w->rw.stats.limit_publish_tracks, ==, 2);
}

static void
test_budgets_by_kind(void)
{
    /* audio: 10 packets/s, no bitrate limit; video: 8 kbit/s = 1,000 bytes/s */
    const struct vej_relay_config c = {.max_publish_audio_pps = 10, .max_publish_video_kbps = 8};
    g_autofree struct world *w = world_new(&c);
    struct vej_peer *p = &w->pub;
    int64_t t = 5 * S;
    /* Full buckets: one second's worth. */
    for (int i = 0; i < 10; i++)
        g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_AUDIO, 1200, t));
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_AUDIO, 100, t));
    /* Video has a budget of its own, by bytes (and no packet limit). */
    g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 600, t));
    g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 400, t));
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 1, t));
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_AUDIO, 100, t));
    g_assert_cmpuint(w->rw.stats.limited_audio_packet_rate, ==, 2);
    g_assert_cmpuint(w->rw.stats.limited_video_bitrate, ==, 1);
    g_assert_cmpuint(w->rw.stats.limited_audio_bitrate, ==, 0);
    g_assert_cmpuint(w->rw.stats.limited_video_packet_rate, ==, 0);
    g_assert_cmpuint(w->rw.stats.dropped_rate_limit, ==, 3);
    /* 0.3 s later: 3 audio packets and 300 video bytes more. */
    t += 3 * S / 10;
    for (int i = 0; i < 3; i++)
        g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_AUDIO, 1200, t));
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_AUDIO, 1200, t));
    g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 300, t));
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 1, t));
    /* A long pause fills each bucket to one second's worth, no more. */
    t += 60 * S;
    g_assert_false(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 1001, t));
    g_assert_true(vej__ingress_allowed(p, VEJ_SDP_KIND_VIDEO, 1000, t));
    g_assert_cmpuint(w->rw.stats.dropped_rate_limit, ==, 6);
}

static void
test_no_limits(void)
{
    const struct vej_relay_config c = {0};
    g_autofree struct world *w = world_new(&c);
    for (int i = 0; i < 100000; i++) {
        g_assert_true(vej__ingress_allowed(&w->pub, VEJ_SDP_KIND_VIDEO, 1500, 0));
        g_assert_true(vej__ingress_allowed(&w->pub, VEJ_SDP_KIND_AUDIO, 1500, 0));
    }
    g_assert_cmpuint(w->rw.stats.dropped_rate_limit, ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/relay/ingress/track-caps", test_track_caps);
    g_test_add_func("/relay/ingress/budgets-by-kind", test_budgets_by_kind);
    g_test_add_func("/relay/ingress/no-limits", test_no_limits);
    return g_test_run();
}
