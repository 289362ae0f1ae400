/* tools/vej-loadgen/media.c - synthetic VP8 and Opus on the send side,
 * counting, loss and latency on the receive side.
 *
 * Video: 30 frames/s, a keyframe every 60 frames (2 s); ~1 Mbit/s as
 * 3,980-byte delta frames (4 packets) and 15,000-byte keyframes (13
 * packets); RTP packets of at most 1,200 bytes, the marker on the last
 * packet of a frame. Each payload starts with an RFC 7741 descriptor (S=1,
 * PID 0 on a frame's first packet) and, on the first packet, a VP8 payload
 * header whose P bit is 0 for keyframes (with the 0x9d012a start code and
 * 640x360), so the gateway's keyframe detection sees real keyframes.
 * Audio: a 160-byte Opus-sized payload every 20 ms with an RFC 6464
 * audio-level header extension (id LG_EXT_AUDIO_LEVEL, voice, a level that
 * moves between 20 and 59 -dBov). About 175 packets/s per publisher in
 * total. Every payload ends with a struct lg_stamp.
 *
 * Receive side, as a browser's: per SSRC, counts for the load figures and
 * the receiver report (feedback.c); for video, gaps go through
 * gateway/wire/nack.c and are asked for at once with a generic NACK; RTX
 * packets (the SSRCs paired in the gateway's offers) are unwrapped and
 * counted as received only when they fill a gap that was asked for. */
#include "loadgen.h"

#include "gateway/wire/rtp.h"
#include "gateway/wire/rtx.h"

#include <string.h>

#define FRAME_NS (1000000000 / 30)
#define AUDIO_NS (20 * 1000000)
#define KEYFRAME_EVERY 60
#define KEYFRAME_BYTES 15000
#define DELTA_BYTES 3980
#define MAX_RTP_PACKET 1200
#define AUDIO_PAYLOAD 160
#define FANOUT_SLOTS 16384

void
lg_media_publisher_init(struct lg_pc *pc)
{
    int64_t now = lg_now_ns();
    for (int k = 0; k < 2; k++) {
        pc->ssrc[k] = g_random_int() | 1;
        pc->seq[k] = (uint16_t)g_random_int();
        pc->ts_base[k] = g_random_int();
    }
    pc->next_video_ns = now + g_random_int_range(0, FRAME_NS);
    pc->next_audio_ns = now + g_random_int_range(0, AUDIO_NS);
}

void
lg_media_start_pubs(GPtrArray *pubs)
{
    int64_t now = lg_now_ns();
    for (guint i = 0; i < pubs->len; i++) {
        struct lg_pc *pc = pubs->pdata[i];
        pc->next_video_ns = now + g_random_int_range(0, FRAME_NS);
        pc->next_audio_ns = now + g_random_int_range(0, AUDIO_NS);
    }
}

static size_t
rtp_header(uint8_t *p, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
    return 12;
}

static void
stamp_and_send(struct lg_pc *pc, enum lg_kind kind, uint8_t *buf, size_t len)
{
    struct lg_stamp st = {
        .magic = LG_STAMP_MAGIC,
        .publisher = (uint16_t)pc->index,
        .kind = (uint8_t)kind,
        .counter = pc->counter[kind]++,
        .sent_ns = (uint64_t)lg_now_ns(),
    };
    memcpy(buf + len - sizeof st, &st, sizeof st);
    lg_pc_send_rtp(pc, buf, len, LG_PKT_MAX);
    LG_ADD(pc->sent[kind], 1); /* read by the report's thread */
}

