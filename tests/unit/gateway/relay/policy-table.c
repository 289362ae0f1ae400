/* Unit tests for gateway/relay/policy-table.c: a hearing's policy cells by
 * integer index. Changes are listed once with their latest value (updates
 * queued for a busy worker coalesce), a cell set to the value it has lists
 * nothing, freeing an index clears its row and column only, growth keeps
 * every cell, and a move in a hearing of 300 lists O(N) changes, never
 * O(N^2). */
#include "gateway/relay/policy-table.h"

#include <glib.h>
#include <stdlib.h>

#include "gateway/relay.h"

static void
test_get_set(void)
{
    struct vej_policy_table t;
    vej_policy_table_init(&t, true);
    g_assert_cmpuint(vej_policy_table_get(&t, 3, 4), ==, 0);
    g_assert_cmpint(vej_policy_table_set(&t, 3, 4, VEJ_RELAY_AUDIO_PRESENT), ==, 1);
    g_assert_cmpint(vej_policy_table_set(&t, 3, 4, VEJ_RELAY_AUDIO_PRESENT), ==, 0);
    g_assert_cmpuint(vej_policy_table_get(&t, 3, 4), ==, VEJ_RELAY_AUDIO_PRESENT);
    g_assert_cmpuint(vej_policy_table_get(&t, 4, 3), ==, 0);
    /* setting nothing where nothing is: no growth, nothing listed */
    g_assert_cmpint(vej_policy_table_set(&t, 1000, 2, 0), ==, 0);
    g_assert_cmpuint(t.cap, <, 1000);
    /* out of range: refused, nothing changed */
    g_assert_cmpint(vej_policy_table_set(&t, VEJ_POLICY_INDEX_MAX, 1, 1), ==, -1);
    g_assert_cmpint(vej_policy_table_set(&t, 1, VEJ_POLICY_INDEX_MAX, 1), ==, -1);
    g_assert_cmpuint(t.n_changed, ==, 1);
    vej_policy_table_clear(&t);
    g_assert_cmpuint(vej_policy_table_get(&t, 3, 4), ==, 0);
}

static void
test_coalescing(void)
{
    struct vej_policy_table t;
    vej_policy_table_init(&t, true);
    /* three updates queued before the worker takes them */
    vej_policy_table_set(&t, 1, 2, VEJ_RELAY_AUDIO_PRESENT | VEJ_RELAY_AUDIO_FLOWING);
    vej_policy_table_set(&t, 2, 1, VEJ_RELAY_VIDEO_PRESENT);
    vej_policy_table_set(&t, 1, 2, VEJ_RELAY_AUDIO_PRESENT);
    vej_policy_table_set(&t, 2, 1, VEJ_RELAY_VIDEO_PRESENT | VEJ_RELAY_VIDEO_FLOWING);
    vej_policy_table_set(&t, 1, 2, 0);
    struct vej_policy_change *c = NULL;
    size_t n = vej_policy_table_take(&t, &c);
    g_assert_cmpuint(n, ==, 2); /* each cell once, its latest value */
    g_assert_cmpuint(c[0].subscriber, ==, 1);
    g_assert_cmpuint(c[0].publisher, ==, 2);
    g_assert_cmpuint(c[0].bits, ==, 0);
    g_assert_cmpuint(c[1].subscriber, ==, 2);
    g_assert_cmpuint(c[1].bits, ==, VEJ_RELAY_VIDEO_PRESENT | VEJ_RELAY_VIDEO_FLOWING);
    free(c);
    /* taken: the list is empty, the values stay */
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, 0);
    g_assert_null(c);
    g_assert_cmpuint(vej_policy_table_get(&t, 2, 1), ==,
                     VEJ_RELAY_VIDEO_PRESENT | VEJ_RELAY_VIDEO_FLOWING);
    /* after a take, a change is listed again */
    g_assert_cmpint(vej_policy_table_set(&t, 2, 1, 0), ==, 1);
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, 1);
    free(c);
    vej_policy_table_clear(&t);
}

static void
test_growth_keeps_cells(void)
{
    struct vej_policy_table t;
    vej_policy_table_init(&t, true);
    for (uint32_t i = 0; i < 20; i++)
        vej_policy_table_set(&t, i, (i * 7) % 20, (uint8_t)(1 + i % 15));
    uint32_t cap = t.cap;
    vej_policy_table_set(&t, 700, 3, VEJ_RELAY_AUDIO_FLOWING);
    g_assert_cmpuint(t.cap, >, cap);
    g_assert_cmpuint(t.cap, <=, VEJ_POLICY_INDEX_MAX);
    for (uint32_t i = 0; i < 20; i++)
        g_assert_cmpuint(vej_policy_table_get(&t, i, (i * 7) % 20), ==, 1 + i % 15);
    struct vej_policy_change *c = NULL;
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, 21);
    g_assert_cmpuint(c[20].subscriber, ==, 700);
    g_assert_cmpuint(c[20].bits, ==, VEJ_RELAY_AUDIO_FLOWING);
    free(c);
    vej_policy_table_clear(&t);
}

