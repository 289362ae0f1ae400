/* nack.c - missing sequence numbers and their retries (see nack.h). */
#include "gateway/wire/nack.h"

#include <string.h>

#define MIN_RTT_US (5 * 1000)
#define MAX_RTT_US (1000 * 1000)

void
vej_nack_init(struct vej_nack *n)
{
    memset(n, 0, sizeof *n);
    n->rtt_us = VEJ_NACK_INITIAL_RTT_US;
}

void
vej_nack_reset(struct vej_nack *n)
{
    n->started = false;
    n->n_missing = 0;
    n->next_us = 0;
}

bool
vej_nack_is_missing(const struct vej_nack *n, uint16_t seq)
{
    for (size_t i = 0; i < n->n_missing; i++)
        if (n->missing[i].seq == seq)
            return true;
    return false;
}

/* Time between two requests for the same number. */
static int64_t
interval(const struct vej_nack *n)
{
    int64_t i = n->rtt_us;

    if (i < VEJ_NACK_MIN_INTERVAL_US)
        i = VEJ_NACK_MIN_INTERVAL_US;
    if (i > VEJ_NACK_MAX_INTERVAL_US)
        i = VEJ_NACK_MAX_INTERVAL_US;
    return i;
}

static void
learn_rtt(struct vej_nack *n, int64_t sample)
{
    if (sample < MIN_RTT_US)
        sample = MIN_RTT_US;
    if (sample > MAX_RTT_US)
        sample = MAX_RTT_US;
    n->rtt_us = (7 * n->rtt_us + sample) / 8;
}

/* The list entry for seq, or -1. */
static long
find(const struct vej_nack *n, uint16_t seq)
{
    for (size_t i = 0; i < n->n_missing; i++) {
        if (n->missing[i].seq == seq)
            return (long)i;
    }
    return -1;
}

unsigned
vej_nack_on_packet(struct vej_nack *n, uint16_t seq, int64_t now_us)
{
    uint16_t ahead;
    long i;

    if (!n->started) {
        n->started = true;
        n->max_seq = seq;
        return 0;
    }
    ahead = (uint16_t)(seq - n->max_seq);
    if (ahead != 0 && ahead < 0x8000) {
        size_t gap = (size_t)ahead - 1;
        uint16_t first = (uint16_t)(n->max_seq + 1);

        n->max_seq = seq;
        if (gap == 0)
            return 0;
        if (gap > VEJ_NACK_MAX_MISSING - n->n_missing) {
            n->n_missing = 0;
            n->next_us = 0;
            return VEJ_NACK_OVERFLOW;
        }
        for (size_t k = 0; k < gap; k++) {
            struct vej_nack_missing *m = &n->missing[n->n_missing++];
            m->seq = (uint16_t)(first + k);
            m->since_us = now_us;
            m->last_sent_us = 0;
            m->sent = 0;
        }
        n->next_us = now_us; /* ask at once */
        return 0;
    }
    i = find(n, seq);
    if (i < 0)
        return 0;
    const struct vej_nack_missing *m = &n->missing[i];
    unsigned result = m->sent ? VEJ_NACK_RECOVERED : 0;
    /* Only a number asked for once times the round trip unambiguously. */
    if (m->sent == 1 && now_us >= m->last_sent_us) {
        learn_rtt(n, now_us - m->last_sent_us);
        n->next_us = 0; /* the interval changed: the next call reschedules */
    }
    memmove(&n->missing[i], &n->missing[i + 1],
            (n->n_missing - (size_t)i - 1) * sizeof n->missing[0]);
    n->n_missing--;
    return result;
}

size_t
vej_nack_due(struct vej_nack *n, int64_t now_us, uint16_t *seqs, size_t cap, size_t *gave_up)
{
    int64_t every = interval(n), next = INT64_MAX;
    size_t out = 0, kept = 0, dropped = 0;

    if (gave_up)
        *gave_up = 0;
    if (n->n_missing == 0 || now_us < n->next_us)
        return 0;
    for (size_t i = 0; i < n->n_missing; i++) {
        struct vej_nack_missing m = n->missing[i];

        if (m.sent >= VEJ_NACK_MAX_RETRIES || now_us - m.since_us > VEJ_NACK_MAX_AGE_US) {
            dropped++;
            continue;
        }
        if ((m.sent == 0 || now_us - m.last_sent_us >= every) && out < cap) {
            seqs[out++] = m.seq;
            m.sent++;
            m.last_sent_us = now_us;
        }
        /* Due again after the interval (then asked for, or given up);
         * one not asked for (cap reached) is due at once. */
        int64_t due = m.sent ? m.last_sent_us + every : now_us;
        if (due < next)
            next = due;
        n->missing[kept++] = m;
    }
    n->n_missing = kept;
    n->next_us = kept ? next : 0;
    if (gave_up)
        *gave_up = dropped;
    return out;
}
