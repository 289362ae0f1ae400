/* fuzz_sdp.c - SDP handling: a publisher's offer, a subscriber's answer,
 * a trickled candidate.
 *
 * The input is parsed as a publisher's offer; when accepted, the answer is
 * written and read back through GstSDPMessage, and a subscribe offer built
 * from the accepted m-lines must parse as an offer again. The same input
 * is parsed as the answer to a fixed three-track subscribe offer, and as a
 * candidate line. Invariants: a refusal always carries a reason; every
 * string of a description is valid UTF-8; accepted
 * m-lines have a chosen codec of their kind, a mid and BUNDLE membership;
 * the answer has one m-line per offered one, one format per accepted
 * m-line, no transport-cc feedback, no transport-wide-cc or abs-send-time
 * extension, no SSRC and no sendrecv; an accepted answer has the offer's mids
 * and a DTLS role. */
#include "gateway/sdp/sdp.h"
#include "tests/fuzz/fuzz.h"

#include <glib.h>
#include <gst/sdp/sdp.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void
fill_local(struct vej_sdp_local *l)
{
    memset(l, 0, sizeof *l);
    l->session_id = 42;
    l->session_version = 1;
    g_strlcpy(l->ice_ufrag, "fzUf", sizeof l->ice_ufrag);
    g_strlcpy(l->ice_pwd, "FuzzPassword0123456789", sizeof l->ice_pwd);
    l->fingerprint_alg = VEJ_SDP_FP_SHA256;
    l->fingerprint_len = 32;
    l->n_candidates = 1;
    g_strlcpy(l->candidates[0].foundation, "1", sizeof l->candidates[0].foundation);
    l->candidates[0].priority = 2130706431;
    g_strlcpy(l->candidates[0].address, "192.0.2.1", sizeof l->candidates[0].address);
    l->candidates[0].port = 40000;
}

static bool
codec_fits(const struct vej_sdp_media *m)
{
    if (m->kind == VEJ_SDP_KIND_AUDIO)
        return m->codec == VEJ_SDP_CODEC_OPUS;
    return m->kind == VEJ_SDP_KIND_VIDEO &&
           (m->codec == VEJ_SDP_CODEC_VP8 || m->codec == VEJ_SDP_CODEC_H264);
}

/* Every string of a parsed description is valid UTF-8. */
static void
check_strings(const struct vej_sdp_description *d)
{
    CHECK(g_utf8_validate(d->ice_ufrag, -1, NULL) && g_utf8_validate(d->ice_pwd, -1, NULL));
    for (size_t i = 0; i < d->n_candidates; i++)
        CHECK(g_utf8_validate(d->candidates[i], -1, NULL));
    for (size_t i = 0; i < d->n_media; i++) {
        const struct vej_sdp_media *m = &d->media[i];
        const char *s[] = {m->mid,  m->media_name, m->proto,       m->first_format,
                           m->fmtp, m->cname,      m->msid_stream, m->msid_track};
        for (size_t j = 0; j < G_N_ELEMENTS(s); j++)
            CHECK(g_utf8_validate(s[j], -1, NULL));
    }
}

