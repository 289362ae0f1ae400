/* tap.h - what the relay hands a recorder, and nothing more.
 *
 * The relay knows the recorder only through this table of functions (set
 * with vej_relay_set_tap). It taps the publisher side of the router: the
 * decrypted RTP of each captured track as it arrives after loss repair
 * (duplicates dropped, RTX unwrapped into the original packet, the
 * publisher's own SSRC, payload type and header extensions), and the
 * whole decrypted compound RTCP of a publish PC that carries a sender
 * report of a captured track. Nothing per subscriber (rewritten payload
 * types, sequence numbers, extension blocks) ever reaches the tap.
 *
 * Which tracks are captured is policy: the hearing logic says so per
 * (publisher, kind) in vej_relay_set_policy (the cell of subscriber index
 * VEJ_RELAY_RECORDER), together with the subscribers' cells, so a move
 * or a mute changes forwarding and capture in the same step on the
 * worker, before it is announced.
 *
 * Threads and cost: every callback runs on a media worker, on the
 * forwarding path. It must copy what it keeps and return at once: no
 * blocking, no lock, no allocation. When it cannot keep a packet (its ring
 * is full) it drops it and counts it; forwarding is never held back.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One captured track, described when its capture starts. A track keeps
 * its key while its SSRC stays; a new SSRC (a new publish PC, a
 * renumbering publisher) is a new key. Strings are (transfer none) and
 * valid only during the call. */
struct vej_tap_track {
    uint32_t key; /* unique for the relay's lifetime, never 0 */
    const char *hearing_id;
    const char *participant_id;
    unsigned kind;     /* 0 audio, 1 video */
    const char *codec; /* "opus", "VP8", "H264" */
    uint8_t payload_type;
    uint32_t clock_rate;
    unsigned channels; /* audio: 2 for Opus; video: 0 */
    const char *fmtp;  /* "" when none */
    uint32_t ssrc;
    uint8_t mid_ext_id;         /* the publisher's id for sdes:mid, 0: none */
    uint8_t audio_level_ext_id; /* the publisher's id for ssrc-audio-level, 0: none */
};

struct vej_tap {
    /* A track's capture starts (or its description changed: same key). */
    void (*track)(void *user, unsigned worker, const struct vej_tap_track *track);
    /* The track is gone for good (its PC closed, its m-line removed, its
     * SSRC replaced): no packet of `key` follows. */
    void (*track_end)(void *user, unsigned worker, uint32_t key);
    /* A packet of a captured track: `rtcp` for the publisher's compound
     * RTCP. arrival_ns is CLOCK_REALTIME when the datagram was read.
     * Returns false when it was dropped (the tap counts it). */
    bool (*packet)(void *user, unsigned worker, uint32_t key, bool rtcp, int64_t arrival_ns,
                   const uint8_t *data, size_t len);
    void *user;
};
