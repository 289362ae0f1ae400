/* bench/wire.c - ns per operation of the wire layer's per-packet work.
 *
 * Not a test: prints figures. Usage: bench-wire [ITERATIONS] (default
 * 5,000,000). Operations, each timed with CLOCK_MONOTONIC over the whole
 * loop and divided by the iteration count:
 *
 *   rtp-parse       vej_rtp_parse of a Chrome Opus packet with 4 one-byte
 *                   extension elements
 *   rtp-ext-iter    walking those 4 elements
 *   rtp-forward     a full per-hop rewrite of one packet: parse, iterate,
 *                   find audio-level, build mid + abs-send-time +
 *                   transport-wide seq + audio-level, write the packet
 *                   with the new block into a subscriber buffer, rewrite
 *                   SSRC / PT / seq / timestamp
 *   relay-copy      exactly what gateway/relay/router.c's forward_one does on
 *                   the wire per subscriber copy, the packet parsed, its
 *                   audio-level found and the abs-send-time computed once
 *                   before: the hop's block (vej_rtp_ext_build_hop: mid,
 *                   abs-send-time, audio-level), the packet written into
 *                   the worker's buffer, SSRC / PT / marker / seq /
 *                   timestamp rewritten
 *   abs-send-time   vej_rtp_abs_send_time_from_us, once per incoming
 *                   packet (not per copy)
 *   rtcp-compound   walking an SR + SDES + BYE compound and parsing each
 *                   sub-packet with its parser
 *   rtcp-feedback   walking an RR + REMB + NACK + PLI compound from a
 *                   subscriber, parsing each and expanding the NACK
 *   demux           vej_demux_classify on an RTP datagram
 *   loss-in         what a video packet from a publisher costs the loss
 *                   logic: vej_history_add of a 1,200-byte payload into a
 *                   384 KB arena, vej_nack_on_packet (no gap)
 *   loss-out        per subscriber: vej_seqmap_forward
 *   rtx-answer      one NACKed number as router.c's resend answers it:
 *                   vej_seqmap_source, vej_history_get, the hop's block
 *                   (mid, abs-send-time), vej_rtx_write of the 1,200-byte
 *                   payload
 *
 * A checksum of the results is printed so the compiler cannot drop the
 * work. Build with --buildtype=release for figures worth quoting. */
#include "gateway/wire/demux.h"
#include "gateway/wire/history.h"
#include "gateway/wire/nack.h"
#include "gateway/wire/rtcp.h"
#include "gateway/wire/rtp.h"
#include "gateway/wire/rtx.h"
#include "gateway/wire/seqmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const uint8_t chrome_audio[] = {
    0x90, 0x6f, 0x1a, 0x2b, 0x00, 0x00, 0x3c, 0x00, 0x12, 0x34, 0x56, 0x78,
    0xbe, 0xde, 0x00, 0x03, 0x10, 0xaa, 0x22, 0x12, 0x34, 0x56, 0x31, 0x00,
    0x05, 0x40, 0x30, 0x00, 0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xe8,
};

/* An Opus-sized packet: Chrome's header and extensions, 140 bytes of
 * payload. */
#define AUDIO_LEN (sizeof chrome_audio - 6 + 140)

struct compound {
    uint8_t bytes[256];
    size_t len;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
report(const char *name, uint64_t t0, uint64_t t1, unsigned long iterations)
{
    printf("%-14s %8.1f ns/op\n", name, (double)(t1 - t0) / (double)iterations);
}

static void
append(struct compound *c, long n)
{
    if (n <= 0) {
        fprintf(stderr, "bench-wire: writer failed: %s\n", vej_rtcp_status_name((int)n));
        exit(1);
    }
    c->len += (size_t)n;
}

static void
build_compounds(struct compound *sender, struct compound *feedback)
{
    struct vej_rtcp_sr sr = {.ssrc = 0x1234,
                             .ntp_time = UINT64_C(0xe9a1b2c380000000),
                             .rtp_time = 48000,
                             .packet_count = 100,
                             .octet_count = 16000,
                             .n_reports = 1};
    struct vej_rtcp_rr rr = {.ssrc = 0x5678, .n_reports = 1};
    const uint32_t ssrcs[2] = {0x1234, 0x9abc};
    const uint16_t lost[4] = {100, 101, 105, 140};

    sr.reports[0].ssrc = 0x5678;
    rr.reports[0].ssrc = 0x1234;
    memset(sender, 0, sizeof *sender);
    append(sender, vej_rtcp_write_sr(sender->bytes, sizeof sender->bytes, &sr));
    append(sender, vej_rtcp_write_sdes_cname(sender->bytes + sender->len,
                                             sizeof sender->bytes - sender->len, 0x1234,
                                             "4TOk42mSjXCkVIa6", 16));
    append(sender, vej_rtcp_write_bye(sender->bytes + sender->len,
                                      sizeof sender->bytes - sender->len, ssrcs, 1, NULL, 0));
    memset(feedback, 0, sizeof *feedback);
    append(feedback, vej_rtcp_write_rr(feedback->bytes, sizeof feedback->bytes, &rr));
    append(feedback,
           vej_rtcp_write_remb(feedback->bytes + feedback->len,
                               sizeof feedback->bytes - feedback->len, 0x5678, 1500000, ssrcs, 2));
    append(feedback,
           vej_rtcp_write_nack(feedback->bytes + feedback->len,
                               sizeof feedback->bytes - feedback->len, 0x5678, 0x1234, lost, 4));
    append(feedback, vej_rtcp_write_pli(feedback->bytes + feedback->len,
                                        sizeof feedback->bytes - feedback->len, 0x5678, 0x1234));
}

/* Parses every sub-packet of a compound with its parser; returns a sum. */
static uint64_t
walk_compound(const struct compound *c)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    struct vej_rtcp_sr sr;
    struct vej_rtcp_rr rr;
    struct vej_rtcp_sdes sdes;
    struct vej_rtcp_bye bye;
    struct vej_rtcp_nack nack;
    struct vej_rtcp_remb remb;
    struct vej_rtcp_fb fb;
    uint16_t seqs[64];
    uint64_t sum = 0;

