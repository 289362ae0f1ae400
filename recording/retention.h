/* retention.h - the retention sweep: expired media deleted, the record kept.
 *
 * A closed recording whose courtroom's retention_days have passed since its
 * close, and which has no legal hold, loses its media: the capture
 * segments and the archive's media files. Its manifest.json, manifest.sig,
 * SHA256SUMS(.sig), capture.json, archive/archive.json and revisions/ stay
 * (the court record), the store row gets media_deleted_at, and every
 * deletion is audited through the caller's function.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "store/store.h"

G_BEGIN_DECLS

/* Called once per recording swept, with the audit detail (compact JSON). */
typedef void (*vej_retention_audit_fn)(void *ctx, const char *recording_id,
                                       const char *detail_json);

/* Sweeps every recording due at `now`. Returns how many were swept, or -1
 * (with *error) when the store could not be read; a recording whose files
 * cannot all be deleted is left marked as not deleted and logged. */
int vej_retention_sweep(vej_store *store, const char *data_dir, int64_t now,
                        vej_retention_audit_fn audit, void *ctx, GError **error);

G_END_DECLS
