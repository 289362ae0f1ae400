/* Unit tests for gateway/transport/srtp.c and the crypto under it (srtp-crypto.c,
 * srtp-hmac.c).
 *
 * Sessions are keyed two ways. Most tests take their keys from a real
 * DTLS-SRTP handshake: a vej_dtls client against a plain OpenSSL server
 * that offers one profile and exports its keys itself (RFC 5764 4.2), so
 * that both ends of every SRTP session are keyed independently. The
 * known-answer tests use published master keys and compare whole
 * protected packets, byte for byte, with packets built here from OpenSSL's
 * AES and HMAC primitives following RFC 3711 and RFC 7714; that reference
 * is itself checked against the RFCs' published vectors first. */

#include "gateway/transport/dtls.h"
#include "gateway/transport/srtp-priv.h"
#include "gateway/transport/srtp.h"

#include <glib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

/* ---- heap allocations, counted process-wide ----
 *
 * Under AddressSanitizer or ThreadSanitizer through their allocation
 * hook; otherwise by interposing glibc's malloc family from this
 * executable. */

static gint allocations;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void
on_malloc(const volatile void *ptr, size_t size)
{
    (void)ptr;
    (void)size;
    g_atomic_int_inc(&allocations);
}

static void
on_free(const volatile void *ptr)
{
    (void)ptr;
}

/* Both hooks are required (a NULL one is refused). */
static void
count_allocations(void)
{
    g_assert_cmpint(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free), !=, 0);
}
#else
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);

__attribute__((visibility("default"))) void *
malloc(size_t size)
{
    g_atomic_int_inc(&allocations);
    return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *
calloc(size_t n, size_t size)
{
    g_atomic_int_inc(&allocations);
    return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void *
realloc(void *ptr, size_t size)
{
    g_atomic_int_inc(&allocations);
    return __libc_realloc(ptr, size);
}

static void
count_allocations(void)
{
}
#endif

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

/* A removed stream's state is gone: its replay window (inbound) and its
 * record of protected indexes (outbound) start afresh; removing a stream
 * that does not exist does nothing. */
static void
test_remove_stream(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[1500], copy[1500];
    size_t len = make_rtp(buf, 7);
    g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
    memcpy(copy, buf, len);
    size_t copy_len = len;
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_OK);
    memcpy(buf, copy, copy_len);
    len = copy_len;
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_EREPLAY);
    vej_srtp_remove_stream(e->server, 0x55667788, false); /* none: nothing happens */
    vej_srtp_remove_stream(e->server, 0x11223344, false);
    g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, copy, &copy_len), ==, VEJ_SRTP_OK);

    size_t alen = make_rtp(buf, 300);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, buf, &alen, sizeof buf), ==, VEJ_SRTP_OK);
    alen = make_rtp(buf, 300);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, buf, &alen, sizeof buf), ==, VEJ_SRTP_EREPLAY);
    vej_srtp_remove_stream(e->server, 0x11223344, true);
    alen = make_rtp(buf, 300);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, buf, &alen, sizeof buf), ==, VEJ_SRTP_OK);
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

/* One SRTP index is never protected twice (with GCM that would reuse a
 * nonce): retransmissions go as RTX with their own sequence numbers. */
static void
test_repeat_tx(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t a[1500], b[1500];
    size_t alen = make_rtp(a, 300), blen = make_rtp(b, 300);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, a, &alen, sizeof a), ==, VEJ_SRTP_OK);
    g_assert_cmpint(vej_srtp_protect_rtp(e->server, b, &blen, sizeof b), ==, VEJ_SRTP_EREPLAY);
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

/* After the first packet of each stream (libsrtp2 allocates the stream),
 * protecting and unprotecting allocate nothing, in libsrtp2 or the crypto
 * under it. With Debian's NSS backend this was 15.6 allocations per AES-CM
 * packet and 5.6 per GCM packet. */
