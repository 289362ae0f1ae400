/* fuzz_token.c - vej_join_token_verify with a fixed key, and base64url.
 *
 * An input is verified as it stands. A mutated token almost never carries a
 * valid HMAC, so the claims checks behind the signature would stay out of
 * reach: an input with exactly one '.' ("HEADER.PAYLOAD", base64url) is
 * therefore also signed here with the fixed key and verified, which lets
 * the fuzzer explore the header and claims parsers directly. Invariants: a
 * valid token's claims are NUL-terminated and survive re-signing; base64url
 * decode accepts exactly what encode produces. */
#include "signalling/token.h"
#include "tests/fuzz/fuzz.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define NOW INT64_C(1700000000)
#define KID "fuzz-kid"

static const uint8_t key[32] = "vej-fuzz-key-0123456789abcdefghi";

static bool
terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void
verify_and_check(const char *token, size_t len)
{
    struct vej_join_claims claims, again;
    enum vej_token_status st =
        vej_join_token_verify(key, sizeof key, KID, token, len, NOW, &claims);
    char *resigned;

    CHECK(vej_token_status_str(st) != NULL);
    if (st != VEJ_TOKEN_OK) {
        CHECK(claims.iss[0] == '\0' && claims.nbf == 0 && claims.exp == 0);
        return;
    }
    CHECK(terminated(claims.iss, sizeof claims.iss) && terminated(claims.hid, sizeof claims.hid) &&
          terminated(claims.pid, sizeof claims.pid) && terminated(claims.role, sizeof claims.role));
    CHECK(claims.nbf < INT64_MIN + VEJ_TOKEN_LEEWAY_S || NOW >= claims.nbf - VEJ_TOKEN_LEEWAY_S);
    CHECK(claims.exp > INT64_MAX - VEJ_TOKEN_LEEWAY_S || NOW <= claims.exp + VEJ_TOKEN_LEEWAY_S);
    /* Re-signing may only fail for lack of room; otherwise it round-trips. */
    resigned = vej_join_token_sign(key, sizeof key, KID, &claims);
    if (resigned) {
        CHECK(vej_join_token_verify(key, sizeof key, KID, resigned, strlen(resigned), NOW,
                                    &again) == VEJ_TOKEN_OK);
        CHECK(memcmp(&claims, &again, sizeof claims) == 0);
        free(resigned);
    }
}

/* "HEADER.PAYLOAD" + "." + base64url(HS256(key, HEADER.PAYLOAD)). */
static void
sign_and_verify(const char *input, size_t len)
{
    uint8_t mac[32];
    unsigned int mac_len = 0;
    char *token;
    long w;

    if (len > VEJ_TOKEN_MAX_LEN)
        return;
    token = malloc(len + 1 + 44);
    CHECK(token != NULL);
    CHECK(HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)input, len, mac, &mac_len));
    memcpy(token, input, len);
    token[len] = '.';
    w = vej_b64url_encode(mac, mac_len, token + len + 1, 44);
    CHECK(w == 43);
    verify_and_check(token, len + 1 + 43);
    free(token);
}

static void
check_b64url(const uint8_t *data, size_t size)
{
    size_t cap = size / 3 * 4 + 5;
    uint8_t *bytes = malloc(size + 1);
    char *text = malloc(cap);
    long n, w;

    CHECK(bytes && text);
    n = vej_b64url_decode((const char *)data, size, bytes, size + 1);
    if (n >= 0) {
        w = vej_b64url_encode(bytes, (size_t)n, text, cap);
        CHECK(w == (long)size && memcmp(text, data, size) == 0);
    }
    w = vej_b64url_encode(data, size, text, cap);
    CHECK(w >= 0);
    n = vej_b64url_decode(text, (size_t)w, bytes, size + 1);
    CHECK(n == (long)size && memcmp(bytes, data, size) == 0);
    free(bytes);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    verify_and_check(text, size);
    if (size > 0 && memchr(data, '.', size) != NULL) {
        const char *dot = memchr(data, '.', size);
        if (memchr(dot + 1, '.', size - (size_t)(dot + 1 - text)) == NULL)
            sign_and_verify(text, size);
    }
    check_b64url(data, size);
    return 0;
}
