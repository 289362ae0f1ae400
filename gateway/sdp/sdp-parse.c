/* sdp-parse.c - a publisher's offer (vej_sdp_parse_offer) and a
 * subscriber's answer (vej_sdp_parse_answer). */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Reads every m-line (refs[i] per m-line; the session's direction is the
 * default) and checks that mids are unique. */
static enum vej_sdp_status
read_all_media(const GstSDPMessage *msg, const struct vej__sdp_session *session,
               struct vej_sdp_description *desc, struct vej__sdp_media_refs *refs,
               const char **reason)
{
    desc->n_media = gst_sdp_message_medias_len(msg);
    for (size_t i = 0; i < desc->n_media; i++) {
        desc->media[i].direction = session->direction;
        enum vej_sdp_status st = vej__sdp_read_media(gst_sdp_message_get_media(msg, (guint)i),
                                                     &desc->media[i], &refs[i], desc, reason);
        if (st != VEJ_SDP_OK)
            return st;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(desc->media[j].mid, desc->media[i].mid) == 0)
                return vej__sdp_fail(reason, VEJ_SDP_EMID, "two m-lines have the same mid");
        }
    }
    return VEJ_SDP_OK;
}

/* Applies the session-level flags and the single BUNDLE group; live[i]
 * is set for m-lines with a port (or bundle-only), which must all be in
 * the group. */
static enum vej_sdp_status
bundle_and_flags(const struct vej__sdp_session *session, const struct vej__sdp_media_refs *refs,
                 struct vej_sdp_description *desc, bool *live, size_t *n_live, const char **reason)
{
    enum vej_sdp_status st;

    desc->ice_trickle |= session->ice_trickle;
    desc->ice_lite = session->ice_lite;
    desc->extmap_allow_mixed |= session->extmap_allow_mixed;
    desc->end_of_candidates |= session->end_of_candidates;
    *n_live = 0;
    for (size_t i = 0; i < desc->n_media; i++) {
        live[i] = desc->media[i].port != 0 || refs[i].bundle_only;
        *n_live += live[i];
    }
    if (*n_live == 0)
        return VEJ_SDP_OK;
    if (session->n_bundle_groups == 0)
        return vej__sdp_fail(reason, VEJ_SDP_EBUNDLE, "no BUNDLE group (a=group:BUNDLE)");
    if (session->n_bundle_groups > 1)
        return vej__sdp_fail(reason, VEJ_SDP_EBUNDLE, "more than one BUNDLE group");
    st = vej__sdp_apply_bundle(session->bundle, desc, reason);
    if (st != VEJ_SDP_OK)
        return st;
    for (size_t i = 0; i < desc->n_media; i++) {
        if (live[i] && !desc->media[i].in_bundle)
            return vej__sdp_fail(reason, VEJ_SDP_EBUNDLE, "an m-line is not in the BUNDLE group");
        if (live[i] && !desc->media[i].rtcp_mux &&
            (desc->media[i].kind == VEJ_SDP_KIND_AUDIO ||
             desc->media[i].kind == VEJ_SDP_KIND_VIDEO))
            return vej__sdp_fail(reason, VEJ_SDP_ERTCPMUX, "an m-line has no a=rtcp-mux");
    }
    return VEJ_SDP_OK;
}

/* The m-line whose transport the group uses: the first mid of the group. */
static const GstSDPMedia *
bundle_transport(const GstSDPMessage *msg, const struct vej__sdp_session *session,
                 const struct vej_sdp_description *desc)
{
    g_auto(GStrv) mids = g_strsplit(session->bundle ? session->bundle : "", " ", -1);

    for (size_t i = 0; mids[i]; i++) {
        int idx = mids[i][0] ? vej_sdp_find_mid(desc, mids[i]) : -1;
        if (idx >= 0)
            return gst_sdp_message_get_media(msg, (guint)idx);
    }
    return NULL;
}

static bool
proto_is_savpf(const char *proto)
{
    return g_str_has_suffix(proto, "RTP/SAVPF");
}

/* Whether the answer will accept a live m-line of an offer. */
static const char *
offer_media_verdict(const GstSDPMedia *gm, struct vej_sdp_media *m, uint32_t allowed)
{
    if (m->kind == VEJ_SDP_KIND_APPLICATION)
        return "data channels are not supported";
    if (m->kind != VEJ_SDP_KIND_AUDIO && m->kind != VEJ_SDP_KIND_VIDEO)
        return "unsupported media kind";
    if (!proto_is_savpf(m->proto))
        return "the m-line is not UDP/TLS/RTP/SAVPF";
    if (!vej__sdp_choose_codec(gm, m, allowed))
        return "no allowed codec";
    return NULL;
}

