/* srtp-crypto.c - AES-ICM and AES-GCM for libsrtp2 on OpenSSL 3.0, and the
 * registration of all our types; see srtp-priv.h.
 *
 * Each cipher object owns one EVP_CIPHER_CTX, keyed in init (once per
 * session key). Per packet only the IV changes: EVP_CipherInit_ex2 with a
 * NULL cipher and key keeps the key schedule and, measured on Debian 12's
 * OpenSSL 3.0, allocates nothing (neither does GCM's AAD, update, final or
 * tag control).
 *
 * A failed EVP call can leave entries on the calling thread's OpenSSL
 * error queue; the worker's next SSL_get_error would read them as a DTLS
 * failure, so every failure path here clears the queue (evp_failed). */

#include "gateway/transport/srtp-priv.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "gateway/transport/srtp.h"

#define AES_BLOCK 16
#define ICM_SALT_LEN 14
/* libsrtp2's own AES-ICM keeps its block counter in the IV's low 16 bits
 * and refuses to wrap it; OpenSSL's CTR would carry into the packet index
 * instead. Same limit here: 2^16 blocks per IV. */
#define ICM_MAX_BYTES_PER_IV (65536u * AES_BLOCK)
#define GCM_SALT_LEN 12
#define GCM_MAX_TAG_LEN 16

static srtp_err_status_t
evp_failed(srtp_err_status_t status)
{
    ERR_clear_error();
    return status;
}

/* ---- AES-ICM: RFC 3711 section 4.1.1 ----
 *
 * counter = (salt || 0x0000) XOR iv, where srtp.c's iv is
 * 0^32 || SSRC || packet index || 0^16 (and the KDF's is the label and
 * index): the low 16 bits count blocks within the packet. */

struct icm {
    srtp_cipher_t cipher; /* what alloc hands to libsrtp2; state points here */
    EVP_CIPHER_CTX *ctx;
    EVP_CIPHER *aes; /* AES-128-CTR or AES-256-CTR */
    int key_size;
    bool keyed;
    uint8_t salt[AES_BLOCK]; /* the 14-byte salt, then two zero bytes */
    size_t used;             /* keystream bytes since the last set_iv */
};

static void
icm_free(struct icm *icm)
{
    EVP_CIPHER_CTX_free(icm->ctx); /* wipes the key schedule */
    EVP_CIPHER_free(icm->aes);
    OPENSSL_cleanse(icm, sizeof *icm);
    g_free(icm);
}

/* key_len includes the salt: 30 (AES-128) or 46 (AES-256). */
static srtp_err_status_t
icm_alloc(srtp_cipher_pointer_t *out, int key_len, int tag_len)
{
    const srtp_cipher_type_t *type;
    const char *name;
    int key_size;

    (void)tag_len;
    if (key_len == 16 + ICM_SALT_LEN) {
        type = &vej__srtp_aes_icm_128;
        name = "AES-128-CTR";
        key_size = 16;
    } else if (key_len == 32 + ICM_SALT_LEN) {
        type = &vej__srtp_aes_icm_256;
        name = "AES-256-CTR";
        key_size = 32;
    } else {
        return srtp_err_status_bad_param;
    }
    struct icm *icm = g_try_new0(struct icm, 1);
    if (icm == NULL)
        return srtp_err_status_alloc_fail;
    icm->aes = EVP_CIPHER_fetch(NULL, name, NULL);
    icm->ctx = EVP_CIPHER_CTX_new();
    if (icm->aes == NULL || icm->ctx == NULL) {
        icm_free(icm);
        return evp_failed(srtp_err_status_alloc_fail);
    }
    icm->key_size = key_size;
    icm->cipher.type = type;
    icm->cipher.state = icm;
    icm->cipher.key_len = key_len;
    icm->cipher.algorithm = type->id;
    *out = &icm->cipher;
    return srtp_err_status_ok;
}

