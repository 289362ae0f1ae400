/* Unit tests for tools/vej-loadgen/feedback.c: receiver-report figures
 * (expected, cumulative and interval loss, sequence wrap, late packets,
 * jitter), the RR + REMB and RR + NACK compounds as the gateway's own
 * RTCP parser reads them, the --loss dropper's share and the audio-level
 * header extension as the gateway's RTP parser reads it. */
#include "tools/vej-loadgen/feedback.h"

#include "gateway/wire/rtp.h"

#include <glib.h>
#include <string.h>

#define MS 1000000LL /* ns */

static void
test_report_loss_and_interval(void)
{
    struct lg_fb_stream s;
    lg_fb_stream_init(&s, 0x1234, 90000);
    struct vej_rtcp_report_block b;
    lg_fb_report(&s, &b); /* nothing yet */
    g_assert_cmpuint(b.ssrc, ==, 0x1234);
    g_assert_cmpuint(b.highest_seq, ==, 0);
    for (uint16_t q = 100; q < 200; q++)
        if (q % 10 != 0) /* 10 of 100 lost */
            lg_fb_stream_note(&s, q, q * 3000u, q * 33 * MS, true);
    lg_fb_report(&s, &b);
    /* expected 100..199 less the first (100 is lost too: base is 101) */
    g_assert_cmpuint(b.highest_seq, ==, 199);
    g_assert_cmpint(b.cumulative_lost, ==, 99 - 90);
    g_assert_cmpuint(b.fraction_lost, ==, (9u << 8) / 99u);
    /* A quiet interval without loss: fraction 0, cumulative unchanged. */
    for (uint16_t q = 200; q < 250; q++)
        lg_fb_stream_note(&s, q, q * 3000u, q * 33 * MS, true);
    lg_fb_report(&s, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 0);
    g_assert_cmpint(b.cumulative_lost, ==, 9);
    /* A late repair of 110 brings the cumulative figure down. */
    lg_fb_stream_note(&s, 110, 110 * 3000u, 300 * 33 * MS, false);
    lg_fb_report(&s, &b);
    g_assert_cmpint(b.cumulative_lost, ==, 8);
    g_assert_cmpuint(b.highest_seq, ==, 249);
}

static void
test_report_wrap(void)
{
    struct lg_fb_stream s;
    lg_fb_stream_init(&s, 7, 48000);
    for (uint32_t i = 0; i < 20; i++) {
        uint16_t q = (uint16_t)(65530 + i);
        lg_fb_stream_note(&s, q, i * 960u, (int64_t)i * 20 * MS, true);
    }
    struct vej_rtcp_report_block b;
    lg_fb_report(&s, &b);
    g_assert_cmpuint(b.highest_seq, ==, 65536u + 13u);
    g_assert_cmpint(b.cumulative_lost, ==, 0);
    /* Evenly spaced arrivals: no jitter. */
    g_assert_cmpuint(b.jitter, ==, 0);
}

static void
test_jitter_grows_with_uneven_arrival(void)
{
    struct lg_fb_stream s;
    lg_fb_stream_init(&s, 7, 90000);
    for (uint16_t q = 0; q < 200; q++) /* every other frame 10 ms late */
        lg_fb_stream_note(&s, q, q * 3000u, q * 33333333LL + (q % 2 ? 10 * MS : 0), true);
    struct vej_rtcp_report_block b;
    lg_fb_report(&s, &b);
    /* |D| is ~900 clock units each time: J converges towards it. */
    g_assert_cmpuint(b.jitter, >, 700);
    g_assert_cmpuint(b.jitter, <, 1000);
}

static void
test_rr_remb_compound(void)
{
    struct lg_fb_stream s[3];
    lg_fb_stream_init(&s[0], 0xa, 90000);
    lg_fb_stream_init(&s[1], 0xb, 48000); /* never started: no block */
    lg_fb_stream_init(&s[2], 0xc, 48000);
    lg_fb_stream_note(&s[0], 1, 0, 0, true);
    lg_fb_stream_note(&s[0], 3, 6000, 66 * MS, true);
    lg_fb_stream_note(&s[2], 9, 0, 0, true);
    struct lg_fb_stream *all[] = {&s[0], &s[1], &s[2]};
    uint8_t buf[512];
    long n = lg_fb_write_rr_remb(buf, sizeof buf, 0x55, all, 3, 2500000);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(vej_rtcp_validate_compound(buf, (size_t)n, false), ==, VEJ_RTCP_OK);
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    vej_rtcp_iter_init(&it, buf, (size_t)n);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    struct vej_rtcp_rr rr;
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(rr.ssrc, ==, 0x55);
    g_assert_cmpuint(rr.n_reports, ==, 2);
    g_assert_cmpuint(rr.reports[0].ssrc, ==, 0xa);
    g_assert_cmpint(rr.reports[0].cumulative_lost, ==, 1);
    g_assert_cmpuint(rr.reports[1].ssrc, ==, 0xc);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    struct vej_rtcp_remb remb;
    g_assert_cmpint(vej_rtcp_parse_remb(&p, &remb), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(remb.bitrate, <=, 2500000);
    g_assert_cmpuint(remb.bitrate, >, 2490000);
    g_assert_cmpuint(remb.n_ssrcs, ==, 2);
    g_assert_cmpuint(vej_rtcp_remb_ssrc(&remb, 1), ==, 0xc);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 0);
    /* No bitrate: the RR alone; too small a buffer: an error. */
    g_assert_cmpint(lg_fb_write_rr_remb(buf, sizeof buf, 0x55, all, 3, 0), ==, 8 + 2 * 24);
    g_assert_cmpint(lg_fb_write_rr_remb(buf, 20, 0x55, all, 3, 1000), <, 0);
}

