/* token.c - join tokens (compact JWS, HS256) and opaque tokens.
 *
 * Verification order: length cap, three parts, canonical base64url of every
 * part (decoded, re-encoded and compared byte for byte), the header
 * (byte for byte {"alg":"HS256","typ":"JWT","kid":"<kid>"}, as PROTOCOL.md
 * says "exactly": another member order, whitespace or escaping is refused,
 * so only headers this gateway could have written pass), the signature (constant-time
 * compare), and only then the claims and times. Claims this module does not
 * know are ignored, as RFC 7519 section 4 asks; the ones it knows must have
 * their exact types. The caller checks the participant row (removed, ver)
 * and the formats of hid, pid and role.
 *
 * A kid is 1..64 characters of [A-Za-z0-9._-] (it then needs no JSON
 * escaping, so the signed header is byte for byte the documented one):
 * signing with another kid returns NULL, verifying against one refuses the
 * token with VEJ_TOKEN_BAD_HEADER.
 */
#include "signalling/token.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS256_LEN 32
#define KID_MAX 64
#define AUDIENCE "vej-join"
/* Room for any decoded part of a token under VEJ_TOKEN_MAX_LEN. */
#define PART_MAX (VEJ_TOKEN_MAX_LEN / 4 * 3 + 3)

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- base64url -------------------------------------------------------- */

static size_t
b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

long
vej_b64url_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    size_t len, o = 0, i = 0;

    if ((!in && n > 0) || !out || n > (size_t)LONG_MAX / 4 * 3 - 3)
        return -1;
    len = b64url_encoded_len(n);
    if (out_cap < len + 1)
        return -1;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return (long)o;
}

/* The 6-bit value of a base64url character, or -1. */
static int
b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long
vej_b64url_decode(const char *in, size_t n, uint8_t *out, size_t out_cap)
{
    size_t len, o = 0, i = 0;
    uint32_t v = 0;
    int bits = 0;

    if ((!in && n > 0) || (!out && n > 0) || n % 4 == 1 || n > (size_t)LONG_MAX)
        return -1;
    len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (out_cap < len)
        return -1;
    for (; i < n; i++) {
        int d = b64url_value(in[i]);
        if (d < 0)
            return -1;
        v = (v << 6 | (uint32_t)d) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    /* Canonical form: the bits left over after the last byte are zero. */
    if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)o;
}

/* ---- opaque tokens, hashes, ids --------------------------------------- */

bool
vej_opaque_token_new(char out[44])
{
    uint8_t raw[32];
    long n;

    if (RAND_bytes(raw, sizeof raw) != 1) {
        out[0] = '\0';
        return false;
    }
    n = vej_b64url_encode(raw, sizeof raw, out, 44);
    OPENSSL_cleanse(raw, sizeof raw);
    return n == 43;
}

void
vej_token_hash(const char *token, size_t len, uint8_t out[32])
{
    /* The signature has no way to report a failure, and a stored hash that
     * silently matched a failed computation would be worse than stopping:
     * SHA256() fails only when OpenSSL itself is unusable. */
    if (SHA256((const unsigned char *)(token ? token : ""), token ? len : 0, out) == NULL)
        abort();
}

bool
vej_id_valid(const char *id, const char *prefix)
{
    size_t plen, n;

    if (!id || !prefix)
        return false;
    plen = strlen(prefix);
    if (strncmp(id, prefix, plen) != 0)
        return false;
    id += plen;
    for (n = 0; id[n] != '\0'; n++) {
        if (n >= 64 || !((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= '0' && id[n] <= '9')))
            return false;
    }
    return n >= 1;
}

/* ---- join tokens ------------------------------------------------------ */

const char *
vej_token_status_str(enum vej_token_status s)
{
    switch (s) {
    case VEJ_TOKEN_OK:
        return "valid";
    case VEJ_TOKEN_MALFORMED:
        return "malformed token";
    case VEJ_TOKEN_BAD_HEADER:
        return "unsupported token header";
    case VEJ_TOKEN_BAD_SIGNATURE:
        return "bad token signature";
    case VEJ_TOKEN_BAD_CLAIMS:
        return "bad token claims";
    case VEJ_TOKEN_NOT_YET_VALID:
        return "token not yet valid";
    case VEJ_TOKEN_EXPIRED:
        return "token expired";
    }
    return "unknown token status";
}

/* See the top of the file. */
static bool
kid_valid(const char *kid)
{
    size_t n;

    if (!kid)
        return false;
    for (n = 0; kid[n] != '\0'; n++) {
        char c = kid[n];
        if (n >= KID_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n >= 1;
}

static bool
hs256(const uint8_t *key, size_t key_len, const char *data, size_t n, uint8_t mac[HS256_LEN])
{
    unsigned int mac_len = 0;

    if (!key || key_len == 0 || key_len > INT_MAX)
        return false;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, n, mac, &mac_len))
        return false;
    return mac_len == HS256_LEN;
}

