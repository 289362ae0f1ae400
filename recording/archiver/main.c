/* main.c - vej-archiver DIR: a recording's closed segments into playable
 * files (docs/recording.md, "The archiver").
 *
 * Stages: check (capture.json, every segment's size, SHA-256 and records),
 * scan (the timeline), one file per participant, hearing.webm, then
 * archive.json. Everything is written into DIR/archive.tmp, which replaces
 * DIR/archive only once complete: an archiver that fails or is killed
 * leaves the previous archive (or none) and never a partial one. Files are
 * 0600 and folders 0700 (umask 077).
 *
 * Standard output carries one JSON object per line and nothing else:
 * {"progress": 0..1, "stage": ...} while working, a last line with stage
 * "done" and the timings, or {"error": MESSAGE, "stage": ...} before a
 * non-zero exit. Diagnostics (the pipeline descriptions) go to stderr.
 * Exit status: 0 written, 1 failed, 2 usage.
 */
#include "recording/archiver/archiver-priv.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Share of the whole run per stage, for the progress fraction. */
#define SHARE_CHECK 0.05
#define SHARE_SCAN 0.05
#define SHARE_PARTICIPANTS 0.20
#define SHARE_HEARING 0.70

struct job {
    struct vej_arch_capture *cap;
    char *tmp_dir;
    json_t *files; /* archive.json's files */
    const char *stage;
    const char *participant_id;
    double base, share; /* the current stage's place in the whole */
    double reported;    /* the last fraction printed */
    const char *reported_stage;
    double participants_s, hearing_s, media_s;
};

static void
emit(json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT);
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(text);
    json_decref(line);
}

static void
report(double fraction, void *user_data)
{
    struct job *job = user_data;
    json_t *line =
        json_pack("{s:f, s:s}", "progress", job->base + job->share * fraction, "stage", job->stage);
    if (job->participant_id != NULL)
        json_object_set_new(line, "participant_id", json_string(job->participant_id));
    emit(line);
}

static void
enter(struct job *job, const char *stage, double base, double share)
{
    job->stage = stage;
    job->base = base;
    job->share = share;
    report(0.0, job);
}

static char *
now_rfc3339(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* SHA-256 and size of a written file, read in chunks (a day-long hearing
 * file is larger than the address space the daemon allows the archiver). */
static gboolean
hash_file(const char *path, char **sha256, gint64 *size, GError **error)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: %s", path, g_strerror(errno));
        return FALSE;
    }
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    guchar buf[65536];
    size_t n;
    *size = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        g_checksum_update(sum, buf, (gssize)n);
        *size += (gint64)n;
    }
    gboolean ok = !ferror(f);
    fclose(f);
    if (!ok) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: read error", path);
        return FALSE;
    }
    *sha256 = g_strdup(g_checksum_get_string(sum));
    return TRUE;
}

static gboolean
add_file(struct job *job, const char *name, const char *participant_id, double duration_s,
         GError **error)
{
    g_autofree char *path = g_build_filename(job->tmp_dir, name, NULL);
    g_autofree char *sha = NULL;
    gint64 size = 0;
    if (!hash_file(path, &sha, &size, error))
        return FALSE;
    json_t *f = json_pack("{s:s, s:I, s:s, s:f}", "name", name, "size", (json_int_t)size, "sha256",
                          sha, "duration_s", duration_s);
    if (participant_id != NULL)
        json_object_set_new(f, "participant_id", json_string(participant_id));
    json_array_append_new(job->files, f);
    return TRUE;
}

/* Removes a folder of files (the archive has no subfolders). */
static void
remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry;
    while (d != NULL && (entry = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, entry, NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
}

static gboolean
write_participants(struct job *job, GError **error)
{
    struct vej_arch_capture *cap = job->cap;
    guint n = 0, done = 0;
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        n += p->audio->len + p->video->len > 0;
    }
    gint64 t0 = g_get_monotonic_time();
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        if (p->audio->len + p->video->len == 0)
            continue;
        enter(job, "participant", SHARE_CHECK + SHARE_SCAN + SHARE_PARTICIPANTS * done / n,
              SHARE_PARTICIPANTS / n);
        job->participant_id = p->id;
        g_autofree char *name = g_strdup_printf("%s.%s", p->id, vej_arch_participant_ext(p));
        g_autofree char *path = g_build_filename(job->tmp_dir, name, NULL);
        double duration = 0;
        if (!vej_arch_write_participant(cap, p, path, &duration, report, job, error) ||
            !add_file(job, name, p->id, duration, error))
            return FALSE;
        job->participant_id = NULL;
        done++;
    }
    job->participants_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    return TRUE;
}

