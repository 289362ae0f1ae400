/* recorder.h - the recorder: captures the main room of every hearing in
 * session, crash-safe, into the files docs/recording.md describes.
 *
 * Three sides:
 * - the relay's media workers feed it through its tap (vej_recorder_tap,
 *   gateway/tap.h): copies into one lock-free ring per worker, never
 *   blocking; a full ring drops for the recorder only and is counted;
 * - the signalling thread tells it what the hearing is (vej_recorder_update
 *   with a snapshot after every change), from which it keeps the timeline,
 *   the participants' places and the consultation periods, and cuts
 *   segments at every change of the hearing's state;
 * - its own thread drains the rings every drain_ms (50), writes the
 *   segments, closes them (fdatasync, SHA-256 into the audit chain) and
 *   keeps capture.json; it reports through callbacks.
 *
 * Which media are captured is not decided here: the hearing logic's policy
 * (signalling/policy.c, vej_policy_recorded) tells the relay, which taps
 * only captured tracks. Consultations are never captured.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/tap.h"
#include "store/audit.h"

G_BEGIN_DECLS

/* The default of vej_recorder_config.drain_ms. */
#define VEJ_RECORDER_TICK_MS 50

struct vej_recorder_config {
    const char *data_dir;     /* recordings under DATA_DIR/recordings */
    unsigned segment_seconds; /* cut at least this often */
    size_t ring_bytes;        /* per worker, rounded up to a power of two */
    unsigned drain_ms;        /* rings drained and files written this often; 0: 50 */
    unsigned n_workers;       /* the relay's media workers */
};

/* Reports, called on the recorder's thread (post them to your own).
 * Strings are (transfer none). */
struct vej_recorder_callbacks {
    /* recording.state for the hearing: "recording", "stopped", "failed",
     * with a reason for "failed" (else NULL). */
    void (*state)(void *user, const char *hearing_id, const char *recording_id, const char *state,
                  const char *reason);
    /* Something the clerks and the judge must know: code "recording_failed",
     * "recording_ring_full" or "recording_resumed", and a message. */
    void (*alert)(void *user, const char *hearing_id, const char *code, const char *message);
    /* A recording is finished (its hearing closed, or found finished at
     * start-up): the archiver may run on `dir`. */
    void (*finished)(void *user, const char *hearing_id, const char *recording_id, const char *dir);
    void *user;
};

struct vej_recorder;

/* Starts the recorder's thread after finishing any capture a crash left
 * open (docs/recording.md). audit: (transfer none), must outlive it. */
struct vej_recorder *vej_recorder_new(const struct vej_recorder_config *config,
                                      const struct vej_recorder_callbacks *callbacks,
                                      vej_audit_writer *audit, GError **error);
/* The tap to give the relay (valid while the recorder lives). */
const struct vej_tap *vej_recorder_tap(struct vej_recorder *r);
/* Closes every open segment (closed_by "shutdown"), writes capture.json,
 * stops the thread and frees. Stop the relay's workers first. */
void vej_recorder_free(struct vej_recorder *r);

/* A hearing's state after a change (transfer full), from the signalling
 * thread:
 * {"hearing": {"id", "case_reference", "title", "courtroom_id"},
 *  "state": "in_session", "at_us": <Unix time in µs>,
 *  "participants": [{"participant_id", "role", "label", "place",
 *                    "admitted", "muted": {"audio", "video"},
 *                    "special_measures": {...}}]}
 * Names in it are what the court may show (label), never more. */
void vej_recorder_update(struct vej_recorder *r, json_t *snapshot);

/* Blocks until everything handed to the recorder so far (rings and
 * updates) is written; for tests and shutdown. */
void vej_recorder_sync(struct vej_recorder *r);

/* Counters for /metrics. */
struct vej_recorder_stats {
    uint64_t packets;      /* written to segments */
    uint64_t bytes;        /* written to segments */
    uint64_t ring_dropped; /* lost because a ring was full */
    uint64_t write_errors; /* failed writes (disk full, read-only, I/O) */
    uint64_t segments;     /* closed */
    uint64_t recordings;   /* open now */
};
void vej_recorder_stats(struct vej_recorder *r, struct vej_recorder_stats *out);

G_END_DECLS
