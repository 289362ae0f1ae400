/* sdp-media.c - reading one m-line's attributes out of a GstSDPMedia into
 * plain data, and choosing its codec.
 *
 * Attribute values come from GstSDPMessage already split at the first
 * ':' (key, value); flag attributes have the value "". Each attribute we
 * understand has one handler in a table; the others are ignored. */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

struct media_ctx {
    struct vej_sdp_media *media;
    struct vej__sdp_media_refs *refs;
    struct vej_sdp_description *desc;
    uint32_t fb_all; /* a=rtcp-fb:* */
    bool have_mid;
    bool have_fid;
    bool have_first_ssrc;
    uint32_t first_ssrc;
    uint32_t fid_primary;
    uint32_t fid_rtx;
    uint64_t rtpmap_seen[2]; /* bit per PT: only the first rtpmap/fmtp counts, */
    uint64_t fmtp_seen[2];   /* as vej__sdp_fmtp_for returns the first */
    const char **reason;
};

/* Marks pt in the set; false when it was already there. */
static bool
first_for_pt(uint64_t *set, uint8_t pt)
{
    uint64_t bit = UINT64_C(1) << (pt & 63);

    if (set[pt >> 6] & bit)
        return false;
    set[pt >> 6] |= bit;
    return true;
}

typedef enum vej_sdp_status (*attr_handler)(struct media_ctx *c, const char *value);

static struct vej_sdp_payload *
find_payload(struct vej_sdp_media *m, uint64_t pt)
{
    for (size_t i = 0; i < m->n_payloads; i++) {
        if (m->payloads[i].pt == pt)
            return &m->payloads[i];
    }
    return NULL;
}

/* "NUMBER rest": the number (<= max) before the first space, and rest
 * after the spaces that follow it. */
static bool
leading_uint(const char *value, uint64_t max, uint64_t *n, const char **rest)
{
    const char *sp = strchr(value, ' ');

    if (!sp || !vej__sdp_parse_uint_n(value, (size_t)(sp - value), max, n))
        return false;
    while (*sp == ' ')
        sp++;
    *rest = sp;
    return true;
}

/* Splits "PT rest": the payload (NULL when unknown or malformed) and rest. */
static struct vej_sdp_payload *
payload_of(struct vej_sdp_media *m, const char *value, const char **rest)
{
    uint64_t pt;

    return leading_uint(value, 127, &pt, rest) ? find_payload(m, pt) : NULL;
}

