/* Unit tests for gateway/transport/dtls.c: endpoints wired back to back in memory.
 *
 * Time is fake. Our layer reads it through the `now_us` callback; OpenSSL
 * 3.0 reads its DTLS retransmission timer with gettimeofday(), which this
 * program defines (an executable's symbol interposes libc's for libssl),
 * so both see the same clock and retransmissions happen when the test
 * says so.
 *
 * Some tests use a "raw" peer, plain OpenSSL with memory BIOs, to play
 * what vej_dtls cannot: a client without a certificate, a peer that
 * prefers AES-CM, and an independent computation of the exported keys.
 */

#include "gateway/transport/dtls.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/time.h>

/* ---- fake clock ---- */

static int64_t fake_now = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;

__attribute__((visibility("default"))) int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    (void)tz;
    tv->tv_sec = (time_t)(fake_now / G_USEC_PER_SEC);
    tv->tv_usec = (suseconds_t)(fake_now % G_USEC_PER_SEC);
    return 0;
}

static int64_t
fake_clock(void *user_data)
{
    (void)user_data;
    return fake_now;
}

/* ---- a raw OpenSSL peer ---- */

struct raw_peer {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
    X509 *x509;
    bool server;
    bool done;
    bool failed;
};

static void
make_cert(X509 **x509, EVP_PKEY **key)
{
    *key = EVP_EC_gen("P-256");
    g_assert_nonnull(*key);
    *x509 = X509_new();
    g_assert_nonnull(*x509);
    g_assert_cmpint(ASN1_INTEGER_set(X509_get_serialNumber(*x509), 7), ==, 1);
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(*x509), 0));
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(*x509), 3600));
    X509_NAME *name = X509_get_subject_name(*x509);
    g_assert_cmpint(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                               (const unsigned char *)"raw", -1, -1, 0),
                    ==, 1);
    g_assert_cmpint(X509_set_issuer_name(*x509, name), ==, 1);
    g_assert_cmpint(X509_set_pubkey(*x509, *key), ==, 1);
    g_assert_cmpint(X509_sign(*x509, *key, EVP_sha256()), >, 0);
}

static int
accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

static struct raw_peer *
raw_new(bool server, const char *profiles, bool with_cert)
{
    struct raw_peer *r = g_new0(struct raw_peer, 1);
    r->server = server;
    r->ctx = SSL_CTX_new(DTLS_method());
    g_assert_nonnull(r->ctx);
    g_assert_cmpint(SSL_CTX_set_min_proto_version(r->ctx, DTLS1_2_VERSION), ==, 1);
    g_assert_cmpint(SSL_CTX_set_tlsext_use_srtp(r->ctx, profiles), ==, 0);
    SSL_CTX_set_options(r->ctx, SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, accept_any);
    if (with_cert) {
        EVP_PKEY *key;
        make_cert(&r->x509, &key);
        g_assert_cmpint(SSL_CTX_use_certificate(r->ctx, r->x509), ==, 1);
        g_assert_cmpint(SSL_CTX_use_PrivateKey(r->ctx, key), ==, 1);
        EVP_PKEY_free(key);
    }
    r->ssl = SSL_new(r->ctx);
    r->in = BIO_new(BIO_s_mem());
    r->out = BIO_new(BIO_s_mem());
    g_assert_true(r->ssl && r->in && r->out);
    BIO_set_mem_eof_return(r->in, -1);
    SSL_set_bio(r->ssl, r->in, r->out);
    g_assert_cmpint(SSL_set_mtu(r->ssl, 1200), >, 0);
    if (server)
        SSL_set_accept_state(r->ssl);
    else
        SSL_set_connect_state(r->ssl);
    return r;
}

static void
raw_free(struct raw_peer *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
    X509_free(r->x509);
    g_free(r);
    ERR_clear_error();
}

static char *
raw_fingerprint(const struct raw_peer *r, const EVP_MD *hash)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    g_assert_cmpint(X509_digest(r->x509, hash, md, &len), ==, 1);
    GString *s = g_string_new(NULL);
    for (unsigned i = 0; i < len; i++)
        g_string_append_printf(s, "%s%02x", i ? ":" : "", md[i]); /* lowercase on purpose */
    return g_string_free(s, FALSE);
}

/* ---- two endpoints back to back ---- */

/* Where a test frees an endpoint from inside its own callback. */
enum free_in { FREE_NEVER, FREE_IN_CONNECTED, FREE_IN_SEND, FREE_IN_FAILED };

