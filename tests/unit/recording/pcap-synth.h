/* pcap-synth.h - a minimal writer of the capture format (docs/recording.md)
 * for tests and benchmarks: global header, IPv4/UDP records with the
 * synthetic 5-tuple of a track. Independent of recording/pcap-write.c on
 * purpose, so that the reader is tested against a second implementation
 * of the documented format. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Appends the nanosecond-magic global header (host byte order, linktype 101)
 * to out[0..cap); returns bytes written (24) or 0 when it does not fit. */
size_t vej_pcap_synth_header(uint8_t *out, size_t cap);

/* Appends one record (16-byte header, IPv4, UDP, payload); returns bytes
 * written or 0 when it does not fit. Ports and addresses in host order. */
size_t vej_pcap_synth_record(uint8_t *out, size_t cap, uint64_t ts_ns, uint32_t src_ip,
                             uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                             const uint8_t *payload, size_t len);

/* The recording's synthetic 5-tuple of track n (1-based), RTP or RTCP. */
void vej_pcap_synth_track_tuple(unsigned n, int rtcp, uint32_t *src_ip, uint16_t *src_port,
                                uint32_t *dst_ip, uint16_t *dst_port);
