/* totp.h - time-based one-time passwords (RFC 6238) and base32 (RFC 4648).
 *
 * Plain C over OpenSSL, no GLib. TOTP here is HMAC-SHA1, 6 digits, 30-second
 * steps: what every authenticator app reads from an otpauth:// URI. The
 * caller keeps the last step accepted per account and refuses a step that
 * is not later (replay); this module only computes and compares.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_TOTP_PERIOD_S 30
#define VEJ_TOTP_DIGITS 6
#define VEJ_TOTP_SECRET_BYTES 20

/* Base32 without padding, upper case. Writes a NUL-terminated text into out
 * (needs ceil(n * 8 / 5) + 1 bytes); its length, or -1 when out is short. */
long vej_base32_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Decodes base32 (either case, no padding, no spaces); the byte count, or
 * -1 for a bad character, non-zero trailing bits or lack of room. */
long vej_base32_decode(const char *in, uint8_t *out, size_t cap);

/* The code of time step `step` (RFC 6238 with SHA-1), 0..999999. */
uint32_t vej_totp_code(const uint8_t *key, size_t key_len, uint64_t step);
/* Exactly six ASCII digits: true and *code set. */
bool vej_totp_parse(const char *text, uint32_t *code);
/* The time step within one step of `now` (Unix seconds) whose code is
 * `code`, compared in constant time; -1 when none matches. */
int64_t vej_totp_match(const uint8_t *key, size_t key_len, int64_t now, uint32_t code);

/* Secrets at rest. The store keeps an account's TOTP secret sealed:
 * "v1:" and the base64 of a 12-byte random nonce, the AES-256-GCM
 * ciphertext of the base32 text and its 16-byte tag, under a key derived
 * for this use, with the account id as associated data (a sealed secret
 * copied onto another account does not open). */
#define VEJ_TOTP_SEALED_PREFIX "v1:"
/* Room for a sealed secret of up to 64 base32 characters. */
#define VEJ_TOTP_SEALED_MAX 160
/* Seals `secret` (at most 64 characters) into out (NUL-terminated); its
 * length, or -1 (secret too long, out too short, no randomness). */
long vej_totp_seal(const uint8_t key[32], const char *account, const char *secret, char *out,
                   size_t cap);
/* Opens a sealed secret into out (NUL-terminated); its length, or -1 when
 * `sealed` is not one sealed under key for account (malformed, truncated,
 * tampered, another key or account) or out is too short. */
long vej_totp_open(const uint8_t key[32], const char *account, const char *sealed, char *out,
                   size_t cap);
/* Whether text has the sealed form's prefix (base32 never has ':'). */
bool vej_totp_is_sealed(const char *text);
