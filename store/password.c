/* password.c - staff password hashing with scrypt (OpenSSL).
 *
 * New hashes use N = 2^15, r = 8, p = 1 (about 32 MiB and 100 ms), a
 * 16-byte random salt and a 32-byte output. Stored hashes carry their own
 * parameters, parsed within bounds (ln 10..20, r 1..16, p 1..4) so that the
 * defaults can be raised later without invalidating existing accounts.
 */
#include "store/password.h"
#include "store/store.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define DEFAULT_LN 15
#define DEFAULT_R 8
#define DEFAULT_P 1
#define SALT_LEN 16
#define HASH_LEN 32
#define SALT_B64_LEN 22 /* unpadded base64 of 16 bytes */
#define HASH_B64_LEN 43 /* unpadded base64 of 32 bytes */
#define MIN_PASSWORD_CHARS 12
#define MAX_PASSWORD_BYTES 1024
/* OpenSSL refuses N = 2^15, r = 8 under its 32 MB default; 64 MiB is the
 * floor, and stronger stored parameters get what they need. */
#define MAXMEM_FLOOR (64u * 1024 * 1024)

struct scrypt_params {
    unsigned ln, r, p;
};

static const struct scrypt_params default_params = {DEFAULT_LN, DEFAULT_R, DEFAULT_P};

/* Memory scrypt needs: V (128 * r * N) and B (128 * r * p), plus slack for
 * OpenSSL's own accounting. Fits in 64 bits for every accepted parameter. */
static uint64_t
scrypt_maxmem(const struct scrypt_params *params)
{
    uint64_t need =
        128ull * params->r * ((1ull << params->ln) + 2) + 128ull * params->r * params->p;
    need += 1024 * 1024;
    return need > MAXMEM_FLOOR ? need : MAXMEM_FLOOR;
}

static bool
derive(const char *password, const uint8_t *salt, size_t salt_len,
       const struct scrypt_params *params, uint8_t out[HASH_LEN])
{
    return EVP_PBE_scrypt(password, strlen(password), salt, salt_len, 1ull << params->ln, params->r,
                          params->p, scrypt_maxmem(params), out, HASH_LEN) == 1;
}

/* Standard base64 without '=' padding. */
static char *
b64_unpadded(const uint8_t *data, size_t len)
{
    char *s = g_base64_encode(data, len);
    char *pad = strchr(s, '=');
    if (pad != NULL)
        *pad = '\0';
    return s;
}

/* Decodes exactly `len` bytes from `text` (unpadded standard base64 of the
 * canonical length); anything else, including non-canonical trailing bits,
 * is refused. */
static bool
b64_decode_exact(const char *text, size_t text_len, uint8_t *out, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (text_len != (len * 4 + 2) / 3)
        return false;
    for (size_t i = 0; i < text_len; i++) {
        if (text[i] == '\0' || strchr(alphabet, text[i]) == NULL)
            return false;
    }
    /* g_base64_decode() wants padding: give it the missing quantum's. */
    static const char *const padding[4] = {"", "", "==", "="};
    g_autofree char *padded = g_strdup_printf("%.*s%s", (int)text_len, text, padding[text_len % 4]);
    gsize got = 0;
    g_autofree guchar *bytes = g_base64_decode(padded, &got);
    if (got != len)
        return false;
    g_autofree char *again = b64_unpadded(bytes, got);
    if (strlen(again) != text_len || memcmp(again, text, text_len) != 0)
        return false;
    memcpy(out, bytes, len);
    return true;
}

/* Reads "name=<decimal>" at *p within [min, max], advancing *p. */
static bool
parse_param(const char **p, const char *name, unsigned min, unsigned max, unsigned *value)
{
    size_t name_len = strlen(name);
    if (strncmp(*p, name, name_len) != 0 || (*p)[name_len] != '=')
        return false;
    const char *digits = *p + name_len + 1;
    unsigned v = 0;
    size_t n = 0;
    /* At most two digits: every bound is below 100, and no leading zeros. */
    while (n < 3 && g_ascii_isdigit(digits[n])) {
        v = v * 10 + (unsigned)(digits[n] - '0');
        n++;
    }
    if (n == 0 || n > 2 || (n == 2 && digits[0] == '0') || v < min || v > max)
        return false;
    *value = v;
    *p = digits + n;
    return true;
}

/* Parses "$scrypt$ln=L,r=R,p=P$<salt>$<hash>". */
static bool
parse_encoded(const char *encoded, struct scrypt_params *params, uint8_t salt[SALT_LEN],
              uint8_t hash[HASH_LEN])
{
    const char *p = encoded;
    static const char prefix[] = "$scrypt$";

    if (strncmp(p, prefix, sizeof prefix - 1) != 0)
        return false;
    p += sizeof prefix - 1;
    if (!parse_param(&p, "ln", 10, 20, &params->ln) || *p++ != ',' ||
        !parse_param(&p, "r", 1, 16, &params->r) || *p++ != ',' ||
        !parse_param(&p, "p", 1, 4, &params->p) || *p++ != '$')
        return false;
    const char *dollar = strchr(p, '$');
    if (dollar == NULL)
        return false;
    if (!b64_decode_exact(p, (size_t)(dollar - p), salt, SALT_LEN))
        return false;
    p = dollar + 1;
    return b64_decode_exact(p, strlen(p), hash, HASH_LEN);
}

char *
vej_password_hash(const char *password, GError **error)
{
    g_return_val_if_fail(password != NULL, NULL);
    uint8_t salt[SALT_LEN], hash[HASH_LEN];

    if (RAND_bytes(salt, sizeof salt) != 1) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "password hashing: the random generator failed");
        return NULL;
    }
    if (!derive(password, salt, sizeof salt, &default_params, hash)) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "password hashing: scrypt failed");
        return NULL;
    }
    g_autofree char *salt_b64 = b64_unpadded(salt, sizeof salt);
    g_autofree char *hash_b64 = b64_unpadded(hash, sizeof hash);
    OPENSSL_cleanse(hash, sizeof hash);
    return g_strdup_printf("$scrypt$ln=%u,r=%u,p=%u$%s$%s", default_params.ln, default_params.r,
                           default_params.p, salt_b64, hash_b64);
}

bool
vej_password_verify(const char *password, const char *encoded)
{
    g_return_val_if_fail(password != NULL, false);
    struct scrypt_params params;
    uint8_t salt[SALT_LEN], expected[HASH_LEN], got[HASH_LEN];

    if (encoded == NULL) {
        /* Unknown user: spend the same time as a real check, then refuse. */
        static const uint8_t dummy_salt[SALT_LEN] = "vej-dummy-salt!";
        (void)derive(password, dummy_salt, sizeof dummy_salt, &default_params, got);
        OPENSSL_cleanse(got, sizeof got); /* the answer is no, whatever scrypt said */
        return false;
    }
    if (!parse_encoded(encoded, &params, salt, expected))
        return false;
    if (!derive(password, salt, sizeof salt, &params, got))
        return false;
    bool ok = CRYPTO_memcmp(got, expected, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

const char *
vej_password_check_policy(const char *password)
{
    if (password == NULL)
        return "a password is required";
    if (strnlen(password, MAX_PASSWORD_BYTES + 1) > MAX_PASSWORD_BYTES)
        return "the password is longer than 1024 bytes";
    if (!g_utf8_validate(password, -1, NULL))
        return "the password is not valid UTF-8";
    if (g_utf8_strlen(password, -1) < MIN_PASSWORD_CHARS)
        return "the password is shorter than 12 characters";
    return NULL;
}
