/* Unit tests for recording/sign.c: key generation (mode 0600), reload,
 * sign/verify, fingerprint = SHA-256 of the DER SubjectPublicKeyInfo,
 * verify-only keys, refusal of a world-readable key file. */
#include "recording/sign.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>

static char *
tmpdir(void)
{
    g_autoptr(GError) error = NULL;
    char *d = g_dir_make_tmp("vej-sign-XXXXXX", &error);
    g_assert_no_error(error);
    return d;
}

static void
rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(cmd), ==, 0);
}

static void
test_generate_and_reload(void)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *path = vej_signer_default_path(dir);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_signer) s = vej_signer_load(path, TRUE, &error);
    g_assert_no_error(error);
    g_assert_true(vej_signer_can_sign(s));
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_autofree char *secrets = g_path_get_dirname(path);
    g_assert_cmpint(stat(secrets, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);

    /* reloading gives the same key */
    g_autoptr(vej_signer) again = vej_signer_load(path, FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vej_signer_fingerprint(s), ==, vej_signer_fingerprint(again));
    g_assert_cmpint(strlen(vej_signer_fingerprint(s)), ==, 64);

    /* sign, verify, tamper */
    const char msg[] = "manifest bytes";
    uint8_t sig[VEJ_SIGNATURE_SIZE];
    g_assert_true(vej_signer_sign(s, msg, sizeof msg - 1, sig, &error));
    g_assert_true(vej_signer_verify(again, msg, sizeof msg - 1, sig));
    g_assert_false(vej_signer_verify(again, msg, sizeof msg - 2, sig));
    sig[10] ^= 1;
    g_assert_false(vej_signer_verify(again, msg, sizeof msg - 1, sig));
    sig[10] ^= 1;

    /* the public PEM gives a verify-only key with the same fingerprint */
    const char *pem = vej_signer_public_pem(s);
    g_assert_true(g_str_has_prefix(pem, "-----BEGIN PUBLIC KEY-----"));
    g_autoptr(vej_signer) pub = vej_signer_from_public_pem(pem, strlen(pem), &error);
    g_assert_no_error(error);
    g_assert_false(vej_signer_can_sign(pub));
    g_assert_cmpstr(vej_signer_fingerprint(pub), ==, vej_signer_fingerprint(s));
    g_assert_true(vej_signer_verify(pub, msg, sizeof msg - 1, sig));
    uint8_t sig2[VEJ_SIGNATURE_SIZE];
    g_assert_false(vej_signer_sign(pub, msg, 1, sig2, &error));
    g_clear_error(&error);

    /* fingerprint = sha256(DER SPKI), computed independently */
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    g_assert_cmpint(n, ==, 44); /* Ed25519 SPKI */
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, der, n);
    g_assert_cmpstr(g_checksum_get_string(ck), ==, vej_signer_fingerprint(s));
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    BIO_free(bio);

    /* another key does not verify */
    g_autofree char *other_path = g_build_filename(dir, "other.pem", NULL);
    g_autoptr(vej_signer) other = vej_signer_load(other_path, TRUE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vej_signer_fingerprint(other), !=, vej_signer_fingerprint(s));
    g_assert_false(vej_signer_verify(other, msg, sizeof msg - 1, sig));
    rm_rf(dir);
}

static void
test_refusals(void)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *path = g_build_filename(dir, "key.pem", NULL);
    g_autoptr(GError) error = NULL;
    /* missing without create */
    g_assert_null(vej_signer_load(path, FALSE, &error));
    g_clear_error(&error);
    /* world-readable */
    g_autoptr(vej_signer) s = vej_signer_load(path, TRUE, &error);
    g_assert_no_error(error);
    g_assert_true(vej_signer_can_sign(s));
    g_assert_cmpint(chmod(path, 0644), ==, 0);
    g_assert_null(vej_signer_load(path, FALSE, &error));
    g_assert_nonnull(strstr(error->message, "0600"));
    g_clear_error(&error);
    /* garbage */
    g_assert_cmpint(chmod(path, 0600), ==, 0);
    g_assert_true(g_file_set_contents(path, "not a key", -1, NULL));
    g_assert_cmpint(chmod(path, 0600), ==, 0);
    g_assert_null(vej_signer_load(path, FALSE, &error));
    g_clear_error(&error);
    g_assert_null(vej_signer_from_public_pem("garbage", 7, &error));
    g_clear_error(&error);
    rm_rf(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sign/generate-reload", test_generate_and_reload);
    g_test_add_func("/sign/refusals", test_refusals);
    return g_test_run();
}
