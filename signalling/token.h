/* token.h - join tokens (compact JWS, HS256) and opaque tokens.
 *
 * Plain C over OpenSSL. A join token's header is exactly
 * {"alg":"HS256","typ":"JWT","kid":"<kid>"} (in that byte order); claims are
 * aud "vej-join", iss, hid, pid, role, nbf, exp, ver: never a display name
 * (a token with a "name" claim is refused). Verification
 * refuses any other header (other alg, "none", crit, extra members),
 * non-canonical or padded base64url, a bad signature (compared in constant
 * time), a wrong audience, and times outside [nbf - leeway, exp + leeway].
 * The participant-row checks (removed, ver) are the caller's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_TOKEN_LEEWAY_S 60
#define VEJ_TOKEN_MAX_LEN 4096

struct vej_join_claims {
    char iss[128];
    char hid[64];
    char pid[64];
    char role[32];
    int64_t nbf;
    int64_t exp;
    int64_t ver;
};

enum vej_token_status {
    VEJ_TOKEN_OK = 0,
    VEJ_TOKEN_MALFORMED = -1,  /* not three canonical base64url parts, bad JSON */
    VEJ_TOKEN_BAD_HEADER = -2, /* alg/typ/kid/crit or extra members */
    VEJ_TOKEN_BAD_SIGNATURE = -3,
    VEJ_TOKEN_BAD_CLAIMS = -4, /* audience, missing or mistyped claim, too long */
    VEJ_TOKEN_NOT_YET_VALID = -5,
    VEJ_TOKEN_EXPIRED = -6,
};

/* Signs claims (aud is added). Returns a malloc'd NUL-terminated token, or
 * NULL if a claim does not fit. */
char *vej_join_token_sign(const uint8_t *key, size_t key_len, const char *kid,
                          const struct vej_join_claims *claims);

/* Verifies a token against key and kid at time `now` (Unix seconds). */
enum vej_token_status vej_join_token_verify(const uint8_t *key, size_t key_len, const char *kid,
                                            const char *token, size_t token_len, int64_t now,
                                            struct vej_join_claims *out);

/* A static English description of a status. */
const char *vej_token_status_str(enum vej_token_status s);

/* Unpadded base64url. encode writes NUL-terminated text into out (capacity
 * out_cap, needs 4*ceil(n/3)+1) and returns its length or -1. decode returns
 * the decoded length or -1 for non-canonical input (padding, bad characters,
 * non-zero trailing bits) or lack of room. */
long vej_b64url_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);
long vej_b64url_decode(const char *in, size_t n, uint8_t *out, size_t out_cap);

/* A fresh opaque token: 32 random bytes, base64url (43 characters + NUL).
 * Returns false if the random generator fails. */
bool vej_opaque_token_new(char out[44]);

/* SHA-256 of a token's text. */
void vej_token_hash(const char *token, size_t len, uint8_t out[32]);

/* True when `id` is prefix followed by 1..64 characters of [a-z0-9]. */
bool vej_id_valid(const char *id, const char *prefix);

/* HKDF-SHA256 (RFC 5869): extract with `salt` (may be empty), expand with
 * `info` into out_len bytes (at most 255 * 32). False on failure. */
bool vej_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* The purposes keys are derived for from the one configured secret
 * (DATA_DIR/secrets/token-key): HKDF-SHA256 with an empty salt and these
 * info strings, 32 bytes each. A join token's kid names the derivation. */
#define VEJ_KEY_INFO_JOIN "vej-gateway join-token key v2"
#define VEJ_KEY_INFO_PSEUDONYM "vej-gateway pseudonym key v1"
#define VEJ_KEY_INFO_TOTP "vej-gateway totp-at-rest key v1"
#define VEJ_JOIN_KID "k2"
