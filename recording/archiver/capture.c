/* capture.c - capture.json and the closed segments, as the archiver sees them.
 *
 * capture.json is the recorder's description of the capture
 * (docs/recording.md); unknown keys are ignored, a missing required key is
 * an error naming it. Participant ids become file names, so only
 * [A-Za-z0-9_-] is accepted. Segments are the closed ones capture.json
 * lists; when it lists none, capture/seg-*.pcap in name order. A segment
 * whose size or SHA-256 differs from capture.json's, or that does not read
 * to its end record by record, stops the archiver before any output. */
#include "recording/archiver/archiver-priv.h"

#include "recording/pcap-read.h"

#include <jansson.h>
#include <string.h>

GQuark
vej_arch_error_quark(void)
{
    return g_quark_from_static_string("vej-archiver-error-quark");
}

static void
track_free(gpointer data)
{
    struct vej_arch_track *t = data;
    g_free(t->participant_id);
    g_free(t->codec);
    g_array_unref(t->srs);
    g_free(t);
}

static void
participant_free(gpointer data)
{
    struct vej_arch_participant *p = data;
    g_free(p->id);
    g_free(p->role);
    g_free(p->label);
    g_ptr_array_unref(p->audio);
    g_ptr_array_unref(p->video);
    g_free(p);
}

static void
segment_free(gpointer data)
{
    struct vej_arch_segment *s = data;
    g_free(s->name);
    g_free(s->path);
    g_free(s->sha256);
    g_free(s);
}

void
vej_arch_capture_free(struct vej_arch_capture *cap)
{
    if (cap == NULL)
        return;
    g_free(cap->dir);
    g_free(cap->recording_id);
    g_ptr_array_unref(cap->participants);
    g_ptr_array_unref(cap->tracks);
    g_hash_table_unref(cap->by_number);
    g_ptr_array_unref(cap->segments);
    g_free(cap);
}

static gboolean
safe_id(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 128)
        return FALSE;
    for (const char *c = s; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
            return FALSE;
    return TRUE;
}

static const char *
str_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static struct vej_arch_participant *
find_participant(struct vej_arch_capture *cap, const char *id)
{
    for (guint i = 0; i < cap->participants->len; i++) {
        struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        if (strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

static struct vej_arch_participant *
add_participant(struct vej_arch_capture *cap, const char *id, const char *role, const char *label)
{
    struct vej_arch_participant *p = g_new0(struct vej_arch_participant, 1);
    p->id = g_strdup(id);
    p->role = g_strdup(role ? role : "");
    p->label = g_strdup(label ? label : (role ? role : id));
    p->audio = g_ptr_array_new();
    p->video = g_ptr_array_new();
    g_ptr_array_add(cap->participants, p);
    return p;
}

static gboolean
load_participants(struct vej_arch_capture *cap, json_t *root, GError **error)
{
    json_t *arr = json_object_get(root, "participants");
    size_t i;
    json_t *pj;
    if (arr != NULL && !json_is_array(arr)) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: participants is not an array");
        return FALSE;
    }
    json_array_foreach(arr, i, pj)
    {
        const char *id = str_field(pj, "participant_id");
        if (!safe_id(id)) {
            g_set_error(error, VEJ_ARCH_ERROR, 1,
                        "capture.json: participants[%zu]: missing or unsafe participant_id", i);
            return FALSE;
        }
        if (find_participant(cap, id) == NULL)
            add_participant(cap, id, str_field(pj, "role"), str_field(pj, "label"));
    }
    return TRUE;
}

static gboolean
load_track(struct vej_arch_capture *cap, json_t *tj, size_t i, GError **error)
{
    json_t *n = json_object_get(tj, "track");
    json_t *ssrc = json_object_get(tj, "ssrc");
    json_t *pt = json_object_get(tj, "payload_type");
    json_t *rate = json_object_get(tj, "clock_rate");
    const char *pid = str_field(tj, "participant_id");
    const char *kind = str_field(tj, "kind");
    const char *codec = str_field(tj, "codec");
    if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 12000 ||
        !json_is_integer(pt) || json_integer_value(pt) < 0 || json_integer_value(pt) > 127 ||
        !json_is_integer(rate) || json_integer_value(rate) < 1000 ||
        json_integer_value(rate) > 1000000 || !safe_id(pid) || kind == NULL || codec == NULL ||
        (strcmp(kind, "audio") != 0 && strcmp(kind, "video") != 0)) {
        g_set_error(error, VEJ_ARCH_ERROR, 1,
                    "capture.json: tracks[%zu]: needs track (1-12000), participant_id, kind "
                    "(audio|video), payload_type, codec, clock_rate",
                    i);
        return FALSE;
    }
    unsigned number = (unsigned)json_integer_value(n);
    if (g_hash_table_contains(cap->by_number, GUINT_TO_POINTER(number))) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: track %u listed twice", number);
        return FALSE;
    }
    g_autofree char *upper = g_ascii_strup(codec, -1);
    bool audio = strcmp(kind, "audio") == 0;
    if ((audio && strcmp(upper, "OPUS") != 0) ||
        (!audio && strcmp(upper, "VP8") != 0 && strcmp(upper, "H264") != 0)) {
        g_set_error(error, VEJ_ARCH_ERROR, 1,
                    "capture.json: track %u: codec %s is not archived (opus, vp8, h264)", number,
                    codec);
        return FALSE;
    }
    struct vej_arch_track *t = g_new0(struct vej_arch_track, 1);
    t->n = number;
    t->participant_id = g_strdup(pid);
    t->kind = audio ? VEJ_ARCH_AUDIO : VEJ_ARCH_VIDEO;
    t->ssrc = json_is_integer(ssrc) ? (uint32_t)json_integer_value(ssrc) : 0;
    t->payload_type = (unsigned)json_integer_value(pt);
    t->codec = g_steal_pointer(&upper);
    t->clock_rate = (unsigned)json_integer_value(rate);
    t->srs = g_array_new(FALSE, FALSE, sizeof(struct vej_arch_sr));
    g_ptr_array_add(cap->tracks, t);
    g_hash_table_insert(cap->by_number, GUINT_TO_POINTER(number), t);
    struct vej_arch_participant *p = find_participant(cap, pid);
    if (p == NULL)
        p = add_participant(cap, pid, NULL, NULL);
    g_ptr_array_add(audio ? p->audio : p->video, t);
    return TRUE;
}

