/* dtls.c - DTLS-SRTP over OpenSSL; see dtls.h for the contract.
 *
 * Data path: received datagrams go into a BIO_s_mem (one datagram written,
 * then drained by OpenSSL before the next); OpenSSL's writes go to a
 * custom BIO whose every write is one datagram handed to `send`.
 *
 * Timers: OpenSSL keeps the retransmission timer (DTLS_set_timer_cb makes
 * it start at 150 ms and double); we read it with DTLSv1_get_timeout and
 * fire it with DTLSv1_handle_timeout. The 15 s limit is ours, on the
 * owner's monotonic clock.
 */

#include "gateway/transport/dtls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* RFC 5764 profiles in our order of preference. OpenSSL 3.0's server walks
 * the client's list keeping the match earliest in *its own* list
 * (tls_parse_ctos_use_srtp), so as server GCM wins whenever the client
 * offers it; as client the server decides. */
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"       \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"
#define GROUPS "X25519:P-256:P-384"
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"
#define MAX_RETRANSMIT_US (60 * 1000 * 1000) /* RFC 6347 4.2.4.1 */
#define RECORD_HEADER_LEN 13
#define MAX_DATAGRAM (16384 + 2048 + RECORD_HEADER_LEN)
#define CERT_LIFETIME_S (365L * 24 * 3600)

struct vej_dtls_cert {
    gatomicrefcount refs;
    SSL_CTX *ctx;
    BIO_METHOD *out_method; /* the one-datagram-per-write BIO */
    char fingerprint[VEJ_DTLS_FINGERPRINT_MAX];
};

struct vej_dtls {
    struct vej_dtls_cert *cert;
    SSL *ssl;
    BIO *in; /* owned by ssl */
    enum vej_dtls_role role;
    enum vej_dtls_state state;
    struct vej_dtls_callbacks cb;
    void *user_data;
    int64_t deadline_us; /* -1 until started */
    enum vej_srtp_profile profile;

    /* Expected peer fingerprint from the SDP. */
    bool fp_set;
    const EVP_MD *fp_md;
    uint8_t fp[EVP_MAX_MD_SIZE];
    unsigned fp_len;
    bool fp_mismatch; /* the verify callback saw a mismatch */

    int fatal_alert; /* description of a fatal alert received, or -1 */
    unsigned depth;  /* nesting of public calls that may call back */
    bool free_pending;
};

/* clang-format off */
G_DEFINE_QUARK(vej-dtls-error-quark, vej_dtls_error)
/* clang-format on */

/* Takes OpenSSL's first queued error as text and empties the (per-thread)
 * queue, so that one peer's errors never surface in another's. */
static void
openssl_error(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        g_strlcpy(buf, "no OpenSSL error queued", size);
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
}

/* Sets `error` to "<what>: <OpenSSL's first error>". */
G_GNUC_PRINTF(3, 4)
static void
set_openssl_error(GError **error, int code, const char *format, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    openssl_error(detail, sizeof detail);
    g_set_error(error, VEJ_DTLS_ERROR, code, "%s: %s", what, detail);
}

/* ---- the output BIO ---- */

static int
out_write(BIO *bio, const char *data, int len)
{
    struct vej_dtls *d = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (len <= 0)
        return 0;
    /* After a verdict of failure, or once freed from a callback, nothing
     * more goes out; OpenSSL sees the datagram as sent (and lost). */
    if (d != NULL && !d->free_pending && d->state != VEJ_DTLS_STATE_FAILED)
        d->cb.send(d->user_data, (const uint8_t *)data, (size_t)len);
    return len;
}

static long
out_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)bio;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* every write already left as a datagram */
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return VEJ_DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0; /* VEJ_DTLS_MTU already counts the DTLS datagram only */
    default:
        return 0;
    }
}

