/* rtcp.h - RTCP compound packets (RFC 3550, 4585, 5104) and REMB.
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib.
 * The iterator walks a compound packet with strict length checks: every
 * sub-packet's length field must fit in what remains (a lying length is
 * VEJ_RTCP_ELENGTH, never an overread). Per-type parsers fill fixed-size
 * structs; lists longer than 31 entries (NACK items, FIR entries, REMB
 * SSRCs) stay in the packet and are read through accessors. Pointers in
 * the structs borrow the parsed buffer (transfer none).
 *
 * Writers build one sub-packet each into a caller buffer and return the
 * bytes written (a multiple of 4) or a negative status; a compound packet
 * is their outputs laid end to end, starting with an SR or RR
 * (vej_rtcp_validate_compound checks that before SRTCP protection).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_RTCP_HEADER_LEN 4
#define VEJ_RTCP_VERSION 2
#define VEJ_RTCP_MAX_COUNT 31             /* RC / SC is 5 bits */
#define VEJ_RTCP_MAX_PACKET (4u * 65536u) /* (length field + 1) words */
#define VEJ_RTCP_REPORT_BLOCK_LEN 24

enum vej_rtcp_type {
    VEJ_RTCP_SR = 200,
    VEJ_RTCP_RR = 201,
    VEJ_RTCP_SDES = 202,
    VEJ_RTCP_BYE = 203,
    VEJ_RTCP_APP = 204,
    VEJ_RTCP_RTPFB = 205,
    VEJ_RTCP_PSFB = 206,
    VEJ_RTCP_XR = 207,
};

/* Feedback message types (the FMT field). */
enum {
    VEJ_RTCP_RTPFB_NACK = 1,
    VEJ_RTCP_RTPFB_TCC = 15, /* draft-holmer-rmcat-transport-wide-cc */
    VEJ_RTCP_PSFB_PLI = 1,
    VEJ_RTCP_PSFB_FIR = 4,
    VEJ_RTCP_PSFB_AFB = 15, /* application layer: REMB */
};

#define VEJ_RTCP_SDES_END 0
#define VEJ_RTCP_SDES_CNAME 1

/* Wire-layer convention: 0 is success, failures are negative. The names
 * (vej_rtcp_status_name) are usable as metrics labels. */
enum vej_rtcp_status {
    VEJ_RTCP_OK = 0,
    VEJ_RTCP_ETRUNCATED = -1, /* less than a header, or a body shorter than its counts need */
    VEJ_RTCP_EVERSION = -2,   /* version field is not 2 */
    VEJ_RTCP_ELENGTH = -3,    /* a length field runs past the datagram */
    VEJ_RTCP_EALIGN = -4,     /* compound length not a multiple of 4 (or 0) */
    VEJ_RTCP_EPADDING = -5,   /* bad pad count, or padding before the last packet */
    VEJ_RTCP_ETYPE = -6,      /* parser called on another PT / FMT, REMB without 'REMB' */
    VEJ_RTCP_EMALFORMED = -7, /* inconsistent body: no NACK item, partial FIR entry, ... */
    VEJ_RTCP_ENOSPACE = -8,   /* a writer's output does not fit */
    VEJ_RTCP_EINVAL = -9,     /* a writer's argument out of range */
    VEJ_RTCP_EFIRST = -10,    /* compound does not start with SR or RR */
};

/* One sub-packet of a compound. */
struct vej_rtcp_packet {
    bool padding;
    uint8_t count;       /* RC, SC or FMT: the low 5 bits of byte 0 */
    uint8_t type;        /* PT */
    const uint8_t *raw;  /* the sub-packet from its header */
    size_t raw_len;      /* (length field + 1) * 4 */
    const uint8_t *body; /* after the 4-byte header */
    size_t body_len;     /* excludes padding */
};

/* Iteration state; see vej_rtcp_next. */
struct vej_rtcp_iter {
    const uint8_t *buf;
    size_t len;
    size_t off;
    int status; /* sticky: the first error met */
};

struct vej_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost; /* 24-bit signed on the wire */
    uint32_t highest_seq;    /* extended highest sequence number received */
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
};