static gboolean
add_segment(struct vej_arch_capture *cap, const char *name, json_t *sj, GError **error)
{
    /* names are relative and stay under capture/: no "..", no absolute path */
    if (name == NULL || !g_str_has_prefix(name, "capture/") || strstr(name, "..") != NULL ||
        !g_str_has_suffix(name, ".pcap")) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: segment name %s is not capture/*.pcap",
                    name ? name : "(missing)");
        return FALSE;
    }
    struct vej_arch_segment *s = g_new0(struct vej_arch_segment, 1);
    s->name = g_strdup(name);
    s->path = g_build_filename(cap->dir, name, NULL);
    s->size = -1;
    if (sj != NULL) {
        json_t *size = json_object_get(sj, "size");
        if (json_is_integer(size))
            s->size = json_integer_value(size);
        const char *sha = str_field(sj, "sha256");
        if (sha != NULL)
            s->sha256 = g_ascii_strdown(sha, -1);
    }
    g_ptr_array_add(cap->segments, s);
    return TRUE;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean
load_segments(struct vej_arch_capture *cap, json_t *root, GError **error)
{
    json_t *arr = json_object_get(root, "segments");
    size_t i;
    json_t *sj;
    json_array_foreach(arr, i, sj)
    {
        if (!add_segment(cap, str_field(sj, "name"), sj, error))
            return FALSE;
    }
    if (cap->segments->len > 0)
        return TRUE;
    g_autofree char *capdir = g_build_filename(cap->dir, "capture", NULL);
    g_autoptr(GDir) d = g_dir_open(capdir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    while (d != NULL && (entry = g_dir_read_name(d)) != NULL)
        if (g_str_has_prefix(entry, "seg-") && g_str_has_suffix(entry, ".pcap"))
            g_ptr_array_add(names, g_strconcat("capture/", entry, NULL));
    g_ptr_array_sort(names, compare_names);
    for (guint k = 0; k < names->len; k++)
        if (!add_segment(cap, g_ptr_array_index(names, k), NULL, error))
            return FALSE;
    return TRUE;
}

static gboolean
load_root(struct vej_arch_capture *cap, json_t *root, GError **error)
{
    const char *format = str_field(root, "format");
    if (format == NULL || strcmp(format, "vej-capture/1") != 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: format is not vej-capture/1");
        return FALSE;
    }
    cap->recording_id = g_strdup(str_field(root, "recording_id"));
    if (!load_participants(cap, root, error))
        return FALSE;
    json_t *tracks = json_object_get(root, "tracks");
    size_t i;
    json_t *tj;
    if (!json_is_array(tracks)) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: tracks is missing");
        return FALSE;
    }
    json_array_foreach(tracks, i, tj)
    {
        if (!load_track(cap, tj, i, error))
            return FALSE;
    }
    return load_segments(cap, root, error);
}

struct vej_arch_capture *
vej_arch_capture_parse(const char *dir, const char *text, size_t len, GError **error)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    struct vej_arch_capture *cap = g_new0(struct vej_arch_capture, 1);
    cap->dir = g_strdup(dir);
    cap->participants = g_ptr_array_new_with_free_func(participant_free);
    cap->tracks = g_ptr_array_new_with_free_func(track_free);
    cap->by_number = g_hash_table_new(g_direct_hash, g_direct_equal);
    cap->segments = g_ptr_array_new_with_free_func(segment_free);
    gboolean ok = json_is_object(root) && load_root(cap, root, error);
    if (!json_is_object(root))
        g_set_error(error, VEJ_ARCH_ERROR, 1, "capture.json: not a JSON object");
    json_decref(root);
    if (ok && cap->segments->len == 0) {
        g_set_error(error, VEJ_ARCH_ERROR, 1, "%s: no closed segment to archive", dir);
        ok = FALSE;
    }
    if (!ok) {
        vej_arch_capture_free(cap);
        return NULL;
    }
    return cap;
}

struct vej_arch_capture *
vej_arch_capture_load(const char *dir, GError **error)
{
    g_autofree char *path = g_build_filename(dir, "capture.json", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, error))
        return NULL;
    return vej_arch_capture_parse(dir, text, len, error);
}

GMappedFile *
vej_arch_segment_map(const struct vej_arch_segment *seg, GError **error)
{
    GError *e = NULL;
    GMappedFile *map = g_mapped_file_new(seg->path, FALSE, &e);
    if (map == NULL) {
        g_set_error(error, VEJ_ARCH_ERROR, 2, "segment %s: %s", seg->name, e->message);
        g_error_free(e);
    }
    return map;
}

static gboolean
check_one(const struct vej_arch_segment *seg, GError **error)
{
    g_autoptr(GMappedFile) map = vej_arch_segment_map(seg, error);
    if (map == NULL)
        return FALSE;
    const uint8_t *data = (const uint8_t *)g_mapped_file_get_contents(map);
    size_t len = g_mapped_file_get_length(map);
    if (seg->size >= 0 && (int64_t)len != seg->size) {
        g_set_error(error, VEJ_ARCH_ERROR, 2,
                    "segment %s: %zu bytes, capture.json says %" G_GINT64_FORMAT
                    " (truncated or replaced)",
                    seg->name, len, seg->size);
        return FALSE;
    }
    if (seg->sha256 != NULL) {
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
        if (strcmp(sum, seg->sha256) != 0) {
            g_set_error(error, VEJ_ARCH_ERROR, 2,
                        "segment %s: SHA-256 %s differs from capture.json's (corrupt)", seg->name,
                        sum);
            return FALSE;
        }
    }
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    int st = vej_pcap_reader_init(&r, data, len);
    while (st == VEJ_PCAP_OK)
        st = vej_pcap_reader_next(&r, &rec);
    if (st != VEJ_PCAP_END) {
        g_set_error(error, VEJ_ARCH_ERROR, 2,
                    "segment %s: %s at byte %zu (record %" G_GUINT64_FORMAT ")", seg->name,
                    vej_pcap_strerror(st), r.pos, r.index);
        return FALSE;
    }
    return TRUE;
}

gboolean
vej_arch_segments_check(struct vej_arch_capture *cap, GError **error)
{
    for (guint i = 0; i < cap->segments->len; i++)
        if (!check_one(g_ptr_array_index(cap->segments, i), error))
            return FALSE;
    return TRUE;
}