static int
out_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static BIO_METHOD *
out_method_new(void)
{
    int type = BIO_get_new_index();
    if (type == -1)
        return NULL;
    BIO_METHOD *m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "vej-dtls-datagram-out");
    if (m == NULL)
        return NULL;
    if (BIO_meth_set_write(m, out_write) != 1 || BIO_meth_set_ctrl(m, out_ctrl) != 1 ||
        BIO_meth_set_create(m, out_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- the certificate and the shared SSL_CTX ---- */

/* True if the digest of `cert` is the fingerprint from the SDP. */
static bool
matches_fingerprint(const struct vej_dtls *d, X509 *cert)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    return X509_digest(cert, d->fp_md, md, &md_len) == 1 && md_len == d->fp_len &&
           memcmp(md, d->fp, md_len) == 0;
}

/* Trust comes from the SDP fingerprint, not from a CA: accept any chain
 * here, but check the leaf against the fingerprint if it is already known
 * so that a mismatch stops the handshake (alert bad_certificate). */
static int
verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct vej_dtls *d = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    if (d == NULL || leaf == NULL || !d->fp_set || matches_fingerprint(d, leaf))
        return 1;
    d->fp_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

static void
format_fingerprint(const uint8_t *md, unsigned len, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (unsigned i = 0; i < len && o + 3 <= size; i++) {
        if (i > 0)
            out[o++] = ':';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 0xf];
    }
    out[o < size ? o : size - 1] = '\0';
}

static SSL_CTX *
ctx_new(X509 *x509, EVP_PKEY *key, GError **error)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (ctx == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_OPENSSL, "SSL_CTX_new");
        return NULL;
    }
    const char *what = NULL;
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1)
        what = "SSL_CTX_set_min_proto_version";
    else if (SSL_CTX_use_certificate(ctx, x509) != 1)
        what = "SSL_CTX_use_certificate";
    else if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
        what = "SSL_CTX_use_PrivateKey";
    else if (SSL_CTX_check_private_key(ctx) != 1)
        what = "the private key does not match the certificate";
    else if (SSL_CTX_set_cipher_list(ctx, CIPHERS) != 1)
        what = "SSL_CTX_set_cipher_list";
    else if (SSL_CTX_set1_groups_list(ctx, GROUPS) != 1)
        what = "SSL_CTX_set1_groups_list";
    else if (SSL_CTX_set_tlsext_use_srtp(ctx, SRTP_PROFILES) != 0) /* 0 is success */
        what = "SSL_CTX_set_tlsext_use_srtp";
    if (what != NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_OPENSSL, "%s", what);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    return ctx;
}

/* Builds the cert object around a certificate and key (both borrowed). */
static struct vej_dtls_cert *
cert_new(X509 *x509, EVP_PKEY *key, GError **error)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (X509_digest(x509, EVP_sha256(), md, &md_len) != 1) {
        set_openssl_error(error, VEJ_DTLS_ERROR_CERTIFICATE, "X509_digest");
        return NULL;
    }
    SSL_CTX *ctx = ctx_new(x509, key, error);
    if (ctx == NULL)
        return NULL;
    BIO_METHOD *method = out_method_new();
    if (method == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_OPENSSL, "BIO_meth_new");
        SSL_CTX_free(ctx);
        return NULL;
    }
    struct vej_dtls_cert *cert = g_new0(struct vej_dtls_cert, 1);
    g_atomic_ref_count_init(&cert->refs);
    cert->ctx = ctx;
    cert->out_method = method;
    format_fingerprint(md, md_len, cert->fingerprint, sizeof cert->fingerprint);
    return cert;
}

/* A self-signed X.509 v3 certificate for `key`. NULL on failure, with the
 * OpenSSL error queued. */
static X509 *
self_signed_new(EVP_PKEY *key)
{
    X509 *x509 = X509_new();
    BIGNUM *serial = BN_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = x509 != NULL && serial != NULL && name != NULL &&
              X509_set_version(x509, X509_VERSION_3) == 1 &&
              BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)) != NULL &&
              X509_gmtime_adj(X509_getm_notBefore(x509), -24L * 3600) != NULL &&
              X509_gmtime_adj(X509_getm_notAfter(x509), CERT_LIFETIME_S) != NULL &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"vej-gateway", -1, -1, 0) == 1 &&
              X509_set_subject_name(x509, name) == 1 && X509_set_issuer_name(x509, name) == 1 &&
              X509_set_pubkey(x509, key) == 1 && X509_sign(x509, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    BN_free(serial);
    if (!ok) {
        X509_free(x509);
        return NULL;
    }
    return x509;
}

