/* Unit tests for gateway/wire/seqmap.c: a subscriber's numbers across runs
 * (packets withheld by policy leave no gap), the 65535 -> 0 wrap, late
 * packets, and the way back from a NACKed number to the source packet
 * (never one withheld, never one from before the run). Also a model
 * check: over random runs no subscriber number is ever given to two
 * different source packets. */
#include "gateway/wire/history.h"
#include "gateway/wire/seqmap.h"

#include <glib.h>
#include <string.h>

static uint16_t
fwd(struct vej_seqmap *m, uint16_t src, uint32_t arrival)
{
    uint16_t out = 0;
    g_assert_true(vej_seqmap_forward(m, src, arrival, 65533, &out));
    return out;
}

static void
test_first_run_and_wrap(void)
{
    struct vej_seqmap m;
    uint16_t src = 0;

    vej_seqmap_init(&m);
    g_assert_false(vej_seqmap_source(&m, 65533, &src));
    g_assert_cmpuint(fwd(&m, 1000, 0), ==, 65533); /* first_out for the first packet */
    g_assert_cmpuint(fwd(&m, 1001, 1), ==, 65534);
    g_assert_cmpuint(fwd(&m, 1002, 2), ==, 65535);
    g_assert_cmpuint(fwd(&m, 1004, 3), ==, 1); /* 1003 lost upstream: a gap of one at 0 */
    g_assert_cmpuint(fwd(&m, 1003, 4), ==, 0); /* ... which its late arrival fills */
    g_assert_cmpuint(m.out_max, ==, 1);
    /* NACKed numbers map back, across the wrap. */
    g_assert_true(vej_seqmap_source(&m, 65533, &src));
    g_assert_cmpuint(src, ==, 1000);
    g_assert_true(vej_seqmap_source(&m, 0, &src));
    g_assert_cmpuint(src, ==, 1003);
    g_assert_true(vej_seqmap_source(&m, 1, &src));
    g_assert_cmpuint(src, ==, 1004);
    /* Not sent yet, or from before the run. */
    g_assert_false(vej_seqmap_source(&m, 2, &src));
    g_assert_false(vej_seqmap_source(&m, 65532, &src));
    g_assert_false(vej_seqmap_source(&m, 30000, &src));
    /* The highest again is refused (the history filters duplicates; this
     * is the last line). A late packet from before the run is refused. */
    uint16_t out;
    g_assert_false(vej_seqmap_forward(&m, 1004, 9, 0, &out));
    g_assert_false(vej_seqmap_forward(&m, 999, 9, 0, &out));
}

/* Withheld packets (muted, screened, awaiting a keyframe) leave no gap;
 * a NACK never reaches a withheld packet or one from before the run. */
static void
test_runs_and_withheld(void)
{
    struct vej_seqmap m;
    uint16_t src = 0, out;

    vej_seqmap_init(&m);
    g_assert_cmpuint(fwd(&m, 65534, 10), ==, 65533);
    g_assert_cmpuint(fwd(&m, 65535, 11), ==, 65534);
    g_assert_cmpuint(fwd(&m, 0, 12), ==, 65535);
    /* Policy withholds source 1 .. 99 (arrivals 13 .. 111). */
    vej_seqmap_pause(&m);
    g_assert_false(vej_seqmap_source(&m, 65535, &src)); /* paused: nothing answerable */
    g_assert_false(vej_seqmap_arrived_in_run(&m, 12));
    /* Allowed again at source 100 (arrival 112): numbering continues at 0. */
    g_assert_cmpuint(fwd(&m, 100, 112), ==, 0);
    g_assert_cmpuint(fwd(&m, 101, 113), ==, 1);
    g_assert_cmpuint(fwd(&m, 103, 114), ==, 3);
    g_assert_true(vej_seqmap_source(&m, 2, &src)); /* the gap inside the run */
    g_assert_cmpuint(src, ==, 102);
    /* The numbers of the first run are not this run's. */
    g_assert_false(vej_seqmap_source(&m, 65535, &src));
    g_assert_false(vej_seqmap_source(&m, 65533, &src));
    /* A source packet withheld during the pause arrives late: not sent. */
    g_assert_false(vej_seqmap_forward(&m, 99, 115, 0, &out));
    g_assert_false(vej_seqmap_forward(&m, 50, 116, 0, &out));
    /* Arrival numbers: only packets that came during the run. */
    g_assert_true(vej_seqmap_arrived_in_run(&m, 112));
    g_assert_true(vej_seqmap_arrived_in_run(&m, 114));
    g_assert_false(vej_seqmap_arrived_in_run(&m, 111));
    g_assert_false(vej_seqmap_arrived_in_run(&m, 12));
}

/* Arrival numbers wrap at 2^32. */
static void
test_arrival_wrap(void)
{
    struct vej_seqmap m;

    vej_seqmap_init(&m);
    fwd(&m, 5, UINT32_MAX - 1);
    g_assert_true(vej_seqmap_arrived_in_run(&m, UINT32_MAX - 1));
    g_assert_true(vej_seqmap_arrived_in_run(&m, UINT32_MAX));
    g_assert_true(vej_seqmap_arrived_in_run(&m, 3));
    g_assert_false(vej_seqmap_arrived_in_run(&m, UINT32_MAX - 2));
}

