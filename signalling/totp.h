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
