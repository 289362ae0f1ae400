/* timeline.c - where each packet goes on the hearing's one timeline.
 *
 * The gateway's arrival times (pcap timestamps, one clock for everyone)
 * place tracks relative to each other; a publisher's SRs (its own clock,
 * possibly seconds off the gateway's, and not always consistent with the
 * RTP it sends) tie its audio and video together. For a packet with
 * extended RTP time E on track t:
 *
 *   place(E)  = A(t) + (E - E0(t)) / clock_rate + S(t)
 *   A(t)      = min over t's packets of (arrival - (E - E0(t)) / clock_rate)
 *   S(t)      = the lip-sync shift of t within its connection (<= 0)
 *
 * so every track runs on its own RTP clock, at its fastest path's arrival
 * (never later than a packet arrived). The shifts come from the SRs: an SR
 * of track t says its RTP time R was sent at NTP time N, so
 * off(t) = place0(R) - N (place0: place without S) is t's gateway - sender
 * offset; two tracks of one sender must have the same. For each SR of a
 * track, paired with the SR of the connection's reference track (its first
 * track with SRs) nearest in NTP time, d = off(t) - off(ref); the median d
 * over the pairs is how much later than the reference t sits, and the
 * shifts undo it by moving the later one earlier. Pairs are used, not each
 * SR's absolute mapping, because a sender's SR clock may drift against its
 * RTP (GStreamer 1.22's webrtcbin advances the SR's RTP time about twice as
 * fast as the RTP it sends): an SR pair sent in one compound shares that
 * error, so the difference keeps only the A/V offset.
 *
 * Placing by RTP clocks has one limit: a publisher whose clock runs P ppm
 * off the gateway's moves against the others by up to P x 3.6 ms an hour
 * of connection (its audio and video together, so lip sync holds).
 *
 * A connection is a group of one participant's tracks whose arrival spans
 * overlap (a reconnect is a new connection). A track without SRs, or a
 * connection whose pairs give more than MAX_SYNC_NS, is placed from its
 * arrivals alone (said on stderr). The origin (time 0 of hearing.webm) is
 * the earliest placement of any packet.
 *
 * The segments are read once; memory holds the SRs and nothing per packet,
 * whatever the hearing's length.
 */
#include "recording/archiver/archiver-priv.h"

#include "gateway/wire/rtcp.h"
#include "gateway/wire/rtp.h"
#include "recording/pcap-read.h"

#include <stdlib.h>
#include <string.h>

#define CONNECTION_GAP_NS (500 * G_GINT64_CONSTANT(1000000))
/* An A/V offset beyond this is not believed (a sender's SRs gone wrong). */
#define MAX_SYNC_NS (5 * G_GINT64_CONSTANT(1000000000))
/* SRs further apart than this in NTP time are not paired. */
#define MAX_PAIR_NS (2 * G_GINT64_CONSTANT(1000000000))

int64_t
vej_arch_unwrap(struct vej_arch_unwrap *u, uint32_t value, unsigned bits)
{
    if (!u->have) {
        u->have = true;
        u->last = (int64_t)value + ((int64_t)1 << bits); /* room below for reordering */
        return u->last;
    }
    int64_t delta;
    if (bits == 16)
        delta = (int16_t)(uint16_t)(value - (uint32_t)u->last);
    else
        delta = (int32_t)(value - (uint32_t)u->last);
    int64_t ext = u->last + delta;
    if (ext > u->last)
        u->last = ext;
    return ext;
}

static int64_t
ntp_to_ns(uint64_t ntp)
{
    uint64_t sec = ntp >> 32, frac = ntp & 0xffffffffu;
    return (int64_t)(sec * 1000000000u + ((frac * 1000000000u) >> 32));
}

/* RTP of track t in rec, or FALSE (not RTP, another SSRC). */
static gboolean
rtp_of(const struct vej_arch_track *t, const struct vej_pcap_record *rec, struct vej_rtp_view *v)
{
    return vej_rtp_parse(rec->payload, rec->payload_len, v) == VEJ_RTP_OK &&
           (t->ssrc == 0 || v->ssrc == t->ssrc);
}

