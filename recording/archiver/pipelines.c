/* pipelines.c - the archiver's GStreamer pipelines, described as data.
 *
 * Every pipeline is a gst-launch-1.0 description built from the tables
 * below; it is printed on standard error before it runs, so it can be
 * pasted into gst-launch-1.0 after replacing each `appsrc name=X caps=C`
 * by `filesrc location=SEGMENT ! pcapparse dst-port=PORT caps=C` (which
 * reads a single track of a single segment, with its own timestamps).
 * Values that come from the capture (labels, paths, the wall-clock epoch)
 * are never put into a description: they are set as properties on the
 * named elements, so a display name cannot change a pipeline.
 *
 * A participant's file is a remux (no transcoding): its RTP depayloaded
 * into WebM (VP8, Opus) or Matroska (H.264), time 0 at its first packet.
 *
 *   appsrc name=video ! rtpvp8depay wait-for-keyframe=true ! queue ! webmmux name=mux
 *       ! filesink name=out
 *   appsrc name=audio ! rtpopusdepay ! opusparse ! queue ! mux.
 *
 * The hearing file decodes everyone, tiles the videos (each with its label)
 * on a 1280x720 canvas at 15 frames/s above a 40-row strip holding the
 * capture's wall-clock time,
 * mixes all audio, and encodes VP8 and Opus into WebM; time 0 is the
 * capture's origin (the earliest placed packet).
 *
 *   compositor name=comp background=black sink_0::xpos=0 sink_0::ypos=0 ...
 *       ! video/x-raw,width=1280,height=720,framerate=15/1
 *       ! timeoverlay name=clock time-mode=running-time show-times-as-dates=true
 *         halignment=right valignment=bottom ...   (in the strip below the tiles)
 *       ! videoconvert ! vp8enc deadline=1 cpu-used=16 threads=1 ... ! queue ! webmmux name=mux
 *       ! filesink name=out
 *   audiomixer name=mix ! audioconvert ! opusenc bitrate=96000 ! queue ! mux.
 *   appsrc name=video_0 ! rtpvp8depay wait-for-keyframe=true ! vp8dec
 *       ! videorate skip-to-first=true max-duplication-time=1000000000
 *       ! video/x-raw,framerate=15/1 ! videoconvert ! videoscale add-borders=true
 *       ! video/x-raw,width=640,height=360,pixel-aspect-ratio=1/1
 *       ! textoverlay name=label_0 ... ! queue ! comp.sink_0
 *   appsrc name=audio_0 ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample
 *       ! audio/x-raw,rate=48000,channels=2 ! queue ! mix.
 *
 * libvpx's threads=1 on purpose: with 2 threads on a loaded 2-core machine
 * its worker synchronisation costs more than it gains (measured: 6x slower).
 */
#include "recording/archiver/archiver-priv.h"

#include <string.h>

/* How each codec's RTP becomes frames (remux) and pictures or samples. */
struct codec_row {
    const char *codec;
    const char *depay;  /* RTP to frames, as muxers take them */
    const char *decode; /* frames to raw */
    const char *mux;    /* muxer of a participant's file whose video is this codec */
    const char *ext;
};

static const struct codec_row codecs[] = {
    {"OPUS", "rtpopusdepay ! opusparse", "opusdec plc=true", "webmmux", "webm"},
    {"VP8", "rtpvp8depay wait-for-keyframe=true", "vp8dec", "webmmux", "webm"},
    {"H264", "rtph264depay wait-for-keyframe=true ! h264parse", "openh264dec", "matroskamux",
     "mkv"},
};

/* The hearing file's canvas and encoders. The tiles fill the canvas but a
 * strip of CLOCK_STRIP rows at the bottom, where the clock is drawn (it
 * never covers a tile). */
