/* Unit tests for gateway/wire/rtx.c: RFC 4588 packets written and unwrapped,
 * and the retransmission byte budget. */
#include "gateway/wire/rtx.h"

#include <glib.h>
#include <string.h>

static void
test_write_and_unwrap(void)
{
    const uint8_t payload[] = {0x90, 0x80, 0x12, 0x34, 0x9d, 0x01, 0x2a};
    struct vej_rtx_header h = {
        .payload_type = 97, .marker = true, .seq = 65535, .timestamp = 0xdeadbeef, .ssrc = 0x1234};
    uint8_t buf[64];
    struct vej_rtp_view v;
    const uint8_t *orig;
    size_t orig_len;
    uint16_t osn;
    long n = vej_rtx_write(buf, sizeof buf, &h, 0xfffe, payload, sizeof payload);

    g_assert_cmpint(n, ==, 12 + 2 + sizeof payload);
    /* clang-format off */
    const uint8_t head[] = {0x80, 0x80 | 97, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef,
                            0x00, 0x00, 0x12, 0x34, 0xff, 0xfe};
    /* clang-format on */
    g_assert_cmpmem(buf, sizeof head, head, sizeof head);
    g_assert_cmpint(vej_rtp_parse(buf, (size_t)n, &v), ==, VEJ_RTP_OK);
    g_assert_true(v.marker);
    g_assert_cmpuint(v.payload_type, ==, 97);
    g_assert_cmpuint(v.seq, ==, 65535);
    g_assert_cmpuint(v.ssrc, ==, 0x1234);
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_OK);
    g_assert_cmpuint(osn, ==, 0xfffe);
    g_assert_cmpmem(orig, orig_len, payload, sizeof payload);

    /* An empty original payload (a padding-only packet retransmitted). */
    n = vej_rtx_write(buf, sizeof buf, &h, 7, NULL, 0);
    g_assert_cmpint(n, ==, 14);
    g_assert_cmpint(vej_rtp_parse(buf, (size_t)n, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_OK);
    g_assert_cmpuint(osn, ==, 7);
    g_assert_cmpuint(orig_len, ==, 0);

    /* Room and arguments. */
    g_assert_cmpint(vej_rtx_write(buf, 13, &h, 1, NULL, 0), ==, VEJ_RTP_ENOSPACE);
    g_assert_cmpint(vej_rtx_write(buf, 14 + sizeof payload - 1, &h, 1, payload, sizeof payload), ==,
                    VEJ_RTP_ENOSPACE);
    g_assert_cmpint(vej_rtx_write(buf, 14 + sizeof payload, &h, 1, payload, sizeof payload), ==,
                    14 + sizeof payload);
    g_assert_cmpint(vej_rtx_write(buf, sizeof buf, &h, 1, NULL, 3), ==, VEJ_RTP_EINVAL);
    h.payload_type = 128;
    g_assert_cmpint(vej_rtx_write(buf, sizeof buf, &h, 1, payload, 1), ==, VEJ_RTP_EINVAL);
}

/* RTX with the hop's extensions: the block between the fixed header and
 * the OSN (RFC 4588 5: the OSN starts the payload), mid of the m-line,
 * our send time; an empty builder writes none. */
static void
test_write_with_extensions(void)
{
    const uint8_t payload[] = {0x90, 0x80, 0x12, 0x34, 0x9d};
    const struct vej_rtp_hop_ext ids = {.mid = 2, .abs_send_time = 3, .audio_level = 1};
    struct vej_rtp_ext_builder b;
    struct vej_rtx_header h = {
        .payload_type = 97, .seq = 9, .timestamp = 3000, .ssrc = 0x1234, .extensions = &b};
    struct vej_rtp_view v;
    struct vej_rtp_ext_element e;
    const uint8_t *orig;
    size_t orig_len;
    uint16_t osn;
    uint8_t buf[64];
    long n;

    g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "1", 1, 0x123456, NULL), ==, VEJ_RTP_OK);
    n = vej_rtx_write(buf, sizeof buf, &h, 0xabcd, payload, sizeof payload);
    g_assert_cmpint(n, ==, 12 + 12 + 2 + sizeof payload);
    /* clang-format off */
    const uint8_t head[] = {0x90, 97, 0x00, 0x09, 0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x12, 0x34,
                            0xbe, 0xde, 0x00, 0x02, 0x20, '1', 0x32, 0x12, 0x34, 0x56, 0x00, 0x00,
                            0xab, 0xcd};
    /* clang-format on */
    g_assert_cmpmem(buf, sizeof head, head, sizeof head);
    g_assert_cmpint(vej_rtp_parse(buf, (size_t)n, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&v, 2, &e), ==, VEJ_RTP_OK);
    g_assert_cmpmem(e.data, e.len, "1", 1);
    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_ENOTFOUND); /* no level: video */
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_OK);
    g_assert_cmpuint(osn, ==, 0xabcd);
    g_assert_cmpmem(orig, orig_len, payload, sizeof payload);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        g_assert_cmpint(vej_rtx_write(buf, cap, &h, 1, payload, sizeof payload), ==,
                        VEJ_RTP_ENOSPACE);

    /* The subscriber's answer kept none: no block, X clear. */
    vej_rtp_ext_builder_init(&b);
    n = vej_rtx_write(buf, sizeof buf, &h, 0xabcd, payload, sizeof payload);
    g_assert_cmpint(n, ==, 12 + 2 + sizeof payload);
    g_assert_cmpuint(buf[0], ==, 0x80);
}

