/* Tests gateway/transport/worker.c: closures run on the worker's own thread, in
 * order, and vej_worker_call waits for them. */
#include <glib.h>

#include "gateway/transport/worker.h"

struct probe {
    struct vej_worker *w;
    GThread *ran_on;
    bool on_worker;
    int order[8];
    int n;
};

static void
record(void *data)
{
    struct probe *p = data;
    p->ran_on = g_thread_self();
    p->on_worker = vej_worker_is_current(p->w);
    if (p->n < 8)
        p->order[p->n] = p->n;
    p->n++;
}

static void
test_call_runs_on_worker(void)
{
    g_autoptr(GError) error = NULL;
    struct probe p = {0};
    p.w = vej_worker_new(0, &error);
    g_assert_no_error(error);
    g_assert_false(vej_worker_is_current(p.w));
    vej_worker_call(p.w, record, &p);
    g_assert_true(p.on_worker);
    g_assert_true(p.ran_on != g_thread_self());
    g_assert_nonnull(vej_worker_context(p.w));
    vej_worker_free(p.w);
}

static void
test_posts_in_order(void)
{
    g_autoptr(GError) error = NULL;
    struct probe p = {0};
    p.w = vej_worker_new(1, &error);
    g_assert_no_error(error);
    for (int i = 0; i < 5; i++)
        vej_worker_post(p.w, record, &p);
    /* A call queued after the posts returns after all of them ran. */
    vej_worker_call(p.w, record, &p);
    g_assert_cmpint(p.n, ==, 6);
    for (int i = 0; i < 6; i++)
        g_assert_cmpint(p.order[i], ==, i);
    g_assert_cmpuint(vej_worker_index(p.w), ==, 1);
    vej_worker_free(p.w);
}

static void
nested(void *data)
{
    struct probe *p = data;
    /* On the worker itself a call runs at once instead of deadlocking. */
    vej_worker_call(p->w, record, p);
}

static void
test_call_from_worker_is_direct(void)
{
    g_autoptr(GError) error = NULL;
    struct probe p = {0};
    p.w = vej_worker_new(2, &error);
    g_assert_no_error(error);
    vej_worker_call(p.w, nested, &p);
    g_assert_cmpint(p.n, ==, 1);
    g_assert_true(p.on_worker);
    vej_worker_free(p.w);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/worker/call-runs-on-worker", test_call_runs_on_worker);
    g_test_add_func("/worker/posts-in-order", test_posts_in_order);
    g_test_add_func("/worker/call-from-worker-is-direct", test_call_from_worker_is_direct);
    return g_test_run();
}
