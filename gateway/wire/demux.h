/* demux.h - classifying datagrams on an ICE/DTLS/SRTP 5-tuple (RFC 7983).
 *
 * Plain C11, no allocation, no globals. The first byte picks the protocol:
 * 0-3 STUN, 20-63 DTLS, 128-191 RTP or RTCP (split by RFC 5761: the second
 * byte with the marker masked in 64-95 is RTCP). Everything else, and
 * anything too short to be what its first byte says, is dropped with a
 * reason whose name is a metrics label. Only the few bytes needed to decide
 * are read; the payload is not validated (SRTP authenticates it later).
 * A DTLS plaintext record header (20-31) must carry DTLS's version major
 * byte 0xFE; 32-63 is DTLS 1.3's unified header, which has none.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum vej_demux_class {
    VEJ_DEMUX_DROP,
    VEJ_DEMUX_STUN,
    VEJ_DEMUX_DTLS,
    VEJ_DEMUX_RTP,
    VEJ_DEMUX_RTCP,
    VEJ_DEMUX_N_CLASSES
};

enum vej_demux_drop_reason {
    VEJ_DEMUX_DROP_NONE,               /* not dropped */
    VEJ_DEMUX_DROP_TOO_SHORT,          /* empty, or shorter than its protocol's header */
    VEJ_DEMUX_DROP_UNKNOWN_FIRST_BYTE, /* 4-15, 80-127, 192-255 */
    VEJ_DEMUX_DROP_ZRTP,               /* 16-19: not negotiated here */
    VEJ_DEMUX_DROP_TURN_CHANNEL,       /* 64-79: TURN is libnice's, never ours */
    VEJ_DEMUX_DROP_BAD_VERSION,        /* DTLS record (20-31) version major byte not 0xFE */
    VEJ_DEMUX_DROP_BAD_STUN,           /* STUN without the RFC 5389 magic cookie or with an
                                          unaligned length */
    VEJ_DEMUX_DROP_N_REASONS
};

/* Minimum lengths accepted per class. RTP: fixed header. RTCP: header and
 * sender SSRC. DTLS: one record header. STUN: message header. */
#define VEJ_DEMUX_MIN_RTP 12
#define VEJ_DEMUX_MIN_RTCP 8
#define VEJ_DEMUX_MIN_DTLS 13
#define VEJ_DEMUX_MIN_STUN 20

/* Classifies buf[0..len). Never reads past len. When the answer is
 * VEJ_DEMUX_DROP, *reason (if not NULL) says why; otherwise it is set to
 * VEJ_DEMUX_DROP_NONE. */
enum vej_demux_class vej_demux_classify(const uint8_t *buf, size_t len,
                                        enum vej_demux_drop_reason *reason);

/* Static labels: "stun", "dtls", "rtp", "rtcp", "drop"; "too_short",
 * "unknown_first_byte", ...; "unknown" for values outside the enums. */
const char *vej_demux_class_name(enum vej_demux_class c);
const char *vej_demux_drop_reason_name(enum vej_demux_drop_reason r);
