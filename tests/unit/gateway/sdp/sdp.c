/* Unit tests for gateway/sdp*.c: real offers (Chromium, Firefox,
 * GStreamer webrtcbin), every refusal, the answer and offer writers
 * checked line by line through GstSDPMessage, re-offers, the client's
 * answer, candidates. */
#include "gateway/sdp/sdp.h"

#include <glib.h>
#include <gst/sdp/sdp.h>
#include <string.h>

#define FP_SHA256                                                                                  \
    "sha-256 4E:1F:6A:2B:9C:3D:8E:4F:70:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:"    \
    "C3:D4:E5:F6:07"

/* Real SDP, kept once as files of the fuzzing seed corpus
 * (tests/fuzz/corpus/sdp/, directory given at build time):
 *  - offer-chromium-120: a Chromium 120 publisher, audio + video, trickle,
 *    extmap-allow-mixed, transport-cc, RED/ULPFEC, rtx, H.264 variants;
 *  - offer-webrtcbin-1.22: GStreamer webrtcbin with max-bundle (second
 *    m-line port 0 + a=bundle-only, "OPUS"), inline candidates (one mDNS);
 *  - offer-firefox-115: fingerprint, BUNDLE and direction at session
 *    level, ssrc-group after its ssrc lines, LF line ends;
 *  - answer-chromium: Chromium's answer to fill_offer(o, 3, ...). */
#ifndef VEJ_SDP_FIXTURES
#error "VEJ_SDP_FIXTURES must name tests/fuzz/corpus/sdp"
#endif
static char *chrome_offer, *webrtcbin_offer, *firefox_offer, *client_answer;

static char *
load_fixture(const char *name)
{
    g_autofree char *path = g_build_filename(VEJ_SDP_FIXTURES, name, NULL);
    g_autoptr(GError) error = NULL;
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, &error))
        g_error("%s", error->message);
    return text;
}

/* Replaces every `from` by `to` (transfer full). */
static char *
replace(const char *s, const char *from, const char *to)
{
    g_auto(GStrv) parts = g_strsplit(s, from, -1);
    g_assert_cmpuint(g_strv_length(parts), >, 1); /* the edit must apply */
    return g_strjoinv(to, parts);
}

static struct vej_sdp_description *
parse_ok(const char *sdp, const struct vej_sdp_options *opt)
{
    struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    const char *reason = NULL;
    int st = vej_sdp_parse_offer(sdp, strlen(sdp), NULL, opt, d, &reason);

    if (st != VEJ_SDP_OK)
        g_error("offer refused: %s (%s)", reason, vej_sdp_status_name(st));
    return d;
}

static void
refused(const char *sdp, const struct vej_sdp_limits *lim, int want)
{
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    const char *reason = NULL;
    int st = vej_sdp_parse_offer(sdp, strlen(sdp), lim, NULL, d, &reason);

    g_assert_cmpstr(vej_sdp_status_name(st), ==, vej_sdp_status_name(want));
    g_assert_nonnull(reason);
    g_assert_cmpuint(strlen(reason), >, 10);
}

static void
fill_local(struct vej_sdp_local *l, uint64_t version, size_t n_candidates)
{
    memset(l, 0, sizeof *l);
    l->session_id = 7300123456789012345u;
    l->session_version = version;
    g_strlcpy(l->ice_ufrag, "gW3k", sizeof l->ice_ufrag);
    g_strlcpy(l->ice_pwd, "Zq8vLm2Np4Rt6Xy0Bc3Df5Gh", sizeof l->ice_pwd);
    l->fingerprint_alg = VEJ_SDP_FP_SHA256;
    l->fingerprint_len = 32;
    for (size_t i = 0; i < 32; i++)
        l->fingerprint[i] = (uint8_t)(0xa0 + i);
    l->n_candidates = n_candidates;
    for (size_t i = 0; i < n_candidates; i++) {
        struct vej_sdp_host_candidate *c = &l->candidates[i];
        g_snprintf(c->foundation, sizeof c->foundation, "%zu", i + 1);
        c->priority = 2130706431u - (uint32_t)i;
        g_strlcpy(c->address, i == 0 ? "198.51.100.7" : "2001:db8::7", sizeof c->address);
        c->port = (uint16_t)(40000 + i);
    }
    l->end_of_candidates = n_candidates > 0;
}

/* A Firefox-style generated offer: transport at session level, n m-lines
 * alternating audio (opus) and video (VP8), mids m0, m1, ... */
static char *
gen_offer(size_t n)
{
    GString *s = g_string_new("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");

    g_string_append(s, "a=fingerprint:" FP_SHA256 "\r\na=ice-ufrag:Gen1\r\n"
                       "a=ice-pwd:GeneratedPassword012345\r\na=setup:actpass\r\n");
    if (n) {
        g_string_append(s, "a=group:BUNDLE");
        for (size_t i = 0; i < n; i++)
            g_string_append_printf(s, " m%zu", i);
        g_string_append(s, "\r\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 0)
            g_string_append(s, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n");
        else
            g_string_append(s, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n");
        g_string_append_printf(s, "a=mid:m%zu\r\na=rtcp-mux\r\na=sendonly\r\n", i);
    }
    return g_string_free(s, FALSE);
}

static GstSDPMessage *
reparse(const char *text)
{
    GstSDPMessage *m = NULL;

    g_assert_nonnull(text);
    g_assert_cmpint(gst_sdp_message_new_from_text(text, &m), ==, GST_SDP_OK);
    g_assert_cmpstr(gst_sdp_message_get_version(m), ==, "0");
    return m;
}

static guint
count_attr(const GstSDPMedia *m, const char *key)
{
    guint n = 0;

    while (gst_sdp_media_get_attribute_val_n(m, key, n))
        n++;
    return n;
}

/* The value of key (the only one when `only`), which must exist. */
static const char *
attr(const GstSDPMedia *m, const char *key)
{
    const char *v = gst_sdp_media_get_attribute_val(m, key);
    if (!v)
        g_error("no a=%s", key);
    return v;
}

static bool
has_attr_value(const GstSDPMedia *m, const char *key, const char *value)
{
    for (guint i = 0;; i++) {
        const char *v = gst_sdp_media_get_attribute_val_n(m, key, i);
        if (!v)
            return false;
        if (strcmp(v, value) == 0)
            return true;
    }
}

static void
test_chrome_offer(void)
{
    g_autofree struct vej_sdp_description *d = parse_ok(chrome_offer, NULL);
    const struct vej_sdp_media *a = &d->media[0], *v = &d->media[1];

    g_assert_cmpuint(d->n_media, ==, 2);
    g_assert_cmpuint(d->session_id, ==, 4611731400430051336u);
    g_assert_cmpuint(d->session_version, ==, 2);
    g_assert_cmpstr(d->ice_ufrag, ==, "Fx9s");
    g_assert_cmpstr(d->ice_pwd, ==, "T8vN0z7pQ1k2b3c4d5e6f7g8");
    g_assert_true(d->ice_trickle && !d->ice_lite && d->extmap_allow_mixed);
    g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTPASS);
    g_assert_cmpint(d->fingerprint_alg, ==, VEJ_SDP_FP_SHA256);
    g_assert_cmpuint(d->fingerprint_len, ==, 32);
    g_assert_cmphex(d->fingerprint[0], ==, 0x4e);
    g_assert_cmphex(d->fingerprint[31], ==, 0x07);
    g_assert_cmpuint(d->n_candidates, ==, 0);

    g_assert_cmpstr(a->mid, ==, "0");
    g_assert_cmpint(a->kind, ==, VEJ_SDP_KIND_AUDIO);
    g_assert_cmpint(a->direction, ==, VEJ_SDP_DIR_SENDRECV);
    g_assert_true(a->accepted && a->in_bundle && a->rtcp_mux && !a->simulcast);
    g_assert_null(a->reject_reason);
    g_assert_cmpuint(a->n_payloads, ==, 8);
    g_assert_cmpint(a->codec, ==, VEJ_SDP_CODEC_OPUS);
    g_assert_cmpuint(a->pt, ==, 111);
    g_assert_cmpuint(a->clock_rate, ==, 48000);
    g_assert_cmpuint(a->channels, ==, 2);
    g_assert_cmpstr(a->fmtp, ==, "minptime=10;useinbandfec=1");
    g_assert_cmphex(a->rtcp_fb, ==, VEJ_SDP_FB_TRANSPORT_CC);
    g_assert_false(a->has_rtx);
    g_assert_cmpuint(a->extmap.audio_level, ==, 1);
    g_assert_cmpuint(a->extmap.abs_send_time, ==, 2);
    g_assert_cmpuint(a->extmap.transport_cc, ==, 3);
    g_assert_cmpuint(a->extmap.mid, ==, 4);
    g_assert_true(a->has_ssrc && !a->has_rtx_ssrc);
    g_assert_cmpuint(a->ssrc, ==, 1001);
    g_assert_cmpstr(a->cname, ==, "pQx0Yb3nKzW8uV2r");
    g_assert_cmpstr(a->msid_stream, ==, "3a5b8d2c-7c1e-4f0e-9d55-2c1f2a7d8e11");
    g_assert_cmpstr(a->msid_track, ==, "9f1e6b0a-5d4c-4b3a-8e2f-1a0b9c8d7e6f");

    g_assert_cmpint(v->kind, ==, VEJ_SDP_KIND_VIDEO);
    g_assert_true(v->accepted && v->rtcp_rsize);
    g_assert_cmpuint(v->n_payloads, ==, 25);
    g_assert_cmpint(v->codec, ==, VEJ_SDP_CODEC_VP8);
    g_assert_cmpuint(v->pt, ==, 96);
    g_assert_cmpstr(v->fmtp, ==, "");
    g_assert_cmphex(v->rtcp_fb, ==, VEJ_SDP_FB_SUPPORTED_VIDEO | VEJ_SDP_FB_TRANSPORT_CC);
    g_assert_true(v->has_rtx);
    g_assert_cmpuint(v->rtx_pt, ==, 97);
    g_assert_true(v->has_ssrc && v->has_rtx_ssrc);
    g_assert_cmpuint(v->ssrc, ==, 2002);
    g_assert_cmpuint(v->rtx_ssrc, ==, 2003);
    g_assert_cmpuint(v->extmap.mid, ==, 4);
    g_assert_cmpuint(v->extmap.audio_level, ==, 0);
    /* H.264 variants: only packetization-mode=1 with a baseline profile. */
    for (size_t i = 0; i < v->n_payloads; i++) {
        const struct vej_sdp_payload *p = &v->payloads[i];
        bool want = p->pt == 96 || p->pt == 102 || p->pt == 106;
        g_assert_cmpint(p->usable, ==, want);
        if (p->pt == 102) {
            g_assert_cmpuint(p->h264_packetization_mode, ==, 1);
            g_assert_cmphex(p->h264_profile_level_id, ==, 0x42001f);
        }
    }
}

static void
test_chrome_codec_choice(void)
{
    struct vej_sdp_options opt = {
        .allowed_codecs =
            VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_OPUS) | VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_H264),
    };
    g_autofree struct vej_sdp_description *d = parse_ok(chrome_offer, &opt);
    g_autofree struct vej_sdp_description *o = NULL;

    g_assert_cmpint(d->media[1].codec, ==, VEJ_SDP_CODEC_H264);
    g_assert_cmpuint(d->media[1].pt, ==, 102);
    g_assert_cmpuint(d->media[1].rtx_pt, ==, 103);
    g_assert_cmpstr(d->media[1].fmtp, ==,
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
    opt.allowed_codecs = VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_OPUS);
    o = parse_ok(chrome_offer, &opt);
    g_assert_true(o->media[0].accepted);
    g_assert_false(o->media[1].accepted);
    g_assert_cmpstr(o->media[1].reject_reason, ==, "no allowed codec");
    {
        /* An fmtp that is not printable ASCII makes its PT unusable: it
         * could not be offered to subscribers. */
        g_autofree char *sdp = replace(chrome_offer, "useinbandfec=1", "useinbandfec=\xc3\xa9");
        g_autofree struct vej_sdp_description *u = parse_ok(sdp, NULL);
        g_assert_false(u->media[0].accepted);
        g_assert_true(u->media[1].accepted);
    }
}

