/* Unit tests for gateway/wire/rtcp.c: compound iteration, every parser, every
 * writer (round trip through the parser), and the malformed cases. */
#include "gateway/wire/rtcp.h"

#include <glib.h>
#include <string.h>

/* Byte tables laid out as on the wire. */
/* clang-format off */
/* A receiver's compound as Chrome sends it: RR with one block, SDES with
 * a 16-character CNAME. */
static const uint8_t rr_sdes[] = {
    0x81, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01,             /* RR, RC 1, sender 1 */
    0x12, 0x34, 0x56, 0x78, 0x10, 0x00, 0x00, 0x03,             /* SSRC, 1/16 lost, 3 */
    0x00, 0x01, 0x1a, 0x2b, 0x00, 0x00, 0x00, 0x20,             /* highest seq, jitter */
    0x3c, 0x3d, 0x3e, 0x3f, 0x00, 0x01, 0x00, 0x00,             /* LSR, DLSR */
    0x81, 0xca, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01,             /* SDES, SC 1, SSRC 1 */
    0x01, 0x10, '4',  'T',  'O',  'k',  '4',  '2',  'm',  'S',  /* CNAME, 16 bytes */
    'j',  'X',  'C',  'k',  'V',  'I',  'a',  '6',  0x00, 0x00, /* end, pad */
};

/* A sender's SR with one block whose cumulative loss is -1 (duplicates). */
static const uint8_t sr_one[] = {
    0x81, 0xc8, 0x00, 0x0c, 0x12, 0x34, 0x56, 0x78, /* SR, RC 1, SSRC */
    0xe9, 0xa1, 0xb2, 0xc3, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x64, /* RTP time, 100 packets */
    0x00, 0x00, 0x3e, 0x80, 0x00, 0x00, 0x00, 0x01, /* 16000 octets; block SSRC 1 */
    0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x10, /* lost -1, highest 16 */
    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, /* jitter 5, LSR */
    0x00, 0x00, 0x00, 0x00,                         /* DLSR */
};

/* Feedback as a reduced-size packet stream (one datagram here). */
static const uint8_t nack[] = {
    0x81, 0xcd, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
    0x00, 0x64, 0x00, 0x05,                         /* PID 100, BLP 0b101: 100, 101, 103 */
};
static const uint8_t tcc[] = {
    0x8f, 0xcd, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
    0x00, 0x01, 0x00, 0x02, 0xff, 0xff, 0xfe, 0x07, /* base 1, 2 packets, ref -2, count 7 */
    0x20, 0x02, 0x04, 0x04,                         /* run of 2 small deltas */
};
static const uint8_t pli[] = {
    0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
};
static const uint8_t fir[] = {
    0x84, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x12, 0x34, 0x56, 0x78, 0x05, 0x00, 0x00, 0x00, /* SSRC, seq 5 */
    0x9a, 0xbc, 0xde, 0xf0, 0x06, 0x00, 0x00, 0x00, /* SSRC, seq 6 */
};
static const uint8_t remb[] = {
    0x8f, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    'R',  'E',  'M',  'B',  0x02, 0x0b, 0xd0, 0x90, /* 2 SSRCs, 250000 << 2 */
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
};
static const uint8_t bye[] = {
    0x81, 0xcb, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 0x06, 'b', 'y', 'e', 'b', 'y', 'e', 0x00,
};
/* clang-format on */

/* The single sub-packet of a one-packet buffer. */
static struct vej_rtcp_packet
only_packet(const uint8_t *buf, size_t len)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;

    vej_rtcp_iter_init(&it, buf, len);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 0);
    vej_rtcp_iter_init(&it, buf, len);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    return p;
}

static void
test_rr_sdes(void)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    struct vej_rtcp_rr rr;
    struct vej_rtcp_sdes sdes;
    struct vej_rtcp_sr sr;

    g_assert_cmpint(vej_rtcp_validate_compound(rr_sdes, sizeof rr_sdes, false), ==, VEJ_RTCP_OK);
    vej_rtcp_iter_init(&it, rr_sdes, sizeof rr_sdes);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpuint(p.type, ==, VEJ_RTCP_RR);
    g_assert_cmpuint(p.raw_len, ==, 32);
    g_assert_cmpint(vej_rtcp_parse_sr(&p, &sr), ==, VEJ_RTCP_ETYPE);
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(rr.ssrc, ==, 1);
    g_assert_cmpuint(rr.n_reports, ==, 1);
    g_assert_cmpuint(rr.reports[0].ssrc, ==, 0x12345678);
    g_assert_cmpuint(rr.reports[0].fraction_lost, ==, 0x10);
    g_assert_cmpint(rr.reports[0].cumulative_lost, ==, 3);
    g_assert_cmpuint(rr.reports[0].highest_seq, ==, 0x11a2b);
    g_assert_cmpuint(rr.reports[0].jitter, ==, 0x20);
    g_assert_cmpuint(rr.reports[0].lsr, ==, 0x3c3d3e3f);
    g_assert_cmpuint(rr.reports[0].dlsr, ==, 0x10000);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpint(vej_rtcp_parse_sdes(&p, &sdes), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(sdes.n_chunks, ==, 1);
    g_assert_cmpuint(sdes.chunks[0].ssrc, ==, 1);
    g_assert_cmpmem(sdes.chunks[0].cname, sdes.chunks[0].cname_len, "4TOk42mSjXCkVIa6", 16);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 0);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 0);
}