/* Padding-only probes and a one-byte payload carry no OSN; padding is
 * not part of the original payload. */
static void
test_unwrap_short_and_padded(void)
{
    /* clang-format off */
    const uint8_t padding_only[] = {0xa0, 0x61, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2,
                                    0, 0, 0, 0, 0, 0, 0, 8}; /* 8 bytes of padding */
    const uint8_t one_byte[] = {0x80, 0x61, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x42};
    const uint8_t padded[] = {0xa0, 0x61, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2,
                              0x01, 0x02, 0xaa, 0xbb, 0, 0, 0, 4};
    /* clang-format on */
    struct vej_rtp_view v;
    const uint8_t *orig;
    size_t orig_len;
    uint16_t osn = 0;

    g_assert_cmpint(vej_rtp_parse(padding_only, sizeof padding_only, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_parse(one_byte, sizeof one_byte, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_parse(padded, sizeof padded, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtx_unwrap(&v, &osn, &orig, &orig_len), ==, VEJ_RTP_OK);
    g_assert_cmpuint(osn, ==, 0x0102);
    g_assert_cmpuint(orig_len, ==, 2);
    g_assert_cmpuint(orig[0], ==, 0xaa);
}

static void
test_budget(void)
{
    struct vej_rtx_budget b;
    int64_t t = 5000000;

    vej_rtx_budget_init(&b, 100000, 3000); /* 100 kB/s, 3 kB at once */
    /* Starts full: 3000 bytes, not one more. */
    g_assert_true(vej_rtx_budget_take(&b, 1200, t));
    g_assert_true(vej_rtx_budget_take(&b, 1200, t));
    g_assert_false(vej_rtx_budget_take(&b, 1200, t));
    g_assert_true(vej_rtx_budget_take(&b, 600, t));
    g_assert_false(vej_rtx_budget_take(&b, 1, t));
    /* 10 ms refill 1000 bytes. */
    t += 10000;
    g_assert_false(vej_rtx_budget_take(&b, 1001, t));
    g_assert_true(vej_rtx_budget_take(&b, 1000, t));
    g_assert_false(vej_rtx_budget_take(&b, 1, t));
    /* Never above the burst, however long the pause. */
    t += 3600 * (int64_t)1000000;
    g_assert_false(vej_rtx_budget_take(&b, 3001, t));
    g_assert_true(vej_rtx_budget_take(&b, 3000, t));
    g_assert_false(vej_rtx_budget_take(&b, 1, t));
    /* A clock going back adds nothing. */
    g_assert_false(vej_rtx_budget_take(&b, 1, t - 1000000));
    /* Over one second the budget holds to the rate (+ the burst). */
    size_t sent = 0;
    for (int ms = 1; ms <= 1000; ms++) {
        while (vej_rtx_budget_take(&b, 1200, t + ms * 1000))
            sent += 1200;
    }
    g_assert_cmpuint(sent, <=, 100000 + 3000);
    g_assert_cmpuint(sent, >=, 100000 - 1200);
    /* Rate 0: only the burst, once. */
    vej_rtx_budget_init(&b, 0, 1200);
    g_assert_true(vej_rtx_budget_take(&b, 1200, 1));
    g_assert_false(vej_rtx_budget_take(&b, 1, 10000000));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/rtx/write-unwrap", test_write_and_unwrap);
    g_test_add_func("/gateway/rtx/write-with-extensions", test_write_with_extensions);
    g_test_add_func("/gateway/rtx/unwrap-short-padded", test_unwrap_short_and_padded);
    g_test_add_func("/gateway/rtx/budget", test_budget);
    return g_test_run();
}
