/* pcap-write.c - capture records (pcap-write.h). Byte layouts:
 *   file header: u32 magic, u16 2, u16 4, i32 0, u32 0, u32 snaplen,
 *                u32 linktype (host order, like every pcap writer);
 *   record:      u32 seconds, u32 nanoseconds, u32 caplen, u32 origlen
 *                (host order), then the packet in network order.
 */
#include "recording/pcap-write.h"

#include <stdio.h>
#include <string.h>

static void
put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32be(uint8_t *p, uint32_t v)
{
    put16be(p, (uint16_t)(v >> 16));
    put16be(p + 2, (uint16_t)v);
}

static void
put32host(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

void
vej_pcap_track_endpoints(unsigned n, struct vej_pcap_endpoint *rtp_src,
                         struct vej_pcap_endpoint *rtp_dst, struct vej_pcap_endpoint *rtcp_src,
                         struct vej_pcap_endpoint *rtcp_dst)
{
    uint32_t src_ip = (10u << 24) | (1u << 16) | ((n >> 8) & 0xffu) << 8 | (n & 0xffu);
    uint32_t dst_ip = (10u << 24) | 1u;
    uint16_t base = (uint16_t)(20000u + 2u * n);
    *rtp_src = (struct vej_pcap_endpoint){src_ip, 40000};
    *rtp_dst = (struct vej_pcap_endpoint){dst_ip, base};
    *rtcp_src = (struct vej_pcap_endpoint){src_ip, 40001};
    *rtcp_dst = (struct vej_pcap_endpoint){dst_ip, (uint16_t)(base + 1u)};
}

size_t
vej_pcap_file_header(uint8_t *out, size_t cap)
{
    if (cap < VEJ_PCAP_FILE_HEADER)
        return 0;
    uint16_t major = 2, minor = 4;
    put32host(out, VEJ_PCAP_MAGIC_NS);
    memcpy(out + 4, &major, 2);
    memcpy(out + 6, &minor, 2);
    memset(out + 8, 0, 8);
    put32host(out + 16, VEJ_PCAP_SNAPLEN);
    put32host(out + 20, VEJ_PCAP_LINKTYPE_RAW);
    return VEJ_PCAP_FILE_HEADER;
}

static uint16_t
ipv4_checksum(const uint8_t *h)
{
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t
vej_pcap_record(uint8_t *out, size_t cap, int64_t time_ns, const struct vej_pcap_endpoint *src,
                const struct vej_pcap_endpoint *dst, const uint8_t *payload, size_t len)
{
    if (len > VEJ_PCAP_MAX_PAYLOAD || time_ns < 0 || cap < VEJ_PCAP_RECORD_OVERHEAD + len)
        return 0;
    uint32_t wire = (uint32_t)(28 + len);
    put32host(out, (uint32_t)(time_ns / 1000000000));
    put32host(out + 4, (uint32_t)(time_ns % 1000000000));
    put32host(out + 8, wire);
    put32host(out + 12, wire);
    uint8_t *ip = out + 16;
    ip[0] = 0x45; /* version 4, 5 words */
    ip[1] = 0;
    put16be(ip + 2, (uint16_t)wire);
    put16be(ip + 4, 0);      /* id */
    put16be(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 17; /* UDP */
    put16be(ip + 10, 0);
    put32be(ip + 12, src->ip);
    put32be(ip + 16, dst->ip);
    put16be(ip + 10, ipv4_checksum(ip));
    uint8_t *udp = ip + 20;
    put16be(udp, src->port);
    put16be(udp + 2, dst->port);
    put16be(udp + 4, (uint16_t)(8 + len));
    put16be(udp + 6, 0); /* no checksum (allowed for IPv4) */
    if (len)
        memcpy(udp + 8, payload, len);
    return VEJ_PCAP_RECORD_OVERHEAD + len;
}

void
vej_pcap_endpoint_format(const struct vej_pcap_endpoint *e, char *out, size_t cap)
{
    snprintf(out, cap, "%u.%u.%u.%u:%u", (unsigned)(e->ip >> 24), (unsigned)(e->ip >> 16 & 0xff),
             (unsigned)(e->ip >> 8 & 0xff), (unsigned)(e->ip & 0xff), (unsigned)e->port);
}