static void
test_sr(void)
{
    struct vej_rtcp_packet p = only_packet(sr_one, sizeof sr_one);
    struct vej_rtcp_sr sr;

    g_assert_cmpint(vej_rtcp_parse_sr(&p, &sr), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(sr.ssrc, ==, 0x12345678);
    g_assert_cmpuint(sr.ntp_time, ==, UINT64_C(0xe9a1b2c380000000));
    g_assert_cmpuint(sr.rtp_time, ==, 0x3c00);
    g_assert_cmpuint(sr.packet_count, ==, 100);
    g_assert_cmpuint(sr.octet_count, ==, 16000);
    g_assert_cmpuint(sr.n_reports, ==, 1);
    g_assert_cmpint(sr.reports[0].cumulative_lost, ==, -1);
    g_assert_cmpuint(sr.reports[0].highest_seq, ==, 16);
    g_assert_cmpuint(sr.reports[0].jitter, ==, 5);
}

static void
test_feedback(void)
{
    struct vej_rtcp_packet p;
    struct vej_rtcp_nack n;
    struct vej_rtcp_tcc t;
    struct vej_rtcp_fb fb;
    struct vej_rtcp_fir f;
    struct vej_rtcp_remb r;
    struct vej_rtcp_bye b;
    uint16_t seqs[20], pid, blp;

    p = only_packet(nack, sizeof nack);
    g_assert_cmpint(vej_rtcp_validate_compound(nack, sizeof nack, false), ==, VEJ_RTCP_EFIRST);
    g_assert_cmpint(vej_rtcp_validate_compound(nack, sizeof nack, true), ==, VEJ_RTCP_OK);
    g_assert_cmpint(vej_rtcp_parse_tcc(&p, &t), ==, VEJ_RTCP_ETYPE);
    g_assert_cmpint(vej_rtcp_parse_pli(&p, &fb), ==, VEJ_RTCP_ETYPE);
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &n), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(n.sender_ssrc, ==, 1);
    g_assert_cmpuint(n.media_ssrc, ==, 0x12345678);
    g_assert_cmpuint(n.n_items, ==, 1);
    g_assert_true(vej_rtcp_nack_item(&n, 0, &pid, &blp));
    g_assert_false(vej_rtcp_nack_item(&n, 1, &pid, &blp));
    g_assert_cmpuint(pid, ==, 100);
    g_assert_cmpuint(blp, ==, 5);
    g_assert_cmpuint(vej_rtcp_nack_expand(&n, seqs, G_N_ELEMENTS(seqs)), ==, 3);
    g_assert_cmpuint(seqs[0], ==, 100);
    g_assert_cmpuint(seqs[1], ==, 101);
    g_assert_cmpuint(seqs[2], ==, 103);
    g_assert_cmpuint(vej_rtcp_nack_expand(&n, seqs, 2), ==, 2);
    g_assert_cmpuint(vej_rtcp_nack_expand(&n, seqs, 0), ==, 0);

    p = only_packet(tcc, sizeof tcc);
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &n), ==, VEJ_RTCP_ETYPE);
    g_assert_cmpint(vej_rtcp_parse_tcc(&p, &t), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(t.base_seq, ==, 1);
    g_assert_cmpuint(t.status_count, ==, 2);
    g_assert_cmpint(t.reference_time, ==, -2);
    g_assert_cmpuint(t.fb_count, ==, 7);
    g_assert_cmpmem(t.chunks, t.chunks_len, "\x20\x02\x04\x04", 4);

    p = only_packet(pli, sizeof pli);
    g_assert_cmpint(vej_rtcp_parse_pli(&p, &fb), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(fb.media_ssrc, ==, 0x12345678);
    g_assert_cmpuint(fb.fci_len, ==, 0);
    g_assert_cmpint(vej_rtcp_parse_fir(&p, &f), ==, VEJ_RTCP_ETYPE);

    p = only_packet(fir, sizeof fir);
    g_assert_cmpint(vej_rtcp_parse_fir(&p, &f), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(f.n_entries, ==, 2);
    g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, 0).ssrc, ==, 0x12345678);
    g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, 0).seq, ==, 5);
    g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, 1).ssrc, ==, 0x9abcdef0);
    g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, 1).seq, ==, 6);
    g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, 2).ssrc, ==, 0);

    p = only_packet(remb, sizeof remb);
    g_assert_cmpint(vej_rtcp_parse_remb(&p, &r), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(r.exp, ==, 2);
    g_assert_cmpuint(r.mantissa, ==, 250000);
    g_assert_cmpuint(r.bitrate, ==, 1000000);
    g_assert_cmpuint(r.n_ssrcs, ==, 2);
    g_assert_cmpuint(vej_rtcp_remb_ssrc(&r, 1), ==, 0x9abcdef0);
    g_assert_cmpuint(vej_rtcp_remb_ssrc(&r, 2), ==, 0);

    p = only_packet(bye, sizeof bye);
    g_assert_cmpint(vej_rtcp_parse_bye(&p, &b), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(b.n_ssrcs, ==, 1);
    g_assert_cmpuint(b.ssrcs[0], ==, 0x12345678);
    g_assert_cmpmem(b.reason, b.reason_len, "byebye", 6);
}

/* Every prefix of a compound is either refused or iterates only inside
 * the prefix; each prefix is its own allocation so ASan sees overreads. */
static void
test_truncated_every_length(void)
{
    const uint8_t *const bufs[] = {rr_sdes, sr_one, nack, tcc, fir, remb, bye};
    const size_t lens[] = {sizeof rr_sdes, sizeof sr_one, sizeof nack, sizeof tcc,
                           sizeof fir,     sizeof remb,   sizeof bye};

    for (size_t k = 0; k < G_N_ELEMENTS(bufs); k++) {
        for (size_t n = 0; n < lens[k]; n++) {
            uint8_t *copy = g_memdup2(bufs[k], n ? n : 1);
            struct vej_rtcp_iter it;
            struct vej_rtcp_packet p;
            int r, seen = 0;
            vej_rtcp_iter_init(&it, copy, n);
            while ((r = vej_rtcp_next(&it, &p)) > 0) {
                g_assert_true(p.raw >= copy && p.raw + p.raw_len <= copy + n);
                seen++;
            }
            if (n % 4 != 0 || n == 0)
                g_assert_cmpint(r, ==, VEJ_RTCP_EALIGN);
            else if (k > 0) /* single packets: any cut lies about its length */
                g_assert_cmpint(r, ==, VEJ_RTCP_ELENGTH);
            else
                g_assert_cmpint(r, ==, n == 32 ? 0 : VEJ_RTCP_ELENGTH);
            g_assert_cmpint(vej_rtcp_validate_compound(copy, n, true), ==, r);
            g_free(copy);
        }
    }
}

static void
test_malformed_header(void)
{
    uint8_t b[64];
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    struct vej_rtcp_rr rr;
    struct vej_rtcp_sdes sdes;

    /* Length 0: a header-only RR iterates but has no SSRC. */
    memcpy(b, "\x80\xc9\x00\x00", 4);
    p = only_packet(b, 4);
    g_assert_cmpuint(p.body_len, ==, 0);
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr), ==, VEJ_RTCP_ETRUNCATED);
    /* ... while an SDES with no chunks is legal. */
    memcpy(b, "\x80\xca\x00\x00", 4);
    p = only_packet(b, 4);
    g_assert_cmpint(vej_rtcp_parse_sdes(&p, &sdes), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(sdes.n_chunks, ==, 0);
    /* Too long, by one word and by the maximum. */
    memcpy(b, rr_sdes, sizeof rr_sdes);
    b[3] = 0x0f; /* 64 bytes of 60 */
    g_assert_cmpint(vej_rtcp_validate_compound(b, sizeof rr_sdes, false), ==, VEJ_RTCP_ELENGTH);
    b[3] = 0x08; /* lands inside the SDES: caught there */
    g_assert_cmpint(vej_rtcp_validate_compound(b, sizeof rr_sdes, false), ==, VEJ_RTCP_EVERSION);
    b[2] = 0xff, b[3] = 0xff;
    g_assert_cmpint(vej_rtcp_validate_compound(b, sizeof rr_sdes, false), ==, VEJ_RTCP_ELENGTH);
    /* The second packet's length lies. */
    memcpy(b, rr_sdes, sizeof rr_sdes);
    b[35] = 0x07;
    vej_rtcp_iter_init(&it, b, sizeof rr_sdes);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, VEJ_RTCP_ELENGTH);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, VEJ_RTCP_ELENGTH);
    /* Not a multiple of 4, and empty. */
    g_assert_cmpint(vej_rtcp_validate_compound(rr_sdes, sizeof rr_sdes - 1, false), ==,
                    VEJ_RTCP_EALIGN);
    g_assert_cmpint(vej_rtcp_validate_compound(rr_sdes, 0, false), ==, VEJ_RTCP_EALIGN);
    g_assert_cmpint(vej_rtcp_validate_compound(NULL, 8, false), ==, VEJ_RTCP_EALIGN);
    /* Versions. */
    memcpy(b, rr_sdes, sizeof rr_sdes);
    b[32] = 0x41;
    g_assert_cmpint(vej_rtcp_validate_compound(b, sizeof rr_sdes, false), ==, VEJ_RTCP_EVERSION);
    /* Padding on the first of two packets; pad 0; pad beyond the body. */
    memcpy(b, rr_sdes, sizeof rr_sdes);
    b[0] |= 0x20;
    g_assert_cmpint(vej_rtcp_validate_compound(b, sizeof rr_sdes, false), ==, VEJ_RTCP_EPADDING);
    memcpy(b, "\xa0\xc9\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00", 12);
    g_assert_cmpint(vej_rtcp_validate_compound(b, 12, false), ==, VEJ_RTCP_EPADDING);
    b[11] = 9;
    g_assert_cmpint(vej_rtcp_validate_compound(b, 12, false), ==, VEJ_RTCP_EPADDING);
    b[11] = 4;
    p = only_packet(b, 12);
    g_assert_cmpuint(p.body_len, ==, 4);
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr), ==, VEJ_RTCP_OK);
    b[11] = 8; /* eats the SSRC */
    p = only_packet(b, 12);
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr), ==, VEJ_RTCP_ETRUNCATED);
}