static void
check_answer(const struct vej_sdp_description *d, const char *text)
{
    GstSDPMessage *msg = NULL;

    CHECK(g_utf8_validate(text, -1, NULL));
    CHECK(gst_sdp_message_new_from_text(text, &msg) == GST_SDP_OK);
    CHECK(gst_sdp_message_medias_len(msg) == d->n_media);
    for (size_t i = 0; i < d->n_media; i++) {
        const GstSDPMedia *gm = gst_sdp_message_get_media(msg, (guint)i);
        CHECK(g_strcmp0(gst_sdp_media_get_attribute_val(gm, "mid"), d->media[i].mid) == 0);
        CHECK((gst_sdp_media_get_port(gm) == 0) == !d->media[i].accepted);
        if (d->media[i].accepted) {
            /* the chosen PT, and its RTX PT for video offering nack */
            CHECK(gst_sdp_media_formats_len(gm) == 1u + d->media[i].has_rtx);
            CHECK(!d->media[i].has_rtx || (d->media[i].kind == VEJ_SDP_KIND_VIDEO &&
                                           (d->media[i].rtcp_fb & VEJ_SDP_FB_NACK)));
        }
        for (guint j = 0; j < gst_sdp_media_attributes_len(gm); j++) {
            const GstSDPAttribute *a = gst_sdp_media_get_attribute(gm, j);
            if (strcmp(a->key, "rtcp-fb") == 0)
                CHECK(!g_str_has_suffix(a->value, " transport-cc"));
            if (strcmp(a->key, "extmap") == 0)
                CHECK(!strstr(a->value, "transport-wide-cc") && !strstr(a->value, "abs-send-time"));
            CHECK(strcmp(a->key, "ssrc") != 0 && strcmp(a->key, "sendrecv") != 0);
        }
    }
    gst_sdp_message_free(msg);
}

/* A subscribe offer with the accepted m-lines of d must parse again. */
static void
round_trip(const struct vej_sdp_description *d)
{
    struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    struct vej_sdp_description *back = g_new0(struct vej_sdp_description, 1);
    char *text = NULL;

    fill_local(&o->local);
    o->extmap.mid = 1;
    o->extmap.audio_level = 3;
    for (size_t i = 0; i < d->n_media && o->n_tracks < VEJ_SDP_DEFAULT_MAX_MLINES; i++) {
        struct vej_sdp_track *t = &o->tracks[o->n_tracks];
        if (!d->media[i].accepted)
            continue;
        g_strlcpy(t->mid, d->media[i].mid, sizeof t->mid);
        t->kind = d->media[i].kind;
        t->direction = VEJ_SDP_DIR_SENDONLY;
        t->codec = d->media[i].codec;
        t->pt = d->media[i].pt;
        g_strlcpy(t->fmtp, d->media[i].fmtp, sizeof t->fmtp);
        t->ssrc = 1234 + (uint32_t)i;
        if (t->kind == VEJ_SDP_KIND_VIDEO) {
            t->rtx_pt = t->pt == 127 ? 126 : (uint8_t)(t->pt + 1);
            t->rtx_ssrc = 5678 + (uint32_t)i;
        }
        g_strlcpy(t->cname, "cname", sizeof t->cname);
        g_strlcpy(t->msid_stream, "stream", sizeof t->msid_stream);
        g_strlcpy(t->msid_track, "track", sizeof t->msid_track);
        o->n_tracks++;
    }
    int st = vej_sdp_make_offer(o, &text, NULL);
    CHECK(st == VEJ_SDP_OK || st == VEJ_SDP_EINVAL); /* PT < 96, non-ASCII fmtp */
    if (st == VEJ_SDP_OK) {
        const char *reason = NULL;
        st = vej_sdp_parse_offer(text, strlen(text), NULL, NULL, back, &reason);
        CHECK(st == VEJ_SDP_OK);
        CHECK(back->n_media == o->n_tracks);
        for (size_t i = 0; i < back->n_media; i++) {
            CHECK(strcmp(back->media[i].mid, o->tracks[i].mid) == 0);
            CHECK(back->media[i].pt == o->tracks[i].pt);
            CHECK(back->media[i].ssrc == o->tracks[i].ssrc);
            if (o->tracks[i].rtx_pt) /* we offer nack, so RTX would be answered */
                CHECK(back->media[i].has_rtx && back->media[i].rtx_pt == o->tracks[i].rtx_pt &&
                      back->media[i].has_rtx_ssrc &&
                      back->media[i].rtx_ssrc == o->tracks[i].rtx_ssrc);
        }
        g_free(text);
    }
    g_free(back);
    g_free(o);
}