static void
test_nack_compound(void)
{
    uint16_t seqs[] = {65535, 0, 5, 40};
    uint8_t buf[256];
    long n = lg_fb_write_nack(buf, sizeof buf, 0x55, 0x77, seqs, G_N_ELEMENTS(seqs));
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(vej_rtcp_validate_compound(buf, (size_t)n, false), ==, VEJ_RTCP_OK);
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    vej_rtcp_iter_init(&it, buf, (size_t)n);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpuint(p.type, ==, 201); /* RR first */
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    struct vej_rtcp_nack nack;
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &nack), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(nack.media_ssrc, ==, 0x77);
    uint16_t back[16];
    size_t k = vej_rtcp_nack_expand(&nack, back, G_N_ELEMENTS(back));
    g_assert_cmpuint(k, ==, 4);
    for (size_t i = 0; i < k; i++)
        g_assert_cmpuint(back[i], ==, seqs[i]);
    g_assert_cmpint(lg_fb_write_nack(buf, sizeof buf, 1, 2, seqs, 0), <, 0);
}

static void
test_dropper(void)
{
    struct lg_fb_dropper d;
    lg_fb_dropper_init(&d, 42, 0);
    for (int i = 0; i < 1000; i++)
        g_assert_false(lg_fb_drop(&d));
    lg_fb_dropper_init(&d, 42, 1);
    for (int i = 0; i < 1000; i++)
        g_assert_true(lg_fb_drop(&d));
    lg_fb_dropper_init(&d, 42, 0.05);
    int dropped = 0;
    for (int i = 0; i < 200000; i++)
        dropped += lg_fb_drop(&d);
    g_assert_cmpint(dropped, >, 9400);
    g_assert_cmpint(dropped, <, 10600);
    /* Same seed, same choices. */
    struct lg_fb_dropper a, b;
    lg_fb_dropper_init(&a, 7, 0.3);
    lg_fb_dropper_init(&b, 7, 0.3);
    for (int i = 0; i < 1000; i++)
        g_assert_cmpint(lg_fb_drop(&a), ==, lg_fb_drop(&b));
}

static void
test_audio_level_block(void)
{
    uint8_t pkt[64] = {0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}; /* V=2, X=1 */
    long n = lg_fb_write_audio_level_block(pkt + 12, sizeof pkt - 12, 1, true, 30);
    g_assert_cmpint(n, ==, 8);
    memset(pkt + 20, 0x78, 10);
    struct vej_rtp_view v;
    g_assert_cmpint(vej_rtp_parse(pkt, 30, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(v.ext_form, ==, VEJ_RTP_EXT_ONE_BYTE);
    g_assert_cmpuint(v.payload_len, ==, 10);
    struct vej_rtp_ext_element e;
    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_OK);
    bool voice = false;
    uint8_t level = 0;
    g_assert_cmpint(vej_rtp_ext_read_audio_level(&e, &voice, &level), ==, VEJ_RTP_OK);
    g_assert_true(voice);
    g_assert_cmpuint(level, ==, 30);
    g_assert_cmpint(lg_fb_write_audio_level_block(pkt, sizeof pkt, 15, true, 1), <, 0);
    g_assert_cmpint(lg_fb_write_audio_level_block(pkt, sizeof pkt, 1, true, 128), <, 0);
    g_assert_cmpint(lg_fb_write_audio_level_block(pkt, 7, 1, true, 1), <, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loadgen/feedback/report-loss", test_report_loss_and_interval);
    g_test_add_func("/loadgen/feedback/report-wrap", test_report_wrap);
    g_test_add_func("/loadgen/feedback/jitter", test_jitter_grows_with_uneven_arrival);
    g_test_add_func("/loadgen/feedback/rr-remb", test_rr_remb_compound);
    g_test_add_func("/loadgen/feedback/nack", test_nack_compound);
    g_test_add_func("/loadgen/feedback/dropper", test_dropper);
    g_test_add_func("/loadgen/feedback/audio-level", test_audio_level_block);
    return g_test_run();
}
