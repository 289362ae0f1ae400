/* srtp.c - SRTP/SRTCP sessions over libsrtp2; see srtp.h. */

#include "gateway/transport/srtp.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <srtp2/srtp.h>
#include <arpa/inet.h>
#include <string.h>

#include "gateway/transport/srtp-priv.h"

#define RTP_HEADER_MIN 12
#define RTCP_HEADER_MIN 8
#define SRTCP_INDEX_LEN 4
#define GCM_TAG_LEN 16
#define HMAC_SHA1_80_TAG_LEN 10

struct vej_srtp {
    enum vej_srtp_profile profile;
    srtp_t inbound;  /* remote key, ssrc_any_inbound */
    srtp_t outbound; /* local key, ssrc_any_outbound */
    size_t rtp_overhead;
    size_t rtcp_overhead;
};

/* clang-format off */
G_DEFINE_QUARK(vej-srtp-error-quark, vej_srtp_error)
/* clang-format on */

/* Results of the one srtp_init of the process and of the registration of
 * our crypto; written once under the g_once, read-only after. */
static srtp_err_status_t global_init_status;
static gboolean global_openssl_crypto;

gboolean
vej_srtp_global_init(GError **error)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        global_init_status = srtp_init();
        if (global_init_status == srtp_err_status_ok) {
            g_autoptr(GError) crypto_error = NULL;
            global_openssl_crypto = vej__srtp_crypto_register(&crypto_error);
            if (!global_openssl_crypto)
                g_warning("SRTP: %s; libsrtp2's own implementation stays in use for it",
                          crypto_error->message);
        }
        g_once_init_leave(&once, 1);
    }
    if (global_init_status != srtp_err_status_ok) {
        g_set_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_LIBSRTP,
                    "srtp_init failed (libsrtp2 error %d)", (int)global_init_status);
        return FALSE;
    }
    return TRUE;
}

const char *
vej_srtp_crypto_name(void)
{
    if (!vej_srtp_global_init(NULL))
        return "none";
    return global_openssl_crypto ? "openssl" : "libsrtp2";
}

gboolean
vej_srtp_profile_lengths(enum vej_srtp_profile profile, size_t *key_len, size_t *salt_len)
{
    switch (profile) {
    case VEJ_SRTP_AEAD_AES_128_GCM:
        *key_len = 16;
        *salt_len = 12;
        return TRUE;
    case VEJ_SRTP_AES128_CM_SHA1_80:
        *key_len = 16;
        *salt_len = 14;
        return TRUE;
    case VEJ_SRTP_PROFILE_NONE:
        break;
    }
    return FALSE;
}

size_t
vej_srtp_overhead(enum vej_srtp_profile profile, bool rtcp)
{
    switch (profile) {
    case VEJ_SRTP_AEAD_AES_128_GCM:
        return GCM_TAG_LEN + (rtcp ? SRTCP_INDEX_LEN : 0);
    case VEJ_SRTP_AES128_CM_SHA1_80:
        return HMAC_SHA1_80_TAG_LEN + (rtcp ? SRTCP_INDEX_LEN : 0);
    case VEJ_SRTP_PROFILE_NONE:
        break;
    }
    return 0;
}

const char *
vej_srtp_profile_name(enum vej_srtp_profile profile)
{
    switch (profile) {
    case VEJ_SRTP_AEAD_AES_128_GCM:
        return "AEAD_AES_128_GCM";
    case VEJ_SRTP_AES128_CM_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    case VEJ_SRTP_PROFILE_NONE:
        break;
    }
    return "none";
}

const char *
vej_srtp_status_name(int status)
{
    switch (status) {
    case VEJ_SRTP_OK:
        return "ok";
    case VEJ_SRTP_EAUTH:
        return "auth";
    case VEJ_SRTP_EREPLAY:
        return "replay";
    case VEJ_SRTP_ETOOSHORT:
        return "too_short";
    case VEJ_SRTP_ENOSPACE:
        return "no_space";
    case VEJ_SRTP_EMALFORMED:
        return "malformed";
    default:
        return "error";
    }
}

void
vej_srtp_keys_clear(struct vej_srtp_keys *keys)
{
    if (keys != NULL)
        OPENSSL_cleanse(keys, sizeof *keys);
}

/* One libsrtp2 session: `key` and `salt` are concatenated into the master
 * key buffer libsrtp2 expects, which is wiped before returning. */
static srtp_t
session_new(enum vej_srtp_profile profile, const uint8_t *key, size_t key_len, const uint8_t *salt,
            size_t salt_len, bool outbound, GError **error)
{
    uint8_t master[VEJ_SRTP_MAX_KEY_LEN + VEJ_SRTP_MAX_SALT_LEN];
    srtp_policy_t policy;
    srtp_t session = NULL;

    memset(&policy, 0, sizeof policy);
    if (profile == VEJ_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    }
    memcpy(master, key, key_len);
    memcpy(master + key_len, salt, salt_len);
    policy.key = master;
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    /* Video arrives reordered by more than the default 128 packets. */
    policy.window_size = 1024;
    /* Never protect two packets under one SRTP index: with AES-GCM that
     * would reuse a nonce. Retransmissions go as RTX (own SSRC, own
     * sequence numbers), so a repeat is a bug and libsrtp2 refuses it. */
    policy.allow_repeat_tx = 0;
    policy.next = NULL;

    srtp_err_status_t status = srtp_create(&session, &policy);
    OPENSSL_cleanse(master, sizeof master);
    if (status != srtp_err_status_ok) {
        g_set_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_LIBSRTP,
                    "srtp_create (%s, %s) failed: libsrtp2 error %d",
                    vej_srtp_profile_name(profile), outbound ? "outbound" : "inbound", (int)status);
        return NULL;
    }
    return session;
}

