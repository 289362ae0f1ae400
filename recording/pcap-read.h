/* pcap-read.h - reader of the capture files of docs/recording.md.
 *
 * Plain C: no GLib, no allocation, no I/O, no globals. The caller maps or
 * reads a whole segment into memory and iterates its records; every view
 * returned borrows that memory. Classic pcap only: the nanosecond magic
 * (0xa1b23c4d) that the recorder writes and, for files re-saved by other
 * tools, the microsecond magic (0xa1b2c3d4), in either byte order; link
 * type LINKTYPE_RAW (101) or LINKTYPE_IPV4 (228). Each record must be one
 * whole (caplen == origlen), unfragmented IPv4/UDP datagram with a valid IP
 * header checksum; anything else is an error, never a guess. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum vej_pcap_status {
    VEJ_PCAP_OK = 0,
    VEJ_PCAP_END = 1,         /* no more records: the file ended cleanly */
    VEJ_PCAP_ESHORT = -1,     /* shorter than the 24-byte global header */
    VEJ_PCAP_EMAGIC = -2,     /* not a classic pcap magic */
    VEJ_PCAP_EVERSION = -3,   /* version other than 2.x */
    VEJ_PCAP_ELINKTYPE = -4,  /* link type other than RAW / IPv4 */
    VEJ_PCAP_ETRUNCATED = -5, /* the file ends inside a record (header or data) */
    VEJ_PCAP_ESNAPPED = -6,   /* caplen != origlen, or caplen beyond the limit */
    VEJ_PCAP_ETIMESTAMP = -7, /* sub-second field out of range */
    VEJ_PCAP_EIP = -8,        /* not an IPv4 header, bad length, or fragment */
    VEJ_PCAP_ECHECKSUM = -9,  /* IPv4 header checksum does not match */
    VEJ_PCAP_EPROTO = -10,    /* IP protocol other than UDP */
    VEJ_PCAP_EUDP = -11,      /* UDP length inconsistent with the IP length */
};

/* Largest record accepted (the recorder writes snaplen 65535). */
#define VEJ_PCAP_MAX_RECORD 65535u

struct vej_pcap_tuple {
    uint32_t src_ip; /* host order: 10.1.0.1 is 0x0a010001 */
    uint32_t dst_ip;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t protocol; /* always 17 (UDP) for a returned record */
};

struct vej_pcap_record {
    uint64_t ts_ns; /* arrival time, ns since the Unix epoch */
    struct vej_pcap_tuple tuple;
    const uint8_t *payload; /* the UDP payload (an RTP or RTCP packet) */
    size_t payload_len;
    uint64_t offset; /* byte offset of the record header in the file */
    uint64_t index;  /* 0 for the first record */
};

struct vej_pcap_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    uint64_t index;
    int swapped;    /* file written in the other byte order */
    int nanosecond; /* nanosecond magic */
    uint32_t linktype;
    int status; /* sticky: VEJ_PCAP_OK, VEJ_PCAP_END or the first error */
};

/* Name of a status for messages ("truncated record", ...); never NULL. */
const char *vej_pcap_strerror(int status);

/* Checks the global header of data[0..len) and positions the reader on the
 * first record: VEJ_PCAP_OK or a negative status (also kept in r->status). */
int vej_pcap_reader_init(struct vej_pcap_reader *r, const uint8_t *data, size_t len);

/* Next record: VEJ_PCAP_OK with *rec set, VEJ_PCAP_END after the last one,
 * or a negative status, which then repeats on every later call; r->pos is
 * left at the offending record so that a message can name its offset. */
int vej_pcap_reader_next(struct vej_pcap_reader *r, struct vej_pcap_record *rec);