static void
test_no_alloc(struct ends *e, gconstpointer data)
{
    (void)data;
    uint8_t buf[1500];
    size_t len;
    for (uint16_t seq = 1; seq < 201; seq++) {
        int before = g_atomic_int_get(&allocations);
        len = make_rtp(buf, seq);
        g_assert_cmpint(vej_srtp_protect_rtp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_unprotect_rtp(e->server, buf, &len), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_protect_rtp(e->server, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_unprotect_rtp(e->client, buf, &len), ==, VEJ_SRTP_OK);
        len = make_rtcp(buf);
        g_assert_cmpint(vej_srtp_protect_rtcp(e->client, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
        g_assert_cmpint(vej_srtp_unprotect_rtcp(e->server, buf, &len), ==, VEJ_SRTP_OK);
        int made = g_atomic_int_get(&allocations) - before;
        if (seq > 1 && made != 0) {
            g_test_message("packet %u: %d heap allocations for 3 protects and 3 unprotects", seq,
                           made);
            g_test_fail();
            return;
        }
    }
}

/* ---- known answers: whole packets ----
 *
 * The reference below builds protected packets from OpenSSL's AES-CTR,
 * AES-GCM and HMAC directly, following the RFCs, and shares no code with
 * gateway/srtp*.c or libsrtp2. It is checked first against published
 * vectors: RFC 3711 B.3 (key derivation), the AES-CM packet of libsrtp2's
 * own test driver, and RFC 7714 sections 16-17 (GCM SRTP and SRTCP, given
 * as session keys, which libsrtp2 cannot be handed directly: it always
 * derives them from a master key). */

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ' ')
            continue;
        int hi = g_ascii_xdigit_value(p[0]), lo = g_ascii_xdigit_value(p[1]);
        g_assert_true(hi >= 0 && lo >= 0 && n < cap);
        out[n++] = (uint8_t)(hi << 4 | lo);
        p++;
    }
    return n;
}

/* RFC 3711 appendix B.3: master key and salt, and what the KDF derives. */
#define B3_MASTER_KEY "e1f97a0d3e018be0d64fa32c06de4139"
#define B3_MASTER_SALT "0ec675ad498afeebb6960b3aabe6"
#define B3_CIPHER_KEY "c61e7a93744f39ee10734afe3ff7a087"
#define B3_CIPHER_SALT "30cbbc08863d8c85d49db34a9ae1"
#define B3_AUTH_KEY "cebe321f6ff7716b6fd4ab49af256a156d38baa4" /* first 160 bits */

static void
aes_ctr(const uint8_t key[16], const uint8_t iv[16], uint8_t *buf, size_t len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0;
    g_assert_nonnull(ctx);
    g_assert_cmpint(EVP_EncryptInit_ex2(ctx, EVP_aes_128_ctr(), key, iv, NULL), ==, 1);
    g_assert_cmpint(EVP_EncryptUpdate(ctx, buf, &out, buf, (int)len), ==, 1);
    g_assert_cmpint(out, ==, (int)len);
    EVP_CIPHER_CTX_free(ctx);
}

/* AES-128-GCM over buf[0..len) in place, AAD a || b, 16-byte tag. */
static void
aes_gcm(const uint8_t key[16], const uint8_t iv[12], const uint8_t *a, size_t a_len,
        const uint8_t *b, size_t b_len, uint8_t *buf, size_t len, uint8_t tag[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0;
    g_assert_nonnull(ctx);
    g_assert_cmpint(EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), key, iv, NULL), ==, 1);
    g_assert_cmpint(EVP_EncryptUpdate(ctx, NULL, &out, a, (int)a_len), ==, 1);
    if (b_len > 0)
        g_assert_cmpint(EVP_EncryptUpdate(ctx, NULL, &out, b, (int)b_len), ==, 1);
    g_assert_cmpint(EVP_EncryptUpdate(ctx, buf, &out, buf, (int)len), ==, 1);
    g_assert_cmpint(EVP_EncryptFinal_ex(ctx, buf + len, &out), ==, 1);
    g_assert_cmpint(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag), ==, 1);
    EVP_CIPHER_CTX_free(ctx);
}

/* HMAC-SHA1 of buf[0..len), truncated to 10 bytes (the _80 tag). */
static void
hmac_sha1_80(const uint8_t key[20], const uint8_t *buf, size_t len, uint8_t tag[10])
{
    uint8_t full[20];
    size_t out = 0;
    g_assert_nonnull(
        EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key, 20, buf, len, full, sizeof full, &out));
    g_assert_cmpuint(out, ==, 20);
    memcpy(tag, full, 10);
}