    vej_rtcp_iter_init(&it, c->bytes, c->len);
    while (vej_rtcp_next(&it, &p) > 0) {
        switch (p.type) {
        case VEJ_RTCP_SR:
            if (vej_rtcp_parse_sr(&p, &sr) == VEJ_RTCP_OK)
                sum += sr.ntp_time + sr.reports[0].highest_seq;
            break;
        case VEJ_RTCP_RR:
            if (vej_rtcp_parse_rr(&p, &rr) == VEJ_RTCP_OK)
                sum += rr.reports[0].jitter + rr.ssrc;
            break;
        case VEJ_RTCP_SDES:
            if (vej_rtcp_parse_sdes(&p, &sdes) == VEJ_RTCP_OK)
                sum += sdes.chunks[0].cname_len;
            break;
        case VEJ_RTCP_BYE:
            if (vej_rtcp_parse_bye(&p, &bye) == VEJ_RTCP_OK)
                sum += bye.ssrcs[0];
            break;
        case VEJ_RTCP_RTPFB:
            if (vej_rtcp_parse_nack(&p, &nack) == VEJ_RTCP_OK)
                sum += vej_rtcp_nack_expand(&nack, seqs, 64);
            break;
        case VEJ_RTCP_PSFB:
            if (vej_rtcp_parse_remb(&p, &remb) == VEJ_RTCP_OK)
                sum += remb.bitrate;
            else if (vej_rtcp_parse_pli(&p, &fb) == VEJ_RTCP_OK)
                sum += fb.media_ssrc;
            break;
        default:
            break;
        }
    }
    return sum;
}

/* The per-subscriber forwarding work on one packet. */
static long
forward_one(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, uint16_t seq,
            uint64_t now_us)
{
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;
    struct vej_rtp_ext_builder b;
    bool voice = false;
    uint8_t level = 127;
    long n;

    if (vej_rtp_parse(in, in_len, &v) != VEJ_RTP_OK)
        return -1;
    vej_rtp_ext_iter_init(&it, &v);
    while (vej_rtp_ext_next(&it, &e) > 0)
        if (e.id == 1)
            (void)vej_rtp_ext_read_audio_level(&e, &voice, &level);
    vej_rtp_ext_builder_init(&b);
    (void)vej_rtp_ext_add_mid(&b, 9, "a1", 2);
    (void)vej_rtp_ext_add_abs_send_time(&b, 3, now_us);
    (void)vej_rtp_ext_add_transport_seq(&b, 5, seq);
    (void)vej_rtp_ext_add_audio_level(&b, 1, voice, level);
    n = vej_rtp_write_packet(&v, &b, out, cap);
    if (n < 0)
        return n;
    vej_rtp_set_ssrc(out, (size_t)n, 0xabcdef01);
    vej_rtp_set_payload_type(out, (size_t)n, 109);
    vej_rtp_set_seq(out, (size_t)n, seq);
    vej_rtp_set_timestamp(out, (size_t)n, v.timestamp + 1234);
    return n;
}

/* The ids a Chromium subscriber's answer keeps (the relay's offer). */
static const struct vej_rtp_hop_ext hop_ids = {.mid = 2, .abs_send_time = 3, .audio_level = 1};

/* gateway/relay/router.c forward_one's wire work for one subscriber copy: the
 * hop's extension block (its mid, the packet's abs-send-time, the
 * publisher's audio-level under the subscriber's id), the packet written
 * with it, the header rewritten. */
static long
relay_copy(const struct vej_rtp_view *v, const struct vej_rtp_ext_element *level, uint8_t *out,
           size_t cap, uint16_t seq, uint32_t ast)
{
    struct vej_rtp_ext_builder b;
    long n;

    vej_rtp_ext_build_hop(&b, &hop_ids, "3", 1, ast, level);
    n = vej_rtp_write_packet(v, &b, out, cap);
    if (n < 0)
        return n;
    vej_rtp_set_ssrc(out, (size_t)n, 0xabcdef01);
    vej_rtp_set_payload_type(out, (size_t)n, 109);
    vej_rtp_set_marker(out, (size_t)n, v->marker);
    vej_rtp_set_seq(out, (size_t)n, seq);
    vej_rtp_set_timestamp(out, (size_t)n, v->timestamp + 1234);
    return n;
}

