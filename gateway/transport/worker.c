/* worker.c - a thread with its own GMainContext and a closure queue. */
#include "gateway/transport/worker.h"

struct vej_worker {
    unsigned index;
    GMainContext *context;
    GMainLoop *loop;
    GThread *thread;
};

struct post {
    void (*fn)(void *data);
    void *data;
    /* for vej_worker_call */
    GMutex *lock;
    GCond *cond;
    bool *done;
};

static gpointer
worker_main(gpointer user)
{
    struct vej_worker *w = user;
    g_main_context_push_thread_default(w->context);
    g_main_loop_run(w->loop);
    g_main_context_pop_thread_default(w->context);
    return NULL;
}

struct vej_worker *
vej_worker_new(unsigned index, GError **error)
{
    struct vej_worker *w = g_new0(struct vej_worker, 1);
    w->index = index;
    w->context = g_main_context_new();
    w->loop = g_main_loop_new(w->context, FALSE);
    char name[16];
    g_snprintf(name, sizeof name, "vej-media-%u", index);
    w->thread = g_thread_try_new(name, worker_main, w, error);
    if (!w->thread) {
        g_main_loop_unref(w->loop);
        g_main_context_unref(w->context);
        g_free(w);
        return NULL;
    }
    return w;
}

/* Always queue (never g_main_context_invoke, which runs the function on
 * the caller's thread when nobody owns the context yet). */
static void
queue_on(GMainContext *context, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, fn, data, destroy);
    g_source_attach(src, context);
    g_source_unref(src);
}

static gboolean
quit_loop(gpointer user)
{
    g_main_loop_quit(user);
    return G_SOURCE_REMOVE;
}

void
vej_worker_free(struct vej_worker *w)
{
    if (!w)
        return;
    queue_on(w->context, quit_loop, w->loop, NULL);
    g_thread_join(w->thread);
    /* Sources left on the context (libnice timers of closed agents) go
     * with it. */
    g_main_loop_unref(w->loop);
    g_main_context_unref(w->context);
    g_free(w);
}

unsigned
vej_worker_index(const struct vej_worker *w)
{
    return w->index;
}

GMainContext *
vej_worker_context(struct vej_worker *w)
{
    return w->context;
}

bool
vej_worker_is_current(const struct vej_worker *w)
{
    return g_thread_self() == w->thread;
}

static gboolean
run_post(gpointer user)
{
    struct post *p = user;
    p->fn(p->data);
    if (p->lock) {
        g_mutex_lock(p->lock);
        *p->done = true;
        g_cond_signal(p->cond);
        g_mutex_unlock(p->lock);
    }
    return G_SOURCE_REMOVE;
}

void
vej_worker_post(struct vej_worker *w, void (*fn)(void *data), void *data)
{
    struct post *p = g_new0(struct post, 1);
    p->fn = fn;
    p->data = data;
    queue_on(w->context, run_post, p, g_free);
}

void
vej_worker_call(struct vej_worker *w, void (*fn)(void *data), void *data)
{
    if (vej_worker_is_current(w)) {
        fn(data);
        return;
    }
    GMutex lock;
    GCond cond;
    bool done = false;
    g_mutex_init(&lock);
    g_cond_init(&cond);
    struct post *p = g_new0(struct post, 1);
    p->fn = fn;
    p->data = data;
    p->lock = &lock;
    p->cond = &cond;
    p->done = &done;
    queue_on(w->context, run_post, p, g_free);
    g_mutex_lock(&lock);
    while (!done)
        g_cond_wait(&cond, &lock);
    g_mutex_unlock(&lock);
    g_mutex_clear(&lock);
    g_cond_clear(&cond);
}