#define CANVAS_W 1280
#define CANVAS_H 720
#define CANVAS_FPS 15
#define CLOCK_STRIP 40
static const char hearing_video_out[] =
    "timeoverlay name=clock time-mode=running-time show-times-as-dates=true halignment=right "
    "valignment=bottom xpad=12 ypad=6 shaded-background=true font-desc=\"Sans 11\" ! "
    "videoconvert ! vp8enc "
    "deadline=1 cpu-used=16 threads=1 target-bitrate=1500000 keyframe-max-dist=150 ! queue";
static const char hearing_audio_out[] = "audiomixer name=mix ! audioconvert ! opusenc "
                                        "bitrate=96000 ! queue";
static const char tile_label[] = "textoverlay name=label_%u valignment=bottom halignment=left "
                                 "shaded-background=true font-desc=\"Sans 16\"";
/* A tile's frame rate is the canvas's; a gap over 1 s (a participant away)
 * is left empty rather than filled with copies of the last picture. */
static const char tile_rate[] = "videorate skip-to-first=true max-duplication-time=1000000000";
static const char audio_to_mix[] = "audioconvert ! audioresample ! "
                                   "audio/x-raw,rate=48000,channels=2 ! queue";

static const struct codec_row *
codec_of(const char *codec)
{
    for (size_t i = 0; i < G_N_ELEMENTS(codecs); i++)
        if (strcmp(codecs[i].codec, codec) == 0)
            return &codecs[i];
    return &codecs[0];
}

const char *
vej_arch_participant_ext(const struct vej_arch_participant *p)
{
    if (p->video->len == 0)
        return "webm";
    return codec_of(((struct vej_arch_track *)g_ptr_array_index(p->video, 0))->codec)->ext;
}

/* One running pipeline and the feeds of its appsrcs. */
struct run {
    GstElement *pipeline;
    GPtrArray *feeds; /* struct vej_arch_feed * */
    int64_t expected_ns;
};

static void
run_clear(struct run *r)
{
    if (r->pipeline != NULL) {
        gst_element_set_state(r->pipeline, GST_STATE_NULL);
        gst_object_unref(r->pipeline);
    }
    if (r->feeds != NULL)
        g_ptr_array_unref(r->feeds);
}

static GstElement *
parse(const char *what, const char *description, GError **error)
{
    g_printerr("vej-archiver: pipeline (%s): %s\n", what, description);
    GError *e = NULL;
    GstElement *pipeline =
        gst_parse_launch_full(description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
    if (pipeline == NULL) {
        g_set_error(error, VEJ_ARCH_ERROR, 3, "%s: pipeline: %s", what, e->message);
        g_error_free(e);
    }
    return pipeline;
}

static void
attach_feed(struct run *r, struct vej_arch_capture *cap, const char *name, GPtrArray *tracks,
            int64_t base)
{
    GstElement *src = gst_bin_get_by_name(GST_BIN(r->pipeline), name);
    g_ptr_array_add(r->feeds, vej_arch_feed_new(cap, tracks, base, GST_APP_SRC(src)));
    gst_object_unref(src);
}

static void
set_by_name(GstElement *pipeline, const char *name, const char *property, ...)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), name);
    va_list ap;
    va_start(ap, property);
    g_object_set_valist(G_OBJECT(e), property, ap);
    va_end(ap);
    gst_object_unref(e);
}

static int64_t
feeds_position(GPtrArray *feeds)
{
    int64_t pos = G_MAXINT64;
    for (guint i = 0; i < feeds->len; i++)
        pos = MIN(pos, vej_arch_feed_last_pts(g_ptr_array_index(feeds, i)));
    return feeds->len ? pos : 0;
}

static int64_t
feeds_end(GPtrArray *feeds)
{
    int64_t end = 0;
    for (guint i = 0; i < feeds->len; i++)
        end = MAX(end, vej_arch_feed_last_pts(g_ptr_array_index(feeds, i)));
    return end;
}

