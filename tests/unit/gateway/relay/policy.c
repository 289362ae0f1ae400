/* Unit tests for the relay's policy (gateway/relay/relay.c set_policy,
 * router.c take_policy), through the relay's API on a real worker:
 * updates never wait and are reported once enforced; a move in a hearing
 * of 300 costs the worker O(N) cells, not O(N^2); updates queued before
 * the worker runs coalesce (one take, the latest value of each cell, only
 * the last generation reported); an update is still enforced and reported
 * when the hearing is closed right after it; a freed index's cells go. */
#include "gateway/relay/relay-priv.h"

#include <glib.h>
#include <string.h>

enum { N = 300 };

struct reports {
    GMutex lock;
    GCond cond;
    GArray *generations; /* uint64_t, in the order reported */
};

static void
on_applied(void *user, const char *hearing_id, uint64_t generation)
{
    struct reports *r = user;
    g_mutex_lock(&r->lock);
    g_array_append_val(r->generations, generation);
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
}

static uint64_t
last_reported(struct reports *r)
{
    g_mutex_lock(&r->lock);
    uint64_t g =
        r->generations->len ? g_array_index(r->generations, uint64_t, r->generations->len - 1) : 0;
    g_mutex_unlock(&r->lock);
    return g;
}

static void
wait_reported(struct reports *r, uint64_t generation)
{
    int64_t deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    g_mutex_lock(&r->lock);
    while (!r->generations->len ||
           g_array_index(r->generations, uint64_t, r->generations->len - 1) < generation)
        g_assert_true(g_cond_wait_until(&r->cond, &r->lock, deadline));
    g_mutex_unlock(&r->lock);
}

struct fixture {
    struct vej_relay *relay;
    struct reports reports;
    char ids[N + 1][32];
    struct vej_relay_binding bindings[N];
    GArray *cells;
};

static void
fixture_set_up(struct fixture *f, gconstpointer data)
{
    g_mutex_init(&f->reports.lock);
    g_cond_init(&f->reports.cond);
    f->reports.generations = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    struct vej_relay_config config = {.workers = 1};
    struct vej_relay_callbacks cb = {.policy_applied = on_applied, .user = &f->reports};
    g_autoptr(GError) error = NULL;
    f->relay = vej_relay_new(&config, &cb, &error);
    g_assert_no_error(error);
    for (uint32_t i = 1; i <= N; i++) {
        g_snprintf(f->ids[i], sizeof f->ids[i], "ptc_%026u", i);
        f->bindings[i - 1] = (struct vej_relay_binding){.index = i, .participant_id = f->ids[i]};
    }
    f->cells = g_array_new(FALSE, FALSE, sizeof(struct vej_relay_cell));
}

static void
fixture_tear_down(struct fixture *f, gconstpointer data)
{
    vej_relay_free(f->relay);
    g_array_unref(f->cells);
    g_array_unref(f->reports.generations);
    g_mutex_clear(&f->reports.lock);
    g_cond_clear(&f->reports.cond);
}

static const uint8_t ALL = VEJ_RELAY_AUDIO_PRESENT | VEJ_RELAY_AUDIO_FLOWING |
                           VEJ_RELAY_VIDEO_PRESENT | VEJ_RELAY_VIDEO_FLOWING;

static void
add(GArray *cells, uint32_t sub, uint32_t pub, uint8_t bits)
{
    struct vej_relay_cell c = {.subscriber = sub, .publisher = pub, .bits = bits};
    g_array_append_val(cells, c);
}

/* Everyone in main, in session: every pair flows, the recorder records all. */
static void
post_everyone(struct fixture *f, const char *hid, uint64_t generation)
{
    g_array_set_size(f->cells, 0);
    for (uint32_t a = 1; a <= N; a++) {
        for (uint32_t b = 1; b <= N; b++)
            if (a != b)
                add(f->cells, a, b, ALL);
        add(f->cells, VEJ_RELAY_RECORDER, a, ALL);
    }
    struct vej_relay_policy_update u = {.bindings = f->bindings,
                                        .n_bindings = N,
                                        .cells = (void *)f->cells->data,
                                        .n_cells = f->cells->len};
    vej_relay_set_policy(f->relay, hid, generation, &u);
}

