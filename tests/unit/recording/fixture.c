/* fixture.c - see fixture.h.
 *
 * Each connection's media is encoded once, non-live, as fast as the
 * encoders go: appsrc (raw frames made here) ! vp8enc|opusenc !
 * rtpvp8pay|rtpopuspay ! appsink. A packet of capture time c (the buffer's
 * PTS from the connection's start) reaches the gateway at c + delay; its
 * sender's clock reads c + skew, which is what its SRs say (their RTP time
 * drifting ahead by sr_drift per second, as webrtcbin's do). */
#include "tests/unit/recording/fixture.h"

#include "gateway/wire/rtcp.h"
#include "tests/unit/recording/pcap-synth.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#define NS 1000000000LL
#define AUDIO_RATE 48000
#define AUDIO_FRAME 960 /* 20 ms */

struct packet {
    int64_t arrival;
    unsigned track;
    bool rtcp;
    GBytes *bytes;
};

struct track_info {
    unsigned n;
    const struct vej_fixture_participant *p;
    bool video;
    uint32_t ssrc;
    int64_t first_arrival, last_arrival;
};

static const double tones[] = {1000.0, 600.0, 1500.0, 2500.0, 800.0, 1200.0, 1800.0, 3000.0};
static const char *const roles[] = {"judge", "witness",     "defence",  "prosecution",
                                    "clerk", "interpreter", "observer", "defendant"};

void
vej_fixture_default(struct vej_fixture *fx, unsigned n, double duration_s)
{
    memset(fx, 0, sizeof *fx);
    fx->start_ns = 1796637600LL * NS + 250000000LL; /* 2026-12-07T10:00:00.25Z */
    fx->duration_s = duration_s;
    fx->width = 640;
    fx->height = 360;
    fx->fps = 30;
    fx->video_delay_s = 0.170;
    fx->audio_delay_s = 0.020;
    fx->n_participants = MIN(n, VEJ_FIXTURE_MAX_PARTICIPANTS);
    static const double skews[] = {3.7, -2.2, 1.1, -0.4, 0.0, 5.0, -5.0, 0.3};
    for (unsigned i = 0; i < fx->n_participants; i++) {
        struct vej_fixture_participant *p = &fx->participants[i];
        g_snprintf(p->id, sizeof p->id, "ptc_%012u%04u", i + 1, i + 1);
        g_snprintf(p->label, sizeof p->label, "%c%s %u", g_ascii_toupper(roles[i][0]), roles[i] + 1,
                   i + 1);
        p->tone_hz = tones[i];
        p->beeps = i == 0;
        p->join_s = i == 0 ? 0.0 : 0.5 * i;
        p->end_s = duration_s - (i == 3 ? 1.0 : 0.0);
        p->leave_s = p->end_s;
        p->rejoin_s = -1;
        if (i == 2) {
            /* markup characters: a label is text, not Pango markup */
            g_snprintf(p->label, sizeof p->label, "Defence <3 & Co");
            p->leave_s = duration_s * 0.4;
            p->rejoin_s = duration_s * 0.6;
        }
        p->skew_s = skews[i];
        p->sr_drift = i == 0 ? 1.0 : 0.0; /* the flash-and-beep participant */
        p->h264 = i == 3;
    }
}

/* One frame: a grey picture with a moving bar, white during a flash. */
static GstBuffer *
video_frame(const struct vej_fixture *fx, const struct vej_fixture_participant *p, double t)
{
    int w = fx->width, h = fx->height;
    gsize size = (gsize)w * h * 3 / 2;
    GstBuffer *b = gst_buffer_new_allocate(NULL, size, NULL);
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_WRITE);
    bool flash = p->beeps && fmod(t, 2.0) < 0.1;
    memset(m.data, flash ? 235 : 40, (size_t)w * h);
    memset(m.data + (size_t)w * h, 128, (size_t)w * h / 2);
    if (!flash) {
        int x0 = (int)(t * 120.0) % (w - 40);
        for (int y = h / 4; y < h * 3 / 4; y++)
            memset(m.data + (size_t)y * w + x0, 60 + 20 * (int)(p - &fx->participants[0]), 40);
    }
    gst_buffer_unmap(b, &m);
    return b;
}

