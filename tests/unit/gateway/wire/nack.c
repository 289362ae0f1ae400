/* Unit tests for gateway/wire/nack.c: gaps found (across the 65535 -> 0 wrap),
 * asked for at once, retried every round trip, given up after ten tries
 * or a second, the round trip learnt, overflow, and the NACK packets
 * built from what is due (rtcp.c's writer, BLP bitmask included). */
#include "gateway/wire/nack.h"
#include "gateway/wire/rtcp.h"

#include <glib.h>
#include <string.h>

#define MS 1000

static struct vej_nack *
new_nack(void)
{
    struct vej_nack *n = g_new0(struct vej_nack, 1);
    vej_nack_init(n);
    return n;
}

static void
test_gap_across_wrap(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[32];
    size_t gave_up = 99;

    g_assert_cmpuint(vej_nack_on_packet(n, 65533, 0), ==, 0);
    g_assert_cmpuint(vej_nack_due(n, 0, seqs, 32, &gave_up), ==, 0);
    g_assert_cmpuint(gave_up, ==, 0);
    g_assert_cmpuint(vej_nack_on_packet(n, 2, 10 * MS), ==, 0); /* 65534 .. 1 missing */
    g_assert_cmpuint(n->n_missing, ==, 4);
    g_assert_cmpuint(vej_nack_due(n, 10 * MS, seqs, 32, NULL), ==, 4);
    g_assert_cmpuint(seqs[0], ==, 65534);
    g_assert_cmpuint(seqs[1], ==, 65535);
    g_assert_cmpuint(seqs[2], ==, 0);
    g_assert_cmpuint(seqs[3], ==, 1);
    /* Asked already: nothing more until a round trip (100 ms at first). */
    g_assert_cmpuint(vej_nack_due(n, 10 * MS, seqs, 32, NULL), ==, 0);
    g_assert_cmpuint(vej_nack_due(n, 109 * MS, seqs, 32, NULL), ==, 0);
    /* 0 arrives 40 ms after it was asked for: recovered, RTT learnt. */
    g_assert_cmpuint(vej_nack_on_packet(n, 0, 50 * MS), ==, VEJ_NACK_RECOVERED);
    g_assert_cmpint(n->rtt_us, ==, (7 * 100 * MS + 40 * MS) / 8);
    g_assert_cmpuint(n->n_missing, ==, 3);
    /* A number never missing, or arriving twice, changes nothing. */
    g_assert_cmpuint(vej_nack_on_packet(n, 0, 51 * MS), ==, 0);
    g_assert_cmpuint(vej_nack_on_packet(n, 65533, 51 * MS), ==, 0);
    /* The others again after the (learnt) round trip. */
    g_assert_cmpuint(vej_nack_due(n, 10 * MS + n->rtt_us, seqs, 32, NULL), ==, 3);
    g_assert_cmpuint(seqs[2], ==, 1);
}

static void
test_retries_and_give_up(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[8];
    size_t gave_up = 0, asked = 0, lost = 0;

    vej_nack_on_packet(n, 100, 0);
    vej_nack_on_packet(n, 102, 0); /* 101 missing */
    for (int64_t t = 0; t <= 3000 * MS; t += 5 * MS) {
        asked += vej_nack_due(n, t, seqs, 8, &gave_up);
        lost += gave_up;
    }
    g_assert_cmpuint(asked, ==, VEJ_NACK_MAX_RETRIES);
    g_assert_cmpuint(lost, ==, 1);
    g_assert_cmpuint(n->n_missing, ==, 0);
    /* Arriving after it was given up: nothing to recover. */
    g_assert_cmpuint(vej_nack_on_packet(n, 101, 3001 * MS), ==, 0);

    /* Slow round trips: the age limit gives up first. */
    n->rtt_us = 400 * MS;
    vej_nack_on_packet(n, 104, 4000 * MS); /* 103 */
    asked = lost = 0;
    for (int64_t t = 4000 * MS; t <= 6000 * MS; t += 5 * MS) {
        asked += vej_nack_due(n, t, seqs, 8, &gave_up);
        lost += gave_up;
    }
    g_assert_cmpuint(asked, ==, 3); /* 0, 400, 800 ms; 1,200 is past the second */
    g_assert_cmpuint(lost, ==, 1);
}