struct vej_dtls_cert *
vej_dtls_cert_new_self_signed(GError **error)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_CERTIFICATE, "EVP_EC_gen(P-256)");
        return NULL;
    }
    X509 *x509 = self_signed_new(key);
    if (x509 == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_CERTIFICATE, "making the self-signed certificate");
        EVP_PKEY_free(key);
        return NULL;
    }
    struct vej_dtls_cert *cert = cert_new(x509, key, error);
    X509_free(x509); /* the SSL_CTX holds its own references */
    EVP_PKEY_free(key);
    return cert;
}

struct vej_dtls_cert *
vej_dtls_cert_new_from_pem(const char *cert_path, const char *key_path, GError **error)
{
    BIO *cert_bio = BIO_new_file(cert_path, "r");
    X509 *x509 = cert_bio != NULL ? PEM_read_bio_X509(cert_bio, NULL, NULL, NULL) : NULL;
    BIO_free(cert_bio);
    if (x509 == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_CERTIFICATE,
                          "cannot read a PEM certificate from %s", cert_path);
        return NULL;
    }
    BIO *key_bio = BIO_new_file(key_path, "r");
    EVP_PKEY *key = key_bio != NULL ? PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL) : NULL;
    BIO_free(key_bio);
    if (key == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_CERTIFICATE,
                          "cannot read a PEM private key from %s", key_path);
        X509_free(x509);
        return NULL;
    }
    struct vej_dtls_cert *cert = cert_new(x509, key, error);
    X509_free(x509);
    EVP_PKEY_free(key);
    return cert;
}

struct vej_dtls_cert *
vej_dtls_cert_ref(struct vej_dtls_cert *cert)
{
    g_atomic_ref_count_inc(&cert->refs);
    return cert;
}

void
vej_dtls_cert_unref(struct vej_dtls_cert *cert)
{
    if (cert == NULL || !g_atomic_ref_count_dec(&cert->refs))
        return;
    SSL_CTX_free(cert->ctx);
    BIO_meth_free(cert->out_method);
    g_free(cert);
}

const char *
vej_dtls_cert_fingerprint(const struct vej_dtls_cert *cert, const char **algorithm)
{
    if (algorithm != NULL)
        *algorithm = "sha-256";
    return cert->fingerprint;
}

/* ---- names ---- */

static const char *const failure_names[] = {
    [VEJ_DTLS_FAIL_TIMEOUT] = "timeout",
    [VEJ_DTLS_FAIL_HANDSHAKE] = "handshake",
    [VEJ_DTLS_FAIL_NO_CERTIFICATE] = "no_certificate",
    [VEJ_DTLS_FAIL_FINGERPRINT] = "fingerprint",
    [VEJ_DTLS_FAIL_NO_PROFILE] = "no_srtp_profile",
    [VEJ_DTLS_FAIL_ALERT] = "alert",
    [VEJ_DTLS_FAIL_INTERNAL] = "internal",
};

static const char *const state_names[] = {
    [VEJ_DTLS_STATE_NEW] = "new",
    [VEJ_DTLS_STATE_HANDSHAKING] = "handshaking",
    [VEJ_DTLS_STATE_VERIFYING] = "verifying",
    [VEJ_DTLS_STATE_CONNECTED] = "connected",
    [VEJ_DTLS_STATE_CLOSED] = "closed",
    [VEJ_DTLS_STATE_FAILED] = "failed",
};

const char *
vej_dtls_failure_name(enum vej_dtls_failure reason)
{
    return (unsigned)reason < G_N_ELEMENTS(failure_names) ? failure_names[reason] : "unknown";
}

const char *
vej_dtls_state_name(enum vej_dtls_state state)
{
    return (unsigned)state < G_N_ELEMENTS(state_names) ? state_names[state] : "unknown";
}

const char *
vej_dtls_status_name(int status)
{
    return status == VEJ_DTLS_OK           ? "ok"
           : status == VEJ_DTLS_EMALFORMED ? "malformed"
           : status == VEJ_DTLS_ESTATE     ? "state"
                                           : "error";
}

