/* sdp-write.c - the gateway's SDP: the answer on the publish PC and the
 * offer on the subscribe PC, built as a GstSDPMessage and written with
 * gst_sdp_message_as_text (CRLF line ends). */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define PROTO "UDP/TLS/RTP/SAVPF"

/* Printable ASCII without spaces, 1..max bytes (cname, msid ids). */
static bool
is_word(const char *s, size_t max_len)
{
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] <= ' ' || s[n] > '~')
            return false;
    }
    return n >= 1 && n <= max_len;
}

/* Printable ASCII, spaces allowed (fmtp). */
static bool
is_line_text(const char *s)
{
    for (; *s; s++) {
        if (*s < ' ' || *s > '~')
            return false;
    }
    return true;
}

static enum vej_sdp_status
check_local(const struct vej_sdp_local *local, const char **reason)
{
    char buf[VEJ_SDP_CANDIDATE_LEN];

    if (!local)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no local parameters given");
    if (local->session_id >= (UINT64_C(1) << 63))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "the session id needs more than 63 bits");
    if (!vej__sdp_is_ice_chars(local->ice_ufrag, 4, VEJ_SDP_ICE_UFRAG_LEN - 1) ||
        !vej__sdp_is_ice_chars(local->ice_pwd, 22, VEJ_SDP_ICE_PWD_LEN - 1))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "the local ICE ufrag or pwd is malformed");
    if (local->fingerprint_len == 0 ||
        local->fingerprint_len != vej__sdp_fingerprint_size(local->fingerprint_alg))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL,
                             "the local fingerprint does not match its algorithm");
    if (local->n_candidates > VEJ_SDP_MAX_CANDIDATES)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "too many local candidates");
    for (size_t i = 0; i < local->n_candidates; i++) {
        if (vej_sdp_candidate_format(&local->candidates[i], buf, sizeof buf) < 0)
            return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a local candidate is malformed");
    }
    return VEJ_SDP_OK;
}

static GstSDPMessage *
new_message(const struct vej_sdp_local *local)
{
    GstSDPMessage *msg = NULL;
    char id[24], version[24];

    gst_sdp_message_new(&msg);
    snprintf(id, sizeof id, "%" G_GUINT64_FORMAT, local->session_id);
    snprintf(version, sizeof version, "%" G_GUINT64_FORMAT, local->session_version);
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", id, version, "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    return msg;
}

static void
format_fingerprint(const struct vej_sdp_local *local, char *fp, size_t size)
{
    char hex[VEJ_SDP_FINGERPRINT_TEXT];

    vej_sdp_fingerprint_format(local->fingerprint_alg, local->fingerprint, local->fingerprint_len,
                               hex, sizeof hex);
    snprintf(fp, size, "%s %s", vej__sdp_fingerprint_alg_name(local->fingerprint_alg), hex);
}

/* Session attributes common to both writers; bundle is "BUNDLE mid...".
 * The answer also has the fingerprint at session level (webrtcbin 1.22
 * refuses an answer in which an m-line has no fingerprint at either
 * level; see also the rejected m-lines in vej_sdp_make_answer). */
static void
add_session_attributes(GstSDPMessage *msg, const struct vej_sdp_local *local, const GString *bundle,
                       bool allow_mixed, bool session_fingerprint)
{
    if (bundle->len > strlen("BUNDLE"))
        gst_sdp_message_add_attribute(msg, "group", bundle->str);
    if (session_fingerprint) {
        char fp[VEJ_SDP_FINGERPRINT_TEXT + 16];
        format_fingerprint(local, fp, sizeof fp);
        gst_sdp_message_add_attribute(msg, "fingerprint", fp);
    }
    gst_sdp_message_add_attribute(msg, "ice-options", "trickle");
    if (local->ice_lite)
        gst_sdp_message_add_attribute(msg, "ice-lite", NULL);
    if (allow_mixed)
        gst_sdp_message_add_attribute(msg, "extmap-allow-mixed", NULL);
    gst_sdp_message_add_attribute(msg, "msid-semantic", " WMS");
}

/* m= line and c=: for a live m-line (port 9) the first candidate's
 * address and port when there is one (every bundled m-line carries the
 * same default), else port 9 and 0.0.0.0 (trickle); port 0 rejects. */
