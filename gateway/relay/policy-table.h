/* policy-table.h - a hearing's media policy as a square matrix of cells
 * indexed by small integers, with the list of cells changed since it was
 * last taken.
 *
 * Index 0 is the recorder (as a subscriber: relay.h, VEJ_RELAY_RECORDER);
 * participants have indexes 1 to VEJ_POLICY_INDEX_MAX - 1, which the
 * signalling layer gives them per hearing and reuses after a leave. A
 * cell (subscriber, publisher) holds VEJ_RELAY_{AUDIO,VIDEO}_{PRESENT,
 * FLOWING} bits. Setting a cell to the value it has costs nothing and
 * lists nothing; a cell changed several times between two takes is listed
 * once, with its latest value: updates queued for a busy worker coalesce.
 *
 * Plain C: no GLib, no globals; heap memory only when the table grows
 * (doubling) or its change list does. Not thread-safe (the relay guards
 * the one both threads share with a mutex).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Indexes are below this (0: the recorder). */
#define VEJ_POLICY_INDEX_MAX 4096

struct vej_policy_change {
    uint32_t subscriber;
    uint32_t publisher;
    uint8_t bits;
};

struct vej_policy_table {
    uint32_t cap;   /* indexes < cap are stored */
    uint8_t *cells; /* cap * cap, [subscriber * cap + publisher]; bit 7: listed */
    struct vej_policy_change *changed; /* positions listed (bits read at take) */
    size_t n_changed, changed_cap;
    bool track_changes; /* false: a plain matrix, nothing listed */
};

/* An empty table (every cell 0); track_changes says whether changes are listed. */
void vej_policy_table_init(struct vej_policy_table *t, bool track_changes);
/* Frees its memory; the table is empty again. */
void vej_policy_table_clear(struct vej_policy_table *t);
/* The cell's bits (0 for an index never set). */
uint8_t vej_policy_table_get(const struct vej_policy_table *t, uint32_t subscriber,
                             uint32_t publisher);
/* Sets a cell; a change is listed once until taken. Returns 1 when the
 * value changed, 0 when it had it already, -1 for an index out of range
 * or no memory (nothing changed). */
int vej_policy_table_set(struct vej_policy_table *t, uint32_t subscriber, uint32_t publisher,
                         uint8_t bits);
/* Sets every cell of row and column `index` to 0 (an index freed or given
 * to another participant); O(cap). Returns the number of cells changed. */
size_t vej_policy_table_clear_index(struct vej_policy_table *t, uint32_t index);
/* The changes listed since the last take, each with its current bits,
 * into out (transfer full: free() it; NULL when none); the list is empty
 * afterwards. Returns how many. */
size_t vej_policy_table_take(struct vej_policy_table *t, struct vej_policy_change **out);
