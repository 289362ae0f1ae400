/* Unit tests for gateway/relay/relay.c: the calls of the relay's API.
 *
 * The signalling thread never waits for a worker: with the hearing's
 * worker stalled (a closure that blocks it, posted first), every call and
 * every close returns at once; nothing is answered while the worker is
 * stalled; once it runs, each call is answered by `done` with its id, in
 * the order the calls were made, after the reports it caused; a call that
 * fails at once (a hearing with no media state) never calls `done`. And a
 * subscribe offer left unanswered is replaced by a new revision on
 * webrtc.subscribe and on a resume, the old revision's answer then being
 * stale (CONFLICT). */
#include "gateway/relay/relay-priv.h"

#include <glib.h>
#include <string.h>

/* What the callbacks saw, in order (they run on the worker). */
struct seen {
    char kind;   /* 'o' offer, 's' state, 'd' done */
    uint64_t id; /* done: the call id; offer: the revision */
    int code;    /* done: -1 success, else the relay error code */
    char participant[32];
    char state[16];
};

static GAsyncQueue *seen_queue;

static void
on_offer(void *user, const char *hid, const char *pid, const char *sdp, uint64_t revision,
         const char *tracks)
{
    (void)user, (void)hid, (void)sdp, (void)tracks;
    struct seen *s = g_new0(struct seen, 1);
    s->kind = 'o';
    s->id = revision;
    g_strlcpy(s->participant, pid, sizeof s->participant);
    g_async_queue_push(seen_queue, s);
}

static void
on_state(void *user, const char *hid, const char *pid, enum vej_relay_pc pc, const char *state,
         const char *reason)
{
    (void)user, (void)hid, (void)pc, (void)reason;
    struct seen *s = g_new0(struct seen, 1);
    s->kind = 's';
    g_strlcpy(s->participant, pid, sizeof s->participant);
    g_strlcpy(s->state, state, sizeof s->state);
    g_async_queue_push(seen_queue, s);
}

static void
on_done(void *user, const char *hid, const char *pid, uint64_t call_id, const char *result,
        const GError *error)
{
    (void)user, (void)hid, (void)result;
    g_assert_true(error == NULL || error->domain == VEJ_RELAY_ERROR);
    struct seen *s = g_new0(struct seen, 1);
    s->kind = 'd';
    s->id = call_id;
    s->code = error ? error->code : -1;
    g_strlcpy(s->participant, pid, sizeof s->participant);
    g_async_queue_push(seen_queue, s);
}

static struct vej_relay *
relay_new(void)
{
    struct vej_relay_config config = {
        .workers = 1,
        .bind_addresses = (char *)"127.0.0.1",
    };
    struct vej_relay_callbacks cb = {
        .offer = on_offer,
        .state = on_state,
        .done = on_done,
    };
    g_autoptr(GError) error = NULL;
    struct vej_relay *r = vej_relay_new(&config, &cb, &error);
    g_assert_no_error(error);
    return r;
}

/* The next report, waiting up to 10 s for it. */
static struct seen *
next_seen(void)
{
    struct seen *s = g_async_queue_timeout_pop(seen_queue, 10 * G_USEC_PER_SEC);
    g_assert_nonnull(s);
    return s;
}

/* The next `done`, checking its id and outcome; the offers before it are
 * counted into *offers (may be NULL) and their last revision kept. */
static void
expect_done(uint64_t id, int code, unsigned *offers, uint64_t *revision)
{
    for (;;) {
        g_autofree struct seen *s = next_seen();
        if (s->kind == 'o') {
            if (offers)
                (*offers)++;
            if (revision)
                *revision = s->id;
            continue;
        }
        if (s->kind != 'd')
            continue;
        g_assert_cmpuint(s->id, ==, id);
        g_assert_cmpint(s->code, ==, code);
        return;
    }
}

/* A worker blocked until the test opens the gate. */
struct gate {
    GMutex lock;
    GCond cond;
    bool open, entered;
};

static void
stall(void *data)
{
    struct gate *g = data;
    g_mutex_lock(&g->lock);
    g->entered = true;
    g_cond_broadcast(&g->cond);
    while (!g->open)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
}

static void
gate_wait_entered(struct gate *g)
{
    g_mutex_lock(&g->lock);
    while (!g->entered)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
}

static void
gate_open(struct gate *g)
{
    g_mutex_lock(&g->lock);
    g->open = true;
    g_cond_broadcast(&g->cond);
    g_mutex_unlock(&g->lock);
}

/* The calls a signalling thread makes, on a thread of their own so that a
 * call that waits for the stalled worker fails the test instead of
 * hanging it. */
struct caller {
    struct vej_relay *relay;
    gint finished;
};

static gpointer
make_calls(gpointer data)
{
    struct caller *c = data;
    struct vej_relay *r = c->relay;
    g_autoptr(GError) e = NULL;
    g_assert_true(vej_relay_subscribe(r, "hrg_a", "ptc_sub", 1, &e));
    g_assert_true(vej_relay_publish(r, "hrg_a", "ptc_pub", "not sdp", 0, 2, &e));
    g_assert_true(vej_relay_subscribe_answer(r, "hrg_a", "ptc_sub", 99, "v=0\r\n", 3, &e));
    g_assert_true(vej_relay_add_candidate(r, "hrg_a", "ptc_sub", VEJ_RELAY_PUBLISH,
                                          "candidate:1 1 udp 1 127.0.0.1 9 typ host", 4, &e));
    g_assert_true(vej_relay_restart_ice(r, "hrg_a", "ptc_nobody", 5, &e));
    vej_relay_resend_offer(r, "hrg_a", "ptc_nobody");
    vej_relay_close_participant(r, "hrg_a", "ptc_nobody");
    /* A hearing with media state the worker holds, closed while stalled. */
    g_assert_true(vej_relay_subscribe(r, "hrg_b", "ptc_b", 6, &e));
    vej_relay_close_hearing(r, "hrg_b");
    g_assert_no_error(e);
    g_atomic_int_set(&c->finished, 1);
    return NULL;
}

