/* Unit tests for gateway/wire/demux.c: RFC 7983 classification of every first
 * byte, minimum lengths, and the drop reasons. */
#include "gateway/wire/demux.h"

#include <glib.h>
#include <string.h>

/* A STUN Binding request as libnice sends it (header only here). */
static const uint8_t stun_binding[20] = {
    0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7,
    0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
};

/* A DTLS 1.2 ClientHello record header (content 22, version 254.253). */
static const uint8_t dtls_hello[13] = {
    0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c,
};

static const uint8_t rtp_opus[12] = {
    0x80, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x03, 0xc0, 0x12, 0x34, 0x56, 0x78,
};

static const uint8_t rtcp_rr[8] = {0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01};

static enum vej_demux_class
classify(const uint8_t *buf, size_t len, enum vej_demux_drop_reason *reason)
{
    /* An exact-size copy, so ASan reports any read past len. */
    uint8_t *copy = g_memdup2(buf, len ? len : 1);
    enum vej_demux_class c = vej_demux_classify(len ? copy : NULL, len, reason);

    g_free(copy);
    return c;
}

static void
test_real_packets(void)
{
    enum vej_demux_drop_reason why = VEJ_DEMUX_DROP_N_REASONS;

    g_assert_cmpint(classify(stun_binding, sizeof stun_binding, &why), ==, VEJ_DEMUX_STUN);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_NONE);
    g_assert_cmpint(classify(dtls_hello, sizeof dtls_hello, &why), ==, VEJ_DEMUX_DTLS);
    g_assert_cmpint(classify(rtp_opus, sizeof rtp_opus, &why), ==, VEJ_DEMUX_RTP);
    g_assert_cmpint(classify(rtcp_rr, sizeof rtcp_rr, &why), ==, VEJ_DEMUX_RTCP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_NONE);
    g_assert_cmpint(classify(rtcp_rr, sizeof rtcp_rr, NULL), ==, VEJ_DEMUX_RTCP);
}

/* Every first byte on a buffer that is long enough and well formed for
 * whatever that byte announces. */
static void
test_every_first_byte(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint8_t buf[64];
        enum vej_demux_drop_reason why;
        enum vej_demux_class c, want = VEJ_DEMUX_DROP;
        enum vej_demux_drop_reason want_why = VEJ_DEMUX_DROP_UNKNOWN_FIRST_BYTE;

        memset(buf, 0, sizeof buf);
        memcpy(buf, stun_binding, sizeof stun_binding);
        buf[1] = 0xfe; /* DTLS version for 20-63; a STUN method otherwise */
        buf[0] = (uint8_t)b;
        if (b <= 3)
            want = VEJ_DEMUX_STUN;
        else if (b >= 16 && b <= 19)
            want_why = VEJ_DEMUX_DROP_ZRTP;
        else if (b >= 20 && b <= 63)
            want = VEJ_DEMUX_DTLS;
        else if (b >= 64 && b <= 79)
            want_why = VEJ_DEMUX_DROP_TURN_CHANNEL;
        else if (b >= 128 && b <= 191)
            want = VEJ_DEMUX_RTP; /* second byte 0xfe: PT 126 with marker */
        c = classify(buf, sizeof buf, &why);
        g_assert_cmpint(c, ==, want);
        g_assert_cmpint(why, ==, want == VEJ_DEMUX_DROP ? want_why : VEJ_DEMUX_DROP_NONE);
    }
}

static void
test_rtp_rtcp_split(void)
{
    uint8_t buf[12];

    memcpy(buf, rtp_opus, sizeof buf);
    for (unsigned pt = 0; pt < 256; pt++) {
        unsigned masked = pt & 0x7f;
        buf[1] = (uint8_t)pt;
        g_assert_cmpint(classify(buf, sizeof buf, NULL), ==,
                        masked >= 64 && masked <= 95 ? VEJ_DEMUX_RTCP : VEJ_DEMUX_RTP);
    }
}

