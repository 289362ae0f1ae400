/* capture-files.c - a recording's files: tracks and packets into
 * segments, segments closed and audited, gaps, and capture.json written
 * atomically (write, fdatasync, rename) so that a crash leaves either the
 * old or the new one, never half of one.
 */
#include "recording/recorder-priv.h"

#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define RETRY_US (5 * G_USEC_PER_SEC)

static json_t *
time_json_ns(int64_t ns)
{
    return vej__rec_time_json(ns / 1000);
}

void
vej__capture_fail(struct vej_capture *c, int64_t from_ns, const GError *error)
{
    c->retry_at_us = g_get_monotonic_time() + RETRY_US;
    vej__recorder_count(c->rec, 0, 0, 1, 0);
    if (c->failing)
        return;
    c->failing = true;
    c->gap_from_ns = from_ns;
    c->gap_reason =
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? "disk_full" : "write_failed";
    g_autofree char *msg = g_strdup_printf("Recording interrupted: %s", error->message);
    vej__recorder_alert(c->rec, c->hearing_id, "recording_failed", msg);
    vej__recorder_state(c->rec, c, "failed", c->gap_reason);
}

void
vej__capture_segment_done(struct vej_capture *c, const char *name, uint64_t size,
                          const char *sha256, int64_t from_ns, int64_t to_ns, uint64_t packets,
                          const char *closed_by)
{
    json_array_append_new(json_object_get(c->doc, "segments"),
                          json_pack("{s:s,s:I,s:s,s:o,s:o,s:I,s:s}", "name", name, "size",
                                    (json_int_t)size, "sha256", sha256, "from",
                                    time_json_ns(from_ns), "to", time_json_ns(to_ns), "packets",
                                    (json_int_t)packets, "closed_by", closed_by));
    g_autofree char *detail =
        g_strdup_printf("{\"recording_id\":\"%s\",\"name\":\"%s\",\"size\":%" G_GUINT64_FORMAT
                        ",\"sha256\":\"%s\"}",
                        c->id, name, size, sha256);
    vej_audit_append(c->rec->audit, "system", "recording.segment", c->hearing_id, detail);
    vej__recorder_count(c->rec, 0, 0, 0, 1);
    c->dirty = true;
}

static json_t *
endpoint_pair(const struct vej_pcap_endpoint *src, const struct vej_pcap_endpoint *dst)
{
    char a[32], b[32];
    vej_pcap_endpoint_format(src, a, sizeof a);
    vej_pcap_endpoint_format(dst, b, sizeof b);
    return json_pack("{s:s,s:s}", "src", a, "dst", b);
}

