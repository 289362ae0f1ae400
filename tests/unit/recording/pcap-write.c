/* Unit tests for recording/pcap-write.c: the bytes of the file header and
 * of a record (a valid IPv4 header checksum, the synthetic 5-tuple), and
 * refusals. tests/integration reads real captures with tshark. */
#include "recording/pcap-write.h"

#include <glib.h>
#include <string.h>

static void
test_file_header(void)
{
    uint8_t h[24];
    g_assert_cmpuint(vej_pcap_file_header(h, 23), ==, 0);
    g_assert_cmpuint(vej_pcap_file_header(h, sizeof h), ==, 24);
    uint32_t magic, linktype, snaplen;
    memcpy(&magic, h, 4);
    memcpy(&snaplen, h + 16, 4);
    memcpy(&linktype, h + 20, 4);
    g_assert_cmphex(magic, ==, 0xa1b23c4d);
    g_assert_cmpuint(snaplen, ==, 65535);
    g_assert_cmpuint(linktype, ==, 101);
    g_assert_cmpuint(h[4] | h[5] << 8, ==, 2);
    g_assert_cmpuint(h[6] | h[7] << 8, ==, 4);
}

static void
test_endpoints(void)
{
    struct vej_pcap_endpoint a, b, c, d;
    vej_pcap_track_endpoints(258, &a, &b, &c, &d);
    char s[32];
    vej_pcap_endpoint_format(&a, s, sizeof s);
    g_assert_cmpstr(s, ==, "10.1.1.2:40000");
    vej_pcap_endpoint_format(&b, s, sizeof s);
    g_assert_cmpstr(s, ==, "10.0.0.1:20516");
    vej_pcap_endpoint_format(&c, s, sizeof s);
    g_assert_cmpstr(s, ==, "10.1.1.2:40001");
    vej_pcap_endpoint_format(&d, s, sizeof s);
    g_assert_cmpstr(s, ==, "10.0.0.1:20517");
}

static void
test_record(void)
{
    struct vej_pcap_endpoint src, dst, rs, rd;
    vej_pcap_track_endpoints(1, &src, &dst, &rs, &rd);
    const uint8_t payload[] = {0x80, 0x6f, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa};
    uint8_t out[128];
    int64_t t = 1765100000123456789;
    g_assert_cmpuint(vej_pcap_record(out, 40, t, &src, &dst, payload, sizeof payload), ==, 0);
    size_t n = vej_pcap_record(out, sizeof out, t, &src, &dst, payload, sizeof payload);
    g_assert_cmpuint(n, ==, 44 + sizeof payload);
    uint32_t sec, nsec, caplen, origlen;
    memcpy(&sec, out, 4);
    memcpy(&nsec, out + 4, 4);
    memcpy(&caplen, out + 8, 4);
    memcpy(&origlen, out + 12, 4);
    g_assert_cmpuint(sec, ==, 1765100000u);
    g_assert_cmpuint(nsec, ==, 123456789u);
    g_assert_cmpuint(caplen, ==, 28 + sizeof payload);
    g_assert_cmpuint(origlen, ==, caplen);
    const uint8_t *ip = out + 16;
    g_assert_cmpuint(ip[0], ==, 0x45);
    g_assert_cmpuint(ip[9], ==, 17);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    g_assert_cmphex(sum, ==, 0xffff); /* a valid header checksum sums to all ones */
    g_assert_cmpuint(ip[12], ==, 10);
    g_assert_cmpuint(ip[15], ==, 1);
    const uint8_t *udp = ip + 20;
    g_assert_cmpuint(udp[0] << 8 | udp[1], ==, 40000);
    g_assert_cmpuint(udp[2] << 8 | udp[3], ==, 20002);
    g_assert_cmpuint(udp[4] << 8 | udp[5], ==, 8 + sizeof payload);
    g_assert_cmpint(memcmp(udp + 8, payload, sizeof payload), ==, 0);
    g_assert_cmpuint(vej_pcap_record(out, sizeof out, -1, &src, &dst, payload, 1), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recording/pcap-write/file-header", test_file_header);
    g_test_add_func("/recording/pcap-write/endpoints", test_endpoints);
    g_test_add_func("/recording/pcap-write/record", test_record);
    return g_test_run();
}