struct side {
    const char *name;
    struct vej_dtls *dtls;
    struct raw_peer *raw;
    struct side *peer;
    GQueue inbox; /* GBytes: datagrams on their way to this side */
    int sent, dropped, drop_next;
    int connected, failed, closed;
    enum vej_dtls_failure reason;
    struct vej_srtp_keys keys;
    enum free_in free_in;
    bool close_in_connected;
};

/* Frees the endpoint from inside one of its callbacks, if asked to. */
static void
maybe_free(struct side *s, enum free_in where)
{
    if (s->free_in == where && s->dtls != NULL) {
        vej_dtls_free(s->dtls);
        s->dtls = NULL;
    }
}

static void
on_send(void *user_data, const uint8_t *data, size_t len)
{
    struct side *s = user_data;
    g_assert_cmpuint(len, <=, VEJ_DTLS_MTU);
    maybe_free(s, FREE_IN_SEND);
    if (s->dtls == NULL && s->raw == NULL)
        return; /* the owner dropped the datagram with the endpoint */
    if (s->drop_next > 0) {
        s->drop_next--;
        s->dropped++;
        return;
    }
    s->sent++;
    g_queue_push_tail(&s->peer->inbox, g_bytes_new(data, len));
}

static void
on_connected(void *user_data, const struct vej_srtp_keys *keys)
{
    struct side *s = user_data;
    s->connected++;
    s->keys = *keys;
    if (s->close_in_connected)
        vej_dtls_close(s->dtls);
    maybe_free(s, FREE_IN_CONNECTED);
}

static void
on_failed(void *user_data, enum vej_dtls_failure reason, const char *detail)
{
    struct side *s = user_data;
    g_test_message("%s failed: %s: %s", s->name, vej_dtls_failure_name(reason), detail);
    s->failed++;
    s->reason = reason;
    maybe_free(s, FREE_IN_FAILED);
}

static void
on_closed(void *user_data)
{
    struct side *s = user_data;
    s->closed++;
}

static const struct vej_dtls_callbacks callbacks = {
    .send = on_send,
    .connected = on_connected,
    .failed = on_failed,
    .closed = on_closed,
    .now_us = fake_clock,
};

static void
side_init(struct side *s, const char *name, struct vej_dtls_cert *cert, enum vej_dtls_role role)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    g_queue_init(&s->inbox);
    g_autoptr(GError) error = NULL;
    s->dtls = vej_dtls_new(cert, role, &callbacks, s, &error);
    g_assert_no_error(error);
    g_assert_nonnull(s->dtls);
}

static void
side_clear(struct side *s)
{
    vej_dtls_free(s->dtls);
    if (s->raw != NULL)
        raw_free(s->raw);
    g_queue_clear_full(&s->inbox, (GDestroyNotify)g_bytes_unref);
}

static void
link_sides(struct side *a, struct side *b)
{
    a->peer = b;
    b->peer = a;
}

/* The raw peer's output: everything OpenSSL wrote since the last flush, as
 * one datagram (DTLS allows several records in one). */
static void
raw_flush(struct side *s)
{
    char *data = NULL;
    long n = BIO_get_mem_data(s->raw->out, &data);
    if (n > 0) {
        s->sent++;
        g_queue_push_tail(&s->peer->inbox, g_bytes_new(data, (size_t)n));
    }
    g_assert_cmpint(BIO_reset(s->raw->out), ==, 1);
}

static void
raw_step(struct side *s)
{
    struct raw_peer *r = s->raw;
    if (!r->done && !r->failed) {
        int rc = SSL_do_handshake(r->ssl);
        if (rc == 1)
            r->done = true;
        else if (SSL_get_error(r->ssl, rc) != SSL_ERROR_WANT_READ) {
            char e[256];
            ERR_error_string_n(ERR_peek_error(), e, sizeof e);
            g_test_message("%s (raw) failed: %s", s->name, e);
            r->failed = true;
        }
    }
    if (r->done) {
        uint8_t buf[2048];
        while (SSL_read(r->ssl, buf, sizeof buf) > 0) {
        }
    }
    ERR_clear_error();
    raw_flush(s);
}

static int
deliver(struct side *s, GBytes *datagram)
{
    gsize len;
    const uint8_t *data = g_bytes_get_data(datagram, &len);
    if (s->raw == NULL)
        return s->dtls != NULL ? vej_dtls_input(s->dtls, data, len) : VEJ_DTLS_ESTATE;
    g_assert_cmpint(BIO_write(s->raw->in, data, (int)len), ==, (int)len);
    raw_step(s);
    return VEJ_DTLS_OK;
}