/* The answer to Chromium, read back through GstSDPMessage. */
static void
test_chrome_answer(void)
{
    g_autofree struct vej_sdp_description *d = parse_ok(chrome_offer, NULL);
    struct vej_sdp_local local;
    g_autofree char *text = NULL, *text2 = NULL;
    g_autoptr(GstSDPMessage) m = NULL;
    const GstSDPMedia *a, *v;
    const char *reason = NULL;

    fill_local(&local, 1, 2);
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text, &reason), ==, VEJ_SDP_OK);
    m = reparse(text);
    g_assert_cmpstr(gst_sdp_message_get_origin(m)->sess_id, ==, "7300123456789012345");
    g_assert_cmpstr(gst_sdp_message_get_origin(m)->sess_version, ==, "1");
    g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "group"), ==, "BUNDLE 0 1");
    g_assert_nonnull(gst_sdp_message_get_attribute_val(m, "extmap-allow-mixed"));
    g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "ice-options"), ==, "trickle");
    g_assert_null(gst_sdp_message_get_attribute_val(m, "ice-lite"));
    g_assert_cmpuint(gst_sdp_message_medias_len(m), ==, 2);
    g_assert_null(strstr(text, "transport-cc"));
    g_assert_null(strstr(text, "transport-wide-cc"));
    g_assert_null(strstr(text, "abs-send-time"));
    g_assert_null(strstr(text, "sendrecv"));
    /* The fingerprint also at session level (for rejected m-lines). */
    g_assert_true(
        g_str_has_prefix(gst_sdp_message_get_attribute_val(m, "fingerprint"), "sha-256 A0:A1:A2:"));
    g_assert_null(strstr(text, "actpass"));
    g_assert_nonnull(strstr(text, "\r\n"));

    a = gst_sdp_message_get_media(m, 0);
    g_assert_cmpstr(gst_sdp_media_get_media(a), ==, "audio");
    g_assert_cmpuint(gst_sdp_media_get_port(a), ==, 40000);
    g_assert_cmpstr(gst_sdp_media_get_proto(a), ==, "UDP/TLS/RTP/SAVPF");
    g_assert_cmpuint(gst_sdp_media_formats_len(a), ==, 1);
    g_assert_cmpstr(gst_sdp_media_get_format(a, 0), ==, "111");
    g_assert_cmpstr(gst_sdp_media_get_connection(a, 0)->address, ==, "198.51.100.7");
    g_assert_cmpstr(attr(a, "ice-ufrag"), ==, "gW3k");
    g_assert_cmpstr(attr(a, "ice-pwd"), ==, "Zq8vLm2Np4Rt6Xy0Bc3Df5Gh");
    g_assert_true(g_str_has_prefix(attr(a, "fingerprint"), "sha-256 A0:A1:A2:"));
    g_assert_true(g_str_has_suffix(attr(a, "fingerprint"), ":BE:BF"));
    g_assert_cmpstr(attr(a, "setup"), ==, "passive");
    g_assert_cmpstr(attr(a, "mid"), ==, "0");
    g_assert_cmpuint(count_attr(a, "extmap"), ==, 2);
    g_assert_true(has_attr_value(a, "extmap", "4 urn:ietf:params:rtp-hdrext:sdes:mid"));
    g_assert_true(has_attr_value(a, "extmap", "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
    g_assert_cmpuint(count_attr(a, "recvonly"), ==, 1);
    g_assert_cmpuint(count_attr(a, "rtcp-mux"), ==, 1);
    g_assert_cmpuint(count_attr(a, "rtpmap"), ==, 1);
    g_assert_cmpstr(attr(a, "rtpmap"), ==, "111 opus/48000/2");
    g_assert_cmpstr(attr(a, "fmtp"), ==, "111 minptime=10;useinbandfec=1");
    g_assert_cmpuint(count_attr(a, "rtcp-fb"), ==, 0);
    g_assert_cmpuint(count_attr(a, "candidate"), ==, 2);
    g_assert_cmpstr(attr(a, "candidate"), ==, "1 1 udp 2130706431 198.51.100.7 40000 typ host");
    g_assert_cmpuint(count_attr(a, "end-of-candidates"), ==, 1);
    g_assert_cmpuint(count_attr(a, "ssrc"), ==, 0);

    v = gst_sdp_message_get_media(m, 1);
    g_assert_cmpstr(gst_sdp_media_get_media(v), ==, "video");
    g_assert_cmpuint(gst_sdp_media_get_port(v), ==, 40000); /* one BUNDLE address */
    g_assert_cmpstr(gst_sdp_media_get_connection(v, 0)->address, ==, "198.51.100.7");
    g_assert_cmpstr(gst_sdp_media_get_format(v, 0), ==, "96");
    /* VP8 and its RTX (Chromium offers nack and rtx/90000 apt=96 as 97) */
    g_assert_cmpuint(gst_sdp_media_formats_len(v), ==, 2);
    g_assert_cmpstr(gst_sdp_media_get_format(v, 1), ==, "97");
    g_assert_true(has_attr_value(v, "rtpmap", "97 rtx/90000"));
    g_assert_true(has_attr_value(v, "fmtp", "97 apt=96"));
    g_assert_cmpuint(count_attr(v, "ssrc-group"), ==, 0); /* recvonly: no SSRC of ours */
    g_assert_cmpstr(attr(v, "setup"), ==, "passive");
    g_assert_cmpstr(attr(v, "mid"), ==, "1");
    g_assert_cmpuint(count_attr(v, "extmap"), ==, 1);
    g_assert_cmpstr(attr(v, "extmap"), ==, "4 urn:ietf:params:rtp-hdrext:sdes:mid");
    g_assert_cmpstr(attr(v, "rtpmap"), ==, "96 VP8/90000");
    g_assert_cmpuint(count_attr(v, "rtcp-fb"), ==, 4);
    g_assert_true(has_attr_value(v, "rtcp-fb", "96 nack"));
    g_assert_true(has_attr_value(v, "rtcp-fb", "96 nack pli"));
    g_assert_true(has_attr_value(v, "rtcp-fb", "96 ccm fir"));
    g_assert_true(has_attr_value(v, "rtcp-fb", "96 goog-remb"));
    g_assert_cmpuint(count_attr(v, "fmtp"), ==, 1);
    g_assert_cmpuint(count_attr(v, "recvonly"), ==, 1);
    g_assert_cmpuint(count_attr(v, "rtcp-mux"), ==, 1);
    g_assert_cmpuint(count_attr(v, "candidate"), ==, 0);
    g_assert_cmpuint(count_attr(a, "rtpmap"), ==, 1); /* no RTX for audio */

    /* A hand-made description cannot inject lines; bad local params. */
    g_strlcpy(d->media[1].fmtp, "x\r\na=evil", sizeof d->media[1].fmtp);
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text2, &reason), ==, VEJ_SDP_EINVAL);
    g_assert_null(text2);
    d->media[1].fmtp[0] = '\0';
    local.fingerprint_len = 31;
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text2, &reason), ==, VEJ_SDP_EINVAL);
}