static void
test_too_short(void)
{
    enum vej_demux_drop_reason why;

    g_assert_cmpint(classify(NULL, 0, &why), ==, VEJ_DEMUX_DROP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
    for (size_t n = 1; n < sizeof stun_binding; n++) {
        g_assert_cmpint(classify(stun_binding, n, &why), ==, VEJ_DEMUX_DROP);
        g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
    }
    for (size_t n = 1; n < sizeof dtls_hello; n++) {
        g_assert_cmpint(classify(dtls_hello, n, &why), ==, VEJ_DEMUX_DROP);
        g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
    }
    for (size_t n = 1; n < sizeof rtp_opus; n++) {
        g_assert_cmpint(classify(rtp_opus, n, &why), ==, VEJ_DEMUX_DROP);
        g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
    }
    for (size_t n = 1; n < sizeof rtcp_rr; n++) {
        g_assert_cmpint(classify(rtcp_rr, n, &why), ==, VEJ_DEMUX_DROP);
        g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
    }
    /* 8..11 bytes: enough for RTCP, not for RTP. */
    g_assert_cmpint(classify(rtcp_rr, 8, NULL), ==, VEJ_DEMUX_RTCP);
    g_assert_cmpint(classify(rtp_opus, 11, &why), ==, VEJ_DEMUX_DROP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_TOO_SHORT);
}

static void
test_bad_headers(void)
{
    uint8_t buf[20];
    enum vej_demux_drop_reason why;

    /* TLS (not DTLS) record version 3.3 on the DTLS range. */
    memcpy(buf, dtls_hello, sizeof dtls_hello);
    buf[1] = 0x03, buf[2] = 0x03;
    g_assert_cmpint(classify(buf, sizeof dtls_hello, &why), ==, VEJ_DEMUX_DROP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_BAD_VERSION);
    /* A DTLS 1.3 unified header (0b001CSLEE) carries no version. */
    buf[0] = 0x2e;
    g_assert_cmpint(classify(buf, sizeof dtls_hello, &why), ==, VEJ_DEMUX_DTLS);
    /* STUN without the magic cookie (RFC 3489), and with an odd length. */
    memcpy(buf, stun_binding, sizeof stun_binding);
    buf[7] = 0x43;
    g_assert_cmpint(classify(buf, sizeof stun_binding, &why), ==, VEJ_DEMUX_DROP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_BAD_STUN);
    memcpy(buf, stun_binding, sizeof stun_binding);
    buf[3] = 0x06;
    g_assert_cmpint(classify(buf, sizeof stun_binding, &why), ==, VEJ_DEMUX_DROP);
    g_assert_cmpint(why, ==, VEJ_DEMUX_DROP_BAD_STUN);
}

static void
test_names(void)
{
    g_assert_cmpstr(vej_demux_class_name(VEJ_DEMUX_RTCP), ==, "rtcp");
    g_assert_cmpstr(vej_demux_class_name(VEJ_DEMUX_DROP), ==, "drop");
    g_assert_cmpstr(vej_demux_class_name(VEJ_DEMUX_N_CLASSES), ==, "unknown");
    g_assert_cmpstr(vej_demux_drop_reason_name(VEJ_DEMUX_DROP_TOO_SHORT), ==, "too_short");
    g_assert_cmpstr(vej_demux_drop_reason_name(VEJ_DEMUX_DROP_UNKNOWN_FIRST_BYTE), ==,
                    "unknown_first_byte");
    g_assert_cmpstr(vej_demux_drop_reason_name(VEJ_DEMUX_DROP_N_REASONS), ==, "unknown");
    /* Every label is set, distinct, and a valid Prometheus label value. */
    for (int i = 0; i < VEJ_DEMUX_DROP_N_REASONS; i++) {
        const char *n = vej_demux_drop_reason_name(i);
        g_assert_nonnull(n);
        g_assert_cmpuint(strspn(n, "abcdefghijklmnopqrstuvwxyz_"), ==, strlen(n));
        for (int j = 0; j < i; j++)
            g_assert_cmpstr(n, !=, vej_demux_drop_reason_name(j));
    }
    for (int i = 0; i < VEJ_DEMUX_N_CLASSES; i++)
        g_assert_nonnull(vej_demux_class_name(i));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/demux/real-packets", test_real_packets);
    g_test_add_func("/gateway/demux/every-first-byte", test_every_first_byte);
    g_test_add_func("/gateway/demux/rtp-rtcp-split", test_rtp_rtcp_split);
    g_test_add_func("/gateway/demux/too-short", test_too_short);
    g_test_add_func("/gateway/demux/bad-headers", test_bad_headers);
    g_test_add_func("/gateway/demux/names", test_names);
    return g_test_run();
}