/* ---- endpoint: callbacks and re-entrancy ---- */

static int64_t
now_us(const struct vej_dtls *d)
{
    return d->cb.now_us != NULL ? d->cb.now_us(d->user_data) : g_get_monotonic_time();
}

static void
really_free(struct vej_dtls *d)
{
    SSL_free(d->ssl); /* frees both BIOs */
    vej_dtls_cert_unref(d->cert);
    OPENSSL_cleanse(d, sizeof *d);
    g_free(d);
}

/* Every public call that may reach a callback is bracketed by enter/leave,
 * so that vej_dtls_free from inside a callback only marks the object and
 * the outermost call frees it on the way out. */
static void
enter(struct vej_dtls *d)
{
    d->depth++;
}

static void
leave(struct vej_dtls *d)
{
    if (--d->depth == 0 && d->free_pending)
        really_free(d);
}

/* Moves to FAILED and calls `failed` once (unless freed meanwhile). */
G_GNUC_PRINTF(3, 4)
static void
fail(struct vej_dtls *d, enum vej_dtls_failure reason, const char *format, ...)
{
    if (d->state == VEJ_DTLS_STATE_FAILED || d->state == VEJ_DTLS_STATE_CLOSED)
        return;
    d->state = VEJ_DTLS_STATE_FAILED;
    char detail[320];
    va_list ap;
    va_start(ap, format);
    vsnprintf(detail, sizeof detail, format, ap);
    va_end(ap);
    if (!d->free_pending)
        d->cb.failed(d->user_data, reason, detail);
}

/* Maps a failed SSL_do_handshake / SSL_read to a reason, using what the
 * verify and info callbacks saw and OpenSSL's error queue. */
static void
fail_from_openssl(struct vej_dtls *d, int ssl_error)
{
    char detail[256];
    unsigned long e = ERR_peek_error();
    openssl_error(detail, sizeof detail);
    if (d->fp_mismatch)
        fail(d, VEJ_DTLS_FAIL_FINGERPRINT,
             "the peer certificate does not match the SDP fingerprint");
    else if (d->fatal_alert >= 0)
        fail(d, VEJ_DTLS_FAIL_ALERT, "the peer sent a fatal alert: %s",
             SSL_alert_desc_string_long(d->fatal_alert));
    else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
             ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        fail(d, VEJ_DTLS_FAIL_NO_CERTIFICATE, "the peer sent no certificate");
    else
        fail(d, VEJ_DTLS_FAIL_HANDSHAKE, "%s (SSL error %d)", detail, ssl_error);
}