/* A run longer than the number space: late packets still map (the span
 * saturates instead of wrapping). */
static void
test_long_run(void)
{
    struct vej_seqmap m;
    uint16_t out, src;

    vej_seqmap_init(&m);
    for (uint32_t i = 0; i < 200000; i++) {
        if (i % 10 == 3)
            continue; /* lost, comes 5 later */
        g_assert_true(vej_seqmap_forward(&m, (uint16_t)i, i, 100, &out));
        g_assert_cmpuint(out, ==, (uint16_t)(i + 100));
        if (i % 10 == 8) {
            g_assert_true(vej_seqmap_source(&m, (uint16_t)(i - 5 + 100), &src));
            g_assert_cmpuint(src, ==, (uint16_t)(i - 5));
            g_assert_true(vej_seqmap_forward(&m, (uint16_t)(i - 5), i, 100, &out));
            g_assert_cmpuint(out, ==, (uint16_t)(i - 5 + 100));
        }
    }
}

/* Model check: a source with loss, reordering, duplicates, restarts;
 * a subscriber paused at random; each packet goes through the history
 * then the map, as in the router. No subscriber number (as an SRTP index:
 * 48 bits, the number extended by its wraps) carries two different source
 * packets, and every NACKed number maps to the source packet sent under
 * it. */
static void
test_model_unique_numbers(void)
{
    struct vej_history *h = g_new0(struct vej_history, 1);
    struct vej_seqmap m;
    GRand *r = g_rand_new_with_seed(20240611);
    /* out index (extended) -> source identity (generation << 16 | seq) */
    GHashTable *sent = g_hash_table_new(g_int64_hash, g_int64_equal);
    uint64_t out_index = 0; /* extended index of out_max */
    bool any = false;
    uint32_t generation = 0;
    uint16_t seq = 40000;

    vej_history_init(h, NULL, 0);
    vej_seqmap_init(&m);
    for (int step = 0; step < 300000; step++) {
        uint16_t s = seq;
        int dice = (int)g_rand_int_range(r, 0, 1000);
        if (dice < 50)
            s = (uint16_t)(seq - g_rand_int_range(r, 1, 600)); /* late or duplicate */
        else if (dice < 52)
            s = (uint16_t)(seq + g_rand_int_range(r, 3001, 60000)); /* restart */
        else
            seq = (uint16_t)(seq + (dice < 100 ? g_rand_int_range(r, 2, 6) : 1)); /* loss */
        if (g_rand_int_range(r, 0, 1000) < 3)
            vej_seqmap_pause(&m); /* withheld */
        uint32_t arrival;
        enum vej_history_verdict v = vej_history_add(h, s, 0, false, NULL, 0, 0, &arrival);
        if (v == VEJ_HISTORY_RESTART) {
            generation++;
            seq = (uint16_t)(s + 1);
            vej_seqmap_pause(&m);
        }
        if (v == VEJ_HISTORY_DUPLICATE || v == VEJ_HISTORY_TOO_OLD)
            continue;
        uint16_t out, prev_max = m.out_max;
        bool was = m.started;
        if (!vej_seqmap_forward(&m, s, arrival, 12345, &out))
            continue;
        if (!was) {
            out_index = out;
        } else if ((uint16_t)(m.out_max - prev_max) != 0 && out == m.out_max) {
            out_index += (uint16_t)(m.out_max - prev_max);
        }
        /* extended index of this packet: behind out_max by out_max - out */
        gint64 idx = (gint64)(out_index - (uint16_t)(m.out_max - out));
        gint64 *key = g_new(gint64, 1);
        *key = idx;
        gpointer ident = GUINT_TO_POINTER(((guint)generation << 16 | s) + 1);
        g_assert_false(g_hash_table_contains(sent, key));
        g_hash_table_insert(sent, key, ident);
        any = true;
        /* The way back: the number just sent names this source packet. */
        uint16_t back;
        g_assert_true(vej_seqmap_source(&m, out, &back));
        g_assert_cmpuint(back, ==, s);
        g_assert_true(vej_seqmap_arrived_in_run(&m, arrival));
    }
    g_assert_true(any);
    g_assert_cmpuint(g_hash_table_size(sent), >, 200000);
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, sent);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_free(k);
    g_hash_table_unref(sent);
    g_rand_free(r);
    g_free(h);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/seqmap/first-run-wrap", test_first_run_and_wrap);
    g_test_add_func("/gateway/seqmap/runs-withheld", test_runs_and_withheld);
    g_test_add_func("/gateway/seqmap/arrival-wrap", test_arrival_wrap);
    g_test_add_func("/gateway/seqmap/long-run", test_long_run);
    g_test_add_func("/gateway/seqmap/model-unique-numbers", test_model_unique_numbers);
    return g_test_run();
}