static void
scan_rtp(struct vej_arch_track *t, const struct vej_pcap_record *rec)
{
    struct vej_rtp_view v;
    if (!rtp_of(t, rec, &v))
        return;
    int64_t arrival = (int64_t)rec->ts_ns;
    int64_t ext = vej_arch_unwrap(&t->unwrap, v.timestamp, 32);
    if (t->packets == 0) {
        t->first_arrival = arrival;
        t->first_ext = ext;
        t->last_ext = ext;
        t->anchor_ns = arrival;
    }
    t->anchor_ns =
        MIN(t->anchor_ns, arrival - (ext - t->first_ext) * 1000000000 / (int64_t)t->clock_rate);
    t->packets++;
    t->last_arrival = arrival;
    t->last_ext = MAX(t->last_ext, ext);
}

static struct vej_arch_track *
track_of_ssrc(struct vej_arch_capture *cap, const struct vej_arch_track *port_track, uint32_t ssrc)
{
    struct vej_arch_track *found = NULL;
    for (guint i = 0; i < cap->tracks->len; i++) {
        struct vej_arch_track *t = g_ptr_array_index(cap->tracks, i);
        if (t->ssrc != ssrc)
            continue;
        if (t == port_track || strcmp(t->participant_id, port_track->participant_id) == 0)
            return t;
        if (found == NULL)
            found = t;
    }
    return found;
}

/* An SR's RTP time is extended next to the last packet seen before it (or,
 * before any, next to the first one: see resolve_srs). */
static void
scan_rtcp(struct vej_arch_capture *cap, struct vej_arch_track *port_track,
          const struct vej_pcap_record *rec)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    vej_rtcp_iter_init(&it, rec->payload, rec->payload_len);
    while (vej_rtcp_next(&it, &p) == 1) {
        struct vej_rtcp_sr sr;
        if (p.type != VEJ_RTCP_SR || vej_rtcp_parse_sr(&p, &sr) != VEJ_RTCP_OK)
            continue;
        struct vej_arch_track *t = track_of_ssrc(cap, port_track, sr.ssrc);
        if (t == NULL && port_track->ssrc == 0)
            t = port_track;
        if (t == NULL)
            continue;
        struct vej_arch_sr s = {(int64_t)rec->ts_ns, ntp_to_ns(sr.ntp_time), sr.rtp_time, 0,
                                t->unwrap.have};
        if (s.ext_known)
            s.ext = t->unwrap.last + (int32_t)(sr.rtp_time - (uint32_t)t->unwrap.last);
        g_array_append_val(t->srs, s);
    }
}

static struct vej_arch_track *
track_of_port(struct vej_arch_capture *cap, unsigned port)
{
    if (port < 20002)
        return NULL;
    return g_hash_table_lookup(cap->by_number, GUINT_TO_POINTER((port - 20000) / 2));
}

typedef void (*record_fn)(struct vej_arch_capture *cap, struct vej_arch_track *t, bool rtcp,
                          const struct vej_pcap_record *rec);

/* Calls fn for every record of a known track, segment after segment. */
static gboolean
for_each_record(struct vej_arch_capture *cap, record_fn fn, GError **error)
{
    for (guint i = 0; i < cap->segments->len; i++) {
        const struct vej_arch_segment *seg = g_ptr_array_index(cap->segments, i);
        g_autoptr(GMappedFile) map = vej_arch_segment_map(seg, error);
        if (map == NULL)
            return FALSE;
        struct vej_pcap_reader r;
        struct vej_pcap_record rec;
        vej_pcap_reader_init(&r, (const uint8_t *)g_mapped_file_get_contents(map),
                             g_mapped_file_get_length(map));
        while (vej_pcap_reader_next(&r, &rec) == VEJ_PCAP_OK) {
            struct vej_arch_track *t = track_of_port(cap, rec.tuple.dst_port);
            if (t != NULL)
                fn(cap, t, rec.tuple.dst_port % 2 == 1, &rec);
        }
        if (r.status != VEJ_PCAP_END) {
            g_set_error(error, VEJ_ARCH_ERROR, 2, "segment %s: %s at byte %zu", seg->name,
                        vej_pcap_strerror(r.status), r.pos);
            return FALSE;
        }
    }
    return TRUE;
}

