/* Unit tests for signalling/totp.c: RFC 6238 and RFC 4648 vectors. */
#include "signalling/totp.h"

#include <glib.h>
#include <string.h>

static const uint8_t rfc_key[] = "12345678901234567890"; /* RFC 6238 appendix B, SHA-1 */

static void
test_rfc6238(void)
{
    /* The RFC's 8-digit values, taken modulo 10^6. */
    static const struct {
        int64_t t;
        uint32_t code;
    } v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
             {1234567890, 5924}, {2000000000, 279037}, {20000000000, 353130}};
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        uint64_t step = (uint64_t)v[i].t / VEJ_TOTP_PERIOD_S;
        g_assert_cmpuint(vej_totp_code(rfc_key, 20, step), ==, v[i].code);
        g_assert_cmpint(vej_totp_match(rfc_key, 20, v[i].t, v[i].code), ==, (int64_t)step);
        /* one step either side is accepted, two are not */
        g_assert_cmpint(vej_totp_match(rfc_key, 20, v[i].t + 30, v[i].code), ==, (int64_t)step);
        g_assert_cmpint(vej_totp_match(rfc_key, 20, v[i].t + 61, v[i].code), ==, -1);
    }
    g_assert_cmpint(vej_totp_match(rfc_key, 20, 1111111109, 81805), ==, -1);
}

static void
test_parse(void)
{
    uint32_t c = 0;
    g_assert_true(vej_totp_parse("081804", &c));
    g_assert_cmpuint(c, ==, 81804);
    const char *bad[] = {"", "12345", "1234567", "12345a", " 12345", "-12345", "１２３４５６"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        g_assert_false(vej_totp_parse(bad[i], &c));
    g_assert_false(vej_totp_parse(NULL, &c));
}

static void
test_base32(void)
{
    /* RFC 4648 section 10, without padding */
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",        "MY",       "MZXQ",      "MZXW6",
                                      "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
        char text[32];
        uint8_t back[32];
        g_assert_cmpint(vej_base32_encode((const uint8_t *)in[i], strlen(in[i]), text, sizeof text),
                        ==, (long)strlen(out[i]));
        g_assert_cmpstr(text, ==, out[i]);
        g_assert_cmpint(vej_base32_decode(out[i], back, sizeof back), ==, (long)strlen(in[i]));
        g_assert_true(memcmp(back, in[i], strlen(in[i])) == 0);
    }
    uint8_t b[8];
    g_assert_cmpint(vej_base32_decode("mzxw6", b, sizeof b), ==, 3);
    g_assert_cmpint(vej_base32_decode("MZXW7", b, sizeof b), ==, -1); /* trailing bits */
    g_assert_cmpint(vej_base32_decode("MZ1W6", b, sizeof b), ==, -1);
    g_assert_cmpint(vej_base32_decode("M", b, sizeof b), ==, -1);
    g_assert_cmpint(vej_base32_decode("MZXW6YTBOI", b, 2), ==, -1);
    char small[4];
    g_assert_cmpint(vej_base32_encode((const uint8_t *)"foo", 3, small, sizeof small), ==, -1);
}

/* Secrets at rest: a round trip, and nothing opens that was not sealed for
 * that account under that key. */
static void
test_sealed(void)
{
    uint8_t key[32], other[32];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    const char *secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    char sealed[VEJ_TOTP_SEALED_MAX], again[VEJ_TOTP_SEALED_MAX], out[VEJ_TOTP_SEALED_MAX];
    long n = vej_totp_seal(key, "usr_a", secret, sealed, sizeof sealed);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(n, ==, (long)strlen(sealed));
    g_assert_true(vej_totp_is_sealed(sealed));
    g_assert_false(vej_totp_is_sealed(secret));
    g_assert_null(strstr(sealed, secret));
    /* a fresh nonce each time */
    g_assert_cmpint(vej_totp_seal(key, "usr_a", secret, again, sizeof again), ==, n);
    g_assert_cmpstr(sealed, !=, again);
    g_assert_cmpint(vej_totp_open(key, "usr_a", sealed, out, sizeof out), ==, (long)strlen(secret));
    g_assert_cmpstr(out, ==, secret);
    g_assert_cmpint(vej_totp_open(key, "usr_a", again, out, sizeof out), ==, (long)strlen(secret));
    /* another account, another key, the clear text, a short buffer */
    g_assert_cmpint(vej_totp_open(key, "usr_b", sealed, out, sizeof out), ==, -1);
    g_assert_cmpint(vej_totp_open(other, "usr_a", sealed, out, sizeof out), ==, -1);
    g_assert_cmpint(vej_totp_open(key, "usr_a", secret, out, sizeof out), ==, -1);
    g_assert_cmpint(vej_totp_open(key, "usr_a", sealed, out, strlen(secret)), ==, -1);
    /* every character changed, and every truncation */
    for (size_t i = 0; i < (size_t)n; i++) {
        char t[VEJ_TOTP_SEALED_MAX];
        g_strlcpy(t, sealed, sizeof t);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        g_assert_cmpint(vej_totp_open(key, "usr_a", t, out, sizeof out), ==, -1);
        g_strlcpy(t, sealed, i + 1);
        g_assert_cmpint(vej_totp_open(key, "usr_a", t, out, sizeof out), ==, -1);
    }
    /* bounds of the sealer */
    char long_secret[66];
    memset(long_secret, 'A', 65);
    long_secret[65] = '\0';
    g_assert_cmpint(vej_totp_seal(key, "usr_a", long_secret, sealed, sizeof sealed), ==, -1);
    g_assert_cmpint(vej_totp_seal(key, "usr_a", secret, sealed, 20), ==, -1);
    long_secret[64] = '\0';
    n = vej_totp_seal(key, "usr_a", long_secret, sealed, sizeof sealed);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(vej_totp_open(key, "usr_a", sealed, out, sizeof out), ==, 64);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/signalling/totp/rfc6238", test_rfc6238);
    g_test_add_func("/signalling/totp/parse", test_parse);
    g_test_add_func("/signalling/totp/base32", test_base32);
    g_test_add_func("/signalling/totp/sealed", test_sealed);
    return g_test_run();
}
