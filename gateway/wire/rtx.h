/* rtx.h - RFC 4588 retransmission packets and the byte budget that bounds
 * how much a subscriber may be sent again.
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib.
 *
 * An RTX packet travels on its own SSRC, with its own payload type and
 * sequence numbers; its payload starts with the original sequence number
 * (OSN, 2 bytes, big-endian) followed by the original payload. Sending a
 * retransmission as RTX (never as a second copy on the media SSRC) is
 * what keeps every SRTP index of a stream used once: a copy under the
 * same SSRC and sequence number would be protected again under the same
 * index, and with AES-GCM a different plaintext there reuses the nonce.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/wire/rtp.h"

#define VEJ_RTX_OSN_LEN 2

/* The header of an RTX packet the gateway writes: version 2, no padding,
 * no CSRC; a header extension block when `extensions` holds elements (the
 * hop's own: RFC 8843 gives an RTX stream the mid of its m-line). */
struct vej_rtx_header {
    uint8_t payload_type; /* the RTX payload type (0-127) */
    bool marker;          /* the original packet's */
    uint16_t seq;         /* in the RTX stream's own sequence space */
    uint32_t timestamp;   /* the original packet's, as the receiver saw it */
    uint32_t ssrc;        /* the RTX SSRC */
    const struct vej_rtp_ext_builder *extensions; /* (transfer none) NULL or empty: none */
};

/* Writes header, extension block (if any), OSN and payload into
 * out[0..cap). Returns the length, or VEJ_RTP_ENOSPACE when it does not
 * fit, VEJ_RTP_EINVAL for a payload type above 127 or a NULL payload with
 * len > 0. */
long vej_rtx_write(uint8_t *out, size_t cap, const struct vej_rtx_header *h, uint16_t osn,
                   const uint8_t *payload, size_t len);

/* The original sequence number and payload of a parsed RTX packet; the
 * payload borrows the view's buffer (transfer none) and excludes padding.
 * Returns VEJ_RTP_OK, or VEJ_RTP_ETRUNCATED when the payload is shorter
 * than the OSN (padding-only packets, which senders use to probe
 * bandwidth, carry no OSN). */
enum vej_rtp_status vej_rtx_unwrap(const struct vej_rtp_view *rtx, uint16_t *osn,
                                   const uint8_t **payload, size_t *payload_len);

/* A token bucket in bytes: `rate` bytes per second, at most `burst`
 * bytes at once. Initialise with vej_rtx_budget_init; plain data. */
struct vej_rtx_budget {
    uint32_t rate;   /* bytes per second */
    uint32_t burst;  /* bytes */
    uint64_t tokens; /* in byte-microseconds (bytes * 1,000,000) */
    int64_t last_us;
    bool started;
};

void vej_rtx_budget_init(struct vej_rtx_budget *b, uint32_t bytes_per_s, uint32_t burst_bytes);

/* Takes `bytes` from the budget at time now_us (a monotonic clock) when
 * it holds that many, and says whether it did. The bucket starts full. A
 * clock going backwards adds nothing. */
bool vej_rtx_budget_take(struct vej_rtx_budget *b, size_t bytes, int64_t now_us);