static void
first_pass(struct vej_arch_capture *cap, struct vej_arch_track *t, bool rtcp,
           const struct vej_pcap_record *rec)
{
    if (rtcp)
        scan_rtcp(cap, t, rec);
    else
        scan_rtp(t, rec);
}

/* SRs that came before the track's first packet: extended next to it. */
static void
resolve_srs(struct vej_arch_track *t)
{
    for (guint i = 0; i < t->srs->len; i++) {
        struct vej_arch_sr *sr = &g_array_index(t->srs, struct vej_arch_sr, i);
        if (!sr->ext_known && t->packets > 0) {
            sr->ext = t->first_ext + (int32_t)(sr->rtp - (uint32_t)t->first_ext);
            sr->ext_known = true;
        }
    }
    t->shift_ns = 0;
}

/* The placement of RTP time ext on t's own clock, without its shift. */
static int64_t
place0(const struct vej_arch_track *t, int64_t ext)
{
    return t->anchor_ns + (ext - t->first_ext) * 1000000000 / (int64_t)t->clock_rate;
}

int64_t
vej_arch_place(const struct vej_arch_track *t, int64_t arrival, int64_t ext)
{
    (void)arrival;
    return place0(t, ext) + t->shift_ns;
}

gboolean
vej_arch_timeline_scan(struct vej_arch_capture *cap, GError **error)
{
    if (!for_each_record(cap, first_pass, error))
        return FALSE;
    for (guint i = 0; i < cap->tracks->len; i++)
        resolve_srs(g_ptr_array_index(cap->tracks, i));
    return TRUE;
}

static gint
by_first_arrival(gconstpointer a, gconstpointer b)
{
    const struct vej_arch_track *x = *(struct vej_arch_track *const *)a;
    const struct vej_arch_track *y = *(struct vej_arch_track *const *)b;
    return (x->first_arrival > y->first_arrival) - (x->first_arrival < y->first_arrival);
}

