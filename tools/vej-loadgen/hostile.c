/* tools/vej-loadgen/hostile.c - publishers that behave like broken or
 * hostile peers, and the subscriber's check of the sender reports.
 *
 * Publisher side (options; all but --sr-after off by default):
 *   --sr-after S     sender reports for each stream, every second from S
 *                    seconds after its SSRC began (default 0, as browsers
 *                    send them; -1: none), on a clock of our own
 *                    (the real time less LG_SR_CLOCK_OFFSET_S, so that a
 *                    receiver can tell our clock from the gateway's);
 *   --renumber S     S seconds into the media, video numbering jumps by
 *                    20,000 in the middle of the stream (no keyframe);
 *   --ssrc-change S  S seconds into the media, video gets a new SSRC, a
 *                    new timestamp base and numbers 100 below the old
 *                    ones (inside the gateway's history of the old SSRC),
 *                    announced by a renegotiation on the same PC;
 *   --video-kbps K   video at about K kbit/s (media.c scales its frames);
 *   --no-rtx         subscribers answer without RTX, NACKing all the same
 *                    (sdp-client.c).
 * Subscriber side, always: each SR is checked against the publisher's
 * clock (sr_foreign_clock) and against the timestamps of the stream it
 * describes (sr_inconsistent).
 *
 * Threads: the tick and the receive side run on a PC's media thread;
 * lg_hostile_ssrc_change on the main thread while the media threads are
 * paused (lg_workers_pause), so the PC's send state is not shared.
 */
#include "loadgen.h"

#include "gateway/wire/rtcp.h"

#include <string.h>

#define NTP_UNIX_OFFSET 2208988800ULL
#define SR_INTERVAL_NS 1000000000LL
/* A stamp at most this far from our clock is ours. */
#define SR_CLOCK_TOLERANCE_US (2 * 1000000LL)
/* An SR's RTP time at most this far from the stream's own (in seconds). */
#define SR_RTP_TOLERANCE_S 0.3

static const uint32_t clock_hz[2] = {48000, 90000};

