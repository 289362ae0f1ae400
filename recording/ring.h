/* ring.h - a single-producer, single-consumer ring of variable-sized
 * records in the caller's memory, lock-free (C11 atomics).
 *
 * One ring per media worker: the worker pushes copies of captured packets
 * (the producer, on the forwarding path), the recording thread pops them
 * (the consumer). A push never waits: when the record does not fit it
 * returns false and counts a drop; the consumer is never waited for.
 *
 * Records are contiguous (a record that would cross the end leaves a
 * padding record and starts again at offset 0) and 8-byte aligned, so the
 * consumer reads each one in place without copying. `head` and `tail` are
 * byte counters that only grow (64 bits: they do not wrap in practice);
 * the producer owns `head`, the consumer `tail`. Plain C: no GLib, no
 * globals, no allocation.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vej_ring {
    uint8_t *mem;
    size_t capacity;                    /* a power of two, at least 4096 */
    _Alignas(64) _Atomic uint64_t head; /* bytes pushed (producer) */
    _Alignas(64) _Atomic uint64_t tail; /* bytes consumed (consumer) */
    _Atomic uint64_t dropped;           /* records that did not fit */
};

/* What a record carries: its type (the caller's), a key, a time and up to
 * two byte strings stored one after the other. */
struct vej_ring_record {
    uint8_t type;
    uint32_t key;
    int64_t time;
    const uint8_t *data; /* points into the ring: valid until vej_ring_pop */
    size_t len;
};

/* The largest data length a record may carry. */
#define VEJ_RING_MAX_DATA 65535u

/* capacity must be a power of two >= 4096; mem must be 8-byte aligned. */
void vej_ring_init(struct vej_ring *r, uint8_t *mem, size_t capacity);

/* Producer: appends a record of type (1..255) with a then b as its data.
 * false (and a drop counted) when it does not fit or is too large. */
bool vej_ring_push(struct vej_ring *r, uint8_t type, uint32_t key, int64_t time, const void *a,
                   size_t a_len, const void *b, size_t b_len);

/* Consumer: the oldest record, or false when the ring is empty. */
bool vej_ring_peek(struct vej_ring *r, struct vej_ring_record *out);
/* Consumer: releases the record vej_ring_peek returned. */
void vej_ring_pop(struct vej_ring *r);

/* Records dropped so far (any thread). */
uint64_t vej_ring_dropped(struct vej_ring *r);
/* Bytes in use (any thread; a snapshot). */
size_t vej_ring_used(struct vej_ring *r);
