/* totp.c - RFC 6238 TOTP and RFC 4648 base32 (see totp.h).
 *
 * Invariants: codes are compared without early exit (every candidate step
 * is computed and compared); a code is six digits, nothing else is parsed
 * as one; base32 input with trailing non-zero bits is refused so that one
 * secret has one text.
 */
#include "signalling/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

long
vej_base32_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t need = (n * 8 + 4) / 5 + 1, o = 0;
    if (cap < need)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (long)o;
}

static int
value_of(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

long
vej_base32_decode(const char *in, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        int v = value_of(*p);
        if (v < 0)
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (bits >= 5 || acc != 0)
        return -1; /* a dangling character, or non-zero padding bits */
    return (long)o;
}

uint32_t
vej_totp_code(const uint8_t *key, size_t key_len, uint64_t step)
{
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(step & 0xff);
        step >>= 8;
    }
    if (!HMAC(EVP_sha1(), key, (int)key_len, msg, sizeof msg, mac, &mac_len) || mac_len < 20)
        return UINT32_MAX; /* never equal to a parsed code */
    unsigned off = mac[mac_len - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    OPENSSL_cleanse(mac, sizeof mac);
    return bin % 1000000u;
}

bool
vej_totp_parse(const char *text, uint32_t *code)
{
    uint32_t v = 0;
    size_t n = 0;
    for (; text && text[n]; n++) {
        if (n >= VEJ_TOTP_DIGITS || text[n] < '0' || text[n] > '9')
            return false;
        v = v * 10 + (uint32_t)(text[n] - '0');
    }
    if (n != VEJ_TOTP_DIGITS)
        return false;
    *code = v;
    return true;
}

int64_t
vej_totp_match(const uint8_t *key, size_t key_len, int64_t now, uint32_t code)
{
    if (now < VEJ_TOTP_PERIOD_S)
        return -1;
    int64_t here = now / VEJ_TOTP_PERIOD_S, found = -1;
    for (int64_t step = here - 1; step <= here + 1; step++) {
        uint32_t c = vej_totp_code(key, key_len, (uint64_t)step);
        uint32_t diff = c ^ code;
        /* no early exit: the same work whichever step matches */
        bool eq = diff == 0;
        if (eq && found < 0)
            found = step;
    }
    return found;
}

/* ---- secrets at rest ---- */

#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_SECRET_MAX 64

bool
vej_totp_is_sealed(const char *text)
{
    return text && strncmp(text, VEJ_TOTP_SEALED_PREFIX, strlen(VEJ_TOTP_SEALED_PREFIX)) == 0;
}

/* AES-256-GCM one way or the other over n bytes; tag is written when
 * sealing and checked when opening. */
static bool
gcm(bool seal, const uint8_t key[32], const uint8_t nonce[SEAL_NONCE], const char *account,
    const uint8_t *in, int n, uint8_t *out, uint8_t tag[SEAL_TAG])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok =
        ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) == 1 &&
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) == 1 &&
        EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)account, (int)strlen(account)) == 1 &&
        EVP_CipherUpdate(ctx, out, &len, in, n) == 1 && len == n &&
        (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1) &&
        EVP_CipherFinal_ex(ctx, out + len, &fin) == 1 && fin == 0 &&
        (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

long
vej_totp_seal(const uint8_t key[32], const char *account, const char *secret, char *out, size_t cap)
{
    size_t n = strlen(secret), prefix = strlen(VEJ_TOTP_SEALED_PREFIX);
    uint8_t raw[SEAL_NONCE + SEAL_SECRET_MAX + SEAL_TAG];
    size_t raw_len = SEAL_NONCE + n + SEAL_TAG;
    if (n > SEAL_SECRET_MAX || cap < prefix + 4 * ((raw_len + 2) / 3) + 1)
        return -1;
    bool ok =
        RAND_bytes(raw, SEAL_NONCE) == 1 && gcm(true, key, raw, account, (const uint8_t *)secret,
                                                (int)n, raw + SEAL_NONCE, raw + SEAL_NONCE + n);
    if (ok) {
        memcpy(out, VEJ_TOTP_SEALED_PREFIX, prefix);
        EVP_EncodeBlock((unsigned char *)out + prefix, raw, (int)raw_len);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return ok ? (long)strlen(out) : -1;
}

long
vej_totp_open(const uint8_t key[32], const char *account, const char *sealed, char *out, size_t cap)
{
    if (!vej_totp_is_sealed(sealed))
        return -1;
    const char *b64 = sealed + strlen(VEJ_TOTP_SEALED_PREFIX);
    size_t b64_len = strlen(b64);
    uint8_t raw[SEAL_NONCE + SEAL_SECRET_MAX + SEAL_TAG + 3];
    /* Whole base64 quanta, the raw size of a secret of 1..64 characters. */
    if (b64_len % 4 != 0 || b64_len / 4 * 3 > sizeof raw)
        return -1;
    int got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)b64_len);
    int pad = b64_len >= 1 && b64[b64_len - 1] == '='
                  ? (b64_len >= 2 && b64[b64_len - 2] == '=' ? 2 : 1)
                  : 0;
    long n = got < 0 ? -1 : (long)got - pad - SEAL_NONCE - SEAL_TAG;
    long ret = -1;
    if (n >= 1 && n <= SEAL_SECRET_MAX && (size_t)n < cap &&
        gcm(false, key, raw, account, raw + SEAL_NONCE, (int)n, (uint8_t *)out,
            raw + SEAL_NONCE + n)) {
        out[n] = '\0';
        ret = n;
    } else if (cap > 0) {
        OPENSSL_cleanse(out, cap);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return ret;
}