struct vej_srtp *
vej_srtp_new(const struct vej_srtp_keys *keys, GError **error)
{
    size_t key_len, salt_len;

    if (!vej_srtp_global_init(error))
        return NULL;
    if (!vej_srtp_profile_lengths(keys->profile, &key_len, &salt_len) || keys->key_len != key_len ||
        keys->salt_len != salt_len) {
        g_set_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_PROFILE,
                    "unsupported SRTP profile 0x%04x or key/salt lengths %zu/%zu",
                    (unsigned)keys->profile, keys->key_len, keys->salt_len);
        return NULL;
    }

    struct vej_srtp *srtp = g_new0(struct vej_srtp, 1);
    srtp->profile = keys->profile;
    srtp->rtp_overhead = vej_srtp_overhead(keys->profile, false);
    srtp->rtcp_overhead = vej_srtp_overhead(keys->profile, true);
    srtp->inbound = session_new(keys->profile, keys->remote_key, key_len, keys->remote_salt,
                                salt_len, false, error);
    if (srtp->inbound == NULL) {
        vej_srtp_free(srtp);
        return NULL;
    }
    srtp->outbound = session_new(keys->profile, keys->local_key, key_len, keys->local_salt,
                                 salt_len, true, error);
    if (srtp->outbound == NULL) {
        vej_srtp_free(srtp);
        return NULL;
    }
    return srtp;
}

void
vej_srtp_free(struct vej_srtp *srtp)
{
    if (srtp == NULL)
        return;
    /* srtp_dealloc wipes the session keys; a failure here can only be a
     * libsrtp2 bug and leaves nothing for us to do. */
    if (srtp->inbound != NULL && srtp_dealloc(srtp->inbound) != srtp_err_status_ok)
        g_warning("srtp_dealloc (inbound) failed");
    if (srtp->outbound != NULL && srtp_dealloc(srtp->outbound) != srtp_err_status_ok)
        g_warning("srtp_dealloc (outbound) failed");
    g_free(srtp);
}

enum vej_srtp_profile
vej_srtp_get_profile(const struct vej_srtp *srtp)
{
    return srtp->profile;
}

static int
map_status(srtp_err_status_t status)
{
    switch (status) {
    case srtp_err_status_ok:
        return VEJ_SRTP_OK;
    case srtp_err_status_auth_fail:
        return VEJ_SRTP_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return VEJ_SRTP_EREPLAY;
    case srtp_err_status_bad_param:
        return VEJ_SRTP_EMALFORMED;
    default:
        return VEJ_SRTP_EFAIL;
    }
}

/* Shared by the two protect calls: bounds, then libsrtp2 in place. */
static int
protect(srtp_t session, srtp_err_status_t (*fn)(srtp_t, void *, int *), uint8_t *buf, size_t *len,
        size_t cap, size_t min_len, size_t overhead)
{
    if (*len < min_len)
        return VEJ_SRTP_ETOOSHORT;
    if (cap < *len || cap - *len < overhead)
        return VEJ_SRTP_ENOSPACE;
    if (*len > (size_t)INT_MAX - overhead)
        return VEJ_SRTP_EMALFORMED;
    int n = (int)*len;
    int rc = map_status(fn(session, buf, &n));
    if (rc == VEJ_SRTP_OK) {
        if (n < 0 || (size_t)n > cap)
            return VEJ_SRTP_EFAIL; /* cannot happen: libsrtp2 adds `overhead` */
        *len = (size_t)n;
    }
    return rc;
}

/* Shared by the two unprotect calls. */
static int
unprotect(srtp_t session, srtp_err_status_t (*fn)(srtp_t, void *, int *), uint8_t *buf, size_t *len,
          size_t min_len)
{
    if (*len < min_len)
        return VEJ_SRTP_ETOOSHORT;
    if (*len > (size_t)INT_MAX)
        return VEJ_SRTP_EMALFORMED;
    int n = (int)*len;
    int rc = map_status(fn(session, buf, &n));
    if (rc == VEJ_SRTP_OK) {
        if (n < 0 || (size_t)n > *len)
            return VEJ_SRTP_EFAIL;
        *len = (size_t)n;
    }
    return rc;
}

int
vej_srtp_protect_rtp(struct vej_srtp *srtp, uint8_t *buf, size_t *len, size_t cap)
{
    return protect(srtp->outbound, srtp_protect, buf, len, cap, RTP_HEADER_MIN, srtp->rtp_overhead);
}

int
vej_srtp_unprotect_rtp(struct vej_srtp *srtp, uint8_t *buf, size_t *len)
{
    return unprotect(srtp->inbound, srtp_unprotect, buf, len, RTP_HEADER_MIN + srtp->rtp_overhead);
}

int
vej_srtp_protect_rtcp(struct vej_srtp *srtp, uint8_t *buf, size_t *len, size_t cap)
{
    return protect(srtp->outbound, srtp_protect_rtcp, buf, len, cap, RTCP_HEADER_MIN,
                   srtp->rtcp_overhead);
}

int
vej_srtp_unprotect_rtcp(struct vej_srtp *srtp, uint8_t *buf, size_t *len)
{
    return unprotect(srtp->inbound, srtp_unprotect_rtcp, buf, len,
                     RTCP_HEADER_MIN + srtp->rtcp_overhead);
}

void
vej_srtp_remove_stream(struct vej_srtp *srtp, uint32_t ssrc, bool outbound)
{
    /* srtp_err_status_no_ctx when there is no such stream: nothing to do. */
    (void)srtp_remove_stream(outbound ? srtp->outbound : srtp->inbound, htonl(ssrc));
}
