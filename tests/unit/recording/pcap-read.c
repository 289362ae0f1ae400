/* Unit tests for recording/pcap-read.c: files written by an independent
 * writer (pcap-synth.c) read back record by record, the other magics and
 * byte orders, and every malformed case (a clear status, never a crash,
 * errors sticky). */
#include "recording/pcap-read.h"
#include "tests/unit/recording/pcap-synth.h"

#include <glib.h>
#include <string.h>

static uint8_t buf[4096];

/* Three records: track 1 RTP, its RTCP, track 2 RTP. */
static size_t
three_records(void)
{
    size_t n = vej_pcap_synth_header(buf, sizeof buf);
    uint32_t sip, dip;
    uint16_t sp, dp;
    const uint8_t p1[] = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xaa};
    const uint8_t p2[] = {0x80, 0xc8, 0, 0};
    vej_pcap_synth_track_tuple(1, 0, &sip, &sp, &dip, &dp);
    n += vej_pcap_synth_record(buf + n, sizeof buf - n, 1765101600123456789ull, sip, sp, dip, dp,
                               p1, sizeof p1);
    vej_pcap_synth_track_tuple(1, 1, &sip, &sp, &dip, &dp);
    n += vej_pcap_synth_record(buf + n, sizeof buf - n, 1765101600223456789ull, sip, sp, dip, dp,
                               p2, sizeof p2);
    vej_pcap_synth_track_tuple(258, 0, &sip, &sp, &dip, &dp);
    n += vej_pcap_synth_record(buf + n, sizeof buf - n, 1765101601000000000ull, sip, sp, dip, dp,
                               NULL, 0);
    return n;
}

static void
test_read_back(void)
{
    size_t n = three_records();
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    g_assert_cmpint(vej_pcap_reader_init(&r, buf, n), ==, VEJ_PCAP_OK);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_OK);
    g_assert_cmpuint(rec.ts_ns, ==, 1765101600123456789ull);
    g_assert_cmphex(rec.tuple.src_ip, ==, 0x0a010001);
    g_assert_cmphex(rec.tuple.dst_ip, ==, 0x0a000001);
    g_assert_cmpuint(rec.tuple.src_port, ==, 40000);
    g_assert_cmpuint(rec.tuple.dst_port, ==, 20002);
    g_assert_cmpuint(rec.payload_len, ==, 13);
    g_assert_cmpuint(rec.payload[12], ==, 0xaa);
    g_assert_cmpuint(rec.offset, ==, 24);
    g_assert_cmpuint(rec.index, ==, 0);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_OK);
    g_assert_cmpuint(rec.tuple.src_port, ==, 40001);
    g_assert_cmpuint(rec.tuple.dst_port, ==, 20003);
    g_assert_cmpuint(rec.payload_len, ==, 4);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_OK);
    g_assert_cmphex(rec.tuple.src_ip, ==, 0x0a010102);
    g_assert_cmpuint(rec.tuple.dst_port, ==, 20000 + 2 * 258);
    g_assert_cmpuint(rec.payload_len, ==, 0);
    g_assert_cmpuint(rec.index, ==, 2);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_END);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_END);
}

static void
test_header_only(void)
{
    size_t n = vej_pcap_synth_header(buf, sizeof buf);
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    g_assert_cmpint(vej_pcap_reader_init(&r, buf, n), ==, VEJ_PCAP_OK);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_END);
}

static void
swap_words(uint8_t *p, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        v = __builtin_bswap32(v);
        memcpy(p + 4 * i, &v, 4);
    }
}