/* RFC 3711 4.3.1 with a key derivation rate of 0: the AES-CM keystream
 * under the master key from x || 0^16, x = master salt XOR (label << 48).
 * A 96-bit (GCM, RFC 7714) master salt is padded with zeros on the right
 * to 112 bits, as libsrtp2, and so Chromium, does. */
static void
ref_kdf(const uint8_t master_key[16], const uint8_t *master_salt, size_t salt_len, uint8_t label,
        uint8_t *out, size_t len)
{
    uint8_t iv[16] = {0};
    memcpy(iv, master_salt, salt_len);
    iv[7] ^= label;
    memset(out, 0, len);
    aes_ctr(master_key, iv, out, len);
}

/* Session keys of one direction: SRTP or SRTCP. */
struct ref_keys {
    uint8_t key[16];
    uint8_t salt[14]; /* 12 bytes used for GCM */
    uint8_t auth[20]; /* AES-CM only */
};

/* RFC 3711 labels: 0-2 for SRTP (key, auth, salt), 3-5 for SRTCP. */
static void
ref_session_keys(enum vej_srtp_profile profile, const uint8_t master_key[16],
                 const uint8_t *master_salt, bool rtcp, struct ref_keys *k)
{
    size_t salt_len = profile == VEJ_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    uint8_t base = rtcp ? 3 : 0;
    memset(k, 0, sizeof *k);
    ref_kdf(master_key, master_salt, salt_len, base, k->key, sizeof k->key);
    ref_kdf(master_key, master_salt, salt_len, base + 1, k->auth, sizeof k->auth);
    ref_kdf(master_key, master_salt, salt_len, base + 2, k->salt, salt_len);
}

static size_t
rtp_header_len(const uint8_t *pkt)
{
    size_t len = 12 + 4 * (size_t)(pkt[0] & 0x0f);
    if (pkt[0] & 0x10)
        len += 4 + 4 * (size_t)(pkt[len + 2] << 8 | pkt[len + 3]);
    return len;
}

/* SRTP (RFC 3711 3.1, 4.1.1, 4.2) of pkt[0..len) with index ROC || SEQ
 * into out; returns the protected length. */
static size_t
ref_srtp(enum vej_srtp_profile profile, const struct ref_keys *k, uint32_t roc, const uint8_t *pkt,
         size_t len, uint8_t *out)
{
    size_t header = rtp_header_len(pkt);
    uint8_t roc_be[4] = {(uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8),
                         (uint8_t)roc};
    memcpy(out, pkt, len);
    if (profile == VEJ_SRTP_AEAD_AES_128_GCM) {
        /* RFC 7714 8.1: IV = salt XOR (0^16 || SSRC || ROC || SEQ); AAD = header. */
        uint8_t iv[12];
        memcpy(iv, k->salt, 12);
        for (int i = 0; i < 4; i++) {
            iv[2 + i] ^= pkt[8 + i];
            iv[6 + i] ^= roc_be[i];
        }
        iv[10] ^= pkt[2];
        iv[11] ^= pkt[3];
        aes_gcm(k->key, iv, out, header, NULL, 0, out + header, len - header, out + len);
        return len + 16;
    }
    /* IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16); the tag is over
     * the packet and the ROC. */
    uint8_t iv[16] = {0};
    memcpy(iv, k->salt, 14);
    for (int i = 0; i < 4; i++) {
        iv[4 + i] ^= pkt[8 + i];
        iv[8 + i] ^= roc_be[i];
    }
    iv[12] ^= pkt[2];
    iv[13] ^= pkt[3];
    aes_ctr(k->key, iv, out + header, len - header);
    memcpy(out + len, roc_be, 4);
    hmac_sha1_80(k->auth, out, len + 4, out + len);
    return len + 10;
}

/* SRTCP (RFC 3711 3.4; RFC 7714 9) of pkt[0..len), encrypted, with SRTCP
 * index `index`, into out; returns the protected length. */