/* A data channel m-line is answered with port 0 and its mid. */
static void
test_answer_rejected_mline(void)
{
    g_autofree char *sdp = replace(chrome_offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
    g_autofree char *full = g_strconcat(sdp,
                                        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                        "c=IN IP4 0.0.0.0\r\na=ice-ufrag:Fx9s\r\n"
                                        "a=ice-pwd:T8vN0z7pQ1k2b3c4d5e6f7g8\r\n"
                                        "a=ice-options:trickle\r\na=fingerprint:" FP_SHA256 "\r\n"
                                        "a=setup:actpass\r\na=mid:2\r\na=sctp-port:5000\r\n"
                                        "a=max-message-size:262144\r\n",
                                        NULL);
    g_autofree struct vej_sdp_description *d = parse_ok(full, NULL);
    struct vej_sdp_local local;
    g_autofree char *text = NULL;
    g_autoptr(GstSDPMessage) m = NULL;
    const GstSDPMedia *app;

    g_assert_cmpuint(d->n_media, ==, 3);
    g_assert_false(d->media[2].accepted);
    g_assert_cmpstr(d->media[2].reject_reason, ==, "data channels are not supported");
    fill_local(&local, 1, 0);
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text, NULL), ==, VEJ_SDP_OK);
    m = reparse(text);
    g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "group"), ==, "BUNDLE 0 1");
    app = gst_sdp_message_get_media(m, 2);
    g_assert_cmpstr(gst_sdp_media_get_media(app), ==, "application");
    g_assert_cmpuint(gst_sdp_media_get_port(app), ==, 0);
    g_assert_cmpstr(gst_sdp_media_get_proto(app), ==, "UDP/DTLS/SCTP");
    g_assert_cmpstr(gst_sdp_media_get_format(app, 0), ==, "webrtc-datachannel");
    g_assert_cmpstr(attr(app, "mid"), ==, "2");
    /* ... and the transport, which webrtcbin 1.22 wants on every m-line
     * (a=setup at media level); the fingerprint is at session level too. */
    g_assert_cmpuint(gst_sdp_media_attributes_len(app), ==, 5);
    g_assert_cmpstr(attr(app, "ice-ufrag"), ==, "gW3k");
    g_assert_cmpstr(attr(app, "ice-pwd"), ==, "Zq8vLm2Np4Rt6Xy0Bc3Df5Gh");
    g_assert_true(g_str_has_prefix(attr(app, "fingerprint"), "sha-256 A0:A1:A2:"));
    g_assert_cmpstr(attr(app, "setup"), ==, "passive");
    g_assert_true(
        g_str_has_prefix(gst_sdp_message_get_attribute_val(m, "fingerprint"), "sha-256 A0:A1:A2:"));
    /* Without candidates the first m-line uses port 9 and 0.0.0.0. */
    g_assert_cmpuint(gst_sdp_media_get_port(gst_sdp_message_get_media(m, 0)), ==, 9);
}

static void
test_webrtcbin_offer(void)
{
    g_autofree struct vej_sdp_description *d = parse_ok(webrtcbin_offer, NULL);
    struct vej_sdp_local local;
    g_autofree char *text = NULL;
    g_autoptr(GstSDPMessage) m = NULL;

    g_assert_cmpuint(d->n_media, ==, 2);
    g_assert_cmpstr(d->ice_ufrag, ==, "Sb0IX7tOqVyxkwPyMY8B8Q9wN1q7xQvX");
    g_assert_true(d->ice_trickle && !d->extmap_allow_mixed);
    g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTPASS);
    g_assert_cmpstr(d->media[0].mid, ==, "video0");
    g_assert_cmpint(d->media[0].codec, ==, VEJ_SDP_CODEC_VP8);
    g_assert_cmphex(d->media[0].rtcp_fb, ==, VEJ_SDP_FB_NACK | VEJ_SDP_FB_NACK_PLI);
    g_assert_cmpstr(d->media[0].cname, ==, "user1452186519@host-6e9f2bfb");
    g_assert_cmpstr(d->media[0].msid_track, ==, "webrtctransceiver0");
    g_assert_cmpuint(d->media[0].ssrc, ==, 2952542406u);
    /* port 0 + a=bundle-only: live, accepted */
    g_assert_cmpuint(d->media[1].port, ==, 0);
    g_assert_true(d->media[1].accepted);
    g_assert_cmpint(d->media[1].codec, ==, VEJ_SDP_CODEC_OPUS);
    g_assert_cmpuint(d->media[1].pt, ==, 97);
    g_assert_cmpuint(d->n_candidates, ==, 1);
    g_assert_cmpuint(d->n_candidates_dropped, ==, 1); /* the .local one */
    g_assert_cmpstr(d->candidates[0], ==,
                    "candidate:1 1 UDP 2015363327 192.168.1.20 50412 typ host");

    fill_local(&local, 1, 1);
    local.ice_lite = true;
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text, NULL), ==, VEJ_SDP_OK);
    m = reparse(text);
    g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "group"), ==, "BUNDLE video0 audio1");
    g_assert_nonnull(gst_sdp_message_get_attribute_val(m, "ice-lite"));
    g_assert_null(gst_sdp_message_get_attribute_val(m, "extmap-allow-mixed"));
    g_assert_cmpuint(count_attr(gst_sdp_message_get_media(m, 0), "rtcp-fb"), ==, 2);
    g_assert_cmpuint(count_attr(gst_sdp_message_get_media(m, 1), "rtcp-fb"), ==, 0);
    g_assert_cmpuint(gst_sdp_media_get_port(gst_sdp_message_get_media(m, 1)), ==, 40000);
    g_assert_cmpstr(attr(gst_sdp_message_get_media(m, 1), "rtpmap"), ==, "97 opus/48000/2");
    g_assert_cmpstr(attr(gst_sdp_message_get_media(m, 1), "fmtp"), ==,
                    "97 sprop-maxcapturerate=48000;sprop-stereo=0");
}

static void
test_firefox_offer(void)
{
    struct vej_sdp_options h264 = {.allowed_codecs = VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_H264)};
    g_autofree struct vej_sdp_description *d = parse_ok(firefox_offer, NULL);
    g_autofree struct vej_sdp_description *h = parse_ok(firefox_offer, &h264);
    const struct vej_sdp_media *a = &d->media[0], *v = &d->media[1];

    g_assert_cmpstr(d->ice_ufrag, ==, "8a1b2c3d");
    g_assert_cmpuint(d->fingerprint_len, ==, 32);
    g_assert_cmpint(a->direction, ==, VEJ_SDP_DIR_SENDRECV);
    g_assert_cmpuint(a->pt, ==, 109);
    g_assert_cmpstr(a->fmtp, ==, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
    g_assert_cmpuint(a->extmap.audio_level, ==, 1);
    g_assert_cmpuint(a->extmap.mid, ==, 3);
    g_assert_cmpuint(a->ssrc, ==, 3735928559u);
    g_assert_cmpint(v->codec, ==, VEJ_SDP_CODEC_VP8);
    g_assert_cmpuint(v->pt, ==, 120);
    g_assert_cmpuint(v->rtx_pt, ==, 124);
    g_assert_cmpuint(v->ssrc, ==, 2882400001u);
    g_assert_cmpuint(v->rtx_ssrc, ==, 2882400002u);
    g_assert_cmpstr(v->cname, ==, "{a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d}");
    g_assert_cmpstr(v->msid_track, ==, "{e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7}");
    g_assert_cmpuint(v->extmap.abs_send_time, ==, 4);
    g_assert_cmpuint(v->extmap.transport_cc, ==, 7);
    /* H.264 only: 126 (mode 1), not 97 (no packetization-mode: mode 0). */
    g_assert_false(h->media[0].accepted);
    g_assert_cmpuint(h->media[1].pt, ==, 126);
    g_assert_cmpuint(h->media[1].rtx_pt, ==, 127);
    {
        /* A cname over 64 bytes is cut at a UTF-8 character boundary. */
        g_autofree char *sdp =
            replace(firefox_offer, "cname:{a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d}",
                    "cname:{a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d}"
                    "0123456789abcdefghijklmno\xc3\xa9xyz");
        g_autofree struct vej_sdp_description *u = parse_ok(sdp, NULL);
        g_assert_cmpuint(strlen(u->media[0].cname), ==, 63);
        g_assert_true(g_utf8_validate(u->media[0].cname, -1, NULL));
    }
}

static void
refused_edit(const char *base, const char *from, const char *to, int want)
{
    g_autofree char *sdp = replace(base, from, to);
    refused(sdp, NULL, want);
}

