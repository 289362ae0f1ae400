/* demux.c - RFC 7983 first-byte demultiplexing. */
#include "gateway/wire/demux.h"

#include "gateway/wire/rtp.h"

static const char *const class_names[VEJ_DEMUX_N_CLASSES] = {
    [VEJ_DEMUX_DROP] = "drop", [VEJ_DEMUX_STUN] = "stun", [VEJ_DEMUX_DTLS] = "dtls",
    [VEJ_DEMUX_RTP] = "rtp",   [VEJ_DEMUX_RTCP] = "rtcp",
};

static const char *const reason_names[VEJ_DEMUX_DROP_N_REASONS] = {
    [VEJ_DEMUX_DROP_NONE] = "none",
    [VEJ_DEMUX_DROP_TOO_SHORT] = "too_short",
    [VEJ_DEMUX_DROP_UNKNOWN_FIRST_BYTE] = "unknown_first_byte",
    [VEJ_DEMUX_DROP_ZRTP] = "zrtp",
    [VEJ_DEMUX_DROP_TURN_CHANNEL] = "turn_channel",
    [VEJ_DEMUX_DROP_BAD_VERSION] = "bad_version",
    [VEJ_DEMUX_DROP_BAD_STUN] = "bad_stun",
};

const char *
vej_demux_class_name(enum vej_demux_class c)
{
    return (unsigned)c < VEJ_DEMUX_N_CLASSES ? class_names[c] : "unknown";
}

const char *
vej_demux_drop_reason_name(enum vej_demux_drop_reason r)
{
    return (unsigned)r < VEJ_DEMUX_DROP_N_REASONS ? reason_names[r] : "unknown";
}

/* Sets *reason (when wanted) and returns the class: one exit for drops,
 * one for accepted datagrams. */
static enum vej_demux_class
drop(enum vej_demux_drop_reason *reason, enum vej_demux_drop_reason why)
{
    if (reason)
        *reason = why;
    return VEJ_DEMUX_DROP;
}

static enum vej_demux_class
classified(enum vej_demux_drop_reason *reason, enum vej_demux_class c)
{
    if (reason)
        *reason = VEJ_DEMUX_DROP_NONE;
    return c;
}

/* RFC 5389 6: magic cookie 0x2112A442, message length a multiple of 4. */
static enum vej_demux_class
classify_stun(const uint8_t *buf, size_t len, enum vej_demux_drop_reason *reason)
{
    if (len < VEJ_DEMUX_MIN_STUN)
        return drop(reason, VEJ_DEMUX_DROP_TOO_SHORT);
    if (buf[4] != 0x21 || buf[5] != 0x12 || buf[6] != 0xA4 || buf[7] != 0x42 || (buf[3] & 3))
        return drop(reason, VEJ_DEMUX_DROP_BAD_STUN);
    return classified(reason, VEJ_DEMUX_STUN);
}

enum vej_demux_class
vej_demux_classify(const uint8_t *buf, size_t len, enum vej_demux_drop_reason *reason)
{
    uint8_t b;

    if (!buf || len == 0)
        return drop(reason, VEJ_DEMUX_DROP_TOO_SHORT);
    b = buf[0];
    if (b <= 3)
        return classify_stun(buf, len, reason);
    if (b >= 16 && b <= 19)
        return drop(reason, VEJ_DEMUX_DROP_ZRTP);
    if (b >= 20 && b <= 63) {
        if (len < VEJ_DEMUX_MIN_DTLS)
            return drop(reason, VEJ_DEMUX_DROP_TOO_SHORT);
        /* 20-31: a plaintext record header, whose version is {254, 255}
         * for DTLS 1.0 and {254, 253} for 1.2 (1.3 keeps {254, 253}).
         * 32-63: a DTLS 1.3 unified header (RFC 9147 4), no version. */
        if (b < 32 && buf[1] != 0xFE)
            return drop(reason, VEJ_DEMUX_DROP_BAD_VERSION);
        return classified(reason, VEJ_DEMUX_DTLS);
    }
    if (b >= 64 && b <= 79)
        return drop(reason, VEJ_DEMUX_DROP_TURN_CHANNEL);
    if (b >= 128 && b <= 191) {
        if (vej_rtp_mux_is_rtcp(buf, len)) {
            if (len < VEJ_DEMUX_MIN_RTCP)
                return drop(reason, VEJ_DEMUX_DROP_TOO_SHORT);
            return classified(reason, VEJ_DEMUX_RTCP);
        }
        if (len < VEJ_DEMUX_MIN_RTP)
            return drop(reason, VEJ_DEMUX_DROP_TOO_SHORT);
        return classified(reason, VEJ_DEMUX_RTP);
    }
    return drop(reason, VEJ_DEMUX_DROP_UNKNOWN_FIRST_BYTE);
}
