/* Unit tests for gateway/wire/rtp.c: RTP headers, RFC 8285 extensions (both
 * forms), the extension builder and writers, header rewriting. */
#include "gateway/wire/rtp.h"

#include <glib.h>
#include <string.h>

/* Byte tables laid out as on the wire. */
/* clang-format off */
/* An Opus packet as Chrome sends it with the default extmap ids
 * (1 audio-level, 2 abs-send-time, 3 transport-wide-cc, 4 mid), one-byte
 * form: 11 bytes of elements and one byte of padding. */
static const uint8_t chrome_audio[] = {
    0x90, 0x6f, 0x1a, 0x2b,             /* V=2 X=1, PT 111, seq 0x1a2b */
    0x00, 0x00, 0x3c, 0x00,             /* timestamp 15360 */
    0x12, 0x34, 0x56, 0x78,             /* SSRC */
    0xbe, 0xde, 0x00, 0x03,             /* one-byte form, 3 words */
    0x10, 0xaa,                         /* id 1 len 1: voice, level 42 */
    0x22, 0x12, 0x34, 0x56,             /* id 2 len 3: abs-send-time */
    0x31, 0x00, 0x05,                   /* id 3 len 2: transport seq 5 */
    0x40, 0x30,                         /* id 4 len 1: mid "0" */
    0x00,                               /* padding */
    0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xe8, /* Opus TOC and frame bytes */
};

/* VP8 with two CSRCs, a marker and 4 bytes of padding. */
static const uint8_t csrc_padded[] = {
    0xa2, 0xe0, 0xff, 0xff, /* V=2 P=1 CC=2, M=1 PT 96, seq 65535 */
    0xde, 0xad, 0xbe, 0xef, /* timestamp */
    0x01, 0x02, 0x03, 0x04, /* SSRC */
    0x11, 0x11, 0x11, 0x11, /* CSRC 0 */
    0x22, 0x22, 0x22, 0x22, /* CSRC 1 */
    0x90, 0x80, 0x00, 0x01, /* payload */
    0x00, 0x00, 0x00, 0x04, /* padding, count 4 */
};

/* Two-byte form: id 1 with 0 bytes, a padding byte, id 200 with 3 bytes,
 * id 7 with 20 bytes (a long mid), then padding to the word. */
static const uint8_t two_byte[] = {
    0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
    0x10, 0x03, 0x00, 0x08,             /* profile 0x1003 (appbits 3), 8 words */
    0x01, 0x00,                         /* id 1, len 0 */
    0x00,                               /* padding */
    0xc8, 0x03, 0x01, 0x02, 0x03,       /* id 200, len 3 */
    0x07, 0x14,                         /* id 7, len 20 */
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
    'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't',
    0x00, 0x00,                         /* padding to 32 bytes */
    0xfe,                               /* payload */
};
/* clang-format on */

