/* recorder.c - the recorder's thread, its rings and its tap
 * (recorder.h).
 *
 * The story of a captured packet: a media worker calls tap_packet, which
 * copies it into that worker's ring (ring.h: lock-free, one producer, one
 * consumer) and returns; a full ring drops it for the recorder alone and
 * counts it. Every drain_ms (50) the recorder's thread drains every
 * ring in order, looks the packet's track up by key, appends it to its
 * recording's open segment, then writes each recording's buffer out
 * (capture-files.c), so bytes reach the file at least every tick.
 *
 * Track descriptions and ends travel through the same ring as the packets,
 * so a track is always known before its first packet. Snapshots from the
 * signalling thread arrive as closures on the recorder's context, between
 * ticks.
 */
#include "recording/recorder-priv.h"

#include <errno.h>
#include <string.h>
#include <sys/timex.h>

bool
vej__clock_synchronised(void)
{
    struct timex tx = {0};
    int state = adjtimex(&tx);
    return state != TIME_ERROR && state >= 0 && !(tx.status & STA_UNSYNC);
}

/* ---- the tap (media workers) ---- */

static void
tap_track(void *user, unsigned worker, const struct vej_tap_track *t)
{
    struct vej_recorder *r = user;
    if (worker >= r->config.n_workers)
        return;
    struct vej_rec_track_desc d;
    memset(&d, 0, sizeof d);
    g_strlcpy(d.hearing_id, t->hearing_id, sizeof d.hearing_id);
    g_strlcpy(d.participant_id, t->participant_id, sizeof d.participant_id);
    g_strlcpy(d.codec, t->codec, sizeof d.codec);
    g_strlcpy(d.fmtp, t->fmtp ? t->fmtp : "", sizeof d.fmtp);
    d.kind = t->kind;
    d.clock_rate = t->clock_rate;
    d.channels = t->channels;
    d.ssrc = t->ssrc;
    d.payload_type = t->payload_type;
    d.mid_ext_id = t->mid_ext_id;
    d.audio_level_ext_id = t->audio_level_ext_id;
    vej_ring_push(&r->rings[worker], REC_TRACK, t->key, 0, &d, sizeof d, NULL, 0);
}

static void
tap_track_end(void *user, unsigned worker, uint32_t key)
{
    struct vej_recorder *r = user;
    if (worker < r->config.n_workers)
        vej_ring_push(&r->rings[worker], REC_TRACK_END, key, 0, NULL, 0, NULL, 0);
}

static bool
tap_packet(void *user, unsigned worker, uint32_t key, bool rtcp, int64_t arrival_ns,
           const uint8_t *data, size_t len)
{
    struct vej_recorder *r = user;
    if (worker >= r->config.n_workers)
        return false;
    return vej_ring_push(&r->rings[worker], rtcp ? REC_RTCP : REC_RTP, key, arrival_ns, data, len,
                         NULL, 0);
}

const struct vej_tap *
vej_recorder_tap(struct vej_recorder *r)
{
    return &r->tap;
}

/* ---- reports ---- */

void
vej__recorder_alert(struct vej_recorder *r, const char *hearing_id, const char *code,
                    const char *message)
{
    g_warning("recording: hearing %s: %s: %s", hearing_id, code, message);
    if (r->cb.alert)
        r->cb.alert(r->cb.user, hearing_id, code, message);
}

void
vej__recorder_state(struct vej_recorder *r, struct vej_capture *c, const char *state,
                    const char *reason)
{
    if (r->cb.state)
        r->cb.state(r->cb.user, c->hearing_id, c->id, state, reason);
}

void
vej__recorder_count(struct vej_recorder *r, uint64_t packets, uint64_t bytes, uint64_t write_errors,
                    uint64_t segments)
{
    g_mutex_lock(&r->stats_lock);
    r->stats.packets += packets;
    r->stats.bytes += bytes;
    r->stats.write_errors += write_errors;
    r->stats.segments += segments;
    g_mutex_unlock(&r->stats_lock);
}

