/* archiver-priv.h - the parts of vej-archiver (docs/recording.md, "The
 * archiver") shared by the files of recording/archiver/.
 *
 * capture.c   reads capture.json into a struct vej_arch_capture and checks
 *             the closed segments (size, SHA-256, every record readable).
 * timeline.c  the scan: SRs and arrival times per track, then one placement
 *             per packet on the gateway's wall clock (vej_arch_place).
 * feed.c      an appsrc fed on demand from the segments with one
 *             participant's tracks of one kind, in sequence order.
 * pipelines.c the pipeline descriptions (data) and their runner.
 * main.c      the program: stages, temporary folder, archive.json, progress.
 *
 * Times are int64 nanoseconds: arrivals and placements on the gateway's
 * CLOCK_REALTIME (Unix epoch), pipeline times from the recording's origin.
 */
#pragma once

#include <glib.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <stdbool.h>
#include <stdint.h>

#define VEJ_ARCH_ERROR (vej_arch_error_quark())
GQuark vej_arch_error_quark(void);

enum vej_arch_kind { VEJ_ARCH_AUDIO, VEJ_ARCH_VIDEO };

/* A sender report as captured: its arrival, NTP time (publisher's clock),
 * and RTP time extended to 64 bits on its track's timeline. */
struct vej_arch_sr {
    int64_t arrival;
    int64_t ntp_ns; /* NTP converted to ns (era 0); only differences matter */
    uint32_t rtp;   /* as sent */
    int64_t ext;    /* rtp extended next to the track's packets around it */
    bool ext_known; /* false until the track's first packet is seen */
};

/* 32-bit RTP timestamp unwrapping: state per track. */
struct vej_arch_unwrap {
    int64_t last;
    bool have;
};

struct vej_arch_track {
    unsigned n; /* track number: RTP on port 20000 + 2n, RTCP on + 1 */
    char *participant_id;
    enum vej_arch_kind kind;
    uint32_t ssrc;
    unsigned payload_type;
    char *codec; /* upper case encoding name: OPUS, VP8, H264 */
    unsigned clock_rate;
    /* filled by the scan */
    uint64_t packets;
    int64_t first_arrival, last_arrival;
    int64_t first_ext, last_ext;
    struct vej_arch_unwrap unwrap; /* the scan's */
    GArray *srs;                   /* struct vej_arch_sr, in arrival order */
    int64_t anchor_ns;             /* min(arrival - RTP time since first_ext) over its packets */
    /* filled by vej_arch_timeline_solve */
    int64_t shift_ns; /* lip-sync shift within its connection (<= 0) */
    int64_t first_place, last_place;
    unsigned rank; /* order among its participant's tracks of its kind */
};

struct vej_arch_participant {
    char *id;
    char *role;
    char *label;
    GPtrArray *audio; /* struct vej_arch_track * (borrowed), by first arrival */
    GPtrArray *video;
    int64_t first_place, last_place; /* over all its tracks */
};

struct vej_arch_segment {
    char *name; /* relative to the recording's directory */
    char *path;
    int64_t size; /* -1: not given */
    char *sha256; /* NULL: not given */
};

struct vej_arch_capture {
    char *dir;
    char *recording_id;
    GPtrArray *participants; /* struct vej_arch_participant *, capture.json order */
    GPtrArray *tracks;       /* struct vej_arch_track * */
    GHashTable *by_number;   /* track number -> struct vej_arch_track * */
    GPtrArray *segments;     /* struct vej_arch_segment *, in order */
    int64_t origin;          /* earliest placement: time 0 of the hearing file */
    int64_t end;             /* latest placement */
};

/* capture.c */

/* Reads DIR/capture.json: (transfer full), or NULL with error set (missing
 * file, not vej-capture/1, a track or participant without its fields, an
 * unsafe participant id). */
struct vej_arch_capture *vej_arch_capture_load(const char *dir, GError **error);
/* The same from capture.json's text (len bytes); dir is where its segments
 * are (only read when it lists none). */
struct vej_arch_capture *vej_arch_capture_parse(const char *dir, const char *text, size_t len,
                                                GError **error);
void vej_arch_capture_free(struct vej_arch_capture *cap);

/* Checks every segment: present, size and SHA-256 as capture.json says (when
 * it says), then readable to its end by recording/pcap-read. FALSE with an
 * error naming the segment and the byte offset otherwise. */
gboolean vej_arch_segments_check(struct vej_arch_capture *cap, GError **error);

/* Maps a segment read-only: (transfer full) or NULL with error set. */
GMappedFile *vej_arch_segment_map(const struct vej_arch_segment *seg, GError **error);

/* timeline.c */

/* Extends a 32-bit RTP timestamp (or, with bits 16, a sequence number). */
int64_t vej_arch_unwrap(struct vej_arch_unwrap *u, uint32_t value, unsigned bits);

/* Reads the segments once: per track its packets, arrivals, RTP times, its
 * fastest packet's arrival against its RTP clock, and SRs (matched by SSRC
 * from any RTCP record). Memory per track: its SRs only. FALSE with
 * error set if a segment cannot be read. */
gboolean vej_arch_timeline_scan(struct vej_arch_capture *cap, GError **error);

/* From the scan: each connection's lip-sync shifts (from SR pairs),
 * placements, the origin and the participants' spans. Tracks with no
 * packets are dropped from their participant. */
void vej_arch_timeline_solve(struct vej_arch_capture *cap);

/* The gateway wall-clock time of RTP time ext of track t: its RTP clock
 * from its fastest packet's arrival, plus its lip-sync shift (arrival is
 * not used: a packet's place does not depend on when it came). */
int64_t vej_arch_place(const struct vej_arch_track *t, int64_t arrival, int64_t ext);

/* feed.c */

struct vej_arch_feed;

/* A feed of tracks (borrowed, all one kind of one participant) into src:
 * buffers carry placement - base as PTS; reordered by sequence number within
 * a 64-packet window; EOS after the last. (transfer full). */
struct vej_arch_feed *vej_arch_feed_new(struct vej_arch_capture *cap, GPtrArray *tracks,
                                        int64_t base, GstAppSrc *src);
void vej_arch_feed_free(struct vej_arch_feed *feed);
/* The caps of tracks' RTP: (transfer full). */
GstCaps *vej_arch_feed_caps(const struct vej_arch_track *first);
/* Largest PTS pushed so far, in ns (0 before any). */
int64_t vej_arch_feed_last_pts(const struct vej_arch_feed *feed);

/* pipelines.c */

typedef void (*vej_arch_progress_fn)(double fraction, void *user_data);

/* Writes PATH (webm or mkv by the participant's video codec): a remux of the
 * participant's audio and video, time 0 at its first packet. Sets *duration_s. */
gboolean vej_arch_write_participant(struct vej_arch_capture *cap, struct vej_arch_participant *p,
                                    const char *path, double *duration_s,
                                    vej_arch_progress_fn progress, void *user_data, GError **error);

/* Writes PATH (hearing.webm): every participant's audio mixed, videos tiled
 * with labels and the capture's wall-clock time, 1280x720 at most. */
gboolean vej_arch_write_hearing(struct vej_arch_capture *cap, const char *path, double *duration_s,
                                vej_arch_progress_fn progress, void *user_data, GError **error);

/* The file name extension of participant p's file: "webm" or "mkv". */
const char *vej_arch_participant_ext(const struct vej_arch_participant *p);