static void
start_media(GstSDPMedia *gm, const char *kind, const char *proto, const char *format,
            const struct vej_sdp_local *local, guint port)
{
    const struct vej_sdp_host_candidate *c = local->n_candidates ? &local->candidates[0] : NULL;
    memset(gm, 0, sizeof *gm);
    gst_sdp_media_init(gm);
    gst_sdp_media_set_media(gm, kind);
    gst_sdp_media_set_port_info(gm, port == 9 && c ? c->port : port, 0);
    gst_sdp_media_set_proto(gm, proto);
    gst_sdp_media_add_format(gm, format);
    if (c && port != 0)
        gst_sdp_media_add_connection(gm, "IN", strchr(c->address, ':') ? "IP6" : "IP4", c->address,
                                     0, 0);
    else
        gst_sdp_media_add_connection(gm, "IN", "IP4", "0.0.0.0", 0, 0);
}

static void
add_transport(GstSDPMedia *gm, const struct vej_sdp_local *local, const char *setup)
{
    char fp[VEJ_SDP_FINGERPRINT_TEXT + 16];

    gst_sdp_media_add_attribute(gm, "ice-ufrag", local->ice_ufrag);
    gst_sdp_media_add_attribute(gm, "ice-pwd", local->ice_pwd);
    format_fingerprint(local, fp, sizeof fp);
    gst_sdp_media_add_attribute(gm, "fingerprint", fp);
    gst_sdp_media_add_attribute(gm, "setup", setup);
}

static void
add_candidates(GstSDPMedia *gm, const struct vej_sdp_local *local)
{
    char buf[VEJ_SDP_CANDIDATE_LEN];

    for (size_t i = 0; i < local->n_candidates; i++) {
        if (vej_sdp_candidate_format(&local->candidates[i], buf, sizeof buf) > 0)
            gst_sdp_media_add_attribute(gm, "candidate", buf + strlen("candidate:"));
    }
    if (local->end_of_candidates)
        gst_sdp_media_add_attribute(gm, "end-of-candidates", NULL);
}

static void
add_extmap(GstSDPMedia *gm, uint8_t id, const char *uri)
{
    char buf[128];

    if (id == 0)
        return;
    snprintf(buf, sizeof buf, "%u %s", id, uri);
    gst_sdp_media_add_attribute(gm, "extmap", buf);
}

/* rtpmap, rtcp-fb (fb & what the kind supports), fmtp; then, when rtx_pt
 * is not 0, the RTX PT's rtpmap and fmtp (its format is on the m= line
 * already). */
static void
add_codec(GstSDPMedia *gm, enum vej_sdp_kind kind, enum vej_sdp_codec codec, uint8_t pt,
          uint32_t fb, const char *fmtp, uint8_t rtx_pt)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } fbs[] = {{VEJ_SDP_FB_GOOG_REMB, "goog-remb"},
               {VEJ_SDP_FB_CCM_FIR, "ccm fir"},
               {VEJ_SDP_FB_NACK, "nack"},
               {VEJ_SDP_FB_NACK_PLI, "nack pli"}};
    char buf[VEJ_SDP_FMTP_LEN + 8];

    if (codec == VEJ_SDP_CODEC_OPUS)
        snprintf(buf, sizeof buf, "%u opus/48000/2", pt);
    else
        snprintf(buf, sizeof buf, "%u %s/90000", pt, vej_sdp_codec_name(codec));
    gst_sdp_media_add_attribute(gm, "rtpmap", buf);
    if (kind == VEJ_SDP_KIND_VIDEO) {
        for (size_t i = 0; i < G_N_ELEMENTS(fbs); i++) {
            if (!(fb & fbs[i].bit & VEJ_SDP_FB_SUPPORTED_VIDEO))
                continue;
            snprintf(buf, sizeof buf, "%u %s", pt, fbs[i].name);
            gst_sdp_media_add_attribute(gm, "rtcp-fb", buf);
        }
    }
    if (fmtp && fmtp[0]) {
        snprintf(buf, sizeof buf, "%u %s", pt, fmtp);
        gst_sdp_media_add_attribute(gm, "fmtp", buf);
    }
    if (rtx_pt) {
        snprintf(buf, sizeof buf, "%u rtx/90000", rtx_pt);
        gst_sdp_media_add_attribute(gm, "rtpmap", buf);
        snprintf(buf, sizeof buf, "%u apt=%u", rtx_pt, pt);
        gst_sdp_media_add_attribute(gm, "fmtp", buf);
    }
}