static void
test_refusals(void)
{
    refused_edit(chrome_offer, "a=fingerprint:", "a=x-fingerprint:", VEJ_SDP_EFINGERPRINT);
    refused_edit(chrome_offer, "F6:07\r\n", "F6:0\r\n", VEJ_SDP_EFINGERPRINT);
    refused_edit(chrome_offer, "sha-256 4E", "md5 4E", VEJ_SDP_EFINGERPRINT);
    refused_edit(firefox_offer, "a=fingerprint:sha-256 4E", "a=fingerprint:sha-1 4E",
                 VEJ_SDP_EFINGERPRINT); /* wrong length for the hash */
    refused_edit(chrome_offer, "a=ice-ufrag:Fx9s\r\n", "", VEJ_SDP_EICE);
    refused_edit(chrome_offer, "a=ice-pwd:T8vN0z7pQ1k2b3c4d5e6f7g8", "a=ice-pwd:short",
                 VEJ_SDP_EICE);
    refused_edit(firefox_offer, "a=ice-ufrag:8a1b2c3d\na=mid:1", "a=ice-ufrag:9a1b2c3d\na=mid:1",
                 VEJ_SDP_EICE);
    refused_edit(chrome_offer, "a=group:BUNDLE 0 1\r\n", "", VEJ_SDP_EBUNDLE);
    refused_edit(chrome_offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0", VEJ_SDP_EBUNDLE);
    refused_edit(chrome_offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 7", VEJ_SDP_EBUNDLE);
    refused_edit(chrome_offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 1", VEJ_SDP_EBUNDLE);
    refused_edit(chrome_offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0\r\na=group:BUNDLE 1",
                 VEJ_SDP_EBUNDLE);
    refused_edit(chrome_offer, "a=rtcp-mux\r\n", "", VEJ_SDP_ERTCPMUX);
    refused_edit(chrome_offer, "a=setup:actpass", "a=setup:passive", VEJ_SDP_ESETUP);
    refused_edit(chrome_offer, "a=setup:actpass", "a=setup:holdconn", VEJ_SDP_ESETUP);
    refused_edit(chrome_offer, "a=mid:1", "a=mid:0", VEJ_SDP_EMID);
    refused_edit(chrome_offer, "a=mid:1\r\n", "", VEJ_SDP_EMID);
    refused_edit(chrome_offer, "a=mid:1", "a=mid:0123456789012345678901234567890123", VEJ_SDP_EMID);
    refused_edit(chrome_offer, "a=mid:1\r\n",
                 "a=mid:1\r\na=rid:h send\r\na=rid:l send\r\n"
                 "a=simulcast:send h;l\r\n",
                 VEJ_SDP_EUNSUPPORTED);
    refused_edit(chrome_offer, "a=ssrc-group:FID 2002 2003", "a=ssrc-group:SIM 2002 2004",
                 VEJ_SDP_EUNSUPPORTED);
    refused_edit(chrome_offer, "v=0", "v=1", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n", "",
                 VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "m=audio 9 ", "m=audio 4294967305 ", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "m=audio 9 ", "m=audio -5 ", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "m=audio 9 ", "m=audio 70000 ", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "SAVPF 111 63", "SAVPF 111x 63", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "SAVPF 111 63", "SAVPF 300 63", VEJ_SDP_ESYNTAX);
    refused_edit(chrome_offer, "s=-", "s=\xff\xfe", VEJ_SDP_EENCODING);
    refused_edit(chrome_offer, "s=-", "s=\xc3", VEJ_SDP_EENCODING);
    refused("hello world", NULL, VEJ_SDP_ESYNTAX);
    refused("", NULL, VEJ_SDP_ESYNTAX);
    /* Only unsupported codecs: PCMU and VP9. */
    {
        g_autofree char *a = replace(firefox_offer, "opus/48000/2", "opus/48000/1");
        g_autofree char *b = replace(a, "VP8/90000", "VP7/90000");
        g_autofree char *c = replace(b, "packetization-mode=1", "packetization-mode=0");
        refused(c, NULL, VEJ_SDP_ECODEC);
    }
    /* Only a data channel. */
    refused("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE d\r\n"
            "a=ice-ufrag:Abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=fingerprint:" FP_SHA256
            "\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n",
            NULL, VEJ_SDP_ECODEC);
    /* No m-line; every m-line port 0. */
    refused("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", NULL, VEJ_SDP_EMEDIA);
    {
        g_autofree char *a = replace(firefox_offer, "m=audio 9 ", "m=audio 0 ");
        g_autofree char *b = replace(a, "m=video 9 ", "m=video 0 ");
        refused(b, NULL, VEJ_SDP_EMEDIA);
    }
}

static void
test_refusals_size(void)
{
    struct vej_sdp_limits lim = {.max_sdp_bytes = 1000};
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    g_autofree char *pad = g_strnfill(2000, 'x');
    g_autofree char *huge = g_strconcat(chrome_offer, "a=x-huge:", pad, "\r\n", NULL);
    g_autofree char *big = NULL;
    const char *reason = NULL;
    GString *s = g_string_new(chrome_offer);

    refused(chrome_offer, &lim, VEJ_SDP_ETOOBIG);
    refused(huge, NULL, VEJ_SDP_ETOOBIG);
    while (s->len < 70 * 1024)
        g_string_append(s, "a=x-filler:1234567890\r\n");
    big = g_string_free(s, FALSE);
    refused(big, NULL, VEJ_SDP_ETOOBIG);
    lim = (struct vej_sdp_limits){.max_mlines = 1};
    refused(chrome_offer, &lim, VEJ_SDP_ETOOMANY);
    /* An embedded NUL byte. */
    g_assert_cmpint(
        vej_sdp_parse_offer(chrome_offer, strlen(chrome_offer) + 1, NULL, NULL, d, &reason), ==,
        VEJ_SDP_EENCODING);
    g_assert_cmpint(vej_sdp_parse_offer(NULL, 0, NULL, NULL, d, &reason), ==, VEJ_SDP_EINVAL);
    g_assert_cmpint(vej_sdp_parse_offer(chrome_offer, 10, NULL, NULL, NULL, &reason), ==,
                    VEJ_SDP_EINVAL);
}

/* 1,000 m-lines are refused before GstSDPMessage parses them. */
static void
test_refusal_is_quick(void)
{
    struct vej_sdp_limits lim = {.max_sdp_bytes = 4 * 1024 * 1024, .max_mlines = 128};
    g_autofree char *sdp = gen_offer(1000);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    gint64 t0 = g_get_monotonic_time();

    refused(sdp, NULL, VEJ_SDP_ETOOBIG); /* over 64 KiB */
    refused(sdp, &lim, VEJ_SDP_ETOOMANY);
    g_assert_cmpint(vej_sdp_parse_offer(sdp, strlen(sdp), &lim, NULL, d, NULL), ==,
                    VEJ_SDP_ETOOMANY);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 100 * 1000);
}

static void
test_generated_offers(void)
{
    const size_t counts[] = {1, 2, 16};

    for (size_t c = 0; c < G_N_ELEMENTS(counts); c++) {
        g_autofree char *sdp = gen_offer(counts[c]);
        g_autofree struct vej_sdp_description *d = parse_ok(sdp, NULL);

        g_assert_cmpuint(d->n_media, ==, counts[c]);
        for (size_t i = 0; i < d->n_media; i++) {
            g_assert_true(d->media[i].accepted && d->media[i].in_bundle);
            g_assert_cmpint(d->media[i].direction, ==, VEJ_SDP_DIR_SENDONLY);
        }
        g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTPASS);
    }
    {
        g_autofree char *sdp = gen_offer(17);
        refused(sdp, NULL, VEJ_SDP_ETOOMANY);
    }
    {
        g_autofree char *sdp = gen_offer(0);
        refused(sdp, NULL, VEJ_SDP_EMEDIA);
    }
    {
        /* No a=setup: RFC 4145's default, active. */
        g_autofree char *one = gen_offer(1);
        g_autofree char *sdp = replace(one, "a=setup:actpass\r\n", "");
        g_autofree struct vej_sdp_description *d = parse_ok(sdp, NULL);
        g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTIVE);
    }
}

/* n tracks alternating audio (opus 111) and video (VP8 96 / H264 102). */
static void
fill_offer(struct vej_sdp_offer *o, size_t n, uint64_t version)
{
    memset(o, 0, sizeof *o);
    fill_local(&o->local, version, 1);
    o->extmap = (struct vej_sdp_extmaps){.mid = 1, .abs_send_time = 2, .audio_level = 3};
    o->n_tracks = n;
    for (size_t i = 0; i < n; i++) {
        struct vej_sdp_track *t = &o->tracks[i];
        bool audio = i % 2 == 0;
        g_snprintf(t->mid, sizeof t->mid, "%c%zu", audio ? 'a' : 'v', i);
        t->kind = audio ? VEJ_SDP_KIND_AUDIO : VEJ_SDP_KIND_VIDEO;
        t->direction = VEJ_SDP_DIR_SENDONLY;
        t->codec = audio ? VEJ_SDP_CODEC_OPUS : i % 4 == 1 ? VEJ_SDP_CODEC_VP8 : VEJ_SDP_CODEC_H264;
        t->pt = audio ? 111 : t->codec == VEJ_SDP_CODEC_VP8 ? 96 : 102;
        g_strlcpy(t->fmtp,
                  audio ? "minptime=10;useinbandfec=1"
                  : t->codec == VEJ_SDP_CODEC_H264
                      ? "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                      : "",
                  sizeof t->fmtp);
        t->ssrc = 0x10000000u + (uint32_t)i;
        if (!audio) { /* RTX for video, as the router offers it */
            t->rtx_pt = (uint8_t)(t->pt + 1);
            t->rtx_ssrc = 0x20000000u + (uint32_t)i;
        }
        g_snprintf(t->cname, sizeof t->cname, "ptc_%zu", i / 2);
        g_snprintf(t->msid_stream, sizeof t->msid_stream, "ptc_%zu", i / 2);
        g_snprintf(t->msid_track, sizeof t->msid_track, "trk_%zu", i);
    }
}

