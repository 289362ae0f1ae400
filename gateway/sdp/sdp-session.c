/* sdp-session.c - the transport of a bundled SDP: session attributes,
 * the BUNDLE group, ICE credentials, DTLS fingerprint and setup, and the
 * inline candidates. */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static void
session_attribute(struct vej__sdp_session *s, const char *key, const char *value)
{
    if (strcmp(key, "ice-ufrag") == 0 && !s->ice_ufrag) {
        s->ice_ufrag = value;
    } else if (strcmp(key, "ice-pwd") == 0 && !s->ice_pwd) {
        s->ice_pwd = value;
    } else if (strcmp(key, "fingerprint") == 0 && !s->fingerprint) {
        s->fingerprint = value;
    } else if (strcmp(key, "setup") == 0 && !s->setup) {
        s->setup = value;
    } else if (strcmp(key, "sendonly") == 0) {
        s->direction = VEJ_SDP_DIR_SENDONLY;
    } else if (strcmp(key, "recvonly") == 0) {
        s->direction = VEJ_SDP_DIR_RECVONLY;
    } else if (strcmp(key, "inactive") == 0) {
        s->direction = VEJ_SDP_DIR_INACTIVE;
    } else if (strcmp(key, "ice-lite") == 0) {
        s->ice_lite = true;
    } else if (strcmp(key, "extmap-allow-mixed") == 0) {
        s->extmap_allow_mixed = true;
    } else if (strcmp(key, "end-of-candidates") == 0) {
        s->end_of_candidates = true;
    } else if (strcmp(key, "ice-options") == 0) {
        g_auto(GStrv) opts = g_strsplit(value, " ", -1);
        for (size_t i = 0; opts[i]; i++)
            s->ice_trickle |= strcmp(opts[i], "trickle") == 0;
    } else if (strcmp(key, "group") == 0 && g_str_has_prefix(value, "BUNDLE") &&
               (value[6] == ' ' || value[6] == '\0')) {
        if (s->n_bundle_groups++ == 0)
            s->bundle = value + 6;
    }
}

void
vej__sdp_read_session(const GstSDPMessage *msg, struct vej__sdp_session *session)
{
    memset(session, 0, sizeof *session);
    for (guint i = 0; i < gst_sdp_message_attributes_len(msg); i++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(msg, i);
        session_attribute(session, a->key, a->value ? a->value : "");
    }
}

enum vej_sdp_status
vej__sdp_apply_bundle(const char *group, struct vej_sdp_description *desc, const char **reason)
{
    g_auto(GStrv) mids = g_strsplit(group, " ", -1);

    for (size_t i = 0; mids[i]; i++) {
        int idx;

        if (!mids[i][0])
            continue;
        idx = vej_sdp_find_mid(desc, mids[i]);
        if (idx < 0)
            return vej__sdp_fail(reason, VEJ_SDP_EBUNDLE,
                                 "the BUNDLE group names a mid that has no m-line");
        if (desc->media[idx].in_bundle)
            return vej__sdp_fail(reason, VEJ_SDP_EBUNDLE, "the BUNDLE group repeats a mid");
        desc->media[idx].in_bundle = true;
    }
    return VEJ_SDP_OK;
}

static enum vej_sdp_fingerprint_alg
fingerprint_alg(const char *name, size_t len)
{
    for (int a = VEJ_SDP_FP_SHA1; a <= VEJ_SDP_FP_SHA512; a++) {
        const char *n = vej__sdp_fingerprint_alg_name((enum vej_sdp_fingerprint_alg)a);
        if (strlen(n) == len && g_ascii_strncasecmp(n, name, len) == 0)
            return (enum vej_sdp_fingerprint_alg)a;
    }
    return VEJ_SDP_FP_NONE;
}

bool
vej__sdp_parse_fingerprint(const char *value, struct vej_sdp_description *desc)
{
    const char *sp = strchr(value, ' '), *hex;
    enum vej_sdp_fingerprint_alg alg;
    size_t size, hexlen;

    if (!sp)
        return false;
    alg = fingerprint_alg(value, (size_t)(sp - value));
    size = vej__sdp_fingerprint_size(alg);
    hex = sp + 1;
    while (*hex == ' ')
        hex++;
    hexlen = strlen(hex);
    while (hexlen > 0 && hex[hexlen - 1] == ' ')
        hexlen--;
    if (size == 0 || hexlen != size * 3 - 1)
        return false;
    for (size_t i = 0; i < size; i++) {
        int hi = g_ascii_xdigit_value(hex[i * 3]), lo = g_ascii_xdigit_value(hex[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i + 1 < size && hex[i * 3 + 2] != ':'))
            return false;
        desc->fingerprint[i] = (uint8_t)(hi << 4 | lo);
    }
    desc->fingerprint_alg = alg;
    desc->fingerprint_len = size;
    return true;
}