static enum vej_sdp_status
on_mid(struct media_ctx *c, const char *value)
{
    if (c->have_mid)
        return vej__sdp_fail(c->reason, VEJ_SDP_EMID, "an m-line has more than one a=mid");
    if (!vej__sdp_is_token(value, VEJ_SDP_MID_LEN - 1))
        return vej__sdp_fail(c->reason, VEJ_SDP_EMID,
                             "an a=mid is empty, longer than 32 bytes or not a token");
    vej__sdp_copy(c->media->mid, sizeof c->media->mid, value);
    c->have_mid = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_sendrecv(struct media_ctx *c, const char *value)
{
    c->media->direction = VEJ_SDP_DIR_SENDRECV;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_sendonly(struct media_ctx *c, const char *value)
{
    c->media->direction = VEJ_SDP_DIR_SENDONLY;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_recvonly(struct media_ctx *c, const char *value)
{
    c->media->direction = VEJ_SDP_DIR_RECVONLY;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_inactive(struct media_ctx *c, const char *value)
{
    c->media->direction = VEJ_SDP_DIR_INACTIVE;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_rtcp_mux(struct media_ctx *c, const char *value)
{
    c->media->rtcp_mux = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_rtcp_rsize(struct media_ctx *c, const char *value)
{
    c->media->rtcp_rsize = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_ice_ufrag(struct media_ctx *c, const char *value)
{
    if (!c->refs->ice_ufrag)
        c->refs->ice_ufrag = value;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_ice_pwd(struct media_ctx *c, const char *value)
{
    if (!c->refs->ice_pwd)
        c->refs->ice_pwd = value;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_ice_options(struct media_ctx *c, const char *value)
{
    g_auto(GStrv) opts = g_strsplit(value, " ", -1);

    for (size_t i = 0; opts[i]; i++) {
        if (strcmp(opts[i], "trickle") == 0)
            c->desc->ice_trickle = true;
    }
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_fingerprint(struct media_ctx *c, const char *value)
{
    if (!c->refs->fingerprint)
        c->refs->fingerprint = value;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_setup(struct media_ctx *c, const char *value)
{
    if (!c->refs->setup)
        c->refs->setup = value;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_bundle_only(struct media_ctx *c, const char *value)
{
    c->refs->bundle_only = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_extmap_allow_mixed(struct media_ctx *c, const char *value)
{
    c->desc->extmap_allow_mixed = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_end_of_candidates(struct media_ctx *c, const char *value)
{
    c->desc->end_of_candidates = true;
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
on_simulcast(struct media_ctx *c, const char *value)
{
    c->media->simulcast = true;
    return VEJ_SDP_OK;
}

/* "ID[/direction] URI [attributes]"; ids outside 1-14, 16-255 ignored. */
static enum vej_sdp_status
on_extmap(struct media_ctx *c, const char *value)
{
    size_t idlen = strcspn(value, "/ ");
    const char *uri = strchr(value, ' ');
    size_t urilen;
    uint64_t id;

    if (!uri || !vej__sdp_parse_uint_n(value, idlen, 255, &id) || id == 0 || id == 15)
        return VEJ_SDP_OK;
    while (*uri == ' ')
        uri++;
    urilen = strcspn(uri, " ");
#define URI_IS(u) (urilen == strlen(u) && strncmp(uri, (u), urilen) == 0)
    if (URI_IS(VEJ__SDP_URI_MID))
        c->media->extmap.mid = (uint8_t)id;
    else if (URI_IS(VEJ__SDP_URI_ABS_SEND_TIME))
        c->media->extmap.abs_send_time = (uint8_t)id;
    else if (URI_IS(VEJ__SDP_URI_TRANSPORT_CC))
        c->media->extmap.transport_cc = (uint8_t)id;
    else if (URI_IS(VEJ__SDP_URI_AUDIO_LEVEL))
        c->media->extmap.audio_level = (uint8_t)id;
#undef URI_IS
    return VEJ_SDP_OK;
}

static enum vej_sdp_codec
codec_from_name(const char *name, size_t len)
{
    static const struct {
        const char *name;
        enum vej_sdp_codec codec;
    } table[] = {
        {"opus", VEJ_SDP_CODEC_OPUS},
        {"VP8", VEJ_SDP_CODEC_VP8},
        {"H264", VEJ_SDP_CODEC_H264},
        {"VP9", VEJ_SDP_CODEC_VP9},
        {"AV1", VEJ_SDP_CODEC_AV1},
        {"AV1X", VEJ_SDP_CODEC_AV1},
        {"H265", VEJ_SDP_CODEC_H265},
        {"rtx", VEJ_SDP_CODEC_RTX},
        {"red", VEJ_SDP_CODEC_RED},
        {"ulpfec", VEJ_SDP_CODEC_ULPFEC},
        {"flexfec-03", VEJ_SDP_CODEC_FLEXFEC},
        {"telephone-event", VEJ_SDP_CODEC_TELEPHONE_EVENT},
        {"CN", VEJ_SDP_CODEC_CN},
        {"PCMU", VEJ_SDP_CODEC_OTHER_AUDIO},
        {"PCMA", VEJ_SDP_CODEC_OTHER_AUDIO},
        {"G722", VEJ_SDP_CODEC_OTHER_AUDIO},
        {"ISAC", VEJ_SDP_CODEC_OTHER_AUDIO},
        {"ILBC", VEJ_SDP_CODEC_OTHER_AUDIO},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
        if (strlen(table[i].name) == len && g_ascii_strncasecmp(table[i].name, name, len) == 0)
            return table[i].codec;
    }
    return VEJ_SDP_CODEC_OTHER;
}

/* "PT name/rate[/channels]" */
static enum vej_sdp_status
on_rtpmap(struct media_ctx *c, const char *value)
{
    const char *rest = NULL, *slash, *slash2;
    struct vej_sdp_payload *p = payload_of(c->media, value, &rest);
    uint64_t rate, ch = 0;

    if (!p || !first_for_pt(c->rtpmap_seen, p->pt))
        return VEJ_SDP_OK;
    slash = strchr(rest, '/');
    if (!slash || slash == rest)
        return VEJ_SDP_OK;
    slash2 = strchr(slash + 1, '/');
    if (!vej__sdp_parse_uint_n(slash + 1, slash2 ? (size_t)(slash2 - slash - 1) : strlen(slash + 1),
                               UINT32_MAX, &rate))
        return VEJ_SDP_OK;
    if (slash2 && !vej__sdp_parse_uint(slash2 + 1, 255, &ch))
        return VEJ_SDP_OK;
    p->codec = codec_from_name(rest, (size_t)(slash - rest));
    p->clock_rate = (uint32_t)rate;
    p->channels = (uint8_t)ch;
    return VEJ_SDP_OK;
}

static bool
parse_hex24(const char *s, size_t len, uint32_t *out)
{
    uint32_t v = 0;

    if (len != 6)
        return false;
    for (size_t i = 0; i < len; i++) {
        int d = g_ascii_xdigit_value(s[i]);
        if (d < 0)
            return false;
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* One fmtp parameter "key=value" (spaces around both trimmed). */
static void
fmtp_param(struct vej_sdp_payload *p, const char *kv)
{
    const char *eq = strchr(kv, '=');
    g_autofree char *key = NULL, *val = NULL;
    uint64_t n;
    uint32_t plid;

    if (!eq)
        return;
    key = g_strstrip(g_strndup(kv, (size_t)(eq - kv)));
    val = g_strstrip(g_strdup(eq + 1));
    if (g_ascii_strcasecmp(key, "apt") == 0 && vej__sdp_parse_uint(val, 127, &n)) {
        p->has_apt = true;
        p->apt = (uint8_t)n;
    } else if (g_ascii_strcasecmp(key, "packetization-mode") == 0 &&
               vej__sdp_parse_uint(val, 2, &n)) {
        p->h264_packetization_mode = (uint8_t)n;
    } else if (g_ascii_strcasecmp(key, "profile-level-id") == 0 &&
               parse_hex24(val, strlen(val), &plid)) {
        p->h264_profile_level_id = plid;
    }
}

static enum vej_sdp_status
on_fmtp(struct media_ctx *c, const char *value)
{
    const char *rest = NULL;
    struct vej_sdp_payload *p = payload_of(c->media, value, &rest);
    g_auto(GStrv) params = NULL;

    if (!p || !first_for_pt(c->fmtp_seen, p->pt))
        return VEJ_SDP_OK;
    params = g_strsplit(rest, ";", 64);
    for (size_t i = 0; params[i]; i++)
        fmtp_param(p, params[i]);
    return VEJ_SDP_OK;
}

static uint32_t
fb_bit(const char *fb)
{
    if (strcmp(fb, "nack") == 0)
        return VEJ_SDP_FB_NACK;
    if (strcmp(fb, "nack pli") == 0)
        return VEJ_SDP_FB_NACK_PLI;
    if (strcmp(fb, "ccm fir") == 0)
        return VEJ_SDP_FB_CCM_FIR;
    if (strcmp(fb, "goog-remb") == 0)
        return VEJ_SDP_FB_GOOG_REMB;
    if (strcmp(fb, "transport-cc") == 0)
        return VEJ_SDP_FB_TRANSPORT_CC;
    return 0;
}

/* "PT|* type [parameter]" */
static enum vej_sdp_status
on_rtcp_fb(struct media_ctx *c, const char *value)
{
    const char *rest = NULL;
    struct vej_sdp_payload *p;

    if (value[0] == '*' && value[1] == ' ') {
        rest = value + 1;
        while (*rest == ' ')
            rest++;
        c->fb_all |= fb_bit(rest);
        return VEJ_SDP_OK;
    }
    p = payload_of(c->media, value, &rest);
    if (p)
        p->rtcp_fb |= fb_bit(rest);
    return VEJ_SDP_OK;
}

/* "SSRC attribute[:value]": remembers the first SSRC. */
static enum vej_sdp_status
on_ssrc(struct media_ctx *c, const char *value)
{
    uint64_t ssrc;

    if (!c->have_first_ssrc &&
        vej__sdp_parse_uint_n(value, strcspn(value, " "), UINT32_MAX, &ssrc)) {
        c->have_first_ssrc = true;
        c->first_ssrc = (uint32_t)ssrc;
    }
    return VEJ_SDP_OK;
}

/* "FID primary rtx" (the first one) or "SIM ..." (simulcast). */
static enum vej_sdp_status
on_ssrc_group(struct media_ctx *c, const char *value)
{
    g_auto(GStrv) f = g_strsplit(value, " ", 4);
    uint64_t a, b;

    if (g_strv_length(f) >= 1 && strcmp(f[0], "SIM") == 0)
        c->media->simulcast = true;
    if (c->have_fid || g_strv_length(f) != 3 || strcmp(f[0], "FID") != 0)
        return VEJ_SDP_OK;
    if (vej__sdp_parse_uint(f[1], UINT32_MAX, &a) && vej__sdp_parse_uint(f[2], UINT32_MAX, &b)) {
        c->have_fid = true;
        c->fid_primary = (uint32_t)a;
        c->fid_rtx = (uint32_t)b;
    }
    return VEJ_SDP_OK;
}

/* "stream [track]"; ids that do not fit are left empty. */
static void
set_msid(struct vej_sdp_media *m, const char *value)
{
    g_auto(GStrv) f = g_strsplit(value, " ", 3);

    if (!f[0] || !f[0][0])
        return;
    if (!vej__sdp_copy(m->msid_stream, sizeof m->msid_stream, f[0]))
        return;
    if (f[1])
        vej__sdp_copy(m->msid_track, sizeof m->msid_track, f[1]);
}

static enum vej_sdp_status
on_msid(struct media_ctx *c, const char *value)
{
    if (!c->media->msid_stream[0])
        set_msid(c->media, value);
    return VEJ_SDP_OK;
}

static const struct {
    const char *key;
    attr_handler handler;
} media_handlers[] = {
    {"mid", on_mid},
    {"sendrecv", on_sendrecv},
    {"sendonly", on_sendonly},
    {"recvonly", on_recvonly},
    {"inactive", on_inactive},
    {"rtcp-mux", on_rtcp_mux},
    {"rtcp-rsize", on_rtcp_rsize},
    {"ice-ufrag", on_ice_ufrag},
    {"ice-pwd", on_ice_pwd},
    {"ice-options", on_ice_options},
    {"fingerprint", on_fingerprint},
    {"setup", on_setup},
    {"bundle-only", on_bundle_only},
    {"extmap", on_extmap},
    {"extmap-allow-mixed", on_extmap_allow_mixed},
    {"end-of-candidates", on_end_of_candidates},
    {"simulcast", on_simulcast},
    {"rid", on_simulcast},
    {"rtpmap", on_rtpmap},
    {"fmtp", on_fmtp},
    {"rtcp-fb", on_rtcp_fb},
    {"ssrc", on_ssrc},
    {"ssrc-group", on_ssrc_group},
    {"msid", on_msid},
};

/* The m= line: kind, port, proto, payload types. */
static enum vej_sdp_status
read_mline(const GstSDPMedia *gm, struct vej_sdp_media *m, const char **reason)
{
    const char *name = gst_sdp_media_get_media(gm);
    const char *proto = gst_sdp_media_get_proto(gm);
    guint n_fmts = gst_sdp_media_formats_len(gm);
    bool rtp;

    if (!name || !name[0] || !proto || !proto[0] || n_fmts == 0 ||
        !gst_sdp_media_get_format(gm, 0)[0])
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "an m= line is incomplete");
    if (gst_sdp_media_get_port(gm) > 65535)
        return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX, "an m= line has an invalid port");
    m->port = (uint16_t)gst_sdp_media_get_port(gm);
    m->kind = strcmp(name, "audio") == 0         ? VEJ_SDP_KIND_AUDIO
              : strcmp(name, "video") == 0       ? VEJ_SDP_KIND_VIDEO
              : strcmp(name, "application") == 0 ? VEJ_SDP_KIND_APPLICATION
                                                 : VEJ_SDP_KIND_OTHER;
    vej__sdp_copy_trunc(m->media_name, sizeof m->media_name, name);
    vej__sdp_copy_trunc(m->proto, sizeof m->proto, proto);
    vej__sdp_copy_trunc(m->first_format, sizeof m->first_format, gst_sdp_media_get_format(gm, 0));
    rtp = m->kind == VEJ_SDP_KIND_AUDIO || m->kind == VEJ_SDP_KIND_VIDEO;
    for (guint i = 0; rtp && i < n_fmts; i++) {
        const char *f = gst_sdp_media_get_format(gm, i);
        uint64_t pt;

        if (!f[0] && i + 1 == n_fmts)
            break; /* GstSDPMessage adds "" for a trailing space */
        if (!vej__sdp_parse_uint(f, 127, &pt))
            return vej__sdp_fail(reason, VEJ_SDP_ESYNTAX,
                                 "an m= line lists a format that is not a payload type");
        if (m->n_payloads < VEJ_SDP_MAX_PAYLOADS && !find_payload(m, pt))
            m->payloads[m->n_payloads++].pt = (uint8_t)pt;
    }
    return VEJ_SDP_OK;
}

/* Second pass over a=ssrc for the primary SSRC's cname (and msid when
 * there is no a=msid). */
static void
read_ssrc_details(const GstSDPMedia *gm, struct vej_sdp_media *m)
{
    for (guint i = 0;; i++) {
        const char *v = gst_sdp_media_get_attribute_val_n(gm, "ssrc", i), *rest;
        uint64_t ssrc;

        if (!v)
            break;
        if (!leading_uint(v, UINT32_MAX, &ssrc, &rest) || ssrc != m->ssrc)
            continue;
        if (g_str_has_prefix(rest, "cname:") && !m->cname[0])
            vej__sdp_copy_trunc(m->cname, sizeof m->cname, rest + 6);
        else if (g_str_has_prefix(rest, "msid:") && !m->msid_stream[0])
            set_msid(m, rest + 5);
    }
}

enum vej_sdp_status
vej__sdp_read_media(const GstSDPMedia *gm, struct vej_sdp_media *media,
                    struct vej__sdp_media_refs *refs, struct vej_sdp_description *desc,
                    const char **reason)
{
    struct media_ctx c = {.media = media, .refs = refs, .desc = desc, .reason = reason};
    enum vej_sdp_status st = read_mline(gm, media, reason);

    memset(refs, 0, sizeof *refs);
    for (guint i = 0; st == VEJ_SDP_OK && i < gst_sdp_media_attributes_len(gm); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(gm, i);
        for (size_t h = 0; h < G_N_ELEMENTS(media_handlers); h++) {
            if (strcmp(a->key, media_handlers[h].key) == 0) {
                st = media_handlers[h].handler(&c, a->value ? a->value : "");
                break;
            }
        }
    }
    if (st != VEJ_SDP_OK)
        return st;
    if (!c.have_mid)
        return vej__sdp_fail(reason, VEJ_SDP_EMID, "an m-line has no a=mid");
    for (size_t i = 0; i < media->n_payloads; i++)
        media->payloads[i].rtcp_fb |= c.fb_all;
    if (c.have_fid || c.have_first_ssrc) {
        media->has_ssrc = true;
        media->ssrc = c.have_fid ? c.fid_primary : c.first_ssrc;
        media->has_rtx_ssrc = c.have_fid;
        media->rtx_ssrc = c.fid_rtx;
        read_ssrc_details(gm, media);
    }
    return VEJ_SDP_OK;
}

/* RFC 6184 profile-level-id: Baseline or Constrained Baseline (the
 * patterns of libwebrtc's h264_profile_level_id), any level. Absent means
 * 42000A, Baseline. */
static bool
h264_profile_ok(uint32_t plid)
{
    unsigned idc = plid >> 16, iop = (plid >> 8) & 0xff;

    if (plid == 0)
        return true;
    if (iop & 0x0f)
        return false;
    if (idc == 0x42)
        return true; /* x1xx0000 constrained baseline, x0xx0000 baseline */
    if (idc == 0x4d || idc == 0x58)
        return (iop & 0x80) != 0; /* constraint_set0: baseline-compatible */
    return false;
}

static bool
payload_usable(const struct vej_sdp_payload *p, enum vej_sdp_kind kind, uint32_t allowed)
{
    if (p->codec >= 32 || !(allowed & VEJ_SDP_CODEC_BIT(p->codec)))
        return false;
    switch (p->codec) {
    case VEJ_SDP_CODEC_OPUS:
        return kind == VEJ_SDP_KIND_AUDIO && p->clock_rate == 48000 && p->channels == 2;
    case VEJ_SDP_CODEC_VP8:
        return kind == VEJ_SDP_KIND_VIDEO && p->clock_rate == 90000;
    case VEJ_SDP_CODEC_H264:
        return kind == VEJ_SDP_KIND_VIDEO && p->clock_rate == 90000 &&
               p->h264_packetization_mode == 1 && h264_profile_ok(p->h264_profile_level_id);
    default:
        return false;
    }
}

const char *
vej__sdp_fmtp_for(const GstSDPMedia *gm, unsigned pt)
{
    for (guint i = 0;; i++) {
        const char *v = gst_sdp_media_get_attribute_val_n(gm, "fmtp", i), *rest;
        uint64_t n;

        if (!v)
            return NULL;
        if (leading_uint(v, 127, &n, &rest) && n == pt)
            return rest;
    }
}

static bool
printable_ascii(const char *s)
{
    for (; s && *s; s++) {
        if (*s < ' ' || *s > '~')
            return false;
    }
    return true;
}

bool
vej__sdp_choose_codec(const GstSDPMedia *gm, struct vej_sdp_media *m, uint32_t allowed)
{
    struct vej_sdp_payload *chosen = NULL;

    for (size_t i = 0; i < m->n_payloads; i++) {
        struct vej_sdp_payload *p = &m->payloads[i];
        const char *fmtp;

        p->usable = payload_usable(p, m->kind, allowed);
        if (!p->usable || chosen)
            continue;
        fmtp = vej__sdp_fmtp_for(gm, p->pt);
        if (!printable_ascii(fmtp) || !vej__sdp_copy(m->fmtp, sizeof m->fmtp, fmtp ? fmtp : "")) {
            /* An fmtp we could not echo whole, or that a subscribe offer
             * (vej_sdp_make_offer) would refuse. */
            p->usable = false;
            continue;
        }
        chosen = p;
    }
    if (!chosen)
        return false;
    m->codec = chosen->codec;
    m->pt = chosen->pt;
    m->clock_rate = chosen->clock_rate;
    m->channels = chosen->channels;
    m->rtcp_fb = chosen->rtcp_fb;
    /* RTX is answered for video whose NACKs the gateway will send: with
     * generic NACK offered for the chosen PT. */
    bool nack = m->kind == VEJ_SDP_KIND_VIDEO && (m->rtcp_fb & VEJ_SDP_FB_NACK);
    for (size_t i = 0; nack && i < m->n_payloads; i++) {
        const struct vej_sdp_payload *p = &m->payloads[i];
        if (p->codec == VEJ_SDP_CODEC_RTX && p->clock_rate == 90000 && p->has_apt &&
            p->apt == chosen->pt) {
            m->has_rtx = true;
            m->rtx_pt = p->pt;
            break;
        }
    }
    return true;
}