static void
info_cb(const SSL *ssl, int where, int ret)
{
    struct vej_dtls *d = SSL_get_app_data(ssl);
    if (d != NULL && (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT &&
        (ret >> 8) == SSL3_AL_FATAL)
        d->fatal_alert = ret & 0xff;
}

static unsigned int
timer_cb(SSL *ssl, unsigned int previous_us)
{
    (void)ssl;
    if (previous_us == 0)
        return VEJ_DTLS_FIRST_TIMEOUT_US;
    return previous_us >= MAX_RETRANSMIT_US / 2 ? MAX_RETRANSMIT_US : previous_us * 2;
}

/* ---- endpoint: verdict and keys ---- */

/* Exports the DTLS-SRTP keys (RFC 5764 4.2: client key, server key,
 * client salt, server salt) and delivers them by `connected`. */
static void
export_and_connect(struct vej_dtls *d)
{
    struct vej_srtp_keys keys;
    uint8_t material[2 * (VEJ_SRTP_MAX_KEY_LEN + VEJ_SRTP_MAX_SALT_LEN)];
    size_t key_len, salt_len;

    memset(&keys, 0, sizeof keys);
    if (!vej_srtp_profile_lengths(d->profile, &key_len, &salt_len)) {
        fail(d, VEJ_DTLS_FAIL_NO_PROFILE, "no supported SRTP profile was negotiated");
        return;
    }
    size_t total = 2 * (key_len + salt_len);
    ERR_clear_error();
    if (SSL_export_keying_material(d->ssl, material, total, EXPORTER_LABEL, strlen(EXPORTER_LABEL),
                                   NULL, 0, 0) != 1) {
        char detail[256];
        openssl_error(detail, sizeof detail);
        fail(d, VEJ_DTLS_FAIL_INTERNAL, "SSL_export_keying_material: %s", detail);
        return;
    }
    const uint8_t *client_key = material;
    const uint8_t *server_key = material + key_len;
    const uint8_t *client_salt = material + 2 * key_len;
    const uint8_t *server_salt = client_salt + salt_len;
    bool client = d->role == VEJ_DTLS_CLIENT;
    keys.profile = d->profile;
    keys.key_len = key_len;
    keys.salt_len = salt_len;
    memcpy(keys.local_key, client ? client_key : server_key, key_len);
    memcpy(keys.local_salt, client ? client_salt : server_salt, salt_len);
    memcpy(keys.remote_key, client ? server_key : client_key, key_len);
    memcpy(keys.remote_salt, client ? server_salt : client_salt, salt_len);
    OPENSSL_cleanse(material, sizeof material);

    d->state = VEJ_DTLS_STATE_CONNECTED;
    if (!d->free_pending)
        d->cb.connected(d->user_data, &keys);
    vej_srtp_keys_clear(&keys);
}

/* Compares the peer certificate with the expected fingerprint, then
 * connects or fails. Requires the handshake done and the fingerprint set. */
static void
decide(struct vej_dtls *d)
{
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    ERR_clear_error();
    if (peer == NULL)
        fail(d, VEJ_DTLS_FAIL_NO_CERTIFICATE, "the peer sent no certificate");
    else if (!matches_fingerprint(d, peer))
        fail(d, VEJ_DTLS_FAIL_FINGERPRINT,
             "the peer certificate does not match the SDP fingerprint");
    else
        export_and_connect(d);
}

static void
handshake_done(struct vej_dtls *d)
{
    if (SSL_get0_peer_certificate(d->ssl) == NULL) {
        fail(d, VEJ_DTLS_FAIL_NO_CERTIFICATE, "the peer sent no certificate");
        return;
    }
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    if (p == NULL || (p->id != VEJ_SRTP_AEAD_AES_128_GCM && p->id != VEJ_SRTP_AES128_CM_SHA1_80)) {
        fail(d, VEJ_DTLS_FAIL_NO_PROFILE, "no common SRTP profile (use_srtp)");
        return;
    }
    d->profile = (enum vej_srtp_profile)p->id;
    if (!d->fp_set) {
        d->state = VEJ_DTLS_STATE_VERIFYING; /* decided by vej_dtls_set_remote_fingerprint */
        return;
    }
    decide(d);
}

/* ---- endpoint: driving OpenSSL ---- */

/* After the handshake: consume what OpenSSL has (retransmitted flights,
 * alerts, application data, which WebRTC without data channels does not
 * use and which is discarded). */
static void
read_records(struct vej_dtls *d)
{
    uint8_t sink[2048];
    while (d->state == VEJ_DTLS_STATE_CONNECTED || d->state == VEJ_DTLS_STATE_VERIFYING) {
        ERR_clear_error();
        int r = SSL_read(d->ssl, sink, sizeof sink);
        if (r > 0)
            continue;
        int e = SSL_get_error(d->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            /* close_notify: answer with ours, then report. */
            ERR_clear_error();
            if (SSL_shutdown(d->ssl) < 0)
                ERR_clear_error(); /* nothing more to do on a closing association */
            d->state = VEJ_DTLS_STATE_CLOSED;
            if (!d->free_pending && d->cb.closed != NULL)
                d->cb.closed(d->user_data);
            break;
        }
        fail_from_openssl(d, e);
    }
    OPENSSL_cleanse(sink, sizeof sink);
}

static void
drive(struct vej_dtls *d)
{
    if (d->state == VEJ_DTLS_STATE_HANDSHAKING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        if (r == 1) {
            handshake_done(d);
        } else {
            int e = SSL_get_error(d->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                fail_from_openssl(d, e);
        }
    }
    if (d->state == VEJ_DTLS_STATE_CONNECTED || d->state == VEJ_DTLS_STATE_VERIFYING)
        read_records(d);
}

/* True if `data` is a sequence of whole DTLS 1.x records (RFC 6347 4.1):
 * content type 20-25, version 0xFEXX, lengths ending exactly at `len`. */
static bool
is_dtls_datagram(const uint8_t *data, size_t len)
{
    if (len < RECORD_HEADER_LEN || len > MAX_DATAGRAM)
        return false;
    size_t off = 0;
    while (off < len) {
        if (len - off < RECORD_HEADER_LEN)
            return false;
        const uint8_t *r = data + off;
        if (r[0] < 20 || r[0] > 25 || r[1] != 0xFE)
            return false;
        size_t body = ((size_t)r[11] << 8) | r[12];
        if (body > len - off - RECORD_HEADER_LEN)
            return false;
        off += RECORD_HEADER_LEN + body;
    }
    return true;
}

static void
apply_role(struct vej_dtls *d, enum vej_dtls_role role)
{
    d->role = role;
    if (role == VEJ_DTLS_SERVER)
        SSL_set_accept_state(d->ssl);
    else
        SSL_set_connect_state(d->ssl);
}

/* ---- endpoint: public API ---- */

struct vej_dtls *
vej_dtls_new(struct vej_dtls_cert *cert, enum vej_dtls_role role,
             const struct vej_dtls_callbacks *callbacks, void *user_data, GError **error)
{
    if (callbacks == NULL || callbacks->send == NULL || callbacks->connected == NULL ||
        callbacks->failed == NULL) {
        g_set_error_literal(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE,
                            "the send, connected and failed callbacks are required");
        return NULL;
    }
    ERR_clear_error();
    SSL *ssl = SSL_new(cert->ctx);
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(cert->out_method);
    if (ssl == NULL || in == NULL || out == NULL) {
        set_openssl_error(error, VEJ_DTLS_ERROR_OPENSSL, "SSL_new/BIO_new");
        SSL_free(ssl);
        BIO_free(in);
        BIO_free(out);
        return NULL;
    }
    /* An empty input BIO means "no datagram yet", not end of stream. */
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);                 /* ssl owns both from here */
    if (SSL_set_mtu(ssl, VEJ_DTLS_MTU) <= 0) { /* returns the MTU in 3.0 */
        set_openssl_error(error, VEJ_DTLS_ERROR_OPENSSL, "SSL_set_mtu");
        SSL_free(ssl);
        return NULL;
    }
    DTLS_set_timer_cb(ssl, timer_cb);
    SSL_set_info_callback(ssl, info_cb);

    struct vej_dtls *d = g_new0(struct vej_dtls, 1);
    d->cert = vej_dtls_cert_ref(cert);
    d->ssl = ssl;
    d->in = in;
    d->state = VEJ_DTLS_STATE_NEW;
    d->cb = *callbacks;
    d->user_data = user_data;
    d->deadline_us = -1;
    d->fatal_alert = -1;
    BIO_set_data(out, d);
    SSL_set_app_data(ssl, d);
    apply_role(d, role);
    return d;
}

gboolean
vej_dtls_set_role(struct vej_dtls *d, enum vej_dtls_role role, GError **error)
{
    /* The peer may start the handshake before its answer is processed (a
     * ClientHello right after ICE): confirming the same role is fine. */
    if (vej_dtls_get_role(d) == role)
        return TRUE;
    if (d->state != VEJ_DTLS_STATE_NEW) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE,
                    "cannot change the DTLS role once %s", vej_dtls_state_name(d->state));
        return FALSE;
    }
    apply_role(d, role);
    return TRUE;
}