/* ---- the recorder's thread ---- */

static void
on_record(struct vej_recorder *r, const struct vej_ring_record *rec)
{
    if (rec->type == REC_TRACK) {
        struct vej_rec_track_desc d;
        if (rec->len != sizeof d)
            return;
        memcpy(&d, rec->data, sizeof d);
        d.hearing_id[sizeof d.hearing_id - 1] = d.participant_id[sizeof d.participant_id - 1] = 0;
        d.codec[sizeof d.codec - 1] = d.fmtp[sizeof d.fmtp - 1] = 0;
        struct vej_capture *c = g_hash_table_lookup(r->captures, d.hearing_id);
        if (!c || c->closed || g_hash_table_contains(r->tracks, GUINT_TO_POINTER(rec->key)))
            return;
        g_hash_table_insert(r->tracks, GUINT_TO_POINTER(rec->key),
                            vej__capture_add_track(c, rec->key, &d));
        return;
    }
    struct vej_rec_track *t = g_hash_table_lookup(r->tracks, GUINT_TO_POINTER(rec->key));
    if (!t)
        return;
    if (rec->type == REC_TRACK_END) {
        g_hash_table_remove(r->tracks, GUINT_TO_POINTER(rec->key));
        return;
    }
    vej__capture_packet(t->capture, t, rec->type == REC_RTCP, rec->time, rec->data, rec->len);
}

static void
drain(struct vej_recorder *r)
{
    for (unsigned w = 0; w < r->config.n_workers; w++) {
        struct vej_ring_record rec;
        /* Bounded, so that a flood cannot keep the thread here forever:
         * what is left waits for the next tick. */
        for (unsigned n = 0; n < 65536 && vej_ring_peek(&r->rings[w], &rec); n++) {
            on_record(r, &rec);
            vej_ring_pop(&r->rings[w]);
        }
    }
}

/* A full ring: every recording open now may have lost packets (the ring
 * does not say whose); each gets the gap and its clerks an alert. */
static void
check_drops(struct vej_recorder *r)
{
    uint64_t dropped = 0;
    for (unsigned w = 0; w < r->config.n_workers; w++)
        dropped += vej_ring_dropped(&r->rings[w]);
    if (dropped == r->dropped_seen)
        return;
    uint64_t lost = dropped - r->dropped_seen;
    r->dropped_seen = dropped;
    g_mutex_lock(&r->stats_lock);
    r->stats.ring_dropped = dropped;
    g_mutex_unlock(&r->stats_lock);
    int64_t now = g_get_real_time() * 1000;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->captures);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_capture *c = value;
        if (c->closed)
            continue;
        json_object_set_new(c->doc, "ring_drops",
                            json_integer(json_integer_value(json_object_get(c->doc, "ring_drops")) +
                                         (json_int_t)lost));
        vej__capture_add_gap(c, now - (int64_t)r->config.drain_ms * 1000000, now, "ring_full");
        vej__recorder_alert(r, c->hearing_id, "recording_ring_full",
                            "The recorder could not keep up and lost packets; participants were "
                            "not affected. The gap is in the recording's manifest.");
        vej__recorder_state(r, c, "recording", "ring_full");
    }
}

static gboolean
tick(gpointer user)
{
    struct vej_recorder *r = user;
    drain(r);
    check_drops(r);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->captures);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_capture *c = value;
        vej__capture_tick(c);
        if (c->closed && !c->dirty) {
            vej__recorder_state(r, c, "stopped", NULL);
            if (r->cb.finished)
                r->cb.finished(r->cb.user, c->hearing_id, c->id, c->dir);
            g_hash_table_iter_remove(&it);
        }
    }
    g_mutex_lock(&r->stats_lock);
    r->stats.recordings = g_hash_table_size(r->captures);
    g_mutex_unlock(&r->stats_lock);
    return G_SOURCE_CONTINUE;
}