static srtp_err_status_t
icm_dealloc(srtp_cipher_pointer_t cipher)
{
    icm_free(cipher->state);
    return srtp_err_status_ok;
}

/* `key` is the AES key followed by the 14-byte salt. Leaves the counter at
 * the salt, as a set_iv of zeros would. */
static srtp_err_status_t
icm_init(void *state, const uint8_t *key)
{
    struct icm *icm = state;

    memcpy(icm->salt, key + icm->key_size, ICM_SALT_LEN);
    memset(icm->salt + ICM_SALT_LEN, 0, sizeof icm->salt - ICM_SALT_LEN);
    /* A NULL cipher re-keys the existing provider context. */
    if (EVP_EncryptInit_ex2(icm->ctx, icm->keyed ? NULL : icm->aes, key, icm->salt, NULL) != 1)
        return evp_failed(srtp_err_status_init_fail);
    icm->keyed = true;
    icm->used = 0;
    return srtp_err_status_ok;
}

/* Counter mode is its own inverse: the direction does not matter. */
static srtp_err_status_t
icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t direction)
{
    struct icm *icm = state;
    uint8_t counter[AES_BLOCK];

    (void)direction;
    for (size_t i = 0; i < AES_BLOCK; i++)
        counter[i] = icm->salt[i] ^ iv[i];
    int ok = EVP_EncryptInit_ex2(icm->ctx, NULL, NULL, counter, NULL);
    OPENSSL_cleanse(counter, sizeof counter);
    if (ok != 1)
        return evp_failed(srtp_err_status_cipher_fail);
    icm->used = 0;
    return srtp_err_status_ok;
}

/* XORs the next *len bytes of keystream into buf (encrypt and decrypt). */
static srtp_err_status_t
icm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct icm *icm = state;
    int out = 0;

    if (*len == 0)
        return srtp_err_status_ok;
    if (*len > ICM_MAX_BYTES_PER_IV - icm->used)
        return srtp_err_status_terminus;
    if (EVP_EncryptUpdate(icm->ctx, buf, &out, buf, (int)*len) != 1 || out != (int)*len)
        return evp_failed(srtp_err_status_cipher_fail);
    icm->used += *len;
    return srtp_err_status_ok;
}

/* ---- AES-GCM: RFC 7714 ----
 *
 * libsrtp2 calls, per packet: set_iv (12 bytes, already salted), set_aad
 * once or more, then encrypt + get_tag, or decrypt over ciphertext||tag.
 * After the tag the object needs a new set_iv: GCM must never encrypt
 * twice under one IV. */

struct gcm {
    srtp_cipher_t cipher; /* what alloc hands to libsrtp2; state points here */
    EVP_CIPHER_CTX *ctx;
    EVP_CIPHER *aes; /* AES-128-GCM or AES-256-GCM */
    int tag_len;
    bool keyed;
    srtp_cipher_direction_t direction; /* srtp_direction_any: no IV set */
};

static void
gcm_free(struct gcm *gcm)
{
    EVP_CIPHER_CTX_free(gcm->ctx);
    EVP_CIPHER_free(gcm->aes);
    OPENSSL_cleanse(gcm, sizeof *gcm);
    g_free(gcm);
}

/* key_len includes the 12-byte salt: 28 (AES-128) or 44 (AES-256);
 * tag_len is 8 or 16, as libsrtp2's GCM policies. */
