/* Unit tests for gateway/relay/ptmap.c: a subscribe PC's payload types.
 * Publishers' numbers play no part: one PT per codec and fmtp, stable;
 * VP8 96/97 and Opus 111 kept for them; no PT (media or RTX) given twice,
 * all dynamic (96-127); a full map refuses instead of reusing a number. */
#include "gateway/relay/relay-priv.h"

#include <glib.h>
#include <string.h>

static void
test_reserved_and_stable(void)
{
    struct vej_pt_map m = {0};
    const struct vej_pt_entry *h =
        vej__ptmap_get(&m, VEJ_SDP_CODEC_H264, "packetization-mode=1;profile-level-id=42e01f");
    g_assert_nonnull(h);
    g_assert_cmpuint(h->pt, ==, 102);
    g_assert_cmpuint(h->rtx_pt, ==, 103);
    const struct vej_pt_entry *o = vej__ptmap_get(&m, VEJ_SDP_CODEC_OPUS, "minptime=10");
    g_assert_cmpuint(o->pt, ==, 111);
    g_assert_cmpuint(o->rtx_pt, ==, 0);
    const struct vej_pt_entry *v = vej__ptmap_get(&m, VEJ_SDP_CODEC_VP8, "");
    g_assert_cmpuint(v->pt, ==, 96);
    g_assert_cmpuint(v->rtx_pt, ==, 97);
    /* the same codec and fmtp: the same entry */
    g_assert_true(vej__ptmap_get(&m, VEJ_SDP_CODEC_VP8, "") == v);
    g_assert_cmpuint(m.n, ==, 3);
    /* another H.264 profile: other numbers, never a reserved one */
    const struct vej_pt_entry *h2 =
        vej__ptmap_get(&m, VEJ_SDP_CODEC_H264, "packetization-mode=1;profile-level-id=42001f");
    g_assert_nonnull(h2);
    g_assert_cmpuint(h2->pt, !=, 102);
    g_assert_cmpuint(h2->pt, !=, 96);
    g_assert_cmpuint(h2->pt, !=, 97);
    g_assert_cmpuint(h2->pt, !=, 111);
    g_assert_cmpuint(h2->rtx_pt, !=, 0);
    g_assert_cmpuint(h2->rtx_pt, !=, h2->pt);
}

static void
test_distinct_until_full(void)
{
    static const enum vej_sdp_codec codecs[] = {VEJ_SDP_CODEC_H264, VEJ_SDP_CODEC_VP8,
                                                VEJ_SDP_CODEC_OPUS};
    struct vej_pt_map m = {0};
    bool used[128] = {0};
    char fmtp[32];
    unsigned n = 0;
    for (unsigned i = 0; i < 4 * VEJ_PT_MAP_MAX; i++) {
        g_snprintf(fmtp, sizeof fmtp, "x=%u", i);
        const struct vej_pt_entry *e = vej__ptmap_get(&m, codecs[i % 3], fmtp);
        if (!e)
            break;
        n++;
        g_assert_cmpuint(e->pt, >=, 96);
        g_assert_cmpuint(e->pt, <=, 127);
        g_assert_false(used[e->pt]);
        used[e->pt] = true;
        if (e->rtx_pt) {
            g_assert_cmpuint(e->codec, !=, VEJ_SDP_CODEC_OPUS);
            g_assert_cmpuint(e->rtx_pt, >=, 96);
            g_assert_false(used[e->rtx_pt]);
            used[e->rtx_pt] = true;
        }
    }
    g_assert_cmpuint(n, >=, 10);
    g_assert_cmpuint(n, <=, VEJ_PT_MAP_MAX);
    /* full (or out of numbers): refused, the map unchanged */
    unsigned before = m.n;
    g_assert_null(vej__ptmap_get(&m, VEJ_SDP_CODEC_VP8, "y=1"));
    g_assert_cmpuint(m.n, ==, before);
}

static void
test_long_fmtp_refused(void)
{
    struct vej_pt_map m = {0};
    char big[VEJ_SDP_FMTP_LEN + 8];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    g_assert_null(vej__ptmap_get(&m, VEJ_SDP_CODEC_VP8, big));
    g_assert_cmpuint(m.n, ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/relay/ptmap/reserved-and-stable", test_reserved_and_stable);
    g_test_add_func("/relay/ptmap/distinct-until-full", test_distinct_until_full);
    g_test_add_func("/relay/ptmap/long-fmtp-refused", test_long_fmtp_refused);
    return g_test_run();
}