static void
test_parse_chrome_audio(void)
{
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;
    uint8_t ids[8], n = 0, level = 0;
    uint16_t tseq = 0;
    uint32_t ast = 0;
    bool voice = false;

    g_assert_cmpint(vej_rtp_parse(chrome_audio, sizeof chrome_audio, &v), ==, VEJ_RTP_OK);
    g_assert_false(v.marker);
    g_assert_false(v.padding);
    g_assert_cmpuint(v.payload_type, ==, 111);
    g_assert_cmpuint(v.seq, ==, 0x1a2b);
    g_assert_cmpuint(v.timestamp, ==, 15360);
    g_assert_cmpuint(v.ssrc, ==, 0x12345678);
    g_assert_cmpuint(v.header_len, ==, 28);
    g_assert_cmpuint(v.payload_len, ==, 6);
    g_assert_true(v.payload == chrome_audio + 28);
    g_assert_cmpint(v.ext_form, ==, VEJ_RTP_EXT_ONE_BYTE);
    g_assert_cmpuint(v.ext_profile, ==, 0xbede);
    g_assert_cmpuint(v.ext_len, ==, 12);

    vej_rtp_ext_iter_init(&it, &v);
    while (vej_rtp_ext_next(&it, &e) == 1)
        ids[n++] = e.id;
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpuint(ids[0], ==, 1);
    g_assert_cmpuint(ids[3], ==, 4);

    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_audio_level(&e, &voice, &level), ==, VEJ_RTP_OK);
    g_assert_true(voice);
    g_assert_cmpuint(level, ==, 42);
    g_assert_cmpint(vej_rtp_ext_find(&v, 2, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_abs_send_time(&e, &ast), ==, VEJ_RTP_OK);
    g_assert_cmpuint(ast, ==, 0x123456);
    g_assert_cmpint(vej_rtp_ext_read_transport_seq(&e, &tseq), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_find(&v, 3, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_transport_seq(&e, &tseq), ==, VEJ_RTP_OK);
    g_assert_cmpuint(tseq, ==, 5);
    g_assert_cmpint(vej_rtp_ext_find(&v, 4, &e), ==, VEJ_RTP_OK);
    g_assert_cmpmem(e.data, e.len, "0", 1);
    g_assert_cmpint(vej_rtp_ext_find(&v, 5, &e), ==, VEJ_RTP_ENOTFOUND);
    g_assert_false(vej_rtp_mux_is_rtcp(chrome_audio, sizeof chrome_audio));
}

static void
test_parse_csrc_padding(void)
{
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;

    g_assert_cmpint(vej_rtp_parse(csrc_padded, sizeof csrc_padded, &v), ==, VEJ_RTP_OK);
    g_assert_true(v.marker);
    g_assert_true(v.padding);
    g_assert_cmpuint(v.payload_type, ==, 96);
    g_assert_cmpuint(v.seq, ==, 65535);
    g_assert_cmpuint(v.csrc_count, ==, 2);
    g_assert_cmpuint(vej_rtp_view_csrc(&v, 0), ==, 0x11111111);
    g_assert_cmpuint(vej_rtp_view_csrc(&v, 1), ==, 0x22222222);
    g_assert_cmpuint(vej_rtp_view_csrc(&v, 2), ==, 0);
    g_assert_cmpuint(v.header_len, ==, 20);
    g_assert_cmpuint(v.payload_len, ==, 4);
    g_assert_cmpuint(v.padding_len, ==, 4);
    g_assert_cmpint(v.ext_form, ==, VEJ_RTP_EXT_NONE);
    vej_rtp_ext_iter_init(&it, &v);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 0);
}

static void
test_parse_two_byte(void)
{
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;

    g_assert_cmpint(vej_rtp_parse(two_byte, sizeof two_byte, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(v.ext_form, ==, VEJ_RTP_EXT_TWO_BYTE);
    g_assert_cmpuint(v.ext_profile, ==, 0x1003);
    g_assert_cmpuint(v.payload_len, ==, 1);
    vej_rtp_ext_iter_init(&it, &v);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 1);
    g_assert_cmpuint(e.len, ==, 0);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 200);
    g_assert_cmpmem(e.data, e.len, "\x01\x02\x03", 3);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 7);
    g_assert_cmpmem(e.data, e.len, "abcdefghijklmnopqrst", 20);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 0);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 0);
}

static void
test_truncated_every_length(void)
{
    const uint8_t *const pkts[] = {chrome_audio, csrc_padded, two_byte};
    const size_t lens[] = {sizeof chrome_audio, sizeof csrc_padded, sizeof two_byte};

    for (size_t k = 0; k < G_N_ELEMENTS(pkts); k++) {
        struct vej_rtp_view full;
        g_assert_cmpint(vej_rtp_parse(pkts[k], lens[k], &full), ==, VEJ_RTP_OK);
        for (size_t n = 0; n < lens[k]; n++) {
            /* A copy of exactly n bytes, so ASan sees any overread. */
            uint8_t *copy = g_memdup2(pkts[k], n ? n : 1);
            struct vej_rtp_view v;
            enum vej_rtp_status st = vej_rtp_parse(n ? copy : NULL, n, &v);
            if (n < full.header_len) {
                g_assert_cmpint(st, ==, VEJ_RTP_ETRUNCATED);
                g_assert_null(v.packet);
            } else if (st == VEJ_RTP_OK) {
                g_assert_cmpuint(v.header_len + v.payload_len + v.padding_len, ==, n);
            } else {
                /* Cutting a padded packet leaves a bogus pad count. */
                g_assert_true(full.padding);
                g_assert_cmpint(st, ==, VEJ_RTP_EPADDING);
            }
            g_free(copy);
        }
    }
}