static void
send_video_frame(struct lg_pc *pc)
{
    uint8_t buf[LG_PKT_MAX];
    bool key = pc->frame_no % KEYFRAME_EVERY == 0 || pc->force_keyframe;
    pc->force_keyframe = false;
    size_t frame = key ? KEYFRAME_BYTES : DELTA_BYTES;
    int kbps = pc->run->o.video_kbps;
    if (kbps > 0) /* --video-kbps: frames scaled from the ~1 Mbit/s default */
        frame = MAX(frame * (size_t)kbps / 1000, (size_t)64);
    size_t max_payload = MAX_RTP_PACKET - 12;
    size_t n_packets = (frame + max_payload - 1) / max_payload;
    size_t per = frame / n_packets;
    uint32_t ts = pc->ts_base[LG_VIDEO] + pc->frame_no * 3000u;
    lg_hostile_note_sent(pc, LG_VIDEO, ts, lg_now_ns());
    for (size_t i = 0; i < n_packets; i++) {
        bool last = i + 1 == n_packets;
        size_t h = rtp_header(buf, LG_PT_VP8, last, pc->seq[LG_VIDEO]++, ts, pc->ssrc[LG_VIDEO]);
        uint8_t *p = buf + h;
        memset(p, 0xa5, per);
        p[0] = i == 0 ? 0x10 : 0x00; /* RFC 7741: S bit, PID 0, no extensions */
        if (i == 0) {
            static const uint8_t keyhdr[] = {0x10, 0x00, 0x00, 0x9d, 0x01,
                                             0x2a, 0x80, 0x02, 0x68, 0x01};
            static const uint8_t deltahdr[] = {0x11, 0x00, 0x00};
            if (key)
                memcpy(p + 1, keyhdr, sizeof keyhdr);
            else
                memcpy(p + 1, deltahdr, sizeof deltahdr);
        }
        stamp_and_send(pc, LG_VIDEO, buf, h + per);
    }
    pc->frame_no++;
}

static void
send_audio(struct lg_pc *pc)
{
    uint8_t buf[LG_PKT_MAX];
    uint32_t ts = pc->ts_base[LG_AUDIO] + pc->counter[LG_AUDIO] * 960u;
    lg_hostile_note_sent(pc, LG_AUDIO, ts, lg_now_ns());
    size_t h = rtp_header(buf, LG_PT_OPUS, false, pc->seq[LG_AUDIO]++, ts, pc->ssrc[LG_AUDIO]);
    buf[0] |= 0x10; /* X: the audio-level block follows */
    uint8_t level = (uint8_t)(20 + pc->counter[LG_AUDIO] % 40);
    h += (size_t)lg_fb_write_audio_level_block(buf + h, sizeof buf - h, LG_EXT_AUDIO_LEVEL, true,
                                               level);
    memset(buf + h, 0x5a, AUDIO_PAYLOAD);
    buf[h] = 0x78; /* Opus TOC: SILK-only WB 20 ms, one frame */
    stamp_and_send(pc, LG_AUDIO, buf, h + AUDIO_PAYLOAD);
}

void
lg_media_tick_pubs(GPtrArray *pubs, int64_t now)
{
    for (guint i = 0; i < pubs->len; i++) {
        struct lg_pc *pc = pubs->pdata[i];
        if (!pc->srtp)
            continue;
        /* After a stall, skip ahead rather than burst. */
        if (now - pc->next_video_ns > 10 * FRAME_NS)
            pc->next_video_ns = now;
        if (now - pc->next_audio_ns > 10 * AUDIO_NS)
            pc->next_audio_ns = now;
        while (pc->next_video_ns <= now) {
            send_video_frame(pc);
            pc->next_video_ns += FRAME_NS;
        }
        while (pc->next_audio_ns <= now) {
            send_audio(pc);
            pc->next_audio_ns += AUDIO_NS;
        }
        lg_hostile_tick_pub(pc, now);
    }
}

/* ---- receive ---- */

static struct lg_rx_stream *
rx_stream(struct lg_pc *pc, uint32_t ssrc, enum lg_kind kind)
{
    for (size_t i = 0; i < pc->n_rx; i++)
        if (pc->rx[i].ssrc == ssrc)
            return &pc->rx[i];
    if (pc->n_rx == LG_MAX_RX_STREAMS)
        return NULL;
    struct lg_rx_stream *s = &pc->rx[pc->n_rx++];
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    lg_fb_stream_init(&s->fb, ssrc, kind == LG_VIDEO ? 90000 : 48000);
    if (kind == LG_VIDEO) {
        s->nack = g_new0(struct vej_nack, 1);
        vej_nack_init(s->nack);
    }
    return s;
}