static size_t
ref_srtcp(enum vej_srtp_profile profile, const struct ref_keys *k, uint32_t index,
          const uint8_t *pkt, size_t len, uint8_t *out)
{
    uint32_t e_index = 0x80000000u | index;
    uint8_t trailer[4] = {(uint8_t)(e_index >> 24), (uint8_t)(e_index >> 16),
                          (uint8_t)(e_index >> 8), (uint8_t)e_index};
    memcpy(out, pkt, len);
    if (profile == VEJ_SRTP_AEAD_AES_128_GCM) {
        /* IV = salt XOR (0^16 || SSRC || 0^16 || index); AAD = header || E || index;
         * the tag comes before the trailer. */
        uint8_t iv[12];
        memcpy(iv, k->salt, 12);
        for (int i = 0; i < 4; i++) {
            iv[2 + i] ^= pkt[4 + i];
            iv[8 + i] ^= trailer[i] & (i == 0 ? 0x7f : 0xff);
        }
        aes_gcm(k->key, iv, out, 8, trailer, 4, out + 8, len - 8, out + len);
        memcpy(out + len + 16, trailer, 4);
        return len + 20;
    }
    uint8_t iv[16] = {0};
    memcpy(iv, k->salt, 14);
    for (int i = 0; i < 4; i++) {
        iv[4 + i] ^= pkt[4 + i];
        iv[10 + i] ^= trailer[i] & (i == 0 ? 0x7f : 0xff);
    }
    aes_ctr(k->key, iv, out + 8, len - 8);
    memcpy(out + len, trailer, 4);
    hmac_sha1_80(k->auth, out, len + 4, out + len + 4);
    return len + 14;
}

/* The reference against the published vectors. */
static void
test_reference(void)
{
    uint8_t mk[16], ms[14], want[160], pkt[128], out[160];
    struct ref_keys k;

    unhex(B3_MASTER_KEY, mk, sizeof mk);
    unhex(B3_MASTER_SALT, ms, sizeof ms);
    ref_session_keys(VEJ_SRTP_AES128_CM_SHA1_80, mk, ms, false, &k);
    g_assert_cmpmem(k.key, 16, want, unhex(B3_CIPHER_KEY, want, sizeof want));
    g_assert_cmpmem(k.salt, 14, want, unhex(B3_CIPHER_SALT, want, sizeof want));
    g_assert_cmpmem(k.auth, 20, want, unhex(B3_AUTH_KEY, want, sizeof want));

    /* libsrtp2's test/srtp_driver.c (srtp_validate): the B.3 master key,
     * SSRC 0xcafebabe, sequence 0x1234. */
    size_t len =
        unhex("800f1234 decafbad cafebabe abababab abababab abababab abababab", pkt, sizeof pkt);
    size_t n = ref_srtp(VEJ_SRTP_AES128_CM_SHA1_80, &k, 0, pkt, len, out);
    g_assert_cmpmem(out, n, want,
                    unhex("800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402"
                          " b78d6acc 99ea179b 8dbb",
                          want, sizeof want));

    /* RFC 7714 16.1.1 and 17.1.1: session key and salt as given. */
    memset(&k, 0, sizeof k);
    unhex("000102030405060708090a0b0c0d0e0f", k.key, sizeof k.key);
    unhex("517569642070726f2071756f", k.salt, sizeof k.salt);
    len = unhex("8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976"
                " 69736120 696e2070 61727465 73207472 6573",
                pkt, sizeof pkt);
    n = ref_srtp(VEJ_SRTP_AEAD_AES_128_GCM, &k, 0, pkt, len, out);
    g_assert_cmpmem(out, n, want,
                    unhex("8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca"
                          " be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1"
                          " 6a9152cf 765ee439 0cce",
                          want, sizeof want));
    len = unhex("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
                " deadbeef deadbeef deadbeef deadbeef deadbeef",
                pkt, sizeof pkt);
    n = ref_srtcp(VEJ_SRTP_AEAD_AES_128_GCM, &k, 0x5d4, pkt, len, out);
    g_assert_cmpmem(out, n, want,
                    unhex("81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7"
                          " 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458"
                          " 96cf4d2f c5abf872 45d9eade 800005d4",
                          want, sizeof want));
}

/* A session keyed with the B.3 master key both ways (GCM: the first 12
 * bytes of its salt), so it can unprotect what it protects. */