static srtp_err_status_t
gcm_alloc(srtp_cipher_pointer_t *out, int key_len, int tag_len)
{
    const srtp_cipher_type_t *type;
    const char *name;

    if (key_len == 16 + GCM_SALT_LEN) {
        type = &vej__srtp_aes_gcm_128;
        name = "AES-128-GCM";
    } else if (key_len == 32 + GCM_SALT_LEN) {
        type = &vej__srtp_aes_gcm_256;
        name = "AES-256-GCM";
    } else {
        return srtp_err_status_bad_param;
    }
    if (tag_len != 8 && tag_len != GCM_MAX_TAG_LEN)
        return srtp_err_status_bad_param;
    struct gcm *gcm = g_try_new0(struct gcm, 1);
    if (gcm == NULL)
        return srtp_err_status_alloc_fail;
    gcm->aes = EVP_CIPHER_fetch(NULL, name, NULL);
    gcm->ctx = EVP_CIPHER_CTX_new();
    if (gcm->aes == NULL || gcm->ctx == NULL) {
        gcm_free(gcm);
        return evp_failed(srtp_err_status_alloc_fail);
    }
    gcm->tag_len = tag_len;
    gcm->direction = srtp_direction_any;
    gcm->cipher.type = type;
    gcm->cipher.state = gcm;
    gcm->cipher.key_len = key_len;
    gcm->cipher.algorithm = type->id;
    *out = &gcm->cipher;
    return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_dealloc(srtp_cipher_pointer_t cipher)
{
    gcm_free(cipher->state);
    return srtp_err_status_ok;
}

/* `key` starts with the AES key; the salt after it is srtp.c's business
 * (it salts the IV itself). */
static srtp_err_status_t
gcm_init(void *state, const uint8_t *key)
{
    struct gcm *gcm = state;

    gcm->direction = srtp_direction_any;
    if (EVP_CipherInit_ex2(gcm->ctx, gcm->keyed ? NULL : gcm->aes, key, NULL, 1, NULL) != 1)
        return evp_failed(srtp_err_status_init_fail);
    gcm->keyed = true;
    return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t direction)
{
    struct gcm *gcm = state;

    gcm->direction = srtp_direction_any;
    if (direction != srtp_direction_encrypt && direction != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    /* 12 bytes: the context's default GCM IV length. */
    if (EVP_CipherInit_ex2(gcm->ctx, NULL, NULL, iv, direction == srtp_direction_encrypt, NULL) !=
        1)
        return evp_failed(srtp_err_status_cipher_fail);
    gcm->direction = direction;
    return srtp_err_status_ok;
}

/* Adds to the AAD; only before the payload. */
static srtp_err_status_t
gcm_set_aad(void *state, const uint8_t *aad, uint32_t aad_len)
{
    struct gcm *gcm = state;
    int out = 0;

    if (gcm->direction == srtp_direction_any)
        return srtp_err_status_bad_param;
    if (aad_len == 0)
        return srtp_err_status_ok;
    if (aad_len > INT_MAX)
        return srtp_err_status_bad_param;
    if (EVP_CipherUpdate(gcm->ctx, NULL, &out, aad, (int)aad_len) != 1)
        return evp_failed(srtp_err_status_cipher_fail);
    return srtp_err_status_ok;
}

/* Encrypts buf[0..*len) in place; buf may be NULL when *len is 0 (an
 * SRTCP packet sent unencrypted: the tag covers the AAD only). */
static srtp_err_status_t
gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct gcm *gcm = state;
    int out = 0;

    if (gcm->direction != srtp_direction_encrypt)
        return srtp_err_status_bad_param;
    if (*len == 0)
        return srtp_err_status_ok;
    if (*len > INT_MAX)
        return srtp_err_status_bad_param;
    if (EVP_CipherUpdate(gcm->ctx, buf, &out, buf, (int)*len) != 1 || out != (int)*len)
        return evp_failed(srtp_err_status_cipher_fail);
    return srtp_err_status_ok;
}

/* After encrypt: writes the tag to `tag` and its length to *len. */
static srtp_err_status_t
gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
    struct gcm *gcm = state;
    uint8_t rest[AES_BLOCK]; /* GCM's final writes nothing; room anyway */
    int out = 0;

    if (gcm->direction != srtp_direction_encrypt)
        return srtp_err_status_bad_param;
    gcm->direction = srtp_direction_any;
    if (EVP_CipherFinal_ex(gcm->ctx, rest, &out) != 1 ||
        EVP_CIPHER_CTX_ctrl(gcm->ctx, EVP_CTRL_AEAD_GET_TAG, gcm->tag_len, tag) != 1)
        return evp_failed(srtp_err_status_cipher_fail);
    *len = (uint32_t)gcm->tag_len;
    return srtp_err_status_ok;
}