/* Delivers queued datagrams both ways until none is left. */
static void
pump(struct side *a, struct side *b)
{
    for (int round = 0; round < 100; round++) {
        GBytes *x = g_queue_pop_head(&a->inbox);
        GBytes *y = g_queue_pop_head(&b->inbox);
        if (x == NULL && y == NULL)
            return;
        if (x != NULL) {
            deliver(a, x);
            g_bytes_unref(x);
        }
        if (y != NULL) {
            deliver(b, y);
            g_bytes_unref(y);
        }
    }
    g_assert_not_reached();
}

static void
expect_fingerprint(struct side *s, struct vej_dtls_cert *of)
{
    const char *algorithm = NULL;
    const char *hex = vej_dtls_cert_fingerprint(of, &algorithm);
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_set_remote_fingerprint(s->dtls, algorithm, hex, &error));
    g_assert_no_error(error);
}

static void
start(struct side *s)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_start(s->dtls, &error));
    g_assert_no_error(error);
}

static void
assert_mirrored(const struct vej_srtp_keys *a, const struct vej_srtp_keys *b)
{
    g_assert_cmpint(a->profile, ==, b->profile);
    g_assert_cmpuint(a->key_len, ==, 16);
    g_assert_cmpuint(a->key_len, ==, b->key_len);
    g_assert_cmpuint(a->salt_len, ==, b->salt_len);
    g_assert_cmpmem(a->local_key, a->key_len, b->remote_key, b->key_len);
    g_assert_cmpmem(a->local_salt, a->salt_len, b->remote_salt, b->salt_len);
    g_assert_cmpmem(a->remote_key, a->key_len, b->local_key, b->key_len);
    g_assert_cmpmem(a->remote_salt, a->salt_len, b->local_salt, b->salt_len);
    g_assert_true(memcmp(a->local_key, a->remote_key, a->key_len) != 0);
}

struct fixture {
    struct vej_dtls_cert *server_cert, *client_cert;
    struct side server, client;
};

static void
fixture_setup(struct fixture *f, gconstpointer data)
{
    (void)data;
    g_autoptr(GError) error = NULL;
    f->server_cert = vej_dtls_cert_new_self_signed(&error);
    g_assert_no_error(error);
    f->client_cert = vej_dtls_cert_new_self_signed(&error);
    g_assert_no_error(error);
    side_init(&f->server, "server", f->server_cert, VEJ_DTLS_SERVER);
    side_init(&f->client, "client", f->client_cert, VEJ_DTLS_CLIENT);
    link_sides(&f->server, &f->client);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data)
{
    (void)data;
    side_clear(&f->server);
    side_clear(&f->client);
    vej_dtls_cert_unref(f->server_cert);
    vej_dtls_cert_unref(f->client_cert);
}

static void
handshake(struct fixture *f)
{
    start(&f->server);
    start(&f->client);
    pump(&f->server, &f->client);
}

/* ---- tests ---- */

static void
test_cert_fingerprint(void)
{
    g_autoptr(GError) error = NULL;
    struct vej_dtls_cert *cert = vej_dtls_cert_new_self_signed(&error);
    g_assert_no_error(error);
    const char *algorithm = NULL;
    const char *hex = vej_dtls_cert_fingerprint(cert, &algorithm);
    g_assert_cmpstr(algorithm, ==, "sha-256");
    g_assert_cmpuint(strlen(hex), ==, 32 * 3 - 1);
    for (size_t i = 0; hex[i] != '\0'; i++) {
        if (i % 3 == 2)
            g_assert_cmpint(hex[i], ==, ':');
        else
            g_assert_true(g_ascii_isdigit(hex[i]) || (hex[i] >= 'A' && hex[i] <= 'F'));
    }
    g_assert_true(vej_dtls_cert_ref(cert) == cert);
    vej_dtls_cert_unref(cert);
    vej_dtls_cert_unref(cert);
}

