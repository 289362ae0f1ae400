/* seal.h - sealing a finished recording and recording it in the store.
 *
 * What the recorder calls when a recording is finished (capture closed,
 * archive written), and what `vejctl recordings seal` runs: the manifest
 * and its signatures (vej_manifest_seal, with the audit chain's current
 * head), then the store row (registered from capture.json when the store
 * does not know the recording) gets the revision, its close time and, when
 * the archive exists, the state "archived". The caller writes the audit
 * entry ("recording.seal", detail {revision, manifest_sha256}). Runs on the
 * thread that owns `store`.
 */
#pragma once

#include <glib.h>

#include "recording/sign.h"
#include "store/store.h"

G_BEGIN_DECLS

/* Returns the new manifest revision (1, 2, ...), or 0 with *error.
 * *manifest_sha256 (may be NULL) receives the hex SHA-256 of the new
 * manifest.json (transfer full). */
int vej_recording_seal(vej_store *store, const char *db_path, const char *data_dir,
                       const vej_signer *signer, const char *recording_id, char **manifest_sha256,
                       GError **error);

G_END_DECLS
