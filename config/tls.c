/* tls.c - the self-signed certificate made on first start when no
 * certificate is configured. */
#include "config/config.h"
#include "config/config-priv.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ASN1_INTEGER, ASN1_INTEGER_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_EXTENSION, X509_EXTENSION_free)

#define VALIDITY_DAYS 365

/* Sets an error naming `what` and OpenSSL's first queued reason. */
static gboolean
ssl_error(GError **error, const char *what)
{
    unsigned long code = ERR_get_error();
    char reason[256] = "unknown error";
    if (code != 0)
        ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO,
                "self-signed certificate: %s failed: %s", what, reason);
    return FALSE;
}

/* 16 random bytes, top bit clear: a positive serial as RFC 5280 asks. */
static gboolean
set_random_serial(X509 *cert, GError **error)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return ssl_error(error, "RAND_bytes");
    raw[0] &= 0x7f;
    raw[0] |= 0x01; /* never all-zero leading byte: the length stays 16 */
    g_autoptr(BIGNUM) bn = BN_bin2bn(raw, sizeof raw, NULL);
    if (bn == NULL)
        return ssl_error(error, "BN_bin2bn");
    g_autoptr(ASN1_INTEGER) serial = BN_to_ASN1_INTEGER(bn, NULL);
    if (serial == NULL)
        return ssl_error(error, "BN_to_ASN1_INTEGER");
    if (X509_set_serialNumber(cert, serial) != 1)
        return ssl_error(error, "X509_set_serialNumber");
    return TRUE;
}

static gboolean
set_name_and_validity(X509 *cert, GError **error)
{
    X509_NAME *name = X509_get_subject_name(cert);
    if (name == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"VEJ Gateway",
                                   -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1)
        return ssl_error(error, "X509_NAME_add_entry_by_txt");
    if (X509_set_issuer_name(cert, name) != 1)
        return ssl_error(error, "X509_set_issuer_name");
    /* A minute of slack for clocks that are a little behind. */
    if (X509_gmtime_adj(X509_getm_notBefore(cert), -60) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), (long)VALIDITY_DAYS * 24 * 3600) == NULL)
        return ssl_error(error, "X509_gmtime_adj");
    return TRUE;
}

static gboolean
add_extensions(X509 *cert, GError **error)
{
    static const struct {
        int nid;
        const char *value;
    } exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
    };
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(exts); i++) {
        g_autoptr(X509_EXTENSION) ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        if (ext == NULL)
            return ssl_error(error, "X509V3_EXT_conf_nid");
        if (X509_add_ext(cert, ext, -1) != 1)
            return ssl_error(error, "X509_add_ext");
    }
    return TRUE;
}

static X509 *
make_certificate(EVP_PKEY *key, GError **error)
{
    g_autoptr(X509) cert = X509_new();
    if (cert == NULL) {
        ssl_error(error, "X509_new");
        return NULL;
    }
    if (X509_set_version(cert, X509_VERSION_3) != 1) {
        ssl_error(error, "X509_set_version");
        return NULL;
    }
    if (!set_random_serial(cert, error) || !set_name_and_validity(cert, error))
        return NULL;
    if (X509_set_pubkey(cert, key) != 1) {
        ssl_error(error, "X509_set_pubkey");
        return NULL;
    }
    if (!add_extensions(cert, error))
        return NULL;
    if (X509_sign(cert, key, EVP_sha256()) <= 0) {
        ssl_error(error, "X509_sign");
        return NULL;
    }
    return g_steal_pointer(&cert);
}

/* PEM text of the key (PKCS#8) or of the certificate, (transfer full). */
static GBytes *
to_pem(EVP_PKEY *key, X509 *cert, GError **error)
{
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        ssl_error(error, "BIO_new");
        return NULL;
    }
    int ok = key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_X509(bio, cert);
    if (ok != 1) {
        ssl_error(error, key != NULL ? "PEM_write_bio_PrivateKey" : "PEM_write_bio_X509");
        return NULL;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == NULL) {
        ssl_error(error, "BIO_get_mem_data");
        return NULL;
    }
    GBytes *pem = g_bytes_new(data, (gsize)len);
    /* The key's PEM stays in the memory BIO's buffer: wipe it. */
    OPENSSL_cleanse(data, (size_t)len);
    return pem;
}

static gboolean
ensure_parent(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: cannot create: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean
vej_tls_ensure_self_signed(const char *cert_path, const char *key_path, GError **error)
{
    gboolean have_cert = g_file_test(cert_path, G_FILE_TEST_EXISTS);
    gboolean have_key = g_file_test(key_path, G_FILE_TEST_EXISTS);
    if (have_cert && have_key)
        return TRUE;
    if (have_cert || have_key) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO,
                    "%s exists but %s does not: provide both, or remove %s to have a "
                    "self-signed pair made",
                    have_cert ? cert_path : key_path, have_cert ? key_path : cert_path,
                    have_cert ? cert_path : key_path);
        return FALSE;
    }
    if (!ensure_parent(cert_path, error) || !ensure_parent(key_path, error))
        return FALSE;

    g_autoptr(EVP_PKEY) key = EVP_EC_gen("P-256");
    if (key == NULL)
        return ssl_error(error, "EVP_EC_gen");
    g_autoptr(X509) cert = make_certificate(key, error);
    if (cert == NULL)
        return FALSE;
    g_autoptr(GBytes) key_pem = to_pem(key, NULL, error);
    if (key_pem == NULL)
        return FALSE;
    g_autoptr(GBytes) cert_pem = to_pem(NULL, cert, error);
    if (cert_pem == NULL)
        return FALSE;

    /* The key first: a crash in between leaves a key without a certificate,
     * which the next start reports instead of serving a mismatched pair. */
    gsize key_len = 0;
    const void *key_data = g_bytes_get_data(key_pem, &key_len);
    gboolean ok = vej__write_file_new(key_path, key_data, key_len, 0600, error);
    OPENSSL_cleanse((void *)key_data, key_len);
    if (!ok)
        return FALSE;
    gsize cert_len = 0;
    const void *cert_data = g_bytes_get_data(cert_pem, &cert_len);
    return vej__write_file_new(cert_path, cert_data, cert_len, 0644, error);
}
