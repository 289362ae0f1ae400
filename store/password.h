/* password.h - staff password hashing (scrypt from OpenSSL).
 *
 * Encoded form: "$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>" (standard
 * base64, no padding; 16-byte salt, 32-byte hash). OpenSSL's EVP_PBE_scrypt
 * is given maxmem explicitly (its 32 MB default refuses N=2^15, r=8).
 * Both functions take about 100 ms of CPU: never call them on the
 * signalling thread.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

G_BEGIN_DECLS

/* (transfer full) encoded hash, or NULL with error. */
char *vej_password_hash(const char *password, GError **error);

/* Constant-time comparison. `encoded` may be NULL (unknown user): a dummy
 * hash is computed so that the timing does not tell, and FALSE returned.
 * A malformed `encoded` returns FALSE. */
bool vej_password_verify(const char *password, const char *encoded);

/* Password rules for new passwords: at least 12 characters, at most 1024
 * bytes, valid UTF-8. Returns NULL when acceptable, else a static message. */
const char *vej_password_check_policy(const char *password);

G_END_DECLS
