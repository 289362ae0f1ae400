/* pcap-read.c - the capture file reader (see pcap-read.h).
 *
 * Every length comes from the file, so each one is compared with what is
 * left before a byte is read; sizes are size_t and a record is at most
 * 16 + 65535 bytes, so no sum below can overflow. Errors are sticky: once
 * a record is bad, the reader never moves past it (a corrupt segment is
 * reported, not resynchronised on a guess). */
#include "recording/pcap-read.h"

#include <string.h>

#define GLOBAL_HEADER_LEN 24u
#define RECORD_HEADER_LEN 16u
#define IPV4_MIN_HEADER 20u
#define UDP_HEADER_LEN 8u

static uint32_t
rd32(const uint8_t *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    if (swapped)
        v = __builtin_bswap32(v);
    return v;
}

static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

const char *
vej_pcap_strerror(int status)
{
    static const struct {
        int status;
        const char *text;
    } names[] = {
        {VEJ_PCAP_OK, "ok"},
        {VEJ_PCAP_END, "end of file"},
        {VEJ_PCAP_ESHORT, "file shorter than the pcap global header"},
        {VEJ_PCAP_EMAGIC, "not a classic pcap file (bad magic)"},
        {VEJ_PCAP_EVERSION, "unsupported pcap version"},
        {VEJ_PCAP_ELINKTYPE, "link type is not LINKTYPE_RAW"},
        {VEJ_PCAP_ETRUNCATED, "truncated record"},
        {VEJ_PCAP_ESNAPPED, "record length invalid (snapped or too long)"},
        {VEJ_PCAP_ETIMESTAMP, "record timestamp out of range"},
        {VEJ_PCAP_EIP, "record is not a whole IPv4 datagram"},
        {VEJ_PCAP_ECHECKSUM, "IPv4 header checksum mismatch"},
        {VEJ_PCAP_EPROTO, "record is not UDP"},
        {VEJ_PCAP_EUDP, "UDP length inconsistent"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].status == status)
            return names[i].text;
    return "unknown pcap error";
}

static int
fail(struct vej_pcap_reader *r, int status)
{
    r->status = status;
    return status;
}

int
vej_pcap_reader_init(struct vej_pcap_reader *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    if (data == NULL || len < GLOBAL_HEADER_LEN)
        return fail(r, VEJ_PCAP_ESHORT);
    uint32_t magic = rd32(data, 0);
    switch (magic) {
    case 0xa1b23c4du:
        r->nanosecond = 1;
        break;
    case 0xa1b2c3d4u:
        break;
    case 0x4d3cb2a1u:
        r->nanosecond = 1;
        r->swapped = 1;
        break;
    case 0xd4c3b2a1u:
        r->swapped = 1;
        break;
    default:
        return fail(r, VEJ_PCAP_EMAGIC);
    }
    uint32_t versions = rd32(data + 4, r->swapped);
    uint16_t major = r->swapped ? (uint16_t)(versions >> 16) : (uint16_t)(versions & 0xffff);
    if (major != 2)
        return fail(r, VEJ_PCAP_EVERSION);
    r->linktype = rd32(data + 20, r->swapped) & 0x0fffffffu; /* upper bits: FCS info */
    if (r->linktype != 101 && r->linktype != 228)
        return fail(r, VEJ_PCAP_ELINKTYPE);
    r->pos = GLOBAL_HEADER_LEN;
    return VEJ_PCAP_OK;
}

/* Checks the IPv4 header's one's complement sum over ihl bytes. */
static int
ipv4_checksum_ok(const uint8_t *ip, size_t ihl)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < ihl; i += 2)
        sum += be16(ip + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

/* Decodes one IPv4/UDP datagram of exactly len bytes into rec. */
static int
parse_datagram(const uint8_t *ip, size_t len, struct vej_pcap_record *rec)
{
    if (len < IPV4_MIN_HEADER || (ip[0] >> 4) != 4)
        return VEJ_PCAP_EIP;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < IPV4_MIN_HEADER || ihl > len || be16(ip + 2) != len)
        return VEJ_PCAP_EIP;
    if ((be16(ip + 6) & 0x3fff) != 0) /* MF set or a fragment offset */
        return VEJ_PCAP_EIP;
    if (!ipv4_checksum_ok(ip, ihl))
        return VEJ_PCAP_ECHECKSUM;
    if (ip[9] != 17)
        return VEJ_PCAP_EPROTO;
    const uint8_t *udp = ip + ihl;
    size_t udp_len = len - ihl;
    if (udp_len < UDP_HEADER_LEN || be16(udp + 4) != udp_len)
        return VEJ_PCAP_EUDP;
    rec->tuple.src_ip = be32(ip + 12);
    rec->tuple.dst_ip = be32(ip + 16);
    rec->tuple.src_port = be16(udp);
    rec->tuple.dst_port = be16(udp + 2);
    rec->tuple.protocol = 17;
    rec->payload = udp + UDP_HEADER_LEN;
    rec->payload_len = udp_len - UDP_HEADER_LEN;
    return VEJ_PCAP_OK;
}

int
vej_pcap_reader_next(struct vej_pcap_reader *r, struct vej_pcap_record *rec)
{
    if (r->status != VEJ_PCAP_OK)
        return r->status;
    size_t left = r->len - r->pos;
    if (left == 0)
        return fail(r, VEJ_PCAP_END);
    if (left < RECORD_HEADER_LEN)
        return fail(r, VEJ_PCAP_ETRUNCATED);
    const uint8_t *h = r->data + r->pos;
    uint32_t sec = rd32(h, r->swapped);
    uint32_t frac = rd32(h + 4, r->swapped);
    uint32_t caplen = rd32(h + 8, r->swapped);
    uint32_t origlen = rd32(h + 12, r->swapped);
    if (caplen != origlen || caplen > VEJ_PCAP_MAX_RECORD)
        return fail(r, VEJ_PCAP_ESNAPPED);
    if (frac >= (r->nanosecond ? 1000000000u : 1000000u))
        return fail(r, VEJ_PCAP_ETIMESTAMP);
    if (left - RECORD_HEADER_LEN < caplen)
        return fail(r, VEJ_PCAP_ETRUNCATED);
    memset(rec, 0, sizeof *rec);
    int st = parse_datagram(h + RECORD_HEADER_LEN, caplen, rec);
    if (st != VEJ_PCAP_OK)
        return fail(r, st);
    rec->ts_ns = (uint64_t)sec * 1000000000u + (r->nanosecond ? frac : (uint64_t)frac * 1000u);
    rec->offset = r->pos;
    rec->index = r->index++;
    r->pos += RECORD_HEADER_LEN + caplen;
    return VEJ_PCAP_OK;
}
