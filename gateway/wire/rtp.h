/* rtp.h - RTP headers (RFC 3550) and header extensions (RFC 8285).
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib.
 * Parsing yields a view whose pointers borrow the caller's buffer (transfer
 * none; valid while the buffer is). Every read is bounds-checked; malformed
 * input yields a negative `enum vej_rtp_status`, never an overread.
 *
 * Extensions are per hop: the gateway terminates mid, abs-send-time and
 * transport-wide-cc and writes its own per subscriber, passing only
 * audio-level through under a remapped id (vej_rtp_ext_build_hop). A
 * `struct vej_rtp_ext_builder` collects the elements (copying their bytes)
 * and then writes one block, in the one-byte form (0xBEDE) when every
 * element fits it (id 1-14, 1-16 bytes), else in the two-byte form
 * (0x1000).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_RTP_HEADER_MIN 12
#define VEJ_RTP_VERSION 2
#define VEJ_RTP_EXT_PROFILE_ONE_BYTE 0xBEDEu
#define VEJ_RTP_EXT_PROFILE_TWO_BYTE 0x1000u /* low 4 bits: appbits */
#define VEJ_RTP_EXT_ONE_BYTE_MAX_ID 14
#define VEJ_RTP_EXT_ONE_BYTE_MAX_LEN 16
/* Elements and bytes one builder holds: far above what a packet carries. */
#define VEJ_RTP_EXT_BUILDER_MAX_ELEMENTS 16
#define VEJ_RTP_EXT_BUILDER_MAX_BYTES 256

/* Wire-layer convention: 0 is success, failures are negative. The names
 * (vej_rtp_status_name) are usable as metrics labels. */
enum vej_rtp_status {
    VEJ_RTP_OK = 0,
    VEJ_RTP_ETRUNCATED = -1, /* buffer ends inside the header, CSRCs or extension */
    VEJ_RTP_EVERSION = -2,   /* version field is not 2 */
    VEJ_RTP_EPADDING = -3,   /* pad count 0 or longer than the payload */
    VEJ_RTP_EEXTENSION = -4, /* an extension element runs past its block */
    VEJ_RTP_ENOSPACE = -5,   /* a writer's output or a builder is full */
    VEJ_RTP_EINVAL = -6,     /* an argument out of range (id, length, ...) */
    VEJ_RTP_ENOTFOUND = -7,  /* no extension element with that id */
};

/* Extension block forms. */
enum vej_rtp_ext_form {
    VEJ_RTP_EXT_NONE,     /* X bit clear */
    VEJ_RTP_EXT_ONE_BYTE, /* profile 0xBEDE */
    VEJ_RTP_EXT_TWO_BYTE, /* profile 0x100X */
    VEJ_RTP_EXT_OTHER,    /* some other profile: opaque, no elements */
};

/* A parsed RTP packet. Pointers borrow the parsed buffer. */
struct vej_rtp_view {
    const uint8_t *packet; /* the whole packet as passed to the parser */
    size_t packet_len;
    bool marker;
    bool padding;
    uint8_t payload_type; /* 0-127 */
    uint8_t csrc_count;   /* 0-15 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    size_t header_len; /* 12 + 4 * CSRCs + extension (4 + data), if any */
    const uint8_t *payload;
    size_t payload_len; /* excludes padding */
    size_t padding_len; /* 0, or the pad count byte's value */
    enum vej_rtp_ext_form ext_form;
    uint16_t ext_profile; /* 0 when there is no extension */
    const uint8_t *ext;   /* extension data after its 4-byte header */
    size_t ext_len;       /* multiple of 4 */
};

/* One extension element. `data` borrows the packet (or builder). */
struct vej_rtp_ext_element {
    uint8_t id;
    uint8_t len; /* 1-16 in the one-byte form, 0-255 in the two-byte form */
    const uint8_t *data;
};

/* Iteration state over an extension block; see vej_rtp_ext_next. */
struct vej_rtp_ext_iter {
    const uint8_t *data;
    size_t len;
    size_t off;
    enum vej_rtp_ext_form form;
};

/* Elements for a fresh block; bytes are copied in. Initialise with
 * vej_rtp_ext_builder_init; plain data, may be copied by value. */
