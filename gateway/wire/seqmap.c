/* seqmap.c - runs of a subscriber's sequence numbers (see seqmap.h). */
#include "gateway/wire/seqmap.h"

#include <string.h>

void
vej_seqmap_init(struct vej_seqmap *m)
{
    memset(m, 0, sizeof *m);
}

void
vej_seqmap_pause(struct vej_seqmap *m)
{
    m->running = false;
}

bool
vej_seqmap_forward(struct vej_seqmap *m, uint16_t src, uint32_t arrival, uint16_t first_out,
                   uint16_t *out)
{
    uint16_t ahead, behind;

    if (!m->running) {
        uint16_t o = m->started ? (uint16_t)(m->out_max + 1) : first_out;
        m->offset = (uint16_t)(o - src);
        m->src_max = src;
        m->span = 0;
        m->out_max = o;
        m->arrival_first = arrival;
        m->running = m->started = true;
        *out = o;
        return true;
    }
    ahead = (uint16_t)(src - m->src_max);
    if (ahead != 0 && ahead < 0x8000) {
        m->src_max = src;
        m->span = (uint16_t)(m->span > UINT16_MAX - ahead ? UINT16_MAX : m->span + ahead);
        m->out_max = (uint16_t)(src + m->offset);
        *out = m->out_max;
        return true;
    }
    behind = (uint16_t)(m->src_max - src);
    if (behind == 0 || behind > m->span || behind >= 0x8000)
        return false; /* the highest again, or from before the run */
    *out = (uint16_t)(src + m->offset);
    return true;
}

bool
vej_seqmap_source(const struct vej_seqmap *m, uint16_t out, uint16_t *src)
{
    uint16_t s, behind;

    if (!m->running)
        return false;
    s = (uint16_t)(out - m->offset);
    behind = (uint16_t)(m->src_max - s);
    if (behind > m->span || behind >= 0x8000)
        return false;
    *src = s;
    return true;
}

bool
vej_seqmap_arrived_in_run(const struct vej_seqmap *m, uint32_t arrival)
{
    return m->running && (uint32_t)(arrival - m->arrival_first) < 0x80000000u;
}