/* A certificate and key loaded from PEM give the digest of that file. */
static void
test_cert_from_pem(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vej-dtls-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *cert_path = g_build_filename(dir, "cert.pem", NULL);
    g_autofree char *key_path = g_build_filename(dir, "key.pem", NULL);
    X509 *x509;
    EVP_PKEY *key;
    make_cert(&x509, &key);
    BIO *b = BIO_new_file(cert_path, "w");
    g_assert_cmpint(PEM_write_bio_X509(b, x509), ==, 1);
    BIO_free(b);
    b = BIO_new_file(key_path, "w");
    g_assert_cmpint(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), ==, 1);
    BIO_free(b);

    struct vej_dtls_cert *cert = vej_dtls_cert_new_from_pem(cert_path, key_path, &error);
    g_assert_no_error(error);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    g_assert_cmpint(X509_digest(x509, EVP_sha256(), md, &len), ==, 1);
    g_assert_cmpuint(len, ==, 32);
    g_autofree char *want = g_strdup_printf("%02X:%02X", md[0], md[1]);
    g_assert_true(g_str_has_prefix(vej_dtls_cert_fingerprint(cert, NULL), want));
    vej_dtls_cert_unref(cert);

    g_assert_null(vej_dtls_cert_new_from_pem(key_path, key_path, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_CERTIFICATE);
    g_clear_error(&error);
    g_assert_null(vej_dtls_cert_new_from_pem(cert_path, "/nonexistent/key.pem", &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_CERTIFICATE);

    X509_free(x509);
    EVP_PKEY_free(key);
    g_unlink(cert_path);
    g_unlink(key_path);
    g_rmdir(dir);
}

static void
test_handshake(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    g_assert_cmpint(vej_dtls_next_timeout_us(f->client.dtls), ==, -1);
    handshake(f);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_cmpint(f->server.failed + f->client.failed, ==, 0);
    g_assert_cmpint(f->server.keys.profile, ==, VEJ_SRTP_AEAD_AES_128_GCM);
    g_assert_cmpuint(f->server.keys.salt_len, ==, 12);
    assert_mirrored(&f->server.keys, &f->client.keys);
    g_assert_cmpint(vej_dtls_get_state(f->server.dtls), ==, VEJ_DTLS_STATE_CONNECTED);
    g_assert_cmpint(vej_dtls_get_profile(f->client.dtls), ==, VEJ_SRTP_AEAD_AES_128_GCM);
    g_assert_cmpint(vej_dtls_next_timeout_us(f->server.dtls), ==, -1);
    g_assert_cmpint(vej_dtls_next_timeout_us(f->client.dtls), ==, -1);
}

/* A client restricted to AES-CM gets AES-CM from our server, both sides
 * agreeing on the keys; the list can no longer change once started. */
static void
test_profile_restricted(struct fixture *f, gconstpointer data)
{
    (void)data;
    static const enum vej_srtp_profile aes_cm[] = {VEJ_SRTP_AES128_CM_SHA1_80};
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_set_srtp_profiles(f->client.dtls, aes_cm, 1, &error));
    g_assert_false(vej_dtls_set_srtp_profiles(f->client.dtls, aes_cm, 0, &error));
    g_clear_error(&error);
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    handshake(f);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_cmpint(f->server.keys.profile, ==, VEJ_SRTP_AES128_CM_SHA1_80);
    g_assert_cmpuint(f->server.keys.salt_len, ==, 14);
    assert_mirrored(&f->server.keys, &f->client.keys);
    g_assert_false(vej_dtls_set_srtp_profiles(f->client.dtls, aes_cm, 1, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE);
}

/* The answer (and with it the fingerprint) may come after the handshake. */
static void
test_fingerprint_later(struct fixture *f, gconstpointer data)
{
    (void)data;
    handshake(f);
    g_assert_cmpint(f->server.connected + f->client.connected + f->server.failed + f->client.failed,
                    ==, 0);
    g_assert_cmpint(vej_dtls_get_state(f->server.dtls), ==, VEJ_DTLS_STATE_VERIFYING);
    g_assert_cmpint(vej_dtls_get_state(f->client.dtls), ==, VEJ_DTLS_STATE_VERIFYING);
    /* Uppercase or lowercase hex are the same fingerprint. */
    g_autofree char *lower = g_ascii_strdown(vej_dtls_cert_fingerprint(f->client_cert, NULL), -1);
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_set_remote_fingerprint(f->server.dtls, "SHA-256", lower, &error));
    g_assert_no_error(error);
    expect_fingerprint(&f->client, f->server_cert);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->client.connected, ==, 1);
    assert_mirrored(&f->server.keys, &f->client.keys);
    /* A re-answer with the same fingerprint is fine, another is refused. */
    expect_fingerprint(&f->client, f->server_cert);
    g_assert_false(vej_dtls_set_remote_fingerprint(f->client.dtls, "sha-256", lower, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE);
}

