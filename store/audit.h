/* audit.h - the append-only, hash-chained audit log.
 *
 * Entry hash = SHA-256(prev_hash || canonical encoding of the entry); the
 * canonical encoding is documented in docs/architecture.md ("Audit chain")
 * and implemented by vej_audit_encode(). The first entry's prev_hash is 32
 * zero bytes. Appends are `BEGIN IMMEDIATE` transactions, so the daemon and
 * vejctl may both write the same database.
 *
 * The writer owns its own database connection and thread: vej_audit_append()
 * never blocks on disk; entries queued while a commit is in progress are
 * committed together (group commit).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

struct vej_audit_entry {
    int64_t seq;   /* 1, 2, ... */
    int64_t ts_us; /* Unix time in microseconds, UTC */
    char *actor;   /* "usr_...", "ptc_...", "system" or "vejctl" */
    char *action;  /* e.g. "hearing.state", "login.failed" */
    char *target;  /* an id or "" */
    char *detail;  /* compact JSON object text, "{}" when none */
    uint8_t prev_hash[32];
    uint8_t hash[32];
};
void vej_audit_entry_free(struct vej_audit_entry *e);
typedef struct vej_audit_entry vej_audit_entry; /* for g_autoptr(vej_audit_entry) */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vej_audit_entry, vej_audit_entry_free)

/* Canonical encoding of an entry (without its hashes), (transfer full). */
GBytes *vej_audit_encode(const struct vej_audit_entry *e);
/* SHA-256(prev_hash || encoding) into out. */
void vej_audit_compute_hash(const struct vej_audit_entry *e, uint8_t out[32]);

/* Appends one entry synchronously in its own BEGIN IMMEDIATE transaction on
 * the database at `path` (used by vejctl). */
gboolean vej_audit_append_sync(const char *path, const char *actor, const char *action,
                               const char *target, const char *detail_json, GError **error);

/* Head of the chain: seq 0 and zero hash when empty. */
gboolean vej_audit_head(const char *path, int64_t *seq, uint8_t hash[32], GError **error);

/* Entries with from_us <= ts_us < to_us (0 for unbounded), seq > after_seq,
 * at most `limit`, in seq order; array of struct vej_audit_entry *. */
GPtrArray *vej_audit_list(const char *path, int64_t from_us, int64_t to_us, int64_t after_seq,
                          int limit, GError **error);

/* Walks the whole chain. TRUE when intact; otherwise FALSE with
 * *first_bad set to the seq of the first entry whose link or hash is broken
 * (0 when the failure is not about an entry, e.g. I/O). *count receives the
 * number of entries checked. */
gboolean vej_audit_verify(const char *path, int64_t *count, int64_t *first_bad, GError **error);

typedef struct vej_audit_writer vej_audit_writer;

/* Starts the writer thread on the database at `path` (which must already be
 * migrated by vej_store_open). */
vej_audit_writer *vej_audit_writer_new(const char *path, GError **error);
/* Queues an entry; returns at once. Strings are copied. detail_json may be
 * NULL ("{}"). Thread-safe. */
void vej_audit_append(vej_audit_writer *w, const char *actor, const char *action,
                      const char *target, const char *detail_json);
/* Called on the writer thread once an entry's batch is committed (ok) or
 * failed (!ok); it must not call back into the writer. */
typedef void (*vej_audit_done_fn)(bool ok, void *data);
/* As vej_audit_append, then done(ok, data) once the entry's batch is
 * finished (always called exactly once, before a covering flush returns). */
void vej_audit_append_then(vej_audit_writer *w, const char *actor, const char *action,
                           const char *target, const char *detail_json, vej_audit_done_fn done,
                           void *data);
/* Blocks until everything queued before the call is committed. Returns FALSE
 * if a commit failed since the last flush. Thread-safe. */
gboolean vej_audit_writer_flush(vej_audit_writer *w);
/* Entries committed so far and commit failures (for /metrics). */
void vej_audit_writer_stats(vej_audit_writer *w, uint64_t *committed, uint64_t *failed);
/* Flushes, stops the thread and frees. */
void vej_audit_writer_free(vej_audit_writer *w);

G_END_DECLS