static void
test_calls_never_wait(void)
{
    struct vej_relay *r = relay_new();
    struct gate gate = {0};
    g_mutex_init(&gate.lock);
    g_cond_init(&gate.cond);
    vej_worker_post(r->workers[0].worker, stall, &gate);
    gate_wait_entered(&gate);

    struct caller caller = {.relay = r};
    GThread *t = g_thread_new("caller", make_calls, &caller);
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (!g_atomic_int_get(&caller.finished) && g_get_monotonic_time() < deadline)
        g_usleep(1000);
    bool finished = g_atomic_int_get(&caller.finished);
    /* Nothing was answered while the worker was stalled. */
    g_assert_cmpint(g_async_queue_length(seen_queue), ==, 0);
    gate_open(&gate);
    g_thread_join(t);
    g_assert_true(finished); /* no call waited for the worker */

    /* A call on a hearing without media state fails at once: no done. */
    g_autoptr(GError) e = NULL;
    g_assert_false(vej_relay_subscribe_answer(r, "hrg_none", "ptc_x", 1, "v=0\r\n", 77, &e));
    g_assert_error(e, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_NOT_FOUND);

    /* Answers in the order of the calls, each after what it caused: the
     * subscribe's offer (revision 1) comes before its done. */
    unsigned offers = 0;
    uint64_t revision = 0;
    expect_done(1, -1, &offers, &revision);
    g_assert_cmpuint(offers, ==, 1);
    g_assert_cmpuint(revision, ==, 1);
    expect_done(2, VEJ_RELAY_ERROR_INVALID, NULL, NULL);
    expect_done(3, VEJ_RELAY_ERROR_CONFLICT, NULL, NULL);  /* not the offer in flight */
    expect_done(4, VEJ_RELAY_ERROR_NOT_FOUND, NULL, NULL); /* no publish PC */
    expect_done(5, VEJ_RELAY_ERROR_NOT_FOUND, NULL, NULL); /* nobody */
    expect_done(6, -1, NULL, NULL);
    g_mutex_clear(&gate.lock);
    g_cond_clear(&gate.cond);
    vej_relay_free(r);
    g_assert_null(g_async_queue_try_pop(seen_queue));
}

/* Waits for the next offer and returns its revision. */
static uint64_t
next_offer(void)
{
    for (;;) {
        g_autofree struct seen *s = next_seen();
        if (s->kind == 'o')
            return s->id;
    }
}

static void
test_unanswered_offer_replaced(void)
{
    struct vej_relay *r = relay_new();
    g_autoptr(GError) e = NULL;
    g_assert_true(vej_relay_subscribe(r, "hrg_c", "ptc_c", 1, &e));
    uint64_t revision = 0;
    expect_done(1, -1, NULL, &revision);
    g_assert_cmpuint(revision, ==, 1);
    /* The client never answered (it lost the offer): webrtc.subscribe
     * again makes a new revision, and the old one is stale. */
    g_assert_true(vej_relay_subscribe(r, "hrg_c", "ptc_c", 2, &e));
    revision = 0;
    expect_done(2, -1, NULL, &revision);
    g_assert_cmpuint(revision, ==, 2);
    g_assert_true(vej_relay_subscribe_answer(r, "hrg_c", "ptc_c", 1, "v=0\r\n", 3, &e));
    expect_done(3, VEJ_RELAY_ERROR_CONFLICT, NULL, NULL);
    /* A resume sends it again: revision 3. */
    vej_relay_resend_offer(r, "hrg_c", "ptc_c");
    g_assert_cmpuint(next_offer(), ==, 3);
    g_assert_true(vej_relay_subscribe_answer(r, "hrg_c", "ptc_c", 2, "v=0\r\n", 4, &e));
    expect_done(4, VEJ_RELAY_ERROR_CONFLICT, NULL, NULL);
    /* An unusable answer to the current revision leaves it in flight, and
     * a resume replaces it again. */
    g_assert_true(vej_relay_subscribe_answer(r, "hrg_c", "ptc_c", 3, "v=0\r\n", 5, &e));
    unsigned offers = 0;
    expect_done(5, VEJ_RELAY_ERROR_INVALID, &offers, NULL);
    g_assert_cmpuint(offers, ==, 0);
    vej_relay_resend_offer(r, "hrg_c", "ptc_c");
    g_assert_cmpuint(next_offer(), ==, 4);
    g_assert_no_error(e);
    vej_relay_close_hearing(r, "hrg_c");
    vej_relay_free(r);
    struct seen *s;
    while ((s = g_async_queue_try_pop(seen_queue)))
        g_free(s);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    seen_queue = g_async_queue_new_full(g_free);
    g_test_add_func("/relay/calls-never-wait", test_calls_never_wait);
    g_test_add_func("/relay/unanswered-offer-replaced", test_unanswered_offer_replaced);
    int rc = g_test_run();
    g_async_queue_unref(seen_queue);
    return rc;
}
