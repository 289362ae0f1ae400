/* history.h - what a published stream recently sent: which sequence
 * numbers arrived (so that a duplicate or a packet too late is never
 * forwarded twice) and, for video, the packets themselves, so that a
 * subscriber's NACK can be answered.
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib.
 * The caller provides the payload arena once (or none: sequence numbers
 * only, as for audio); adding and finding a packet never allocate.
 *
 * Layout: an index of VEJ_HISTORY_SLOTS entries, slot = seq mod the slot
 * count, and a byte arena written as a ring; each payload is stored
 * contiguously (a payload that would straddle the end starts again at
 * offset 0). A packet's bytes are valid while fewer than arena_size bytes
 * have been written after its start, so memory is bounded by the arena
 * whatever the packet sizes, and the index bounds the packet count.
 *
 * Sequence numbers are compared modulo 2^16 relative to the highest seen
 * (`max_seq`): ahead by 1..32767 is new, behind is late. The history
 * accepts a late packet only within VEJ_HISTORY_LATE_WINDOW of the
 * highest and only if that number has not arrived before; because the
 * window is below the slot count, the slot of such a number still tells
 * exactly whether it did. A jump of more than VEJ_HISTORY_RESYNC either
 * way is taken as the sender restarting its numbering: the index is
 * cleared and the stream starts again at the new number.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_HISTORY_SLOTS 1024 /* a power of two, above the late window */
#define VEJ_HISTORY_LATE_WINDOW 512
#define VEJ_HISTORY_RESYNC 3000

/* What vej_history_add made of a packet. The first three are forwarded. */
enum vej_history_verdict {
    VEJ_HISTORY_NEW = 0,   /* ahead of every number so far (or the first) */
    VEJ_HISTORY_LATE,      /* behind the highest, within the window, not seen before */
    VEJ_HISTORY_RESTART,   /* a jump beyond VEJ_HISTORY_RESYNC: the history restarted at it */
    VEJ_HISTORY_DUPLICATE, /* this number arrived already: drop */
    VEJ_HISTORY_TOO_OLD,   /* further behind than the late window: drop */
};

struct vej_history_entry {
    uint64_t pos;       /* absolute arena position of the payload */
    int64_t arrival_us; /* when it arrived (the caller's monotonic clock) */
    uint32_t timestamp;
    uint32_t arrival; /* arrival number: order in which this history took packets */
    uint16_t seq;
    uint16_t len;
    uint8_t flags;
};

struct vej_history {
    uint8_t *arena;    /* (transfer none) the caller's; NULL: numbers only */
    size_t arena_size; /* the part of the arena in use (vej_history_use_arena) */
    size_t arena_cap;  /* the arena's size */
    uint64_t head;     /* absolute position of the next byte to write */
    uint32_t arrivals; /* arrival number of the next packet (wraps) */
    bool started;
    uint16_t max_seq;
    struct vej_history_entry slots[VEJ_HISTORY_SLOTS];
};

/* Uses `size` bytes of the arena (at most the size given to init; the
 * rest is never touched, so a lazily mapped arena stays out of memory
 * until it is needed). Payloads held so far are dropped (their numbers
 * are kept: duplicates are still found); false, and nothing changes, for
 * a size of 0 or above the arena's. */
bool vej_history_use_arena(struct vej_history *h, size_t size);

/* A packet found in the history; payload borrows the arena (valid until
 * the next vej_history_add). */
struct vej_history_packet {
    uint16_t seq;
    uint32_t timestamp;
    bool marker;
    uint32_t arrival;
    int64_t arrival_us;
    const uint8_t *payload;
    size_t len;
};

/* Empties h. arena (arena_size bytes, at most 1 GiB) holds payloads; NULL
 * or 0 keeps numbers only. */
void vej_history_init(struct vej_history *h, uint8_t *arena, size_t arena_size);

/* Classifies an arriving packet and, unless it is a duplicate or too old,
 * records it (payload copied when there is an arena it fits in; a NULL
 * payload needs len 0). *arrival (may be NULL) gets its arrival number,
 * which increases by one per recorded packet (modulo 2^32), restarts
 * included. */
enum vej_history_verdict vej_history_add(struct vej_history *h, uint16_t seq, uint32_t timestamp,
                                         bool marker, const uint8_t *payload, size_t len,
                                         int64_t now_us, uint32_t *arrival);

/* The packet `seq`, when its payload is still held and it arrived at most
 * max_age_us before now_us. */
bool vej_history_get(const struct vej_history *h, uint16_t seq, int64_t now_us, int64_t max_age_us,
                     struct vej_history_packet *out);

/* true when arrival number `a` is `since` or later (modulo 2^32). */
static inline bool
vej_history_arrived_since(uint32_t a, uint32_t since)
{
    return (uint32_t)(a - since) < 0x80000000u;
}