static void
test_malformed(void)
{
    uint8_t p[64];
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;

    /* Versions 0, 1 and 3. */
    for (unsigned ver = 0; ver < 4; ver++) {
        memcpy(p, chrome_audio, sizeof chrome_audio);
        p[0] = (uint8_t)((p[0] & 0x3f) | ver << 6);
        g_assert_cmpint(vej_rtp_parse(p, sizeof chrome_audio, &v), ==,
                        ver == 2 ? VEJ_RTP_OK : VEJ_RTP_EVERSION);
    }
    /* Pad count 0; pad count longer than the payload; exactly the payload. */
    memcpy(p, csrc_padded, sizeof csrc_padded);
    p[sizeof csrc_padded - 1] = 0;
    g_assert_cmpint(vej_rtp_parse(p, sizeof csrc_padded, &v), ==, VEJ_RTP_EPADDING);
    p[sizeof csrc_padded - 1] = 9;
    g_assert_cmpint(vej_rtp_parse(p, sizeof csrc_padded, &v), ==, VEJ_RTP_EPADDING);
    p[sizeof csrc_padded - 1] = 8;
    g_assert_cmpint(vej_rtp_parse(p, sizeof csrc_padded, &v), ==, VEJ_RTP_OK);
    g_assert_cmpuint(v.payload_len, ==, 0);
    /* A padded 12-byte header: the pad count would eat the header. */
    memcpy(p, csrc_padded, 12);
    p[0] = 0xa0;
    p[11] = 1;
    g_assert_cmpint(vej_rtp_parse(p, 12, &v), ==, VEJ_RTP_EPADDING);
    /* CSRC count beyond the buffer: 15 CSRCs in 24 bytes. */
    memcpy(p, csrc_padded, sizeof csrc_padded);
    p[0] = 0x8f;
    g_assert_cmpint(vej_rtp_parse(p, sizeof csrc_padded, &v), ==, VEJ_RTP_ETRUNCATED);
    /* Extension length beyond the buffer. */
    memcpy(p, chrome_audio, sizeof chrome_audio);
    p[15] = 9;
    g_assert_cmpint(vej_rtp_parse(p, sizeof chrome_audio, &v), ==, VEJ_RTP_ETRUNCATED);
    p[14] = 0xff;
    p[15] = 0xff;
    g_assert_cmpint(vej_rtp_parse(p, sizeof chrome_audio, &v), ==, VEJ_RTP_ETRUNCATED);
    /* X set but no room for the extension header. */
    memcpy(p, chrome_audio, 14);
    g_assert_cmpint(vej_rtp_parse(p, 14, &v), ==, VEJ_RTP_ETRUNCATED);
    /* An element running past its block: id 4 claims 16 bytes. */
    memcpy(p, chrome_audio, sizeof chrome_audio);
    p[25] = 0x4f;
    g_assert_cmpint(vej_rtp_parse(p, sizeof chrome_audio, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&v, 4, &e), ==, VEJ_RTP_EEXTENSION);
    g_assert_cmpint(vej_rtp_ext_find(&v, 3, &e), ==, VEJ_RTP_OK);
    vej_rtp_ext_iter_init(&it, &v);
    for (int i = 0; i < 3; i++)
        g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, VEJ_RTP_EEXTENSION);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 0);
    /* Two-byte element header cut by the block end, and data past it. */
    memcpy(p, two_byte, sizeof two_byte);
    p[15] = 1;
    p[16] = 0x00, p[17] = 0x00, p[18] = 0x00, p[19] = 0x05;
    g_assert_cmpint(vej_rtp_parse(p, sizeof two_byte, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&v, 5, &e), ==, VEJ_RTP_EEXTENSION);
    p[18] = 0x05, p[19] = 0x03;
    g_assert_cmpint(vej_rtp_ext_find(&v, 5, &e), ==, VEJ_RTP_EEXTENSION);
    p[19] = 0x00;
    g_assert_cmpint(vej_rtp_ext_find(&v, 5, &e), ==, VEJ_RTP_OK);
    g_assert_cmpuint(e.len, ==, 0);
}

static void
test_one_byte_stops(void)
{
    uint8_t p[sizeof chrome_audio];
    struct vej_rtp_view v;
    struct vej_rtp_ext_element e;

    /* Id 15 stops processing: later elements are not seen. */
    memcpy(p, chrome_audio, sizeof p);
    p[18] = 0xf2;
    g_assert_cmpint(vej_rtp_parse(p, sizeof p, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&v, 3, &e), ==, VEJ_RTP_ENOTFOUND);
    /* So does id 0 with a non-zero length. */
    p[18] = 0x02;
    g_assert_cmpint(vej_rtp_ext_find(&v, 3, &e), ==, VEJ_RTP_ENOTFOUND);
    /* Another profile: opaque, no elements. */
    memcpy(p, chrome_audio, sizeof p);
    p[12] = 0x12;
    g_assert_cmpint(vej_rtp_parse(p, sizeof p, &v), ==, VEJ_RTP_OK);
    g_assert_cmpint(v.ext_form, ==, VEJ_RTP_EXT_OTHER);
    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_ENOTFOUND);
}

