/* Unit tests for gateway/wire/history.c: verdicts (new, late, duplicate, too
 * old, restart) across the 65535 -> 0 wrap, the payload ring and its
 * bounds, the age limit. */
#include "gateway/wire/history.h"

#include <glib.h>
#include <string.h>

#define ARENA 4096
#define SEC 1000000

static struct vej_history *
new_history(uint8_t *arena, size_t size)
{
    struct vej_history *h = g_new0(struct vej_history, 1);
    vej_history_init(h, arena, size);
    return h;
}

static enum vej_history_verdict
add(struct vej_history *h, uint16_t seq)
{
    uint8_t payload[4] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0xab, 0xcd};
    return vej_history_add(h, seq, 1000u * seq, false, payload, sizeof payload, 0, NULL);
}

static void
test_verdicts_across_wrap(void)
{
    static uint8_t arena[ARENA];
    g_autofree struct vej_history *h = new_history(arena, sizeof arena);
    uint32_t a0 = 0, a1 = 0;

    g_assert_cmpint(vej_history_add(h, 65530, 1, false, NULL, 0, 0, &a0), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 65531), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 65534), ==, VEJ_HISTORY_NEW); /* 65532, 65533 lost */
    g_assert_cmpint(add(h, 1), ==, VEJ_HISTORY_NEW);     /* across the wrap; 65535, 0 lost */
    g_assert_cmpuint(h->max_seq, ==, 1);
    g_assert_cmpint(add(h, 65535), ==, VEJ_HISTORY_LATE);
    g_assert_cmpint(add(h, 0), ==, VEJ_HISTORY_LATE);
    g_assert_cmpint(add(h, 65532), ==, VEJ_HISTORY_LATE);
    g_assert_cmpint(vej_history_add(h, 65533, 1, false, NULL, 0, 0, &a1), ==, VEJ_HISTORY_LATE);
    g_assert_cmpuint(a1 - a0, ==, 7); /* arrival numbers count recorded packets */
    /* Every one again: duplicates, the highest too. */
    const uint16_t again[] = {65530, 65531, 65532, 65533, 65534, 65535, 0, 1};
    for (size_t i = 0; i < G_N_ELEMENTS(again); i++)
        g_assert_cmpint(add(h, again[i]), ==, VEJ_HISTORY_DUPLICATE);
    g_assert_cmpuint(h->max_seq, ==, 1);
}

static void
test_late_window(void)
{
    g_autofree struct vej_history *h = new_history(NULL, 0);

    g_assert_cmpint(add(h, 10000), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 10000 + 600), ==, VEJ_HISTORY_NEW);
    /* Behind by 511: still late; by 512 .. 3000: too old; beyond: a restart. */
    g_assert_cmpint(add(h, 10600 - 511), ==, VEJ_HISTORY_LATE);
    g_assert_cmpint(add(h, 10600 - 512), ==, VEJ_HISTORY_TOO_OLD);
    g_assert_cmpint(add(h, 10600 - VEJ_HISTORY_RESYNC), ==, VEJ_HISTORY_TOO_OLD);
    g_assert_cmpuint(h->max_seq, ==, 10600);
    /* Each number in the window passes once, even after 1,024 more (the
     * slot of a late number always tells whether it came). */
    for (unsigned s = 10601; s < 10600 + 3 * VEJ_HISTORY_SLOTS; s++) {
        g_assert_cmpint(add(h, (uint16_t)s), ==, VEJ_HISTORY_NEW);
        g_assert_cmpint(add(h, (uint16_t)s), ==, VEJ_HISTORY_DUPLICATE);
        /* 300 behind: late the first time (10301 .. 10599 never came),
         * then a duplicate */
        if (s - 300 < 10600)
            g_assert_cmpint(add(h, (uint16_t)(s - 300)), ==, VEJ_HISTORY_LATE);
        g_assert_cmpint(add(h, (uint16_t)(s - 300)), ==, VEJ_HISTORY_DUPLICATE);
    }
}

static void
test_restart(void)
{
    g_autofree struct vej_history *h = new_history(NULL, 0);

    g_assert_cmpint(add(h, 100), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 100 + VEJ_HISTORY_RESYNC), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 101 + 2 * VEJ_HISTORY_RESYNC), ==, VEJ_HISTORY_RESTART);
    g_assert_cmpuint(h->max_seq, ==, 101 + 2 * VEJ_HISTORY_RESYNC);
    /* Measured from the new highest: 1,000 behind is too old, 100 late. */
    g_assert_cmpint(add(h, 101 + 2 * VEJ_HISTORY_RESYNC - 1000), ==, VEJ_HISTORY_TOO_OLD);
    g_assert_cmpint(add(h, 101 + 2 * VEJ_HISTORY_RESYNC - 100), ==, VEJ_HISTORY_LATE);
    /* A jump back beyond the threshold restarts as well; the numbers of the
     * new stream are new again. */
    g_assert_cmpint(add(h, 50), ==, VEJ_HISTORY_RESTART);
    g_assert_cmpint(add(h, 51), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(add(h, 49), ==, VEJ_HISTORY_LATE);
    /* Half the number space away is ambiguous: a restart. */
    g_assert_cmpint(add(h, 51 + 0x8000), ==, VEJ_HISTORY_RESTART);
}

