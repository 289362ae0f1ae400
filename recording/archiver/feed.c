/* feed.c - one appsrc fed from the segments on demand.
 *
 * Each feed reads the segments itself, from the first to the last, keeping
 * only the RTP of its tracks (one participant, one kind, every connection),
 * so every appsrc of a pipeline advances on its own thread at its own pace
 * and none waits for a reader blocked on another (a muxer or mixer waiting
 * for one input cannot starve it). Memory stays bounded: one mapped segment
 * and a 64-packet reorder window per feed.
 *
 * Loss repair at the gateway delivers late packets (RTX unwrapped) out of
 * sequence order; depayloaders need sequence order, so packets are held in
 * a window sorted by (track rank, extended sequence number) and released
 * smallest first when the window is full or the smallest waited 300 ms of
 * arrival time. A packet at or below the last released key (a duplicate or
 * too late) is dropped. PTS = vej_arch_place() - base.
 */
#include "recording/archiver/archiver-priv.h"

#include "gateway/wire/rtp.h"
#include "recording/pcap-read.h"

#include <string.h>

#define WINDOW_PACKETS 64
#define WINDOW_NS (300 * G_GINT64_CONSTANT(1000000))
#define PUSH_BATCH 48

struct held {
    uint64_t key;
    int64_t arrival;
    GstBuffer *buffer;
};

struct feed_track {
    struct vej_arch_track *track;
    struct vej_arch_unwrap ts, seq;
};

struct vej_arch_feed {
    struct vej_arch_capture *cap;
    GstAppSrc *src;
    int64_t base;
    struct feed_track *tracks;
    guint n_tracks;
    guint segment; /* index of the mapped segment */
    GMappedFile *map;
    struct vej_pcap_reader reader;
    GArray *window; /* struct held, sorted by key */
    uint64_t last_key;
    bool released_any;
    bool done;
    int64_t last_pts;
    GMutex lock; /* need-data runs on the appsrc's thread; last_pts is read elsewhere */
};

GstCaps *
vej_arch_feed_caps(const struct vej_arch_track *t)
{
    return gst_caps_new_simple(
        "application/x-rtp", "media", G_TYPE_STRING, t->kind == VEJ_ARCH_AUDIO ? "audio" : "video",
        "encoding-name", G_TYPE_STRING, t->codec, "clock-rate", G_TYPE_INT, (int)t->clock_rate,
        "payload", G_TYPE_INT, (int)t->payload_type, NULL);
}

static struct feed_track *
feed_track_of(struct vej_arch_feed *f, unsigned port)
{
    if (port < 20002 || port % 2 != 0)
        return NULL;
    for (guint i = 0; i < f->n_tracks; i++)
        if (f->tracks[i].track->n == (port - 20000) / 2)
            return &f->tracks[i];
    return NULL;
}

/* Next record of the feed's tracks across segments; FALSE at the end. */
static gboolean
next_record(struct vej_arch_feed *f, struct vej_pcap_record *rec, struct feed_track **ft)
{
    for (;;) {
        if (f->map == NULL) {
            if (f->segment >= f->cap->segments->len)
                return FALSE;
            f->map = vej_arch_segment_map(g_ptr_array_index(f->cap->segments, f->segment), NULL);
            if (f->map == NULL)
                return FALSE; /* checked before the pipelines start; vanished since */
            vej_pcap_reader_init(&f->reader, (const uint8_t *)g_mapped_file_get_contents(f->map),
                                 g_mapped_file_get_length(f->map));
        }
        if (vej_pcap_reader_next(&f->reader, rec) != VEJ_PCAP_OK) {
            g_mapped_file_unref(f->map);
            f->map = NULL;
            f->segment++;
            continue;
        }
        *ft = feed_track_of(f, rec->tuple.dst_port);
        if (*ft != NULL)
            return TRUE;
    }
}

static void
window_insert(struct vej_arch_feed *f, struct held *h)
{
    guint i = f->window->len;
    while (i > 0 && g_array_index(f->window, struct held, i - 1).key > h->key)
        i--;
    if (i > 0 && g_array_index(f->window, struct held, i - 1).key == h->key) {
        gst_buffer_unref(h->buffer); /* duplicate */
        return;
    }
    g_array_insert_val(f->window, i, *h);
}

