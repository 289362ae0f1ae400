/* capture.c - one hearing's recording: its folder, its segments and the
 * capture.json that says what they hold (docs/recording.md).
 *
 * The signalling thread's snapshots (recorder.h) are diffed here into the
 * timeline: the hearing's states, joins, leaves, moves, mutes and
 * special-measures changes, each participant's periods in each place, and
 * the consultation periods (a room from its first occupant to its last,
 * with everyone who was in it), which are never captured. A change of the
 * hearing's state closes the open segment; the next packet opens one.
 *
 * When writing fails (disk full, read-only, I/O error) the hearing goes
 * on: the segment is closed as far as it was written, a gap opens, clerks
 * and the judge are alerted, and a new segment is tried every
 * RETRY_US; the gap closes when one opens.
 */
#include "recording/recorder-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <string.h>
#include <unistd.h>

char *
vej__rec_time_rfc3339(int64_t unix_us)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
    if (!t)
        return g_strdup("1970-01-01T00:00:00.000000Z");
    g_autofree char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    return g_strdup_printf("%s.%06dZ", base, (int)(unix_us % G_USEC_PER_SEC));
}

char *
vej__rec_now_rfc3339(void)
{
    return vej__rec_time_rfc3339(g_get_real_time());
}

json_t *
vej__rec_time_json(int64_t unix_us)
{
    g_autofree char *s = vej__rec_time_rfc3339(unix_us);
    return json_string(s);
}

#define time_json vej__rec_time_json

static void
timeline(struct vej_capture *c, int64_t at_us, const char *event, json_t *fields)
{
    json_t *e = json_pack("{s:o,s:s}", "at", time_json(at_us), "event", event);
    if (fields) {
        json_object_update(e, fields);
        json_decref(fields);
    }
    json_array_append_new(json_object_get(c->doc, "timeline"), e);
    c->dirty = true;
}

/* ---- participants and places ---- */

static json_t *
doc_participant(struct vej_capture *c, const char *pid)
{
    json_t *list = json_object_get(c->doc, "participants");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        if (g_strcmp0(json_string_value(json_object_get(p, "participant_id")), pid) == 0)
            return p;
    }
    p = json_pack("{s:s,s:[]}", "participant_id", pid, "periods");
    json_array_append_new(list, p);
    return p;
}

static void
close_period(struct vej_capture *c, const char *pid, int64_t at_us)
{
    json_t *periods = json_object_get(doc_participant(c, pid), "periods");
    size_t n = json_array_size(periods);
    json_t *last = n ? json_array_get(periods, n - 1) : NULL;
    if (last && json_is_null(json_object_get(last, "to")))
        json_object_set_new(last, "to", time_json(at_us));
}

static void
open_period(struct vej_capture *c, json_t *who, int64_t at_us)
{
    const char *pid = json_string_value(json_object_get(who, "participant_id"));
    json_t *p = doc_participant(c, pid);
    json_object_set(p, "role", json_object_get(who, "role"));
    json_object_set(p, "label", json_object_get(who, "label"));
    json_array_append_new(json_object_get(p, "periods"),
                          json_pack("{s:O,s:o,s:n}", "place", json_object_get(who, "place"), "from",
                                    time_json(at_us), "to"));
}

static json_t *
by_id(json_t *snapshot)
{
    json_t *map = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(snapshot, "participants"), i, p)
    {
        const char *pid = json_string_value(json_object_get(p, "participant_id"));
        if (pid)
            json_object_set(map, pid, p);
    }
    return map;
}

static bool
field_changed(json_t *a, json_t *b, const char *key)
{
    return !json_equal(json_object_get(a, key), json_object_get(b, key));
}

static void
diff_participant(struct vej_capture *c, const char *pid, json_t *was, json_t *now, int64_t at)
{
    if (field_changed(was, now, "place")) {
        close_period(c, pid, at);
        open_period(c, now, at);
        timeline(
            c, at, "participant.moved",
            json_pack("{s:s,s:O}", "participant_id", pid, "place", json_object_get(now, "place")));
    }
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "video" : "audio";
        json_t *m0 = json_object_get(json_object_get(was, "muted"), kind);
        json_t *m1 = json_object_get(json_object_get(now, "muted"), kind);
        if (!json_equal(m0, m1))
            timeline(c, at, "participant.muted",
                     json_pack("{s:s,s:s,s:b}", "participant_id", pid, "kind", kind, "muted",
                               json_is_true(m1)));
    }
    if (field_changed(was, now, "special_measures"))
        timeline(c, at, "special_measures",
                 json_pack("{s:s,s:O}", "participant_id", pid, "special_measures",
                           json_object_get(now, "special_measures")));
    if (field_changed(was, now, "label")) {
        json_object_set(doc_participant(c, pid), "label", json_object_get(now, "label"));
        timeline(
            c, at, "participant.label",
            json_pack("{s:s,s:O}", "participant_id", pid, "label", json_object_get(now, "label")));
    }
}