static void
test_mismatch_server(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->server_cert); /* wrong: not the client's */
    expect_fingerprint(&f->client, f->server_cert);
    handshake(f);
    g_assert_cmpint(f->server.failed, ==, 1);
    g_assert_cmpint(f->server.reason, ==, VEJ_DTLS_FAIL_FINGERPRINT);
    g_assert_cmpint(f->server.connected, ==, 0);
    g_assert_cmpint(f->client.connected, ==, 0);
    g_assert_cmpint(f->server.keys.profile, ==, VEJ_SRTP_PROFILE_NONE);
    g_assert_cmpint(f->client.keys.profile, ==, VEJ_SRTP_PROFILE_NONE);
    g_assert_cmpint(f->client.failed, ==, 1); /* by the server's alert */
    g_assert_cmpint(f->client.reason, ==, VEJ_DTLS_FAIL_ALERT);
}

static void
test_mismatch_client(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->client_cert); /* wrong: not the server's */
    handshake(f);
    g_assert_cmpint(f->client.failed, ==, 1);
    g_assert_cmpint(f->client.reason, ==, VEJ_DTLS_FAIL_FINGERPRINT);
    g_assert_cmpint(f->client.connected + f->server.connected, ==, 0);
    g_assert_cmpint(f->client.keys.profile, ==, VEJ_SRTP_PROFILE_NONE);
}

/* A mismatch decided late: no keys, and nothing more is sent. */
static void
test_mismatch_later(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->client, f->server_cert);
    handshake(f);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_cmpint(vej_dtls_get_state(f->server.dtls), ==, VEJ_DTLS_STATE_VERIFYING);
    int sent = f->server.sent;
    expect_fingerprint(&f->server, f->server_cert);
    g_assert_cmpint(f->server.failed, ==, 1);
    g_assert_cmpint(f->server.reason, ==, VEJ_DTLS_FAIL_FINGERPRINT);
    g_assert_cmpint(f->server.connected, ==, 0);
    vej_dtls_close(f->server.dtls);
    g_assert_cmpint(f->server.sent, ==, sent);
    /* Later datagrams are refused without callbacks. */
    vej_dtls_close(f->client.dtls);
    GBytes *notify = g_queue_pop_head(&f->server.inbox);
    g_assert_nonnull(notify);
    g_assert_cmpint(deliver(&f->server, notify), ==, VEJ_DTLS_ESTATE);
    g_bytes_unref(notify);
    g_assert_cmpint(f->server.failed + f->server.closed, ==, 1);
}

/* A client without a certificate fails the server (raw OpenSSL client). */
static void
test_no_client_certificate(struct fixture *f, gconstpointer data)
{
    (void)data;
    f->client.raw = raw_new(false, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", false);
    start(&f->server);
    raw_step(&f->client);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->server.failed, ==, 1);
    g_assert_cmpint(f->server.reason, ==, VEJ_DTLS_FAIL_NO_CERTIFICATE);
    g_assert_cmpint(f->server.connected, ==, 0);
    g_assert_false(f->client.raw->done);
}

/* Exports the keys the raw peer derives, in vej_srtp_keys layout. */
static void
raw_keys(struct raw_peer *r, struct vej_srtp_keys *k)
{
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(r->ssl);
    g_assert_nonnull(p);
    k->profile = (enum vej_srtp_profile)p->id;
    g_assert_true(vej_srtp_profile_lengths(k->profile, &k->key_len, &k->salt_len));
    uint8_t m[60];
    size_t kl = k->key_len, sl = k->salt_len;
    g_assert_cmpint(
        SSL_export_keying_material(r->ssl, m, 2 * (kl + sl), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
        ==, 1);
    memcpy(k->local_key, r->server ? m + kl : m, kl);
    memcpy(k->remote_key, r->server ? m : m + kl, kl);
    memcpy(k->local_salt, m + 2 * kl + (r->server ? sl : 0), sl);
    memcpy(k->remote_salt, m + 2 * kl + (r->server ? 0 : sl), sl);
}

/* As server we choose: GCM even when the client lists AES-CM first.
 * (The SDP fingerprint here is sha-512.) */
static void
test_profile_server_prefers_gcm(struct fixture *f, gconstpointer data)
{
    (void)data;
    f->client.raw = raw_new(false, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM", true);
    g_autofree char *fp = raw_fingerprint(f->client.raw, EVP_sha512());
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_set_remote_fingerprint(f->server.dtls, "sha-512", fp, &error));
    start(&f->server);
    raw_step(&f->client);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_true(f->client.raw->done);
    g_assert_cmpint(f->server.keys.profile, ==, VEJ_SRTP_AEAD_AES_128_GCM);
    struct vej_srtp_keys theirs;
    raw_keys(f->client.raw, &theirs);
    assert_mirrored(&f->server.keys, &theirs);
}

/* As client the server chooses: a server offering AES-CM only gets it.
 * (The SDP fingerprint here is sha-1.) */
static void
test_profile_client_aes_cm(struct fixture *f, gconstpointer data)
{
    (void)data;
    f->server.raw = raw_new(true, "SRTP_AES128_CM_SHA1_80", true);
    g_autofree char *fp = raw_fingerprint(f->server.raw, EVP_sha1());
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_dtls_set_remote_fingerprint(f->client.dtls, "sha-1", fp, &error));
    start(&f->client);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_true(f->server.raw->done);
    g_assert_cmpint(f->client.keys.profile, ==, VEJ_SRTP_AES128_CM_SHA1_80);
    g_assert_cmpuint(f->client.keys.salt_len, ==, 14);
    struct vej_srtp_keys theirs;
    raw_keys(f->server.raw, &theirs);
    assert_mirrored(&f->client.keys, &theirs);
}