static void
release_first(struct vej_arch_feed *f)
{
    struct held h = g_array_index(f->window, struct held, 0);
    g_array_remove_index(f->window, 0);
    f->last_key = h.key;
    f->released_any = true;
    g_mutex_lock(&f->lock);
    f->last_pts = MAX(f->last_pts, (int64_t)GST_BUFFER_PTS(h.buffer));
    g_mutex_unlock(&f->lock);
    gst_app_src_push_buffer(f->src, h.buffer);
}

/* Reads one packet of the feed into the window; FALSE at the end. */
static gboolean
read_one(struct vej_arch_feed *f, int64_t *arrival)
{
    struct vej_pcap_record rec;
    struct feed_track *ft;
    struct vej_rtp_view v;
    do {
        if (!next_record(f, &rec, &ft))
            return FALSE;
    } while (vej_rtp_parse(rec.payload, rec.payload_len, &v) != VEJ_RTP_OK ||
             (ft->track->ssrc != 0 && v.ssrc != ft->track->ssrc));
    *arrival = (int64_t)rec.ts_ns;
    int64_t ext = vej_arch_unwrap(&ft->ts, v.timestamp, 32);
    int64_t seq = vej_arch_unwrap(&ft->seq, v.seq, 16);
    struct held h = {((uint64_t)ft->track->rank << 48) | (uint64_t)seq, *arrival, NULL};
    if (f->released_any && h.key <= f->last_key)
        return TRUE; /* duplicate or later than the window */
    int64_t pts = vej_arch_place(ft->track, *arrival, ext) - f->base;
    h.buffer = gst_buffer_new_memdup(rec.payload, rec.payload_len);
    GST_BUFFER_PTS(h.buffer) = pts > 0 ? (GstClockTime)pts : 0;
    window_insert(f, &h);
    return TRUE;
}

static void
need_data(GstAppSrc *src, guint length, gpointer user_data)
{
    struct vej_arch_feed *f = user_data;
    (void)length;
    for (int pushed = 0; pushed < PUSH_BATCH && !f->done;) {
        int64_t arrival = 0;
        if (!read_one(f, &arrival)) {
            while (f->window->len > 0)
                release_first(f);
            f->done = true;
            gst_app_src_end_of_stream(src);
            return;
        }
        while (f->window->len > WINDOW_PACKETS ||
               (f->window->len > 0 &&
                arrival - g_array_index(f->window, struct held, 0).arrival > WINDOW_NS)) {
            release_first(f);
            pushed++;
        }
    }
}

struct vej_arch_feed *
vej_arch_feed_new(struct vej_arch_capture *cap, GPtrArray *tracks, int64_t base, GstAppSrc *src)
{
    struct vej_arch_feed *f = g_new0(struct vej_arch_feed, 1);
    f->cap = cap;
    f->src = g_object_ref(src);
    f->base = base;
    f->n_tracks = tracks->len;
    f->tracks = g_new0(struct feed_track, tracks->len);
    for (guint i = 0; i < tracks->len; i++)
        f->tracks[i].track = g_ptr_array_index(tracks, i);
    f->window = g_array_new(FALSE, FALSE, sizeof(struct held));
    g_mutex_init(&f->lock);
    g_autoptr(GstCaps) caps = vej_arch_feed_caps(f->tracks[0].track);
    g_object_set(src, "format", GST_FORMAT_TIME, "stream-type", GST_APP_STREAM_TYPE_STREAM,
                 "max-bytes", (guint64)(1 << 20), "caps", caps, NULL);
    GstAppSrcCallbacks cb = {.need_data = need_data};
    gst_app_src_set_callbacks(src, &cb, f, NULL);
    return f;
}

void
vej_arch_feed_free(struct vej_arch_feed *f)
{
    if (f == NULL)
        return;
    for (guint i = 0; i < f->window->len; i++)
        gst_buffer_unref(g_array_index(f->window, struct held, i).buffer);
    g_array_unref(f->window);
    if (f->map != NULL)
        g_mapped_file_unref(f->map);
    g_object_unref(f->src);
    g_free(f->tracks);
    g_mutex_clear(&f->lock);
    g_free(f);
}

int64_t
vej_arch_feed_last_pts(const struct vej_arch_feed *f)
{
    struct vej_arch_feed *m = (struct vej_arch_feed *)f;
    g_mutex_lock(&m->lock);
    int64_t v = m->last_pts;
    g_mutex_unlock(&m->lock);
    return v;
}