static void
test_payloads(void)
{
    static uint8_t arena[1000];
    g_autofree struct vej_history *h = new_history(arena, sizeof arena);
    struct vej_history_packet p;
    uint8_t buf[300];

    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)i;
    g_assert_cmpint(vej_history_add(h, 7, 90000, true, buf, 300, 5 * SEC, NULL), ==,
                    VEJ_HISTORY_NEW);
    g_assert_true(vej_history_get(h, 7, 5 * SEC, SEC, &p));
    g_assert_cmpuint(p.seq, ==, 7);
    g_assert_cmpuint(p.timestamp, ==, 90000);
    g_assert_true(p.marker);
    g_assert_cmpmem(p.payload, p.len, buf, 300);
    g_assert_false(vej_history_get(h, 8, 5 * SEC, SEC, &p));
    g_assert_false(vej_history_get(h, 7 + VEJ_HISTORY_SLOTS, 5 * SEC, SEC, &p));
    /* Age: found up to max_age after arrival, not later. */
    g_assert_true(vej_history_get(h, 7, 6 * SEC, SEC, &p));
    g_assert_false(vej_history_get(h, 7, 6 * SEC + 1, SEC, &p));
    /* Two more of 300 fit (900 bytes); the fourth wraps to offset 0 and
     * overwrites the first, the fifth the second. */
    buf[0] = 8;
    vej_history_add(h, 8, 1, false, buf, 300, 5 * SEC, NULL);
    buf[0] = 9;
    vej_history_add(h, 9, 1, false, buf, 300, 5 * SEC, NULL);
    g_assert_true(vej_history_get(h, 7, 5 * SEC, SEC, &p));
    buf[0] = 10;
    vej_history_add(h, 10, 1, false, buf, 300, 5 * SEC, NULL);
    g_assert_false(vej_history_get(h, 7, 5 * SEC, SEC, &p));
    g_assert_true(vej_history_get(h, 8, 5 * SEC, SEC, &p));
    g_assert_cmpuint(p.payload[0], ==, 8);
    g_assert_true(vej_history_get(h, 10, 5 * SEC, SEC, &p));
    g_assert_cmpuint(p.payload[0], ==, 10);
    g_assert_true(p.payload == arena); /* wrapped, contiguous */
    buf[0] = 11;
    vej_history_add(h, 11, 1, false, buf, 300, 5 * SEC, NULL);
    g_assert_false(vej_history_get(h, 8, 5 * SEC, SEC, &p));
    g_assert_true(vej_history_get(h, 9, 5 * SEC, SEC, &p));
    g_assert_cmpuint(p.payload[0], ==, 9);
    /* A payload larger than the arena is counted as seen, never stored. */
    uint8_t big[1001] = {0};
    g_assert_cmpint(vej_history_add(h, 12, 1, false, big, sizeof big, 5 * SEC, NULL), ==,
                    VEJ_HISTORY_NEW);
    g_assert_false(vej_history_get(h, 12, 5 * SEC, SEC, &p));
    g_assert_cmpint(vej_history_add(h, 12, 1, false, big, 10, 5 * SEC, NULL), ==,
                    VEJ_HISTORY_DUPLICATE);
    /* Empty payloads are held (length 0). */
    vej_history_add(h, 13, 1, false, NULL, 0, 5 * SEC, NULL);
    g_assert_true(vej_history_get(h, 13, 5 * SEC, SEC, &p));
    g_assert_cmpuint(p.len, ==, 0);
}

/* Numbers only (audio): duplicates filtered, nothing to retransmit. */
static void
test_no_arena(void)
{
    g_autofree struct vej_history *h = new_history(NULL, 0);
    struct vej_history_packet p;
    uint8_t b[10] = {0};

    g_assert_cmpint(vej_history_add(h, 1, 1, false, b, sizeof b, 0, NULL), ==, VEJ_HISTORY_NEW);
    g_assert_cmpint(vej_history_add(h, 1, 1, false, b, sizeof b, 0, NULL), ==,
                    VEJ_HISTORY_DUPLICATE);
    g_assert_false(vej_history_get(h, 1, 0, SEC, &p));
}

