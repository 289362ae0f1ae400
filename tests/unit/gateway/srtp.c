/* Unit tests for gateway/srtp.c, with keys from a real DTLS-SRTP handshake:
 * a vej_dtls client against a plain OpenSSL server that offers one profile
 * and exports its keys itself (RFC 5764 4.2), so that both ends of every
 * SRTP session are keyed independently. */

#include "gateway/dtls.h"
#include "gateway/srtp.h"

#include <glib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

/* ---- a DTLS pair: vej_dtls client, OpenSSL server ---- */

struct pair {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
    X509 *x509;
    GQueue to_client; /* GBytes */
    struct vej_srtp_keys client_keys, server_keys;
    bool connected;
};

static void
on_send(void *user_data, const uint8_t *data, size_t len)
{
    struct pair *p = user_data;
    g_assert_cmpint(BIO_write(p->in, data, (int)len), ==, (int)len);
    int rc = SSL_do_handshake(p->ssl);
    g_assert_true(rc == 1 || SSL_get_error(p->ssl, rc) == SSL_ERROR_WANT_READ);
    char *out = NULL;
    long n = BIO_get_mem_data(p->out, &out);
    if (n > 0)
        g_queue_push_tail(&p->to_client, g_bytes_new(out, (size_t)n));
    g_assert_cmpint(BIO_reset(p->out), ==, 1);
}

static void
on_connected(void *user_data, const struct vej_srtp_keys *keys)
{
    struct pair *p = user_data;
    p->client_keys = *keys;
    p->connected = true;
}

static void
on_failed(void *user_data, enum vej_dtls_failure reason, const char *detail)
{
    (void)user_data;
    g_error("DTLS failed: %s: %s", vej_dtls_failure_name(reason), detail);
}

static int
accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