/* Fires `s`'s timer at the time it asks for. Returns the delay. */
static int64_t
fire_timer(struct side *s)
{
    int64_t at = vej_dtls_next_timeout_us(s->dtls);
    g_assert_cmpint(at, >, fake_now);
    int64_t delay = at - fake_now;
    fake_now = at;
    vej_dtls_handle_timeout(s->dtls, fake_now);
    return delay;
}

/* The first flight is lost: retransmitted after 150 ms, then 300 ms. */
static void
test_retransmit(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    start(&f->server);
    f->client.drop_next = 2; /* the ClientHello and its first retransmission */
    start(&f->client);
    g_assert_cmpint(f->client.dropped, ==, 1);
    g_assert_cmpint(vej_dtls_next_timeout_us(f->server.dtls), ==,
                    fake_now + VEJ_DTLS_HANDSHAKE_TIMEOUT_US);
    /* Early: nothing happens. */
    vej_dtls_handle_timeout(f->client.dtls, fake_now);
    g_assert_cmpint(f->client.dropped, ==, 1);
    int64_t first = fire_timer(&f->client);
    g_assert_cmpint(first, >=, VEJ_DTLS_FIRST_TIMEOUT_US - 15000);
    g_assert_cmpint(first, <=, VEJ_DTLS_FIRST_TIMEOUT_US);
    g_assert_cmpint(f->client.dropped, ==, 2);
    int64_t second = fire_timer(&f->client);
    g_assert_cmpint(second, >=, 2 * VEJ_DTLS_FIRST_TIMEOUT_US - 15000);
    g_assert_cmpint(second, <=, 2 * VEJ_DTLS_FIRST_TIMEOUT_US);
    g_assert_cmpint(f->client.sent, ==, 1);
    /* The server's first flight is lost too: its timer resends it. */
    f->server.drop_next = 100;
    pump(&f->server, &f->client);
    g_assert_cmpint(f->server.dropped, >, 0);
    f->server.drop_next = 0;
    fire_timer(&f->server);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->client.connected, ==, 1);
    assert_mirrored(&f->server.keys, &f->client.keys);
}

/* The server's last flight (CCS, Finished) is lost: the client's timer
 * resends its own last flight, and the server, already connected, answers
 * it by resending its last flight. */
static void
test_lost_last_flight(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    start(&f->server);
    start(&f->client);
    while (f->server.connected == 0) {
        GBytes *x = g_queue_pop_head(&f->server.inbox);
        GBytes *y = x == NULL ? g_queue_pop_head(&f->client.inbox) : NULL;
        g_assert_true(x != NULL || y != NULL);
        deliver(x != NULL ? &f->server : &f->client, x != NULL ? x : y);
        g_bytes_unref(x != NULL ? x : y);
    }
    g_assert_cmpuint(g_queue_get_length(&f->client.inbox), >, 0);
    g_queue_clear_full(&f->client.inbox, (GDestroyNotify)g_bytes_unref);
    g_assert_cmpint(f->client.connected, ==, 0);
    g_assert_cmpint(fire_timer(&f->client), <=, VEJ_DTLS_FIRST_TIMEOUT_US);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_cmpint(f->server.connected, ==, 1);
    assert_mirrored(&f->server.keys, &f->client.keys);
}

