/* recorder-priv.h - internals shared by recording/recorder.c (thread,
 * rings, tap), capture.c (one hearing's recording and capture.json),
 * segment.c (a capture file) and recover.c (start-up after a crash).
 *
 * Everything here but the rings belongs to the recorder's thread.
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "recording/pcap-write.h"
#include "recording/recorder.h"
#include "recording/ring.h"

/* Ring record types. */
enum { REC_TRACK = 1, REC_TRACK_END, REC_RTP, REC_RTCP };

/* A track description as it travels through a ring (fixed size). */
struct vej_rec_track_desc {
    char hearing_id[64];
    char participant_id[64];
    char codec[16];
    char fmtp[256];
    uint32_t kind, clock_rate, channels, ssrc;
    uint8_t payload_type, mid_ext_id, audio_level_ext_id;
};

/* A segment file being written. */
struct vej_segment {
    int fd;
    unsigned number;
    char *name;      /* "capture/seg-000001.pcap" (relative to the recording) */
    char *open_path; /* absolute path of the .pcap.open file */
    GByteArray *buf; /* written at every tick */
    EVP_MD_CTX *sha;
    uint64_t size, packets;
    int64_t from_ns, to_ns;
    int64_t opened_us; /* monotonic */
};

/* One captured track of a recording. */
struct vej_rec_track {
    uint32_t key;
    unsigned number; /* n of the synthetic 5-tuple */
    struct vej_capture *capture;
    struct vej_pcap_endpoint rtp_src, rtp_dst, rtcp_src, rtcp_dst;
    json_t *json; /* its entry in capture.json "tracks" (borrowed from the array) */
    int64_t first_ns, last_ns;
};

/* One hearing's recording. */
struct vej_capture {
    struct vej_recorder *rec;
    char *id; /* rec_... */
    char *hearing_id;
    char *dir;    /* DATA_DIR/recordings/rec_... */
    json_t *doc;  /* capture.json, kept in memory */
    json_t *last; /* the last snapshot (participants by id), for diffs */
    char *state;  /* the hearing's state */
    bool closed;  /* the hearing closed: nothing more is written */
    bool dirty;   /* capture.json must be rewritten */
    unsigned next_segment, next_track;
    struct vej_segment *seg; /* NULL: none open */
    /* Writing failed: a gap is open since gap_from_ns, reason gap_reason;
     * a new segment is tried at retry_at_us (monotonic). */
    bool failing;
    int64_t gap_from_ns;
    const char *gap_reason;
    int64_t retry_at_us;
    uint64_t ring_drops_seen;
};

struct vej_recorder {
    struct vej_recorder_config config;
    char *root; /* DATA_DIR/recordings */
    struct vej_recorder_callbacks cb;
    vej_audit_writer *audit;
    struct vej_tap tap;
    struct vej_ring *rings; /* n_workers */
    uint8_t **ring_mem;
    GThread *thread;
    GMainContext *ctx;
    GMainLoop *loop;
    GHashTable *captures;   /* hearing id -> struct vej_capture * (open recordings) */
    GHashTable *by_hearing; /* hearing id -> recording dir (every recording found) */
    GHashTable *tracks;     /* GUINT key -> struct vej_rec_track * */
    uint64_t dropped_seen;  /* ring drops already reported */
    GMutex stats_lock;
    struct vej_recorder_stats stats;
};

/* capture.c */
char *vej__rec_now_rfc3339(void);
/* An RFC 3339 time string as JSON (transfer full). */
json_t *vej__rec_time_json(int64_t unix_us);
char *vej__rec_time_rfc3339(int64_t unix_us);
struct vej_capture *vej__capture_new(struct vej_recorder *r, json_t *snapshot, GError **error);
struct vej_capture *vej__capture_load(struct vej_recorder *r, const char *dir, GError **error);
void vej__capture_free(struct vej_capture *c);
/* Applies a snapshot: timeline, places, consultations; cuts the segment
 * when the hearing's state changed. */
void vej__capture_apply(struct vej_capture *c, json_t *snapshot);
/* A track of this recording appeared. */
struct vej_rec_track *vej__capture_add_track(struct vej_capture *c, uint32_t key,
                                             const struct vej_rec_track_desc *d);
/* Appends one packet (opening a segment when none is). */
void vej__capture_packet(struct vej_capture *c, struct vej_rec_track *t, bool rtcp, int64_t ns,
                         const uint8_t *data, size_t len);
/* Writes buffers, cuts segments that are due, retries after failures,
 * rewrites capture.json when it changed. Once per tick. */
void vej__capture_tick(struct vej_capture *c);
/* Closes the open segment (closed_by: "interval", "state", "close",
 * "shutdown", "error"). */
void vej__capture_close_segment(struct vej_capture *c, const char *closed_by);
/* Records a gap [from, to) with a reason. */
/* Writing failed: the gap opens at from_ns (once), clerks and the judge are
 * alerted, recording.state says failed; a new segment is tried later. */
void vej__capture_fail(struct vej_capture *c, int64_t from_ns, const GError *error);
/* A segment is closed: listed in capture.json and audited
 * (recording.segment). */
void vej__capture_segment_done(struct vej_capture *c, const char *name, uint64_t size,
                               const char *sha256, int64_t from_ns, int64_t to_ns, uint64_t packets,
                               const char *closed_by);
/* Closes the places and consultation rooms still open at at_ns. */
void vej__capture_close_places(struct vej_capture *c, int64_t at_ns);
void vej__capture_add_gap(struct vej_capture *c, int64_t from_ns, int64_t to_ns,
                          const char *reason);
gboolean vej__capture_write_json(struct vej_capture *c, GError **error);

/* segment.c */
struct vej_segment *vej__segment_open(const char *rec_dir, unsigned number, GError **error);
gboolean vej__segment_append(struct vej_segment *s, int64_t ns, const struct vej_pcap_endpoint *src,
                             const struct vej_pcap_endpoint *dst, const uint8_t *data, size_t len);
/* write() what is buffered; FALSE (errno kept in error) when it failed. */
gboolean vej__segment_flush(struct vej_segment *s, GError **error);
/* Flushes, fdatasyncs, renames to .pcap; hex SHA-256 (of what it wrote,
 * hashed as it went) into sha256 (65), its size into *size. */
gboolean vej__segment_close(struct vej_segment *s, const char *rec_dir, char sha256[65],
                            uint64_t *size, GError **error);
/* Closes the descriptor and frees, without finishing the file. */
void vej__segment_abandon(struct vej_segment *s);
/* SHA-256 of a whole file (hex, 65 bytes). */
gboolean vej__file_sha256(const char *path, char sha256[65], uint64_t *size, GError **error);

/* recover.c */
/* Finishes what a crash left open under r->root and indexes recordings by
 * hearing. */
void vej__recorder_recover(struct vej_recorder *r);

/* recorder.c */
/* Whether the kernel says the clock is synchronised (adjtimex). */
bool vej__clock_synchronised(void);
void vej__recorder_alert(struct vej_recorder *r, const char *hearing_id, const char *code,
                         const char *message);
void vej__recorder_state(struct vej_recorder *r, struct vej_capture *c, const char *state,
                         const char *reason);
void vej__recorder_count(struct vej_recorder *r, uint64_t packets, uint64_t bytes,
                         uint64_t write_errors, uint64_t segments);
