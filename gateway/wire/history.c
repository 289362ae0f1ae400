/* history.c - the per-stream index of sequence numbers and the payload
 * ring (see history.h for the rules). */
#include "gateway/wire/history.h"

#include <string.h>

#define SLOT_MASK (VEJ_HISTORY_SLOTS - 1)
#define ARENA_MAX ((size_t)1 << 30)

enum {
    SEEN = 1 << 0,   /* the number arrived */
    STORED = 1 << 1, /* its payload went into the arena at pos */
    MARKER = 1 << 2,
};

_Static_assert((VEJ_HISTORY_SLOTS & SLOT_MASK) == 0, "slot count is a power of two");
_Static_assert(VEJ_HISTORY_LATE_WINDOW < VEJ_HISTORY_SLOTS,
               "the late window must be below the slot count for exact duplicates");
_Static_assert(VEJ_HISTORY_RESYNC >= VEJ_HISTORY_LATE_WINDOW && VEJ_HISTORY_RESYNC < 0x8000,
               "resync threshold");

void
vej_history_init(struct vej_history *h, uint8_t *arena, size_t arena_size)
{
    memset(h, 0, sizeof *h);
    if (arena && arena_size > 0 && arena_size <= ARENA_MAX) {
        h->arena = arena;
        h->arena_size = h->arena_cap = arena_size;
    }
}

bool
vej_history_use_arena(struct vej_history *h, size_t size)
{
    if (!h->arena || size == 0 || size > h->arena_cap)
        return false;
    /* Every payload held ends more than `size` bytes before the new head:
     * none is valid any more, whatever its offset meant before. */
    h->head += h->arena_size + size;
    h->arena_size = size;
    return true;
}

/* Writes the payload into the ring; false when it cannot be held. */
static bool
store(struct vej_history *h, struct vej_history_entry *e, const uint8_t *payload, size_t len)
{
    size_t off;

    if (!h->arena || len > h->arena_size || len > UINT16_MAX)
        return false;
    off = (size_t)(h->head % h->arena_size);
    if (off + len > h->arena_size) {
        h->head += h->arena_size - off; /* the tail is skipped: start at 0 */
        off = 0;
    }
    if (len)
        memcpy(h->arena + off, payload, len);
    e->pos = h->head;
    h->head += len;
    return true;
}

static void
record(struct vej_history *h, uint16_t seq, uint32_t timestamp, bool marker, const uint8_t *payload,
       size_t len, int64_t now_us, uint32_t *arrival)
{
    struct vej_history_entry *e = &h->slots[seq & SLOT_MASK];

    e->seq = seq;
    e->timestamp = timestamp;
    e->arrival = h->arrivals++;
    e->arrival_us = now_us;
    e->len = 0;
    e->flags = SEEN | (marker ? MARKER : 0);
    if (store(h, e, payload, len)) {
        e->flags |= STORED;
        e->len = (uint16_t)len;
    }
    if (arrival)
        *arrival = e->arrival;
}

/* Starts again at seq: every number seen so far is forgotten. */
static void
restart(struct vej_history *h, uint16_t seq)
{
    memset(h->slots, 0, sizeof h->slots);
    h->started = true;
    h->max_seq = seq;
}

enum vej_history_verdict
vej_history_add(struct vej_history *h, uint16_t seq, uint32_t timestamp, bool marker,
                const uint8_t *payload, size_t len, int64_t now_us, uint32_t *arrival)
{
    enum vej_history_verdict verdict;
    uint16_t ahead, behind;

    if (!payload)
        len = 0;
    if (!h->started) {
        restart(h, seq);
        verdict = VEJ_HISTORY_NEW;
    } else if ((ahead = (uint16_t)(seq - h->max_seq)) != 0 && ahead < 0x8000) {
        if (ahead > VEJ_HISTORY_RESYNC) {
            restart(h, seq);
            verdict = VEJ_HISTORY_RESTART;
        } else {
            h->max_seq = seq;
            verdict = VEJ_HISTORY_NEW;
        }
    } else {
        const struct vej_history_entry *e = &h->slots[seq & SLOT_MASK];

        behind = (uint16_t)(h->max_seq - seq); /* 0 (the highest itself) .. 0x8000 */
        if (behind > VEJ_HISTORY_RESYNC) {
            restart(h, seq);
            verdict = VEJ_HISTORY_RESTART;
        } else if (behind >= VEJ_HISTORY_LATE_WINDOW) {
            return VEJ_HISTORY_TOO_OLD;
        } else if ((e->flags & SEEN) && e->seq == seq) {
            return VEJ_HISTORY_DUPLICATE;
        } else {
            verdict = VEJ_HISTORY_LATE;
        }
    }
    record(h, seq, timestamp, marker, payload, len, now_us, arrival);
    return verdict;
}

bool
vej_history_get(const struct vej_history *h, uint16_t seq, int64_t now_us, int64_t max_age_us,
                struct vej_history_packet *out)
{
    const struct vej_history_entry *e = &h->slots[seq & SLOT_MASK];

    if (!h->started || (e->flags & (SEEN | STORED)) != (SEEN | STORED) || e->seq != seq)
        return false;
    /* Bytes written since its start overwrote it once they reach the
     * arena's size. */
    if (h->head - e->pos > h->arena_size)
        return false;
    if (now_us < e->arrival_us || now_us - e->arrival_us > max_age_us)
        return false;
    out->seq = seq;
    out->timestamp = e->timestamp;
    out->marker = (e->flags & MARKER) != 0;
    out->arrival = e->arrival;
    out->arrival_us = e->arrival_us;
    out->payload = h->arena + (size_t)(e->pos % h->arena_size);
    out->len = e->len;
    return true;
}