static void
check_offer_media(const GstSDPMedia *gm, const struct vej_sdp_track *t, bool first)
{
    bool audio = t->kind == VEJ_SDP_KIND_AUDIO, sending = t->direction == VEJ_SDP_DIR_SENDONLY;
    bool rtx = sending && !audio && t->rtx_pt;
    g_autofree char *pt = g_strdup_printf("%u", t->pt);

    g_assert_cmpstr(gst_sdp_media_get_media(gm), ==, audio ? "audio" : "video");
    g_assert_cmpuint(gst_sdp_media_get_port(gm), ==, 40000);
    g_assert_cmpstr(gst_sdp_media_get_proto(gm), ==, "UDP/TLS/RTP/SAVPF");
    g_assert_cmpstr(gst_sdp_media_get_format(gm, 0), ==, pt);
    g_assert_cmpstr(attr(gm, "mid"), ==, t->mid);
    g_assert_cmpstr(attr(gm, "setup"), ==, "actpass");
    g_assert_cmpstr(attr(gm, "ice-ufrag"), ==, "gW3k");
    g_assert_cmpuint(count_attr(gm, "fingerprint"), ==, 1);
    g_assert_cmpuint(count_attr(gm, "rtcp-mux"), ==, 1);
    g_assert_cmpuint(count_attr(gm, sending ? "sendonly" : "inactive"), ==, 1);
    g_assert_cmpuint(count_attr(gm, "extmap"), ==, audio ? 3 : 2);
    g_assert_true(has_attr_value(gm, "extmap", "1 urn:ietf:params:rtp-hdrext:sdes:mid"));
    g_assert_true(has_attr_value(gm, "extmap",
                                 "2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"));
    g_assert_cmpuint(count_attr(gm, "rtcp-fb"), ==, audio ? 0 : 4);
    if (!audio) {
        g_autofree char *nack = g_strdup_printf("%u nack", t->pt);
        g_assert_true(has_attr_value(gm, "rtcp-fb", nack));
    }
    g_assert_cmpuint(gst_sdp_media_formats_len(gm), ==, rtx ? 2 : 1);
    g_assert_cmpuint(count_attr(gm, "rtpmap"), ==, rtx ? 2 : 1);
    g_assert_cmpuint(count_attr(gm, "fmtp"), ==, (t->fmtp[0] ? 1u : 0u) + rtx);
    g_assert_cmpuint(count_attr(gm, "msid"), ==, sending ? 1 : 0);
    g_assert_cmpuint(count_attr(gm, "ssrc"), ==, sending ? (rtx ? 4 : 2) : 0);
    g_assert_cmpuint(count_attr(gm, "ssrc-group"), ==, rtx ? 1 : 0);
    if (rtx) {
        /* RFC 4588: the RTX PT names its codec; the FID group pairs the
         * SSRCs, and the RTX SSRC has the same cname and msid. */
        g_autofree char *fmt = g_strdup_printf("%u", t->rtx_pt);
        g_autofree char *map = g_strdup_printf("%u rtx/90000", t->rtx_pt);
        g_autofree char *apt = g_strdup_printf("%u apt=%u", t->rtx_pt, t->pt);
        g_autofree char *fid = g_strdup_printf("FID %u %u", t->ssrc, t->rtx_ssrc);
        g_autofree char *cname = g_strdup_printf("%u cname:%s", t->rtx_ssrc, t->cname);
        g_autofree char *msid =
            g_strdup_printf("%u msid:%s %s", t->rtx_ssrc, t->msid_stream, t->msid_track);
        g_assert_cmpstr(gst_sdp_media_get_format(gm, 1), ==, fmt);
        g_assert_true(has_attr_value(gm, "rtpmap", map));
        g_assert_true(has_attr_value(gm, "fmtp", apt));
        g_assert_cmpstr(attr(gm, "ssrc-group"), ==, fid);
        g_assert_true(has_attr_value(gm, "ssrc", cname));
        g_assert_true(has_attr_value(gm, "ssrc", msid));
    }
    g_assert_cmpuint(count_attr(gm, "candidate"), ==, first ? 1 : 0);
    if (sending) {
        g_autofree char *cname = g_strdup_printf("%u cname:%s", t->ssrc, t->cname);
        g_autofree char *msid = g_strdup_printf("%s %s", t->msid_stream, t->msid_track);
        g_assert_true(has_attr_value(gm, "ssrc", cname));
        g_assert_cmpstr(attr(gm, "msid"), ==, msid);
    }
}

static void
test_make_offer(void)
{
    const size_t counts[] = {0, 1, 2, 16};

    for (size_t c = 0; c < G_N_ELEMENTS(counts); c++) {
        g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
        g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
        g_autofree char *text = NULL;
        g_autoptr(GstSDPMessage) m = NULL;
        const char *reason = NULL;
        int st;

        fill_offer(o, counts[c], 1);
        g_assert_cmpint(vej_sdp_make_offer(o, &text, &reason), ==, VEJ_SDP_OK);
        m = reparse(text);
        g_assert_cmpuint(gst_sdp_message_medias_len(m), ==, counts[c]);
        g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "ice-options"), ==, "trickle");
        if (counts[c] == 0)
            g_assert_null(gst_sdp_message_get_attribute_val(m, "group"));
        for (size_t i = 0; i < counts[c]; i++)
            check_offer_media(gst_sdp_message_get_media(m, (guint)i), &o->tracks[i], i == 0);
        if (counts[c] == 2)
            g_assert_cmpstr(gst_sdp_message_get_attribute_val(m, "group"), ==, "BUNDLE a0 v1");
        /* Our offer is itself an acceptable offer. */
        st = vej_sdp_parse_offer(text, strlen(text), NULL, NULL, d, &reason);
        g_assert_cmpint(st, ==, counts[c] ? VEJ_SDP_OK : VEJ_SDP_EMEDIA);
        for (size_t i = 0; st == VEJ_SDP_OK && i < counts[c]; i++) {
            g_assert_true(d->media[i].accepted);
            g_assert_cmpuint(d->media[i].pt, ==, o->tracks[i].pt);
            g_assert_cmpuint(d->media[i].ssrc, ==, o->tracks[i].ssrc);
            g_assert_cmpstr(d->media[i].cname, ==, o->tracks[i].cname);
            g_assert_cmpstr(d->media[i].msid_track, ==, o->tracks[i].msid_track);
            /* ... RTX included, which an answerer would accept (nack offered) */
            g_assert_cmpint(d->media[i].has_rtx, ==, o->tracks[i].rtx_pt != 0);
            g_assert_cmpuint(d->media[i].rtx_pt, ==, o->tracks[i].rtx_pt);
            g_assert_cmpint(d->media[i].has_rtx_ssrc, ==, o->tracks[i].rtx_pt != 0);
            g_assert_cmpuint(d->media[i].rtx_ssrc, ==, o->tracks[i].rtx_ssrc);
        }
    }
}

static void
test_make_offer_invalid(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    char *text = NULL;
    const char *reason = NULL;

#define BAD(edit)                                                                                  \
    do {                                                                                           \
        fill_offer(o, 2, 1);                                                                       \
        edit;                                                                                      \
        reason = NULL;                                                                             \
        g_assert_cmpint(vej_sdp_make_offer(o, &text, &reason), ==, VEJ_SDP_EINVAL);                \
        g_assert_null(text);                                                                       \
        g_assert_nonnull(reason);                                                                  \
    } while (0)
    BAD(g_strlcpy(o->tracks[1].mid, "a0", sizeof o->tracks[1].mid));
    BAD(g_strlcpy(o->tracks[1].mid, "has space", sizeof o->tracks[1].mid));
    BAD(o->tracks[0].codec = VEJ_SDP_CODEC_VP8);
    BAD(o->tracks[1].codec = VEJ_SDP_CODEC_VP9);
    BAD(o->tracks[0].pt = 95);
    BAD(o->tracks[1].rtx_pt = 95);
    BAD(o->tracks[1].rtx_pt = o->tracks[1].pt);
    BAD(o->tracks[1].rtx_ssrc = o->tracks[1].ssrc);
    BAD(o->tracks[1].rtx_ssrc = 0);
    BAD(o->tracks[0].direction = VEJ_SDP_DIR_SENDRECV);
    BAD(g_strlcpy(o->tracks[0].fmtp, "a=1\r\na=evil", sizeof o->tracks[0].fmtp));
    BAD(o->tracks[0].cname[0] = '\0');
    BAD(o->extmap.transport_cc = 4);
    BAD(o->extmap.audio_level = 1);
    BAD(o->extmap.mid = 15);
    BAD(o->local.ice_pwd[3] = '\0');
    BAD(o->local.fingerprint_len = 20);
    BAD(o->local.candidates[0].port = 0);
    BAD(g_strlcpy(o->local.candidates[0].address, "example.org", 64));
    BAD(o->local.session_id = UINT64_MAX);
#undef BAD
}

/* A re-offer: higher version, same session id and credentials, a
 * recycled m-line inactive with its mid, a new one appended. */
static void
test_reoffer(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    g_autofree char *t1 = NULL, *t2 = NULL;
    g_autoptr(GstSDPMessage) m1 = NULL;
    g_autoptr(GstSDPMessage) m2 = NULL;
    const GstSDPMedia *recycled;

    fill_offer(o, 3, 1);
    g_assert_cmpint(vej_sdp_make_offer(o, &t1, NULL), ==, VEJ_SDP_OK);
    fill_offer(o, 4, 2); /* the same first three tracks, one more */
    o->tracks[1].direction = VEJ_SDP_DIR_INACTIVE;
    g_assert_cmpint(vej_sdp_make_offer(o, &t2, NULL), ==, VEJ_SDP_OK);
    m1 = reparse(t1);
    m2 = reparse(t2);
    g_assert_cmpstr(gst_sdp_message_get_origin(m1)->sess_id, ==,
                    gst_sdp_message_get_origin(m2)->sess_id);
    g_assert_cmpstr(gst_sdp_message_get_origin(m1)->sess_version, ==, "1");
    g_assert_cmpstr(gst_sdp_message_get_origin(m2)->sess_version, ==, "2");
    g_assert_cmpuint(gst_sdp_message_medias_len(m2), ==, 4);
    g_assert_cmpstr(gst_sdp_message_get_attribute_val(m2, "group"), ==, "BUNDLE a0 v1 a2 v3");
    recycled = gst_sdp_message_get_media(m2, 1);
    check_offer_media(recycled, &o->tracks[1], false);
    g_assert_cmpstr(attr(recycled, "mid"), ==, "v1");
    g_assert_cmpuint(gst_sdp_media_get_port(recycled), ==, 40000); /* kept, not 0 */
    g_assert_cmpstr(attr(recycled, "ice-ufrag"), ==,
                    attr(gst_sdp_message_get_media(m1, 1), "ice-ufrag"));
}

