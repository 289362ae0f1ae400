/* tests/tsan/glib-sync.c - tells ThreadSanitizer about GLib's
 * synchronisation, linked into the executables of a -Db_sanitize=thread
 * build only (meson.build: tsan_sources).
 *
 * Debian's GLib is not instrumented and its GMutex and GCond are futexes,
 * not pthread calls TSan intercepts, so every hand-over between our
 * threads through them (a lock, a condition, a closure queued on another
 * thread's main context, a thread-pool job) would look like a data race.
 * These definitions take the place of GLib's for calls from our code
 * (they are found first) and add the happens-before edge TSan cannot
 * see: release before handing over, acquire after taking over. The real
 * function is found with dlsym(RTLD_NEXT). GLib's calls among its own
 * functions are left alone: its memory is not instrumented anyway.
 *
 * Invariant: no behaviour changes; only annotations around the real call.
 */
#include <dlfcn.h>
#include <glib.h>
#include <sanitizer/tsan_interface.h>
#include <stdlib.h>

/* The real GLib function `name`, looked up on first use (by any thread:
 * the pointer is atomic, every lookup finds the same). */
#define REAL(name)                                                                                 \
    static __typeof__(&name) real_##name##_ptr;                                                    \
    __typeof__(&name) real_##name = __atomic_load_n(&real_##name##_ptr, __ATOMIC_RELAXED);         \
    if (!real_##name) {                                                                            \
        real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name);                                  \
        __atomic_store_n(&real_##name##_ptr, real_##name, __ATOMIC_RELAXED);                       \
    }

void g_mutex_lock(GMutex *m);
void g_mutex_unlock(GMutex *m);
gboolean g_mutex_trylock(GMutex *m);
void g_cond_wait(GCond *c, GMutex *m);
gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time);
void g_source_set_callback(GSource *source, GSourceFunc func, gpointer data, GDestroyNotify notify);
void g_main_context_invoke(GMainContext *context, GSourceFunc function, gpointer data);
GThreadPool *g_thread_pool_new(GFunc func, gpointer user_data, gint max_threads, gboolean exclusive,
                               GError **error);
gboolean g_thread_pool_push(GThreadPool *pool, gpointer data, GError **error);

void
g_mutex_lock(GMutex *m)
{
    REAL(g_mutex_lock);
    real_g_mutex_lock(m);
    __tsan_acquire(m);
}

gboolean
g_mutex_trylock(GMutex *m)
{
    REAL(g_mutex_trylock);
    gboolean ok = real_g_mutex_trylock(m);
    if (ok)
        __tsan_acquire(m);
    return ok;
}

void
g_mutex_unlock(GMutex *m)
{
    REAL(g_mutex_unlock);
    __tsan_release(m);
    real_g_mutex_unlock(m);
}

void
g_cond_wait(GCond *c, GMutex *m)
{
    REAL(g_cond_wait);
    __tsan_release(m);
    real_g_cond_wait(c, m);
    __tsan_acquire(m);
}

gboolean
g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    REAL(g_cond_wait_until);
    __tsan_release(m);
    gboolean r = real_g_cond_wait_until(c, m, end_time);
    __tsan_acquire(m);
    return r;
}

/* A callback run later, maybe on another thread: what the caller wrote
 * before handing it over happens before it runs. */
struct box {
    GSourceFunc func;
    gpointer data;
    GDestroyNotify notify;
};

static gboolean
box_run(gpointer user)
{
    struct box *b = user;
    __tsan_acquire(b);
    gboolean again = b->func(b->data);
    __tsan_release(b); /* a repeating source: the next run follows this one */
    return again;
}

static void
box_free(gpointer user)
{
    struct box *b = user;
    __tsan_acquire(b);
    if (b->notify)
        b->notify(b->data);
    free(b);
}

static struct box *
box_new(GSourceFunc func, gpointer data, GDestroyNotify notify)
{
    struct box *b = malloc(sizeof *b);
    if (!b)
        abort();
    b->func = func;
    b->data = data;
    b->notify = notify;
    return b;
}

void
g_source_set_callback(GSource *source, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
    REAL(g_source_set_callback);
    if (!func) {
        real_g_source_set_callback(source, func, data, notify);
        return;
    }
    struct box *b = box_new(func, data, notify);
    real_g_source_set_callback(source, box_run, b, box_free);
    /* After GLib's own allocation for the callback, before the source can
     * be attached and run. */
    __tsan_release(b);
}

void
g_main_context_invoke(GMainContext *context, GSourceFunc function, gpointer data)
{
    struct box *b = box_new(function, data, NULL);
    __tsan_release(b);
    g_main_context_invoke_full(context, G_PRIORITY_DEFAULT, box_run, b, box_free);
}

/* A thread pool's jobs: pushed on one thread, run on another. */
struct pool_box {
    GFunc func;
    gpointer user_data;
};

static void
pool_run(gpointer data, gpointer user)
{
    struct pool_box *b = user;
    __tsan_acquire(data);
    b->func(data, b->user_data);
}

GThreadPool *
g_thread_pool_new(GFunc func, gpointer user_data, gint max_threads, gboolean exclusive,
                  GError **error)
{
    REAL(g_thread_pool_new);
    /* One small box per pool, kept for the process (pools are few). */
    struct pool_box *b = malloc(sizeof *b);
    if (!b)
        abort();
    b->func = func;
    b->user_data = user_data;
    return real_g_thread_pool_new(pool_run, b, max_threads, exclusive, error);
}

gboolean
g_thread_pool_push(GThreadPool *pool, gpointer data, GError **error)
{
    REAL(g_thread_pool_push);
    __tsan_release(data);
    return real_g_thread_pool_push(pool, data, error);
}

/* GAsyncQueue (the tests hand reports between threads with it): a push
 * releases, a pop that returns an item acquires. */
void g_async_queue_push(GAsyncQueue *queue, gpointer data);
gpointer g_async_queue_pop(GAsyncQueue *queue);
gpointer g_async_queue_try_pop(GAsyncQueue *queue);
gpointer g_async_queue_timeout_pop(GAsyncQueue *queue, guint64 timeout);

void
g_async_queue_push(GAsyncQueue *queue, gpointer data)
{
    REAL(g_async_queue_push);
    __tsan_release(queue);
    real_g_async_queue_push(queue, data);
}

gpointer
g_async_queue_pop(GAsyncQueue *queue)
{
    REAL(g_async_queue_pop);
    gpointer data = real_g_async_queue_pop(queue);
    __tsan_acquire(queue);
    return data;
}

gpointer
g_async_queue_try_pop(GAsyncQueue *queue)
{
    REAL(g_async_queue_try_pop);
    gpointer data = real_g_async_queue_try_pop(queue);
    if (data)
        __tsan_acquire(queue);
    return data;
}

gpointer
g_async_queue_timeout_pop(GAsyncQueue *queue, guint64 timeout)
{
    REAL(g_async_queue_timeout_pop);
    gpointer data = real_g_async_queue_timeout_pop(queue, timeout);
    if (data)
        __tsan_acquire(queue);
    return data;
}