static void
test_mux_is_rtcp(void)
{
    uint8_t p[2] = {0x80, 0};

    for (unsigned b = 0; b < 256; b++) {
        unsigned pt = b & 0x7f;
        p[1] = (uint8_t)b;
        g_assert_cmpint(vej_rtp_mux_is_rtcp(p, 2), ==, pt >= 64 && pt <= 95);
    }
    p[1] = 200;
    g_assert_false(vej_rtp_mux_is_rtcp(p, 1));
    g_assert_false(vej_rtp_mux_is_rtcp(NULL, 0));
}

static void
test_abs_send_time(void)
{
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(0), ==, 0);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(1), ==, 0);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(2), ==, 1);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(1000000), ==, 1u << 18);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(1500000), ==, 3u << 17);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(63999999), ==, 0); /* rounds up, wraps */
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(63999998), ==, 0xffffff);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(64000000), ==, 0);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(65000000), ==, 1u << 18);
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(UINT64_MAX), <=, 0xffffff);
    /* A real clock: 2026-11-24 in Unix microseconds. */
    g_assert_cmpuint(vej_rtp_abs_send_time_from_us(UINT64_C(1795564800000000)), ==,
                     (1795564800 % 64) << 18);
}

static void
test_builder(void)
{
    struct vej_rtp_ext_builder b;
    uint8_t buf[300];

    vej_rtp_ext_builder_init(&b);
    g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_NONE);
    g_assert_cmpuint(vej_rtp_ext_block_size(&b), ==, 0);
    g_assert_cmpint(vej_rtp_ext_write(&b, buf, 0), ==, 0);
    g_assert_cmpint(vej_rtp_ext_add(&b, 0, "x", 1), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_add(&b, 1, NULL, 1), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_add(&b, 1, buf, 256), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_add_mid(&b, 4, "", 0), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_add_audio_level(&b, 1, true, 128), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_ext_add_mid(&b, 4, "video0", 6), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add_transport_seq(&b, 4, 1), ==, VEJ_RTP_EINVAL); /* repeated */
    g_assert_cmpint(vej_rtp_ext_add_transport_seq(&b, 3, 1), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_ONE_BYTE);
    /* 1+6 + 1+2 = 10 -> 12, plus the header. */
    g_assert_cmpuint(vej_rtp_ext_block_size(&b), ==, 16);
    for (size_t cap = 0; cap < 16; cap++)
        g_assert_cmpint(vej_rtp_ext_write(&b, buf, cap), ==, VEJ_RTP_ENOSPACE);
    g_assert_cmpint(vej_rtp_ext_write(&b, buf, 16), ==, 16);
    g_assert_cmpmem(buf, 16, "\xbe\xde\x00\x03\x45video0\x31\x00\x01\x00\x00", 16);
    /* A zero-length element or an id over 14 forces the two-byte form. */
    g_assert_cmpint(vej_rtp_ext_add(&b, 9, NULL, 0), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_TWO_BYTE);
    g_assert_cmpuint(vej_rtp_ext_block_size(&b), ==, 20); /* 2+6 + 2+2 + 2 = 14 -> 16 */
    g_assert_cmpint(vej_rtp_ext_write(&b, buf, sizeof buf), ==, 20);
    g_assert_cmpmem(buf, 20, "\x10\x00\x00\x04\x04\x06video0\x03\x02\x00\x01\x09\x00\x00\x00", 20);
    /* Full: elements, then bytes. */
    vej_rtp_ext_builder_init(&b);
    for (unsigned id = 1; id <= VEJ_RTP_EXT_BUILDER_MAX_ELEMENTS; id++)
        g_assert_cmpint(vej_rtp_ext_add(&b, (uint8_t)id, "ab", 2), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add(&b, 100, "ab", 2), ==, VEJ_RTP_ENOSPACE);
    g_assert_cmpuint(b.n_elements, ==, VEJ_RTP_EXT_BUILDER_MAX_ELEMENTS);
    vej_rtp_ext_builder_init(&b);
    memset(buf, 'm', sizeof buf);
    g_assert_cmpint(vej_rtp_ext_add(&b, 1, buf, 255), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add(&b, 2, buf, 2), ==, VEJ_RTP_ENOSPACE);
    g_assert_cmpint(vej_rtp_ext_add(&b, 2, buf, 1), ==, VEJ_RTP_OK);
    g_assert_cmpuint(b.n_bytes, ==, VEJ_RTP_EXT_BUILDER_MAX_BYTES);
}