/* vej_nack_is_missing: on the list from the gap until it arrives or is
 * given up (the relay then knows a subscriber's NACK for it will be
 * answered later, or never). */
static void
test_is_missing(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[8];
    size_t gave_up = 0;

    vej_nack_on_packet(n, 65534, 0);
    vej_nack_on_packet(n, 1, 0); /* 65535 and 0 missing */
    g_assert_true(vej_nack_is_missing(n, 65535));
    g_assert_true(vej_nack_is_missing(n, 0));
    g_assert_false(vej_nack_is_missing(n, 65534));
    g_assert_false(vej_nack_is_missing(n, 1));
    vej_nack_on_packet(n, 0, 5 * MS);
    g_assert_false(vej_nack_is_missing(n, 0));
    for (int64_t t = 0; t <= 3000 * MS; t += 5 * MS)
        vej_nack_due(n, t, seqs, 8, &gave_up);
    g_assert_false(vej_nack_is_missing(n, 65535)); /* given up */
    vej_nack_on_packet(n, 5, 3001 * MS);
    g_assert_true(vej_nack_is_missing(n, 3));
    vej_nack_reset(n);
    g_assert_false(vej_nack_is_missing(n, 3));
}

/* Fast round trips never ask more often than every 20 ms. */
static void
test_min_interval(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[8];
    size_t asked = 0;

    vej_nack_on_packet(n, 1, 0);
    vej_nack_on_packet(n, 3, 0);
    for (int i = 0; i < 30; i++) { /* learn a 1 ms RTT from other numbers */
        vej_nack_on_packet(n, (uint16_t)(5 + 2 * i), 0);
        vej_nack_due(n, 0, seqs, 8, NULL);
        vej_nack_on_packet(n, (uint16_t)(4 + 2 * i), 1 * MS);
    }
    g_assert_cmpint(n->rtt_us, <, 20 * MS);
    n->missing[0].last_sent_us = 0;
    for (int64_t t = 0; t < 100 * MS; t += MS)
        asked += vej_nack_due(n, t, seqs, 8, NULL);
    g_assert_cmpuint(asked, <=, 5);
    g_assert_cmpuint(asked, >=, 4);
}

static void
test_overflow_and_reset(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[VEJ_NACK_MAX_MISSING];

    vej_nack_on_packet(n, 10, 0);
    g_assert_cmpuint(vej_nack_on_packet(n, 10 + VEJ_NACK_MAX_MISSING + 1, 0), ==, 0);
    g_assert_cmpuint(n->n_missing, ==, VEJ_NACK_MAX_MISSING);
    g_assert_cmpuint(vej_nack_due(n, 0, seqs, VEJ_NACK_MAX_MISSING, NULL), ==,
                     VEJ_NACK_MAX_MISSING);
    /* One more missing does not fit: the list is cleared, a keyframe is
     * the way out. */
    g_assert_cmpuint(vej_nack_on_packet(n, 10 + VEJ_NACK_MAX_MISSING + 3, 0), ==,
                     VEJ_NACK_OVERFLOW);
    g_assert_cmpuint(n->n_missing, ==, 0);
    g_assert_cmpuint(vej_nack_due(n, 1000 * MS, seqs, 8, NULL), ==, 0);
    /* Only cap numbers per call; the rest are due at once. */
    vej_nack_on_packet(n, 10 + VEJ_NACK_MAX_MISSING + 3 + 40, 0);
    g_assert_cmpuint(n->n_missing, ==, 39);
    g_assert_cmpuint(vej_nack_due(n, 0, seqs, 8, NULL), ==, 8);
    g_assert_cmpuint(vej_nack_due(n, 0, seqs, 8, NULL), ==, 8);
    g_assert_cmpuint(seqs[0], ==, 10 + VEJ_NACK_MAX_MISSING + 4 + 8);
    /* Reset: nothing missing, the next packet starts afresh. */
    vej_nack_reset(n);
    g_assert_cmpuint(vej_nack_on_packet(n, 50000, 0), ==, 0);
    g_assert_cmpuint(vej_nack_on_packet(n, 50001, 0), ==, 0);
    g_assert_cmpuint(n->n_missing, ==, 0);
}