/* Appends base64url(data) to buf at *pos (capacity cap, keeps a NUL). */
static bool
append_b64url(char *buf, size_t cap, size_t *pos, const void *data, size_t n)
{
    long w = vej_b64url_encode(data, n, buf + *pos, cap - *pos);

    if (w < 0)
        return false;
    *pos += (size_t)w;
    return true;
}

/* The claims as compact JSON (malloc'd), or NULL when a string field is not
 * NUL-terminated inside its array or is not UTF-8. */
static char *
claims_json(const struct vej_join_claims *c)
{
    json_t *obj;
    char *text;

    if (!memchr(c->iss, '\0', sizeof c->iss) || !memchr(c->hid, '\0', sizeof c->hid) ||
        !memchr(c->pid, '\0', sizeof c->pid) || !memchr(c->role, '\0', sizeof c->role))
        return NULL;
    obj = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", AUDIENCE, "iss", c->iss, "hid",
                    c->hid, "pid", c->pid, "role", c->role, "nbf", (json_int_t)c->nbf, "exp",
                    (json_int_t)c->exp, "ver", (json_int_t)c->ver);
    if (!obj)
        return NULL;
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

char *
vej_join_token_sign(const uint8_t *key, size_t key_len, const char *kid,
                    const struct vej_join_claims *claims)
{
    char header[sizeof "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"\"}" + KID_MAX];
    uint8_t mac[HS256_LEN];
    char *payload, *token = NULL;
    size_t pos = 0, cap = VEJ_TOKEN_MAX_LEN + 1;
    int hlen;

    if (!claims || !kid_valid(kid))
        return NULL;
    hlen =
        snprintf(header, sizeof header, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    if (hlen < 0 || (size_t)hlen >= sizeof header)
        return NULL;
    payload = claims_json(claims);
    if (!payload)
        return NULL;
    token = malloc(cap);
    if (!token || !append_b64url(token, cap, &pos, header, (size_t)hlen) || pos + 1 >= cap)
        goto fail;
    token[pos++] = '.';
    if (!append_b64url(token, cap, &pos, payload, strlen(payload)) || pos + 1 >= cap)
        goto fail;
    if (!hs256(key, key_len, token, pos, mac))
        goto fail;
    token[pos++] = '.';
    if (!append_b64url(token, cap, &pos, mac, sizeof mac))
        goto fail;
    free(payload);
    OPENSSL_cleanse(mac, sizeof mac);
    return token;
fail:
    free(payload);
    free(token);
    OPENSSL_cleanse(mac, sizeof mac);
    return NULL;
}

/* Decodes one part and insists that it is canonical: re-encoding the bytes
 * gives back exactly the text (this repeats the decoder's own checks on
 * padding, alphabet and trailing bits, as a second line). */
static long
decode_part(const char *text, size_t n, uint8_t *out, size_t cap)
{
    char again[VEJ_TOKEN_MAX_LEN + 1];
    long len = vej_b64url_decode(text, n, out, cap);

    if (len < 0)
        return -1;
    if (vej_b64url_encode(out, (size_t)len, again, sizeof again) != (long)n ||
        memcmp(again, text, n) != 0)
        return -1;
    return len;
}

/* Parses a decoded part as one JSON object, refusing duplicate keys and
 * "\u0000". Returns NULL when it is not exactly that. */
static json_t *
part_object(const uint8_t *bytes, size_t n)
{
    json_t *obj = json_loadb((const char *)bytes, n, JSON_REJECT_DUPLICATES, NULL);

    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static enum vej_token_status
check_header(const uint8_t *bytes, size_t n, const char *kid)
{
    json_t *header = part_object(bytes, n);
    char expected[sizeof "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"\"}" + KID_MAX];
    int len;

    if (!header)
        return VEJ_TOKEN_MALFORMED;
    json_decref(header);
    len = snprintf(expected, sizeof expected, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                   kid);
    if (len < 0 || (size_t)len >= sizeof expected || (size_t)len != n ||
        memcmp(expected, bytes, n) != 0)
        return VEJ_TOKEN_BAD_HEADER;
    return VEJ_TOKEN_OK;
}

/* Copies a string claim into dst (capacity cap, NUL included). */
static bool
copy_string_claim(const json_t *claims, const char *name, char *dst, size_t cap)
{
    const json_t *v = json_object_get(claims, name);
    size_t n;

    if (!json_is_string(v))
        return false;
    n = json_string_length(v);
    if (n >= cap)
        return false;
    memcpy(dst, json_string_value(v), n + 1);
    return true;
}

static bool
copy_int_claim(const json_t *claims, const char *name, int64_t *dst)
{
    const json_t *v = json_object_get(claims, name);

    if (!json_is_integer(v))
        return false;
    *dst = (int64_t)json_integer_value(v);
    return true;
}

static enum vej_token_status
check_claims(const uint8_t *bytes, size_t n, int64_t now, struct vej_join_claims *out)
{
    json_t *claims = part_object(bytes, n);
    const json_t *aud;
    bool ok;

    if (!claims)
        return VEJ_TOKEN_MALFORMED;
    aud = json_object_get(claims, "aud");
    ok = json_is_string(aud) && json_string_length(aud) == strlen(AUDIENCE) &&
         strcmp(json_string_value(aud), AUDIENCE) == 0 &&
         copy_string_claim(claims, "iss", out->iss, sizeof out->iss) &&
         copy_string_claim(claims, "hid", out->hid, sizeof out->hid) &&
         copy_string_claim(claims, "pid", out->pid, sizeof out->pid) &&
         copy_string_claim(claims, "role", out->role, sizeof out->role) &&
         /* A link carries no display name (whoever holds it could read
          * it); a token that does is one of the old kind: refused. */
         !json_object_get(claims, "name") && copy_int_claim(claims, "nbf", &out->nbf) &&
         copy_int_claim(claims, "exp", &out->exp) && copy_int_claim(claims, "ver", &out->ver);
    json_decref(claims);
    if (!ok)
        return VEJ_TOKEN_BAD_CLAIMS;
    /* now < nbf - leeway and now > exp + leeway, without overflow. */
    if (out->nbf > INT64_MIN + VEJ_TOKEN_LEEWAY_S && now < out->nbf - VEJ_TOKEN_LEEWAY_S)
        return VEJ_TOKEN_NOT_YET_VALID;
    if (out->exp < INT64_MAX - VEJ_TOKEN_LEEWAY_S && now > out->exp + VEJ_TOKEN_LEEWAY_S)
        return VEJ_TOKEN_EXPIRED;
    return VEJ_TOKEN_OK;
}

/* Verifies the parts of a token split at its two dots. */
static enum vej_token_status
verify_parts(const uint8_t *key, size_t key_len, const char *kid, const char *token, size_t dot1,
             size_t dot2, size_t len, int64_t now, struct vej_join_claims *out)
{
    uint8_t buf[PART_MAX], mac[HS256_LEN];
    long n;
    enum vej_token_status st;
    bool sig_ok;

    n = decode_part(token, dot1, buf, sizeof buf);
    if (n < 0)
        return VEJ_TOKEN_MALFORMED;
    st = check_header(buf, (size_t)n, kid);
    if (st != VEJ_TOKEN_OK)
        return st;
    n = decode_part(token + dot2 + 1, len - dot2 - 1, buf, sizeof buf);
    if (n < 0)
        return VEJ_TOKEN_MALFORMED;
    sig_ok = n == HS256_LEN && hs256(key, key_len, token, dot2, mac) &&
             CRYPTO_memcmp(mac, buf, HS256_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (!sig_ok)
        return VEJ_TOKEN_BAD_SIGNATURE;
    n = decode_part(token + dot1 + 1, dot2 - dot1 - 1, buf, sizeof buf);
    if (n < 0)
        return VEJ_TOKEN_MALFORMED;
    return check_claims(buf, (size_t)n, now, out);
}

enum vej_token_status
vej_join_token_verify(const uint8_t *key, size_t key_len, const char *kid, const char *token,
                      size_t token_len, int64_t now, struct vej_join_claims *out)
{
    struct vej_join_claims claims;
    size_t dot1 = 0, dot2 = 0, dots = 0;
    enum vej_token_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!token || token_len == 0 || token_len > VEJ_TOKEN_MAX_LEN)
        return VEJ_TOKEN_MALFORMED;
    if (!kid_valid(kid))
        return VEJ_TOKEN_BAD_HEADER;
    for (size_t i = 0; i < token_len; i++) {
        if (token[i] != '.')
            continue;
        if (++dots == 1)
            dot1 = i;
        else
            dot2 = i;
    }
    if (dots != 2)
        return VEJ_TOKEN_MALFORMED;
    memset(&claims, 0, sizeof claims);
    st = verify_parts(key, key_len, kid, token, dot1, dot2, token_len, now, &claims);
    if (st == VEJ_TOKEN_OK && out)
        *out = claims;
    return st;
}

bool
vej_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = out_len;
    bool ok = ctx && ikm_len > 0 && EVP_PKEY_derive_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
              (salt_len == 0 || EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)salt_len) > 0) &&
              EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikm_len) > 0 &&
              (info_len == 0 || EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)info_len) > 0) &&
              EVP_PKEY_derive(ctx, out, &len) > 0 && len == out_len;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        OPENSSL_cleanse(out, out_len);
    return ok;
}