/* Plays r to its end, reporting progress every 250 ms. */
static gboolean
run_to_eos(struct run *r, const char *what, vej_arch_progress_fn progress, void *user_data,
           GError **error)
{
    if (gst_element_set_state(r->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        g_set_error(error, VEJ_ARCH_ERROR, 3, "%s: pipeline does not start", what);
        return FALSE;
    }
    g_autoptr(GstBus) bus = gst_element_get_bus(r->pipeline);
    for (;;) {
        g_autoptr(GstMessage) msg =
            gst_bus_timed_pop_filtered(bus, 250 * GST_MSECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
        if (msg == NULL) {
            if (progress != NULL && r->expected_ns > 0)
                progress(CLAMP((double)feeds_position(r->feeds) / (double)r->expected_ns, 0.0, 1.0),
                         user_data);
            continue;
        }
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS)
            return TRUE;
        g_autoptr(GError) e = NULL;
        g_autofree char *debug = NULL;
        gst_message_parse_error(msg, &e, &debug);
        g_set_error(error, VEJ_ARCH_ERROR, 3, "%s: %s: %s (%s)", what,
                    GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), e->message, debug ? debug : "");
        return FALSE;
    }
}

static char *
participant_description(const struct vej_arch_participant *p)
{
    GString *d = g_string_new(NULL);
    const char *mux = "webmmux";
    if (p->video->len > 0) {
        const struct codec_row *c =
            codec_of(((struct vej_arch_track *)g_ptr_array_index(p->video, 0))->codec);
        mux = c->mux;
        g_string_append_printf(d, "appsrc name=video ! %s ! queue ! mux. ", c->depay);
    }
    if (p->audio->len > 0)
        g_string_append_printf(d, "appsrc name=audio ! %s ! queue ! mux. ", codecs[0].depay);
    g_string_append_printf(d, "%s name=mux ! filesink name=out", mux);
    return g_string_free(d, FALSE);
}

gboolean
vej_arch_write_participant(struct vej_arch_capture *cap, struct vej_arch_participant *p,
                           const char *path, double *duration_s, vej_arch_progress_fn progress,
                           void *user_data, GError **error)
{
    g_autofree char *what = g_strdup_printf("participant %s", p->id);
    g_autofree char *description = participant_description(p);
    struct run r = {parse(what, description, error),
                    g_ptr_array_new_with_free_func((GDestroyNotify)vej_arch_feed_free),
                    p->last_place - p->first_place};
    if (r.pipeline == NULL) {
        run_clear(&r);
        return FALSE;
    }
    set_by_name(r.pipeline, "out", "location", path, NULL);
    if (p->video->len > 0)
        attach_feed(&r, cap, "video", p->video, p->first_place);
    if (p->audio->len > 0)
        attach_feed(&r, cap, "audio", p->audio, p->first_place);
    gboolean ok = run_to_eos(&r, what, progress, user_data, error);
    *duration_s = (double)feeds_end(r.feeds) / 1e9;
    run_clear(&r);
    return ok;
}

/* Tiles: a grid of ceil(sqrt(n)) columns on the canvas above the clock's
 * strip, even sizes. */
static void
tile_of(guint i, guint n, int *x, int *y, int *w, int *h)
{
    guint cols = 1;
    while (cols * cols < n)
        cols++;
    guint rows = (n + cols - 1) / cols;
    *w = (CANVAS_W / (int)cols) & ~1;
    *h = ((CANVAS_H - CLOCK_STRIP) / (int)rows) & ~1;
    *x = (int)(i % cols) * *w;
    *y = (int)(i / cols) * *h;
}