/* ---- consultation periods ---- */

static void
close_room(struct vej_capture *c, const char *room, json_t *open, int64_t at)
{
    json_array_append_new(json_object_get(c->doc, "consultations"),
                          json_pack("{s:s,s:O,s:O,s:o,s:b,s:s}", "room", room, "participants",
                                    json_object_get(open, "participants"), "from",
                                    json_object_get(open, "from"), "to", time_json(at), "captured",
                                    false, "statement",
                                    "Private consultation: none of its media was captured."));
    c->dirty = true;
}

/* Opens rooms that gained occupants, adds newcomers, closes emptied ones.
 * Open rooms live in capture.json's "open_consultations" until closed, so
 * a recovery after a crash can close them too. */
static void
update_rooms(struct vej_capture *c, json_t *now_by_id, int64_t at)
{
    json_t *open = json_object_get(c->doc, "open_consultations");
    json_t *occupied = json_object();
    const char *pid;
    json_t *p;
    json_object_foreach(now_by_id, pid, p)
    {
        const char *place = json_string_value(json_object_get(p, "place"));
        if (!place || !g_str_has_prefix(place, "consultation:"))
            continue;
        json_object_set_new(occupied, place, json_true());
        json_t *room = json_object_get(open, place);
        if (!room) {
            room = json_pack("{s:o,s:[]}", "from", time_json(at), "participants");
            json_object_set_new(open, place, room);
            c->dirty = true;
        }
        json_t *members = json_object_get(room, "participants");
        bool listed = false;
        size_t i;
        json_t *m;
        json_array_foreach(members, i, m) listed =
            listed || g_strcmp0(json_string_value(m), pid) == 0;
        if (!listed) {
            json_array_append_new(members, json_string(pid));
            c->dirty = true;
        }
    }
    const char *room_name;
    json_t *room;
    void *tmp;
    json_object_foreach_safe(open, tmp, room_name, room)
    {
        if (json_object_get(occupied, room_name))
            continue;
        close_room(c, room_name, room, at);
        json_object_del(open, room_name);
    }
    json_decref(occupied);
}

/* Closes the periods and consultation rooms still open at `at_ns` (the
 * hearing closed, or a crash stopped the recording). */
void
vej__capture_close_places(struct vej_capture *c, int64_t at_ns)
{
    size_t i, j;
    json_t *p, *period;
    json_array_foreach(json_object_get(c->doc, "participants"), i, p)
    {
        json_array_foreach(json_object_get(p, "periods"), j, period)
        {
            if (json_is_null(json_object_get(period, "to")))
                json_object_set_new(period, "to", time_json(at_ns / 1000));
        }
    }
    json_t *open = json_object_get(c->doc, "open_consultations");
    const char *room;
    json_t *o;
    json_object_foreach(open, room, o)
    {
        close_room(c, room, o, at_ns / 1000);
    }
    json_object_clear(open);
}

/* ---- snapshots ---- */

void
vej__capture_apply(struct vej_capture *c, json_t *snapshot)
{
    if (c->closed)
        return;
    int64_t at = json_integer_value(json_object_get(snapshot, "at_us"));
    if (at <= 0)
        at = g_get_real_time();
    const char *state = json_string_value(json_object_get(snapshot, "state"));
    json_t *empty = c->last ? NULL : json_object();
    json_t *was = c->last ? c->last : empty;
    json_t *now = by_id(snapshot);
    const char *pid;
    json_t *p;
    json_object_foreach(now, pid, p)
    {
        json_t *before = json_object_get(was, pid);
        if (!before) {
            open_period(c, p, at);
            timeline(c, at, "participant.joined",
                     json_pack("{s:s,s:O,s:O}", "participant_id", pid, "role",
                               json_object_get(p, "role"), "place", json_object_get(p, "place")));
        } else {
            diff_participant(c, pid, before, p, at);
        }
    }
    json_object_foreach(was, pid, p)
    {
        if (json_object_get(now, pid))
            continue;
        close_period(c, pid, at);
        timeline(c, at, "participant.left", json_pack("{s:s}", "participant_id", pid));
    }
    update_rooms(c, now, at);
    if (state && g_strcmp0(state, c->state) != 0) {
        timeline(c, at, "hearing.state", json_pack("{s:s}", "state", state));
        g_free(c->state);
        c->state = g_strdup(state);
        vej__capture_close_segment(c, strcmp(state, "closed") == 0 ? "close" : "state");
        if (strcmp(state, "closed") == 0) {
            c->closed = true;
            json_object_set_new(c->doc, "closed_at", time_json(at));
            json_object_set_new(c->doc, "state", json_string("stopped"));
            vej__capture_close_places(c, at * 1000);
            if (c->failing)
                vej__capture_add_gap(c, c->gap_from_ns, at * 1000, c->gap_reason);
            c->failing = false;
        }
    }
    if (c->last)
        json_decref(c->last);
    if (empty)
        json_decref(empty);
    c->last = now;
    c->dirty = true;
}