static gpointer
thread_main(gpointer user)
{
    struct vej_recorder *r = user;
    g_main_context_push_thread_default(r->ctx);
    GSource *timer = g_timeout_source_new(r->config.drain_ms);
    g_source_set_callback(timer, tick, r, NULL);
    g_source_attach(timer, r->ctx);
    g_main_loop_run(r->loop);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_main_context_pop_thread_default(r->ctx);
    return NULL;
}

/* ---- calls from other threads ---- */

static void
forget_tracks_of(struct vej_recorder *r, struct vej_capture *c)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->tracks);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((struct vej_rec_track *)value)->capture == c)
            g_hash_table_iter_remove(&it);
}

static void
capture_destroy(gpointer data)
{
    struct vej_capture *c = data;
    forget_tracks_of(c->rec, c);
    vej__capture_free(c);
}

/* The open recording of a hearing, or a new one when it enters session
 * (the one it had before a restart, if it was not finished). */
static struct vej_capture *
capture_for(struct vej_recorder *r, json_t *snapshot)
{
    const char *hid =
        json_string_value(json_object_get(json_object_get(snapshot, "hearing"), "id"));
    const char *state = json_string_value(json_object_get(snapshot, "state"));
    if (!hid)
        return NULL;
    struct vej_capture *c = g_hash_table_lookup(r->captures, hid);
    if (c)
        return c;
    g_autoptr(GError) error = NULL;
    const char *dir = g_hash_table_lookup(r->by_hearing, hid);
    bool resumed = dir != NULL;
    /* A recording starts when its hearing first enters session; one left
     * by a restart continues (or is finished) in any state. */
    if (!dir && g_strcmp0(state, "in_session") != 0)
        return NULL;
    if (dir) {
        c = vej__capture_load(r, dir, &error);
        if (c && c->closed) { /* finished: a hearing has one recording */
            vej__capture_free(c);
            return NULL;
        }
    }
    if (!c && !dir)
        c = vej__capture_new(r, snapshot, &error);
    if (!c) {
        g_warning("recording: hearing %s: %s", hid, error ? error->message : "cannot resume");
        return NULL;
    }
    g_hash_table_insert(r->captures, c->hearing_id, c);
    g_hash_table_replace(r->by_hearing, g_strdup(hid), g_strdup(c->dir));
    g_autofree char *detail = g_strdup_printf("{\"recording_id\":\"%s\"}", c->id);
    vej_audit_append(r->audit, "system", resumed ? "recording.resume" : "recording.start", hid,
                     detail);
    if (!c->failing)
        vej__recorder_state(r, c, "recording", NULL);
    return c;
}

struct update {
    struct vej_recorder *r;
    json_t *snapshot;
};

static gboolean
do_update(gpointer data)
{
    struct update *u = data;
    struct vej_capture *c = capture_for(u->r, u->snapshot);
    if (c)
        vej__capture_apply(c, u->snapshot);
    json_decref(u->snapshot);
    g_free(u);
    return G_SOURCE_REMOVE;
}

void
vej_recorder_update(struct vej_recorder *r, json_t *snapshot)
{
    struct update *u = g_new0(struct update, 1);
    u->r = r;
    u->snapshot = snapshot;
    g_main_context_invoke(r->ctx, do_update, u);
}

struct sync_call {
    struct vej_recorder *r;
    GMutex lock;
    GCond cond;
    bool done;
    bool shutdown;
};

static gboolean
do_sync(gpointer data)
{
    struct sync_call *s = data;
    tick(s->r);
    if (s->shutdown) {
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, s->r->captures);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            struct vej_capture *c = value;
            vej__capture_close_segment(c, "shutdown");
            g_autoptr(GError) error = NULL;
            if (c->dirty && !vej__capture_write_json(c, &error))
                g_warning("recording %s: %s", c->id, error->message);
        }
        g_main_loop_quit(s->r->loop);
    }
    g_mutex_lock(&s->lock);
    s->done = true;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    return G_SOURCE_REMOVE;
}