struct vej_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp_time; /* seconds << 32 | fraction */
    uint32_t rtp_time;
    uint32_t packet_count;
    uint32_t octet_count;
    size_t n_reports;
    struct vej_rtcp_report_block reports[VEJ_RTCP_MAX_COUNT];
};

struct vej_rtcp_rr {
    uint32_t ssrc;
    size_t n_reports;
    struct vej_rtcp_report_block reports[VEJ_RTCP_MAX_COUNT];
};

struct vej_rtcp_sdes_chunk {
    uint32_t ssrc;
    const char *cname; /* NULL when the chunk has none; not NUL-terminated */
    size_t cname_len;
};

struct vej_rtcp_sdes {
    size_t n_chunks;
    struct vej_rtcp_sdes_chunk chunks[VEJ_RTCP_MAX_COUNT];
};

struct vej_rtcp_bye {
    size_t n_ssrcs;
    uint32_t ssrcs[VEJ_RTCP_MAX_COUNT];
    const char *reason; /* NULL when absent; not NUL-terminated */
    size_t reason_len;
};

/* Common header of RTPFB / PSFB messages (RFC 4585 6.1). */
struct vej_rtcp_fb {
    uint8_t type;
    uint8_t fmt;
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci;
    size_t fci_len;
};

/* Generic NACK: n_items >= 1 entries of PID (16) and BLP (16). */
struct vej_rtcp_nack {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *items;
    size_t n_items;
};

/* Transport-wide congestion control feedback, header only; the packet
 * status chunks and deltas are left in `chunks`. */
struct vej_rtcp_tcc {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    int32_t reference_time; /* 24-bit signed, multiples of 64 ms */
    uint8_t fb_count;
    const uint8_t *chunks;
    size_t chunks_len;
};

struct vej_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq;
};

/* FIR: n_entries >= 1 entries of 8 bytes. */
struct vej_rtcp_fir {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *entries;
    size_t n_entries;
};

/* REMB (draft-alvestrand-rmcat-remb): bitrate = mantissa << exp, in
 * bits per second, saturated at UINT64_MAX. */
struct vej_rtcp_remb {
    uint32_t sender_ssrc;
    uint8_t exp;       /* 6 bits */
    uint32_t mantissa; /* 18 bits */
    uint64_t bitrate;
    const uint8_t *ssrcs;
    size_t n_ssrcs;
};

/* A static label for a status ("ok", "bad_length", ...); "unknown" for
 * values outside the enum. */
const char *vej_rtcp_status_name(int status);

/* Starts iterating the compound packet buf[0..len). */
void vej_rtcp_iter_init(struct vej_rtcp_iter *it, const uint8_t *buf, size_t len);

/* Next sub-packet: returns 1 with *out set, 0 after the last, or a
 * negative status, which then repeats on every later call. Errors: an
 * empty or unaligned compound (EALIGN), fewer than 4 bytes left
 * (ETRUNCATED), version not 2 (EVERSION), a length beyond the datagram
 * (ELENGTH), padding set before the last sub-packet or a pad count of 0
 * or beyond the body (EPADDING). Bodies are not examined. */
int vej_rtcp_next(struct vej_rtcp_iter *it, struct vej_rtcp_packet *out);

/* Checks a whole compound: every sub-packet well-formed for the
 * iterator, and the first an SR or RR (EFIRST otherwise) unless
 * `reduced_size` (RFC 5506, a=rtcp-rsize negotiated) allows any. */
enum vej_rtcp_status vej_rtcp_validate_compound(const uint8_t *buf, size_t len, bool reduced_size);

/* Per-type parsers. Each returns VEJ_RTCP_ETYPE for another PT (or FMT),
 * VEJ_RTCP_ETRUNCATED when the body is shorter than its counts require,
 * VEJ_RTCP_EMALFORMED for an inconsistent body; *out is unspecified on
 * failure. Bytes after what the counts describe (profile extensions) are
 * ignored. */
enum vej_rtcp_status vej_rtcp_parse_sr(const struct vej_rtcp_packet *p, struct vej_rtcp_sr *out);
enum vej_rtcp_status vej_rtcp_parse_rr(const struct vej_rtcp_packet *p, struct vej_rtcp_rr *out);
/* SDES: SC chunks, each a list of items ended by a null item and padded
 * to 32 bits; only CNAME is kept. */