gboolean
vej_dtls_set_srtp_profiles(struct vej_dtls *d, const enum vej_srtp_profile *profiles, size_t n,
                           GError **error)
{
    if (d->state != VEJ_DTLS_STATE_NEW) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE,
                    "SRTP profiles are set before the handshake");
        return FALSE;
    }
    char list[128] = "";
    for (size_t i = 0; i < n; i++) {
        const char *name = profiles[i] == VEJ_SRTP_AEAD_AES_128_GCM   ? "SRTP_AEAD_AES_128_GCM"
                           : profiles[i] == VEJ_SRTP_AES128_CM_SHA1_80 ? "SRTP_AES128_CM_SHA1_80"
                                                                       : NULL;
        if (!name) {
            g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_OPENSSL, "unknown SRTP profile");
            return FALSE;
        }
        if (*list)
            g_strlcat(list, ":", sizeof list);
        g_strlcat(list, name, sizeof list);
    }
    if (!*list || SSL_set_tlsext_use_srtp(d->ssl, list) != 0) { /* 0 is success */
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_OPENSSL,
                    "SSL_set_tlsext_use_srtp refused the profile list");
        return FALSE;
    }
    return TRUE;
}

static const EVP_MD *
fingerprint_md(const char *algorithm)
{
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } table[] = {
        {"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
        {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
        if (g_ascii_strcasecmp(algorithm, table[i].name) == 0)
            return table[i].md();
    return NULL;
}

/* Parses "AB:cd:..." into exactly `want` bytes. */
static bool
parse_hex_fingerprint(const char *hex, uint8_t *out, size_t want)
{
    size_t n = 0;
    const char *p = hex;
    while (n < want) {
        int hi = g_ascii_xdigit_value(p[0]);
        int lo = hi >= 0 ? g_ascii_xdigit_value(p[1]) : -1;
        if (lo < 0)
            return false;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (n < want && *p++ != ':')
            return false;
    }
    return *p == '\0';
}

gboolean
vej_dtls_set_remote_fingerprint(struct vej_dtls *d, const char *algorithm, const char *hex,
                                GError **error)
{
    const EVP_MD *md = algorithm != NULL ? fingerprint_md(algorithm) : NULL;
    uint8_t fp[EVP_MAX_MD_SIZE];
    if (md == NULL) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_FINGERPRINT,
                    "unsupported fingerprint hash \"%s\"",
                    algorithm != NULL ? algorithm : "(null)");
        return FALSE;
    }
    size_t len = (size_t)EVP_MD_get_size(md);
    if (hex == NULL || len > sizeof fp || !parse_hex_fingerprint(hex, fp, len)) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_FINGERPRINT,
                    "malformed %s fingerprint (want %zu colon-separated hex bytes)", algorithm,
                    len);
        return FALSE;
    }
    bool decided = d->state == VEJ_DTLS_STATE_CONNECTED || d->state == VEJ_DTLS_STATE_FAILED ||
                   d->state == VEJ_DTLS_STATE_CLOSED;
    if (decided && d->fp_set) {
        if (md == d->fp_md && len == d->fp_len && memcmp(fp, d->fp, len) == 0)
            return TRUE;
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE,
                    "the remote fingerprint cannot change on an established DTLS association");
        return FALSE;
    }
    if (decided) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE,
                    "the DTLS association is already %s", vej_dtls_state_name(d->state));
        return FALSE;
    }
    d->fp_md = md;
    d->fp_len = (unsigned)len;
    memcpy(d->fp, fp, len);
    d->fp_set = true;
    if (d->state == VEJ_DTLS_STATE_VERIFYING) {
        enter(d);
        decide(d);
        if (d->state == VEJ_DTLS_STATE_CONNECTED)
            read_records(d); /* records that arrived while waiting */
        leave(d);
    }
    return TRUE;
}

