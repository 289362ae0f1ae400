/* analyse.c - see analyse.h.
 *
 *   filesrc ! decodebin name=d
 *   d. ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1
 *      ! spectrum bands=2048 interval=250000000 threshold=-120 ! appsink name=audio
 *   d. ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=video
 *
 * Beep onsets: the power at tones[0] over 10 ms windows (Goertzel), an
 * onset where it rises above a tenth of the file's loudest after 300 ms
 * below it, so that other steady tones in a mix do not count. Flash
 * onsets: the region's mean luma crossing 150 after a frame under 100. */
#include "tests/unit/recording/analyse.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <math.h>
#include <string.h>

#define RATE 48000
#define BANDS 2048
#define WINDOW 480 /* 10 ms */

struct decode_state {
    const double *tones;
    unsigned n_tones;
    struct analyse_region region;
    struct analyse_region label;
    bool has_label;
    GArray *samples; /* float */
    double first_audio_s;
    bool have_audio;
    GArray *frame_t, *frame_luma; /* double */
    struct analyse_result *out;
};

static GstFlowReturn
on_audio(GstAppSink *sink, gpointer user_data)
{
    struct decode_state *st = user_data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstBuffer *b = gst_sample_get_buffer(s);
    if (!st->have_audio && GST_BUFFER_PTS_IS_VALID(b)) {
        st->first_audio_s = (double)GST_BUFFER_PTS(b) / 1e9;
        st->have_audio = true;
    }
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_READ);
    g_array_append_vals(st->samples, m.data, (guint)(m.size / sizeof(float)));
    gst_buffer_unmap(b, &m);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static GstFlowReturn
on_video(GstAppSink *sink, gpointer user_data)
{
    struct decode_state *st = user_data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstBuffer *b = gst_sample_get_buffer(s);
    GstStructure *caps = gst_caps_get_structure(gst_sample_get_caps(s), 0);
    int w = 0, h = 0;
    gst_structure_get_int(caps, "width", &w);
    gst_structure_get_int(caps, "height", &h);
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_READ);
    int stride = (w + 3) & ~3;
    int x0 = (int)(st->region.x * w), y0 = (int)(st->region.y * h);
    int x1 = (int)((st->region.x + st->region.w) * w),
        y1 = (int)((st->region.y + st->region.h) * h);
    double sum = 0;
    long n = 0;
    for (int y = y0; y < y1; y += 2)
        for (int x = x0; x < x1; x += 2, n++)
            sum += m.data[(size_t)y * stride + x];
    if (st->has_label) {
        int lx0 = (int)(st->label.x * w), ly0 = (int)(st->label.y * h);
        int lx1 = (int)((st->label.x + st->label.w) * w);
        int ly1 = (int)((st->label.y + st->label.h) * h);
        for (int y = ly0; y < ly1; y++)
            for (int x = lx0; x < lx1; x++)
                st->out->label_max_luma =
                    MAX(st->out->label_max_luma, (double)m.data[(size_t)y * stride + x]);
    }
    gst_buffer_unmap(b, &m);
    double t = (double)GST_BUFFER_PTS(b) / 1e9, luma = n ? sum / (double)n : 0;
    g_array_append_val(st->frame_t, t);
    g_array_append_val(st->frame_luma, luma);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static void
on_spectrum(struct decode_state *st, const GstStructure *s)
{
    const GValue *mags = gst_structure_get_value(s, "magnitude");
    GstClockTime end = 0;
    gst_structure_get_clock_time(s, "endtime", &end);
    double t = (double)end / 1e9;
    g_array_append_val(st->out->spectrum_t, t);
    double row[ANALYSE_MAX_TONES];
    double band_hz = (RATE / 2.0) / BANDS;
    for (unsigned i = 0; i < st->n_tones; i++) {
        guint band = (guint)(st->tones[i] / band_hz);
        /* the tone may straddle two bands */
        double a = g_value_get_float(gst_value_list_get_value(mags, band));
        double b = g_value_get_float(gst_value_list_get_value(mags, band + 1));
        row[i] = MAX(a, b);
    }
    g_array_append_vals(st->out->spectrum_db, row, st->n_tones);
}