/* The media SSRC an RTX SSRC repairs, 0 when `ssrc` is not an RTX one. */
static uint32_t
rtx_media_ssrc(const struct lg_pc *pc, uint32_t ssrc)
{
    int n = __atomic_load_n(&pc->n_rtx_map, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (pc->rtx_map[i].rtx == ssrc)
            return pc->rtx_map[i].media;
    return 0;
}

/* Asks for what the stream's NACK list says is due now. */
static void
send_nacks(struct lg_pc *pc, struct lg_rx_stream *s, int64_t now_us)
{
    uint16_t seqs[64];
    size_t n = vej_nack_due(s->nack, now_us, seqs, G_N_ELEMENTS(seqs), NULL);
    if (n == 0)
        return;
    uint8_t buf[LG_PKT_MAX];
    long len = lg_fb_write_nack(buf, sizeof buf - 64, pc->local_ssrc, s->ssrc, seqs, n);
    if (len > 0) {
        lg_pc_send_rtcp(pc, buf, (size_t)len, sizeof buf);
        LG_ADD(pc->run->tx_nacked, n);
    }
}

void
lg_media_send_report(struct lg_pc *pc)
{
    if (!pc->srtp)
        return;
    struct lg_fb_stream *streams[LG_MAX_RX_STREAMS] = {0};
    for (size_t i = 0; i < pc->n_rx; i++)
        streams[i] = &pc->rx[i].fb;
    uint8_t buf[LG_PKT_MAX];
    /* Each compound carries at most 31 blocks: more streams, more
     * compounds; nothing received yet: an empty RR, as browsers send. */
    if (pc->n_rx == 0) {
        long len = lg_fb_write_rr_remb(buf, sizeof buf - 64, pc->local_ssrc, streams, 0, 0);
        if (len > 0)
            lg_pc_send_rtcp(pc, buf, (size_t)len, sizeof buf);
        return;
    }
    for (size_t at = 0; at < pc->n_rx; at += VEJ_RTCP_MAX_COUNT) {
        size_t n = MIN(pc->n_rx - at, (size_t)VEJ_RTCP_MAX_COUNT);
        long len =
            lg_fb_write_rr_remb(buf, sizeof buf - 64, pc->local_ssrc, streams + at, n, LG_REMB_BPS);
        if (len > 0)
            lg_pc_send_rtcp(pc, buf, (size_t)len, sizeof buf);
    }
}

static void
note_seq(struct lg_rx_stream *s, uint16_t seq)
{
    if (!s->started) {
        s->started = true;
        s->first_seq = seq;
        s->ext_max = seq;
    } else {
        uint16_t delta = (uint16_t)(seq - (uint16_t)s->ext_max);
        if (delta < 0x8000)
            s->ext_max += delta; /* newer (a reordered older one is only counted) */
    }
    s->received++;
}

static void
fanout_note(struct lg_run *run, const struct lg_stamp *st, int64_t now)
{
    int want = run->o.subscribers;
    if (want < 2 || !run->fanout)
        return;
    uint32_t key =
        (((uint32_t)st->publisher << 24) | ((uint32_t)st->kind << 23) | (st->counter & 0x7fffff)) +
        1;
    g_mutex_lock(&run->fanout_lock);
    struct lg_fanout_slot *slot = &run->fanout[key % run->fanout_len];
    if (slot->key != key) {
        slot->key = key;
        slot->n = 0;
        slot->first_ns = now;
    }
    slot->last_ns = now;
    if (++slot->n == want && LG_GET(run->measuring))
        lg_hist_add_us(&run->spread, (slot->last_ns - slot->first_ns) / 1000);
    g_mutex_unlock(&run->fanout_lock);
}

/* An RTX packet: counted (and reported) only when it fills a gap that
 * was asked for; its copy of the stamp is not a latency sample. */
static void
rx_repair(struct lg_run *run, struct lg_pc *pc, const struct vej_rtp_view *v, uint32_t media,
          int64_t now)
{
    uint16_t osn;
    const uint8_t *payload;
    size_t plen;
    LG_ADD(run->rx_rtx, 1);
    if (vej_rtx_unwrap(v, &osn, &payload, &plen) != VEJ_RTP_OK || plen < sizeof(struct lg_stamp))
        return; /* a padding-only probe */
    struct lg_stamp st;
    memcpy(&st, payload + plen - sizeof st, sizeof st);
    if (st.magic != LG_STAMP_MAGIC || st.kind > LG_VIDEO) {
        LG_ADD(run->rx_bad_stamp, 1);
        return;
    }
    struct lg_rx_stream *s = rx_stream(pc, media, (enum lg_kind)st.kind);
    if (!s || !s->nack || !(vej_nack_on_packet(s->nack, osn, now / 1000) & VEJ_NACK_RECOVERED))
        return;
    LG_ADD(run->rx_recovered, 1);
    note_seq(s, osn);
    lg_fb_stream_note(&s->fb, osn, v->timestamp, now, false);
    LG_ADD(run->rx_packets, 1);
}

void
lg_media_rx(struct lg_run *run, struct lg_pc *pc, const uint8_t *pkt, size_t len)
{
    int64_t now = lg_now_ns();
    struct vej_rtp_view v;
    if (vej_rtp_parse(pkt, len, &v) != VEJ_RTP_OK) {
        LG_ADD(run->rx_bad_stamp, 1);
        return;
    }
    uint32_t media = rtx_media_ssrc(pc, v.ssrc);
    if (media) {
        rx_repair(run, pc, &v, media, now);
        return;
    }
    struct lg_stamp st;
    if (v.payload_len < sizeof st) {
        LG_ADD(run->rx_bad_stamp, 1);
        return;
    }
    memcpy(&st, v.payload + v.payload_len - sizeof st, sizeof st);
    if (st.magic != LG_STAMP_MAGIC || st.kind > LG_VIDEO) {
        LG_ADD(run->rx_bad_stamp, 1);
        return;
    }
    struct lg_rx_stream *s = rx_stream(pc, v.ssrc, (enum lg_kind)st.kind);
    if (s) {
        note_seq(s, v.seq);
        lg_hostile_note_rx(s, v.seq, v.timestamp, now);
        lg_fb_stream_note(&s->fb, v.seq, v.timestamp, now, true);
        if (s->nack) {
            vej_nack_on_packet(s->nack, v.seq, now / 1000);
            send_nacks(pc, s, now / 1000);
        }
    }
    LG_ADD(run->rx_packets, 1);
    if (st.kind == LG_AUDIO) {
        LG_ADD(run->rx_audio, 1);
        int id = LG_GET(pc->audio_level_id);
        struct vej_rtp_ext_element e;
        bool voice;
        uint8_t level;
        if (id > 0 && vej_rtp_ext_find(&v, (uint8_t)id, &e) == VEJ_RTP_OK &&
            vej_rtp_ext_read_audio_level(&e, &voice, &level) == VEJ_RTP_OK)
            LG_ADD(run->rx_audio_level, 1);
    }
    if (v.ext_form == VEJ_RTP_EXT_ONE_BYTE || v.ext_form == VEJ_RTP_EXT_TWO_BYTE)
        LG_ADD(run->rx_with_extensions, 1);
    if (LG_GET(run->measuring))
        lg_hist_add_us(&run->latency, (now - (int64_t)st.sent_ns) / 1000);
    fanout_note(run, &st, now);
}

void
lg_media_fanout_init(struct lg_run *run)
{
    run->fanout_len = FANOUT_SLOTS;
    run->fanout = g_new0(struct lg_fanout_slot, FANOUT_SLOTS);
}
