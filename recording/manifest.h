/* manifest.h - a recording's signed court record (docs/recording.md,
 * "Manifest").
 *
 * vej_manifest_seal() is called once a recording is finished (capture
 * closed, archive written): it re-hashes every file of the recording's
 * directory (never trusting the sizes and hashes the recorder or archiver
 * wrote), writes manifest.json (canonical bytes, below), manifest.sig (raw
 * 64-byte Ed25519 over exactly those bytes), SHA256SUMS (every file,
 * manifest.json included, in `sha256sum` format) and SHA256SUMS.sig. A
 * rerun (the archiver run again) moves the previous manifest and its
 * signature to revisions/manifest-NNNN.json/.sig and the new manifest names
 * the revision it replaces.
 *
 * Canonical bytes: jansson's JSON_INDENT(2) | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII encoding (keys sorted by byte value, two-space indent,
 * non-ASCII as \uXXXX escapes, LF line ends) followed by one LF. Verifiers
 * never re-encode: the signature is over the file's bytes as they are.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "recording/sign.h"

G_BEGIN_DECLS

#define VEJ_MANIFEST_FORMAT "vej-manifest/1"
#define VEJ_CONSULTATION_STATEMENT                                                                 \
    "No media of this consultation was captured: no packet of the consultation room, nor of "      \
    "any participant while in it, was recorded."

/* The audit chain's head at the recording's close. */
struct vej_manifest_head {
    int64_t seq;
    uint8_t hash[32];
};

/* A file named by a manifest or a SHA256SUMS file. */
struct vej_manifest_file {
    char *name;   /* relative, vej_tar_name_safe */
    int64_t size; /* -1 when not known (SHA256SUMS) */
    uint8_t sha256[32];
};
void vej_manifest_file_free(struct vej_manifest_file *f);

/* SHA-256 and size of a regular file (not a symlink), read in chunks. */
gboolean vej_file_sha256(const char *path, uint8_t out[32], int64_t *size, GError **error);

/* Seals the finished recording in `dir` (see above). `head` may be NULL (the
 * manifest then says the head is unknown). Returns the new revision number,
 * or 0 on error (nothing under the final names is changed then). */
int vej_manifest_seal(const char *dir, const vej_signer *signer,
                      const struct vej_manifest_head *head, GError **error);

/* The `files` of a manifest's bytes, checked (names safe and unique, sizes,
 * 64-hex-digit hashes). Array of struct vej_manifest_file *, (transfer full).
 * *manifest_out (may be NULL) receives the parsed JSON (transfer full). */
GPtrArray *vej_manifest_parse_files(const char *bytes, size_t len, json_t **manifest_out,
                                    GError **error);

/* Parses SHA256SUMS text ("HEX  NAME" or "HEX *NAME" lines, LF ends). Array
 * of struct vej_manifest_file * with size -1, (transfer full). */
GPtrArray *vej_sha256sums_parse(const char *bytes, size_t len, GError **error);

/* Checks a sealed recording directory: both signatures by `verifier`,
 * manifest.json's `files` against the files on disk (re-hashed), SHA256SUMS
 * against the files on disk. Returns the report (transfer full):
 *   {ok, manifest_signature_ok, sha256sums_ok, key_fingerprint,
 *    files: [{name, sha256 (what the file hashes to now, or null), ok,
 *             problem?}]}
 * problem is "missing", "size", "sha256", "not in SHA256SUMS", ... A file
 * deleted by retention is "missing". NULL only when the manifest cannot be
 * read at all. */
json_t *vej_manifest_verify_dir(const char *dir, const vej_signer *verifier, GError **error);

G_END_DECLS