static void
find_beeps(struct decode_state *st)
{
    guint n = st->samples->len / WINDOW;
    const float *x = (const float *)st->samples->data;
    double k = 2.0 * cos(2.0 * G_PI * st->tones[0] / RATE), loudest = 0;
    double *power = g_new0(double, n + 1);
    for (guint w = 0; w < n; w++) {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < WINDOW; i++) {
            double s0 = x[w * WINDOW + i] + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        power[w] = s1 * s1 + s2 * s2 - k * s1 * s2;
        loudest = MAX(loudest, power[w]);
    }
    guint quiet = 0;
    for (guint w = 0; w < n; w++) {
        if (power[w] > loudest / 10 && quiet >= 30) {
            double t = st->first_audio_s + (double)w * WINDOW / RATE;
            g_array_append_val(st->out->beeps, t);
        }
        quiet = power[w] > loudest / 10 ? 0 : quiet + 1;
    }
    g_free(power);
}

static void
find_flashes(struct decode_state *st)
{
    bool dark = false;
    for (guint i = 0; i < st->frame_t->len; i++) {
        double l = g_array_index(st->frame_luma, double, i);
        if (l > 150 && dark)
            g_array_append_val(st->out->flashes, g_array_index(st->frame_t, double, i));
        if (l > 150)
            dark = false;
        else if (l < 100)
            dark = true;
    }
}

static void
on_pad(GstElement *decodebin, GstPad *pad, gpointer user_data)
{
    GstElement *pipeline = user_data;
    g_autoptr(GstCaps) caps = gst_pad_query_caps(pad, NULL);
    const char *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    const char *branch = g_str_has_prefix(name, "audio") ? "aconv" : "vconv";
    GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), branch);
    if (e == NULL)
        return; /* a stream discovery did not report: left unlinked */
    GstPad *sink = gst_element_get_static_pad(e, "sink");
    if (!gst_pad_is_linked(sink))
        gst_pad_link(pad, sink);
    gst_object_unref(sink);
    gst_object_unref(e);
    (void)decodebin;
}

static gboolean
decode(const char *path, struct decode_state *st, GError **error)
{
    /* only the branches the file has: an unlinked sink would never preroll */
    g_autofree char *desc = g_strdup_printf(
        "filesrc name=src ! decodebin name=d %s %s",
        st->out->audio_caps ? "audioconvert name=aconv ! audioresample ! "
                              "audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved "
                              "! spectrum bands=2048 interval=250000000 threshold=-120 "
                              "post-messages=true ! appsink name=audio sync=false"
                            : "",
        st->out->video_caps
            ? "videoconvert name=vconv ! video/x-raw,format=GRAY8 ! appsink name=video sync=false"
            : "");
    GstElement *p = gst_parse_launch(desc, error);
    if (p == NULL)
        return FALSE;
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement *d = gst_bin_get_by_name(GST_BIN(p), "d");
    GstElement *a = gst_bin_get_by_name(GST_BIN(p), "audio");
    GstElement *v = gst_bin_get_by_name(GST_BIN(p), "video");
    g_object_set(src, "location", path, NULL);
    g_signal_connect(d, "pad-added", G_CALLBACK(on_pad), p);
    GstAppSinkCallbacks acb = {.new_sample = on_audio}, vcb = {.new_sample = on_video};
    if (a != NULL)
        gst_app_sink_set_callbacks(GST_APP_SINK(a), &acb, st, NULL);
    if (v != NULL)
        gst_app_sink_set_callbacks(GST_APP_SINK(v), &vcb, st, NULL);
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    gboolean ok = TRUE;
    for (;;) {
        GstMessage *m = gst_bus_timed_pop(bus, GST_CLOCK_TIME_NONE);
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
            gst_structure_has_name(gst_message_get_structure(m), "spectrum"))
            on_spectrum(st, gst_message_get_structure(m));
        gboolean stop =
            GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS || GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            gst_message_parse_error(m, error, NULL);
            ok = FALSE;
        }
        gst_message_unref(m);
        if (stop)
            break;
    }
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(src);
    gst_object_unref(d);
    g_clear_object(&a);
    g_clear_object(&v);
    gst_object_unref(p);
    return ok;
}