/* Builds the gateway's per-subscriber block, writes it over a parsed
 * packet, parses the result and checks every value. */
static void
check_round_trip(const uint8_t *src, size_t src_len, const char *mid, uint8_t mid_id,
                 enum vej_rtp_ext_form want_form)
{
    struct vej_rtp_view in, out;
    struct vej_rtp_ext_builder b;
    struct vej_rtp_ext_element e;
    uint8_t pkt[512], level = 0;
    uint16_t tseq = 0;
    uint32_t ast = 0;
    bool voice = true;
    long n;

    g_assert_cmpint(vej_rtp_parse(src, src_len, &in), ==, VEJ_RTP_OK);
    vej_rtp_ext_builder_init(&b);
    g_assert_cmpint(vej_rtp_ext_add_mid(&b, mid_id, mid, strlen(mid)), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add_abs_send_time(&b, 2, 1500000), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add_transport_seq(&b, 3, 0xfffe), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_add_audio_level(&b, 11, false, 127), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, want_form);
    n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
    g_assert_cmpint(n, >, 0);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        g_assert_cmpint(vej_rtp_write_packet(&in, &b, pkt, cap), ==, VEJ_RTP_ENOSPACE);
    g_assert_cmpint(vej_rtp_write_packet(&in, &b, pkt, (size_t)n), ==, n);
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
    g_assert_cmpint(out.ext_form, ==, want_form);
    g_assert_cmpuint(out.ext_len + 4, ==, vej_rtp_ext_block_size(&b));
    g_assert_cmpuint(out.ssrc, ==, in.ssrc);
    g_assert_cmpuint(out.seq, ==, in.seq);
    g_assert_cmpuint(out.csrc_count, ==, in.csrc_count);
    g_assert_cmpuint(vej_rtp_view_csrc(&out, 1), ==, vej_rtp_view_csrc(&in, 1));
    g_assert_cmpmem(out.payload, out.payload_len, in.payload, in.payload_len);
    g_assert_cmpuint(out.padding_len, ==, in.padding_len);
    g_assert_cmpint(vej_rtp_ext_find(&out, mid_id, &e), ==, VEJ_RTP_OK);
    g_assert_cmpmem(e.data, e.len, mid, strlen(mid));
    g_assert_cmpint(vej_rtp_ext_find(&out, 2, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_abs_send_time(&e, &ast), ==, VEJ_RTP_OK);
    g_assert_cmpuint(ast, ==, 3u << 17);
    g_assert_cmpint(vej_rtp_ext_find(&out, 3, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_transport_seq(&e, &tseq), ==, VEJ_RTP_OK);
    g_assert_cmpuint(tseq, ==, 0xfffe);
    g_assert_cmpint(vej_rtp_ext_find(&out, 11, &e), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_read_audio_level(&e, &voice, &level), ==, VEJ_RTP_OK);
    g_assert_false(voice);
    g_assert_cmpuint(level, ==, 127);
    g_assert_cmpint(vej_rtp_ext_find(&out, 1, &e), ==, VEJ_RTP_ENOTFOUND);
}

static void
test_write_round_trip(void)
{
    check_round_trip(chrome_audio, sizeof chrome_audio, "1", 4, VEJ_RTP_EXT_ONE_BYTE);
    check_round_trip(csrc_padded, sizeof csrc_padded, "sixteen-chars-ab", 14, VEJ_RTP_EXT_ONE_BYTE);
    check_round_trip(two_byte, sizeof two_byte, "seventeen-chars-a", 4, VEJ_RTP_EXT_TWO_BYTE);
    check_round_trip(chrome_audio, sizeof chrome_audio, "a", 15, VEJ_RTP_EXT_TWO_BYTE);
}

/* The relay's per-hop block (vej_rtp_ext_build_hop): the subscriber's
 * ids, its m-line's mid, our send time, the publisher's audio-level under
 * the subscriber's id; nothing else of the publisher's block. */
static void
test_build_hop(void)
{
    const struct vej_rtp_hop_ext ids = {.mid = 2, .abs_send_time = 3, .audio_level = 1};
    struct vej_rtp_ext_builder b;
    struct vej_rtp_view in, out;
    struct vej_rtp_ext_element level, e;
    struct vej_rtp_ext_iter it;
    uint8_t pkt[512], buf[64];
    uint32_t ast = vej_rtp_abs_send_time_from_us(1500000); /* 0x060000 */
    long n;

    /* Chrome's packet: level id 1 (voice, 42), its own abs-send-time id 2,
     * transport-wide seq id 3, mid id 4. */
    g_assert_cmpint(vej_rtp_parse(chrome_audio, sizeof chrome_audio, &in), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_find(&in, 1, &level), ==, VEJ_RTP_OK);

    /* One-byte form, 8 bytes of elements, no padding needed: the exact
     * block. */
    g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "0", 1, ast, &level), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_ONE_BYTE);
    g_assert_cmpint(vej_rtp_ext_write(&b, buf, sizeof buf), ==, 12);
    g_assert_cmpmem(buf, 12, "\xbe\xde\x00\x02\x20\x30\x32\x06\x00\x00\x10\xaa", 12);