static void
server_new(struct pair *p, const char *profiles)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    p->x509 = X509_new();
    g_assert_true(key != NULL && p->x509 != NULL);
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(p->x509), 0));
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(p->x509), 3600));
    g_assert_cmpint(X509_set_pubkey(p->x509, key), ==, 1);
    g_assert_cmpint(X509_sign(p->x509, key, EVP_sha256()), >, 0);
    p->ctx = SSL_CTX_new(DTLS_method());
    g_assert_nonnull(p->ctx);
    g_assert_cmpint(SSL_CTX_use_certificate(p->ctx, p->x509), ==, 1);
    g_assert_cmpint(SSL_CTX_use_PrivateKey(p->ctx, key), ==, 1);
    EVP_PKEY_free(key);
    g_assert_cmpint(SSL_CTX_set_tlsext_use_srtp(p->ctx, profiles), ==, 0);
    SSL_CTX_set_options(p->ctx, SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    p->ssl = SSL_new(p->ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = BIO_new(BIO_s_mem());
    g_assert_true(p->ssl && p->in && p->out);
    BIO_set_mem_eof_return(p->in, -1);
    SSL_set_bio(p->ssl, p->in, p->out);
    g_assert_cmpint(SSL_set_mtu(p->ssl, 1200), >, 0);
    SSL_set_accept_state(p->ssl);
}

static void
server_keys(struct pair *p)
{
    struct vej_srtp_keys *k = &p->server_keys;
    SRTP_PROTECTION_PROFILE *profile = SSL_get_selected_srtp_profile(p->ssl);
    g_assert_nonnull(profile);
    k->profile = (enum vej_srtp_profile)profile->id;
    g_assert_true(vej_srtp_profile_lengths(k->profile, &k->key_len, &k->salt_len));
    size_t kl = k->key_len, sl = k->salt_len;
    uint8_t m[60];
    g_assert_cmpint(
        SSL_export_keying_material(p->ssl, m, 2 * (kl + sl), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
        ==, 1);
    memcpy(k->remote_key, m, kl);
    memcpy(k->local_key, m + kl, kl);
    memcpy(k->remote_salt, m + 2 * kl, sl);
    memcpy(k->local_salt, m + 2 * kl + sl, sl);
}

/* Runs a handshake in which the server offers only `profiles`; fills
 * p->client_keys (from vej_dtls) and p->server_keys (from OpenSSL). */
static void
dtls_pair(struct pair *p, const char *profiles)
{
    memset(p, 0, sizeof *p);
    g_queue_init(&p->to_client);
    server_new(p, profiles);
    g_autoptr(GError) error = NULL;
    struct vej_dtls_cert *cert = vej_dtls_cert_new_self_signed(&error);
    g_assert_no_error(error);
    static const struct vej_dtls_callbacks cb = {
        .send = on_send, .connected = on_connected, .failed = on_failed};
    struct vej_dtls *client = vej_dtls_new(cert, VEJ_DTLS_CLIENT, &cb, p, &error);
    g_assert_no_error(error);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    g_assert_cmpint(X509_digest(p->x509, EVP_sha256(), md, &len), ==, 1);
    GString *hex = g_string_new(NULL);
    for (unsigned i = 0; i < len; i++)
        g_string_append_printf(hex, "%s%02X", i ? ":" : "", md[i]);
    g_assert_true(vej_dtls_set_remote_fingerprint(client, "sha-256", hex->str, &error));
    g_string_free(hex, TRUE);
    g_assert_true(vej_dtls_start(client, &error));
    GBytes *datagram;
    while ((datagram = g_queue_pop_head(&p->to_client)) != NULL) {
        gsize n;
        const uint8_t *data = g_bytes_get_data(datagram, &n);
        g_assert_cmpint(vej_dtls_input(client, data, n), ==, VEJ_DTLS_OK);
        g_bytes_unref(datagram);
    }
    g_assert_true(p->connected);
    server_keys(p);
    vej_dtls_free(client);
    vej_dtls_cert_unref(cert);
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    X509_free(p->x509);
    ERR_clear_error();
}

/* ---- SRTP sessions on both ends ---- */

struct ends {
    enum vej_srtp_profile profile;
    struct vej_srtp *client, *server;
};

static void
ends_setup(struct ends *e, gconstpointer data)
{
    e->profile = (enum vej_srtp_profile)GPOINTER_TO_INT(data);
    struct pair p;
    dtls_pair(&p, e->profile == VEJ_SRTP_AEAD_AES_128_GCM ? "SRTP_AEAD_AES_128_GCM"
                                                          : "SRTP_AES128_CM_SHA1_80");
    g_assert_cmpint(p.client_keys.profile, ==, e->profile);
    g_autoptr(GError) error = NULL;
    e->client = vej_srtp_new(&p.client_keys, &error);
    g_assert_no_error(error);
    e->server = vej_srtp_new(&p.server_keys, &error);
    g_assert_no_error(error);
    vej_srtp_keys_clear(&p.client_keys);
    vej_srtp_keys_clear(&p.server_keys);
    g_assert_cmpint(vej_srtp_get_profile(e->client), ==, e->profile);
}

static void
ends_teardown(struct ends *e, gconstpointer data)
{
    (void)data;
    vej_srtp_free(e->client);
    vej_srtp_free(e->server);
}

#define PAYLOAD 1000

/* An RTP packet: V=2, PT 96, `seq`, SSRC 0x11223344, a patterned payload. */
static size_t
make_rtp(uint8_t *buf, uint16_t seq)
{
    static const uint8_t header[12] = {0x80, 96, 0, 0, 0, 0, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44};
    memcpy(buf, header, sizeof header);
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    for (size_t i = 0; i < PAYLOAD; i++)
        buf[12 + i] = (uint8_t)(i * 7 + seq);
    return 12 + PAYLOAD;
}

/* An RTCP receiver report with one report block (32 bytes). */
static size_t
make_rtcp(uint8_t *buf)
{
    static const uint8_t rr[32] = {0x81, 201,  0, 7, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22,
                                   0x33, 0x44, 0, 0, 0,    0,    0,    0,    0x10, 0x00};
    memcpy(buf, rr, sizeof rr);
    return sizeof rr;
}

static void
test_rtp_roundtrip(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[1500], plain[1500];
    for (uint16_t seq = 1; seq < 50; seq++) {
        size_t len = make_rtp(buf, seq);
        memcpy(plain, buf, len);
        size_t plain_len = len;
        /* client -> server */
        g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpuint(len, ==, plain_len + vej_srtp_overhead(e->profile, false));
        g_assert_true(memcmp(buf + 12, plain + 12, PAYLOAD) != 0);
        g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_OK);
        g_assert_cmpmem(buf, len, plain, plain_len);
        /* server -> client */
        g_assert_cmpint(vej_srtp_protect_rtp(e->server, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_unprotect_rtp(e->client, buf, &len), ==, VEJ_SRTP_OK);
        g_assert_cmpmem(buf, len, plain, plain_len);
    }
}

static void
test_rtcp_roundtrip(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[256], plain[256];
    for (int i = 0; i < 10; i++) {
        size_t len = make_rtcp(buf), plain_len = len;
        memcpy(plain, buf, len);
        g_assert_cmpint(vej_srtp_protect_rtcp(e->server, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpuint(len, ==, plain_len + vej_srtp_overhead(e->profile, true));
        g_assert_cmpint(vej_srtp_unprotect_rtcp(e->client, buf, &len), ==, VEJ_SRTP_OK);
        g_assert_cmpmem(buf, len, plain, plain_len);
        g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_OK);
        g_assert_cmpmem(buf, len, plain, plain_len);
    }
}

/* A byte flipped anywhere (header, payload, tag) fails authentication. */
static void
test_tampered(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[1500];
    size_t positions[] = {1, 8, 12, 500, 12 + PAYLOAD, 12 + PAYLOAD + 5};
    for (size_t i = 0; i < G_N_ELEMENTS(positions); i++) {
        size_t len = make_rtp(buf, (uint16_t)(100 + i));
        g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        buf[positions[i]] ^= 0x01;
        size_t before = len;
        g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_EAUTH);
        g_assert_cmpuint(len, ==, before);
    }
    size_t len = make_rtcp(buf);
    g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
    buf[20] ^= 0x80;
    g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_EAUTH);
}

static void
test_replay(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[1500], copy[1500];
    size_t len = make_rtp(buf, 7);
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
    memcpy(copy, buf, len);
    size_t copy_len = len;
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, copy, &copy_len), ==, VEJ_SRTP_EREPLAY);

    len = make_rtcp(buf);
    g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
    memcpy(copy, buf, len);
    copy_len = len;
    g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, copy, &copy_len), ==, VEJ_SRTP_EREPLAY);
}

