/* retention.c - deleting expired media, keeping the court record.
 *
 * Invariants: only files under capture/ and archive/ of a recording folder
 * whose name is the row's own rec_ id are deleted, never followed through a
 * symlink (unlinkat on the folder's descriptor); archive/archive.json and
 * everything outside those folders stay; the row is marked only when every
 * media file is gone, so a failed sweep is retried next time.
 */
#include "recording/retention.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "recording/tar.h"

#define SWEEP_BATCH 100

/* Deletes the media files of dir/sub; counts them into *n. */
static gboolean
delete_media(const char *dir, const char *sub, const char *keep, int *n, GError **error)
{
    g_autofree char *path = g_build_filename(dir, sub, NULL);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? TRUE
                               : (g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                                              "%s: %s", path, g_strerror(errno)),
                                  FALSE);
    g_autoptr(GDir) d = g_dir_open(path, 0, error);
    if (d == NULL) {
        close(dfd);
        return FALSE;
    }
    const char *name;
    gboolean ok = TRUE;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (keep && strcmp(name, keep) == 0)
            continue;
        if (unlinkat(dfd, name, 0) != 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s/%s: %s", path,
                        name, g_strerror(errno));
            ok = FALSE;
            break;
        }
        (*n)++;
    }
    if (ok)
        (void)fsync(dfd);
    close(dfd);
    return ok;
}

static bool
sweep_one(vej_store *store, const char *data_dir, const struct vej_recording_row *rec, int64_t now,
          vej_retention_audit_fn audit, void *ctx)
{
    g_autoptr(GError) error = NULL;
    if (!vej_tar_name_safe(rec->dir) || strcmp(rec->dir, rec->id) != 0) {
        g_warning("retention: recording %s: unexpected folder name, not swept", rec->id);
        return false;
    }
    g_autofree char *dir = g_build_filename(data_dir, "recordings", rec->dir, NULL);
    int n = 0;
    if (!delete_media(dir, "capture", NULL, &n, &error) ||
        !delete_media(dir, "archive", "archive.json", &n, &error)) {
        g_warning("retention: recording %s: %s", rec->id, error->message);
        return false;
    }
    struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
    u.media_deleted_at = now;
    if (!vej_store_recording_update(store, rec->id, &u, &error)) {
        g_warning("retention: recording %s: %s", rec->id, error->message);
        return false;
    }
    g_autoptr(vej_courtroom) c = vej_store_courtroom_get(store, rec->courtroom_id, NULL);
    json_t *detail =
        json_pack("{s:s,s:s,s:i,s:I,s:i}", "hearing_id", rec->hearing_id, "courtroom_id",
                  rec->courtroom_id, "retention_days", c ? c->retention_days : -1, "closed_at",
                  (json_int_t)rec->closed_at, "files_deleted", n);
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    if (audit)
        audit(ctx, rec->id, text ? text : "{}");
    free(text);
    return true;
}

int
vej_retention_sweep(vej_store *store, const char *data_dir, int64_t now,
                    vej_retention_audit_fn audit, void *ctx, GError **error)
{
    g_autoptr(GPtrArray) due = vej_store_recording_list_expired(store, now, SWEEP_BATCH, error);
    if (due == NULL)
        return -1;
    int swept = 0;
    for (guint i = 0; i < due->len; i++)
        if (sweep_one(store, data_dir, due->pdata[i], now, audit, ctx))
            swept++;
    return swept;
}