    /* Written over a packet that had a block: only ours is left, the
     * payload is untouched. */
    n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
    g_assert_cmpint(n, ==, (long)sizeof chrome_audio - 4); /* 16 bytes of block -> 12 */
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
    g_assert_cmpmem(out.payload, out.payload_len, in.payload, in.payload_len);
    vej_rtp_ext_iter_init(&it, &out);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 2);
    g_assert_cmpmem(e.data, e.len, "0", 1);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 3);
    g_assert_cmpmem(e.data, e.len, "\x06\x00\x00", 3);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 1);
    g_assert_cmpuint(e.id, ==, 1);
    g_assert_cmpmem(e.data, e.len, "\xaa", 1);
    g_assert_cmpint(vej_rtp_ext_next(&it, &e), ==, 0); /* no transport-wide seq, no 4th */

    /* Over a packet without a block (CSRCs, padding kept); padded to 32
     * bits: mid "10" + abs-send-time = 7 bytes -> 8. */
    g_assert_cmpint(vej_rtp_parse(csrc_padded, sizeof csrc_padded, &in), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "10", 2, 0xabcdef, NULL), ==, VEJ_RTP_OK);
    g_assert_cmpuint(vej_rtp_ext_block_size(&b), ==, 12);
    n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
    g_assert_cmpint(n, ==, (long)sizeof csrc_padded + 12);
    g_assert_cmpmem(pkt + 20, 12, "\xbe\xde\x00\x02\x21\x31\x30\x32\xab\xcd\xef\x00", 12);
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
    g_assert_cmpuint(out.padding_len, ==, 4);
    g_assert_cmpuint(vej_rtp_view_csrc(&out, 1), ==, 0x22222222);
    g_assert_cmpmem(out.payload, out.payload_len, in.payload, in.payload_len);

    /* The id remap: the publisher's level (id 1) under the subscriber's
     * id 9; a subscriber without mid. */
    {
        const struct vej_rtp_hop_ext remap = {.abs_send_time = 14, .audio_level = 9};
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &remap, "0", 1, ast, &level), ==, VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_write(&b, buf, sizeof buf), ==, 12);
        g_assert_cmpmem(buf, 12, "\xbe\xde\x00\x02\xe2\x06\x00\x00\x90\xaa\x00\x00", 12);
    }

    /* Two-byte form only when needed: an id over 14 or a mid over 16
     * bytes. */
    {
        const struct vej_rtp_hop_ext high = {.mid = 20, .abs_send_time = 3};
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &high, "0", 1, ast, NULL), ==, VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_TWO_BYTE);
        g_assert_cmpint(vej_rtp_ext_write(&b, buf, sizeof buf), ==, 12);
        g_assert_cmpmem(buf, 12, "\x10\x00\x00\x02\x14\x01\x30\x03\x03\x06\x00\x00", 12);
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "sixteen-chars-ab", 16, ast, NULL), ==,
                        VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_ONE_BYTE);
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "seventeen-chars-a", 17, ast, NULL), ==,
                        VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_TWO_BYTE);
        n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
        g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
        g_assert_cmpint(out.ext_form, ==, VEJ_RTP_EXT_TWO_BYTE);
        g_assert_cmpint(vej_rtp_ext_find(&out, 2, &e), ==, VEJ_RTP_OK);
        g_assert_cmpmem(e.data, e.len, "seventeen-chars-a", 17);
    }

    /* An answer that kept no extension: nothing written, X cleared. */
    {
        const struct vej_rtp_hop_ext none = {0};
        g_assert_cmpint(vej_rtp_parse(chrome_audio, sizeof chrome_audio, &in), ==, VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &none, "0", 1, ast, &level), ==, VEJ_RTP_OK);
        g_assert_cmpint(vej_rtp_ext_builder_form(&b), ==, VEJ_RTP_EXT_NONE);
        n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
        g_assert_cmpint(n, ==, 12 + 6);
        g_assert_cmpuint(pkt[0] & 0x10, ==, 0);
        g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
        g_assert_cmpint(out.ext_form, ==, VEJ_RTP_EXT_NONE);
    }

    /* A malformed level (2 bytes) is not passed; repeated ids are an
     * error, the first element kept. */
    {
        const uint8_t two[2] = {0x80, 0x01};
        const struct vej_rtp_ext_element bad = {.id = 1, .len = 2, .data = two};
        const struct vej_rtp_hop_ext level_only = {.audio_level = 1};
        const struct vej_rtp_hop_ext same = {.mid = 5, .abs_send_time = 5};
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &level_only, "0", 1, ast, &bad), ==, VEJ_RTP_OK);
        g_assert_cmpuint(b.n_elements, ==, 0);
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &same, "0", 1, ast, NULL), ==, VEJ_RTP_EINVAL);
        g_assert_cmpuint(b.n_elements, ==, 1);
        g_assert_cmpuint(b.elements[0].len, ==, 1); /* the mid */
        g_assert_cmpint(vej_rtp_ext_build_hop(&b, &ids, "", 0, ast, NULL), ==, VEJ_RTP_EINVAL);
        g_assert_cmpuint(b.n_elements, ==, 1); /* abs-send-time still there */
    }
}