enum vej_rtcp_status vej_rtcp_parse_sdes(const struct vej_rtcp_packet *p,
                                         struct vej_rtcp_sdes *out);
enum vej_rtcp_status vej_rtcp_parse_bye(const struct vej_rtcp_packet *p, struct vej_rtcp_bye *out);
/* Any RTPFB or PSFB message: sender and media SSRC, FCI. */
enum vej_rtcp_status vej_rtcp_parse_fb(const struct vej_rtcp_packet *p, struct vej_rtcp_fb *out);
/* RTPFB FMT 1; no FCI or a partial item is EMALFORMED. */
enum vej_rtcp_status vej_rtcp_parse_nack(const struct vej_rtcp_packet *p,
                                         struct vej_rtcp_nack *out);
/* RTPFB FMT 15; FCI shorter than its 8-byte header is ETRUNCATED. */
enum vej_rtcp_status vej_rtcp_parse_tcc(const struct vej_rtcp_packet *p, struct vej_rtcp_tcc *out);
/* PSFB FMT 1 (any FCI is ignored). */
enum vej_rtcp_status vej_rtcp_parse_pli(const struct vej_rtcp_packet *p, struct vej_rtcp_fb *out);
/* PSFB FMT 4; no entry or a partial entry is EMALFORMED. */
enum vej_rtcp_status vej_rtcp_parse_fir(const struct vej_rtcp_packet *p, struct vej_rtcp_fir *out);
/* PSFB FMT 15 with 'REMB'; other AFB messages are ETYPE, N SSRCs beyond
 * the body ETRUNCATED. */
enum vej_rtcp_status vej_rtcp_parse_remb(const struct vej_rtcp_packet *p,
                                         struct vej_rtcp_remb *out);

/* Accessors; i must be below the count (else 0 / false / zeroed). */
bool vej_rtcp_nack_item(const struct vej_rtcp_nack *nack, size_t i, uint16_t *pid, uint16_t *blp);
struct vej_rtcp_fir_entry vej_rtcp_fir_entry_at(const struct vej_rtcp_fir *fir, size_t i);
uint32_t vej_rtcp_remb_ssrc(const struct vej_rtcp_remb *remb, size_t i);

/* Expands PID/BLP items into lost sequence numbers, in packet order,
 * writing at most cap (17 per item at most). Returns how many it wrote. */
size_t vej_rtcp_nack_expand(const struct vej_rtcp_nack *nack, uint16_t *seqs, size_t cap);

/* Writers: one sub-packet into out[0..cap). Each returns the bytes
 * written or VEJ_RTCP_ENOSPACE (too small for out) or VEJ_RTCP_EINVAL
 * (a count over 31, an empty list where one is required, text over 255
 * bytes). Nothing useful is left in out on failure. */
long vej_rtcp_write_sr(uint8_t *out, size_t cap, const struct vej_rtcp_sr *sr);
long vej_rtcp_write_rr(uint8_t *out, size_t cap, const struct vej_rtcp_rr *rr);
/* One chunk with one CNAME item (1-255 bytes). */
long vej_rtcp_write_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                               size_t cname_len);
/* 1-31 SSRCs and an optional reason (NULL or 0-255 bytes). */
long vej_rtcp_write_bye(uint8_t *out, size_t cap, const uint32_t *ssrcs, size_t n_ssrcs,
                        const char *reason, size_t reason_len);
long vej_rtcp_write_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* 1 or more entries; media SSRC is 0 as RFC 5104 requires. */
long vej_rtcp_write_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                        const struct vej_rtcp_fir_entry *entries, size_t n_entries);
/* Packs 1 or more lost sequence numbers into PID/BLP items: a number
 * 1-16 after the current item's PID sets a bit, any other starts an item,
 * so an ascending list packs tightest. */
long vej_rtcp_write_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                         const uint16_t *seqs, size_t n_seqs);
/* bitrate in bits per second, encoded with an 18-bit mantissa (rounded
 * down); 0-255 SSRCs. */
long vej_rtcp_write_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                         const uint32_t *ssrcs, size_t n_ssrcs);