static gboolean
write_hearing(struct job *job, GError **error)
{
    enter(job, "hearing", SHARE_CHECK + SHARE_SCAN + SHARE_PARTICIPANTS, SHARE_HEARING);
    g_autofree char *path = g_build_filename(job->tmp_dir, "hearing.webm", NULL);
    gint64 t0 = g_get_monotonic_time();
    if (!vej_arch_write_hearing(job->cap, path, &job->media_s, report, job, error))
        return FALSE;
    job->hearing_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    return add_file(job, "hearing.webm", NULL, job->media_s, error);
}

static gboolean
write_archive_json(struct job *job, const char *started_at, GError **error)
{
    g_autofree char *finished_at = now_rfc3339();
    g_autofree char *gst = gst_version_string();
    json_t *doc =
        json_pack("{s:s, s:s?, s:O, s:s, s:s, s:s, s:s}", "format", "vej-archive/1", "recording_id",
                  job->cap->recording_id, "files", job->files, "archiver_version", VEJ_VERSION,
                  "gstreamer_version", gst, "started_at", started_at, "finished_at", finished_at);
    g_autofree char *path = g_build_filename(job->tmp_dir, "archive.json", NULL);
    int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    if (rc != 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: cannot write", path);
        return FALSE;
    }
    return TRUE;
}

/* DIR/archive.tmp becomes DIR/archive; a previous archive is removed after. */
static gboolean
publish(struct job *job, GError **error)
{
    g_autofree char *final = g_build_filename(job->cap->dir, "archive", NULL);
    g_autofree char *old = g_build_filename(job->cap->dir, "archive.replaced", NULL);
    remove_tree(old);
    if (g_file_test(final, G_FILE_TEST_IS_DIR) && g_rename(final, old) != 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: %s", final, g_strerror(errno));
        return FALSE;
    }
    if (g_rename(job->tmp_dir, final) != 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: %s", final, g_strerror(errno));
        return FALSE;
    }
    remove_tree(old);
    return TRUE;
}

static gboolean
prepare(struct job *job, const char *dir, GError **error)
{
    enter(job, "check", 0.0, SHARE_CHECK);
    job->cap = vej_arch_capture_load(dir, error);
    if (job->cap == NULL || !vej_arch_segments_check(job->cap, error))
        return FALSE;
    enter(job, "scan", SHARE_CHECK, SHARE_SCAN);
    if (!vej_arch_timeline_scan(job->cap, error))
        return FALSE;
    vej_arch_timeline_solve(job->cap);
    job->tmp_dir = g_build_filename(dir, "archive.tmp", NULL);
    remove_tree(job->tmp_dir); /* left by an archiver that was killed */
    if (g_mkdir(job->tmp_dir, 0700) != 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 4, "%s: %s", job->tmp_dir, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static gboolean
archive(struct job *job, const char *dir, GError **error)
{
    g_autofree char *started_at = now_rfc3339();
    if (!prepare(job, dir, error))
        return FALSE;
    gboolean any = job->cap->origin != G_MAXINT64;
    if (any && (!write_participants(job, error) || !write_hearing(job, error)))
        return FALSE;
    enter(job, "finish", 1.0, 0.0);
    return write_archive_json(job, started_at, error) && publish(job, error);
}

int
main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: vej-archiver RECORDING_DIR\n"
                        "Writes RECORDING_DIR/archive/ from RECORDING_DIR/capture.json and "
                        "its closed segments (docs/recording.md).\n");
        return 2;
    }
    umask(077);
    /* A GStreamer pipeline runs a thread per queue and source; glibc's
     * default of an arena per thread reserves 64 MiB of address space each,
     * which the daemon's RLIMIT_AS would count. */
    mallopt(M_ARENA_MAX, 2);
    gst_init(NULL, NULL);
    struct job job = {.files = json_array()};
    GError *error = NULL;
    gboolean ok = archive(&job, argv[1], &error);
    if (ok) {
        emit(json_pack("{s:f, s:s, s:f, s:f, s:f}", "progress", 1.0, "stage", "done", "media_s",
                       job.media_s, "participants_s", job.participants_s, "hearing_s",
                       job.hearing_s));
    } else {
        emit(json_pack("{s:s, s:s}", "error", error->message, "stage", job.stage));
        fprintf(stderr, "vej-archiver: %s\n", error->message);
        g_error_free(error);
        if (job.tmp_dir != NULL)
            remove_tree(job.tmp_dir);
    }
    json_decref(job.files);
    vej_arch_capture_free(job.cap);
    g_free(job.tmp_dir);
    gst_deinit();
    return ok ? 0 : 1;
}
