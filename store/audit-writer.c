/* audit-writer.c - the audit writer thread and its group commit.
 *
 * Callers queue entries under a mutex and return. The thread takes
 * everything queued at once and appends it in one BEGIN IMMEDIATE ...
 * COMMIT (one fsync, synchronous=FULL), so while one batch is being
 * committed the next one gathers. Each queued entry has a ticket number;
 * `finished` counts the tickets whose batch is done, committed or failed,
 * and a flush waits for `finished` to reach the tickets handed out before
 * it was called.
 *
 * An entry may carry a callback (vej_audit_append_then): the thread calls
 * it, outside the lock, once the entry's batch is committed or has failed,
 * and before a flush that covers the entry returns.
 */
#include "store/store-priv.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

/* The writer thread's nice value (relative to the process: 0 is the
 * daemon's own). */
#define VEJ_AUDIT_WRITER_NICE 10

struct vej_audit_writer {
    sqlite3 *db; /* used only by the thread once it runs */
    GThread *thread;

    GMutex lock;       /* guards everything below */
    GCond wake;        /* to the thread: work queued, or stopping */
    GCond done;        /* from the thread: a batch finished */
    GPtrArray *queue;  /* struct vej_audit_entry *, in append order */
    GArray *callbacks; /* struct audit_callback, one per queued entry */
    uint64_t enqueued; /* tickets handed out */
    uint64_t finished; /* tickets whose batch is done */
    uint64_t committed;
    uint64_t failed;
    bool failed_since_flush;
    bool stopping;
};

struct audit_callback {
    vej_audit_done_fn done; /* NULL: none */
    void *data;
};

static GPtrArray *
new_queue(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)vej_audit_entry_free);
}

static GArray *
new_callbacks(void)
{
    return g_array_new(FALSE, FALSE, sizeof(struct audit_callback));
}

/* Appends one batch; vej__audit_commit() already retries a busy database. */
static bool
commit_batch(vej_audit_writer *w, GPtrArray *batch)
{
    g_autoptr(GError) error = NULL;

    if (vej__audit_commit(w->db, (struct vej_audit_entry *const *)batch->pdata, batch->len,
                          &error)) {
        g_debug("audit: committed %u entries in one transaction", batch->len);
        return true;
    }
    /* Entries are lost: say how many and what went wrong (the entries'
     * content stays out of the log; it may name people). */
    g_warning("audit: could not commit %u entries: %s", batch->len, error->message);
    return false;
}

static gpointer
writer_thread(gpointer data)
{
    vej_audit_writer *w = data;
    /* Nobody waits on the writer as it runs (callers are called back, and
     * group commit gathers what queues meanwhile): on a busy core it gives
     * way to the signalling thread, whose clients are waiting. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), VEJ_AUDIT_WRITER_NICE) != 0)
        g_debug("audit: the writer thread keeps its priority: %s", g_strerror(errno));

    g_mutex_lock(&w->lock);
    for (;;) {
        while (w->queue->len == 0 && !w->stopping)
            g_cond_wait(&w->wake, &w->lock);
        if (w->queue->len == 0)
            break; /* stopping, and everything queued is done */
        g_autoptr(GPtrArray) batch = w->queue;
        g_autoptr(GArray) callbacks = w->callbacks;
        w->queue = new_queue();
        w->callbacks = new_callbacks();
        g_mutex_unlock(&w->lock);

        bool ok = commit_batch(w, batch);
        for (guint i = 0; i < callbacks->len; i++) {
            struct audit_callback *cb = &g_array_index(callbacks, struct audit_callback, i);
            if (cb->done)
                cb->done(ok, cb->data);
        }

        g_mutex_lock(&w->lock);
        w->finished += batch->len;
        if (ok) {
            w->committed += batch->len;
        } else {
            w->failed += batch->len;
            w->failed_since_flush = true;
        }
        g_cond_broadcast(&w->done);
    }
    g_mutex_unlock(&w->lock);
    return NULL;
}