static struct vej_srtp *
kat_session(enum vej_srtp_profile profile, struct ref_keys *rtp, struct ref_keys *rtcp)
{
    struct vej_srtp_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.profile = profile;
    g_assert_true(vej_srtp_profile_lengths(profile, &keys.key_len, &keys.salt_len));
    unhex(B3_MASTER_KEY, keys.local_key, sizeof keys.local_key);
    uint8_t salt[14];
    unhex(B3_MASTER_SALT, salt, sizeof salt);
    memcpy(keys.local_salt, salt, keys.salt_len);
    memcpy(keys.remote_key, keys.local_key, sizeof keys.remote_key);
    memcpy(keys.remote_salt, keys.local_salt, sizeof keys.remote_salt);
    ref_session_keys(profile, keys.local_key, keys.local_salt, false, rtp);
    ref_session_keys(profile, keys.local_key, keys.local_salt, true, rtcp);
    g_autoptr(GError) error = NULL;
    struct vej_srtp *srtp = vej_srtp_new(&keys, &error);
    g_assert_no_error(error);
    vej_srtp_keys_clear(&keys);
    return srtp;
}

/* Protect gives exactly the reference's bytes; unprotect gives the
 * packet back. */
static void
check_rtp(struct vej_srtp *srtp, enum vej_srtp_profile profile, const struct ref_keys *k,
          uint32_t roc, const uint8_t *pkt, size_t len)
{
    uint8_t buf[1600], want[1600];
    size_t want_len = ref_srtp(profile, k, roc, pkt, len, want);
    memcpy(buf, pkt, len);
    g_assert_cmpint(vej_srtp_protect_rtp(srtp, buf, &len, sizeof buf), ==, VEJ_SRTP_OK);
    g_assert_cmpmem(buf, len, want, want_len);
    g_assert_cmpint(vej_srtp_unprotect_rtp(srtp, want, &want_len), ==, VEJ_SRTP_OK);
    g_assert_cmpmem(want, want_len, pkt, want_len);
}

static void
test_kat(gconstpointer data)
{
    enum vej_srtp_profile profile = (enum vej_srtp_profile)GPOINTER_TO_INT(data);
    struct ref_keys rtp, rtcp;
    struct vej_srtp *srtp = kat_session(profile, &rtp, &rtcp);
    uint8_t pkt[1600], buf[1600], want[1600];

    /* libsrtp2's validation packet, then one with a CSRC and a one-byte
     * header extension (both outside the encryption, inside the AAD). */
    size_t len =
        unhex("800f1234 decafbad cafebabe abababab abababab abababab abababab", pkt, sizeof pkt);
    check_rtp(srtp, profile, &rtp, 0, pkt, len);
    len = unhex("916f1235 decafbb0 cafebabe 01020304 bede0001 10ff0000", pkt, sizeof pkt);
    for (size_t i = 0; i < 1000; i++)
        pkt[len++] = (uint8_t)(i * 31 + 7);
    check_rtp(srtp, profile, &rtp, 0, pkt, len);

    /* SRTCP: a receiver report; the index counts up from 1. */
    len = unhex("81c90007 aabbccdd 11223344 00000000 00001000 00000000 00000000 00000000", pkt,
                sizeof pkt);
    for (uint32_t index = 1; index <= 3; index++) {
        size_t n = len;
        memcpy(buf, pkt, len);
        g_assert_cmpint(vej_srtp_protect_rtcp(srtp, buf, &n, sizeof buf), ==, VEJ_SRTP_OK);
        size_t want_len = ref_srtcp(profile, &rtcp, index, pkt, len, want);
        g_assert_cmpmem(buf, n, want, want_len);
        g_assert_cmpint(vej_srtp_unprotect_rtcp(srtp, want, &want_len), ==, VEJ_SRTP_OK);
        g_assert_cmpmem(want, want_len, pkt, len);
    }
    vej_srtp_free(srtp);
}

/* Sequence numbers wrap 65535 -> 0: the rollover counter becomes 1 in the
 * IV (and, AES-CM, in the authenticated data) on both sides; a packet from
 * before the wrap is still recognised as a replay. */