struct vej_rtp_ext_builder {
    size_t n_elements;
    size_t n_bytes;
    struct {
        uint8_t id;
        uint8_t len;
        uint16_t off;
    } elements[VEJ_RTP_EXT_BUILDER_MAX_ELEMENTS];
    uint8_t bytes[VEJ_RTP_EXT_BUILDER_MAX_BYTES];
};

/* The extension ids one hop agreed to (the RFC 8285 local identifiers of
 * its answer; 0: not negotiated): what the gateway writes into the packets
 * it sends on that hop. There is deliberately no transport-wide-cc here:
 * the gateway neither offers nor writes it until it sends transport-cc
 * feedback. */
struct vej_rtp_hop_ext {
    uint8_t mid;           /* urn:ietf:params:rtp-hdrext:sdes:mid */
    uint8_t abs_send_time; /* http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time */
    uint8_t audio_level;   /* urn:ietf:params:rtp-hdrext:ssrc-audio-level */
};

/* A static label for a status ("ok", "truncated", ...); "unknown" for
 * values outside the enum. */
const char *vej_rtp_status_name(int status);

/* Parses an RTP packet: version 2, CSRCs, extension header and length,
 * padding (pad count 1..payload). Does not look inside the extension
 * block (vej_rtp_ext_next does). On failure *out is zeroed. */
enum vej_rtp_status vej_rtp_parse(const uint8_t *buf, size_t len, struct vej_rtp_view *out);

/* The i-th CSRC of a parsed packet; 0 when i >= csrc_count. */
uint32_t vej_rtp_view_csrc(const struct vej_rtp_view *view, unsigned i);

/* RFC 5761 rtcp-mux: true when a datagram of at least 2 bytes whose
 * second byte, with the marker bit masked, is 64-95 (RTCP PT 192-223). */
bool vej_rtp_mux_is_rtcp(const uint8_t *buf, size_t len);

/* Starts iterating the extension elements of a parsed packet. A block of
 * another profile (or none) yields no elements. */
void vej_rtp_ext_iter_init(struct vej_rtp_ext_iter *it, const struct vej_rtp_view *view);

/* Next element: returns 1 with *out set, 0 at the end (end of block,
 * padding only, or id 15 in the one-byte form, which stops processing as
 * RFC 8285 requires), or VEJ_RTP_EEXTENSION when an element's data runs
 * past the block (the iterator then stays at the end). Padding bytes (0)
 * are skipped. */
int vej_rtp_ext_next(struct vej_rtp_ext_iter *it, struct vej_rtp_ext_element *out);

/* Finds the first element with `id`. Returns VEJ_RTP_OK, VEJ_RTP_ENOTFOUND,
 * or VEJ_RTP_EEXTENSION when the block is malformed before the id. */
enum vej_rtp_status vej_rtp_ext_find(const struct vej_rtp_view *view, uint8_t id,
                                     struct vej_rtp_ext_element *out);

/* Readers for the element payloads the gateway understands. They return
 * VEJ_RTP_EINVAL when the element's length is wrong. `mid` is not
 * NUL-terminated: its bytes are element->data, element->len. */
enum vej_rtp_status vej_rtp_ext_read_abs_send_time(const struct vej_rtp_ext_element *e,
                                                   uint32_t *abs_send_time_24);
enum vej_rtp_status vej_rtp_ext_read_transport_seq(const struct vej_rtp_ext_element *e,
                                                   uint16_t *seq);
enum vej_rtp_status vej_rtp_ext_read_audio_level(const struct vej_rtp_ext_element *e, bool *voice,
                                                 uint8_t *level);

/* abs-send-time: seconds in 6.18 fixed point, 24 bits (wraps every 64 s),
 * rounded to nearest, from a microsecond clock. Total for every input. */
uint32_t vej_rtp_abs_send_time_from_us(uint64_t us);

/* Empties a builder. */
void vej_rtp_ext_builder_init(struct vej_rtp_ext_builder *b);

/* Adds an element (id 1-255, len 0-255, bytes copied). Returns
 * VEJ_RTP_EINVAL for id 0, a repeated id, or data NULL with len > 0, and
 * VEJ_RTP_ENOSPACE when the builder is full; the builder is then
 * unchanged. */
enum vej_rtp_status vej_rtp_ext_add(struct vej_rtp_ext_builder *b, uint8_t id, const void *data,
                                    size_t len);