static GstBuffer *
audio_frame(const struct vej_fixture_participant *p, int64_t first_sample)
{
    GstBuffer *b = gst_buffer_new_allocate(NULL, AUDIO_FRAME * 2, NULL);
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_WRITE);
    int16_t *s = (int16_t *)m.data;
    for (int i = 0; i < AUDIO_FRAME; i++) {
        double t = (double)(first_sample + i) / AUDIO_RATE;
        double amp = p->beeps ? (fmod(t, 2.0) < 0.1 ? 0.5 : 0.0) : 0.25;
        s[i] = (int16_t)(amp * 32767.0 * sin(2.0 * G_PI * p->tone_hz * t));
    }
    gst_buffer_unmap(b, &m);
    return b;
}

/* Encodes [from_s, to_s) of p's video or audio; appends RTP buffers (PTS =
 * capture time from from_s) to out. */
static gboolean
encode(const struct vej_fixture *fx, const struct vej_fixture_participant *p, bool video,
       double from_s, double to_s, uint32_t ssrc, uint32_t ts_offset, GPtrArray *out,
       GError **error)
{
    g_autofree char *desc = NULL;
    if (video)
        desc = g_strdup_printf("appsrc name=src format=time caps=video/x-raw,format=I420,"
                               "width=%d,height=%d,framerate=%d/1 ! %s ! appsink name=sink "
                               "sync=false",
                               fx->width, fx->height, fx->fps,
                               p->h264 ? "openh264enc bitrate=600000 gop-size=60 ! "
                                         "rtph264pay name=pay mtu=1200 pt=102 config-interval=-1"
                                       : "vp8enc deadline=1 cpu-used=8 threads=1 "
                                         "target-bitrate=600000 keyframe-max-dist=60 ! "
                                         "rtpvp8pay name=pay mtu=1200 pt=96");
    else
        desc = g_strdup_printf("appsrc name=src format=time caps=audio/x-raw,format=S16LE,"
                               "layout=interleaved,rate=48000,channels=1 ! opusenc "
                               "bitrate=32000 ! rtpopuspay name=pay pt=111 ! appsink name=sink "
                               "sync=false");
    GstElement *pipe = gst_parse_launch(desc, error);
    if (pipe == NULL)
        return FALSE;
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
    GstElement *pay = gst_bin_get_by_name(GST_BIN(pipe), "pay");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
    g_object_set(pay, "ssrc", ssrc, "timestamp-offset", ts_offset, "seqnum-offset",
                 (int)(ssrc & 0x7fff), NULL);
    g_object_set(src, "block", TRUE, "max-bytes", (guint64)4000000, NULL);
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    if (video) {
        int frames = (int)((to_s - from_s) * fx->fps);
        for (int i = 0; i < frames; i++) {
            GstBuffer *b = video_frame(fx, p, from_s + (double)i / fx->fps);
            GST_BUFFER_PTS(b) = (GstClockTime)i * GST_SECOND / (GstClockTime)fx->fps;
            GST_BUFFER_DURATION(b) = GST_SECOND / (GstClockTime)fx->fps;
            gst_app_src_push_buffer(GST_APP_SRC(src), b);
        }
    } else {
        int64_t first = (int64_t)(from_s * AUDIO_RATE);
        int frames = (int)((to_s - from_s) * AUDIO_RATE / AUDIO_FRAME);
        for (int i = 0; i < frames; i++) {
            GstBuffer *b = audio_frame(p, first + (int64_t)i * AUDIO_FRAME);
            GST_BUFFER_PTS(b) = (GstClockTime)i * 20 * GST_MSECOND;
            GST_BUFFER_DURATION(b) = 20 * GST_MSECOND;
            gst_app_src_push_buffer(GST_APP_SRC(src), b);
        }
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    GstSample *sample;
    while ((sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) != NULL) {
        g_ptr_array_add(out, gst_buffer_ref(gst_sample_get_buffer(sample)));
        gst_sample_unref(sample);
    }
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(pay);
    gst_object_unref(sink);
    gst_object_unref(pipe);
    return TRUE;
}

static uint64_t
to_ntp(int64_t ns)
{
    uint64_t sec = (uint64_t)(ns / NS) + 2208988800u;
    uint64_t frac = ((uint64_t)(ns % NS) << 32) / NS;
    return sec << 32 | frac;
}

static void
add_packet(GArray *packets, int64_t arrival, unsigned track, bool rtcp, const void *data,
           size_t len)
{
    struct packet pk = {arrival, track, rtcp, g_bytes_new(data, len)};
    g_array_append_val(packets, pk);
}

/* One connection's track: RTP at capture + delay (every 50th video packet
 * 30 ms late, so out of order), an SR + SDES compound every second. */
static gboolean
add_track(const struct vej_fixture *fx, struct track_info *ti, double from_s, double to_s,
          GArray *packets, GError **error)
{
    uint32_t rate = ti->video ? 90000 : 48000;
    uint32_t ts_offset = ti->ssrc * 7u;
    g_autoptr(GPtrArray) rtp = g_ptr_array_new_with_free_func((GDestroyNotify)gst_buffer_unref);
    if (!encode(fx, ti->p, ti->video, from_s, to_s, ti->ssrc, ts_offset, rtp, error))
        return FALSE;
    int64_t conn_start = fx->start_ns + (int64_t)(from_s * NS);
    int64_t delay = (int64_t)((ti->video ? fx->video_delay_s : fx->audio_delay_s) * NS);
    ti->first_arrival = G_MAXINT64;
    ti->last_arrival = 0;
    for (guint i = 0; i < rtp->len; i++) {
        GstBuffer *b = g_ptr_array_index(rtp, i);
        int64_t capture = conn_start + (int64_t)GST_BUFFER_PTS(b);
        int64_t arrival = capture + delay + (ti->video && i % 50 == 25 ? 30000000 : 0);
        GstMapInfo m;
        gst_buffer_map(b, &m, GST_MAP_READ);
        add_packet(packets, arrival, ti->n, false, m.data, m.size);
        gst_buffer_unmap(b, &m);
        ti->first_arrival = MIN(ti->first_arrival, arrival);
        ti->last_arrival = MAX(ti->last_arrival, arrival);
    }
    int64_t skew = (int64_t)(ti->p->skew_s * NS);
    for (double t = 0.5; from_s + t < to_s; t += 1.0) {
        int64_t capture = conn_start + (int64_t)(t * NS);
        struct vej_rtcp_sr sr = {.ssrc = ti->ssrc,
                                 .ntp_time = to_ntp(capture + skew),
                                 .rtp_time =
                                     ts_offset + (uint32_t)((t + ti->p->sr_drift * t) * rate),
                                 .packet_count = 1,
                                 .octet_count = 1};
        uint8_t buf[256];
        long n = vej_rtcp_write_sr(buf, sizeof buf, &sr);
        long m = vej_rtcp_write_sdes_cname(buf + n, sizeof buf - (size_t)n, ti->ssrc, ti->p->id,
                                           strlen(ti->p->id));
        add_packet(packets, capture + delay, ti->n, true, buf, (size_t)(n + m));
    }
    return TRUE;
}

static gint
by_arrival(gconstpointer a, gconstpointer b)
{
    const struct packet *x = a, *y = b;
    return (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

static char *
rfc3339(int64_t ns)
{
    g_autoptr(GDateTime) d = g_date_time_new_from_unix_utc(ns / NS);
    g_autoptr(GDateTime) e = g_date_time_add(d, (ns % NS) / 1000);
    return g_date_time_format(e, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* Writes packets (sorted) into two segments; appends them to segments. */
static gboolean
write_segments(const char *dir, GArray *packets, json_t *segments, GError **error)
{
    guint cut = packets->len / 2;
    for (int s = 0; s < 2; s++) {
        guint from = s == 0 ? 0 : cut, to = s == 0 ? cut : packets->len;
        GByteArray *out = g_byte_array_new();
        uint8_t rec[70000];
        g_byte_array_append(out, rec, (guint)vej_pcap_synth_header(rec, sizeof rec));
        for (guint i = from; i < to; i++) {
            const struct packet *pk = &g_array_index(packets, struct packet, i);
            uint32_t sip, dip;
            uint16_t sp, dp;
            gsize len;
            const uint8_t *data = g_bytes_get_data(pk->bytes, &len);
            vej_pcap_synth_track_tuple(pk->track, pk->rtcp, &sip, &sp, &dip, &dp);
            size_t n = vej_pcap_synth_record(rec, sizeof rec, (uint64_t)pk->arrival, sip, sp, dip,
                                             dp, data, len);
            g_byte_array_append(out, rec, (guint)n);
        }
        g_autofree char *name = g_strdup_printf("capture/seg-%06d.pcap", s + 1);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        gboolean ok = g_file_set_contents_full(path, (const char *)out->data, out->len,
                                               G_FILE_SET_CONTENTS_NONE, 0600, error);
        g_autofree char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, out->data, out->len);
        const struct packet *a = &g_array_index(packets, struct packet, from);
        const struct packet *b = &g_array_index(packets, struct packet, to - 1);
        g_autofree char *ta = rfc3339(a->arrival), *tb = rfc3339(b->arrival);
        json_array_append_new(segments,
                              json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "name", name, "size",
                                        (json_int_t)out->len, "sha256", sha, "from", ta, "to", tb,
                                        "packets", (json_int_t)(to - from), "closed_by",
                                        s == 0 ? "interval" : "close"));
        g_byte_array_unref(out);
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

static json_t *
track_json(const struct track_info *ti)
{
    uint32_t sip, dip;
    uint16_t sp, dp;
    vej_pcap_synth_track_tuple(ti->n, 0, &sip, &sp, &dip, &dp);
    g_autofree char *rtp_src = g_strdup_printf("10.1.%u.%u:%u", ti->n >> 8, ti->n & 255, sp);
    g_autofree char *rtp_dst = g_strdup_printf("10.0.0.1:%u", dp);
    g_autofree char *rtcp_src = g_strdup_printf("10.1.%u.%u:%u", ti->n >> 8, ti->n & 255, sp + 1);
    g_autofree char *rtcp_dst = g_strdup_printf("10.0.0.1:%u", dp + 1);
    g_autofree char *first = rfc3339(ti->first_arrival), *last = rfc3339(ti->last_arrival);
    return json_pack("{s:I, s:s, s:s, s:I, s:i, s:s, s:i, s:i, s:{s:s, s:s}, s:{s:s, s:s}, s:s, "
                     "s:s}",
                     "track", (json_int_t)ti->n, "participant_id", ti->p->id, "kind",
                     ti->video ? "video" : "audio", "ssrc", (json_int_t)ti->ssrc, "payload_type",
                     ti->video ? (ti->p->h264 ? 102 : 96) : 111, "codec",
                     ti->video ? (ti->p->h264 ? "H264" : "VP8") : "opus", "clock_rate",
                     ti->video ? 90000 : 48000, "channels", ti->video ? 0 : 2, "rtp", "src",
                     rtp_src, "dst", rtp_dst, "rtcp", "src", rtcp_src, "dst", rtcp_dst, "first_at",
                     first, "last_at", last);
}

static json_t *
participants_json(const struct vej_fixture *fx, bool truth)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < fx->n_participants; i++) {
        const struct vej_fixture_participant *p = &fx->participants[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "participant_id", p->id, "role", roles[i], "label",
                              p->label);
        if (truth) {
            json_object_set_new(o, "tone_hz", json_real(p->tone_hz));
            json_object_set_new(o, "beeps", json_boolean(p->beeps));
            json_object_set_new(o, "h264", json_boolean(p->h264));
            json_object_set_new(o, "duration_s",
                                json_real((double)(p->last_arrival_ns - p->first_arrival_ns) / NS));
            json_object_set_new(o, "first_s",
                                json_real((double)(p->first_arrival_ns - fx->start_ns) / NS));
            json_object_set_new(o, "leave_s", json_real(p->leave_s));
            json_object_set_new(o, "rejoin_s", json_real(p->rejoin_s));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static gboolean
write_json(const char *dir, const char *name, json_t *doc, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = json_dumps(doc, JSON_INDENT(2));
    gboolean ok = g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, error);
    free(text);
    json_decref(doc);
    return ok;
}

static gboolean
build_tracks(struct vej_fixture *fx, GArray *packets, GArray *tracks, GError **error)
{
    unsigned next = 1;
    for (unsigned i = 0; i < fx->n_participants; i++) {
        struct vej_fixture_participant *p = &fx->participants[i];
        p->first_arrival_ns = G_MAXINT64;
        p->last_arrival_ns = 0;
        for (int c = 0; c < (p->rejoin_s >= 0 ? 2 : 1); c++) {
            double from = c == 0 ? p->join_s : p->rejoin_s;
            double to = c == 0 ? p->leave_s : p->end_s;
            for (int v = 0; v < (p->audio_only ? 1 : 2); v++) {
                struct track_info ti = {
                    next++, p,
                    v == 1, 0x10000000u + (i + 1) * 0x1000u + (unsigned)c * 16u + (unsigned)v,
                    0,      0};
                if (!add_track(fx, &ti, from, to, packets, error))
                    return FALSE;
                g_array_append_val(tracks, ti);
                p->first_arrival_ns = MIN(p->first_arrival_ns, ti.first_arrival);
                p->last_arrival_ns = MAX(p->last_arrival_ns, ti.last_arrival);
            }
        }
    }
    return TRUE;
}

static json_t *
capture_json(const struct vej_fixture *fx, GArray *tracks, json_t *segments)
{
    g_autofree char *started = rfc3339(fx->start_ns);
    g_autofree char *closed = rfc3339(fx->start_ns + (int64_t)(fx->duration_s * NS) + NS);
    json_t *tj = json_array();
    for (guint i = 0; i < tracks->len; i++)
        json_array_append_new(tj, track_json(&g_array_index(tracks, struct track_info, i)));
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:b, s:o, "
                     "s:[], s:[], s:o, s:o, s:[], s:i}",
                     "format", "vej-capture/1", "recording_id", "rec_0123456789abcdef", "state",
                     "closed", "hearing", "id", "hrg_fixture", "case_reference", "T20260001",
                     "title", "R v Fixture", "courtroom_id", "crt_fixture", "courtroom_name",
                     "Court 1", "started_at", started, "closed_at", closed, "gateway_version",
                     "0.1.0", "clock_synchronised", 1, "participants", participants_json(fx, false),
                     "timeline", "consultations", "tracks", tj, "segments", segments, "gaps",
                     "ring_drops", 0);
}

gboolean
vej_fixture_build(struct vej_fixture *fx, const char *dir, GError **error)
{
    g_autofree char *capdir = g_build_filename(dir, "capture", NULL);
    if (g_mkdir_with_parents(capdir, 0700) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot create", capdir);
        return FALSE;
    }
    GArray *packets = g_array_new(FALSE, FALSE, sizeof(struct packet));
    GArray *tracks = g_array_new(FALSE, FALSE, sizeof(struct track_info));
    json_t *segments = json_array();
    gboolean ok = build_tracks(fx, packets, tracks, error);
    if (ok) {
        g_array_sort(packets, by_arrival);
        ok = write_segments(dir, packets, segments, error);
    }
    if (ok)
        ok = write_json(dir, "capture.json", capture_json(fx, tracks, json_incref(segments)),
                        error) &&
             write_json(dir, "fixture.json",
                        json_pack("{s:o, s:f, s:I}", "participants", participants_json(fx, true),
                                  "duration_s", fx->duration_s, "start_ns",
                                  (json_int_t)fx->start_ns),
                        error);
    json_decref(segments);
    for (guint i = 0; i < packets->len; i++)
        g_bytes_unref(g_array_index(packets, struct packet, i).bytes);
    g_array_unref(packets);
    g_array_unref(tracks);
    return ok;
}
