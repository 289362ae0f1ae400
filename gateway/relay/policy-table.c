/* policy-table.c - a hearing's media policy matrix and its change list
 * (policy-table.h).
 *
 * Invariants: a cell's bit 7 is set exactly when its position is in the
 * change list; cells outside cap are 0; the list never holds a position
 * twice, so it is never longer than cap * cap. Plain C: no GLib, no
 * globals.
 */
#include "gateway/relay/policy-table.h"

#include <stdlib.h>
#include <string.h>

#define LISTED 0x80u

void
vej_policy_table_init(struct vej_policy_table *t, bool track_changes)
{
    memset(t, 0, sizeof *t);
    t->track_changes = track_changes;
}

void
vej_policy_table_clear(struct vej_policy_table *t)
{
    bool track = t->track_changes;
    free(t->cells);
    free(t->changed);
    vej_policy_table_init(t, track);
}

/* Makes room for indexes < need (need <= VEJ_POLICY_INDEX_MAX). */
static bool
grow(struct vej_policy_table *t, uint32_t need)
{
    if (need <= t->cap)
        return true;
    uint32_t cap = t->cap ? t->cap : 8;
    while (cap < need)
        cap *= 2;
    if (cap > VEJ_POLICY_INDEX_MAX)
        cap = VEJ_POLICY_INDEX_MAX;
    uint8_t *cells = calloc((size_t)cap * cap, 1);
    if (!cells)
        return false;
    for (uint32_t s = 0; s < t->cap; s++)
        memcpy(cells + (size_t)s * cap, t->cells + (size_t)s * t->cap, t->cap);
    free(t->cells);
    t->cells = cells;
    t->cap = cap;
    return true;
}

uint8_t
vej_policy_table_get(const struct vej_policy_table *t, uint32_t subscriber, uint32_t publisher)
{
    if (subscriber >= t->cap || publisher >= t->cap)
        return 0;
    return t->cells[(size_t)subscriber * t->cap + publisher] & (uint8_t)~LISTED;
}

static bool
list_change(struct vej_policy_table *t, uint32_t subscriber, uint32_t publisher)
{
    if (t->n_changed == t->changed_cap) {
        size_t cap = t->changed_cap ? 2 * t->changed_cap : 64;
        struct vej_policy_change *c = realloc(t->changed, cap * sizeof *c);
        if (!c)
            return false;
        t->changed = c;
        t->changed_cap = cap;
    }
    t->changed[t->n_changed++] =
        (struct vej_policy_change){.subscriber = subscriber, .publisher = publisher};
    return true;
}

int
vej_policy_table_set(struct vej_policy_table *t, uint32_t subscriber, uint32_t publisher,
                     uint8_t bits)
{
    bits &= (uint8_t)~LISTED;
    if (subscriber >= VEJ_POLICY_INDEX_MAX || publisher >= VEJ_POLICY_INDEX_MAX)
        return -1;
    if (vej_policy_table_get(t, subscriber, publisher) == bits)
        return 0;
    uint32_t need = (subscriber > publisher ? subscriber : publisher) + 1;
    if (!grow(t, need))
        return -1;
    uint8_t *cell = &t->cells[(size_t)subscriber * t->cap + publisher];
    if (t->track_changes && !(*cell & LISTED)) {
        if (!list_change(t, subscriber, publisher))
            return -1;
        *cell |= LISTED;
    }
    *cell = (uint8_t)((*cell & LISTED) | bits);
    return 1;
}

size_t
vej_policy_table_clear_index(struct vej_policy_table *t, uint32_t index)
{
    size_t n = 0;
    for (uint32_t other = 0; index < t->cap && other < t->cap; other++) {
        n += vej_policy_table_set(t, index, other, 0) == 1;
        if (other != index)
            n += vej_policy_table_set(t, other, index, 0) == 1;
    }
    return n;
}

size_t
vej_policy_table_take(struct vej_policy_table *t, struct vej_policy_change **out)
{
    size_t n = t->n_changed;
    for (size_t i = 0; i < n; i++) {
        struct vej_policy_change *c = &t->changed[i];
        uint8_t *cell = &t->cells[(size_t)c->subscriber * t->cap + c->publisher];
        *cell &= (uint8_t)~LISTED;
        c->bits = *cell;
    }
    *out = n ? t->changed : NULL;
    if (n) {
        t->changed = NULL;
        t->changed_cap = 0;
    }
    t->n_changed = 0;
    return n;
}