/* Typed adders over vej_rtp_ext_add. mid: 1-255 bytes (RFC 8843; more
 * than 16 forces the two-byte form). abs-send-time from a microsecond
 * clock. transport-wide sequence: 16 bits. audio-level (RFC 6464): voice
 * flag and level 0-127 (-dBov), else VEJ_RTP_EINVAL. */
enum vej_rtp_status vej_rtp_ext_add_mid(struct vej_rtp_ext_builder *b, uint8_t id, const char *mid,
                                        size_t mid_len);
enum vej_rtp_status vej_rtp_ext_add_abs_send_time(struct vej_rtp_ext_builder *b, uint8_t id,
                                                  uint64_t now_us);
enum vej_rtp_status vej_rtp_ext_add_transport_seq(struct vej_rtp_ext_builder *b, uint8_t id,
                                                  uint16_t seq);
enum vej_rtp_status vej_rtp_ext_add_audio_level(struct vej_rtp_ext_builder *b, uint8_t id,
                                                bool voice, uint8_t level);

/* The gateway's own block for one packet sent on a hop, into b (emptied
 * first): the hop's m-line `mid` (mid_len bytes) under ids->mid, the send
 * time `abs_send_time_24` (vej_rtp_abs_send_time_from_us, computed once
 * per packet by the caller) under ids->abs_send_time, and the publisher's
 * audio-level element `level` (or NULL) under ids->audio_level when it is
 * a valid one (1 byte). An id of 0 leaves its element out: all 0 gives an
 * empty builder, so the packet goes out without an extension block.
 * Returns VEJ_RTP_OK, or the first error of an element (ids repeated, a
 * mid of 0 or over 255 bytes), the other elements still added. */
enum vej_rtp_status vej_rtp_ext_build_hop(struct vej_rtp_ext_builder *b,
                                          const struct vej_rtp_hop_ext *ids, const char *mid,
                                          size_t mid_len, uint32_t abs_send_time_24,
                                          const struct vej_rtp_ext_element *level);

/* The form vej_rtp_ext_write will use: VEJ_RTP_EXT_NONE when empty,
 * one-byte when every element fits it, else two-byte. */
enum vej_rtp_ext_form vej_rtp_ext_builder_form(const struct vej_rtp_ext_builder *b);

/* Bytes the block takes on the wire: 4-byte header plus elements padded
 * to a multiple of 4; 0 for an empty builder. */
size_t vej_rtp_ext_block_size(const struct vej_rtp_ext_builder *b);

/* Writes the block (header, elements, zero padding) into out. Returns the
 * bytes written (vej_rtp_ext_block_size) or VEJ_RTP_ENOSPACE. */
long vej_rtp_ext_write(const struct vej_rtp_ext_builder *b, uint8_t *out, size_t cap);

/* Copies a parsed packet into out (which must not overlap it) with its
 * extension block replaced by the builder's (X cleared when empty):
 * fixed header, CSRCs, new block, payload and padding. Returns the new
 * length or VEJ_RTP_ENOSPACE. */
long vej_rtp_write_packet(const struct vej_rtp_view *in, const struct vej_rtp_ext_builder *b,
                          uint8_t *out, size_t cap);

/* The same in place: pkt holds a valid packet of len bytes in a buffer
 * of cap bytes; the payload is moved as needed. Returns the new length,
 * a parse error, VEJ_RTP_EINVAL when cap < len, or VEJ_RTP_ENOSPACE
 * (pkt unchanged on failure). */
long vej_rtp_replace_extensions(uint8_t *pkt, size_t len, size_t cap,
                                const struct vej_rtp_ext_builder *b);

/* In-place header rewriting. Each needs len >= 12 (else
 * VEJ_RTP_ETRUNCATED, nothing written); set_payload_type keeps the marker
 * and needs pt <= 127 (else VEJ_RTP_EINVAL). */
enum vej_rtp_status vej_rtp_set_ssrc(uint8_t *pkt, size_t len, uint32_t ssrc);
enum vej_rtp_status vej_rtp_set_payload_type(uint8_t *pkt, size_t len, uint8_t pt);
enum vej_rtp_status vej_rtp_set_seq(uint8_t *pkt, size_t len, uint16_t seq);
enum vej_rtp_status vej_rtp_set_timestamp(uint8_t *pkt, size_t len, uint32_t timestamp);
enum vej_rtp_status vej_rtp_set_marker(uint8_t *pkt, size_t len, bool marker);
