/* sdp.c - names, limits, small helpers and the checks every SDP from a
 * client goes through before GstSDPMessage parses it.
 *
 * GstSDPMessage's parser accepts anything: gst_sdp_message_parse_buffer
 * returns GST_SDP_OK for any bytes, reads the m= port with no range check (an
 * overflowing port wraps, "-5" becomes 4294967291), stops a line at a lone
 * CR (hiding the rest of it), and truncates keys and tokens at 8 KiB. So
 * the text is checked here first (size, UTF-8, line lengths, m= count and
 * port syntax) and the parsed message is validated afterwards. It needs no
 * gst_init(): it only uses GLib, and its GST_WARNING calls are no-ops
 * while the debug system is not initialised. */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

enum vej_sdp_status
vej__sdp_fail(const char **reason, enum vej_sdp_status status, const char *why)
{
    if (reason)
        *reason = why;
    return status;
}

const char *
vej_sdp_status_name(int status)
{
    static const char *const names[] = {
        "ok",          "invalid-argument",
        "too-big",     "too-many-mlines",
        "encoding",    "syntax",
        "ice",         "fingerprint",
        "setup",       "bundle",
        "rtcp-mux",    "codec",
        "mid",         "media",
        "unsupported", "candidate",
        "no-space",
    };
    if (status > 0 || -status >= (int)G_N_ELEMENTS(names))
        return "unknown";
    return names[-status];
}

const char *
vej_sdp_codec_name(enum vej_sdp_codec codec)
{
    switch (codec) {
    case VEJ_SDP_CODEC_OPUS:
        return "opus";
    case VEJ_SDP_CODEC_VP8:
        return "VP8";
    case VEJ_SDP_CODEC_H264:
        return "H264";
    case VEJ_SDP_CODEC_VP9:
        return "VP9";
    case VEJ_SDP_CODEC_AV1:
        return "AV1";
    case VEJ_SDP_CODEC_H265:
        return "H265";
    case VEJ_SDP_CODEC_RTX:
        return "rtx";
    case VEJ_SDP_CODEC_RED:
        return "red";
    case VEJ_SDP_CODEC_ULPFEC:
        return "ulpfec";
    case VEJ_SDP_CODEC_FLEXFEC:
        return "flexfec-03";
    case VEJ_SDP_CODEC_TELEPHONE_EVENT:
        return "telephone-event";
    case VEJ_SDP_CODEC_CN:
        return "CN";
    case VEJ_SDP_CODEC_OTHER_AUDIO:
        return "other-audio";
    case VEJ_SDP_CODEC_OTHER:
        return "other";
    case VEJ_SDP_CODEC_NONE:
        break;
    }
    return "none";
}

const char *
vej_sdp_direction_name(enum vej_sdp_direction dir)
{
    switch (dir) {
    case VEJ_SDP_DIR_SENDRECV:
        return "sendrecv";
    case VEJ_SDP_DIR_SENDONLY:
        return "sendonly";
    case VEJ_SDP_DIR_RECVONLY:
        return "recvonly";
    case VEJ_SDP_DIR_INACTIVE:
        return "inactive";
    }
    return "sendrecv";
}

void
vej_sdp_limits_init(struct vej_sdp_limits *limits)
{
    limits->max_sdp_bytes = VEJ_SDP_DEFAULT_MAX_SDP_BYTES;
    limits->max_mlines = VEJ_SDP_DEFAULT_MAX_MLINES;
    limits->max_attribute_len = VEJ_SDP_DEFAULT_MAX_ATTRIBUTE_LEN;
}

void
vej__sdp_limits_effective(const struct vej_sdp_limits *in, struct vej_sdp_limits *out)
{
    vej_sdp_limits_init(out);
    if (in && in->max_sdp_bytes)
        out->max_sdp_bytes = in->max_sdp_bytes;
    if (in && in->max_mlines)
        out->max_mlines = in->max_mlines;
    if (in && in->max_attribute_len)
        out->max_attribute_len = in->max_attribute_len;
    if (out->max_mlines > VEJ_SDP_MAX_MLINES)
        out->max_mlines = VEJ_SDP_MAX_MLINES;
}