/* A long run of real-sized packets: memory stays the arena's, and every
 * packet still held is the one written. */
static void
test_ring_long_run(void)
{
    g_autofree uint8_t *arena = g_malloc(64 * 1024);
    g_autofree struct vej_history *h = new_history(arena, 64 * 1024);
    uint8_t buf[1300];
    unsigned held = 0;

    for (uint32_t i = 0; i < 200000; i++) {
        uint16_t seq = (uint16_t)(60000 + i);
        size_t len = 200 + (i * 7919) % 1100;
        memset(buf, (int)(i & 0xff), len);
        g_assert_cmpint(vej_history_add(h, seq, i, false, buf, len, i, NULL), ==, VEJ_HISTORY_NEW);
        if (i % 997 != 0 || i < 200)
            continue;
        for (uint32_t back = 0; back < 200; back++) {
            struct vej_history_packet p;
            if (!vej_history_get(h, (uint16_t)(seq - back), i, SEC, &p))
                continue;
            held++;
            g_assert_cmpuint(p.len, ==, 200 + ((i - back) * 7919) % 1100);
            g_assert_cmpuint(p.payload[0], ==, (i - back) & 0xff);
            g_assert_cmpuint(p.payload[p.len - 1], ==, (i - back) & 0xff);
            g_assert_true(p.payload >= arena && p.payload + p.len <= arena + 64 * 1024);
        }
    }
    g_assert_cmpuint(held, >, 0);
}

/* Using part of the arena: payloads stay inside that part (the rest is
 * never touched), growing drops what was held but keeps the numbers, and
 * a size of 0 or above the arena is refused. */
static void
test_use_arena(void)
{
    static uint8_t arena[4000];
    memset(arena, 0xee, sizeof arena);
    g_autofree struct vej_history *h = new_history(arena, sizeof arena);
    struct vej_history_packet p;
    uint8_t buf[300];
    memset(buf, 1, sizeof buf);

    g_assert_false(vej_history_use_arena(h, 0));
    g_assert_false(vej_history_use_arena(h, sizeof arena + 1));
    g_assert_true(vej_history_use_arena(h, 1000));
    for (uint16_t seq = 1; seq <= 20; seq++)
        g_assert_cmpint(vej_history_add(h, seq, seq, false, buf, sizeof buf, SEC, NULL), ==,
                        VEJ_HISTORY_NEW);
    for (size_t i = 1000; i < sizeof arena; i++)
        g_assert_cmpuint(arena[i], ==, 0xee); /* never touched */
    g_assert_true(vej_history_get(h, 20, SEC, SEC, &p));
    g_assert_true(p.payload + p.len <= arena + 1000);
    /* grown: the payloads held are gone, their numbers are not */
    g_assert_true(vej_history_use_arena(h, 2000));
    g_assert_false(vej_history_get(h, 20, SEC, SEC, &p));
    g_assert_false(vej_history_get(h, 19, SEC, SEC, &p));
    g_assert_cmpint(vej_history_add(h, 20, 20, false, buf, sizeof buf, SEC, NULL), ==,
                    VEJ_HISTORY_DUPLICATE);
    buf[0] = 21;
    g_assert_cmpint(vej_history_add(h, 21, 21, false, buf, sizeof buf, SEC, NULL), ==,
                    VEJ_HISTORY_NEW);
    g_assert_true(vej_history_get(h, 21, SEC, SEC, &p));
    g_assert_cmpuint(p.payload[0], ==, 21);
    for (uint16_t seq = 22; seq <= 60; seq++)
        vej_history_add(h, seq, seq, false, buf, sizeof buf, SEC, NULL);
    for (size_t i = 2000; i < sizeof arena; i++)
        g_assert_cmpuint(arena[i], ==, 0xee);
    /* six packets of 300 fit in 2000 bytes: the last six are held */
    g_assert_true(vej_history_get(h, 55, SEC, SEC, &p));
    g_assert_false(vej_history_get(h, 54, SEC, SEC, &p));
    /* no arena: nothing to use */
    g_autofree struct vej_history *n = new_history(NULL, 0);
    g_assert_false(vej_history_use_arena(n, 100));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/history/verdicts-wrap", test_verdicts_across_wrap);
    g_test_add_func("/gateway/history/late-window", test_late_window);
    g_test_add_func("/gateway/history/restart", test_restart);
    g_test_add_func("/gateway/history/payloads", test_payloads);
    g_test_add_func("/gateway/history/no-arena", test_no_arena);
    g_test_add_func("/gateway/history/ring-long-run", test_ring_long_run);
    g_test_add_func("/gateway/history/use-arena", test_use_arena);
    return g_test_run();
}