static void
call_and_wait(struct vej_recorder *r, bool shutdown)
{
    struct sync_call s = {.r = r, .shutdown = shutdown};
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    g_main_context_invoke(r->ctx, do_sync, &s);
    g_mutex_lock(&s.lock);
    while (!s.done)
        g_cond_wait(&s.cond, &s.lock);
    g_mutex_unlock(&s.lock);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
}

void
vej_recorder_sync(struct vej_recorder *r)
{
    call_and_wait(r, false);
}

void
vej_recorder_stats(struct vej_recorder *r, struct vej_recorder_stats *out)
{
    g_mutex_lock(&r->stats_lock);
    *out = r->stats;
    g_mutex_unlock(&r->stats_lock);
}

/* ---- life cycle ---- */

static size_t
ring_capacity(size_t want)
{
    size_t cap = 4096;
    while (cap < want && cap < ((size_t)1 << 30))
        cap <<= 1;
    return cap;
}

struct vej_recorder *
vej_recorder_new(const struct vej_recorder_config *config,
                 const struct vej_recorder_callbacks *callbacks, vej_audit_writer *audit,
                 GError **error)
{
    struct vej_recorder *r = g_new0(struct vej_recorder, 1);
    r->config = *config;
    r->config.data_dir = NULL;
    if (r->config.n_workers == 0)
        r->config.n_workers = 1;
    if (r->config.drain_ms == 0)
        r->config.drain_ms = VEJ_RECORDER_TICK_MS;
    if (r->config.segment_seconds == 0)
        r->config.segment_seconds = 300;
    r->root = g_build_filename(config->data_dir, "recordings", NULL);
    if (g_mkdir_with_parents(r->root, 0700) != 0)
        g_warning("recording: cannot create %s: %s (recordings will fail and alert)", r->root,
                  g_strerror(errno));
    if (callbacks)
        r->cb = *callbacks;
    r->audit = audit;
    g_mutex_init(&r->stats_lock);
    size_t cap = ring_capacity(config->ring_bytes ? config->ring_bytes : 8u << 20);
    r->rings = g_new0(struct vej_ring, r->config.n_workers);
    r->ring_mem = g_new0(uint8_t *, r->config.n_workers);
    for (unsigned i = 0; i < r->config.n_workers; i++) {
        r->ring_mem[i] = g_malloc(cap); /* glib's malloc: at least 8-byte aligned */
        vej_ring_init(&r->rings[i], r->ring_mem[i], cap);
    }
    r->tap = (struct vej_tap){
        .track = tap_track, .track_end = tap_track_end, .packet = tap_packet, .user = r};
    r->captures = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, capture_destroy);
    r->by_hearing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->tracks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    vej__recorder_recover(r);
    r->ctx = g_main_context_new();
    r->loop = g_main_loop_new(r->ctx, FALSE);
    r->thread = g_thread_try_new("vej-recorder", thread_main, r, error);
    if (!r->thread) {
        vej_recorder_free(r);
        return NULL;
    }
    return r;
}

void
vej_recorder_free(struct vej_recorder *r)
{
    if (!r)
        return;
    if (r->thread) {
        call_and_wait(r, true);
        g_thread_join(r->thread);
    }
    g_hash_table_destroy(r->captures);
    g_hash_table_destroy(r->tracks);
    g_hash_table_destroy(r->by_hearing);
    if (r->loop)
        g_main_loop_unref(r->loop);
    if (r->ctx)
        g_main_context_unref(r->ctx);
    for (unsigned i = 0; i < r->config.n_workers; i++)
        g_free(r->ring_mem[i]);
    g_free(r->ring_mem);
    g_free(r->rings);
    g_mutex_clear(&r->stats_lock);
    g_free(r->root);
    g_free(r);
}
