/* srtp-hmac.c - HMAC-SHA1 for libsrtp2 with no heap allocation per packet;
 * see srtp-priv.h.
 *
 * OpenSSL 3.0's ways of restarting a keyed hash allocate: re-initialising
 * an EVP_MAC_CTX costs 3 allocations, EVP_MD_CTX_copy_ex 1 (it frees and
 * duplicates the provider's digest context), measured per packet on
 * Debian 12's 3.0. HMAC(K, m) = H((K^opad) || H((K^ipad) || m)): both
 * hashes start from a state that depends on the key only, so we compute
 * those two SHA-1 states once per key and copy them, as plain structs, for
 * every packet. That needs the low-level SHA1_* API, which 3.0 deprecates
 * but still ships (SHA_CTX and the same assembler as EVP's SHA-1): hence
 * OPENSSL_SUPPRESS_DEPRECATED, defined for this file only, which uses
 * nothing else deprecated. Should a later OpenSSL copy digest contexts
 * without allocating, EVP_MD_CTX_copy_ex could replace it (re-measure). */

#define OPENSSL_SUPPRESS_DEPRECATED

#include "gateway/transport/srtp-priv.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#define SHA1_BLOCK 64

struct hmac {
    srtp_auth_t auth;    /* what alloc hands to libsrtp2; state points here */
    SHA_CTX inner_start; /* after the block K ^ ipad */
    SHA_CTX outer_start; /* after the block K ^ opad */
    SHA_CTX inner;       /* the packet being authenticated */
};

/* out_len (the tag) is at most a SHA-1 digest; keys of any length
 * (RFC 2104: longer than a block are hashed first). SRTP uses 20. */
