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

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/signalling/totp/rfc6238", test_rfc6238);
    g_test_add_func("/signalling/totp/parse", test_parse);
    g_test_add_func("/signalling/totp/base32", test_base32);
    return g_test_run();
}