/* Parses buf as one packet with `parse` and expects `want`. */
#define EXPECT_PARSE(buf, len, parse, out, want)                                                   \
    do {                                                                                           \
        struct vej_rtcp_packet p_ = only_packet((buf), (len));                                     \
        g_assert_cmpint(parse(&p_, (out)), ==, (want));                                            \
    } while (0)

static void
test_malformed_bodies(void)
{
    uint8_t b[64];
    struct vej_rtcp_sr sr;
    struct vej_rtcp_rr rr;
    struct vej_rtcp_sdes sdes;
    struct vej_rtcp_bye by;
    struct vej_rtcp_nack n;
    struct vej_rtcp_tcc t;
    struct vej_rtcp_fb fb;
    struct vej_rtcp_fir f;
    struct vej_rtcp_remb r;

    /* RC beyond the blocks present. */
    memcpy(b, sr_one, sizeof sr_one);
    b[0] = 0x82;
    EXPECT_PARSE(b, sizeof sr_one, vej_rtcp_parse_sr, &sr, VEJ_RTCP_ETRUNCATED);
    memcpy(b, rr_sdes, 32);
    b[0] = 0x9f;
    EXPECT_PARSE(b, 32, vej_rtcp_parse_rr, &rr, VEJ_RTCP_ETRUNCATED);
    /* SDES: no null item; an item running past the body; SC beyond. */
    memcpy(b, rr_sdes + 32, 28);
    b[26] = 0x12, b[27] = 0x05;
    EXPECT_PARSE(b, 28, vej_rtcp_parse_sdes, &sdes, VEJ_RTCP_ETRUNCATED);
    memcpy(b, rr_sdes + 32, 28);
    b[9] = 0x12; /* the CNAME swallows the null item */
    EXPECT_PARSE(b, 28, vej_rtcp_parse_sdes, &sdes, VEJ_RTCP_EMALFORMED);
    memcpy(b, rr_sdes + 32, 28);
    b[0] = 0x82;
    EXPECT_PARSE(b, 28, vej_rtcp_parse_sdes, &sdes, VEJ_RTCP_ETRUNCATED);
    /* BYE: SC beyond the body; reason length beyond the body. */
    memcpy(b, bye, sizeof bye);
    b[0] = 0x85;
    EXPECT_PARSE(b, sizeof bye, vej_rtcp_parse_bye, &by, VEJ_RTCP_ETRUNCATED);
    b[0] = 0x81, b[8] = 8;
    EXPECT_PARSE(b, sizeof bye, vej_rtcp_parse_bye, &by, VEJ_RTCP_ETRUNCATED);
    /* NACK with no FCI; feedback without its SSRCs. */
    memcpy(b, nack, 12);
    b[3] = 0x02;
    EXPECT_PARSE(b, 12, vej_rtcp_parse_nack, &n, VEJ_RTCP_EMALFORMED);
    b[3] = 0x01;
    EXPECT_PARSE(b, 8, vej_rtcp_parse_nack, &n, VEJ_RTCP_ETRUNCATED);
    EXPECT_PARSE(b, 8, vej_rtcp_parse_fb, &fb, VEJ_RTCP_ETRUNCATED);
    /* transport-cc with a cut header. */
    memcpy(b, tcc, 16);
    b[3] = 0x03;
    EXPECT_PARSE(b, 16, vej_rtcp_parse_tcc, &t, VEJ_RTCP_ETRUNCATED);
    /* FIR: a partial entry; no entry. */
    memcpy(b, fir, sizeof fir);
    b[3] = 0x03;
    EXPECT_PARSE(b, 16, vej_rtcp_parse_fir, &f, VEJ_RTCP_EMALFORMED);
    b[3] = 0x05;
    EXPECT_PARSE(b, 24, vej_rtcp_parse_fir, &f, VEJ_RTCP_EMALFORMED);
    b[3] = 0x02;
    EXPECT_PARSE(b, 12, vej_rtcp_parse_fir, &f, VEJ_RTCP_EMALFORMED);
    /* REMB: N SSRCs beyond the length; not 'REMB'; cut before exp/mantissa. */
    memcpy(b, remb, sizeof remb);
    b[16] = 3;
    EXPECT_PARSE(b, sizeof remb, vej_rtcp_parse_remb, &r, VEJ_RTCP_ETRUNCATED);
    b[16] = 255;
    EXPECT_PARSE(b, sizeof remb, vej_rtcp_parse_remb, &r, VEJ_RTCP_ETRUNCATED);
    b[16] = 2, b[15] = 'X';
    EXPECT_PARSE(b, sizeof remb, vej_rtcp_parse_remb, &r, VEJ_RTCP_ETYPE);
    memcpy(b, remb, 16);
    b[3] = 0x03;
    EXPECT_PARSE(b, 16, vej_rtcp_parse_remb, &r, VEJ_RTCP_ETRUNCATED);
    b[3] = 0x02;
    EXPECT_PARSE(b, 12, vej_rtcp_parse_remb, &r, VEJ_RTCP_ETYPE);
    /* REMB exponent 63 saturates. */
    memcpy(b, remb, sizeof remb);
    b[17] = 0xff, b[18] = 0xff, b[19] = 0xff;
    EXPECT_PARSE(b, sizeof remb, vej_rtcp_parse_remb, &r, VEJ_RTCP_OK);
    g_assert_cmpuint(r.exp, ==, 63);
    g_assert_cmpuint(r.bitrate, ==, UINT64_MAX);
    b[17] = 0xb8, b[18] = 0x00, b[19] = 0x01; /* 1 << 46 fits */
    EXPECT_PARSE(b, sizeof remb, vej_rtcp_parse_remb, &r, VEJ_RTCP_OK);
    g_assert_cmpuint(r.bitrate, ==, UINT64_C(1) << 46);
}

