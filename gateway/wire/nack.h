/* nack.h - the receiver side of generic NACK (RFC 4585 6.2.1) for one
 * published stream: which sequence numbers are missing, and when to ask
 * for each again.
 *
 * Plain C11 for the forwarding path: no allocation, no globals, no GLib;
 * the caller passes its monotonic clock. Nothing here runs on a timer:
 * the caller asks vej_nack_due() as packets arrive (a video stream sends
 * several per frame), so retries stop with the stream.
 *
 * A gap in the numbers puts each missing number on the list (at most
 * VEJ_NACK_MAX_MISSING; a larger gap clears the list and says so, and the
 * caller should ask for a keyframe instead). Each is asked for at once,
 * then again every round-trip time (never more often than
 * VEJ_NACK_MIN_INTERVAL_US), at most VEJ_NACK_MAX_RETRIES times and for
 * at most VEJ_NACK_MAX_AGE_US; then it is given up. The round-trip time
 * is learnt from numbers asked for once that then arrive (a smoothed
 * average, starting at VEJ_NACK_INITIAL_RTT_US).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_NACK_MAX_MISSING 256
#define VEJ_NACK_MAX_RETRIES 10
#define VEJ_NACK_MAX_AGE_US (1000 * 1000)
#define VEJ_NACK_MIN_INTERVAL_US (20 * 1000)
#define VEJ_NACK_MAX_INTERVAL_US (500 * 1000)
#define VEJ_NACK_INITIAL_RTT_US (100 * 1000)

/* Results of vej_nack_on_packet, as bits. */
enum {
    VEJ_NACK_RECOVERED = 1 << 0, /* the packet was missing and had been asked for */
    VEJ_NACK_OVERFLOW = 1 << 1,  /* a gap too large to track: the list was cleared */
};

struct vej_nack_missing {
    int64_t since_us;     /* when the gap was seen */
    int64_t last_sent_us; /* when last asked for; 0: not yet */
    uint16_t seq;
    uint8_t sent; /* times asked for */
};

struct vej_nack {
    bool started;
    uint16_t max_seq;
    size_t n_missing; /* in missing[], oldest first */
    struct vej_nack_missing missing[VEJ_NACK_MAX_MISSING];
    int64_t rtt_us;
    int64_t next_us; /* vej_nack_due has nothing to do before this */
};

void vej_nack_init(struct vej_nack *n);

/* Forgets every missing number; the next packet starts afresh (for a
 * source that restarted its numbering). Keeps the round-trip time. */
void vej_nack_reset(struct vej_nack *n);

/* Whether seq is on the list: missing and still to be asked for (not
 * given up). O(VEJ_NACK_MAX_MISSING); not for the per-packet path. */
bool vej_nack_is_missing(const struct vej_nack *n, uint16_t seq);

/* A packet arrived (new, late or retransmitted; duplicates need not be
 * passed). Returns VEJ_NACK_* bits. */
unsigned vej_nack_on_packet(struct vej_nack *n, uint16_t seq, int64_t now_us);

/* The numbers to ask for now, ascending from the oldest, at most cap of
 * them into seqs; each is counted as asked. *gave_up (may be NULL) gets
 * how many numbers were dropped from the list on this call (retries or
 * age exhausted). Cheap when nothing is due (now_us < next_us). */
size_t vej_nack_due(struct vej_nack *n, int64_t now_us, uint16_t *seqs, size_t cap,
                    size_t *gave_up);