/* The subscribe offer's header extensions, with the relay's ids (mid 2,
 * abs-send-time 3, audio-level 1): the same id for the same URI on every
 * m-line of the BUNDLE group, inactive ones included, audio-level on audio
 * only, transport-wide-cc nowhere (neither extmap nor rtcp-fb), and an
 * offer asking for it refused. */
static void
test_offer_extmaps(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    g_autofree char *text = NULL;
    g_autoptr(GstSDPMessage) m = NULL;
    char *refused_text = NULL;

    fill_offer(o, 4, 1);
    o->extmap = (struct vej_sdp_extmaps){.mid = 2, .abs_send_time = 3, .audio_level = 1};
    o->tracks[2].direction = VEJ_SDP_DIR_INACTIVE;
    g_assert_cmpint(vej_sdp_make_offer(o, &text, NULL), ==, VEJ_SDP_OK);
    m = reparse(text);
    for (guint i = 0; i < gst_sdp_message_medias_len(m); i++) {
        const GstSDPMedia *gm = gst_sdp_message_get_media(m, i);
        bool audio = o->tracks[i].kind == VEJ_SDP_KIND_AUDIO;
        g_assert_cmpuint(count_attr(gm, "extmap"), ==, audio ? 3 : 2);
        g_assert_true(has_attr_value(gm, "extmap", "2 urn:ietf:params:rtp-hdrext:sdes:mid"));
        g_assert_true(has_attr_value(
            gm, "extmap", "3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"));
        g_assert_cmpint(
            has_attr_value(gm, "extmap", "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"), ==,
            audio);
    }
    g_assert_null(strstr(text, "transport-wide-cc"));
    g_assert_null(strstr(text, "transport-cc"));
    o->extmap.transport_cc = 4;
    g_assert_cmpint(vej_sdp_make_offer(o, &refused_text, NULL), ==, VEJ_SDP_EINVAL);
    g_assert_null(refused_text);
}

static int
answer_status(const struct vej_sdp_offer *o, const char *sdp, struct vej_sdp_description *d)
{
    const char *reason = NULL;
    int st = vej_sdp_parse_answer(sdp, strlen(sdp), NULL, o, d, &reason);

    g_assert_true(st == VEJ_SDP_OK || (reason && reason[0]));
    return st;
}

static int
answer_edit(const struct vej_sdp_offer *o, const char *from, const char *to,
            struct vej_sdp_description *d)
{
    g_autofree char *sdp = replace(client_answer, from, to);
    return answer_status(o, sdp, d);
}

/* The ids the answer kept, per m-line: the relay writes exactly those
 * (an answer without extmaps: nothing), never one it did not offer. */
static void
test_parse_answer_extmaps(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    g_autofree char *no_mid = NULL, *no_ast = NULL, *none = NULL;

    fill_offer(o, 3, 5); /* offered: mid 1, abs-send-time 2, audio-level 3 */
    /* Chromium's answer keeps all three, drops what it was not offered
     * (transport-wide-cc: id 5 and rtcp-fb in its video m-line). */
    g_assert_cmpint(answer_status(o, client_answer, d), ==, VEJ_SDP_OK);
    g_assert_cmpuint(d->media[1].extmap.mid, ==, 1);
    g_assert_cmpuint(d->media[1].extmap.abs_send_time, ==, 2);
    g_assert_cmpuint(d->media[1].extmap.audio_level, ==, 0); /* video */
    g_assert_cmpuint(d->media[1].extmap.transport_cc, ==, 0);
    g_assert_cmphex(d->media[1].rtcp_fb & VEJ_SDP_FB_TRANSPORT_CC, ==, 0);
    g_assert_cmpuint(d->media[2].extmap.mid, ==, 0); /* inactive: none answered */
    /* An id other than the offer's is the answer's to give. */
    g_assert_cmpint(answer_edit(o, "a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                                "a=extmap:9 urn:ietf:params:rtp-hdrext:ssrc-audio-level", d),
                    ==, VEJ_SDP_OK);
    g_assert_cmpuint(d->media[0].extmap.audio_level, ==, 9);
    /* Each one removed, then all. */
    no_mid = replace(client_answer, "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n", "");
    g_assert_cmpint(answer_status(o, no_mid, d), ==, VEJ_SDP_OK);
    g_assert_cmpuint(d->media[0].extmap.mid, ==, 0);
    g_assert_cmpuint(d->media[1].extmap.mid, ==, 0);
    g_assert_cmpuint(d->media[0].extmap.abs_send_time, ==, 2);
    no_ast = replace(
        no_mid, "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n", "");
    none = replace(no_ast, "a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n", "");
    g_assert_cmpint(answer_status(o, none, d), ==, VEJ_SDP_OK);
    for (size_t i = 0; i < d->n_media; i++) {
        g_assert_cmpuint(d->media[i].extmap.mid, ==, 0);
        g_assert_cmpuint(d->media[i].extmap.abs_send_time, ==, 0);
        g_assert_cmpuint(d->media[i].extmap.audio_level, ==, 0);
        g_assert_cmpuint(d->media[i].extmap.transport_cc, ==, 0);
    }
    /* What we did not offer is not kept even if answered. */
    o->extmap.abs_send_time = 0;
    g_assert_cmpint(answer_status(o, client_answer, d), ==, VEJ_SDP_OK);
    g_assert_cmpuint(d->media[0].extmap.abs_send_time, ==, 0);
    g_assert_cmpuint(d->media[0].extmap.mid, ==, 1);
}

static void
test_parse_answer(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);

    fill_offer(o, 3, 5);
    o->tracks[2].direction = VEJ_SDP_DIR_INACTIVE;
    g_assert_cmpint(answer_status(o, client_answer, d), ==, VEJ_SDP_OK);
    g_assert_cmpstr(d->ice_ufrag, ==, "k2Qe");
    g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTIVE); /* gateway: DTLS server */
    g_assert_cmpuint(d->fingerprint_len, ==, 32);
    g_assert_cmpuint(d->n_media, ==, 3);
    g_assert_true(d->media[0].accepted && d->media[1].accepted && d->media[2].accepted);
    g_assert_cmpuint(d->media[0].extmap.mid, ==, 1);
    g_assert_cmpuint(d->media[0].extmap.abs_send_time, ==, 2);
    g_assert_cmpuint(d->media[0].extmap.audio_level, ==, 3);
    g_assert_cmpuint(d->media[1].extmap.transport_cc, ==, 0); /* not offered */
    g_assert_cmphex(d->media[1].rtcp_fb, ==, VEJ_SDP_FB_SUPPORTED_VIDEO);
    g_assert_cmpint(d->media[1].codec, ==, VEJ_SDP_CODEC_VP8);
    g_assert_cmpint(d->media[2].direction, ==, VEJ_SDP_DIR_INACTIVE);

    g_assert_cmpint(answer_edit(o, "a=setup:active", "a=setup:passive", d), ==, VEJ_SDP_OK);
    g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_PASSIVE); /* gateway: DTLS client */
    g_assert_cmpint(answer_edit(o, "a=setup:active\r\n", "", d), ==, VEJ_SDP_OK);
    g_assert_cmpint(d->setup, ==, VEJ_SDP_SETUP_ACTIVE);
    /* The client rejects the second m-line. */
    g_assert_cmpint(answer_edit(o, "m=video 9 ", "m=video 0 ", d), ==, VEJ_SDP_OK);
    g_assert_false(d->media[1].accepted);
    g_assert_nonnull(d->media[1].reject_reason);

    g_assert_cmpint(answer_edit(o, "a=setup:active", "a=setup:actpass", d), ==, VEJ_SDP_ESETUP);
    g_assert_cmpint(answer_edit(o, "a=mid:v1", "a=mid:vX", d), ==, VEJ_SDP_EMID);
    g_assert_cmpint(answer_edit(o, "BUNDLE a0 v1 a2", "BUNDLE a0 a2", d), ==, VEJ_SDP_EBUNDLE);
    g_assert_cmpint(answer_edit(o, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp",
                                "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp", d),
                    ==, VEJ_SDP_ECODEC);
    g_assert_cmpint(answer_edit(o, "a=fingerprint:", "a=x-fingerprint:", d), ==,
                    VEJ_SDP_EFINGERPRINT);
    g_assert_cmpint(answer_edit(o, "a=ice-pwd:Yh6pR0tXw3Lz8Nq1Vb5Mc7Df\r\n", "", d), ==,
                    VEJ_SDP_EICE);
    g_assert_cmpint(answer_edit(o, "a=rtcp-mux\r\n", "", d), ==, VEJ_SDP_ERTCPMUX);
    g_assert_cmpint(
        answer_edit(o, "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=audio 9 UDP/TLS/RTP/SAVPF 96", d), ==,
        VEJ_SDP_EMEDIA);
    o->n_tracks = 4; /* one m-line missing from the answer */
    g_assert_cmpint(answer_status(o, client_answer, d), ==, VEJ_SDP_EMEDIA);
    g_assert_cmpint(vej_sdp_parse_answer(client_answer, 10, NULL, NULL, d, NULL), ==,
                    VEJ_SDP_EINVAL);
}

