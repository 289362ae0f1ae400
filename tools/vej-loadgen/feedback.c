/* tools/vej-loadgen/feedback.c - receiver reports, REMB, NACK compounds,
 * the --loss dropper and the audio-level block (see feedback.h). Plain C:
 * the RTCP sub-packets are written by gateway/wire/rtcp.c. */
#include "feedback.h"

#include <math.h>
#include <string.h>

#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

void
lg_fb_stream_init(struct lg_fb_stream *s, uint32_t ssrc, uint32_t clock_hz)
{
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    s->clock_hz = clock_hz ? clock_hz : 90000;
}

uint32_t
lg_fb_stream_ext_max(const struct lg_fb_stream *s)
{
    return s->cycles + s->max_seq;
}

static void
note_jitter(struct lg_fb_stream *s, uint32_t rtp_ts, int64_t arrival_ns)
{
    int64_t arrival = (int64_t)((double)arrival_ns * (double)s->clock_hz / 1e9);
    int64_t transit = arrival - (int64_t)rtp_ts;
    if (s->have_transit) {
        int64_t d = transit - s->last_transit;
        if (d < 0)
            d = -d;
        s->jitter += ((double)d - s->jitter) / 16.0;
    }
    s->last_transit = transit;
    s->have_transit = true;
}

void
lg_fb_stream_note(struct lg_fb_stream *s, uint16_t seq, uint32_t rtp_ts, int64_t arrival_ns,
                  bool timing)
{
    if (!s->started) {
        s->started = true;
        s->base_seq = seq;
        s->max_seq = seq;
    } else {
        uint16_t delta = (uint16_t)(seq - s->max_seq);
        if (delta != 0 && delta < MAX_DROPOUT) {
            if (seq < s->max_seq)
                s->cycles += SEQ_MOD;
            s->max_seq = seq;
        }
        /* else a duplicate, a late packet (counted only) or a jump, which
         * a real receiver would resynchronise on; the gateway keeps its
         * numbering continuous, so it is only counted here. */
    }
    s->received++;
    if (timing)
        note_jitter(s, rtp_ts, arrival_ns);
}

void
lg_fb_report(struct lg_fb_stream *s, struct vej_rtcp_report_block *out)
{
    memset(out, 0, sizeof *out);
    out->ssrc = s->ssrc;
    if (!s->started)
        return;
    uint64_t expected = (uint64_t)lg_fb_stream_ext_max(s) - s->base_seq + 1;
    int64_t lost = (int64_t)expected - (int64_t)s->received;
    /* 24-bit signed on the wire: clamp */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    uint64_t expected_interval = expected - s->expected_prior;
    uint64_t received_interval = s->received - s->received_prior;
    s->expected_prior = expected;
    s->received_prior = s->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    out->fraction_lost = expected_interval == 0 || lost_interval <= 0
                             ? 0
                             : (uint8_t)(((uint64_t)lost_interval << 8) / expected_interval);
    out->cumulative_lost = (int32_t)lost;
    out->highest_seq = lg_fb_stream_ext_max(s);
    out->jitter = (uint32_t)s->jitter;
}

long
lg_fb_write_rr_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                    struct lg_fb_stream *const *streams, size_t n, uint64_t bitrate)
{
    struct vej_rtcp_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = sender_ssrc;
    uint32_t ssrcs[VEJ_RTCP_MAX_COUNT];
    for (size_t i = 0; i < n && rr.n_reports < VEJ_RTCP_MAX_COUNT; i++) {
        if (!streams[i]->started)
            continue;
        ssrcs[rr.n_reports] = streams[i]->ssrc;
        lg_fb_report(streams[i], &rr.reports[rr.n_reports++]);
    }
    long a = vej_rtcp_write_rr(out, cap, &rr);
    if (a < 0 || bitrate == 0)
        return a;
    long b =
        vej_rtcp_write_remb(out + a, cap - (size_t)a, sender_ssrc, bitrate, ssrcs, rr.n_reports);
    return b < 0 ? b : a + b;
}

long
lg_fb_write_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                 const uint16_t *seqs, size_t n)
{
    struct vej_rtcp_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = sender_ssrc;
    long a = vej_rtcp_write_rr(out, cap, &rr);
    if (a < 0)
        return a;
    long b = vej_rtcp_write_nack(out + a, cap - (size_t)a, sender_ssrc, media_ssrc, seqs, n);
    return b < 0 ? b : a + b;
}

static uint64_t
next_draw(struct lg_fb_dropper *d)
{
    uint64_t x = d->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void
lg_fb_dropper_init(struct lg_fb_dropper *d, uint64_t seed, double share)
{
    d->state = seed ? seed : 0x9E3779B97F4A7C15ULL;
    if (!(share > 0)) /* also NaN */
        d->threshold = 0;
    else if (share >= 1)
        d->threshold = UINT64_MAX;
    else
        d->threshold = (uint64_t)ldexp(share, 64);
}

bool
lg_fb_drop(struct lg_fb_dropper *d)
{
    if (d->threshold == 0)
        return false;
    if (d->threshold == UINT64_MAX)
        return true;
    return next_draw(d) < d->threshold;
}

long
lg_fb_write_audio_level_block(uint8_t *out, size_t cap, uint8_t id, bool voice, uint8_t level)
{
    if (id < 1 || id > 14 || level > 127)
        return VEJ_RTCP_EINVAL;
    if (cap < 8)
        return VEJ_RTCP_ENOSPACE;
    out[0] = 0xbe;
    out[1] = 0xde;
    out[2] = 0;
    out[3] = 1;                  /* one 32-bit word */
    out[4] = (uint8_t)(id << 4); /* L = 0: one byte of data */
    out[5] = (uint8_t)((voice ? 0x80 : 0) | level);
    out[6] = 0;
    out[7] = 0;
    return 8;
}
