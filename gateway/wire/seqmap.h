/* seqmap.h - one subscriber's sequence numbers for one published stream.
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib.
 *
 * The subscriber sees its own sequence space. Packets reach it in runs:
 * a run starts with the first packet forwarded after a pause (policy
 * withheld packets, a keyframe was awaited, the sender restarted its
 * numbering) and lasts until the next pause. Within a run the mapping is
 * a fixed offset, out = src + offset, so that losses upstream stay gaps
 * the subscriber can NACK and late or repaired packets land where they
 * belong. A new run starts right after the highest number ever sent, so
 * withheld packets leave no gap, and no number is ever given twice:
 * within a run src -> out is one-to-one, and each run's numbers lie
 * beyond every earlier run's. (The caller gives each source number once
 * per run: vej_history_add filters duplicates.)
 *
 * A NACK is answered only for numbers of the current run
 * (vej_seqmap_source), and only with packets that arrived during it
 * (vej_seqmap_arrived_in_run): never a packet withheld from this
 * subscriber or one from before it was allowed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct vej_seqmap {
    bool running;           /* in a run: the last packet offered went out */
    bool started;           /* some packet went out: out_max is meaningful */
    uint16_t offset;        /* out = src + offset in the current run */
    uint16_t src_max;       /* highest source number of the run */
    uint16_t span;          /* src_max - first source number of the run, saturated */
    uint16_t out_max;       /* highest number sent, over every run */
    uint32_t arrival_first; /* history arrival number of the run's first packet */
};

/* Nothing sent yet. */
void vej_seqmap_init(struct vej_seqmap *m);

/* A packet was withheld (or the source restarted): the run ends. */
void vej_seqmap_pause(struct vej_seqmap *m);

/* The subscriber's number for source packet src (history arrival number
 * `arrival`) in *out, starting a run when none is going (its first
 * number: first_out for the very first packet, else out_max + 1). false:
 * the packet must not go to this subscriber (a late packet from before
 * the run, or src equal to the run's highest). */
bool vej_seqmap_forward(struct vej_seqmap *m, uint16_t src, uint32_t arrival, uint16_t first_out,
                        uint16_t *out);

/* The source number behind the subscriber's number out, when out belongs
 * to the current run (sent, or a gap inside it); false otherwise. */
bool vej_seqmap_source(const struct vej_seqmap *m, uint16_t out, uint16_t *src);

/* Whether a packet with history arrival number `arrival` arrived during
 * the current run (false when there is none). */
bool vej_seqmap_arrived_in_run(const struct vej_seqmap *m, uint32_t arrival);