/* 1,024 packets of reordering are accepted, older ones are not. */
static void
test_replay_window(struct ends *e, gconstpointer data)
{
    (void)data;
    static uint8_t protected[1100][1100];
    static size_t lens[1100];
    for (uint16_t i = 0; i < 1100; i++) {
        uint8_t buf[1500];
        size_t len = make_rtp(buf, (uint16_t)(1000 + i));
        len = 12 + 40; /* a short payload keeps the table small */
        g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        memcpy(protected[i], buf, len);
        lens[i] = len;
    }
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, protected[1099], &lens[1099]), ==,
                    VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, protected[1099 - 1000], &lens[1099 - 1000]),
                    ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, protected[10], &lens[10]), ==,
                    VEJ_SRTP_EREPLAY);
}

/* NACK: the same packet protected twice gives the same bytes. */
static void
test_repeat_tx(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t a[1500], b[1500];
    size_t alen = make_rtp(a, 300), blen = make_rtp(b, 300);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, a, &alen, sizeof a), ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, b, &blen, sizeof b), ==, VEJ_SRTP_OK);
    g_assert_cmpmem(a, alen, b, blen);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->client, a, &alen), ==, VEJ_SRTP_OK);
}

static void
test_too_short(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[64] = {0x80, 96};
    size_t len = 11;
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_ETOOSHORT);
    len = 12 + vej_srtp_overhead(e->profile, false) - 1;
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_ETOOSHORT);
    len = 0;
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_ETOOSHORT);
    len = 7;
    g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, sizeof buf), ==,
                    VEJ_SRTP_ETOOSHORT);
    len = 8 + vej_srtp_overhead(e->profile, true) - 1;
    g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_ETOOSHORT);
    g_assert_cmpint(len, ==, 8 + vej_srtp_overhead(e->profile, true) - 1);
}

/* No room for the trailer: refused untouched; exactly enough: fine (the
 * heap buffer lets AddressSanitizer catch a write past it). */