static void
test_write_empty_clears_x(void)
{
    struct vej_rtp_view in, out;
    struct vej_rtp_ext_builder b;
    uint8_t pkt[64];
    long n;

    vej_rtp_ext_builder_init(&b);
    g_assert_cmpint(vej_rtp_parse(chrome_audio, sizeof chrome_audio, &in), ==, VEJ_RTP_OK);
    n = vej_rtp_write_packet(&in, &b, pkt, sizeof pkt);
    g_assert_cmpint(n, ==, 12 + 6);
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &out), ==, VEJ_RTP_OK);
    g_assert_cmpint(out.ext_form, ==, VEJ_RTP_EXT_NONE);
    g_assert_cmpmem(out.payload, out.payload_len, in.payload, in.payload_len);
}

static void
test_replace_in_place(void)
{
    struct vej_rtp_ext_builder b;
    struct vej_rtp_view v;
    struct vej_rtp_ext_element e;
    uint8_t pkt[128], before[128];
    long n;

    /* Grow: csrc_padded has no block; add one. */
    memcpy(pkt, csrc_padded, sizeof csrc_padded);
    vej_rtp_ext_builder_init(&b);
    g_assert_cmpint(vej_rtp_ext_add_mid(&b, 1, "audio", 5), ==, VEJ_RTP_OK);
    n = vej_rtp_replace_extensions(pkt, sizeof csrc_padded, sizeof pkt, &b);
    g_assert_cmpint(n, ==, (long)sizeof csrc_padded + 12);
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &v), ==, VEJ_RTP_OK);
    g_assert_cmpmem(v.payload, v.payload_len, "\x90\x80\x00\x01", 4);
    g_assert_cmpuint(v.padding_len, ==, 4);
    g_assert_cmpint(vej_rtp_ext_find(&v, 1, &e), ==, VEJ_RTP_OK);
    g_assert_cmpmem(e.data, e.len, "audio", 5);
    /* Not enough room: unchanged. */
    memcpy(before, pkt, (size_t)n);
    g_assert_cmpint(vej_rtp_ext_add_mid(&b, 2, "a-much-longer-value", 19), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_replace_extensions(pkt, (size_t)n, (size_t)n, &b), ==,
                    VEJ_RTP_ENOSPACE);
    g_assert_cmpmem(pkt, (size_t)n, before, (size_t)n);
    g_assert_cmpint(vej_rtp_replace_extensions(pkt, (size_t)n, (size_t)n - 1, &b), ==,
                    VEJ_RTP_EINVAL);
    /* Shrink: Chrome's 4 elements down to one. */
    memcpy(pkt, chrome_audio, sizeof chrome_audio);
    vej_rtp_ext_builder_init(&b);
    g_assert_cmpint(vej_rtp_ext_add_transport_seq(&b, 5, 7), ==, VEJ_RTP_OK);
    n = vej_rtp_replace_extensions(pkt, sizeof chrome_audio, sizeof chrome_audio, &b);
    g_assert_cmpint(n, ==, (long)sizeof chrome_audio - 8);
    g_assert_cmpint(vej_rtp_parse(pkt, (size_t)n, &v), ==, VEJ_RTP_OK);
    g_assert_cmpmem(v.payload, v.payload_len, chrome_audio + 28, 6);
    g_assert_cmpint(vej_rtp_ext_find(&v, 5, &e), ==, VEJ_RTP_OK);
    /* A malformed packet is refused. */
    g_assert_cmpint(vej_rtp_replace_extensions(pkt, 11, sizeof pkt, &b), ==, VEJ_RTP_ETRUNCATED);
}