static srtp_err_status_t
hmac_alloc(srtp_auth_pointer_t *out, int key_len, int out_len)
{
    if (key_len < 0 || out_len < 0 || out_len > SHA_DIGEST_LENGTH)
        return srtp_err_status_bad_param;
    struct hmac *hmac = g_try_new0(struct hmac, 1);
    if (hmac == NULL)
        return srtp_err_status_alloc_fail;
    hmac->auth.type = &vej__srtp_hmac_sha1;
    hmac->auth.state = hmac;
    hmac->auth.out_len = out_len;
    hmac->auth.key_len = key_len;
    hmac->auth.prefix_len = 0;
    *out = &hmac->auth;
    return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_dealloc(srtp_auth_pointer_t auth)
{
    struct hmac *hmac = auth->state;
    OPENSSL_cleanse(hmac, sizeof *hmac);
    g_free(hmac);
    return srtp_err_status_ok;
}

/* Computes the keyed inner and outer starting states; also starts a
 * packet, as libsrtp2's own HMAC does. */
static srtp_err_status_t
hmac_init(void *state, const uint8_t *key, int key_len)
{
    struct hmac *hmac = state;
    uint8_t hashed[SHA_DIGEST_LENGTH];
    uint8_t ipad[SHA1_BLOCK], opad[SHA1_BLOCK];

    if (key_len < 0)
        return srtp_err_status_bad_param;
    if (key_len > SHA1_BLOCK) {
        SHA1(key, (size_t)key_len, hashed);
        key = hashed;
        key_len = SHA_DIGEST_LENGTH;
    }
    memset(ipad, 0x36, sizeof ipad);
    memset(opad, 0x5c, sizeof opad);
    for (int i = 0; i < key_len; i++) {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
    int ok = SHA1_Init(&hmac->inner_start) && SHA1_Update(&hmac->inner_start, ipad, sizeof ipad) &&
             SHA1_Init(&hmac->outer_start) && SHA1_Update(&hmac->outer_start, opad, sizeof opad);
    OPENSSL_cleanse(hashed, sizeof hashed);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    if (!ok)
        return srtp_err_status_init_fail;
    hmac->inner = hmac->inner_start;
    return srtp_err_status_ok;
}

/* Starts a packet. */
static srtp_err_status_t
hmac_start(void *state)
{
    struct hmac *hmac = state;
    hmac->inner = hmac->inner_start;
    return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_update(void *state, const uint8_t *message, int len)
{
    struct hmac *hmac = state;

    if (len < 0)
        return srtp_err_status_bad_param;
    if (!SHA1_Update(&hmac->inner, message, (size_t)len))
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

/* Hashes the last `len` bytes of the packet and writes the first tag_len
 * bytes of the HMAC to `tag`; the next packet starts afresh even without
 * a start call. */
static srtp_err_status_t
hmac_compute(void *state, const uint8_t *message, int len, int tag_len, uint8_t *tag)
{
    struct hmac *hmac = state;
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA_CTX outer;

    if (len < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH)
        return srtp_err_status_bad_param;
    outer = hmac->outer_start;
    int ok = SHA1_Update(&hmac->inner, message, (size_t)len) && SHA1_Final(digest, &hmac->inner) &&
             SHA1_Update(&outer, digest, sizeof digest) && SHA1_Final(digest, &outer);
    if (ok)
        memcpy(tag, digest, (size_t)tag_len);
    hmac->inner = hmac->inner_start;
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(&outer, sizeof outer);
    return ok ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

/* ---- known answers: RFC 2202 section 3, test cases 1, 2, 3, 5 (the
 * tag truncated to 10 bytes, as SRTP's) and 6 (a key longer than a
 * block). ---- */

/* clang-format off */
static const uint8_t key_0b[20] = {
    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t key_0c[20] = {
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
};
static const uint8_t key_aa[80] = {
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static const uint8_t data_dd[50] = {
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
};
static const uint8_t tag_1[20] = {
    0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
    0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const uint8_t tag_2[20] = {
    0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
    0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
};
static const uint8_t tag_3[20] = {
    0x12, 0x5d, 0x73, 0x42, 0xb9, 0xac, 0x11, 0xcd, 0x91, 0xa3,
    0x9a, 0xf4, 0x8a, 0xa1, 0x7b, 0x4f, 0x63, 0xf1, 0x75, 0xd3,
};
static const uint8_t tag_5[10] = {
    0x4c, 0x1a, 0x03, 0x42, 0x4b, 0x55, 0xe0, 0x7f, 0xe7, 0xf2,
};
static const uint8_t tag_6[20] = {
    0xaa, 0x4a, 0xe5, 0xe1, 0x52, 0x72, 0xd0, 0x0e, 0x95, 0x70,
    0x56, 0x37, 0xce, 0x8a, 0x3b, 0x55, 0xed, 0x40, 0x21, 0x12,
};
/* clang-format on */

#define HMAC_TEST(key_, key_len_, data_, data_len_, tag_, next_)                                   \
    {                                                                                              \
        .key_length_octets = key_len_, .key = key_, .data_length_octets = data_len_,               \
        .data = (const uint8_t *)(data_), .tag_length_octets = sizeof tag_, .tag = tag_,           \
        .next_test_case = next_,                                                                   \
    }
/* The data as a string literal, without its NUL. */
#define HMAC_TEXT_TEST(key_, key_len_, text_, tag_, next_)                                         \
    HMAC_TEST(key_, key_len_, text_, (int)(sizeof(text_) - 1), tag_, next_)

static const srtp_auth_test_case_t hmac_test_6 = HMAC_TEXT_TEST(
    key_aa, 80, "Test Using Larger Than Block-Size Key - Hash Key First", tag_6, NULL);
static const srtp_auth_test_case_t hmac_test_5 =
    HMAC_TEXT_TEST(key_0c, 20, "Test With Truncation", tag_5, &hmac_test_6);
/* Key: 20 bytes of 0xaa, the start of key_aa. */
static const srtp_auth_test_case_t hmac_test_3 =
    HMAC_TEST(key_aa, 20, data_dd, (int)sizeof data_dd, tag_3, &hmac_test_5);
static const srtp_auth_test_case_t hmac_test_2 =
    HMAC_TEXT_TEST((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", tag_2, &hmac_test_3);
static const srtp_auth_test_case_t hmac_test_1 =
    HMAC_TEXT_TEST(key_0b, 20, "Hi There", tag_1, &hmac_test_2);

const srtp_auth_type_t vej__srtp_hmac_sha1 = {
    .alloc = hmac_alloc,
    .dealloc = hmac_dealloc,
    .init = hmac_init,
    .compute = hmac_compute,
    .update = hmac_update,
    .start = hmac_start,
    .description = "HMAC-SHA1 (VEJ, OpenSSL SHA-1 with precomputed pads)",
    .test_data = &hmac_test_1,
    .id = SRTP_HMAC_SHA1,
};