static void
add_format_number(GstSDPMedia *gm, uint8_t pt)
{
    char fmt[8];

    snprintf(fmt, sizeof fmt, "%u", pt);
    gst_sdp_media_add_format(gm, fmt);
}

static char *
finish(GstSDPMessage *msg)
{
    char *text = gst_sdp_message_as_text(msg);

    gst_sdp_message_free(msg);
    return text;
}

/* One accepted m-line of the answer. */
static void
answer_media(GstSDPMedia *gm, const struct vej_sdp_media *m, const struct vej_sdp_local *local,
             bool first)
{
    char fmt[8];
    bool receives = m->direction == VEJ_SDP_DIR_SENDRECV || m->direction == VEJ_SDP_DIR_SENDONLY;
    uint8_t rtx_pt = m->has_rtx ? m->rtx_pt : 0;

    snprintf(fmt, sizeof fmt, "%u", m->pt);
    start_media(gm, m->kind == VEJ_SDP_KIND_AUDIO ? "audio" : "video",
                is_word(m->proto, VEJ_SDP_TOKEN_LEN - 1) ? m->proto : PROTO, fmt, local, 9);
    if (rtx_pt)
        add_format_number(gm, rtx_pt);
    add_transport(gm, local, "passive");
    gst_sdp_media_add_attribute(gm, "mid", m->mid);
    add_extmap(gm, m->extmap.mid, VEJ__SDP_URI_MID);
    if (m->kind == VEJ_SDP_KIND_AUDIO && m->extmap.audio_level != m->extmap.mid)
        add_extmap(gm, m->extmap.audio_level, VEJ__SDP_URI_AUDIO_LEVEL);
    gst_sdp_media_add_attribute(gm, receives ? "recvonly" : "inactive", NULL);
    gst_sdp_media_add_attribute(gm, "rtcp-mux", NULL);
    add_codec(gm, m->kind, m->codec, m->pt, m->rtcp_fb, m->fmtp, rtx_pt);
    if (first)
        add_candidates(gm, local);
}

/* A description not made by vej_sdp_parse_offer must not inject lines. */
static bool
answerable(const struct vej_sdp_media *m)
{
    bool fits = (m->kind == VEJ_SDP_KIND_AUDIO && m->codec == VEJ_SDP_CODEC_OPUS) ||
                (m->kind == VEJ_SDP_KIND_VIDEO &&
                 (m->codec == VEJ_SDP_CODEC_VP8 || m->codec == VEJ_SDP_CODEC_H264));

    bool rtx_ok =
        !m->has_rtx || (m->kind == VEJ_SDP_KIND_VIDEO && m->rtx_pt <= 127 && m->rtx_pt != m->pt);

    return vej__sdp_is_token(m->mid, VEJ_SDP_MID_LEN - 1) &&
           (!m->accepted || (fits && rtx_ok && m->pt <= 127 && is_line_text(m->fmtp)));
}

