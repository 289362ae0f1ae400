/* Unit tests for recording/ring.c: order, wrap-around with padding,
 * drops when full (never blocking), two parts in one record, and a
 * producer and a consumer on two threads. */
#include "recording/ring.h"

#include <glib.h>
#include <string.h>

static uint8_t mem[4096] __attribute__((aligned(8)));

static void
test_order_and_wrap(void)
{
    struct vej_ring r;
    vej_ring_init(&r, mem, sizeof mem);
    uint8_t payload[300];
    uint32_t next_in = 0, next_out = 0;
    /* Many times the capacity: records cross the end again and again. */
    for (int round = 0; round < 200; round++) {
        while (true) {
            memset(payload, (int)(next_in & 0xff), sizeof payload);
            size_t len = 1 + next_in % sizeof payload;
            if (!vej_ring_push(&r, 3, next_in, (int64_t)next_in * 10, payload, len, NULL, 0))
                break;
            next_in++;
        }
        struct vej_ring_record rec;
        for (int k = 0; k < 3 && vej_ring_peek(&r, &rec); k++) {
            g_assert_cmpuint(rec.type, ==, 3);
            g_assert_cmpuint(rec.key, ==, next_out);
            g_assert_cmpint(rec.time, ==, (int64_t)next_out * 10);
            g_assert_cmpuint(rec.len, ==, 1 + next_out % sizeof payload);
            for (size_t i = 0; i < rec.len; i++)
                g_assert_cmpuint(rec.data[i], ==, next_out & 0xff);
            vej_ring_pop(&r);
            next_out++;
        }
    }
    g_assert_cmpuint(vej_ring_dropped(&r), ==, 200);
}

static void
test_two_parts_and_limits(void)
{
    struct vej_ring r;
    vej_ring_init(&r, mem, sizeof mem);
    g_assert_true(vej_ring_push(&r, 1, 7, 1, "abc", 3, "defg", 4));
    g_assert_false(vej_ring_push(&r, 0, 7, 1, "x", 1, NULL, 0));    /* type 0 is padding */
    g_assert_false(vej_ring_push(&r, 1, 7, 1, mem, 5000, NULL, 0)); /* larger than the ring */
    g_assert_cmpuint(vej_ring_dropped(&r), ==, 2);
    struct vej_ring_record rec;
    g_assert_true(vej_ring_peek(&r, &rec));
    g_assert_cmpuint(rec.len, ==, 7);
    g_assert_cmpint(memcmp(rec.data, "abcdefg", 7), ==, 0);
    vej_ring_pop(&r);
    g_assert_false(vej_ring_peek(&r, &rec));
    g_assert_cmpuint(vej_ring_used(&r), ==, 0);
}

#define N_THREADED 200000

static gpointer
producer(gpointer data)
{
    struct vej_ring *r = data;
    for (uint32_t i = 0; i < N_THREADED;) {
        uint8_t b[64];
        memset(b, (int)(i & 0xff), sizeof b);
        if (vej_ring_push(r, 2, i, 0, b, 1 + i % 64, NULL, 0))
            i++;
        else
            g_thread_yield();
    }
    return NULL;
}

static void
test_threads(void)
{
    static uint8_t big[1 << 16] __attribute__((aligned(8)));
    struct vej_ring r;
    vej_ring_init(&r, big, sizeof big);
    GThread *t = g_thread_new("producer", producer, &r);
    uint32_t expect = 0;
    while (expect < N_THREADED) {
        struct vej_ring_record rec;
        if (!vej_ring_peek(&r, &rec)) {
            g_thread_yield();
            continue;
        }
        g_assert_cmpuint(rec.key, ==, expect);
        g_assert_cmpuint(rec.len, ==, 1 + expect % 64);
        g_assert_cmpuint(rec.data[rec.len - 1], ==, expect & 0xff);
        vej_ring_pop(&r);
        expect++;
    }
    g_thread_join(t);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recording/ring/order-and-wrap", test_order_and_wrap);
    g_test_add_func("/recording/ring/two-parts-and-limits", test_two_parts_and_limits);
    g_test_add_func("/recording/ring/threads", test_threads);
    return g_test_run();
}