static void
arm(struct vej_dtls *d)
{
    d->state = VEJ_DTLS_STATE_HANDSHAKING;
    d->deadline_us = now_us(d) + VEJ_DTLS_HANDSHAKE_TIMEOUT_US;
}

gboolean
vej_dtls_start(struct vej_dtls *d, GError **error)
{
    if (d->state != VEJ_DTLS_STATE_NEW) {
        g_set_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE, "DTLS already started (%s)",
                    vej_dtls_state_name(d->state));
        return FALSE;
    }
    arm(d);
    if (d->role == VEJ_DTLS_CLIENT) {
        enter(d);
        drive(d);
        leave(d);
    }
    return TRUE;
}

int
vej_dtls_input(struct vej_dtls *d, const uint8_t *data, size_t len)
{
    if (d->state == VEJ_DTLS_STATE_FAILED || d->state == VEJ_DTLS_STATE_CLOSED)
        return VEJ_DTLS_ESTATE;
    if (d->state == VEJ_DTLS_STATE_NEW && d->role == VEJ_DTLS_CLIENT)
        return VEJ_DTLS_ESTATE; /* a client speaks first */
    if (!is_dtls_datagram(data, len))
        return VEJ_DTLS_EMALFORMED;
    if (d->state == VEJ_DTLS_STATE_NEW)
        arm(d);

    enter(d);
    /* OpenSSL drains the memory BIO on every read, so it holds at most this
     * datagram: datagram boundaries survive the byte-stream BIO. */
    ERR_clear_error();
    if (BIO_reset(d->in) < 0 || BIO_write(d->in, data, (int)len) != (int)len) {
        char detail[256];
        openssl_error(detail, sizeof detail);
        fail(d, VEJ_DTLS_FAIL_INTERNAL, "BIO_write: %s", detail);
    } else {
        drive(d);
    }
    leave(d);
    return VEJ_DTLS_OK;
}

