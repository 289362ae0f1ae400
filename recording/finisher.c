/* finisher.c - archive then seal, one recording at a time (finisher.h).
 *
 * The thread runs its own GMainContext: the archive runner delivers the
 * child's progress and outcome there, and the seal follows on the same
 * thread. Queue and state are guarded by `lock`; everything else belongs
 * to the thread.
 */
#include "recording/finisher.h"

#include "recording/manifest.h"
#include "store/audit.h"

struct vej_finisher {
    char *data_dir, *db_path;
    const vej_signer *signer;
    struct vej_archive_limits limits;
    struct vej_finisher_callbacks cb;
    GThread *thread;
    GMainContext *ctx;
    GMainLoop *loop;
    GMutex lock;
    GQueue queue;  /* char * recording ids (guarded by lock) */
    char *current; /* the recording being finished (thread) */
    char *archive_error;
    struct vej_archive_run *run;
};

static void next(struct vej_finisher *f);

/* Runs fn on the finisher's thread, later: never on the caller's stack,
 * whichever thread calls (g_main_context_invoke would run it at once on
 * the context's owner, or on a caller that acquires it). */
static void
defer(struct vej_finisher *f, GSourceFunc fn)
{
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, fn, f, NULL);
    g_source_attach(src, f->ctx);
    g_source_unref(src);
}

static void
seal_current(struct vej_finisher *f)
{
    g_autofree char *dir = g_build_filename(f->data_dir, "recordings", f->current, NULL);
    g_autoptr(GError) error = NULL;
    struct vej_manifest_head head = {0};
    int rev = 0;
    if (vej_audit_head(f->db_path, &head.seq, head.hash, &error))
        rev = vej_manifest_seal(dir, f->signer, &head, &error);
    g_autofree char *sha = NULL;
    if (rev > 0) {
        g_autofree char *man = g_build_filename(dir, "manifest.json", NULL);
        uint8_t md[32];
        sha = vej_file_sha256(man, md, NULL, NULL) ? vej_hex(md, 32) : g_strdup("");
    }
    if (f->cb.done)
        f->cb.done(f->cb.user, f->current, rev, sha, f->archive_error,
                   rev > 0 ? NULL : (error ? error->message : "cannot seal"));
    g_clear_pointer(&f->current, g_free);
    g_clear_pointer(&f->archive_error, g_free);
}

static void
on_progress(double fraction, const char *stage, void *user)
{
    struct vej_finisher *f = user;
    if (f->cb.progress && f->current)
        f->cb.progress(f->cb.user, f->current, fraction, stage);
}

static gboolean
after_run(gpointer user)
{
    struct vej_finisher *f = user;
    g_clear_pointer(&f->run, vej_archive_run_free);
    seal_current(f);
    next(f);
    return G_SOURCE_REMOVE;
}

static void
on_done(bool ok, const char *reason, void *user)
{
    struct vej_finisher *f = user;
    if (!ok)
        f->archive_error = g_strdup(reason ? reason : "failed");
    /* The run's handle is freed outside its own callback. */
    defer(f, after_run);
}

/* Takes the next queued recording and starts its archiver. */
static void
next(struct vej_finisher *f)
{
    while (!f->current) {
        g_mutex_lock(&f->lock);
        f->current = g_queue_pop_head(&f->queue);
        g_mutex_unlock(&f->lock);
        if (!f->current)
            return;
        g_autoptr(GError) error = NULL;
        g_autofree char *program = vej_archive_runner_program(&error);
        g_autofree char *dir = g_build_filename(f->data_dir, "recordings", f->current, NULL);
        if (program)
            f->run = vej_archive_run_start(program, dir, &f->limits, f->ctx, on_progress, on_done,
                                           f, &error);
        if (f->run)
            return;
        f->archive_error = g_strdup(error ? error->message : "cannot start the archiver");
        seal_current(f);
    }
}

static gboolean
kick(gpointer user)
{
    next(user);
    return G_SOURCE_REMOVE;
}

static gpointer
thread_main(gpointer user)
{
    struct vej_finisher *f = user;
    g_main_context_push_thread_default(f->ctx);
    g_main_loop_run(f->loop);
    if (f->run) {
        vej_archive_run_free(f->run);
        f->run = NULL;
    }
    g_main_context_pop_thread_default(f->ctx);
    return NULL;
}

struct vej_finisher *
vej_finisher_new(const char *data_dir, const char *db_path, const vej_signer *signer,
                 const struct vej_archive_limits *limits,
                 const struct vej_finisher_callbacks *callbacks, GError **error)
{
    struct vej_finisher *f = g_new0(struct vej_finisher, 1);
    f->data_dir = g_strdup(data_dir);
    f->db_path = g_strdup(db_path);
    f->signer = signer;
    if (limits)
        f->limits = *limits;
    else
        vej_archive_limits_default(&f->limits);
#if defined(__SANITIZE_ADDRESS__)
    /* An AddressSanitizer build (the test suite's) maps terabytes of shadow
     * memory at start: no address-space limit can hold it. The archiver is
     * built with the daemon, so this holds for it too. */
    f->limits.address_space = 0;
#endif
    if (callbacks)
        f->cb = *callbacks;
    g_mutex_init(&f->lock);
    g_queue_init(&f->queue);
    f->ctx = g_main_context_new();
    f->loop = g_main_loop_new(f->ctx, FALSE);
    f->thread = g_thread_try_new("vej-finisher", thread_main, f, error);
    if (!f->thread) {
        vej_finisher_free(f);
        return NULL;
    }
    return f;
}

void
vej_finisher_queue(struct vej_finisher *f, const char *recording_id)
{
    g_mutex_lock(&f->lock);
    bool queued = g_queue_find_custom(&f->queue, recording_id, (GCompareFunc)g_strcmp0) != NULL;
    if (!queued)
        g_queue_push_tail(&f->queue, g_strdup(recording_id));
    g_mutex_unlock(&f->lock);
    defer(f, kick);
}

static gboolean
quit(gpointer user)
{
    struct vej_finisher *f = user;
    g_main_loop_quit(f->loop);
    return G_SOURCE_REMOVE;
}

void
vej_finisher_free(struct vej_finisher *f)
{
    if (!f)
        return;
    if (f->thread) {
        defer(f, quit);
        g_thread_join(f->thread);
    }
    g_queue_clear_full(&f->queue, g_free);
    g_free(f->current);
    g_free(f->archive_error);
    g_main_loop_unref(f->loop);
    g_main_context_unref(f->ctx);
    g_mutex_clear(&f->lock);
    g_free(f->data_dir);
    g_free(f->db_path);
    g_free(f);
}