static void
test_no_space(struct ends *e, gconstpointer data)
{
    (void)data;
    size_t overhead = vej_srtp_overhead(e->profile, false);
    uint8_t *buf = g_malloc(12 + PAYLOAD + overhead);
    uint8_t plain[1500];
    size_t len = make_rtp(plain, 9);
    memcpy(buf, plain, len);
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, len + overhead - 1), ==,
                    VEJ_SRTP_ENOSPACE);
    g_assert_cmpuint(len, ==, 12 + PAYLOAD);
    g_assert_cmpmem(buf, len, plain, len);
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, len - 1), ==, VEJ_SRTP_ENOSPACE);
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, 12 + PAYLOAD + overhead), ==,
                    VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_OK);
    g_free(buf);

    overhead = vej_srtp_overhead(e->profile, true);
    buf = g_malloc(32 + overhead);
    len = make_rtcp(buf);
    g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, 32 + overhead - 1), ==,
                    VEJ_SRTP_ENOSPACE);
    g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, 32 + overhead), ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_OK);
    g_free(buf);
}

/* A header whose CSRC list runs past the packet is refused, not read. */
static void
test_malformed(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[64] = {0x8F, 96, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
    size_t len = 20;
    int rc = vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf);
    g_assert_true(rc == VEJ_SRTP_EMALFORMED || rc == VEJ_SRTP_ETOOSHORT);
    g_test_message("CSRC past the end: %s", vej_srtp_status_name(rc));
}

static void
test_names(void)
{
    g_assert_cmpstr(vej_srtp_status_name(VEJ_SRTP_EAUTH), ==, "auth");
    g_assert_cmpstr(vej_srtp_status_name(VEJ_SRTP_EREPLAY), ==, "replay");
    g_assert_cmpstr(vej_srtp_status_name(-99), ==, "error");
    g_assert_cmpstr(vej_srtp_profile_name(VEJ_SRTP_AEAD_AES_128_GCM), ==, "AEAD_AES_128_GCM");
    g_assert_cmpstr(vej_srtp_profile_name(VEJ_SRTP_AES128_CM_SHA1_80), ==,
                    "AES_CM_128_HMAC_SHA1_80");
    for (int p = 0; p < 8; p++) {
        g_assert_cmpuint(vej_srtp_overhead((enum vej_srtp_profile)p, true), <=,
                         VEJ_SRTP_MAX_OVERHEAD);
    }
}

static void
test_bad_keys(void)
{
    struct vej_srtp_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.profile = VEJ_SRTP_AEAD_AES_128_GCM;
    keys.key_len = 16;
    keys.salt_len = 14; /* GCM wants 12 */
    g_autoptr(GError) error = NULL;
    g_assert_null(vej_srtp_new(&keys, &error));
    g_assert_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_PROFILE);
    g_clear_error(&error);
    keys.profile = (enum vej_srtp_profile)2;
    g_assert_null(vej_srtp_new(&keys, &error));
    g_assert_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_PROFILE);
    g_assert_true(vej_srtp_global_init(NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/srtp/names", test_names);
    g_test_add_func("/srtp/bad-keys", test_bad_keys);
    static const struct {
        const char *name;
        enum vej_srtp_profile profile;
    } profiles[] = {{"gcm", VEJ_SRTP_AEAD_AES_128_GCM}, {"aes-cm", VEJ_SRTP_AES128_CM_SHA1_80}};
    static const struct {
        const char *name;
        void (*fn)(struct ends *, gconstpointer);
    } tests[] = {
        {"rtp", test_rtp_roundtrip},           {"rtcp", test_rtcp_roundtrip},
        {"tampered", test_tampered},           {"replay", test_replay},
        {"replay-window", test_replay_window}, {"repeat-tx", test_repeat_tx},
        {"too-short", test_too_short},         {"no-space", test_no_space},
        {"malformed", test_malformed},
    };
    for (size_t p = 0; p < G_N_ELEMENTS(profiles); p++) {
        for (size_t t = 0; t < G_N_ELEMENTS(tests); t++) {
            g_autofree char *path = g_strdup_printf("/srtp/%s/%s", profiles[p].name, tests[t].name);
            g_test_add(path, struct ends, GINT_TO_POINTER(profiles[p].profile), ends_setup,
                       tests[t].fn, ends_teardown);
        }
    }
    return g_test_run();
}