/* Nothing ever answers: the handshake fails after 15 s, not before. */
static void
test_timeout(struct fixture *f, gconstpointer data)
{
    (void)data;
    int64_t started = fake_now;
    f->client.drop_next = 1000;
    start(&f->client);
    int retransmissions = 0;
    while (f->client.failed == 0) {
        g_assert_cmpint(fake_now - started, <, VEJ_DTLS_HANDSHAKE_TIMEOUT_US);
        fire_timer(&f->client);
        retransmissions++;
    }
    g_assert_cmpint(fake_now - started, ==, VEJ_DTLS_HANDSHAKE_TIMEOUT_US);
    g_assert_cmpint(f->client.reason, ==, VEJ_DTLS_FAIL_TIMEOUT);
    g_assert_cmpint(f->client.dropped, ==,
                    retransmissions); /* the first, and one per timer but the last */
    g_assert_cmpint(vej_dtls_next_timeout_us(f->client.dtls), ==, -1);
    g_test_message("%d retransmissions in 15 s", retransmissions - 1);
}

static void
test_close_notify(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    handshake(f);
    g_assert_cmpint(f->client.connected, ==, 1);
    vej_dtls_close(f->client.dtls);
    vej_dtls_close(f->client.dtls); /* idempotent */
    g_assert_cmpint(vej_dtls_get_state(f->client.dtls), ==, VEJ_DTLS_STATE_CLOSED);
    pump(&f->server, &f->client);
    g_assert_cmpint(f->server.closed, ==, 1);
    g_assert_cmpint(f->server.failed, ==, 0);
    g_assert_cmpint(vej_dtls_get_state(f->server.dtls), ==, VEJ_DTLS_STATE_CLOSED);
    g_assert_cmpint(f->client.closed + f->client.failed, ==, 0); /* a local close reports nothing */
}

/* Garbage is dropped and reported; a handshake still succeeds after it. */
static void
test_garbage(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    GRand *rand = g_rand_new_with_seed(42);
    uint8_t buf[1500];
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)g_rand_int_range(rand, 0, sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)g_rand_int(rand);
        g_assert_cmpint(vej_dtls_input(f->server.dtls, buf, len), ==, VEJ_DTLS_EMALFORMED);
    }
    /* Well-framed records with random bodies reach OpenSSL, which drops
     * them (or fails the handshake, reported by `failed`). */
    struct side spare;
    side_init(&spare, "spare", f->server_cert, VEJ_DTLS_SERVER);
    spare.peer = &f->client;
    for (int i = 0; i < 2000; i++) {
        size_t body = (size_t)g_rand_int_range(rand, 0, 200);
        buf[0] = (uint8_t)g_rand_int_range(rand, 20, 26);
        buf[1] = 0xFE;
        buf[2] = 0xFD;
        for (size_t j = 3; j < 11 + body + 2; j++)
            buf[j] = (uint8_t)g_rand_int(rand);
        buf[11] = (uint8_t)(body >> 8);
        buf[12] = (uint8_t)body;
        int rc = vej_dtls_input(spare.dtls, buf, 13 + body);
        g_assert_true(rc == VEJ_DTLS_OK || rc == VEJ_DTLS_ESTATE);
    }
    g_test_message("framed garbage: %d failed, %d sent", spare.failed, spare.sent);
    g_assert_cmpint(spare.connected, ==, 0);
    g_assert_cmpint(spare.failed, <=, 1);
    side_clear(&spare);
    g_queue_clear_full(&f->client.inbox, (GDestroyNotify)g_bytes_unref);
    g_rand_free(rand);

    handshake(f);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->client.connected, ==, 1);
    /* After the handshake too: framed garbage is discarded silently. */
    memset(buf, 0xAB, 100);
    buf[0] = 23, buf[1] = 0xFE, buf[2] = 0xFD, buf[11] = 0, buf[12] = 87;
    g_assert_cmpint(vej_dtls_input(f->server.dtls, buf, 100), ==, VEJ_DTLS_OK);
    g_assert_cmpint(vej_dtls_get_state(f->server.dtls), ==, VEJ_DTLS_STATE_CONNECTED);
}

static void
test_free_in_callback(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    f->server.free_in = FREE_IN_CONNECTED;
    handshake(f);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_null(f->server.dtls);
    g_assert_cmpint(f->client.connected, ==, 1);
}

/* Freed from `send`, in the middle of OpenSSL writing a flight: the rest
 * of the flight is not sent and no callback follows. */
static void
test_free_in_send(struct fixture *f, gconstpointer data)
{
    (void)data;
    start(&f->server);
    start(&f->client);
    f->server.free_in = FREE_IN_SEND;
    GBytes *hello = g_queue_pop_head(&f->server.inbox);
    g_assert_cmpint(deliver(&f->server, hello), ==, VEJ_DTLS_OK);
    g_bytes_unref(hello);
    g_assert_null(f->server.dtls);
    g_assert_cmpint(f->server.sent + f->server.failed + f->server.connected, ==, 0);
    g_assert_true(g_queue_is_empty(&f->client.inbox));

    f->client.free_in = FREE_IN_SEND;
    fire_timer(&f->client); /* the retransmission's first send frees it */
    g_assert_null(f->client.dtls);
    g_assert_cmpint(f->client.sent, ==, 1);
}