static enum vej_sdp_status
offer_media(const GstSDPMessage *msg, const bool *live, uint32_t allowed,
            struct vej_sdp_description *out, const char **reason)
{
    size_t n_accepted = 0;

    for (size_t i = 0; i < out->n_media; i++) {
        struct vej_sdp_media *m = &out->media[i];

        if (!live[i]) {
            m->reject_reason = "rejected by the offerer (port 0)";
            continue;
        }
        if (m->simulcast)
            return vej__sdp_fail(reason, VEJ_SDP_EUNSUPPORTED,
                                 "simulcast (a=simulcast, a=rid) is not supported yet");
        m->reject_reason =
            offer_media_verdict(gst_sdp_message_get_media(msg, (guint)i), m, allowed);
        m->accepted = m->reject_reason == NULL;
        n_accepted += m->accepted;
    }
    if (n_accepted == 0)
        return vej__sdp_fail(reason, VEJ_SDP_ECODEC,
                             "no audio or video m-line with an allowed codec");
    return VEJ_SDP_OK;
}

enum vej_sdp_status
vej_sdp_parse_offer(const char *sdp, size_t len, const struct vej_sdp_limits *limits,
                    const struct vej_sdp_options *options, struct vej_sdp_description *out,
                    const char **reason)
{
    g_autoptr(GstSDPMessage) msg = NULL;
    g_autofree struct vej__sdp_media_refs *refs = NULL;
    bool live[VEJ_SDP_MAX_MLINES];
    struct vej__sdp_session session;
    uint32_t allowed =
        options && options->allowed_codecs ? options->allowed_codecs : VEJ_SDP_CODECS_DEFAULT;
    const GstSDPMedia *transport;
    enum vej_sdp_status st;
    size_t n_live;

    if (!out)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no output given");
    memset(out, 0, sizeof *out);
    st = vej__sdp_load(sdp, len, limits, &msg, out, reason);
    if (st != VEJ_SDP_OK)
        return st;
    if (gst_sdp_message_medias_len(msg) == 0)
        return vej__sdp_fail(reason, VEJ_SDP_EMEDIA, "the offer has no m-line");
    refs = g_new0(struct vej__sdp_media_refs, VEJ_SDP_MAX_MLINES);
    vej__sdp_read_session(msg, &session);
    st = read_all_media(msg, &session, out, refs, reason);
    if (st == VEJ_SDP_OK)
        st = bundle_and_flags(&session, refs, out, live, &n_live, reason);
    if (st != VEJ_SDP_OK)
        return st;
    if (n_live == 0)
        return vej__sdp_fail(reason, VEJ_SDP_EMEDIA, "every m-line of the offer has port 0");
    st = vej__sdp_transport(&session, refs, live, out, reason);
    if (st != VEJ_SDP_OK)
        return st;
    if (out->setup == VEJ_SDP_SETUP_NONE)
        out->setup = VEJ_SDP_SETUP_ACTIVE; /* RFC 4145's default */
    if (out->setup == VEJ_SDP_SETUP_PASSIVE)
        return vej__sdp_fail(reason, VEJ_SDP_ESETUP,
                             "the offer must use a=setup:actpass or active");
    transport = bundle_transport(msg, &session, out);
    if (transport)
        vej__sdp_read_candidates(transport, out, options && options->allow_tcp_candidates);
    return offer_media(msg, live, allowed, out, reason);
}

/* An accepted m-line of the answer against the track we offered. */
static enum vej_sdp_status
answer_media(const struct vej_sdp_offer *offer, const struct vej_sdp_track *t,
             struct vej_sdp_media *m, const char **reason)
{
    const struct vej_sdp_payload *p = m->n_payloads ? &m->payloads[0] : NULL;
    uint32_t fb_offered = t->kind == VEJ_SDP_KIND_VIDEO ? VEJ_SDP_FB_SUPPORTED_VIDEO : 0;

    if (!p || p->pt != t->pt)
        return vej__sdp_fail(reason, VEJ_SDP_ECODEC,
                             "an answer m-line does not use the payload type offered");
    m->codec = t->codec;
    m->pt = t->pt;
    m->clock_rate = p->clock_rate;
    m->channels = p->channels;
    m->rtcp_fb = p->rtcp_fb & fb_offered;
    /* RTX stays when the answer lists the PT we offered for it, still as
     * rtx/90000 for our PT (RFC 4588 4: the answerer may drop it). */
    m->has_rtx = false;
    m->rtx_pt = 0;
    for (size_t i = 1; t->rtx_pt && t->direction == VEJ_SDP_DIR_SENDONLY && i < m->n_payloads;
         i++) {
        const struct vej_sdp_payload *r = &m->payloads[i];
        if (r->pt == t->rtx_pt && r->codec == VEJ_SDP_CODEC_RTX && r->clock_rate == 90000 &&
            r->has_apt && r->apt == t->pt) {
            m->has_rtx = true;
            m->rtx_pt = r->pt;
        }
    }
    if (!offer->extmap.mid)
        m->extmap.mid = 0;
    if (!offer->extmap.abs_send_time)
        m->extmap.abs_send_time = 0;
    if (!offer->extmap.transport_cc)
        m->extmap.transport_cc = 0;
    if (!offer->extmap.audio_level || t->kind != VEJ_SDP_KIND_AUDIO)
        m->extmap.audio_level = 0;
    return VEJ_SDP_OK;
}

