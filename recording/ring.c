/* ring.c - the SPSC record ring (ring.h).
 *
 * A record is a 24-byte header then its data, padded to 8 bytes:
 *   u32 size (header + data + padding), u16 len, u8 type (0: padding),
 *   u8 zero, u32 key, u32 zero, i64 time.
 * The producer writes the record, then publishes it with a release store
 * of `head`; the consumer reads `head` with acquire, so it sees the bytes.
 * The consumer frees space with a release store of `tail`, read by the
 * producer with acquire before it overwrites anything.
 */
#include "recording/ring.h"

#include <string.h>

#define HEADER 24u
#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

struct header {
    uint32_t size;
    uint16_t len;
    uint8_t type;
    uint8_t zero;
    uint32_t key;
    uint32_t zero2;
    int64_t time;
};
_Static_assert(sizeof(struct header) == HEADER, "record header layout");

void
vej_ring_init(struct vej_ring *r, uint8_t *mem, size_t capacity)
{
    r->mem = mem;
    r->capacity = capacity;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
}

static void
drop(struct vej_ring *r)
{
    atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
}

bool
vej_ring_push(struct vej_ring *r, uint8_t type, uint32_t key, int64_t time, const void *a,
              size_t a_len, const void *b, size_t b_len)
{
    size_t len = a_len + b_len;
    if (type == 0 || len > VEJ_RING_MAX_DATA) {
        drop(r);
        return false;
    }
    size_t size = ALIGN8(HEADER + len);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t off = (size_t)(head & (r->capacity - 1));
    size_t to_end = r->capacity - off;
    size_t need = size <= to_end ? size : to_end + size; /* padding to the end, then the record */
    if (r->capacity - (size_t)(head - tail) < need) {
        drop(r);
        return false;
    }
    if (size > to_end) {
        struct header pad = {.size = (uint32_t)to_end};
        memcpy(r->mem + off, &pad, to_end < HEADER ? to_end : HEADER);
        head += to_end;
        off = 0;
    }
    struct header h = {
        .size = (uint32_t)size, .len = (uint16_t)len, .type = type, .key = key, .time = time};
    memcpy(r->mem + off, &h, HEADER);
    if (a_len)
        memcpy(r->mem + off + HEADER, a, a_len);
    if (b_len)
        memcpy(r->mem + off + HEADER + a_len, b, b_len);
    atomic_store_explicit(&r->head, head + size, memory_order_release);
    return true;
}

bool
vej_ring_peek(struct vej_ring *r, struct vej_ring_record *out)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == head)
            return false;
        size_t off = (size_t)(tail & (r->capacity - 1));
        size_t to_end = r->capacity - off;
        struct header h;
        if (to_end < HEADER) { /* a padding too short for a header: the end */
            tail += to_end;
            atomic_store_explicit(&r->tail, tail, memory_order_release);
            continue;
        }
        memcpy(&h, r->mem + off, HEADER);
        if (h.type == 0) {
            tail += h.size;
            atomic_store_explicit(&r->tail, tail, memory_order_release);
            continue;
        }
        out->type = h.type;
        out->key = h.key;
        out->time = h.time;
        out->data = r->mem + off + HEADER;
        out->len = h.len;
        return true;
    }
}

void
vej_ring_pop(struct vej_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    struct header h;
    memcpy(&h, r->mem + (size_t)(tail & (r->capacity - 1)), HEADER);
    atomic_store_explicit(&r->tail, tail + h.size, memory_order_release);
}

uint64_t
vej_ring_dropped(struct vej_ring *r)
{
    return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}

size_t
vej_ring_used(struct vej_ring *r)
{
    return (size_t)(atomic_load_explicit(&r->head, memory_order_acquire) -
                    atomic_load_explicit(&r->tail, memory_order_acquire));
}