static gint
cmp_int64(gconstpointer a, gconstpointer b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* How much later than ref track t sits (median over SR pairs, see the top
 * of the file); FALSE when no SR of t pairs with one of ref. */
static gboolean
sync_delta(const struct vej_arch_track *ref, const struct vej_arch_track *t, int64_t *delta)
{
    g_autoptr(GArray) d = g_array_new(FALSE, FALSE, sizeof(int64_t));
    for (guint i = 0; i < t->srs->len; i++) {
        const struct vej_arch_sr *a = &g_array_index(t->srs, struct vej_arch_sr, i);
        const struct vej_arch_sr *best = NULL;
        for (guint j = 0; j < ref->srs->len; j++) {
            const struct vej_arch_sr *b = &g_array_index(ref->srs, struct vej_arch_sr, j);
            if (best == NULL || llabs(b->ntp_ns - a->ntp_ns) < llabs(best->ntp_ns - a->ntp_ns))
                best = b;
        }
        if (!a->ext_known || best == NULL || !best->ext_known ||
            llabs(best->ntp_ns - a->ntp_ns) > MAX_PAIR_NS)
            continue;
        int64_t v = (place0(t, a->ext) - a->ntp_ns) - (place0(ref, best->ext) - best->ntp_ns);
        g_array_append_val(d, v);
    }
    if (d->len == 0)
        return FALSE;
    g_array_sort(d, cmp_int64);
    *delta = g_array_index(d, int64_t, d->len / 2);
    return TRUE;
}

/* The shifts of one connection's tracks [start, end): each paired track
 * against the reference, then all moved so that the latest shift is 0. */
static void
sync_connection(GPtrArray *tracks, guint start, guint end)
{
    const struct vej_arch_track *ref = NULL;
    for (guint i = start; i < end && ref == NULL; i++) {
        const struct vej_arch_track *t = g_ptr_array_index(tracks, i);
        if (t->srs->len > 0)
            ref = t;
    }
    if (ref == NULL)
        return;
    int64_t latest = 0;
    for (guint i = start; i < end; i++) {
        struct vej_arch_track *t = g_ptr_array_index(tracks, i);
        int64_t delta = 0;
        if (t == ref || !sync_delta(ref, t, &delta))
            continue;
        if (llabs(delta) > MAX_SYNC_NS) {
            g_printerr("vej-archiver: %s track %u: SRs put it %.3f s off track %u: "
                       "placed by arrival\n",
                       t->participant_id, t->n, (double)delta / 1e9, ref->n);
            continue;
        }
        g_printerr("vej-archiver: %s track %u: %+.1f ms after track %u by the SRs\n",
                   t->participant_id, t->n, (double)delta / 1e6, ref->n);
        t->shift_ns = -delta;
        latest = MAX(latest, t->shift_ns);
    }
    for (guint i = start; i < end; i++)
        ((struct vej_arch_track *)g_ptr_array_index(tracks, i))->shift_ns -= latest;
}

/* Groups p's tracks (sorted by first arrival) into connections and
 * lip-syncs each. */
static void
solve_connections(GPtrArray *tracks)
{
    guint start = 0;
    while (start < tracks->len) {
        struct vej_arch_track *first = g_ptr_array_index(tracks, start);
        int64_t span_end = first->last_arrival;
        guint end = start;
        while (end < tracks->len) {
            struct vej_arch_track *t = g_ptr_array_index(tracks, end);
            if (end > start && t->first_arrival > span_end + CONNECTION_GAP_NS)
                break;
            span_end = MAX(span_end, t->last_arrival);
            end++;
        }
        sync_connection(tracks, start, end);
        start = end;
    }
}

/* Keeps the tracks with packets, by first arrival, of the first one's codec
 * (one file cannot change codec midway; another codec's track is left out
 * and said so on stderr). */
static void
drop_empty(GPtrArray *tracks)
{
    for (guint i = tracks->len; i > 0; i--) {
        struct vej_arch_track *t = g_ptr_array_index(tracks, i - 1);
        if (t->packets == 0)
            g_ptr_array_remove_index(tracks, i - 1);
    }
    g_ptr_array_sort(tracks, by_first_arrival);
    for (guint i = tracks->len; i > 1; i--) {
        struct vej_arch_track *first = g_ptr_array_index(tracks, 0);
        struct vej_arch_track *t = g_ptr_array_index(tracks, i - 1);
        if (strcmp(t->codec, first->codec) != 0) {
            g_printerr("vej-archiver: track %u of %s (%s) left out: the participant's first "
                       "track is %s\n",
                       t->n, t->participant_id, t->codec, first->codec);
            g_ptr_array_remove_index(tracks, i - 1);
        }
    }
    for (guint i = 0; i < tracks->len; i++)
        ((struct vej_arch_track *)g_ptr_array_index(tracks, i))->rank = i;
}

static void
solve_participant(struct vej_arch_participant *p)
{
    drop_empty(p->audio);
    drop_empty(p->video);
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    for (guint i = 0; i < p->audio->len; i++)
        g_ptr_array_add(all, g_ptr_array_index(p->audio, i));
    for (guint i = 0; i < p->video->len; i++)
        g_ptr_array_add(all, g_ptr_array_index(p->video, i));
    g_ptr_array_sort(all, by_first_arrival);
    solve_connections(all);
    p->first_place = G_MAXINT64;
    p->last_place = G_MININT64;
    for (guint i = 0; i < all->len; i++) {
        struct vej_arch_track *t = g_ptr_array_index(all, i);
        t->first_place = vej_arch_place(t, t->first_arrival, t->first_ext);
        t->last_place = vej_arch_place(t, t->last_arrival, t->last_ext);
        p->first_place = MIN(p->first_place, t->first_place);
        p->last_place = MAX(p->last_place, t->last_place);
    }
}

void
vej_arch_timeline_solve(struct vej_arch_capture *cap)
{
    cap->origin = G_MAXINT64;
    cap->end = G_MININT64;
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        solve_participant(p);
        if (p->audio->len + p->video->len == 0)
            continue;
        cap->origin = MIN(cap->origin, p->first_place);
        cap->end = MAX(cap->end, p->last_place);
    }
}