/* The answer has the offer's m-lines, with the same mids by position. */
static enum vej_sdp_status
match_mids(const struct vej_sdp_offer *offer, const struct vej_sdp_description *out,
           const char **reason)
{
    if (out->n_media != offer->n_tracks)
        return vej__sdp_fail(reason, VEJ_SDP_EMEDIA,
                             "the answer does not have the offer's number of m-lines");
    for (size_t i = 0; i < out->n_media; i++) {
        if (strcmp(out->media[i].mid, offer->tracks[i].mid) != 0)
            return vej__sdp_fail(reason, VEJ_SDP_EMID, "the answer's mids do not match the offer");
    }
    return VEJ_SDP_OK;
}

/* Each m-line is of the offered kind; answer_media for each accepted one. */
static enum vej_sdp_status
match_offer(const struct vej_sdp_offer *offer, const bool *live, struct vej_sdp_description *out,
            const char **reason)
{
    for (size_t i = 0; i < out->n_media; i++) {
        struct vej_sdp_media *m = &out->media[i];
        enum vej_sdp_status st;

        if (m->kind != offer->tracks[i].kind)
            return vej__sdp_fail(reason, VEJ_SDP_EMEDIA,
                                 "an answer m-line is not of the offered kind");
        m->accepted = live[i];
        if (!m->accepted) {
            m->reject_reason = "rejected by the answerer (port 0)";
            continue;
        }
        st = answer_media(offer, &offer->tracks[i], m, reason);
        if (st != VEJ_SDP_OK)
            return st;
    }
    return VEJ_SDP_OK;
}

enum vej_sdp_status
vej_sdp_parse_answer(const char *sdp, size_t len, const struct vej_sdp_limits *limits,
                     const struct vej_sdp_offer *offer, struct vej_sdp_description *out,
                     const char **reason)
{
    g_autoptr(GstSDPMessage) msg = NULL;
    g_autofree struct vej__sdp_media_refs *refs = NULL;
    bool live[VEJ_SDP_MAX_MLINES];
    struct vej__sdp_session session;
    struct vej_sdp_limits lim;
    const GstSDPMedia *transport;
    enum vej_sdp_status st;
    size_t n_live;

    if (!out || !offer || offer->n_tracks > VEJ_SDP_MAX_MLINES)
        return vej__sdp_fail(reason, VEJ_SDP_EINVAL, "no output or no valid offer given");
    memset(out, 0, sizeof *out);
    /* The answer has as many m-lines as our offer, whatever the limit. */
    vej__sdp_limits_effective(limits, &lim);
    lim.max_mlines = MAX(lim.max_mlines, offer->n_tracks);
    st = vej__sdp_load(sdp, len, &lim, &msg, out, reason);
    if (st != VEJ_SDP_OK)
        return st;
    refs = g_new0(struct vej__sdp_media_refs, VEJ_SDP_MAX_MLINES);
    vej__sdp_read_session(msg, &session);
    st = read_all_media(msg, &session, out, refs, reason);
    if (st == VEJ_SDP_OK)
        st = match_mids(offer, out, reason);
    if (st == VEJ_SDP_OK)
        st = bundle_and_flags(&session, refs, out, live, &n_live, reason);
    if (st == VEJ_SDP_OK)
        st = match_offer(offer, live, out, reason);
    if (st != VEJ_SDP_OK || n_live == 0)
        return st;
    st = vej__sdp_transport(&session, refs, live, out, reason);
    if (st != VEJ_SDP_OK)
        return st;
    if (out->setup == VEJ_SDP_SETUP_NONE)
        out->setup = VEJ_SDP_SETUP_ACTIVE; /* RFC 4145's default */
    if (out->setup == VEJ_SDP_SETUP_ACTPASS)
        return vej__sdp_fail(reason, VEJ_SDP_ESETUP,
                             "the answer must use a=setup:active or passive");
    transport = bundle_transport(msg, &session, out);
    if (transport)
        vej__sdp_read_candidates(transport, out, false);
    return VEJ_SDP_OK;
}