static void
test_free_in_failed(struct fixture *f, gconstpointer data)
{
    (void)data;
    f->client.drop_next = 1000;
    f->client.free_in = FREE_IN_FAILED;
    start(&f->client);
    while (f->client.dtls != NULL)
        fire_timer(&f->client);
    g_assert_cmpint(f->client.failed, ==, 1);
}

/* Closing from `connected` sends close_notify and stops there. */
static void
test_close_in_connected(struct fixture *f, gconstpointer data)
{
    (void)data;
    expect_fingerprint(&f->server, f->client_cert);
    expect_fingerprint(&f->client, f->server_cert);
    f->client.close_in_connected = true;
    handshake(f);
    g_assert_cmpint(f->client.connected, ==, 1);
    g_assert_cmpint(vej_dtls_get_state(f->client.dtls), ==, VEJ_DTLS_STATE_CLOSED);
    g_assert_cmpint(f->server.connected, ==, 1);
    g_assert_cmpint(f->server.closed, ==, 1);
}

static void
test_api_errors(struct fixture *f, gconstpointer data)
{
    (void)data;
    g_autoptr(GError) error = NULL;
    g_assert_false(vej_dtls_set_remote_fingerprint(f->server.dtls, "md5", "00", &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_FINGERPRINT);
    g_clear_error(&error);
    g_assert_false(vej_dtls_set_remote_fingerprint(f->server.dtls, "sha-1", "AB:CD", &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_FINGERPRINT);
    g_clear_error(&error);
    g_assert_false(vej_dtls_set_remote_fingerprint(
        f->server.dtls, "sha-1", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:3G",
        &error));
    g_clear_error(&error);
    g_assert_true(vej_dtls_set_remote_fingerprint(
        f->server.dtls, "sha-1", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
        &error));
    /* The subscribe PC learns its role from the answer. */
    g_assert_true(vej_dtls_set_role(f->client.dtls, VEJ_DTLS_SERVER, &error));
    g_assert_true(vej_dtls_set_role(f->client.dtls, VEJ_DTLS_CLIENT, &error));
    g_assert_cmpint(vej_dtls_input(f->client.dtls, (const uint8_t *)"x", 1), ==, VEJ_DTLS_ESTATE);
    start(&f->client);
    g_assert_false(vej_dtls_start(f->client.dtls, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE);
    g_clear_error(&error);
    g_assert_false(vej_dtls_set_role(f->client.dtls, VEJ_DTLS_SERVER, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE);
    static const struct vej_dtls_callbacks incomplete = {.send = on_send};
    g_clear_error(&error);
    g_assert_null(vej_dtls_new(f->server_cert, VEJ_DTLS_SERVER, &incomplete, NULL, &error));
    g_assert_error(error, VEJ_DTLS_ERROR, VEJ_DTLS_ERROR_STATE);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dtls/cert/fingerprint", test_cert_fingerprint);
    g_test_add_func("/dtls/cert/pem", test_cert_from_pem);
#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/dtls/handshake", test_handshake);
    ADD("/dtls/fingerprint/later", test_fingerprint_later);
    ADD("/dtls/fingerprint/mismatch-server", test_mismatch_server);
    ADD("/dtls/fingerprint/mismatch-client", test_mismatch_client);
    ADD("/dtls/fingerprint/mismatch-later", test_mismatch_later);
    ADD("/dtls/no-client-certificate", test_no_client_certificate);
    ADD("/dtls/profile/server-prefers-gcm", test_profile_server_prefers_gcm);
    ADD("/dtls/profile/client-aes-cm", test_profile_client_aes_cm);
    ADD("/dtls/profile/restricted", test_profile_restricted);
    ADD("/dtls/retransmit", test_retransmit);
    ADD("/dtls/lost-last-flight", test_lost_last_flight);
    ADD("/dtls/timeout", test_timeout);
    ADD("/dtls/close-notify", test_close_notify);
    ADD("/dtls/garbage", test_garbage);
    ADD("/dtls/free-in-callback/connected", test_free_in_callback);
    ADD("/dtls/free-in-callback/send", test_free_in_send);
    ADD("/dtls/free-in-callback/failed", test_free_in_failed);
    ADD("/dtls/close-in-connected", test_close_in_connected);
    ADD("/dtls/api-errors", test_api_errors);
#undef ADD
    return g_test_run();
}