/* Reordering: a number that arrives before it was asked for is simply
 * removed (not "recovered"). */
static void
test_reordered(void)
{
    g_autofree struct vej_nack *n = new_nack();

    vej_nack_on_packet(n, 1, 0);
    vej_nack_on_packet(n, 3, 0);
    g_assert_cmpuint(vej_nack_on_packet(n, 2, 1 * MS), ==, 0);
    g_assert_cmpuint(n->n_missing, ==, 0);
    g_assert_cmpint(n->rtt_us, ==, VEJ_NACK_INITIAL_RTT_US);
}

/* What is due goes out as one RTPFB NACK: PID and BLP bits, across the
 * wrap, parsed back to the same numbers. */
static void
test_nack_packet(void)
{
    g_autofree struct vej_nack *n = new_nack();
    uint16_t seqs[64], got[64];
    uint8_t buf[512];
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    struct vej_rtcp_nack nk;
    uint16_t pid, blp;

    vej_nack_on_packet(n, 65530, 0);
    vej_nack_on_packet(n, 65532, 0); /* 65531 */
    vej_nack_on_packet(n, 2, 0);     /* 65533 .. 1 */
    vej_nack_on_packet(n, 4, 0);     /* 3 */
    vej_nack_on_packet(n, 40, 0);    /* 5 .. 39 */
    size_t k = vej_nack_due(n, 0, seqs, 64, NULL);
    g_assert_cmpuint(k, ==, 1 + 5 + 1 + 35);
    long len = vej_rtcp_write_nack(buf, sizeof buf, 0x11, 0x22, seqs, k);
    g_assert_cmpint(len, >, 0);
    vej_rtcp_iter_init(&it, buf, (size_t)len);
    g_assert_cmpint(vej_rtcp_next(&it, &p), ==, 1);
    g_assert_cmpint(vej_rtcp_parse_nack(&p, &nk), ==, VEJ_RTCP_OK);
    g_assert_cmpuint(nk.media_ssrc, ==, 0x22);
    /* PID 65531; bit k stands for PID + k + 1: 65533 .. 1 are bits 1-5,
     * 3 bit 7, 5 .. 11 bits 9-15 */
    g_assert_true(vej_rtcp_nack_item(&nk, 0, &pid, &blp));
    g_assert_cmpuint(pid, ==, 65531);
    g_assert_cmphex(blp, ==, 0xfebe);
    g_assert_true(vej_rtcp_nack_item(&nk, 1, &pid, &blp));
    g_assert_cmpuint(pid, ==, 12);
    g_assert_cmphex(blp, ==, 0xffff); /* 13 .. 28 */
    g_assert_true(vej_rtcp_nack_item(&nk, 2, &pid, &blp));
    g_assert_cmpuint(pid, ==, 29);
    g_assert_cmphex(blp, ==, 0x03ff); /* 30 .. 39 */
    g_assert_false(vej_rtcp_nack_item(&nk, 3, &pid, &blp));
    g_assert_cmpuint(vej_rtcp_nack_expand(&nk, got, 64), ==, k);
    g_assert_cmpmem(got, k * 2, seqs, k * 2);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gateway/nack/gap-wrap", test_gap_across_wrap);
    g_test_add_func("/gateway/nack/retries-give-up", test_retries_and_give_up);
    g_test_add_func("/gateway/nack/min-interval", test_min_interval);
    g_test_add_func("/gateway/nack/overflow-reset", test_overflow_and_reset);
    g_test_add_func("/gateway/nack/reordered", test_reordered);
    g_test_add_func("/gateway/nack/packet", test_nack_packet);
    g_test_add_func("/gateway/nack/is-missing", test_is_missing);
    return g_test_run();
}