enum vej_sdp_status
vej_sdp_make_answer(const struct vej_sdp_description *offer, const struct vej_sdp_local *local,
                    char **sdp_out, const char **reason)
{
    g_autoptr(GString) bundle = g_string_new("BUNDLE");
    GstSDPMessage *msg;
    enum vej_sdp_status st;
    bool first = true;

    if (!offer || !sdp_out || offer->n_media > VEJ_SDP_MAX_MLINES)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no offer or no output given");
    *sdp_out = NULL;
    st = check_local(local, reason);
    if (st != VEJ_SDP_OK)
        return st;
    for (size_t i = 0; i < offer->n_media; i++) {
        if (!answerable(&offer->media[i]))
            return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "the offer description is inconsistent");
        if (offer->media[i].accepted)
            g_string_append_printf(bundle, " %s", offer->media[i].mid);
    }
    if (bundle->len == strlen("BUNDLE"))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "the offer has no accepted m-line");
    msg = new_message(local);
    add_session_attributes(msg, local, bundle, offer->extmap_allow_mixed, true);
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct vej_sdp_media *m = &offer->media[i];
        GstSDPMedia gm;

        if (m->accepted) {
            answer_media(&gm, m, local, first);
            first = false;
        } else {
            /* Echoed only when plain ASCII words (a copy may be truncated).
             * The transport attributes too: webrtcbin 1.22 refuses an
             * answer with an m-line, rejected or not, without ICE
             * credentials, a fingerprint and (at media level) a=setup. */
            start_media(
                &gm, is_word(m->media_name, VEJ_SDP_TOKEN_LEN - 1) ? m->media_name : "audio",
                is_word(m->proto, VEJ_SDP_TOKEN_LEN - 1) ? m->proto : PROTO,
                is_word(m->first_format, VEJ_SDP_TOKEN_LEN - 1) ? m->first_format : "0", local, 0);
            add_transport(&gm, local, "passive");
            gst_sdp_media_add_attribute(&gm, "mid", m->mid);
        }
        gst_sdp_message_add_media(msg, &gm); /* takes over gm's fields */
    }
    *sdp_out = finish(msg);
    return VEJ_SDP_OK;
}

static enum vej_sdp_status
check_track(const struct vej_sdp_offer *offer, size_t i, const char **reason)
{
    const struct vej_sdp_track *t = &offer->tracks[i];
    bool audio = t->kind == VEJ_SDP_KIND_AUDIO;

    if (!vej__sdp_is_token(t->mid, VEJ_SDP_MID_LEN - 1))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a track's mid is not a 1-32 byte token");
    for (size_t j = 0; j < i; j++) {
        if (strcmp(offer->tracks[j].mid, t->mid) == 0)
            return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "two tracks have the same mid");
    }
    if (!(audio && t->codec == VEJ_SDP_CODEC_OPUS) &&
        !(t->kind == VEJ_SDP_KIND_VIDEO &&
          (t->codec == VEJ_SDP_CODEC_VP8 || t->codec == VEJ_SDP_CODEC_H264)))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a track's codec does not fit its kind");
    if (t->pt < 96 || t->pt > 127)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a track's payload type is not 96-127");
    if (t->direction != VEJ_SDP_DIR_SENDONLY && t->direction != VEJ_SDP_DIR_INACTIVE)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a track is neither sendonly nor inactive");
    if (!is_line_text(t->fmtp))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "a track's fmtp is not printable ASCII");
    if (t->direction == VEJ_SDP_DIR_SENDONLY && (!is_word(t->cname, VEJ_SDP_CNAME_LEN - 1) ||
                                                 !is_word(t->msid_stream, VEJ_SDP_MSID_LEN - 1) ||
                                                 !is_word(t->msid_track, VEJ_SDP_MSID_LEN - 1)))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL,
                             "a sending track needs a cname and msid ids without spaces");
    /* RTX is written for sending video only; elsewhere rtx_pt is ignored. */
    if (t->rtx_pt && t->kind == VEJ_SDP_KIND_VIDEO && t->direction == VEJ_SDP_DIR_SENDONLY &&
        (t->rtx_pt < 96 || t->rtx_pt > 127 || t->rtx_pt == t->pt || t->rtx_ssrc == 0 ||
         t->rtx_ssrc == t->ssrc))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL,
                             "RTX needs a payload type 96-127 other than the codec's and an "
                             "SSRC of its own");
    return VEJ_SDP_OK;
}

static bool
extmap_id_ok(uint8_t id)
{
    return id != 15;
}

static enum vej_sdp_status
check_offer(const struct vej_sdp_offer *offer, const char **reason)
{
    const struct vej_sdp_extmaps *e = &offer->extmap;
    enum vej_sdp_status st = check_local(&offer->local, reason);

    if (st != VEJ_SDP_OK)
        return st;
    if (offer->n_tracks > VEJ_SDP_MAX_MLINES)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "too many tracks");
    if (e->transport_cc)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL,
                             "transport-wide-cc is not offered until transport-cc is implemented");
    if (!extmap_id_ok(e->mid) || !extmap_id_ok(e->abs_send_time) || !extmap_id_ok(e->audio_level) ||
        (e->mid && (e->mid == e->abs_send_time || e->mid == e->audio_level)) ||
        (e->abs_send_time && e->abs_send_time == e->audio_level))
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "the extmap ids are invalid or repeated");
    for (size_t i = 0; i < offer->n_tracks; i++) {
        st = check_track(offer, i, reason);
        if (st != VEJ_SDP_OK)
            return st;
    }
    return VEJ_SDP_OK;
}