static char *
hearing_description(struct vej_arch_capture *cap, guint n_tiles, guint n_audio)
{
    GString *d = g_string_new(NULL);
    if (n_tiles > 0) {
        g_string_append(d, "compositor name=comp background=black");
        for (guint i = 0; i < n_tiles; i++) {
            int x, y, w, h;
            tile_of(i, n_tiles, &x, &y, &w, &h);
            g_string_append_printf(d, " sink_%u::xpos=%d sink_%u::ypos=%d", i, x, i, y);
        }
        g_string_append_printf(
            d, " ! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 ! %s ! mux. ",
            CANVAS_W, CANVAS_H, CANVAS_FPS, hearing_video_out);
    }
    if (n_audio > 0)
        g_string_append_printf(d, "%s ! mux. ", hearing_audio_out);
    guint tile = 0, audio = 0;
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        if (p->video->len > 0) {
            const struct codec_row *c =
                codec_of(((struct vej_arch_track *)g_ptr_array_index(p->video, 0))->codec);
            int x, y, w, h;
            tile_of(tile, n_tiles, &x, &y, &w, &h);
            g_string_append_printf(d,
                                   "appsrc name=video_%u ! %s ! %s ! %s ! "
                                   "video/x-raw,framerate=%d/1 ! videoconvert ! videoscale "
                                   "add-borders=true ! "
                                   "video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1 ! ",
                                   tile, c->depay, c->decode, tile_rate, CANVAS_FPS, w, h);
            g_string_append_printf(d, tile_label, tile);
            g_string_append_printf(d, " ! queue ! comp.sink_%u ", tile);
            tile++;
        }
        if (p->audio->len > 0) {
            g_string_append_printf(d, "appsrc name=audio_%u ! rtpopusdepay ! %s ! %s ! mix. ",
                                   audio, codecs[0].decode, audio_to_mix);
            audio++;
        }
    }
    g_string_append(d, "webmmux name=mux ! filesink name=out");
    return g_string_free(d, FALSE);
}

/* Feeds and labels, in the order hearing_description numbered them. */
static void
hearing_attach(struct run *r, struct vej_arch_capture *cap)
{
    guint tile = 0, audio = 0;
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        char name[32];
        if (p->video->len > 0) {
            g_snprintf(name, sizeof name, "video_%u", tile);
            attach_feed(r, cap, name, p->video, cap->origin);
            g_snprintf(name, sizeof name, "label_%u", tile);
            /* textoverlay reads Pango markup: a label is text, never markup */
            g_autofree char *text = g_markup_escape_text(p->label, -1);
            set_by_name(r->pipeline, name, "text", text, NULL);
            tile++;
        }
        if (p->audio->len > 0) {
            g_snprintf(name, sizeof name, "audio_%u", audio++);
            attach_feed(r, cap, name, p->audio, cap->origin);
        }
    }
    if (tile > 0) {
        g_autoptr(GDateTime) epoch = g_date_time_new_from_unix_utc(cap->origin / 1000000000);
        g_autoptr(GDateTime) at = g_date_time_add(epoch, (cap->origin % 1000000000) / 1000);
        GstElement *clock = gst_bin_get_by_name(GST_BIN(r->pipeline), "clock");
        g_object_set(clock, "datetime-epoch", at, "datetime-format", "%F %T UTC", NULL);
        gst_object_unref(clock);
    }
}

gboolean
vej_arch_write_hearing(struct vej_arch_capture *cap, const char *path, double *duration_s,
                       vej_arch_progress_fn progress, void *user_data, GError **error)
{
    guint n_tiles = 0, n_audio = 0;
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        n_tiles += p->video->len > 0;
        n_audio += p->audio->len > 0;
    }
    g_autofree char *description = hearing_description(cap, n_tiles, n_audio);
    struct vej_arch_capture *c = cap;
    struct run r = {parse("hearing", description, error),
                    g_ptr_array_new_with_free_func((GDestroyNotify)vej_arch_feed_free),
                    c->end - c->origin};
    if (r.pipeline == NULL) {
        run_clear(&r);
        return FALSE;
    }
    set_by_name(r.pipeline, "out", "location", path, NULL);
    hearing_attach(&r, cap);
    gboolean ok = run_to_eos(&r, "hearing", progress, user_data, error);
    *duration_s = (double)feeds_end(r.feeds) / 1e9;
    run_clear(&r);
    return ok;
}
