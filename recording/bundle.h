/* bundle.h - a recording as one POSIX ustar archive, and its offline check.
 *
 * A bundle holds, under the folder REC_ID/: manifest.json, manifest.sig,
 * SHA256SUMS, SHA256SUMS.sig, public-key.pem (the signing key's public
 * half), VERIFY.txt (how to check it with sha256sum and openssl alone) and
 * every file SHA256SUMS lists. It is produced as a stream (the REST route
 * never holds a file in memory) whose total size is known in advance.
 *
 * vej_bundle_verify() reads a bundle as a stream too and checks, without
 * our daemon: the key (given, or the bundle's own), both signatures, every
 * member against SHA256SUMS and the manifest's files, and that nothing is
 * missing or added.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "recording/sign.h"

G_BEGIN_DECLS

typedef struct vej_bundle vej_bundle;

/* Plans the bundle of the sealed recording in `dir` (its folder name is the
 * bundle's top folder). Every listed file must exist with a regular size. */
vej_bundle *vej_bundle_new(const char *dir, const vej_signer *key, GError **error);
void vej_bundle_free(vej_bundle *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vej_bundle, vej_bundle_free)

/* The bundle's exact size in bytes. */
uint64_t vej_bundle_size(const vej_bundle *b);

/* Fills buf with the next bytes: the count, 0 at the end, -1 when a file
 * cannot be read or changed size since vej_bundle_new (the stream must then
 * be abandoned). */
gssize vej_bundle_read(vej_bundle *b, uint8_t *buf, size_t cap);

/* The VERIFY.txt of a recording, (transfer full). */
char *vej_bundle_verify_text(const char *rec_id, const char *fingerprint);

/* Reads `len` bytes into buf: count, 0 at the end, -1 on error. */
typedef gssize (*vej_bundle_read_fn)(void *ctx, uint8_t *buf, size_t len);

/* Checks a bundle read through read_fn. `key` may be NULL: the bundle's own
 * public-key.pem is then used. Returns the report (transfer full):
 *   {ok, key_fingerprint, key_source ("given" | "bundle"), recording_id,
 *    manifest_signature_ok, sha256sums_signature_ok,
 *    files: [{name, sha256, ok, problem?}], problems: ["..."]}
 * or NULL with *error when the archive itself is unreadable. */
json_t *vej_bundle_verify(vej_bundle_read_fn read_fn, void *ctx, const vej_signer *key,
                          GError **error);

G_END_DECLS