/* The publisher's NTP clock: the real time, LG_SR_CLOCK_OFFSET_S behind. */
static uint64_t
publisher_ntp(void)
{
    int64_t us = g_get_real_time() - LG_SR_CLOCK_OFFSET_S * G_USEC_PER_SEC;
    uint64_t secs = (uint64_t)(us / G_USEC_PER_SEC) + NTP_UNIX_OFFSET;
    uint64_t frac = ((uint64_t)(us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;
    return secs << 32 | frac;
}

static int64_t
ntp_to_unix_us(uint64_t ntp)
{
    int64_t secs = (int64_t)(ntp >> 32) - (int64_t)NTP_UNIX_OFFSET;
    return secs * G_USEC_PER_SEC + (int64_t)(((ntp & 0xffffffffu) * G_USEC_PER_SEC) >> 32);
}

void
lg_hostile_note_sent(struct lg_pc *pc, enum lg_kind k, uint32_t ts, int64_t now)
{
    if (!pc->since_ns[k])
        pc->since_ns[k] = now;
    pc->last_ts[k] = ts;
    pc->last_sent_ns[k] = now;
}

static void
send_reports(struct lg_pc *pc, int64_t now)
{
    const struct lg_options *o = &pc->run->o;
    uint8_t buf[256 + 64];
    size_t len = 0;
    for (int k = 0; k < 2; k++) {
        if (!pc->since_ns[k] || now - pc->since_ns[k] < (int64_t)o->sr_after_s * 1000000000LL)
            continue;
        struct vej_rtcp_sr sr = {.ssrc = pc->ssrc[k], .ntp_time = publisher_ntp()};
        double ahead = (double)(now - pc->last_sent_ns[k]) / 1e9;
        sr.rtp_time = pc->last_ts[k] + (uint32_t)(ahead * clock_hz[k]);
        sr.packet_count = (uint32_t)pc->sent[k];
        long n = vej_rtcp_write_sr(buf + len, 256 - len, &sr);
        if (n > 0)
            len += (size_t)n;
    }
    if (len)
        lg_pc_send_rtcp(pc, buf, len, sizeof buf);
}

void
lg_hostile_tick_pub(struct lg_pc *pc, int64_t now)
{
    const struct lg_options *o = &pc->run->o;
    if (o->sr_after_s >= 0 && now >= pc->next_sr_ns) {
        pc->next_sr_ns = now + SR_INTERVAL_NS;
        send_reports(pc, now);
    }
    int64_t since = LG_GET(pc->run->sending_since_ns);
    if (o->renumber_s > 0 && !pc->renumbered && since &&
        now - since >= (int64_t)o->renumber_s * 1000000000LL) {
        pc->renumbered = true;
        pc->seq[LG_VIDEO] += 20000;
    }
}

bool
lg_hostile_ssrc_change(struct lg_run *run)
{
    bool ok = true;
    lg_workers_pause(run);
    for (guint i = 0; i < run->pubs->len && ok; i++) {
        struct lg_pc *pc = run->pubs->pdata[i];
        uint32_t old = pc->ssrc[LG_VIDEO];
        do
            pc->ssrc[LG_VIDEO] = g_random_int() | 1;
        while (pc->ssrc[LG_VIDEO] == old || pc->ssrc[LG_VIDEO] == pc->ssrc[LG_AUDIO]);
        pc->seq[LG_VIDEO] -= 100;
        pc->ts_base[LG_VIDEO] = g_random_int();
        pc->since_ns[LG_VIDEO] = 0;
        g_autofree char *offer = lg_sdp_publish_offer(pc, run->fingerprint, "actpass");
        json_t *r = lg_rpc_call(pc->rpc, "webrtc.publish", json_pack("{s:s}", "sdp", offer), 15);
        ok = r != NULL;
        json_decref(r);
    }
    lg_workers_resume(run);
    if (ok)
        fprintf(stderr, "vej-loadgen: every publisher's video has a new SSRC\n");
    return ok;
}

void
lg_hostile_note_rx(struct lg_rx_stream *s, uint16_t seq, uint32_t ts, int64_t now)
{
    if (s->have_last && (uint16_t)(seq - s->last_seq) >= 0x8000)
        return; /* older than the newest: not the stream's current time */
    s->have_last = true;
    s->last_seq = seq;
    s->last_ts = ts;
    s->last_ns = now;
}

/* One SR received by a subscriber: from the publisher's clock, and
 * matching the timestamps of the packets of its stream? */
static void
check_sr(struct lg_run *run, struct lg_pc *pc, const struct vej_rtcp_sr *sr, int64_t now)
{
    LG_ADD(run->rx_sr, 1);
    int64_t ours = g_get_real_time() - LG_SR_CLOCK_OFFSET_S * G_USEC_PER_SEC;
    int64_t d = ntp_to_unix_us(sr->ntp_time) - ours;
    if (d > SR_CLOCK_TOLERANCE_US || d < -SR_CLOCK_TOLERANCE_US)
        LG_ADD(run->rx_sr_foreign, 1);
    for (size_t i = 0; i < pc->n_rx; i++) {
        const struct lg_rx_stream *s = &pc->rx[i];
        if (s->ssrc != sr->ssrc || !s->have_last)
            continue;
        double hz = s->fb.clock_hz;
        double expect = (double)(now - s->last_ns) / 1e9 * hz;
        double off = (double)(int32_t)(sr->rtp_time - s->last_ts) - expect;
        if (off > SR_RTP_TOLERANCE_S * hz || off < -SR_RTP_TOLERANCE_S * hz) {
            LG_ADD(run->rx_sr_inconsistent, 1);
            fprintf(stderr, "vej-loadgen: SR of %08x is %.3f s off its stream's timestamps\n",
                    sr->ssrc, off / hz);
        }
    }
}

void
lg_hostile_rx_rtcp(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    struct vej_rtcp_sr sr;
    int64_t now = lg_now_ns();
    vej_rtcp_iter_init(&it, pkt, len);
    while (vej_rtcp_next(&it, &p) > 0)
        if (p.type == VEJ_RTCP_SR && vej_rtcp_parse_sr(&p, &sr) == VEJ_RTCP_OK)
            check_sr(run, pc, &sr, now);
}