/* buf[0..*len) is the ciphertext followed by the tag. Decrypts in place
 * and verifies; on success *len loses the tag. On srtp_err_status_auth_fail
 * the buffer holds unauthenticated plaintext: the caller drops it. */
static srtp_err_status_t
gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct gcm *gcm = state;
    uint8_t rest[AES_BLOCK];
    int out = 0;

    if (gcm->direction != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    gcm->direction = srtp_direction_any;
    if (*len < (unsigned int)gcm->tag_len || *len > INT_MAX)
        return srtp_err_status_bad_param;
    int n = (int)*len - gcm->tag_len;
    /* OpenSSL copies the expected tag now; decrypting cannot clobber it. */
    if (EVP_CIPHER_CTX_ctrl(gcm->ctx, EVP_CTRL_AEAD_SET_TAG, gcm->tag_len, buf + n) != 1)
        return evp_failed(srtp_err_status_cipher_fail);
    if (n > 0 && (EVP_CipherUpdate(gcm->ctx, buf, &out, buf, n) != 1 || out != n))
        return evp_failed(srtp_err_status_cipher_fail);
    if (EVP_CipherFinal_ex(gcm->ctx, rest, &out) != 1)
        return evp_failed(srtp_err_status_auth_fail);
    *len = (unsigned int)n;
    return srtp_err_status_ok;
}

/* ---- known answers ----
 *
 * AES-ICM: RFC 3711 appendix B.2 (AES-128 keystream, counters ...0000 and
 * ...FEFF) and RFC 6188 section 7.1 (AES-256). Plaintext zeros: the
 * ciphertext is the keystream.
 * AES-GCM: RFC 7714 sections 16.1 / 16.2 (SRTP) and 17.1 / 17.2 (SRTCP),
 * AES-128 and AES-256: session key || session salt, the IV the RFC derives
 * from salt, SSRC and index, the RTP header (SRTCP: header and E||index)
 * as AAD, the payload, and the encrypted payload followed by the tag. The
 * 8-byte-tag case is the 16-byte one truncated (GCM's tag is a prefix). */

/* clang-format off */
static const uint8_t icm_128_key[] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88,
    0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};

static const uint8_t icm_256_key[] = {
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c,
    0x40, 0xb1, 0xf0, 0x92, 0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82,
    0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98, 0xf0, 0xf1, 0xf2, 0xf3,
    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};

static uint8_t icm_iv_zero[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
};

static uint8_t icm_iv_feff[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xfe, 0xff,
};

static const uint8_t icm_zeros[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icm_128_keystream_0000[] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d,
    0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
    0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b,
    0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0,
};

static const uint8_t icm_128_keystream_feff[] = {
    0xec, 0x8c, 0xdf, 0x73, 0x98, 0x60, 0x7c, 0xb0, 0xf2, 0xd2, 0x16, 0x75,
    0xea, 0x9e, 0xa1, 0xe4, 0x36, 0x2b, 0x7c, 0x3c, 0x67, 0x73, 0x51, 0x63,
    0x18, 0xa0, 0x77, 0xd7, 0xfc, 0x50, 0x73, 0xae, 0x6a, 0x2c, 0xc3, 0x78,
    0x78, 0x89, 0x37, 0x4f, 0xbe, 0xb4, 0xc8, 0x1b, 0x17, 0xba, 0x6c, 0x44,
};