/* RTX in the client's answer: kept only as offered (listed PT, rtx/90000,
 * apt = our PT); dropping it, or changing it, disables it. */
static void
test_parse_answer_rtx(void)
{
    g_autofree struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    g_autofree char *with_rtx = NULL, *wrong_apt = NULL, *unlisted = NULL, *no_nack = NULL;
    const char *mline = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
    const char *fb = "a=rtcp-fb:96 nack pli\r\n";

    fill_offer(o, 3, 5);
    o->tracks[2].direction = VEJ_SDP_DIR_INACTIVE;
    g_assert_cmpuint(o->tracks[1].rtx_pt, ==, 97);
    /* Chromium's answer as it would be with RTX kept. */
    {
        g_autofree char *a = replace(client_answer, mline, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n");
        with_rtx = replace(a, fb,
                           "a=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\n"
                           "a=fmtp:97 apt=96\r\n");
        wrong_apt = replace(with_rtx, "a=fmtp:97 apt=96", "a=fmtp:97 apt=100");
        unlisted = replace(with_rtx, "SAVPF 96 97", "SAVPF 96");
        no_nack = replace(with_rtx, "a=rtcp-fb:96 nack\r\n", "");
    }
    g_assert_cmpint(answer_status(o, with_rtx, d), ==, VEJ_SDP_OK);
    g_assert_true(d->media[1].has_rtx);
    g_assert_cmpuint(d->media[1].rtx_pt, ==, 97);
    g_assert_true(d->media[1].rtcp_fb & VEJ_SDP_FB_NACK);
    g_assert_false(d->media[0].has_rtx);
    /* The fixture itself answers without RTX: rejected. */
    g_assert_cmpint(answer_status(o, client_answer, d), ==, VEJ_SDP_OK);
    g_assert_false(d->media[1].has_rtx);
    g_assert_cmpuint(d->media[1].rtx_pt, ==, 0);
    g_assert_true(d->media[1].rtcp_fb & VEJ_SDP_FB_NACK);
    g_assert_cmpint(answer_status(o, wrong_apt, d), ==, VEJ_SDP_OK);
    g_assert_false(d->media[1].has_rtx);
    g_assert_cmpint(answer_status(o, unlisted, d), ==, VEJ_SDP_OK);
    g_assert_false(d->media[1].has_rtx);
    /* RTX kept but generic NACK dropped: the router needs both. */
    g_assert_cmpint(answer_status(o, no_nack, d), ==, VEJ_SDP_OK);
    g_assert_true(d->media[1].has_rtx);
    g_assert_false(d->media[1].rtcp_fb & VEJ_SDP_FB_NACK);
    g_assert_true(d->media[1].rtcp_fb & VEJ_SDP_FB_NACK_PLI);
    /* An offer without RTX: an answer listing 97 anyway does not enable it. */
    o->tracks[1].rtx_pt = 0;
    g_assert_cmpint(answer_status(o, with_rtx, d), ==, VEJ_SDP_OK);
    g_assert_false(d->media[1].has_rtx);
}

/* A publisher's offer: RTX answered only for video that offers generic
 * NACK for the chosen codec. */
static void
test_answer_rtx_needs_nack(void)
{
    g_autofree char *no_nack = replace(chrome_offer, "a=rtcp-fb:96 nack\r\n", "");
    g_autofree struct vej_sdp_description *d = parse_ok(no_nack, NULL);
    g_autofree struct vej_sdp_description *w = parse_ok(webrtcbin_offer, NULL);
    struct vej_sdp_local local;
    g_autofree char *text = NULL;
    g_autoptr(GstSDPMessage) m = NULL;

    g_assert_false(d->media[1].has_rtx);
    g_assert_false(d->media[0].has_rtx);
    fill_local(&local, 1, 0);
    g_assert_cmpint(vej_sdp_make_answer(d, &local, &text, NULL), ==, VEJ_SDP_OK);
    m = reparse(text);
    g_assert_cmpuint(gst_sdp_media_formats_len(gst_sdp_message_get_media(m, 1)), ==, 1);
    g_assert_null(strstr(text, "rtx"));
    /* webrtcbin (as the interop peer runs it) offers nack, no RTX. */
    g_assert_true(w->media[0].rtcp_fb & VEJ_SDP_FB_NACK);
    g_assert_false(w->media[0].has_rtx);
}

static void
check_candidate(const char *c, bool allow_tcp, int want, bool mdns)
{
    struct vej_sdp_candidate_info info;
    const char *reason = NULL;
    int st = vej_sdp_candidate_check(c, strlen(c), allow_tcp, &info, &reason);

    if (st != want)
        g_error("%s: %s (%s)", c, vej_sdp_status_name(st), reason ? reason : "-");
    if (st == VEJ_SDP_OK)
        g_assert_cmpint(info.mdns, ==, mdns);
    else
        g_assert_nonnull(reason);
}

/* 1:1 NAT: the public twin of each mapped host candidate, first, same port. */
static void
test_nat(void)
{
    struct vej_sdp_local l;
    char buf[VEJ_SDP_CANDIDATE_LEN];

    fill_local(&l, 1, 2); /* 198.51.100.7:40000, 2001:db8::7:40001 */
    g_strlcpy(l.candidates[0].address, "10.0.0.5", sizeof l.candidates[0].address);
    g_strlcpy(l.candidates[1].address, "fd00::5", sizeof l.candidates[1].address);
    struct vej_sdp_nat nat = {.public_ipv4 = "203.0.113.7", .public_ipv6 = "2001:db8::7"};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 2);
    g_assert_cmpuint(l.n_candidates, ==, 4);
    /* srflx, priority: type preference 100 over the host's local preference */
    g_assert_cmpint(vej_sdp_candidate_format(&l.candidates[0], buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==,
                    "candidate:n1 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 10.0.0.5 "
                    "rport 40000");
    g_assert_cmpint(vej_sdp_candidate_format(&l.candidates[1], buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==,
                    "candidate:n2 1 udp 1694498814 2001:db8::7 40001 typ srflx raddr fd00::5 "
                    "rport 40001");
    g_assert_cmpint(vej_sdp_candidate_format(&l.candidates[2], buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==, "candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host");
    g_assert_cmpstr(l.candidates[3].address, ==, "fd00::5");
    /* the answer's default address is the public one, the private follows */
    g_autofree char *answer = NULL;
    g_autoptr(GstSDPMessage) m = NULL;
    const char *why = NULL;
    g_autofree struct vej_sdp_description *d = parse_ok(chrome_offer, NULL);
    g_assert_cmpint(vej_sdp_make_answer(d, &l, &answer, &why), ==, VEJ_SDP_OK);
    m = reparse(answer);
    const GstSDPMedia *a = gst_sdp_message_get_media(m, 0);
    g_assert_cmpstr(gst_sdp_media_get_connection(a, 0)->address, ==, "203.0.113.7");
    g_assert_cmpuint(count_attr(a, "candidate"), ==, 4);
    g_assert_cmpstr(attr(a, "candidate"), ==,
                    "n1 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 10.0.0.5 rport 40000");

    /* hidden private side, one family only */
    fill_local(&l, 1, 2);
    g_strlcpy(l.candidates[0].address, "10.0.0.5", sizeof l.candidates[0].address);
    nat =
        (struct vej_sdp_nat){.public_ipv4 = "203.0.113.7", .public_ipv6 = "", .hide_private = true};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 1);
    g_assert_cmpuint(l.n_candidates, ==, 2);
    g_assert_cmpint(vej_sdp_candidate_format(&l.candidates[0], buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==,
                    "candidate:n1 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 0.0.0.0 "
                    "rport 0");
    g_assert_cmpstr(l.candidates[1].address, ==, "2001:db8::7"); /* IPv6 unmapped: kept */

    /* hidden private side: a TCP host candidate of that family goes too */
    fill_local(&l, 1, 2);
    g_strlcpy(l.candidates[0].address, "10.0.0.5", sizeof l.candidates[0].address);
    g_strlcpy(l.candidates[1].address, "10.0.0.5", sizeof l.candidates[1].address);
    l.candidates[1].transport = VEJ_SDP_TRANSPORT_TCP;
    nat = (struct vej_sdp_nat){.public_ipv4 = "203.0.113.7", .hide_private = true};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 1);
    g_assert_cmpuint(l.n_candidates, ==, 1);
    g_assert_cmpstr(l.candidates[0].address, ==, "203.0.113.7");

    /* ICE-lite: host type, one local preference below its private twin */
    fill_local(&l, 1, 1);
    g_strlcpy(l.candidates[0].address, "10.0.0.5", sizeof l.candidates[0].address);
    nat = (struct vej_sdp_nat){.public_ipv4 = "203.0.113.7", .as_host = true};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 1);
    g_assert_cmpint(vej_sdp_candidate_format(&l.candidates[0], buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==, "candidate:n1 1 udp 2130706175 203.0.113.7 40000 typ host");

    /* a host already on the public address: nothing to add; no NAT: nothing */
    fill_local(&l, 1, 1);
    nat = (struct vej_sdp_nat){.public_ipv4 = "198.51.100.7", .hide_private = true};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 0);
    g_assert_cmpuint(l.n_candidates, ==, 1);
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, NULL), ==, 0);
    nat = (struct vej_sdp_nat){0};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, 0);
    g_assert_cmpuint(l.n_candidates, ==, 1);

    /* full: the public twins first, the last private ones left out */
    fill_local(&l, 1, VEJ_SDP_MAX_CANDIDATES);
    for (size_t i = 0; i < VEJ_SDP_MAX_CANDIDATES; i++)
        g_strlcpy(l.candidates[i].address, "10.0.0.5", sizeof l.candidates[i].address);
    nat = (struct vej_sdp_nat){.public_ipv4 = "203.0.113.7"};
    g_assert_cmpuint(vej_sdp_local_apply_nat(&l, &nat), ==, VEJ_SDP_MAX_CANDIDATES);
    g_assert_cmpuint(l.n_candidates, ==, VEJ_SDP_MAX_CANDIDATES);

    /* srflx needs UDP and a numeric raddr */
    struct vej_sdp_host_candidate c = {.foundation = "n1",
                                       .priority = 1,
                                       .address = "203.0.113.7",
                                       .port = 9,
                                       .type = VEJ_SDP_CAND_SRFLX};
    g_assert_cmpint(vej_sdp_candidate_format(&c, buf, sizeof buf), ==, VEJ_SDP_EINVAL);
    g_strlcpy(c.related_address, "10.0.0.5", sizeof c.related_address);
    g_assert_cmpint(vej_sdp_candidate_format(&c, buf, sizeof buf), >, 0);
    c.transport = VEJ_SDP_TRANSPORT_TCP;
    g_assert_cmpint(vej_sdp_candidate_format(&c, buf, sizeof buf), ==, VEJ_SDP_EINVAL);
    c.transport = VEJ_SDP_TRANSPORT_UDP;
    c.type = VEJ_SDP_CAND_RELAY;
    g_assert_cmpint(vej_sdp_candidate_format(&c, buf, sizeof buf), ==, VEJ_SDP_EINVAL);
}