int
vej_sdp_find_mid(const struct vej_sdp_description *desc, const char *mid)
{
    if (!desc || !mid)
        return -1;
    for (size_t i = 0; i < desc->n_media; i++) {
        if (strcmp(desc->media[i].mid, mid) == 0)
            return (int)i;
    }
    return -1;
}

bool
vej__sdp_copy(char *dst, size_t size, const char *src)
{
    if (g_strlcpy(dst, src ? src : "", size) >= size) {
        dst[0] = '\0';
        return false;
    }
    return true;
}

void
vej__sdp_copy_trunc(char *dst, size_t size, const char *src)
{
    const char *end = NULL;

    g_strlcpy(dst, src ? src : "", size);
    /* A cut inside a UTF-8 sequence leaves an invalid tail: drop it. */
    if (!g_utf8_validate(dst, -1, &end))
        dst[end - dst] = '\0';
}

bool
vej__sdp_parse_uint_n(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isdigit(s[i]))
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool
vej__sdp_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    return s && vej__sdp_parse_uint_n(s, strlen(s), max, out);
}

bool
vej__sdp_is_token(const char *s, size_t max_len)
{
    static const char extra[] = "!#$%&'*+-.^_`{|}~";
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        if (!g_ascii_isalnum(s[n]) && !strchr(extra, s[n]))
            return false;
    }
    return n >= 1 && n <= max_len;
}

bool
vej__sdp_is_ice_chars(const char *s, size_t min_len, size_t max_len)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        if (!g_ascii_isalnum(s[n]) && s[n] != '+' && s[n] != '/')
            return false;
    }
    return n >= min_len && n <= max_len;
}

size_t
vej__sdp_fingerprint_size(enum vej_sdp_fingerprint_alg alg)
{
    switch (alg) {
    case VEJ_SDP_FP_SHA1:
        return 20;
    case VEJ_SDP_FP_SHA224:
        return 28;
    case VEJ_SDP_FP_SHA256:
        return 32;
    case VEJ_SDP_FP_SHA384:
        return 48;
    case VEJ_SDP_FP_SHA512:
        return 64;
    case VEJ_SDP_FP_NONE:
        break;
    }
    return 0;
}

const char *
vej__sdp_fingerprint_alg_name(enum vej_sdp_fingerprint_alg alg)
{
    switch (alg) {
    case VEJ_SDP_FP_SHA1:
        return "sha-1";
    case VEJ_SDP_FP_SHA224:
        return "sha-224";
    case VEJ_SDP_FP_SHA256:
        return "sha-256";
    case VEJ_SDP_FP_SHA384:
        return "sha-384";
    case VEJ_SDP_FP_SHA512:
        return "sha-512";
    case VEJ_SDP_FP_NONE:
        break;
    }
    return NULL;
}

int
vej_sdp_fingerprint_format(enum vej_sdp_fingerprint_alg alg, const uint8_t *fp, size_t len,
                           char *buf, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need;

    if (!fp || !buf || len == 0 || len != vej__sdp_fingerprint_size(alg))
        return VEJ_SDP_EINVAL;
    need = len * 3; /* "XX:" per byte, the last ':' becomes the NUL */
    if (size < need)
        return VEJ_SDP_ENOSPACE;
    for (size_t i = 0; i < len; i++) {
        buf[i * 3] = hex[fp[i] >> 4];
        buf[i * 3 + 1] = hex[fp[i] & 0xf];
        buf[i * 3 + 2] = i + 1 < len ? ':' : '\0';
    }
    return (int)(need - 1);
}

/* An m= line (after leading blanks): "m=" MEDIA SP PORT["/"N] ...; the
 * port must be 1-5 digits, so that GstSDPMessage's atoi cannot wrap. */