static const uint8_t icm_256_keystream_0000[] = {
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0,
    0x8b, 0x55, 0x15, 0xa4, 0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6,
    0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac, 0x63, 0xc4, 0x86, 0x8b,
    0x70, 0x96, 0xd8, 0x84, 0x21, 0xb5, 0x63, 0xb8, 0xc9, 0x4c, 0x9a, 0x31,
};

static const uint8_t gcm_128_key[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f,
    0x20, 0x71, 0x75, 0x6f,
};

static const uint8_t gcm_256_key[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x51, 0x75, 0x69, 0x64,
    0x20, 0x70, 0x72, 0x6f, 0x20, 0x71, 0x75, 0x6f,
};

static uint8_t gcm_rtp_iv[] = {
    0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2, 0x72, 0x6f, 0x20, 0x71, 0x84, 0x14,
};

static const uint8_t gcm_rtp_aad[] = {
    0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41, 0xf8, 0xd3, 0x55, 0x01, 0xa0, 0xb2,
};

static const uint8_t gcm_rtp_plaintext[] = {
    0x47, 0x61, 0x6c, 0x6c, 0x69, 0x61, 0x20, 0x65, 0x73, 0x74, 0x20, 0x6f,
    0x6d, 0x6e, 0x69, 0x73, 0x20, 0x64, 0x69, 0x76, 0x69, 0x73, 0x61, 0x20,
    0x69, 0x6e, 0x20, 0x70, 0x61, 0x72, 0x74, 0x65, 0x73, 0x20, 0x74, 0x72,
    0x65, 0x73,
};

static const uint8_t gcm_128_rtp_ciphertext[] = {
    0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c, 0xac, 0xba, 0x86, 0x1c,
    0x9d, 0x7e, 0x4b, 0xca, 0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f,
    0x42, 0xa5, 0xf4, 0x7a, 0x51, 0xc7, 0xd1, 0x9b, 0x36, 0xde, 0x3a, 0xdf,
    0x88, 0x33, 0x89, 0x9d, 0x7f, 0x27, 0xbe, 0xb1, 0x6a, 0x91, 0x52, 0xcf,
    0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce,
};

static const uint8_t gcm_256_rtp_ciphertext[] = {
    0x32, 0xb1, 0xde, 0x78, 0xa8, 0x22, 0xfe, 0x12, 0xef, 0x9f, 0x78, 0xfa,
    0x33, 0x2e, 0x33, 0xaa, 0xb1, 0x80, 0x12, 0x38, 0x9a, 0x58, 0xe2, 0xf3,
    0xb5, 0x0b, 0x2a, 0x02, 0x76, 0xff, 0xae, 0x0f, 0x1b, 0xa6, 0x37, 0x99,
    0xb8, 0x7b, 0x7a, 0xa3, 0xdb, 0x36, 0xdf, 0xff, 0xd6, 0xb0, 0xf9, 0xbb,
    0x78, 0x78, 0xd7, 0xa7, 0x6c, 0x13,
};

static uint8_t gcm_rtcp_iv[] = {
    0x51, 0x75, 0x24, 0x05, 0x52, 0x03, 0x72, 0x6f, 0x20, 0x71, 0x70, 0xbb,
};

static const uint8_t gcm_rtcp_aad[] = {
    0x81, 0xc8, 0x00, 0x0d, 0x4d, 0x61, 0x72, 0x73, 0x80, 0x00, 0x05, 0xd4,
};

static const uint8_t gcm_rtcp_plaintext[] = {
    0x4e, 0x54, 0x50, 0x31, 0x4e, 0x54, 0x50, 0x32, 0x52, 0x54, 0x50, 0x20,
    0x00, 0x00, 0x04, 0x2a, 0x00, 0x00, 0xe9, 0x30, 0x4c, 0x75, 0x6e, 0x61,
    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
};