/* Writes with `call` (an expression using out and cap), checks ENOSPACE
 * for every smaller cap, and leaves the packet in buf / *len. */
#define WRITE_ALL(buf, len, call)                                                                  \
    do {                                                                                           \
        uint8_t *out = (buf);                                                                      \
        size_t cap = sizeof(buf);                                                                  \
        long n_ = (call);                                                                          \
        g_assert_cmpint(n_, >, 0);                                                                 \
        g_assert_cmpint(n_ % 4, ==, 0);                                                            \
        for (cap = 0; cap < (size_t)n_; cap++)                                                     \
            g_assert_cmpint((call), ==, VEJ_RTCP_ENOSPACE);                                        \
        cap = (size_t)n_;                                                                          \
        g_assert_cmpint((call), ==, n_);                                                           \
        *(len) = (size_t)n_;                                                                       \
    } while (0)

static void
assert_blocks_equal(const struct vej_rtcp_report_block *a, size_t na,
                    const struct vej_rtcp_report_block *b, size_t nb)
{
    g_assert_cmpuint(na, ==, nb);
    for (size_t i = 0; i < na; i++) {
        g_assert_cmpuint(a[i].ssrc, ==, b[i].ssrc);
        g_assert_cmpuint(a[i].fraction_lost, ==, b[i].fraction_lost);
        g_assert_cmpint(a[i].cumulative_lost, ==, b[i].cumulative_lost);
        g_assert_cmpuint(a[i].highest_seq, ==, b[i].highest_seq);
        g_assert_cmpuint(a[i].jitter, ==, b[i].jitter);
        g_assert_cmpuint(a[i].lsr, ==, b[i].lsr);
        g_assert_cmpuint(a[i].dlsr, ==, b[i].dlsr);
    }
}