static gboolean
discover(const char *path, struct analyse_result *out, GError **error)
{
    g_autoptr(GstDiscoverer) disc = gst_discoverer_new(30 * GST_SECOND, error);
    if (disc == NULL)
        return FALSE;
    g_autofree char *uri = gst_filename_to_uri(path, error);
    g_autoptr(GstDiscovererInfo) info = gst_discoverer_discover_uri(disc, uri, error);
    if (info == NULL)
        return FALSE;
    out->duration_s = (double)gst_discoverer_info_get_duration(info) / 1e9;
    GList *streams = gst_discoverer_info_get_stream_list(info);
    for (GList *l = streams; l != NULL; l = l->next) {
        GstDiscovererStreamInfo *si = l->data;
        g_autoptr(GstCaps) caps = gst_discoverer_stream_info_get_caps(si);
        if (GST_IS_DISCOVERER_VIDEO_INFO(si)) {
            out->video_caps = gst_caps_to_string(caps);
            out->width = (int)gst_discoverer_video_info_get_width(GST_DISCOVERER_VIDEO_INFO(si));
            out->height = (int)gst_discoverer_video_info_get_height(GST_DISCOVERER_VIDEO_INFO(si));
        } else if (GST_IS_DISCOVERER_AUDIO_INFO(si)) {
            out->audio_caps = gst_caps_to_string(caps);
        }
    }
    gst_discoverer_stream_info_list_free(streams);
    return TRUE;
}

gboolean
analyse_file(const char *path, const double *tones, unsigned n_tones,
             const struct analyse_region *region, struct analyse_result *out, GError **error)
{
    return analyse_file_label(path, tones, n_tones, region, NULL, out, error);
}

gboolean
analyse_file_label(const char *path, const double *tones, unsigned n_tones,
                   const struct analyse_region *region, const struct analyse_region *label,
                   struct analyse_result *out, GError **error)
{
    memset(out, 0, sizeof *out);
    out->n_tones = MIN(n_tones, ANALYSE_MAX_TONES);
    out->spectrum_t = g_array_new(FALSE, FALSE, sizeof(double));
    out->spectrum_db = g_array_new(FALSE, FALSE, sizeof(double));
    out->beeps = g_array_new(FALSE, FALSE, sizeof(double));
    out->flashes = g_array_new(FALSE, FALSE, sizeof(double));
    if (!discover(path, out, error))
        return FALSE;
    struct decode_state st = {.tones = tones,
                              .n_tones = out->n_tones,
                              .region = *region,
                              .label = label ? *label : *region,
                              .has_label = label != NULL,
                              .samples = g_array_new(FALSE, FALSE, sizeof(float)),
                              .frame_t = g_array_new(FALSE, FALSE, sizeof(double)),
                              .frame_luma = g_array_new(FALSE, FALSE, sizeof(double)),
                              .out = out};
    gboolean ok = decode(path, &st, error);
    out->frames = st.frame_t->len;
    if (ok) {
        find_beeps(&st);
        find_flashes(&st);
    }
    g_array_unref(st.samples);
    g_array_unref(st.frame_t);
    g_array_unref(st.frame_luma);
    return ok;
}

void
analyse_result_clear(struct analyse_result *r)
{
    g_free(r->video_caps);
    g_free(r->audio_caps);
    g_array_unref(r->spectrum_t);
    g_array_unref(r->spectrum_db);
    g_array_unref(r->beeps);
    g_array_unref(r->flashes);
}

double
analyse_peak_db(const struct analyse_result *r, unsigned tone, double from_s, double to_s)
{
    double best = -200;
    for (guint i = 0; i < r->spectrum_t->len; i++) {
        double t = g_array_index(r->spectrum_t, double, i);
        if (t <= from_s || t - 0.25 >= to_s)
            continue;
        best = MAX(best, g_array_index(r->spectrum_db, double, i * r->n_tones + tone));
    }
    return best;
}

double
analyse_worst_sync(const struct analyse_result *r, unsigned *pairs)
{
    double worst = 0;
    *pairs = 0;
    for (guint i = 0; i < r->flashes->len; i++) {
        double f = g_array_index(r->flashes, double, i), nearest = 1e9;
        for (guint k = 0; k < r->beeps->len; k++) {
            double d = g_array_index(r->beeps, double, k) - f;
            if (fabs(d) < fabs(nearest))
                nearest = d;
        }
        if (fabs(nearest) > 1.0)
            continue; /* a flash with no beep near it: not a pair */
        worst = MAX(worst, fabs(nearest));
        (*pairs)++;
    }
    return worst;
}