static const uint8_t gcm_128_rtcp_ciphertext[] = {
    0x63, 0xe9, 0x48, 0x85, 0xdc, 0xda, 0xb6, 0x7c, 0xa7, 0x27, 0xd7, 0x66,
    0x2f, 0x6b, 0x7e, 0x99, 0x7f, 0xf5, 0xc0, 0xf7, 0x6c, 0x06, 0xf3, 0x2d,
    0xc6, 0x76, 0xa5, 0xf1, 0x73, 0x0d, 0x6f, 0xda, 0x4c, 0xe0, 0x9b, 0x46,
    0x86, 0x30, 0x3d, 0xed, 0x0b, 0xb9, 0x27, 0x5b, 0xc8, 0x4a, 0xa4, 0x58,
    0x96, 0xcf, 0x4d, 0x2f, 0xc5, 0xab, 0xf8, 0x72, 0x45, 0xd9, 0xea, 0xde,
};

static const uint8_t gcm_256_rtcp_ciphertext[] = {
    0xd5, 0x0a, 0xe4, 0xd1, 0xf5, 0xce, 0x5d, 0x30, 0x4b, 0xa2, 0x97, 0xe4,
    0x7d, 0x47, 0x0c, 0x28, 0x2c, 0x3e, 0xce, 0x5d, 0xbf, 0xfe, 0x0a, 0x50,
    0xa2, 0xea, 0xa5, 0xc1, 0x11, 0x05, 0x55, 0xbe, 0x84, 0x15, 0xf6, 0x58,
    0xc6, 0x1d, 0xe0, 0x47, 0x6f, 0x1b, 0x6f, 0xad, 0x1d, 0x1e, 0xb3, 0x0c,
    0x44, 0x46, 0x83, 0x9f, 0x57, 0xff, 0x6f, 0x6c, 0xb2, 0x6a, 0xc3, 0xbe,
};

/* clang-format on */

static const srtp_cipher_test_case_t icm_128_test_feff = {
    .key_length_octets = sizeof icm_128_key,
    .key = icm_128_key,
    .idx = icm_iv_feff,
    .plaintext_length_octets = sizeof icm_zeros,
    .plaintext = icm_zeros,
    .ciphertext_length_octets = sizeof icm_128_keystream_feff,
    .ciphertext = icm_128_keystream_feff,
};
static const srtp_cipher_test_case_t icm_128_test = {
    .key_length_octets = sizeof icm_128_key,
    .key = icm_128_key,
    .idx = icm_iv_zero,
    .plaintext_length_octets = sizeof icm_zeros,
    .plaintext = icm_zeros,
    .ciphertext_length_octets = sizeof icm_128_keystream_0000,
    .ciphertext = icm_128_keystream_0000,
    .next_test_case = &icm_128_test_feff,
};
static const srtp_cipher_test_case_t icm_256_test = {
    .key_length_octets = sizeof icm_256_key,
    .key = icm_256_key,
    .idx = icm_iv_zero,
    .plaintext_length_octets = sizeof icm_zeros,
    .plaintext = icm_zeros,
    .ciphertext_length_octets = sizeof icm_256_keystream_0000,
    .ciphertext = icm_256_keystream_0000,
};

#define GCM_TEST(key_, iv_, aad_, plain_, cipher_, tag_, next_)                                    \
    {                                                                                              \
        .key_length_octets = sizeof key_, .key = key_, .idx = iv_,                                 \
        .plaintext_length_octets = sizeof plain_, .plaintext = plain_,                             \
        .ciphertext_length_octets = sizeof plain_ + tag_, .ciphertext = cipher_,                   \
        .aad_length_octets = sizeof aad_, .aad = aad_, .tag_length_octets = tag_,                  \
        .next_test_case = next_,                                                                   \
    }

static const srtp_cipher_test_case_t gcm_128_test_tag8 = GCM_TEST(
    gcm_128_key, gcm_rtp_iv, gcm_rtp_aad, gcm_rtp_plaintext, gcm_128_rtp_ciphertext, 8, NULL);