static void
test_clear_index(void)
{
    struct vej_policy_table t;
    vej_policy_table_init(&t, true);
    for (uint32_t a = 0; a < 6; a++)
        for (uint32_t b = 1; b < 6; b++)
            if (a != b)
                vej_policy_table_set(&t, a, b, VEJ_RELAY_AUDIO_PRESENT);
    struct vej_policy_change *c = NULL;
    vej_policy_table_take(&t, &c);
    free(c);
    /* index 3 leaves: its row (3, *) and column (*, 3), the recorder's too */
    g_assert_cmpuint(vej_policy_table_clear_index(&t, 3), ==, 4 + 5);
    for (uint32_t a = 0; a < 6; a++)
        for (uint32_t b = 1; b < 6; b++) {
            uint8_t want = a != b && a != 3 && b != 3 ? VEJ_RELAY_AUDIO_PRESENT : 0;
            g_assert_cmpuint(vej_policy_table_get(&t, a, b), ==, want);
        }
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, 9);
    for (size_t i = 0; i < 9; i++) {
        g_assert_true(c[i].subscriber == 3 || c[i].publisher == 3);
        g_assert_cmpuint(c[i].bits, ==, 0);
    }
    free(c);
    /* an index beyond the table: nothing to clear */
    g_assert_cmpuint(vej_policy_table_clear_index(&t, 2000), ==, 0);
    vej_policy_table_clear(&t);
}

/* The plain matrix (the worker's applied table) lists nothing. */
static void
test_untracked(void)
{
    struct vej_policy_table t;
    vej_policy_table_init(&t, false);
    g_assert_cmpint(vej_policy_table_set(&t, 5, 6, 3), ==, 1);
    g_assert_cmpuint(t.n_changed, ==, 0);
    g_assert_cmpuint(vej_policy_table_get(&t, 5, 6), ==, 3);
    struct vej_policy_change *c = NULL;
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, 0);
    vej_policy_table_clear(&t);
}

/* A hearing of N = 300 in session, everyone in main: a move to a
 * consultation changes the mover's row and column only. The signalling
 * layer hands over those 2N cells (media.c); the table lists the ones
 * whose value changed: O(N), not O(N^2). */
static void
test_move_costs_o_n(void)
{
    enum { N = 300 };
    const uint8_t all = VEJ_RELAY_AUDIO_PRESENT | VEJ_RELAY_AUDIO_FLOWING |
                        VEJ_RELAY_VIDEO_PRESENT | VEJ_RELAY_VIDEO_FLOWING;
    struct vej_policy_table t;
    vej_policy_table_init(&t, true);
    for (uint32_t a = 1; a <= N; a++) {
        for (uint32_t b = 1; b <= N; b++)
            if (a != b)
                vej_policy_table_set(&t, a, b, all);
        vej_policy_table_set(&t, VEJ_RELAY_RECORDER, a, all);
    }
    struct vej_policy_change *c = NULL;
    g_assert_cmpuint(vej_policy_table_take(&t, &c), ==, (size_t)N * (N - 1) + N);
    free(c);
    /* participant 17 and its advocate, 18, go to a consultation: the
     * mover's cells (2 (N - 1) + 1 for the recorder) are recomputed */
    const uint32_t mover = 17, advocate = 18;
    size_t handed = 0;
    for (uint32_t q = 1; q <= N; q++) {
        if (q == mover)
            continue;
        uint8_t v = q == advocate ? all : 0;
        vej_policy_table_set(&t, mover, q, v);
        vej_policy_table_set(&t, q, mover, v);
        handed += 2;
    }
    vej_policy_table_set(&t, VEJ_RELAY_RECORDER, mover, 0);
    handed++;
    size_t n = vej_policy_table_take(&t, &c);
    g_test_message("move in a hearing of %d: %zu cells handed over, %zu changed", N, handed, n);
    g_assert_cmpuint(handed, ==, 2 * (N - 1) + 1);
    g_assert_cmpuint(n, ==, 2 * (N - 2) + 1); /* the advocate's two cells kept their value */
    for (size_t i = 0; i < n; i++)
        g_assert_true(c[i].subscriber == mover || c[i].publisher == mover);
    free(c);
    /* a mute of the mover queued after the move, before any take: the
     * same cells, listed once */
    for (int round = 0; round < 3; round++)
        for (uint32_t q = 1; q <= N; q++)
            if (q != mover)
                vej_policy_table_set(&t, q, mover, round % 2 ? 0 : VEJ_RELAY_VIDEO_PRESENT);
    n = vej_policy_table_take(&t, &c);
    g_assert_cmpuint(n, <=, (size_t)N);
    free(c);
    vej_policy_table_clear(&t);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy-table/get-set", test_get_set);
    g_test_add_func("/policy-table/coalescing", test_coalescing);
    g_test_add_func("/policy-table/growth", test_growth_keeps_cells);
    g_test_add_func("/policy-table/clear-index", test_clear_index);
    g_test_add_func("/policy-table/untracked", test_untracked);
    g_test_add_func("/policy-table/move-costs-o-n", test_move_costs_o_n);
    return g_test_run();
}