static void
test_write_reports(void)
{
    uint8_t buf[1024];
    size_t len;
    struct vej_rtcp_sr sr, sr2;
    struct vej_rtcp_rr rr, rr2;
    struct vej_rtcp_packet p;

    memset(&sr, 0, sizeof sr);
    sr.ssrc = 0xabcdef01;
    sr.ntp_time = UINT64_C(0xe9a1b2c3d4e5f607);
    sr.rtp_time = 90000;
    sr.packet_count = 7;
    sr.octet_count = 7000;
    sr.n_reports = 2;
    sr.reports[0] = (struct vej_rtcp_report_block){1, 255, -8388608, 0x10000, 9, 0xa, 0xb};
    sr.reports[1] = (struct vej_rtcp_report_block){2, 0, 8388607, 0xffffffff, 0, 0, 65536};
    WRITE_ALL(buf, &len, vej_rtcp_write_sr(out, cap, &sr));
    g_assert_cmpuint(len, ==, 28 + 48);
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_sr(&p, &sr2), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(sr2.ssrc, ==, sr.ssrc);
    g_assert_cmpuint(sr2.ntp_time, ==, sr.ntp_time);
    g_assert_cmpuint(sr2.rtp_time, ==, sr.rtp_time);
    g_assert_cmpuint(sr2.packet_count, ==, sr.packet_count);
    g_assert_cmpuint(sr2.octet_count, ==, sr.octet_count);
    assert_blocks_equal(sr.reports, sr.n_reports, sr2.reports, sr2.n_reports);
    /* Out-of-range loss is clamped to 24 bits. */
    sr.reports[0].cumulative_lost = INT32_MIN;
    sr.reports[1].cumulative_lost = INT32_MAX;
    g_assert_cmpint(vej_rtcp_write_sr(buf, sizeof buf, &sr), ==, 76);
    p = only_packet(buf, 76);
    g_assert_cmpint(vej_rtcp_parse_sr(&p, &sr2), ==, VEJ_RTCP_OK);
    g_assert_cmpint(sr2.reports[0].cumulative_lost, ==, -8388608);
    g_assert_cmpint(sr2.reports[1].cumulative_lost, ==, 8388607);
    sr.n_reports = 32;
    g_assert_cmpint(vej_rtcp_write_sr(buf, sizeof buf, &sr), ==, VEJ_RTCP_EINVAL);

    memset(&rr, 0, sizeof rr);
    rr.ssrc = 5;
    rr.n_reports = VEJ_RTCP_MAX_COUNT;
    for (size_t i = 0; i < rr.n_reports; i++)
        rr.reports[i] = (struct vej_rtcp_report_block){
            (uint32_t)i, (uint8_t)i, -(int32_t)i, (uint32_t)i, 1, 2, 3};
    WRITE_ALL(buf, &len, vej_rtcp_write_rr(out, cap, &rr));
    g_assert_cmpuint(len, ==, 8 + 31 * 24);
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_rr(&p, &rr2), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(rr2.ssrc, ==, rr.ssrc);
    assert_blocks_equal(rr.reports, rr.n_reports, rr2.reports, rr2.n_reports);
    rr.n_reports = 0;
    g_assert_cmpint(vej_rtcp_write_rr(buf, sizeof buf, &rr), ==, 8);
    rr.n_reports = 32;
    g_assert_cmpint(vej_rtcp_write_rr(buf, sizeof buf, &rr), ==, VEJ_RTCP_EINVAL);
}