static const srtp_cipher_test_case_t gcm_128_test_rtcp =
    GCM_TEST(gcm_128_key, gcm_rtcp_iv, gcm_rtcp_aad, gcm_rtcp_plaintext, gcm_128_rtcp_ciphertext,
             16, &gcm_128_test_tag8);
static const srtp_cipher_test_case_t gcm_128_test =
    GCM_TEST(gcm_128_key, gcm_rtp_iv, gcm_rtp_aad, gcm_rtp_plaintext, gcm_128_rtp_ciphertext, 16,
             &gcm_128_test_rtcp);
static const srtp_cipher_test_case_t gcm_256_test_rtcp = GCM_TEST(
    gcm_256_key, gcm_rtcp_iv, gcm_rtcp_aad, gcm_rtcp_plaintext, gcm_256_rtcp_ciphertext, 16, NULL);
static const srtp_cipher_test_case_t gcm_256_test =
    GCM_TEST(gcm_256_key, gcm_rtp_iv, gcm_rtp_aad, gcm_rtp_plaintext, gcm_256_rtp_ciphertext, 16,
             &gcm_256_test_rtcp);

/* ---- the types ---- */

const srtp_cipher_type_t vej__srtp_aes_icm_128 = {
    .alloc = icm_alloc,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .encrypt = icm_encrypt,
    .decrypt = icm_encrypt,
    .set_iv = icm_set_iv,
    .description = "AES-128 ICM (VEJ, OpenSSL EVP)",
    .test_data = &icm_128_test,
    .id = SRTP_AES_ICM_128,
};

const srtp_cipher_type_t vej__srtp_aes_icm_256 = {
    .alloc = icm_alloc,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .encrypt = icm_encrypt,
    .decrypt = icm_encrypt,
    .set_iv = icm_set_iv,
    .description = "AES-256 ICM (VEJ, OpenSSL EVP)",
    .test_data = &icm_256_test,
    .id = SRTP_AES_ICM_256,
};

const srtp_cipher_type_t vej__srtp_aes_gcm_128 = {
    .alloc = gcm_alloc,
    .dealloc = gcm_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "AES-128 GCM (VEJ, OpenSSL EVP)",
    .test_data = &gcm_128_test,
    .id = SRTP_AES_GCM_128,
};

const srtp_cipher_type_t vej__srtp_aes_gcm_256 = {
    .alloc = gcm_alloc,
    .dealloc = gcm_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "AES-256 GCM (VEJ, OpenSSL EVP)",
    .test_data = &gcm_256_test,
    .id = SRTP_AES_GCM_256,
};

/* ---- registration ---- */

gboolean
vej__srtp_crypto_register(GError **error)
{
    static const srtp_cipher_type_t *const ciphers[] = {
        &vej__srtp_aes_icm_128,
        &vej__srtp_aes_icm_256,
        &vej__srtp_aes_gcm_128,
        &vej__srtp_aes_gcm_256,
    };
    gboolean ok = TRUE;

    for (size_t i = 0; i < G_N_ELEMENTS(ciphers); i++) {
        srtp_err_status_t status = srtp_replace_cipher_type(ciphers[i], ciphers[i]->id);
        if (status != srtp_err_status_ok && ok) {
            g_set_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_LIBSRTP,
                        "libsrtp2 refused the cipher \"%s\" (libsrtp2 error %d)",
                        ciphers[i]->description, (int)status);
            ok = FALSE;
        }
    }
    srtp_err_status_t status = srtp_replace_auth_type(&vej__srtp_hmac_sha1, vej__srtp_hmac_sha1.id);
    if (status != srtp_err_status_ok && ok) {
        g_set_error(error, VEJ_SRTP_ERROR, VEJ_SRTP_ERROR_LIBSRTP,
                    "libsrtp2 refused the auth function \"%s\" (libsrtp2 error %d)",
                    vej__srtp_hmac_sha1.description, (int)status);
        ok = FALSE;
    }
    return ok;
}