/* ---- life cycle ---- */

static char *
new_recording_id(void)
{
    uint8_t b[8];
    if (RAND_bytes(b, sizeof b) != 1)
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)g_random_int();
    GString *id = g_string_new("rec_");
    for (size_t i = 0; i < sizeof b; i++)
        g_string_append_printf(id, "%02x", b[i]);
    return g_string_free(id, FALSE);
}

struct vej_capture *
vej__capture_new(struct vej_recorder *r, json_t *snapshot, GError **error)
{
    json_t *hearing = json_object_get(snapshot, "hearing");
    const char *hid = json_string_value(json_object_get(hearing, "id"));
    if (!hid) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "snapshot without hearing id");
        return NULL;
    }
    struct vej_capture *c = g_new0(struct vej_capture, 1);
    c->rec = r;
    c->id = new_recording_id();
    c->hearing_id = g_strdup(hid);
    c->dir = g_build_filename(r->root, c->id, NULL);
    c->next_segment = 1;
    c->next_track = 1;
    g_autofree char *now = vej__rec_now_rfc3339();
    c->doc = json_pack("{s:s,s:s,s:s,s:O,s:s,s:n,s:s,s:b,s:[],s:[],s:[],s:{},s:[],s:[],s:[],s:i}",
                       "format", "vej-capture/1", "recording_id", c->id, "state", "recording",
                       "hearing", hearing, "started_at", now, "closed_at", "gateway_version",
                       VEJ_VERSION, "clock_synchronised", vej__clock_synchronised(), "participants",
                       "timeline", "consultations", "open_consultations", "tracks", "segments",
                       "gaps", "ring_drops", 0);
    if (g_mkdir_with_parents(c->dir, 0700) != 0) {
        int err = errno;
        g_autoptr(GError) why = g_error_new(G_IO_ERROR, g_io_error_from_errno(err),
                                            "cannot create %s: %s", c->dir, g_strerror(err));
        vej__capture_fail(c, g_get_real_time() * 1000, why);
    }
    return c;
}

void
vej__capture_free(struct vej_capture *c)
{
    if (!c)
        return;
    vej__segment_abandon(c->seg);
    json_decref(c->doc);
    if (c->last)
        json_decref(c->last);
    g_free(c->state);
    g_free(c->id);
    g_free(c->hearing_id);
    g_free(c->dir);
    g_free(c);
}

/* The highest NNNNNN among capture/seg-NNNNNN.pcap[.open]. */
static unsigned
highest_segment(const char *dir)
{
    g_autofree char *cap = g_build_filename(dir, "capture", NULL);
    g_autoptr(GDir) d = g_dir_open(cap, 0, NULL);
    unsigned top = 0;
    const char *f;
    while (d && (f = g_dir_read_name(d))) {
        guint64 n = 0;
        char digits[7] = {0};
        if (!g_str_has_prefix(f, "seg-") || strlen(f) < 15)
            continue;
        memcpy(digits, f + 4, 6);
        if (g_ascii_string_to_unsigned(digits, 10, 1, 999999, &n, NULL) && n > top)
            top = (unsigned)n;
    }
    return top;
}

struct vej_capture *
vej__capture_load(struct vej_recorder *r, const char *dir, GError **error)
{
    g_autofree char *path = g_build_filename(dir, "capture.json", NULL);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, jerr.text);
        return NULL;
    }
    const char *id = json_string_value(json_object_get(doc, "recording_id"));
    const char *hid = json_string_value(json_object_get(json_object_get(doc, "hearing"), "id"));
    if (g_strcmp0(json_string_value(json_object_get(doc, "format")), "vej-capture/1") != 0 || !id ||
        !hid || !json_is_array(json_object_get(doc, "segments")) ||
        !json_is_array(json_object_get(doc, "timeline"))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a vej-capture/1 file",
                    path);
        json_decref(doc);
        return NULL;
    }
    struct vej_capture *c = g_new0(struct vej_capture, 1);
    c->rec = r;
    c->id = g_strdup(id);
    c->hearing_id = g_strdup(hid);
    c->dir = g_strdup(dir);
    c->doc = doc;
    if (!json_is_object(json_object_get(doc, "open_consultations")))
        json_object_set_new(doc, "open_consultations", json_object());
    c->closed = g_strcmp0(json_string_value(json_object_get(doc, "state")), "stopped") == 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "timeline"), i, e)
    {
        if (g_strcmp0(json_string_value(json_object_get(e, "event")), "hearing.state") == 0) {
            g_free(c->state);
            c->state = g_strdup(json_string_value(json_object_get(e, "state")));
        }
    }
    c->next_track = (unsigned)json_array_size(json_object_get(doc, "tracks")) + 1;
    c->next_segment = highest_segment(dir) + 1;
    return c;
}