static void
fuzz_offer(const char *sdp, size_t len)
{
    struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    struct vej_sdp_local local;
    const char *reason = NULL;
    char *answer = NULL;
    int st = vej_sdp_parse_offer(sdp, len, NULL, NULL, d, &reason);

    CHECK(st == VEJ_SDP_OK || (st < 0 && reason && reason[0]));
    if (st == VEJ_SDP_OK) {
        check_strings(d);
        for (size_t i = 0; i < d->n_media; i++) {
            const struct vej_sdp_media *m = &d->media[i];
            CHECK(m->mid[0]);
            CHECK(m->accepted == (m->reject_reason == NULL));
            if (m->accepted)
                CHECK(codec_fits(m) && m->in_bundle && m->rtcp_mux);
        }
        fill_local(&local);
        CHECK(vej_sdp_make_answer(d, &local, &answer, &reason) == VEJ_SDP_OK);
        check_answer(d, answer);
        g_free(answer);
        round_trip(d);
    }
    g_free(d);
}

static void
fuzz_answer(const char *sdp, size_t len)
{
    static const char *const mids[] = {"a0", "v1", "a2"};
    struct vej_sdp_offer *o = g_new0(struct vej_sdp_offer, 1);
    struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    const char *reason = NULL;
    int st;

    fill_local(&o->local);
    o->extmap.mid = 1;
    o->extmap.audio_level = 3;
    o->n_tracks = 3;
    for (size_t i = 0; i < 3; i++) {
        struct vej_sdp_track *t = &o->tracks[i];
        g_strlcpy(t->mid, mids[i], sizeof t->mid);
        t->kind = i == 1 ? VEJ_SDP_KIND_VIDEO : VEJ_SDP_KIND_AUDIO;
        t->codec = i == 1 ? VEJ_SDP_CODEC_VP8 : VEJ_SDP_CODEC_OPUS;
        t->pt = i == 1 ? 96 : 111;
        t->direction = i == 2 ? VEJ_SDP_DIR_INACTIVE : VEJ_SDP_DIR_SENDONLY;
        t->ssrc = 1000 + (uint32_t)i;
        t->rtx_pt = i == 1 ? 97 : 0;
        t->rtx_ssrc = i == 1 ? 2001 : 0;
        g_strlcpy(t->cname, "c", sizeof t->cname);
        g_strlcpy(t->msid_stream, "s", sizeof t->msid_stream);
        g_strlcpy(t->msid_track, "t", sizeof t->msid_track);
    }
    st = vej_sdp_parse_answer(sdp, len, NULL, o, d, &reason);
    CHECK(st == VEJ_SDP_OK || (st < 0 && reason && reason[0]));
    if (st == VEJ_SDP_OK) {
        bool any = false;
        check_strings(d);
        CHECK(d->n_media == 3);
        for (size_t i = 0; i < 3; i++) {
            CHECK(strcmp(d->media[i].mid, mids[i]) == 0);
            if (d->media[i].accepted) {
                any = true;
                CHECK(d->media[i].pt == o->tracks[i].pt);
                CHECK(!(d->media[i].rtcp_fb & VEJ_SDP_FB_TRANSPORT_CC));
                CHECK(!d->media[i].has_rtx || (i == 1 && d->media[i].rtx_pt == 97));
            }
        }
        if (any)
            CHECK(d->setup == VEJ_SDP_SETUP_ACTIVE || d->setup == VEJ_SDP_SETUP_PASSIVE);
    }
    g_free(d);
    g_free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_sdp_candidate_info info;
    const char *reason = NULL;
    int st;

    fuzz_offer((const char *)data, size);
    fuzz_answer((const char *)data, size);
    st = vej_sdp_candidate_check((const char *)data, size, size % 2 == 1, &info, &reason);
    CHECK(st == VEJ_SDP_OK || (st == VEJ_SDP_ECANDIDATE && reason));
    if (st == VEJ_SDP_OK)
        CHECK(info.component == 1 && info.priority > 0 && info.foundation[0]);
    return 0;
}
