/* pcap-synth.c - see pcap-synth.h. */
#include "tests/unit/recording/pcap-synth.h"

#include <string.h>

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
host32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

size_t
vej_pcap_synth_header(uint8_t *out, size_t cap)
{
    if (cap < 24)
        return 0;
    uint16_t major = 2, minor = 4;
    host32(out, 0xa1b23c4du);
    memcpy(out + 4, &major, 2);
    memcpy(out + 6, &minor, 2);
    host32(out + 8, 0);
    host32(out + 12, 0);
    host32(out + 16, 65535);
    host32(out + 20, 101);
    return 24;
}

size_t
vej_pcap_synth_record(uint8_t *out, size_t cap, uint64_t ts_ns, uint32_t src_ip, uint16_t src_port,
                      uint32_t dst_ip, uint16_t dst_port, const uint8_t *payload, size_t len)
{
    size_t ip_len = 28 + len;
    if (ip_len > 65535 || cap < 16 + ip_len)
        return 0;
    host32(out, (uint32_t)(ts_ns / 1000000000u));
    host32(out + 4, (uint32_t)(ts_ns % 1000000000u));
    host32(out + 8, (uint32_t)ip_len);
    host32(out + 12, (uint32_t)ip_len);
    uint8_t *ip = out + 16;
    memset(ip, 0, 28);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)ip_len);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, src_ip);
    put32(ip + 16, dst_ip);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)((ip[i] << 8) | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, (uint16_t)~sum);
    put16(ip + 20, src_port);
    put16(ip + 22, dst_port);
    put16(ip + 24, (uint16_t)(8 + len));
    if (len > 0)
        memcpy(ip + 28, payload, len);
    return 16 + ip_len;
}

void
vej_pcap_synth_track_tuple(unsigned n, int rtcp, uint32_t *src_ip, uint16_t *src_port,
                           uint32_t *dst_ip, uint16_t *dst_port)
{
    *src_ip = (10u << 24) | (1u << 16) | ((n >> 8) & 255u) << 8 | (n & 255u);
    *dst_ip = (10u << 24) | 1u;
    *src_port = (uint16_t)(40000 + (rtcp ? 1 : 0));
    *dst_port = (uint16_t)(20000 + 2 * n + (rtcp ? 1 : 0));
}