struct vej_rec_track *
vej__capture_add_track(struct vej_capture *c, uint32_t key, const struct vej_rec_track_desc *d)
{
    struct vej_rec_track *t = g_new0(struct vej_rec_track, 1);
    t->key = key;
    t->capture = c;
    t->number = c->next_track++;
    vej_pcap_track_endpoints(t->number, &t->rtp_src, &t->rtp_dst, &t->rtcp_src, &t->rtcp_dst);
    json_t *extmap = json_object();
    if (d->mid_ext_id)
        json_object_set_new(extmap, "urn:ietf:params:rtp-hdrext:sdes:mid",
                            json_integer(d->mid_ext_id));
    if (d->audio_level_ext_id)
        json_object_set_new(extmap, "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                            json_integer(d->audio_level_ext_id));
    t->json = json_pack("{s:i,s:s,s:s,s:I,s:i,s:s,s:i,s:i,s:s,s:o,s:o,s:o,s:n,s:n}", "track",
                        (int)t->number, "participant_id", d->participant_id, "kind",
                        d->kind ? "video" : "audio", "ssrc", (json_int_t)d->ssrc, "payload_type",
                        (int)d->payload_type, "codec", d->codec, "clock_rate", (int)d->clock_rate,
                        "channels", (int)d->channels, "fmtp", d->fmtp, "extmap", extmap, "rtp",
                        endpoint_pair(&t->rtp_src, &t->rtp_dst), "rtcp",
                        endpoint_pair(&t->rtcp_src, &t->rtcp_dst), "first_at", "last_at");
    json_array_append_new(json_object_get(c->doc, "tracks"), t->json);
    c->dirty = true;
    return t;
}

static gboolean
open_segment(struct vej_capture *c)
{
    g_autoptr(GError) error = NULL;
    if (g_mkdir_with_parents(c->dir, 0700) == 0)
        c->seg = vej__segment_open(c->dir, c->next_segment, &error);
    else
        g_set_error(&error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", c->dir,
                    g_strerror(errno));
    if (!c->seg) {
        vej__capture_fail(c, g_get_real_time() * 1000, error);
        return FALSE;
    }
    c->next_segment++;
    c->dirty = true;
    return TRUE;
}

void
vej__capture_packet(struct vej_capture *c, struct vej_rec_track *t, bool rtcp, int64_t ns,
                    const uint8_t *data, size_t len)
{
    if (c->closed || c->failing)
        return;
    if (!c->seg && !open_segment(c))
        return;
    if (!vej__segment_append(c->seg, ns, rtcp ? &t->rtcp_src : &t->rtp_src,
                             rtcp ? &t->rtcp_dst : &t->rtp_dst, data, len))
        return;
    if (!t->first_ns) {
        t->first_ns = ns;
        json_object_set_new(t->json, "first_at", time_json_ns(ns));
        c->dirty = true;
    }
    t->last_ns = ns;
    vej__recorder_count(c->rec, 1, len, 0, 0);
}

void
vej__capture_add_gap(struct vej_capture *c, int64_t from_ns, int64_t to_ns, const char *reason)
{
    json_array_append_new(json_object_get(c->doc, "gaps"),
                          json_pack("{s:o,s:o,s:s}", "from", time_json_ns(from_ns), "to",
                                    time_json_ns(to_ns), "reason", reason));
    c->dirty = true;
}

void
vej__capture_close_segment(struct vej_capture *c, const char *closed_by)
{
    struct vej_segment *s = c->seg;
    if (!s)
        return;
    c->seg = NULL;
    g_autoptr(GError) error = NULL;
    char sha[65];
    uint64_t packets = s->packets;
    int64_t from = s->from_ns, to = s->to_ns;
    g_autofree char *name = g_strdup(s->name);
    g_autofree char *open_path = g_strdup(s->open_path);
    uint64_t size = 0;
    gboolean ok = vej__segment_close(s, c->dir, sha, &size, &error);
    g_autofree char *path = g_build_filename(c->dir, name, NULL);
    if (!ok) {
        /* Keep what did reach the disk, if anything: hash the file itself. */
        const char *where = g_file_test(path, G_FILE_TEST_EXISTS) ? path : open_path;
        if (!vej__file_sha256(where, sha, &size, NULL) || size == 0) {
            g_warning("recording %s: segment %s lost: %s", c->id, name, error->message);
            (void)unlink(where);
            return;
        }
        if (where == open_path && rename(open_path, path) != 0)
            return; /* left as .open: the next start finishes it */
        closed_by = "error";
    }
    vej__capture_segment_done(c, name, size, sha, from, to, packets, closed_by);
}

static void
fail_segment(struct vej_capture *c, const GError *error)
{
    int64_t from = c->seg->to_ns ? c->seg->to_ns : g_get_real_time() * 1000;
    vej__capture_close_segment(c, "error");
    vej__capture_fail(c, from, error);
}

static void
retry(struct vej_capture *c)
{
    if (g_get_monotonic_time() < c->retry_at_us || c->closed)
        return;
    if (!open_segment(c))
        return;
    int64_t now = g_get_real_time() * 1000;
    vej__capture_add_gap(c, c->gap_from_ns, now, c->gap_reason);
    c->failing = false;
    vej__recorder_alert(c->rec, c->hearing_id, "recording_resumed",
                        "Recording resumed; the gap is in the recording's manifest.");
    vej__recorder_state(c->rec, c, "recording", NULL);
}

void
vej__capture_tick(struct vej_capture *c)
{
    if (c->seg) {
        g_autoptr(GError) error = NULL;
        if (!vej__segment_flush(c->seg, &error))
            fail_segment(c, error);
        else if (g_get_monotonic_time() - c->seg->opened_us >=
                 (int64_t)c->rec->config.segment_seconds * G_USEC_PER_SEC)
            vej__capture_close_segment(c, "interval");
    } else if (c->failing) {
        retry(c);
    }
    if (c->dirty) {
        g_autoptr(GError) error = NULL;
        if (vej__capture_write_json(c, &error))
            c->dirty = false;
        else
            g_debug("recording %s: %s", c->id, error->message);
    }
}

gboolean
vej__capture_write_json(struct vej_capture *c, GError **error)
{
    char *text = json_dumps(c->doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "capture.json cannot be encoded");
        return FALSE;
    }
    g_autofree char *path = g_build_filename(c->dir, "capture.json", NULL);
    gboolean ok = vej_file_replace(path, text, strlen(text), 0600, error);
    free(text);
    return ok;
}
