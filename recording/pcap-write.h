/* pcap-write.h - the capture file format's writer (docs/recording.md,
 * "Capture files"): classic pcap with nanosecond timestamps
 * (magic 0xa1b23c4d in host order), LINKTYPE_RAW, and each packet wrapped
 * in a synthetic IPv4/UDP header so that pcapparse and tshark read it.
 *
 * Plain C: the functions fill the caller's buffer and return the bytes
 * written, or 0 when it is too small. No I/O, no allocation, no globals.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define VEJ_PCAP_MAGIC_NS 0xa1b23c4du
#define VEJ_PCAP_LINKTYPE_RAW 101u
#define VEJ_PCAP_SNAPLEN 65535u
#define VEJ_PCAP_FILE_HEADER 24u
/* Record header (16) + IPv4 (20) + UDP (8). */
#define VEJ_PCAP_RECORD_OVERHEAD 44u
/* The largest payload a record carries (the IPv4 total length is 16 bits). */
#define VEJ_PCAP_MAX_PAYLOAD (65535u - 28u)

/* An IPv4 address and UDP port, host order. */
struct vej_pcap_endpoint {
    uint32_t ip;
    uint16_t port;
};

/* The synthetic endpoints of track number n (1..65535) as docs/recording.md
 * gives them: RTP from 10.1.(n>>8).(n&255):40000 to 10.0.0.1:20000+2n, RTCP
 * from port 40001 to 20001+2n. */
void vej_pcap_track_endpoints(unsigned n, struct vej_pcap_endpoint *rtp_src,
                              struct vej_pcap_endpoint *rtp_dst, struct vej_pcap_endpoint *rtcp_src,
                              struct vej_pcap_endpoint *rtcp_dst);

/* Writes the 24-byte file header. */
size_t vej_pcap_file_header(uint8_t *out, size_t cap);

/* Writes one record: arrival time in ns since the Unix epoch, the
 * synthetic IPv4/UDP headers and the payload. */
size_t vej_pcap_record(uint8_t *out, size_t cap, int64_t time_ns,
                       const struct vej_pcap_endpoint *src, const struct vej_pcap_endpoint *dst,
                       const uint8_t *payload, size_t len);

/* "a.b.c.d:port" of an endpoint into out (at least 22 bytes). */
void vej_pcap_endpoint_format(const struct vej_pcap_endpoint *e, char *out, size_t cap);
