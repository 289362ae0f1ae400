/* finisher.h - what happens to a recording once its capture is closed:
 * the archiver (a child process, archive-runner.h), then the signed
 * manifest (manifest.h), one recording at a time, on the finisher's own
 * thread so that neither the archiver's wait nor the hashing of hours of
 * media ever runs on the signalling thread.
 *
 * An archiver that fails (crash, stall, bad capture) does not stop the
 * seal: the manifest then covers the capture alone, and the failure is
 * reported. Queue the same recording again to rerun both: the manifest
 * gets a new revision naming the one it replaces.
 *
 * The store is not touched here (it belongs to the signalling thread):
 * the caller records what the callbacks report.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "recording/archive-runner.h"
#include "recording/sign.h"

G_BEGIN_DECLS

/* Called on the finisher's thread; strings are (transfer none). */
struct vej_finisher_callbacks {
    /* The archiver's progress (0..1) for recording_id. */
    void (*progress)(void *user, const char *recording_id, double fraction, const char *stage);
    /* Finished: revision > 0 and the manifest's SHA-256 when sealed, else
     * 0 and seal_error; archive_error is NULL when the archive was made. */
    void (*done)(void *user, const char *recording_id, int revision, const char *manifest_sha256,
                 const char *archive_error, const char *seal_error);
    void *user;
};

struct vej_finisher;

/* data_dir: recordings are DATA_DIR/recordings/REC_ID; db_path: the
 * database, for the audit head a manifest records; signer: (transfer
 * none), must outlive the finisher; limits: the archiver's (NULL: the
 * defaults). */
struct vej_finisher *vej_finisher_new(const char *data_dir, const char *db_path,
                                      const vej_signer *signer,
                                      const struct vej_archive_limits *limits,
                                      const struct vej_finisher_callbacks *callbacks,
                                      GError **error);
/* Queues a recording (thread-safe); one already queued is not queued twice. */
void vej_finisher_queue(struct vej_finisher *f, const char *recording_id);
/* Stops: a running archiver is killed (the recording stays unarchived and
 * is queued again at the next start by whoever owns the store). */
void vej_finisher_free(struct vej_finisher *f);

G_END_DECLS
