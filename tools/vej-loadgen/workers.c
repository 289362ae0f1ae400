/* tools/vej-loadgen/workers.c - the media threads of vej-loadgen.
 *
 * --threads N starts N threads, each running its own GMainContext; PC k
 * belongs to thread k % N (its libnice agent, DTLS and RTCP timers and
 * receive callbacks run there) and each thread's 1 ms clock sends the
 * media of its own publishers. The main thread keeps the signalling.
 *
 * Invariants: a PC's media state is touched only by its thread, except
 * while the main thread holds every worker paused (lg_workers_pause):
 * that is when the report reads and resets per-stream counts and the
 * histograms. Totals shared by the threads are updated with LG_ADD
 * (atomic); the fan-out table is under run->fanout_lock. */
#include "loadgen.h"

struct lg_worker {
    struct lg_run *run;
    int index;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    GPtrArray *pubs; /* struct lg_pc *, touched by this thread only */
    bool started;    /* its publishers' clocks are set */
};

static gpointer
worker_main(gpointer user)
{
    struct lg_worker *w = user;
    g_main_context_push_thread_default(w->ctx);
    g_main_loop_run(w->loop);
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

static gboolean
worker_tick(gpointer user)
{
    struct lg_worker *w = user;
    if (!__atomic_load_n(&w->run->sending, __ATOMIC_ACQUIRE))
        return G_SOURCE_CONTINUE;
    if (!w->started) {
        lg_media_start_pubs(w->pubs);
        w->started = true;
    }
    lg_media_tick_pubs(w->pubs, lg_now_ns());
    return G_SOURCE_CONTINUE;
}

void
lg_workers_start(struct lg_run *run, int n)
{
    run->n_workers = n;
    run->workers = g_new0(struct lg_worker, (gsize)n);
    g_mutex_init(&run->pause_lock);
    g_cond_init(&run->pause_cond);
    for (int i = 0; i < n; i++) {
        struct lg_worker *w = &run->workers[i];
        w->run = run;
        w->index = i;
        w->ctx = g_main_context_new();
        w->loop = g_main_loop_new(w->ctx, FALSE);
        w->pubs = g_ptr_array_new();
        GSource *tick = g_timeout_source_new(1);
        g_source_set_callback(tick, worker_tick, w, NULL);
        g_source_attach(tick, w->ctx);
        g_source_unref(tick);
        char name[16];
        g_snprintf(name, sizeof name, "lg-media-%d", i);
        w->thread = g_thread_new(name, worker_main, w);
    }
}

void
lg_workers_stop(struct lg_run *run)
{
    for (int i = 0; i < run->n_workers; i++) {
        struct lg_worker *w = &run->workers[i];
        g_main_loop_quit(w->loop);
        g_thread_join(w->thread);
    }
}

void
lg_workers_free(struct lg_run *run)
{
    for (int i = 0; i < run->n_workers; i++) {
        struct lg_worker *w = &run->workers[i];
        g_main_loop_unref(w->loop);
        g_main_context_unref(w->ctx);
        g_ptr_array_unref(w->pubs);
    }
    g_free(run->workers);
    run->workers = NULL;
    run->n_workers = 0;
    g_mutex_clear(&run->pause_lock);
    g_cond_clear(&run->pause_cond);
}

GMainContext *
lg_workers_context(struct lg_run *run, int k)
{
    return run->workers[k % run->n_workers].ctx;
}

struct add_pub {
    struct lg_worker *w;
    struct lg_pc *pc;
};

static gboolean
add_pub_here(gpointer user)
{
    struct add_pub *a = user;
    g_ptr_array_add(a->w->pubs, a->pc);
    g_free(a);
    return G_SOURCE_REMOVE;
}

void
lg_workers_add_publisher(struct lg_run *run, int k, struct lg_pc *pc)
{
    struct add_pub *a = g_new0(struct add_pub, 1);
    a->w = &run->workers[k % run->n_workers];
    a->pc = pc;
    g_main_context_invoke(a->w->ctx, add_pub_here, a);
}

/* Runs in each worker: says it is paused, waits for the release. */
static gboolean
pause_here(gpointer user)
{
    struct lg_run *run = user;
    g_mutex_lock(&run->pause_lock);
    run->n_paused++;
    g_cond_broadcast(&run->pause_cond);
    while (run->paused)
        g_cond_wait(&run->pause_cond, &run->pause_lock);
    run->n_paused--;
    g_cond_broadcast(&run->pause_cond);
    g_mutex_unlock(&run->pause_lock);
    return G_SOURCE_REMOVE;
}

void
lg_workers_pause(struct lg_run *run)
{
    g_mutex_lock(&run->pause_lock);
    run->paused = true;
    g_mutex_unlock(&run->pause_lock);
    for (int i = 0; i < run->n_workers; i++)
        g_main_context_invoke(run->workers[i].ctx, pause_here, run);
    g_mutex_lock(&run->pause_lock);
    while (run->n_paused < run->n_workers)
        g_cond_wait(&run->pause_cond, &run->pause_lock);
    g_mutex_unlock(&run->pause_lock);
}

void
lg_workers_resume(struct lg_run *run)
{
    g_mutex_lock(&run->pause_lock);
    run->paused = false;
    g_cond_broadcast(&run->pause_cond);
    while (run->n_paused > 0)
        g_cond_wait(&run->pause_cond, &run->pause_lock);
    g_mutex_unlock(&run->pause_lock);
}