static void
test_write_sdes_bye(void)
{
    uint8_t buf[600], name[255];
    size_t len;
    struct vej_rtcp_sdes sdes;
    struct vej_rtcp_bye by;
    struct vej_rtcp_packet p;
    const uint32_t ssrcs[2] = {0x11, 0x22};

    memset(name, 'c', sizeof name);
    for (size_t n = 1; n <= sizeof name; n++) {
        WRITE_ALL(buf, &len, vej_rtcp_write_sdes_cname(out, cap, 0x77, (const char *)name, n));
        p = only_packet(buf, len);
        g_assert_cmpint(vej_rtcp_parse_sdes(&p, &sdes), ==, VEJ_RTCP_OK);
        g_assert_cmpuint(sdes.n_chunks, ==, 1);
        g_assert_cmpuint(sdes.chunks[0].ssrc, ==, 0x77);
        g_assert_cmpmem(sdes.chunks[0].cname, sdes.chunks[0].cname_len, name, n);
    }
    g_assert_cmpint(vej_rtcp_write_sdes_cname(buf, sizeof buf, 1, "x", 0), ==, VEJ_RTCP_EINVAL);
    g_assert_cmpint(vej_rtcp_write_sdes_cname(buf, sizeof buf, 1, (const char *)name, 256), ==,
                    VEJ_RTCP_EINVAL);

    for (size_t n = 0; n <= 9; n++) {
        WRITE_ALL(buf, &len, vej_rtcp_write_bye(out, cap, ssrcs, 2, "shutting down", n));
        p = only_packet(buf, len);
        g_assert_cmpint(vej_rtcp_parse_bye(&p, &by), ==, VEJ_RTCP_OK);
        g_assert_cmpuint(by.n_ssrcs, ==, 2);
        g_assert_cmpuint(by.ssrcs[1], ==, 0x22);
        g_assert_cmpmem(by.reason, by.reason_len, "shutting down", n);
    }
    WRITE_ALL(buf, &len, vej_rtcp_write_bye(out, cap, ssrcs, 1, NULL, 0));
    g_assert_cmpuint(len, ==, 8);
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_bye(&p, &by), ==, VEJ_RTCP_OK);
    g_assert_null(by.reason);
    g_assert_cmpint(vej_rtcp_write_bye(buf, sizeof buf, ssrcs, 0, NULL, 0), ==, VEJ_RTCP_EINVAL);
    g_assert_cmpint(vej_rtcp_write_bye(buf, sizeof buf, ssrcs, 32, NULL, 0), ==, VEJ_RTCP_EINVAL);
    g_assert_cmpint(vej_rtcp_write_bye(buf, sizeof buf, ssrcs, 1, NULL, 3), ==, VEJ_RTCP_EINVAL);
}

static void
test_write_feedback(void)
{
    uint8_t buf[300];
    size_t len;
    struct vej_rtcp_packet p;
    struct vej_rtcp_fb fb;
    struct vej_rtcp_fir f;
    const struct vej_rtcp_fir_entry entries[3] = {{0xa, 1}, {0xb, 255}, {0xc, 0}};

    WRITE_ALL(buf, &len, vej_rtcp_write_pli(out, cap, 1, 0x12345678));
    g_assert_cmpmem(buf, len, pli, sizeof pli);
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_pli(&p, &fb), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(fb.sender_ssrc, ==, 1);
    g_assert_cmpuint(fb.media_ssrc, ==, 0x12345678);

    WRITE_ALL(buf, &len, vej_rtcp_write_fir(out, cap, 9, entries, 3));
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_fir(&p, &f), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(f.sender_ssrc, ==, 9);
    g_assert_cmpuint(f.media_ssrc, ==, 0);
    g_assert_cmpuint(f.n_entries, ==, 3);
    for (size_t i = 0; i < 3; i++) {
        g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, i).ssrc, ==, entries[i].ssrc);
        g_assert_cmpuint(vej_rtcp_fir_entry_at(&f, i).seq, ==, entries[i].seq);
    }
    WRITE_ALL(buf, &len, vej_rtcp_write_fir(out, cap, 1, entries, 2));
    g_assert_cmpmem(buf + 4, len - 4, "\0\0\0\1\0\0\0\0\0\0\0\x0a\1\0\0\0\0\0\0\x0b\xff\0\0\0", 24);
    g_assert_cmpint(vej_rtcp_write_fir(buf, sizeof buf, 1, entries, 0), ==, VEJ_RTCP_EINVAL);
}