static void
test_roc_rollover(gconstpointer data)
{
    enum vej_srtp_profile profile = (enum vej_srtp_profile)GPOINTER_TO_INT(data);
    struct ref_keys rtp, rtcp;
    struct vej_srtp *srtp = kat_session(profile, &rtp, &rtcp);
    uint8_t pkt[200], old[256];
    size_t old_len = 0;

    for (uint32_t i = 65530; i < 65536 + 6; i++) {
        uint16_t seq = (uint16_t)i;
        size_t len = unhex("8060 0000 00010000 5eed5eed", pkt, sizeof pkt);
        pkt[2] = (uint8_t)(seq >> 8);
        pkt[3] = (uint8_t)seq;
        for (size_t j = 0; j < 100; j++)
            pkt[len++] = (uint8_t)(j + i);
        check_rtp(srtp, profile, &rtp, i >> 16, pkt, len);
        if (seq == 65535) {
            old_len = ref_srtp(profile, &rtp, 0, pkt, len, old);
        }
    }
    g_assert_cmpint(vej_srtp_unprotect_rtp(srtp, old, &old_len), ==, VEJ_SRTP_EREPLAY);
    vej_srtp_free(srtp);
}

/* Our types pass libsrtp2's self-test (their published vectors), are
 * the ones in use, and a wrong vector is caught. */
static void
test_crypto_types(void)
{
    g_assert_true(vej_srtp_global_init(NULL));
    g_assert_cmpstr(vej_srtp_crypto_name(), ==, "openssl");
    const srtp_cipher_type_t *ciphers[] = {&vej__srtp_aes_icm_128, &vej__srtp_aes_icm_256,
                                           &vej__srtp_aes_gcm_128, &vej__srtp_aes_gcm_256};
    for (size_t i = 0; i < G_N_ELEMENTS(ciphers); i++)
        g_assert_cmpint(srtp_cipher_type_self_test(ciphers[i]), ==, srtp_err_status_ok);
    g_assert_cmpint(srtp_auth_type_self_test(&vej__srtp_hmac_sha1), ==, srtp_err_status_ok);

    for (size_t i = 0; i < G_N_ELEMENTS(ciphers); i++) {
        srtp_cipher_test_case_t bad = *ciphers[i]->test_data;
        uint8_t ciphertext[128];
        g_assert_cmpuint(bad.ciphertext_length_octets, <=, sizeof ciphertext);
        memcpy(ciphertext, bad.ciphertext, bad.ciphertext_length_octets);
        ciphertext[bad.ciphertext_length_octets - 1] ^= 0x01;
        bad.ciphertext = ciphertext;
        bad.next_test_case = NULL;
        g_assert_cmpint(srtp_cipher_type_test(ciphers[i], &bad), !=, srtp_err_status_ok);
    }
    srtp_auth_test_case_t bad = *vej__srtp_hmac_sha1.test_data;
    uint8_t tag[20];
    memcpy(tag, bad.tag, (size_t)bad.tag_length_octets);
    tag[0] ^= 0x80;
    bad.tag = tag;
    bad.next_test_case = NULL;
    g_assert_cmpint(srtp_auth_type_test(&vej__srtp_hmac_sha1, &bad), !=, srtp_err_status_ok);
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
    count_allocations();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/srtp/names", test_names);
    g_test_add_func("/srtp/bad-keys", test_bad_keys);
    g_test_add_func("/srtp/crypto-types", test_crypto_types);
    g_test_add_func("/srtp/kat/reference", test_reference);
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
        {"remove-stream", test_remove_stream}, {"replay-window", test_replay_window},
        {"repeat-tx", test_repeat_tx},         {"too-short", test_too_short},
        {"no-space", test_no_space},           {"malformed", test_malformed},
        {"no-alloc", test_no_alloc},
    };
    for (size_t p = 0; p < G_N_ELEMENTS(profiles); p++) {
        g_autofree char *kat = g_strdup_printf("/srtp/kat/%s", profiles[p].name);
        g_test_add_data_func(kat, GINT_TO_POINTER(profiles[p].profile), test_kat);
        g_autofree char *roc = g_strdup_printf("/srtp/%s/roc-rollover", profiles[p].name);
        g_test_add_data_func(roc, GINT_TO_POINTER(profiles[p].profile), test_roc_rollover);
        for (size_t t = 0; t < G_N_ELEMENTS(tests); t++) {
            g_autofree char *path = g_strdup_printf("/srtp/%s/%s", profiles[p].name, tests[t].name);
            g_test_add(path, struct ends, GINT_TO_POINTER(profiles[p].profile), ends_setup,
                       tests[t].fn, ends_teardown);
        }
    }
    return g_test_run();
}