static bool
setup_of(const char *value, enum vej_sdp_setup *out)
{
    static const char *const names[] = {"actpass", "active", "passive"};

    *out = VEJ_SDP_SETUP_NONE;
    if (!value)
        return true;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = (enum vej_sdp_setup)(VEJ_SDP_SETUP_ACTPASS + i);
            return true;
        }
    }
    return false;
}

/* The first live m-line's value sets *first; later ones must be equal. */
static bool
same_as_first(const char **first, bool *seen, const char *value)
{
    if (!*seen) {
        *seen = true;
        *first = value;
        return true;
    }
    return g_strcmp0(*first, value) == 0;
}

enum vej_sdp_status
vej__sdp_transport(const struct vej__sdp_session *session, const struct vej__sdp_media_refs *refs,
                   const bool *live, struct vej_sdp_description *desc, const char **reason)
{
    const char *ufrag = NULL, *pwd = NULL, *fp = NULL, *setup = NULL;
    bool s_ufrag = false, s_pwd = false, s_fp = false, s_setup = false;
    enum vej_sdp_setup st;

    for (size_t i = 0; i < desc->n_media; i++) {
        if (!live[i])
            continue;
        if (!same_as_first(&ufrag, &s_ufrag,
                           refs[i].ice_ufrag ? refs[i].ice_ufrag : session->ice_ufrag) ||
            !same_as_first(&pwd, &s_pwd, refs[i].ice_pwd ? refs[i].ice_pwd : session->ice_pwd))
            return vej__sdp_fail(reason, VEJ_SDP_EICE,
                                 "the ICE credentials differ between bundled m-lines");
        if (!same_as_first(&fp, &s_fp,
                           refs[i].fingerprint ? refs[i].fingerprint : session->fingerprint))
            return vej__sdp_fail(reason, VEJ_SDP_EFINGERPRINT,
                                 "the DTLS fingerprints differ between bundled m-lines");
        if (!same_as_first(&setup, &s_setup, refs[i].setup ? refs[i].setup : session->setup))
            return vej__sdp_fail(reason, VEJ_SDP_ESETUP, "a=setup differs between bundled m-lines");
    }
    if (!s_ufrag)
        return VEJ_SDP_OK; /* nothing live: no transport */
    if (!ufrag || !pwd)
        return vej__sdp_fail(reason, VEJ_SDP_EICE,
                             "no ICE credentials (a=ice-ufrag and a=ice-pwd)");
    if (!vej__sdp_is_ice_chars(ufrag, 4, VEJ_SDP_ICE_UFRAG_LEN - 1) ||
        !vej__sdp_is_ice_chars(pwd, 22, VEJ_SDP_ICE_PWD_LEN - 1))
        return vej__sdp_fail(reason, VEJ_SDP_EICE, "the ICE ufrag or pwd is malformed");
    vej__sdp_copy(desc->ice_ufrag, sizeof desc->ice_ufrag, ufrag);
    vej__sdp_copy(desc->ice_pwd, sizeof desc->ice_pwd, pwd);
    if (!fp)
        return vej__sdp_fail(reason, VEJ_SDP_EFINGERPRINT, "no DTLS fingerprint (a=fingerprint)");
    if (!vej__sdp_parse_fingerprint(fp, desc))
        return vej__sdp_fail(reason, VEJ_SDP_EFINGERPRINT,
                             "the DTLS fingerprint is malformed or of an unknown hash");
    if (!setup_of(setup, &st))
        return vej__sdp_fail(reason, VEJ_SDP_ESETUP, "a=setup has an unknown value");
    desc->setup = st;
    return VEJ_SDP_OK;
}

void
vej__sdp_read_candidates(const GstSDPMedia *gm, struct vej_sdp_description *desc, bool allow_tcp)
{
    for (guint i = 0;; i++) {
        const char *v = gst_sdp_media_get_attribute_val_n(gm, "candidate", i);
        struct vej_sdp_candidate_info info;
        char line[VEJ_SDP_CANDIDATE_LEN];
        int n;

        if (!v)
            break;
        n = snprintf(line, sizeof line, "candidate:%s", v);
        if (n < 0 || (size_t)n >= sizeof line ||
            vej_sdp_candidate_check(line, (size_t)n, allow_tcp, &info, NULL) != VEJ_SDP_OK ||
            info.mdns || desc->n_candidates >= VEJ_SDP_MAX_CANDIDATES) {
            desc->n_candidates_dropped++;
            continue;
        }
        memcpy(desc->candidates[desc->n_candidates++], line, (size_t)n + 1);
    }
}