/* The mover's row and column, as signalling/media.c hands them over for a
 * move (2 (N - 1) + 1 cells): in a room with `with`, or in main. */
static void
post_move(struct fixture *f, const char *hid, uint64_t generation, uint32_t mover, uint32_t with,
          bool in_room)
{
    g_array_set_size(f->cells, 0);
    for (uint32_t q = 1; q <= N; q++) {
        if (q == mover)
            continue;
        uint8_t v = !in_room || q == with ? ALL : 0;
        add(f->cells, mover, q, v);
        add(f->cells, q, mover, v);
    }
    add(f->cells, VEJ_RELAY_RECORDER, mover, in_room ? 0 : ALL);
    struct vej_relay_policy_update u = {.cells = (void *)f->cells->data, .n_cells = f->cells->len};
    vej_relay_set_policy(f->relay, hid, generation, &u);
}

static struct vej_relay_stats
stats(struct fixture *f)
{
    struct vej_relay_stats s;
    vej_relay_stats(f->relay, &s);
    return s;
}

static void
test_move_costs_o_n(struct fixture *f, gconstpointer data)
{
    post_everyone(f, "hrg_a", 1);
    wait_reported(&f->reports, 1);
    struct vej_relay_stats s0 = stats(f);
    g_assert_cmpuint(s0.policy_cells_applied, ==, (uint64_t)N * (N - 1) + N);
    /* a move: O(N) cells change on the worker (the advocate's two keep
     * their value), nothing else is touched */
    int64_t t0 = g_get_monotonic_time();
    post_move(f, "hrg_a", 2, 17, 18, true);
    int64_t t_posted = g_get_monotonic_time();
    wait_reported(&f->reports, 2);
    int64_t t1 = g_get_monotonic_time();
    struct vej_relay_stats s1 = stats(f);
    uint64_t moved = s1.policy_cells_applied - s0.policy_cells_applied;
    g_test_message("a move in a hearing of %d: %u cells handed over, %" G_GUINT64_FORMAT
                   " applied on the worker (of %d); set_policy %" G_GINT64_FORMAT
                   " us, enforced after %" G_GINT64_FORMAT " us",
                   N, f->cells->len, moved, N * N, t_posted - t0, t1 - t0);
    g_assert_cmpuint(moved, ==, 2 * (N - 2) + 1);
    /* the same update again: nothing changes */
    post_move(f, "hrg_a", 3, 17, 18, true);
    wait_reported(&f->reports, 3);
    g_assert_cmpuint(stats(f).policy_cells_applied, ==, s1.policy_cells_applied);
}

/* Updates queued while the worker is busy: one take, the latest value of
 * each cell, the last generation reported (none of the earlier ones after
 * it), and the relay ends in the state of the last update. */
static void
block_worker(void *data)
{
    GMutex *m = data;
    g_mutex_lock(m); /* held by the test until its updates are queued */
    g_mutex_unlock(m);
}

