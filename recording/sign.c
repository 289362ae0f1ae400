/* sign.c - the Ed25519 signing key: generation, loading, sign, verify.
 *
 * Invariants: the private key file is created with O_EXCL and mode 0600
 * through a temporary name in the same directory, so a crash never leaves
 * a half-written key under the real name; an existing key file that group
 * or others may read is refused rather than silently used; key bytes are
 * never put in a log or an error message.
 */
#include "recording/sign.h"

#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* clang-format off */
G_DEFINE_QUARK(vej-evidence-error-quark, vej_evidence_error)
/* clang-format on */

struct vej_signer {
    EVP_PKEY *key;
    bool can_sign;
    char *public_pem;
    char fingerprint[VEJ_FINGERPRINT_HEX];
};

char *
vej_hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = g_malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

char *
vej_signer_default_path(const char *data_dir)
{
    return g_build_filename(data_dir, "secrets", "signing-key.pem", NULL);
}

static gboolean
ssl_error(GError **error, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_FAILED, "%s%s%s", what,
                *buf ? ": " : "", buf);
    return FALSE;
}

/* Fills the public PEM and the fingerprint from s->key. */
static gboolean
describe_public(vej_signer *s, GError **error)
{
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(s->key, &der);
    if (der_len <= 0)
        return ssl_error(error, "cannot encode the public key");
    uint8_t digest[32];
    unsigned int dlen = 0;
    int ok = EVP_Digest(der, (size_t)der_len, digest, &dlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (ok != 1 || dlen != 32)
        return ssl_error(error, "SHA-256 failed");
    g_autofree char *hex = vej_hex(digest, 32);
    memcpy(s->fingerprint, hex, VEJ_FINGERPRINT_HEX);

    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, s->key) != 1) {
        BIO_free(bio);
        return ssl_error(error, "cannot write the public key");
    }
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    s->public_pem = g_strndup(data, (gsize)n);
    BIO_free(bio);
    return TRUE;
}

static vej_signer *
signer_new(EVP_PKEY *key, bool can_sign, GError **error)
{
    if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "the key is not an Ed25519 key");
        return NULL;
    }
    vej_signer *s = g_new0(vej_signer, 1);
    s->key = key;
    s->can_sign = can_sign;
    if (!describe_public(s, error)) {
        vej_signer_free(s);
        return NULL;
    }
    return s;
}

void
vej_signer_free(vej_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->key);
    g_free(s->public_pem);
    g_free(s);
}

/* Generates a key and writes it to `path` atomically with mode 0600. */
static gboolean
generate_key_file(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", dir, g_strerror(e));
        return FALSE;
    }
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (key == NULL)
        return ssl_error(error, "cannot generate an Ed25519 key");
    BIO *bio = BIO_new(BIO_s_mem());
    gboolean ok = bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
        BIO_free(bio);
        return ssl_error(error, "cannot encode the key");
    }
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    g_autofree char *tmp = g_strdup_printf("%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = 0;
    if (fd < 0 || fchmod(fd, 0600) != 0 || !vej_file_write_all(fd, pem, (size_t)pem_len) ||
        fsync(fd) != 0)
        e = errno ? errno : EIO;
    OPENSSL_cleanse(pem, (size_t)pem_len);
    BIO_free(bio);
    if (fd >= 0 && close(fd) != 0 && e == 0)
        e = errno;
    /* link() refuses to replace a key another process made meanwhile. */
    if (e == 0 && link(tmp, path) != 0)
        e = errno;
    if (fd >= 0)
        (void)unlink(tmp);
    if (e == EEXIST)
        return TRUE; /* someone else made it: load theirs */
    if (e != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot write the key: %s",
                    path, g_strerror(e));
        return FALSE;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return TRUE;
}

vej_signer *
vej_signer_load(const char *path, gboolean create, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    struct stat st;
    if (lstat(path, &st) != 0) {
        int e = errno;
        if (e != ENOENT || !create) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                        g_strerror(e));
            return NULL;
        }
        if (!generate_key_file(path, error))
            return NULL;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_UNSAFE,
                    "%s: the signing key must be a regular file with mode 0600", path);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_FAILED, "%s: cannot read", path);
        return NULL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL) {
        ERR_clear_error();
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: not a PEM private key (PKCS#8)", path);
        return NULL;
    }
    vej_signer *s = signer_new(key, true, error);
    if (s == NULL)
        g_prefix_error(error, "%s: ", path);
    return s;
}

vej_signer *
vej_signer_from_public_pem(const char *pem, size_t len, GError **error)
{
    g_return_val_if_fail(pem != NULL, NULL);
    if (len > 16384) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "public key PEM too large");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (key == NULL) {
        ERR_clear_error();
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "not a PEM public key (SubjectPublicKeyInfo)");
        return NULL;
    }
    return signer_new(key, false, error);
}

bool
vej_signer_can_sign(const vej_signer *s)
{
    return s != NULL && s->can_sign;
}

const char *
vej_signer_public_pem(const vej_signer *s)
{
    return s->public_pem;
}

const char *
vej_signer_fingerprint(const vej_signer *s)
{
    return s->fingerprint;
}

gboolean
vej_signer_sign(const vej_signer *s, const void *data, size_t len, uint8_t sig[VEJ_SIGNATURE_SIZE],
                GError **error)
{
    g_return_val_if_fail(s != NULL && sig != NULL, FALSE);
    if (!s->can_sign) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_FAILED,
                    "no private key to sign with");
        return FALSE;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sig_len = VEJ_SIGNATURE_SIZE;
    gboolean ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) == 1 &&
                  EVP_DigestSign(ctx, sig, &sig_len, data, len) == 1 &&
                  sig_len == VEJ_SIGNATURE_SIZE;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ssl_error(error, "Ed25519 signing failed");
    return TRUE;
}

bool
vej_signer_verify(const vej_signer *s, const void *data, size_t len,
                  const uint8_t sig[VEJ_SIGNATURE_SIZE])
{
    if (s == NULL || sig == NULL)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, s->key) == 1 &&
              EVP_DigestVerify(ctx, sig, VEJ_SIGNATURE_SIZE, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