/* Writes a NACK for seqs, parses it and expects exactly `want` back. */
static void
check_nack(const uint16_t *seqs, size_t n, const uint16_t *want, size_t n_want, size_t items)
{
    uint8_t buf[2048];
    size_t len;
    uint16_t got[1024];
    struct vej_rtcp_nack nk;
    struct vej_rtcp_packet p;

    WRITE_ALL(buf, &len, vej_rtcp_write_nack(out, cap, 3, 4, seqs, n));
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &nk), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(nk.sender_ssrc, ==, 3);
    g_assert_cmpuint(nk.media_ssrc, ==, 4);
    g_assert_cmpuint(nk.n_items, ==, items);
    g_assert_cmpuint(vej_rtcp_nack_expand(&nk, got, G_N_ELEMENTS(got)), ==, n_want);
    g_assert_cmpmem(got, n_want * sizeof *got, want, n_want * sizeof *want);
}

static void
test_write_nack(void)
{
    const uint16_t one[] = {42};
    const uint16_t span[] = {100, 101, 103, 116, 117}; /* 117 = 100 + 17: new item */
    const uint16_t wrap[] = {65534, 65535, 0, 1, 14};  /* one item across the wrap */
    const uint16_t dup[] = {7, 7, 8, 8};
    const uint16_t dup_want[] = {7, 8};
    uint16_t many[300];
    uint8_t buf[16];

    check_nack(one, 1, one, 1, 1);
    check_nack(span, G_N_ELEMENTS(span), span, G_N_ELEMENTS(span), 2);
    check_nack(wrap, G_N_ELEMENTS(wrap), wrap, G_N_ELEMENTS(wrap), 1);
    check_nack(dup, G_N_ELEMENTS(dup), dup_want, 2, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++)
        many[i] = (uint16_t)(i * 20); /* every one its own item */
    check_nack(many, G_N_ELEMENTS(many), many, G_N_ELEMENTS(many), G_N_ELEMENTS(many));
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++)
        many[i] = (uint16_t)(60000 + i); /* 17 per item */
    check_nack(many, G_N_ELEMENTS(many), many, G_N_ELEMENTS(many), (300 + 16) / 17);
    g_assert_cmpint(vej_rtcp_write_nack(buf, sizeof buf, 1, 2, one, 0), ==, VEJ_RTCP_EINVAL);
    g_assert_cmpint(vej_rtcp_write_nack(buf, sizeof buf, 1, 2, NULL, 1), ==, VEJ_RTCP_EINVAL);
}

/* The BLP bitmask byte for byte: bit i (LSB first) is PID + i + 1, 16
 * numbers after the PID at most, across the 65535 -> 0 wrap. */
static void
test_nack_blp_bytes(void)
{
    const uint16_t seqs[] = {65535, 0, 2, 15, 16};
    /* clang-format off */
    const uint8_t want[] = {
        0x81, 0xcd, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b,
        0xff, 0xff, 0x80, 0x05, /* PID 65535; bits 0 (0), 2 (2), 15 (15) */
        0x00, 0x10, 0x00, 0x00, /* 16 is 17 after 65535: an item of its own */
    };
    const uint8_t top_bit[] = {
        0x81, 0xcd, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b,
        0xff, 0xf8, 0x80, 0x01, /* PID 65528; bits 0 and 15: 65529 and 65544 = 8 */
    };
    /* clang-format on */
    uint8_t buf[64];
    uint16_t got[32];
    struct vej_rtcp_nack nk;
    struct vej_rtcp_packet p;
    long n = vej_rtcp_write_nack(buf, sizeof buf, 10, 11, seqs, G_N_ELEMENTS(seqs));

    g_assert_cmpint(n, ==, sizeof want);
    g_assert_cmpmem(buf, sizeof want, want, sizeof want);
    p = only_packet(top_bit, sizeof top_bit);
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &nk), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(vej_rtcp_nack_expand(&nk, got, G_N_ELEMENTS(got)), ==, 3);
    g_assert_cmpuint(got[0], ==, 65528);
    g_assert_cmpuint(got[1], ==, 65529);
    g_assert_cmpuint(got[2], ==, 8);
}