static void
test_coalescing(struct fixture *f, gconstpointer data)
{
    post_everyone(f, "hrg_b", 10);
    wait_reported(&f->reports, 10);
    /* Keep the worker busy: the test's closure on the hearing's worker
     * (the only one) blocks until the updates are queued. */
    GMutex busy;
    g_mutex_init(&busy);
    g_mutex_lock(&busy);
    struct vej_relay_stats s0 = stats(f);
    guint reports0 = f->reports.generations->len;
    vej_worker_post(f->relay->workers[0].worker, block_worker, &busy);
    post_move(f, "hrg_b", 11, 5, 6, true);  /* into a room */
    post_move(f, "hrg_b", 12, 5, 6, false); /* back */
    post_move(f, "hrg_b", 13, 5, 6, true);  /* and in again */
    g_mutex_unlock(&busy);
    wait_reported(&f->reports, 13);
    struct vej_relay_stats s1 = stats(f);
    g_mutex_lock(&f->reports.lock);
    guint n_reports = f->reports.generations->len - reports0;
    g_mutex_unlock(&f->reports.lock);
    g_assert_cmpuint(n_reports, ==, 1);
    g_assert_cmpuint(last_reported(&f->reports), ==, 13);
    g_assert_cmpuint(s1.policy_takes - s0.policy_takes, ==, 1);
    /* the net change only: three moves cost one */
    g_assert_cmpuint(s1.policy_cells_applied - s0.policy_cells_applied, ==, 2 * (N - 2) + 1);
    g_mutex_clear(&busy);
}

/* Closed right after an update: the update is enforced and reported first
 * (the worker's closures run in order); a later update starts afresh. */
static void
test_close_meanwhile(struct fixture *f, gconstpointer data)
{
    post_everyone(f, "hrg_c", 20);
    vej_relay_close_hearing(f->relay, "hrg_c"); /* posted, not waited for */
    wait_reported(&f->reports, 20);
    g_assert_cmpuint(last_reported(&f->reports), ==, 20);
    post_move(f, "hrg_c", 21, 3, 4, true);
    wait_reported(&f->reports, 21);
    /* (no binding: the relay knows nobody in the new state, nothing else) */
    g_assert_cmpuint(stats(f).hearings, ==, 1);
}

/* An index freed (the participant left): its row and column go; given to
 * someone else, it starts from nothing. */
static void
test_leave_frees_index(struct fixture *f, gconstpointer data)
{
    post_everyone(f, "hrg_d", 30);
    wait_reported(&f->reports, 30);
    struct vej_relay_stats s0 = stats(f);
    struct vej_relay_binding gone = {.index = 7, .participant_id = NULL};
    struct vej_relay_policy_update u = {.bindings = &gone, .n_bindings = 1};
    vej_relay_set_policy(f->relay, "hrg_d", 31, &u);
    wait_reported(&f->reports, 31);
    struct vej_relay_stats s1 = stats(f);
    g_assert_cmpuint(s1.policy_cells_applied - s0.policy_cells_applied, ==, 2 * (N - 1) + 1);
    struct vej_relay_binding newcomer = {.index = 7, .participant_id = "ptc_newcomer"};
    u = (struct vej_relay_policy_update){.bindings = &newcomer, .n_bindings = 1};
    vej_relay_set_policy(f->relay, "hrg_d", 32, &u);
    wait_reported(&f->reports, 32);
    g_assert_cmpuint(stats(f).policy_cells_applied, ==, s1.policy_cells_applied);
    /* out of range: refused with a warning, the rest applied, reported */
    struct vej_relay_binding bad = {.index = VEJ_POLICY_INDEX_MAX, .participant_id = "x"};
    u = (struct vej_relay_policy_update){.bindings = &bad, .n_bindings = 1};
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*out of range*");
    vej_relay_set_policy(f->relay, "hrg_d", 33, &u);
    g_test_assert_expected_messages();
    wait_reported(&f->reports, 33);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/relay/policy/move-costs-o-n", struct fixture, NULL, fixture_set_up,
               test_move_costs_o_n, fixture_tear_down);
    g_test_add("/relay/policy/coalescing", struct fixture, NULL, fixture_set_up, test_coalescing,
               fixture_tear_down);
    g_test_add("/relay/policy/close-meanwhile", struct fixture, NULL, fixture_set_up,
               test_close_meanwhile, fixture_tear_down);
    g_test_add("/relay/policy/leave-frees-index", struct fixture, NULL, fixture_set_up,
               test_leave_frees_index, fixture_tear_down);
    return g_test_run();
}