static void
test_candidates(void)
{
    struct vej_sdp_candidate_info info;
    struct vej_sdp_host_candidate h = {.foundation = "4", .priority = 2122260223, .port = 50000};
    g_autofree char *ufrag = g_strnfill(600, 'a');
    g_autofree char *longc =
        g_strdup_printf("candidate:1 1 udp 1 10.0.0.1 9 typ host ufrag %s", ufrag);
    char buf[128];

    check_candidate("candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr "
                    "192.168.1.2 rport 54321 generation 0 ufrag Fx9s network-cost 999",
                    false, VEJ_SDP_OK, false);
    check_candidate("a=candidate:1 1 UDP 2015363327 192.168.1.20 50412 typ host", false, VEJ_SDP_OK,
                    false);
    check_candidate("candidate:3 1 udp 2122262783 2001:db8::5 50001 typ host generation 0", false,
                    VEJ_SDP_OK, false);
    check_candidate("candidate:2 1 udp 2122260223 3f2a8c1e-77b2-4f0d-9a41-5e6c7d8e9fa0.local "
                    "50000 typ host generation 0",
                    false, VEJ_SDP_OK, true);
    check_candidate("candidate:4 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active", true,
                    VEJ_SDP_OK, false);
    check_candidate("candidate:4 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:4 1 tcp 1518280447 192.168.1.2 9 typ host", true, VEJ_SDP_ECANDIDATE,
                    false);
    check_candidate("candidate:1 2 udp 2122260222 192.168.1.2 50001 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 192.168.1.2 0 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 192.168.1.2 70000 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 192.168.1.2 5000 type host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 example.org 5000 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 fe80::1%eth0 5000 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 192.168.1.2 5000 typ host\r\n", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 5000 typ host", false, VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1  1 udp 2122260222 192.168.1.2 5000 typ host", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("candidate:1 1 udp 2122260222 192.168.1.2 5000 typ host raddr", false,
                    VEJ_SDP_ECANDIDATE, false);
    check_candidate("1 1 udp 2122260222 192.168.1.2 5000 typ host", false, VEJ_SDP_ECANDIDATE,
                    false);
    check_candidate(longc, false, VEJ_SDP_ECANDIDATE, false);
    g_assert_cmpint(vej_sdp_candidate_check("", 0, false, &info, NULL), ==, VEJ_SDP_ECANDIDATE);

    g_strlcpy(h.address, "192.0.2.10", sizeof h.address);
    g_assert_cmpint(vej_sdp_candidate_format(&h, buf, sizeof buf), ==,
                    (int)strlen("candidate:4 1 udp 2122260223 192.0.2.10 50000 typ host"));
    g_assert_cmpstr(buf, ==, "candidate:4 1 udp 2122260223 192.0.2.10 50000 typ host");
    check_candidate(buf, false, VEJ_SDP_OK, false);
    h.transport = VEJ_SDP_TRANSPORT_TCP;
    g_assert_cmpint(vej_sdp_candidate_format(&h, buf, sizeof buf), >, 0);
    g_assert_cmpstr(buf, ==,
                    "candidate:4 1 tcp 2122260223 192.0.2.10 50000 typ host tcptype passive");
    g_assert_cmpint(vej_sdp_candidate_format(&h, buf, 20), ==, VEJ_SDP_ENOSPACE);
    h.port = 0;
    g_assert_cmpint(vej_sdp_candidate_format(&h, buf, sizeof buf), ==, VEJ_SDP_EINVAL);
}

static void
test_helpers(void)
{
    uint8_t fp[32];
    char buf[VEJ_SDP_FINGERPRINT_TEXT];
    struct vej_sdp_limits lim;
    g_autofree struct vej_sdp_description *d = parse_ok(chrome_offer, NULL);

    for (size_t i = 0; i < sizeof fp; i++)
        fp[i] = (uint8_t)i;
    g_assert_cmpint(vej_sdp_fingerprint_format(VEJ_SDP_FP_SHA256, fp, 32, buf, sizeof buf), ==, 95);
    g_assert_true(g_str_has_prefix(buf, "00:01:02:"));
    g_assert_true(g_str_has_suffix(buf, ":1E:1F"));
    g_assert_cmpint(vej_sdp_fingerprint_format(VEJ_SDP_FP_SHA1, fp, 32, buf, sizeof buf), ==,
                    VEJ_SDP_EINVAL);
    g_assert_cmpint(vej_sdp_fingerprint_format(VEJ_SDP_FP_SHA256, fp, 32, buf, 95), ==,
                    VEJ_SDP_ENOSPACE);
    g_assert_cmpstr(vej_sdp_status_name(VEJ_SDP_OK), ==, "ok");
    g_assert_cmpstr(vej_sdp_status_name(VEJ_SDP_ENOSPACE), ==, "no-space");
    g_assert_cmpstr(vej_sdp_status_name(-99), ==, "unknown");
    g_assert_cmpstr(vej_sdp_status_name(3), ==, "unknown");
    g_assert_cmpstr(vej_sdp_codec_name(VEJ_SDP_CODEC_H264), ==, "H264");
    g_assert_cmpstr(vej_sdp_direction_name(VEJ_SDP_DIR_RECVONLY), ==, "recvonly");
    vej_sdp_limits_init(&lim);
    g_assert_cmpuint(lim.max_attribute_len, ==, 1024);
    g_assert_cmpint(vej_sdp_find_mid(d, "1"), ==, 1);
    g_assert_cmpint(vej_sdp_find_mid(d, "9"), ==, -1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    chrome_offer = load_fixture("offer-chromium-120");
    webrtcbin_offer = load_fixture("offer-webrtcbin-1.22");
    firefox_offer = load_fixture("offer-firefox-115");
    client_answer = load_fixture("answer-chromium");
    g_test_add_func("/sdp/offer/chromium", test_chrome_offer);
    g_test_add_func("/sdp/offer/chromium-codec-choice", test_chrome_codec_choice);
    g_test_add_func("/sdp/offer/webrtcbin", test_webrtcbin_offer);
    g_test_add_func("/sdp/offer/firefox", test_firefox_offer);
    g_test_add_func("/sdp/offer/generated-1-2-16", test_generated_offers);
    g_test_add_func("/sdp/offer/refusals", test_refusals);
    g_test_add_func("/sdp/offer/refusals-size", test_refusals_size);
    g_test_add_func("/sdp/offer/refusal-is-quick", test_refusal_is_quick);
    g_test_add_func("/sdp/answer/chromium", test_chrome_answer);
    g_test_add_func("/sdp/answer/rejected-mline", test_answer_rejected_mline);
    g_test_add_func("/sdp/subscribe/make-offer-0-1-2-16", test_make_offer);
    g_test_add_func("/sdp/subscribe/make-offer-invalid", test_make_offer_invalid);
    g_test_add_func("/sdp/subscribe/re-offer", test_reoffer);
    g_test_add_func("/sdp/subscribe/extmaps", test_offer_extmaps);
    g_test_add_func("/sdp/subscribe/parse-answer", test_parse_answer);
    g_test_add_func("/sdp/subscribe/parse-answer-extmaps", test_parse_answer_extmaps);
    g_test_add_func("/sdp/subscribe/parse-answer-rtx", test_parse_answer_rtx);
    g_test_add_func("/sdp/answer/rtx-needs-nack", test_answer_rtx_needs_nack);
    g_test_add_func("/sdp/candidates", test_candidates);
    g_test_add_func("/sdp/candidates/nat", test_nat);
    g_test_add_func("/sdp/helpers", test_helpers);
    int rc = g_test_run();
    g_free(chrome_offer);
    g_free(webrtcbin_offer);
    g_free(firefox_offer);
    g_free(client_answer);
    return rc;
}