static bool
mline_port_ok(const char *line, size_t len)
{
    size_t i = 2, start;
    uint64_t port;

    while (i < len && !g_ascii_isspace(line[i]))
        i++;
    while (i < len && g_ascii_isspace(line[i]))
        i++;
    start = i;
    while (i < len && !g_ascii_isspace(line[i]) && line[i] != '/')
        i++;
    return vej__sdp_parse_uint_n(line + start, i - start, 65535, &port);
}

/* Too many m-lines is reported before a long line: it is the limit the
 * gateway counts (m-lines per publish offer), and a long BUNDLE group
 * line is the usual consequence of many m-lines. */
enum vej_sdp_status
vej__sdp_prescan(const char *sdp, size_t len, const struct vej_sdp_limits *limits,
                 const char **reason)
{
    size_t n_mlines = 0, pos = 0;
    bool long_line = false, bad_port = false;

    if (len > limits->max_sdp_bytes)
        return vej__sdp_fail(reason, VEJ_SDP_ETOOBIG, "the SDP is longer than the limit");
    if (len == 0)
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "the SDP is empty");
    if (memchr(sdp, '\0', len))
        return vej__sdp_fail(reason, VEJ_SDP_EENCODING, "the SDP contains a NUL byte");
    if (!g_utf8_validate_len(sdp, len, NULL))
        return vej__sdp_fail(reason, VEJ_SDP_EENCODING, "the SDP is not valid UTF-8");
    while (pos < len) {
        const char *nl = memchr(sdp + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - sdp) : len;
        size_t start = pos;

        /* GstSDPMessage skips blanks (CR, tabs, ...) before a line's type. */
        while (start < end && g_ascii_isspace(sdp[start]))
            start++;
        long_line |= end - start > limits->max_attribute_len;
        if (end - start >= 2 && sdp[start] == 'm' && sdp[start + 1] == '=') {
            if (++n_mlines > limits->max_mlines)
                return vej__sdp_fail(reason, VEJ_SDP_ETOOMANY,
                                     "the SDP has more m-lines than allowed");
            bad_port |= !mline_port_ok(sdp + start, end - start);
        }
        pos = end + 1;
    }
    if (long_line)
        return vej__sdp_fail(reason, VEJ_SDP_ETOOBIG, "an SDP line is longer than the limit");
    if (bad_port)
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "an m= line has an invalid port");
    return VEJ_SDP_OK;
}

enum vej_sdp_status
vej__sdp_load(const char *sdp, size_t len, const struct vej_sdp_limits *limits, GstSDPMessage **msg,
              struct vej_sdp_description *out, const char **reason)
{
    struct vej_sdp_limits lim;
    enum vej_sdp_status st;
    const GstSDPOrigin *o;
    uint64_t v;
    g_autofree char *text = NULL;

    *msg = NULL;
    vej__sdp_limits_effective(limits, &lim);
    if (!sdp)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no SDP given");
    st = vej__sdp_prescan(sdp, len, &lim, reason);
    if (st != VEJ_SDP_OK)
        return st;
    text = g_strndup(sdp, len);
    if (gst_sdp_message_new_from_text(text, msg) != GST_SDP_OK || !*msg)
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "the SDP could not be parsed");
    if (g_strcmp0(gst_sdp_message_get_version(*msg), "0") != 0)
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "the SDP does not start with v=0");
    o = gst_sdp_message_get_origin(*msg);
    if (!o || !o->username || !o->sess_id || !o->sess_version || !o->nettype || !o->addrtype ||
        !o->addr || !o->addr[0])
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "the SDP has no complete o= line");
    if (gst_sdp_message_medias_len(*msg) > lim.max_mlines)
        return vej__sdp_fail(reason, VEJ_SDP_ETOOMANY, "the SDP has more m-lines than allowed");
    if (vej__sdp_parse_uint(o->sess_id, UINT64_MAX, &v))
        out->session_id = v;
    if (vej__sdp_parse_uint(o->sess_version, UINT64_MAX, &v))
        out->session_version = v;
    return VEJ_SDP_OK;
}