static void
build_audio(uint8_t *packet)
{
    memcpy(packet, chrome_audio, sizeof chrome_audio);
    for (size_t i = sizeof chrome_audio; i < AUDIO_LEN; i++)
        packet[i] = (uint8_t)(i * 31);
}

int
main(int argc, char **argv)
{
    unsigned long iterations = 5000000;
    struct compound sender, feedback;
    struct vej_rtp_view v;
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;
    uint8_t audio_packet[AUDIO_LEN], out[1500];
    size_t audio_len = sizeof audio_packet;
    uint64_t t0, t1, sum = 0;

    if (argc > 1) {
        char *end;
        iterations = strtoul(argv[1], &end, 10);
        if (*end || iterations == 0) {
            fprintf(stderr, "usage: %s [ITERATIONS]\n", argv[0]);
            return 2;
        }
    }
    build_audio(audio_packet);
    build_compounds(&sender, &feedback);
    printf("bench-wire: %lu iterations, %zu-byte RTP, %zu- and %zu-byte RTCP compounds\n",
           iterations, audio_len, sender.len, feedback.len);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++) {
        sum += vej_rtp_parse(audio_packet, audio_len - (i & 1), &v) == VEJ_RTP_OK;
        sum += v.payload_len;
    }
    report("rtp-parse", t0, now_ns(), iterations);

    vej_rtp_parse(audio_packet, audio_len, &v);
    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++) {
        vej_rtp_ext_iter_init(&it, &v);
        while (vej_rtp_ext_next(&it, &e) > 0)
            sum += e.id;
    }
    report("rtp-ext-iter", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += (uint64_t)forward_one(audio_packet, audio_len, out, sizeof out, (uint16_t)i,
                                     i * 20000) +
               out[20];
    report("rtp-forward", t0, now_ns(), iterations);

    vej_rtp_parse(audio_packet, audio_len, &v);
    if (vej_rtp_ext_find(&v, 1, &e) != VEJ_RTP_OK) {
        fprintf(stderr, "bench-wire: no audio-level in the sample packet\n");
        return 1;
    }
    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += (uint64_t)relay_copy(&v, &e, out, sizeof out, (uint16_t)i,
                                    (uint32_t)(i * 5243) & 0xFFFFFF) +
               out[20];
    report("relay-copy", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += vej_rtp_abs_send_time_from_us(UINT64_C(1795564800000000) + i * 20000);
    report("abs-send-time", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += walk_compound(&sender);
    report("rtcp-compound", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += walk_compound(&feedback);
    report("rtcp-feedback", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++)
        sum += vej_demux_classify(audio_packet, audio_len - (i & 1), NULL);
    t1 = now_ns();
    report("demux", t0, t1, iterations);

    static uint8_t arena[384 * 1024], payload[1200];
    static struct vej_history history;
    static struct vej_nack missing;
    struct vej_seqmap map;
    struct vej_history_packet hp;
    uint32_t arrival = 0;
    uint16_t seq_out = 0, src;
    vej_history_init(&history, arena, sizeof arena);
    vej_nack_init(&missing);
    vej_seqmap_init(&map);
    memset(payload, 0x5a, sizeof payload);
    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++) {
        sum += vej_history_add(&history, (uint16_t)i, (uint32_t)i * 3000, false, payload,
                               sizeof payload, (int64_t)i * 4000, &arrival);
        sum += vej_nack_on_packet(&missing, (uint16_t)i, (int64_t)i * 4000);
    }
    report("loss-in", t0, now_ns(), iterations);

    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++) {
        sum += vej_seqmap_forward(&map, (uint16_t)i, (uint32_t)i, 100, &seq_out);
        sum += seq_out;
    }
    report("loss-out", t0, now_ns(), iterations);

    /* the map and the history both end at the last i: ask 100 behind */
    t0 = now_ns();
    for (unsigned long i = 0; i < iterations; i++) {
        struct vej_rtp_ext_builder b;
        struct vej_rtx_header h = {97, false, (uint16_t)i, 0, 0x1234, &b};
        uint16_t asked = (uint16_t)(seq_out - 100 - (i & 63));
        if (vej_seqmap_source(&map, asked, &src) &&
            vej_history_get(&history, src, (int64_t)(iterations - 1) * 4000, 1000000, &hp)) {
            vej_rtp_ext_build_hop(&b, &hop_ids, "1", 1, vej_rtp_abs_send_time_from_us(i * 4000),
                                  NULL);
            sum += (uint64_t)vej_rtx_write(out, sizeof out, &h, asked, hp.payload, hp.len);
        }
    }
    report("rtx-answer", t0, now_ns(), iterations);

    printf("checksum %" PRIu64 "\n", sum);
    return 0;
}
