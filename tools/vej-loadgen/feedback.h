/* tools/vej-loadgen/feedback.h - what a real receiver sends back, as
 * plain C (no GLib, no allocation, no clock of its own): RTCP receiver
 * reports (RFC 3550 6.4.2 and A.3, A.8), REMB, the compound that carries
 * them, generic NACK compounds (RFC 4585), and the deterministic packet
 * dropper behind --loss.
 *
 * Invariants: a report block's figures come only from lg_fb_stream_note()
 * calls (the packets a subscriber really took); lg_fb_report() moves the
 * "prior" marks, so the fraction lost covers the interval since the last
 * report; every writer returns the bytes written or a negative
 * VEJ_RTCP_* status and leaves nothing useful in out on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/wire/rtcp.h"

/* Receive statistics of one SSRC, for its report block. */
struct lg_fb_stream {
    uint32_t ssrc;
    bool started;
    uint16_t base_seq;
    uint32_t cycles;  /* << 16 */
    uint16_t max_seq; /* highest number seen, modulo 2^16 */
    uint64_t received;
    uint64_t expected_prior, received_prior;
    uint32_t clock_hz;    /* 90000 video, 48000 audio */
    int64_t last_transit; /* in clock units */
    bool have_transit;
    double jitter; /* RFC 3550 A.8, clock units */
};

/* Starts the statistics of `ssrc` at clock_hz (> 0). */
void lg_fb_stream_init(struct lg_fb_stream *s, uint32_t ssrc, uint32_t clock_hz);
/* A packet taken: its sequence number, RTP timestamp and arrival time. A
 * late packet (older than max_seq) counts as received without moving
 * max_seq. Jitter is updated only when `timing` (not for a repair that
 * arrives late by design). */
void lg_fb_stream_note(struct lg_fb_stream *s, uint16_t seq, uint32_t rtp_ts, int64_t arrival_ns,
                       bool timing);
/* The extended highest sequence number (cycles + max_seq). */
uint32_t lg_fb_stream_ext_max(const struct lg_fb_stream *s);
/* The report block for the interval since the previous call, which it
 * closes; lsr/dlsr are 0 (the load generator keeps no sender reports). */
void lg_fb_report(struct lg_fb_stream *s, struct vej_rtcp_report_block *out);

/* RR from sender_ssrc with a block for each of the first min(n, 31)
 * started streams, then REMB for `bitrate` over those SSRCs (none when
 * bitrate is 0). */
long lg_fb_write_rr_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                         struct lg_fb_stream *const *streams, size_t n, uint64_t bitrate);
/* A compound for NACK: an empty RR from sender_ssrc (RFC 3550 makes it
 * the first packet), then a generic NACK for seqs[0..n) of media_ssrc. */
long lg_fb_write_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                      const uint16_t *seqs, size_t n);

/* The --loss dropper: xorshift64* from a non-zero seed; drops a packet
 * with probability `share` (0 <= share <= 1). */
struct lg_fb_dropper {
    uint64_t state;
    uint64_t threshold; /* drop when the next draw is below it */
};
void lg_fb_dropper_init(struct lg_fb_dropper *d, uint64_t seed, double share);
bool lg_fb_drop(struct lg_fb_dropper *d);

/* Writes one RFC 6464 audio-level element (one-byte form, id 1-14) as a
 * whole header-extension block (0xBEDE, padded to 4 bytes) into out; the
 * caller sets the X bit. Returns 8, or VEJ_RTCP_EINVAL / ENOSPACE. */
long lg_fb_write_audio_level_block(uint8_t *out, size_t cap, uint8_t id, bool voice, uint8_t level);
