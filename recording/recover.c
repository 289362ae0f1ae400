/* recover.c - the recorder's start-up: finish what a crash left open.
 *
 * For every recording under DATA_DIR/recordings whose capture.json does
 * not say "stopped": each capture/seg-NNNNNN.pcap.open is cut back to its
 * last whole record (a SIGKILL can leave half of one), synced, renamed to
 * .pcap, hashed into capture.json and the audit chain (closed_by
 * "recovery"); the places and consultation rooms still open are closed at
 * the time of the last packet captured; a "crash" gap runs from then to
 * now. The recording then waits for its hearing: it continues when the
 * hearing is in session again and is finished when the hearing closes.
 *
 * Every recording found is indexed by hearing, so that a hearing never
 * gets a second recording.
 */
#include "recording/recorder-priv.h"

#include "recording/pcap-read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The length of the longest prefix of a capture file made of whole, valid
 * records (read with pcap-read.h), with the first and last record times
 * and the record count. 0 when the file header itself is missing or
 * foreign. */
static uint64_t
whole_records(const char *path, int64_t *first_ns, int64_t *last_ns, uint64_t *packets)
{
    g_autoptr(GMappedFile) map = g_mapped_file_new(path, FALSE, NULL);
    if (!map)
        return 0;
    struct vej_pcap_reader rd;
    if (vej_pcap_reader_init(&rd, (const uint8_t *)g_mapped_file_get_contents(map),
                             g_mapped_file_get_length(map)) != VEJ_PCAP_OK)
        return 0;
    *first_ns = *last_ns = 0;
    *packets = 0;
    struct vej_pcap_record rec;
    while (vej_pcap_reader_next(&rd, &rec) == VEJ_PCAP_OK) {
        if (*packets == 0)
            *first_ns = (int64_t)rec.ts_ns;
        if ((int64_t)rec.ts_ns > *last_ns)
            *last_ns = (int64_t)rec.ts_ns;
        (*packets)++;
    }
    /* At the end or at the first record that is cut short or damaged. */
    return rd.pos;
}

/* Finishes one .open segment; returns the time of its last packet. */
static int64_t
finish_segment(struct vej_capture *c, const char *file)
{
    g_autofree char *open_path = g_build_filename(c->dir, "capture", file, NULL);
    g_autofree char *name = g_strndup(file, strlen(file) - strlen(".open"));
    g_autofree char *final = g_build_filename(c->dir, "capture", name, NULL);
    int64_t first = 0, last = 0;
    uint64_t packets = 0;
    uint64_t keep = whole_records(open_path, &first, &last, &packets);
    int fd = open(open_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (keep == 0 || packets == 0) {
        close(fd);
        g_message("recording %s: %s held no packet; removed", c->id, file);
        (void)unlink(open_path);
        return 0;
    }
    if (ftruncate(fd, (off_t)keep) != 0 || fdatasync(fd) != 0)
        g_warning("recording %s: %s: %s", c->id, file, g_strerror(errno));
    close(fd);
    if (rename(open_path, final) != 0) {
        g_warning("recording %s: cannot rename %s: %s", c->id, file, g_strerror(errno));
        return last;
    }
    char sha[65];
    uint64_t size = 0;
    if (!vej__file_sha256(final, sha, &size, NULL))
        return last;
    g_autofree char *rel = g_strconcat("capture/", name, NULL);
    vej__capture_segment_done(c, rel, size, sha, first, last, packets, "recovery");
    return last;
}

static int64_t
last_time_in_doc(json_t *doc)
{
    json_t *tl = json_object_get(doc, "timeline");
    size_t n = json_array_size(tl);
    if (!n)
        return 0;
    const char *at = json_string_value(json_object_get(json_array_get(tl, n - 1), "at"));
    g_autoptr(GDateTime) t = at ? g_date_time_new_from_iso8601(at, NULL) : NULL;
    return t ? (g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t)) * 1000
             : 0;
}

static void
recover_one(struct vej_recorder *r, struct vej_capture *c)
{
    g_autofree char *cap_dir = g_build_filename(c->dir, "capture", NULL);
    g_autoptr(GDir) d = g_dir_open(cap_dir, 0, NULL);
    g_autoptr(GPtrArray) open_files = g_ptr_array_new_with_free_func(g_free);
    const char *f;
    while (d && (f = g_dir_read_name(d)))
        if (g_str_has_suffix(f, ".pcap.open"))
            g_ptr_array_add(open_files, g_strdup(f));
    if (!open_files->len && json_object_size(json_object_get(c->doc, "open_consultations")) == 0 &&
        g_strcmp0(c->state, "in_session") != 0)
        return; /* stopped cleanly between sessions */
    int64_t last = last_time_in_doc(c->doc);
    for (guint i = 0; i < open_files->len; i++) {
        int64_t t = finish_segment(c, open_files->pdata[i]);
        if (t > last)
            last = t;
    }
    int64_t now = g_get_real_time() * 1000;
    if (!last)
        last = now;
    vej__capture_close_places(c, last);
    vej__capture_add_gap(c, last, now, "crash");
    g_autofree char *detail =
        g_strdup_printf("{\"recording_id\":\"%s\",\"segments\":%u}", c->id, open_files->len);
    vej_audit_append(r->audit, "system", "recording.recover", c->hearing_id, detail);
    g_autoptr(GError) error = NULL;
    if (!vej__capture_write_json(c, &error))
        g_warning("recording %s: %s", c->id, error->message);
    c->dirty = false;
}

void
vej__recorder_recover(struct vej_recorder *r)
{
    g_autoptr(GDir) d = g_dir_open(r->root, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (!g_str_has_prefix(name, "rec_"))
            continue;
        g_autofree char *dir = g_build_filename(r->root, name, NULL);
        g_autoptr(GError) error = NULL;
        struct vej_capture *c = vej__capture_load(r, dir, &error);
        if (!c) {
            if (error)
                g_warning("recording: %s: %s", dir, error->message);
            continue;
        }
        g_hash_table_replace(r->by_hearing, g_strdup(c->hearing_id), g_strdup(dir));
        if (!c->closed)
            recover_one(r, c);
        vej__capture_free(c);
    }
}