/* The microsecond magic in the other byte order, as a big-endian tool writes it. */
static void
test_swapped_microseconds(void)
{
    size_t n = three_records();
    uint32_t magic = 0xa1b2c3d4u;
    memcpy(buf, &magic, 4);
    /* the record's sub-second field becomes microseconds */
    uint32_t usec = 123456;
    memcpy(buf + 24 + 4, &usec, 4);
    swap_words(buf, 1);
    uint16_t v[2];
    memcpy(v, buf + 4, 4);
    v[0] = __builtin_bswap16(v[0]);
    v[1] = __builtin_bswap16(v[1]);
    memcpy(buf + 4, v, 4);
    swap_words(buf + 8, 4);
    swap_words(buf + 24, 4);
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    g_assert_cmpint(vej_pcap_reader_init(&r, buf, n), ==, VEJ_PCAP_OK);
    g_assert_true(r.swapped);
    g_assert_false(r.nanosecond);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, VEJ_PCAP_OK);
    g_assert_cmpuint(rec.ts_ns, ==, 1765101600123456000ull);
    /* the second record was left in the other order: its length is absurd */
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), <, 0);
}

/* Each corruption gives its status, and the status sticks. */
static void
expect_error(size_t n, int want)
{
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    int st = vej_pcap_reader_init(&r, buf, n);
    if (st == VEJ_PCAP_OK) {
        do
            st = vej_pcap_reader_next(&r, &rec);
        while (st == VEJ_PCAP_OK);
    }
    g_assert_cmpint(st, ==, want);
    g_assert_cmpint(vej_pcap_reader_next(&r, &rec), ==, want);
    g_assert_nonnull(vej_pcap_strerror(st));
    g_assert_cmpstr(vej_pcap_strerror(st), !=, "unknown pcap error");
}

static void
fix_checksum(uint8_t *ip)
{
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)((ip[i] << 8) | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (uint8_t)(~sum >> 8);
    ip[11] = (uint8_t)~sum;
}

static void
test_malformed(void)
{
    size_t n = three_records();
    size_t first_ip = 24 + 16;
    expect_error(0, VEJ_PCAP_ESHORT);
    expect_error(23, VEJ_PCAP_ESHORT);
    /* truncated: inside the second record's header, inside its data */
    expect_error(24 + 16 + 41 + 8, VEJ_PCAP_ETRUNCATED);
    expect_error(n - 1, VEJ_PCAP_ETRUNCATED);
    g_assert_cmpuint(n, ==, three_records());

    buf[0] ^= 0xff;
    expect_error(n, VEJ_PCAP_EMAGIC);
    three_records();
    buf[4] = 3;
    expect_error(n, VEJ_PCAP_EVERSION);
    three_records();
    buf[20] = 1; /* Ethernet */
    expect_error(n, VEJ_PCAP_ELINKTYPE);
    three_records();
    buf[24 + 12] ^= 1; /* origlen != caplen */
    expect_error(n, VEJ_PCAP_ESNAPPED);
    three_records();
    uint32_t frac = 1000000000u;
    memcpy(buf + 24 + 4, &frac, 4);
    expect_error(n, VEJ_PCAP_ETIMESTAMP);
    three_records();
    buf[first_ip] = 0x65; /* IPv6 version nibble */
    expect_error(n, VEJ_PCAP_EIP);
    three_records();
    buf[first_ip + 6] |= 0x20; /* more fragments */
    expect_error(n, VEJ_PCAP_EIP);
    three_records();
    buf[first_ip + 15] ^= 0x01; /* source address: checksum now wrong */
    expect_error(n, VEJ_PCAP_ECHECKSUM);
    three_records();
    buf[first_ip + 9] = 6; /* TCP, with a valid checksum */
    fix_checksum(buf + first_ip);
    expect_error(n, VEJ_PCAP_EPROTO);
    three_records();
    buf[first_ip + 25] ^= 0x04; /* UDP length */
    expect_error(n, VEJ_PCAP_EUDP);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recording/pcap-read/read-back", test_read_back);
    g_test_add_func("/recording/pcap-read/header-only", test_header_only);
    g_test_add_func("/recording/pcap-read/swapped-microseconds", test_swapped_microseconds);
    g_test_add_func("/recording/pcap-read/malformed", test_malformed);
    return g_test_run();
}