static void
test_write_remb(void)
{
    const uint64_t rates[] = {0,       1,       0x3ffff,           0x40000,
                              1000000, 2500000, UINT64_C(1) << 40, UINT64_MAX};
    const uint32_t ssrcs[3] = {0xa, 0xb, 0xc};
    uint8_t buf[1100];
    size_t len;
    struct vej_rtcp_remb r;
    struct vej_rtcp_packet p;
    uint32_t many[255];

    for (size_t i = 0; i < G_N_ELEMENTS(rates); i++) {
        WRITE_ALL(buf, &len, vej_rtcp_write_remb(out, cap, 5, rates[i], ssrcs, 3));
        p = only_packet(buf, len);
        g_assert_cmpint(vej_rtcp_parse_remb(&p, &r), ==, VEJ_RTCP_OK);
        g_assert_cmpuint(r.sender_ssrc, ==, 5);
        g_assert_cmpuint(r.n_ssrcs, ==, 3);
        g_assert_cmpuint(vej_rtcp_remb_ssrc(&r, 2), ==, 0xc);
        /* Rounded down, within one part in 2^17. */
        g_assert_cmpuint(r.bitrate, <=, rates[i]);
        g_assert_cmpuint(r.bitrate, >=, rates[i] - rates[i] / (1u << 17));
    }
    WRITE_ALL(buf, &len, vej_rtcp_write_remb(out, cap, 1, 1000000, NULL, 0));
    g_assert_cmpmem(buf, len, "\x8f\xce\x00\x04\0\0\0\1\0\0\0\0REMB\x00\x0b\xd0\x90", 20);
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++)
        many[i] = (uint32_t)i;
    WRITE_ALL(buf, &len, vej_rtcp_write_remb(out, cap, 1, 1, many, 255));
    p = only_packet(buf, len);
    g_assert_cmpint(vej_rtcp_parse_remb(&p, &r), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(vej_rtcp_remb_ssrc(&r, 254), ==, 254);
    g_assert_cmpint(vej_rtcp_write_remb(buf, sizeof buf, 1, 1, many, 256), ==, VEJ_RTCP_EINVAL);
}

/* An SRTCP-ready compound assembled from the writers. */
static void
test_write_compound(void)
{
    uint8_t buf[256];
    size_t off = 0;
    long n;
    struct vej_rtcp_rr rr = {.ssrc = 1, .n_reports = 1};
    const uint16_t lost[] = {10, 12};
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    uint8_t types[4];
    size_t k = 0;

    rr.reports[0].ssrc = 2;
    n = vej_rtcp_write_rr(buf + off, sizeof buf - off, &rr);
    g_assert_cmpint(n, >, 0);
    off += (size_t)n;
    n = vej_rtcp_write_sdes_cname(buf + off, sizeof buf - off, 1, "gw", 2);
    g_assert_cmpint(n, >, 0);
    off += (size_t)n;
    n = vej_rtcp_write_nack(buf + off, sizeof buf - off, 1, 2, lost, 2);
    g_assert_cmpint(n, >, 0);
    off += (size_t)n;
    n = vej_rtcp_write_remb(buf + off, sizeof buf - off, 1, 300000, NULL, 0);
    g_assert_cmpint(n, >, 0);
    off += (size_t)n;
    g_assert_cmpint(vej_rtcp_validate_compound(buf, off, false), ==, VEJ_RTCP_OK);
    vej_rtcp_iter_init(&it, buf, off);
    while (vej_rtcp_next(&it, &p) > 0)
        types[k++] = p.type;
    g_assert_cmpuint(k, ==, 4);
    g_assert_cmpmem(types, 4, "\xc9\xca\xcd\xce", 4);
    /* SDES first is not a valid SRTCP compound. */
    g_assert_cmpint(vej_rtcp_validate_compound(buf + 32, off - 32, false), ==, VEJ_RTCP_EFIRST);
}

static void
test_status_names(void)
{
    for (int s = VEJ_RTCP_EFIRST; s <= 0; s++)
        g_assert_cmpstr(vej_rtcp_status_name(s), !=, "unknown");
    g_assert_cmpstr(vej_rtcp_status_name(VEJ_RTCP_ELENGTH), ==, "bad_length");
    g_assert_cmpstr(vej_rtcp_status_name(1), ==, "unknown");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/rtcp/rr-sdes", test_rr_sdes);
    g_test_add_func("/gateway/rtcp/sr", test_sr);
    g_test_add_func("/gateway/rtcp/feedback", test_feedback);
    g_test_add_func("/gateway/rtcp/truncated-every-length", test_truncated_every_length);
    g_test_add_func("/gateway/rtcp/malformed-header", test_malformed_header);
    g_test_add_func("/gateway/rtcp/malformed-bodies", test_malformed_bodies);
    g_test_add_func("/gateway/rtcp/write-reports", test_write_reports);
    g_test_add_func("/gateway/rtcp/write-sdes-bye", test_write_sdes_bye);
    g_test_add_func("/gateway/rtcp/write-feedback", test_write_feedback);
    g_test_add_func("/gateway/rtcp/write-nack", test_write_nack);
    g_test_add_func("/gateway/rtcp/nack-blp-bytes", test_nack_blp_bytes);
    g_test_add_func("/gateway/rtcp/write-remb", test_write_remb);
    g_test_add_func("/gateway/rtcp/write-compound", test_write_compound);
    g_test_add_func("/gateway/rtcp/status-names", test_status_names);
    return g_test_run();
}