vej_audit_writer *
vej_audit_writer_new(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);

    g_autoptr(sqlite3) db = vej__sqlite_open(path, false, VEJ__SYNC_FULL, error);
    if (db == NULL)
        return NULL;
    int version = 0;
    if (!vej__sqlite_user_version(db, &version, error))
        return NULL;
    if (version < 1) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "%s: the database has no schema yet (open it with vej_store_open first)", path);
        return NULL;
    }

    vej_audit_writer *w = g_new0(vej_audit_writer, 1);
    w->db = g_steal_pointer(&db);
    g_mutex_init(&w->lock);
    g_cond_init(&w->wake);
    g_cond_init(&w->done);
    w->queue = new_queue();
    w->callbacks = new_callbacks();
    w->thread = g_thread_try_new("vej-audit", writer_thread, w, error);
    if (w->thread == NULL) {
        g_ptr_array_unref(w->queue);
        g_array_unref(w->callbacks);
        g_cond_clear(&w->done);
        g_cond_clear(&w->wake);
        g_mutex_clear(&w->lock);
        (void)sqlite3_close_v2(w->db); /* nothing was prepared on it */
        g_free(w);
        return NULL;
    }
    return w;
}

void
vej_audit_append(vej_audit_writer *w, const char *actor, const char *action, const char *target,
                 const char *detail_json)
{
    vej_audit_append_then(w, actor, action, target, detail_json, NULL, NULL);
}

void
vej_audit_append_then(vej_audit_writer *w, const char *actor, const char *action,
                      const char *target, const char *detail_json, vej_audit_done_fn done,
                      void *data)
{
    g_return_if_fail(w != NULL && actor != NULL && action != NULL);

    /* Built outside the lock: the copy and UTF-8 check are the slow part. */
    struct vej_audit_entry *e = vej__audit_entry_new(actor, action, target, detail_json);
    struct audit_callback cb = {done, data};
    g_mutex_lock(&w->lock);
    g_ptr_array_add(w->queue, e);
    g_array_append_val(w->callbacks, cb);
    w->enqueued++;
    g_cond_signal(&w->wake);
    g_mutex_unlock(&w->lock);
}

gboolean
vej_audit_writer_flush(vej_audit_writer *w)
{
    g_return_val_if_fail(w != NULL, FALSE);

    g_mutex_lock(&w->lock);
    uint64_t ticket = w->enqueued;
    while (w->finished < ticket)
        g_cond_wait(&w->done, &w->lock);
    gboolean ok = !w->failed_since_flush;
    w->failed_since_flush = false;
    g_mutex_unlock(&w->lock);
    return ok;
}

void
vej_audit_writer_stats(vej_audit_writer *w, uint64_t *committed, uint64_t *failed)
{
    g_return_if_fail(w != NULL);

    g_mutex_lock(&w->lock);
    if (committed != NULL)
        *committed = w->committed;
    if (failed != NULL)
        *failed = w->failed;
    g_mutex_unlock(&w->lock);
}

void
vej_audit_writer_free(vej_audit_writer *w)
{
    if (w == NULL)
        return;
    /* The thread drains the queue before it sees `stopping`, so this is
     * also the final flush. */
    g_mutex_lock(&w->lock);
    w->stopping = true;
    g_cond_signal(&w->wake);
    g_mutex_unlock(&w->lock);
    g_thread_join(w->thread);

    int rc = vej__sqlite_close(w->db);
    if (rc != SQLITE_OK)
        g_warning("audit: closing the database failed: %s (%d)", sqlite3_errstr(rc), rc);
    g_ptr_array_unref(w->queue);
    g_array_unref(w->callbacks);
    g_cond_clear(&w->done);
    g_cond_clear(&w->wake);
    g_mutex_clear(&w->lock);
    g_free(w);
}
