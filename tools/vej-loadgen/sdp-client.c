/* tools/vej-loadgen/sdp-client.c - the client side of the SDP exchange.
 *
 * gateway/sdp/sdp.h writes the gateway's side only (answers with
 * a=setup:passive, offers with actpass), so the publish offer and the
 * subscribe answer are written here as text; what the gateway sends is
 * parsed with gateway/sdp/sdp.h (vej_sdp_parse_answer against a description
 * of our offer, vej_sdp_parse_offer for its subscribe offers). */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>

static void
transport_lines(GString *s, struct lg_pc *pc, const char *fingerprint, const char *setup)
{
    g_string_append_printf(s,
                           "c=IN IP4 0.0.0.0\r\n"
                           "a=ice-ufrag:%s\r\n"
                           "a=ice-pwd:%s\r\n"
                           "a=fingerprint:sha-256 %s\r\n"
                           "a=setup:%s\r\n",
                           pc->ufrag, pc->pwd, fingerprint, setup);
}

static void
candidate_lines(GString *s, struct lg_pc *pc)
{
    g_autoptr(GString) c = g_string_new(NULL);
    lg_pc_local_candidates(pc, c);
    g_string_append(s, c->str);
    g_string_append(s, "a=end-of-candidates\r\n");
}

char *
lg_sdp_publish_offer(struct lg_pc *pc, const char *fingerprint, const char *setup)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "v=0\r\n"
                           "o=- %u 2 IN IP4 127.0.0.1\r\n"
                           "s=-\r\n"
                           "t=0 0\r\n"
                           "a=group:BUNDLE 0 1\r\n"
                           "a=msid-semantic: WMS lg%d\r\n",
                           pc->sess_id ? pc->sess_id : (pc->sess_id = (g_random_int() >> 1) | 1),
                           pc->index);
    g_string_append(s, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    transport_lines(s, pc, fingerprint, setup);
    g_string_append_printf(s,
                           "a=mid:0\r\n"
                           "a=sendonly\r\n"
                           "a=rtcp-mux\r\n"
                           "a=extmap:%d urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                           "a=rtpmap:111 opus/48000/2\r\n"
                           "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
                           "a=msid:lg%d lg%d-audio\r\n"
                           "a=ssrc:%u cname:lg%d\r\n",
                           LG_EXT_AUDIO_LEVEL, pc->index, pc->index, pc->ssrc[LG_AUDIO], pc->index);
    candidate_lines(s, pc);
    g_string_append(s, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
    transport_lines(s, pc, fingerprint, setup);
    g_string_append_printf(s,
                           "a=mid:1\r\n"
                           "a=sendonly\r\n"
                           "a=rtcp-mux\r\n"
                           "a=rtpmap:96 VP8/90000\r\n"
                           "a=rtcp-fb:96 nack\r\n"
                           "a=rtcp-fb:96 nack pli\r\n"
                           "a=rtcp-fb:96 ccm fir\r\n"
                           "a=rtcp-fb:96 goog-remb\r\n"
                           "a=msid:lg%d lg%d-video\r\n"
                           "a=ssrc:%u cname:lg%d\r\n",
                           pc->index, pc->index, pc->ssrc[LG_VIDEO], pc->index);
    return g_string_free(s, FALSE);
}

bool
lg_sdp_parse_publish_answer(const char *sdp, struct vej_sdp_description *out)
{
    g_autofree struct vej_sdp_offer *ours = g_new0(struct vej_sdp_offer, 1);
    ours->n_tracks = 2;
    g_strlcpy(ours->tracks[0].mid, "0", sizeof ours->tracks[0].mid);
    ours->tracks[0].kind = VEJ_SDP_KIND_AUDIO;
    ours->tracks[0].codec = VEJ_SDP_CODEC_OPUS;
    ours->tracks[0].pt = LG_PT_OPUS;
    ours->tracks[0].direction = VEJ_SDP_DIR_SENDONLY;
    g_strlcpy(ours->tracks[1].mid, "1", sizeof ours->tracks[1].mid);
    ours->tracks[1].kind = VEJ_SDP_KIND_VIDEO;
    ours->tracks[1].codec = VEJ_SDP_CODEC_VP8;
    ours->tracks[1].pt = LG_PT_VP8;
    ours->tracks[1].direction = VEJ_SDP_DIR_SENDONLY;
    ours->extmap.audio_level = LG_EXT_AUDIO_LEVEL;
    const char *why = NULL;
    int st = vej_sdp_parse_answer(sdp, strlen(sdp), NULL, ours, out, &why);
    if (st != VEJ_SDP_OK) {
        fprintf(stderr, "vej-loadgen: the gateway's publish answer: %s: %s\n",
                vej_sdp_status_name(st), why);
        return false;
    }
    return true;
}

bool
lg_sdp_parse_subscribe_offer(const char *sdp, struct vej_sdp_description *out)
{
    memset(out, 0, sizeof *out);
    if (!strstr(sdp, "\nm="))
        return true; /* no tracks yet: n_media stays 0 */
    struct vej_sdp_limits lim;
    vej_sdp_limits_init(&lim);
    lim.max_mlines = VEJ_SDP_MAX_MLINES;
    lim.max_sdp_bytes = 1024 * 1024;
    const char *why = NULL;
    int st = vej_sdp_parse_offer(sdp, strlen(sdp), &lim, NULL, out, &why);
    if (st == VEJ_SDP_ECODEC) {
        /* Every m-line inactive or rejected: nothing usable, still answered. */
        return true;
    }
    if (st != VEJ_SDP_OK) {
        fprintf(stderr, "vej-loadgen: the gateway's subscribe offer: %s: %s\n",
                vej_sdp_status_name(st), why);
        return false;
    }
    return true;
}

static const char *
rtpmap_of(const struct vej_sdp_media *m)
{
    switch (m->codec) {
    case VEJ_SDP_CODEC_OPUS:
        return "opus/48000/2";
    case VEJ_SDP_CODEC_VP8:
        return "VP8/90000";
    case VEJ_SDP_CODEC_H264:
        return "H264/90000";
    default:
        return NULL;
    }
}

char *
lg_sdp_subscribe_answer(struct lg_pc *pc, const struct vej_sdp_description *offer,
                        const char *fingerprint)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "v=0\r\n"
                           "o=- %u %d IN IP4 127.0.0.1\r\n"
                           "s=-\r\n"
                           "t=0 0\r\n",
                           (unsigned)(1000 + pc->index), 2 + pc->answers);
    GString *bundle = g_string_new("a=group:BUNDLE");
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct vej_sdp_media *m = &offer->media[i];
        if (m->port != 0 && rtpmap_of(m))
            g_string_append_printf(bundle, " %s", m->mid);
    }
    if (offer->n_media)
        g_string_append_printf(s, "%s\r\n", bundle->str);
    g_string_free(bundle, TRUE);
    bool first = true;
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct vej_sdp_media *m = &offer->media[i];
        const char *rtpmap = rtpmap_of(m);
        if (m->port == 0 || !rtpmap) {
            g_string_append_printf(s, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n",
                                   m->media_name, m->proto, m->first_format, m->mid);
            continue;
        }
        /* --no-rtx: generic NACK kept, RTX left out, as some clients answer */
        bool rtx = m->kind == VEJ_SDP_KIND_VIDEO && m->has_rtx && !pc->run->o.no_rtx;
        g_string_append_printf(s, "m=%s 9 UDP/TLS/RTP/SAVPF %u",
                               m->kind == VEJ_SDP_KIND_AUDIO ? "audio" : "video", m->pt);
        if (rtx)
            g_string_append_printf(s, " %u", m->rtx_pt);
        g_string_append(s, "\r\n");
        transport_lines(s, pc, fingerprint, "active");
        g_string_append_printf(s, "a=mid:%s\r\na=%s\r\na=rtcp-mux\r\na=rtpmap:%u %s\r\n", m->mid,
                               m->direction == VEJ_SDP_DIR_INACTIVE ? "inactive" : "recvonly",
                               m->pt, rtpmap);
        if (m->fmtp[0])
            g_string_append_printf(s, "a=fmtp:%u %s\r\n", m->pt, m->fmtp);
        if (rtx)
            g_string_append_printf(s, "a=rtpmap:%u rtx/90000\r\na=fmtp:%u apt=%u\r\n", m->rtx_pt,
                                   m->rtx_pt, m->pt);
        if (m->kind == VEJ_SDP_KIND_VIDEO)
            g_string_append_printf(s,
                                   "a=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\n"
                                   "a=rtcp-fb:%u goog-remb\r\n",
                                   m->pt, m->pt, m->pt);
        /* The header extensions offered, kept as browsers keep them, so the
         * gateway writes its per-hop block as it does for them. */
        if (m->extmap.mid)
            g_string_append_printf(s, "a=extmap:%u urn:ietf:params:rtp-hdrext:sdes:mid\r\n",
                                   m->extmap.mid);
        if (m->extmap.abs_send_time)
            g_string_append_printf(
                s, "a=extmap:%u http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n",
                m->extmap.abs_send_time);
        if (m->extmap.audio_level)
            g_string_append_printf(s, "a=extmap:%u urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
                                   m->extmap.audio_level);
        if (first)
            candidate_lines(s, pc);
        first = false;
    }
    pc->answers++;
    return g_string_free(s, FALSE);
}