static void
test_rewrite(void)
{
    uint8_t p[sizeof csrc_padded];
    struct vej_rtp_view v;

    memcpy(p, csrc_padded, sizeof p);
    g_assert_cmpint(vej_rtp_set_ssrc(p, sizeof p, 0xcafebabe), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_set_payload_type(p, sizeof p, 100), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_set_payload_type(p, sizeof p, 128), ==, VEJ_RTP_EINVAL);
    g_assert_cmpint(vej_rtp_set_seq(p, sizeof p, 7), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_set_timestamp(p, sizeof p, 0x01020304), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_parse(p, sizeof p, &v), ==, VEJ_RTP_OK);
    g_assert_cmpuint(v.ssrc, ==, 0xcafebabe);
    g_assert_cmpuint(v.payload_type, ==, 100);
    g_assert_true(v.marker);
    g_assert_cmpuint(v.seq, ==, 7);
    g_assert_cmpuint(v.timestamp, ==, 0x01020304);
    g_assert_cmpuint(vej_rtp_view_csrc(&v, 0), ==, 0x11111111);
    g_assert_cmpint(vej_rtp_set_marker(p, sizeof p, false), ==, VEJ_RTP_OK);
    g_assert_cmpint(vej_rtp_parse(p, sizeof p, &v), ==, VEJ_RTP_OK);
    g_assert_false(v.marker);
    g_assert_cmpuint(v.payload_type, ==, 100);
    g_assert_cmpint(vej_rtp_set_ssrc(p, 11, 1), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_set_payload_type(p, 11, 1), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_set_seq(p, 11, 1), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_set_timestamp(p, 11, 1), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpint(vej_rtp_set_marker(NULL, 12, true), ==, VEJ_RTP_ETRUNCATED);
    g_assert_cmpuint(v.seq, ==, 7);
}

static void
test_status_names(void)
{
    g_assert_cmpstr(vej_rtp_status_name(VEJ_RTP_OK), ==, "ok");
    g_assert_cmpstr(vej_rtp_status_name(VEJ_RTP_ETRUNCATED), ==, "truncated");
    g_assert_cmpstr(vej_rtp_status_name(VEJ_RTP_ENOTFOUND), ==, "not_found");
    g_assert_cmpstr(vej_rtp_status_name(-100), ==, "unknown");
    for (int s = VEJ_RTP_ENOTFOUND; s <= 0; s++)
        g_assert_cmpstr(vej_rtp_status_name(s), !=, "unknown");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/rtp/parse-chrome-audio", test_parse_chrome_audio);
    g_test_add_func("/gateway/rtp/parse-csrc-padding", test_parse_csrc_padding);
    g_test_add_func("/gateway/rtp/parse-two-byte", test_parse_two_byte);
    g_test_add_func("/gateway/rtp/truncated-every-length", test_truncated_every_length);
    g_test_add_func("/gateway/rtp/malformed", test_malformed);
    g_test_add_func("/gateway/rtp/one-byte-stops", test_one_byte_stops);
    g_test_add_func("/gateway/rtp/mux-is-rtcp", test_mux_is_rtcp);
    g_test_add_func("/gateway/rtp/abs-send-time", test_abs_send_time);
    g_test_add_func("/gateway/rtp/builder", test_builder);
    g_test_add_func("/gateway/rtp/write-round-trip", test_write_round_trip);
    g_test_add_func("/gateway/rtp/build-hop", test_build_hop);
    g_test_add_func("/gateway/rtp/write-empty-clears-x", test_write_empty_clears_x);
    g_test_add_func("/gateway/rtp/replace-in-place", test_replace_in_place);
    g_test_add_func("/gateway/rtp/rewrite", test_rewrite);
    g_test_add_func("/gateway/rtp/status-names", test_status_names);
    return g_test_run();
}
