/* fixture.h - a recording directory built from real media, for the
 * archiver's tests and benchmark.
 *
 * Real VP8 and Opus RTP (GStreamer encoders and payloaders fed with frames
 * and samples generated here) is placed on a made-up hearing: each
 * participant has a distinct tone, the first one flashes and beeps together
 * every 2 s (a sync source), publishers' SR clocks are seconds apart from
 * the gateway's, video arrives later than audio (150 ms), some video packets
 * out of order, and one participant leaves and rejoins with new SSRCs. The
 * capture is written as docs/recording.md says (two segments, capture.json)
 * by pcap-synth.c, with the truth in DIR/fixture.json for the checks. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define VEJ_FIXTURE_MAX_PARTICIPANTS 8

struct vej_fixture_participant {
    char id[32];
    char label[64];
    double tone_hz;
    bool beeps;      /* bursts of the tone with video flashes, else a steady tone */
    bool h264;       /* video in H.264 (a Matroska file), else VP8 */
    bool audio_only; /* no video track at all */
    double join_s;   /* capture times, from the hearing's start */
    double leave_s;  /* end of the first connection */
    double rejoin_s; /* < 0: no rejoin */
    double end_s;    /* end of the last connection */
    double skew_s;   /* publisher clock - gateway clock */
    /* extra seconds of RTP time per second in its SRs (GStreamer 1.22's
     * webrtcbin: about 1): each SR's RTP time runs ahead of the RTP sent by
     * sr_drift x the time since the connection began; the audio and video
     * SRs of one instant share that error */
    double sr_drift;
    /* filled by vej_fixture_build: the first and last arrival of any packet */
    int64_t first_arrival_ns, last_arrival_ns;
};

struct vej_fixture {
    int64_t start_ns; /* the hearing's wall-clock start */
    double duration_s;
    int width, height, fps;
    double video_delay_s, audio_delay_s; /* network delay to the gateway */
    unsigned n_participants;
    struct vej_fixture_participant participants[VEJ_FIXTURE_MAX_PARTICIPANTS];
};

/* The standard scenario: n (1-4) participants over duration_s seconds;
 * participant index 2 leaves at 40% and rejoins at 60% when n >= 3;
 * index 3 publishes H.264 instead of VP8. */
void vej_fixture_default(struct vej_fixture *fx, unsigned n, double duration_s);

/* Encodes, payloads and writes DIR (created, 0700): capture/seg-000001.pcap,
 * seg-000002.pcap, capture.json, fixture.json. Needs gst_init. */
gboolean vej_fixture_build(struct vej_fixture *fx, const char *dir, GError **error);