int64_t
vej_dtls_next_timeout_us(struct vej_dtls *d)
{
    if (d->state != VEJ_DTLS_STATE_HANDSHAKING && d->state != VEJ_DTLS_STATE_VERIFYING)
        return -1;
    int64_t next = d->deadline_us;
    struct timeval tv;
    if (d->state == VEJ_DTLS_STATE_HANDSHAKING && DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        int64_t retransmit = now_us(d) + (int64_t)tv.tv_sec * G_USEC_PER_SEC + tv.tv_usec;
        if (retransmit < next)
            next = retransmit;
    }
    return next;
}

void
vej_dtls_handle_timeout(struct vej_dtls *d, int64_t now)
{
    if (d->state != VEJ_DTLS_STATE_HANDSHAKING && d->state != VEJ_DTLS_STATE_VERIFYING)
        return;
    enter(d);
    if (now >= d->deadline_us) {
        fail(d, VEJ_DTLS_FAIL_TIMEOUT, "DTLS handshake not finished after %d s (%s)",
             VEJ_DTLS_HANDSHAKE_TIMEOUT_US / 1000000,
             d->state == VEJ_DTLS_STATE_VERIFYING ? "no remote fingerprint" : "no answer");
    } else if (d->state == VEJ_DTLS_STATE_HANDSHAKING) {
        ERR_clear_error();
        if (DTLSv1_handle_timeout(d->ssl) < 0) {
            char detail[256];
            openssl_error(detail, sizeof detail);
            fail(d, VEJ_DTLS_FAIL_TIMEOUT, "DTLS retransmission gave up: %s", detail);
        }
    }
    leave(d);
}

void
vej_dtls_close(struct vej_dtls *d)
{
    if (d->state == VEJ_DTLS_STATE_CLOSED || d->state == VEJ_DTLS_STATE_FAILED)
        return;
    enter(d);
    if (d->state == VEJ_DTLS_STATE_CONNECTED || d->state == VEJ_DTLS_STATE_VERIFYING) {
        ERR_clear_error();
        /* 0: close_notify sent, the peer's not yet seen; fine for a close. */
        if (SSL_shutdown(d->ssl) < 0)
            ERR_clear_error();
    }
    d->state = VEJ_DTLS_STATE_CLOSED;
    leave(d);
}

enum vej_dtls_state
vej_dtls_get_state(const struct vej_dtls *d)
{
    return d->state;
}

enum vej_dtls_role
vej_dtls_get_role(const struct vej_dtls *d)
{
    return d->role;
}

enum vej_srtp_profile
vej_dtls_get_profile(const struct vej_dtls *d)
{
    return d->profile;
}

void
vej_dtls_free(struct vej_dtls *d)
{
    if (d == NULL)
        return;
    if (d->depth > 0) {
        d->free_pending = true; /* freed by the outermost call's leave() */
        return;
    }
    really_free(d);
}