static void
offer_media(GstSDPMedia *gm, const struct vej_sdp_offer *offer, const struct vej_sdp_track *t,
            bool first)
{
    bool audio = t->kind == VEJ_SDP_KIND_AUDIO, sending = t->direction == VEJ_SDP_DIR_SENDONLY;
    uint8_t rtx_pt = sending && !audio ? t->rtx_pt : 0;
    char buf[2 * VEJ_SDP_MSID_LEN + 32];

    snprintf(buf, sizeof buf, "%u", t->pt);
    start_media(gm, audio ? "audio" : "video", PROTO, buf, &offer->local, 9);
    if (rtx_pt)
        add_format_number(gm, rtx_pt);
    add_transport(gm, &offer->local, "actpass");
    gst_sdp_media_add_attribute(gm, "mid", t->mid);
    add_extmap(gm, offer->extmap.mid, VEJ__SDP_URI_MID);
    add_extmap(gm, offer->extmap.abs_send_time, VEJ__SDP_URI_ABS_SEND_TIME);
    if (audio)
        add_extmap(gm, offer->extmap.audio_level, VEJ__SDP_URI_AUDIO_LEVEL);
    gst_sdp_media_add_attribute(gm, sending ? "sendonly" : "inactive", NULL);
    if (sending) {
        snprintf(buf, sizeof buf, "%s %s", t->msid_stream, t->msid_track);
        gst_sdp_media_add_attribute(gm, "msid", buf);
    }
    gst_sdp_media_add_attribute(gm, "rtcp-mux", NULL);
    add_codec(gm, t->kind, t->codec, t->pt, audio ? 0 : VEJ_SDP_FB_SUPPORTED_VIDEO, t->fmtp,
              rtx_pt);
    if (rtx_pt) {
        snprintf(buf, sizeof buf, "FID %" G_GUINT32_FORMAT " %" G_GUINT32_FORMAT, t->ssrc,
                 t->rtx_ssrc);
        gst_sdp_media_add_attribute(gm, "ssrc-group", buf);
    }
    for (int i = 0; sending && i < (rtx_pt ? 2 : 1); i++) {
        uint32_t ssrc = i == 0 ? t->ssrc : t->rtx_ssrc;
        snprintf(buf, sizeof buf, "%" G_GUINT32_FORMAT " cname:%s", ssrc, t->cname);
        gst_sdp_media_add_attribute(gm, "ssrc", buf);
        snprintf(buf, sizeof buf, "%" G_GUINT32_FORMAT " msid:%s %s", ssrc, t->msid_stream,
                 t->msid_track);
        gst_sdp_media_add_attribute(gm, "ssrc", buf);
    }
    if (first)
        add_candidates(gm, &offer->local);
}

enum vej_sdp_status
vej_sdp_make_offer(const struct vej_sdp_offer *offer, char **sdp_out, const char **reason)
{
    g_autoptr(GString) bundle = g_string_new("BUNDLE");
    GstSDPMessage *msg;
    enum vej_sdp_status st;

    if (!offer || !sdp_out)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no offer or no output given");
    *sdp_out = NULL;
    st = check_offer(offer, reason);
    if (st != VEJ_SDP_OK)
        return st;
    for (size_t i = 0; i < offer->n_tracks; i++)
        g_string_append_printf(bundle, " %s", offer->tracks[i].mid);
    msg = new_message(&offer->local);
    add_session_attributes(msg, &offer->local, bundle, false, false);
    for (size_t i = 0; i < offer->n_tracks; i++) {
        GstSDPMedia gm;
        offer_media(&gm, offer, &offer->tracks[i], i == 0);
        gst_sdp_message_add_media(msg, &gm); /* takes over gm's fields */
    }
    *sdp_out = finish(msg);
    return VEJ_SDP_OK;
}
