/* Unit tests for store/password.c. Each default-cost hash takes ~100 ms, so
 * only four are computed; the rest use stored hashes with cheap
 * parameters. */
#include "store/password.h"

#include <string.h>

#define PASSWORD "correct horse battery staple"

/* Reference hashes computed independently with Python's hashlib.scrypt
 * (OpenSSL underneath, but through its own encoding code). */
static const char vector_default[] =
    "$scrypt$ln=15,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$eo40JB24mNWRdcaWU4xBdGepdf/laQaEJfFhiNMVnFg";
static const char vector_cheap[] =
    "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU";
static const char vector_params[] =
    "$scrypt$ln=11,r=4,p=2$ZGVmZ2hpamtsbW5vcHFycw$EbX+A1HJG890DxEmEeGD20oOYMIdwbJcScJavpk7eFc";
static const char vector_params_password[] = "Zo\xc3\xab's p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93";

static void
test_roundtrip(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *encoded = vej_password_hash(PASSWORD, &error);
    g_assert_no_error(error);
    g_assert_nonnull(encoded);

    /* "$scrypt$ln=15,r=8,p=1$" + 22 salt characters + "$" + 43 hash characters. */
    g_assert_true(g_str_has_prefix(encoded, "$scrypt$ln=15,r=8,p=1$"));
    g_auto(GStrv) parts = g_strsplit(encoded, "$", -1);
    g_assert_cmpuint(g_strv_length(parts), ==, 5);
    g_assert_cmpstr(parts[0], ==, "");
    g_assert_cmpstr(parts[1], ==, "scrypt");
    g_assert_cmpstr(parts[2], ==, "ln=15,r=8,p=1");
    g_assert_cmpuint(strlen(parts[3]), ==, 22);
    g_assert_cmpuint(strlen(parts[4]), ==, 43);
    g_assert_null(strchr(parts[3], '='));
    g_assert_null(strchr(parts[4], '='));

    g_assert_true(vej_password_verify(PASSWORD, encoded));
}

static void
test_vectors(void)
{
    g_assert_true(vej_password_verify(PASSWORD, vector_default));
    g_assert_true(vej_password_verify(PASSWORD, vector_cheap));
    g_assert_true(vej_password_verify(vector_params_password, vector_params));
}

static void
test_wrong_password(void)
{
    g_assert_false(vej_password_verify("correct horse battery stapl", vector_cheap));
    g_assert_false(vej_password_verify("correct horse battery staple ", vector_cheap));
    g_assert_false(vej_password_verify("", vector_cheap));
    g_assert_false(vej_password_verify(PASSWORD, vector_params));
}

static void
test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "$scrypt$",
        "$scrypt$ln=10,r=8,p=1$",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$",
        "$2b$10$abcdefghijklmnopqrstuv",
        "$SCRYPT$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        /* parameters out of bounds or badly written */
        "$scrypt$ln=9,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=21,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=0,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=17,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8,p=0$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8,p=5$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=010,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=+10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln= 10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=-1,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=99999999999999999999,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArV",
        "$scrypt$r=8,ln=10,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10;r=8;p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        /* salt and hash encodings */
        /* clang-format off */
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        /* clang-format on */
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODx$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0O$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlR",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU=",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD*$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S_AXJlRU",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU$",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU ",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (vej_password_verify(PASSWORD, bad[i]))
            g_error("accepted malformed hash %zu: %s", i, bad[i]);
    }
}

static void
test_unknown_user(void)
{
    /* No stored hash: refused, after about as much work as a real check. */
    gint64 start = g_get_monotonic_time();
    g_assert_false(vej_password_verify(PASSWORD, NULL));
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 5000);
}

static void
test_policy(void)
{
    g_assert_nonnull(vej_password_check_policy(NULL));
    g_assert_nonnull(vej_password_check_policy(""));
    g_assert_nonnull(vej_password_check_policy("elevenchars"));
    g_assert_null(vej_password_check_policy("twelve chars"));
    /* Characters, not bytes: 11 three-byte characters are too few, 12 are
     * enough. */
    g_assert_nonnull(vej_password_check_policy(
        "\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc"
        "\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc"));
    g_assert_null(vej_password_check_policy(
        "\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc"
        "\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc\xe8\xa8\xbc"));
    g_assert_nonnull(vej_password_check_policy("valid prefix \xff\xfe then junk"));
    g_assert_nonnull(vej_password_check_policy("overlong \xc0\xaf slash!"));

    g_autofree char *max = g_strnfill(1024, 'a');
    g_assert_null(vej_password_check_policy(max));
    g_autofree char *over = g_strnfill(1025, 'a');
    g_assert_nonnull(vej_password_check_policy(over));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/store/password/roundtrip", test_roundtrip);
    g_test_add_func("/store/password/vectors", test_vectors);
    g_test_add_func("/store/password/wrong-password", test_wrong_password);
    g_test_add_func("/store/password/malformed", test_malformed);
    g_test_add_func("/store/password/unknown-user", test_unknown_user);
    g_test_add_func("/store/password/policy", test_policy);
    return g_test_run();
}
