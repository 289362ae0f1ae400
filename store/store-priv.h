/* store-priv.h - internals shared by the files of store/.
 *
 * Nothing outside store/ includes this header. The SQLite helpers here are
 * used by the SQLite backend (sqlite.c), the audit chain (audit.c) and its
 * writer thread (audit-writer.c); each opens its own connection.
 */
#pragma once

#include <sqlite3.h>

#include "store/audit.h"
#include "store/store.h"

G_BEGIN_DECLS

/* Finalises every statement of the connection (vej__sqlite_prepare_cached
 * keeps them) and closes it; returns sqlite3_close's result. */
int vej__sqlite_close(sqlite3 *db);

/* Cleanup helpers. Their return codes repeat the error of the last
 * sqlite3_step(), which the code has already checked and reported. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3, vej__sqlite_close)

/* One numbered migration, from store/migrations/NNNN_name.sql (generated
 * into migrations.c by store/migrations/embed.py). Versions are 1, 2, ...
 * in array order. */
struct vej__migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct vej__migration vej__store_migrations[];
extern const int vej__store_migrations_count;

enum vej__sync {
    VEJ__SYNC_NORMAL, /* the control-plane store: WAL + NORMAL is durable enough */
    VEJ__SYNC_FULL,   /* audit appends: every commit reaches the disk */
};

/* Opens a connection with the project's pragmas: WAL, the given
 * synchronous level, foreign_keys=ON, busy_timeout 5000 ms, extended result
 * codes. `create` allows creating a missing file. (transfer full) */
sqlite3 *vej__sqlite_open(const char *path, bool create, enum vej__sync sync, GError **error);

/* Applies pending migrations, each in its own BEGIN IMMEDIATE transaction,
 * and returns the resulting schema version in *version. */
gboolean vej__sqlite_migrate(sqlite3 *db, int *version, GError **error);

/* Reads PRAGMA user_version. */
gboolean vej__sqlite_user_version(sqlite3 *db, int *version, GError **error);

/* Sets *error from a SQLite result code: constraint violations on unique
 * keys are CONFLICT, on foreign keys NOT_FOUND; corruption is CORRUPT;
 * anything else FAILED. `what` says what was being done. */
void vej__sqlite_set_error(sqlite3 *db, int rc, const char *what, GError **error);

/* Runs SQL without results (may hold several statements). */
gboolean vej__sqlite_exec(sqlite3 *db, const char *sql, GError **error);

/* BEGIN IMMEDIATE, retrying a few times when the busy timeout expires. */
gboolean vej__sqlite_begin_immediate(sqlite3 *db, GError **error);

/* Rolls back the open transaction, if any (used on error paths). */
void vej__sqlite_rollback(sqlite3 *db);

/* Prepares one statement. (transfer full) */
sqlite3_stmt *vej__sqlite_prepare(sqlite3 *db, const char *sql, GError **error);

/* The connection's statement for `sql`: one prepared earlier with the same
 * text that is not running, or a new one, kept with the connection until
 * vej__sqlite_close (transfer none: hold it in a g_autoptr(vej__cached_stmt)).
 * For statements run often (per request, per audit batch), where parsing the
 * SQL would cost more than running it. `sql` must come from a fixed set of
 * texts (literals, or formatted from literals only), which bounds what the
 * connection keeps. */
sqlite3_stmt *vej__sqlite_prepare_cached(sqlite3 *db, const char *sql, GError **error);

/* A statement owned by a cache: g_autoptr(vej__cached_stmt) resets it and
 * clears its bindings when it goes out of scope, instead of finalising it. */
typedef sqlite3_stmt vej__cached_stmt;
void vej__cached_stmt_release(sqlite3_stmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vej__cached_stmt, vej__cached_stmt_release)

/* Binds parameters 1..n from `types`, one letter per parameter:
 *   't' const char * (NULL binds NULL)   'i' int64_t
 *   'b' const uint8_t * of 32 bytes
 * Every bind's result is checked. */
gboolean vej__sqlite_bind(sqlite3 *db, sqlite3_stmt *stmt, GError **error, const char *types, ...);

/* g_strdup of a text column; NULL for SQL NULL. */
char *vej__sqlite_column_dup(sqlite3_stmt *stmt, int col);

/* Ids: a 4-character type prefix ("usr_") and 26 lower-case base32
 * characters carrying 128 random bits. */
#define VEJ__ID_SIZE 31
gboolean vej__store_new_id(const char *prefix, char out[VEJ__ID_SIZE], GError **error);

/* sqlite.c for sqlite-trust.c: the connection of a backend state, a user
 * record from a row of USER_COLS, and paged courtroom / hearing rows from a
 * statement bound with LIMIT limit + 1 (as fetch_rows). */
sqlite3 *vej__sqlite_store_db(void *impl);
struct vej_user *vej__sqlite_user_from_row(sqlite3_stmt *stmt);
GPtrArray *vej__sqlite_courtroom_rows(void *impl, sqlite3_stmt *stmt, int limit, char **next_cursor,
                                      GError **error);
GPtrArray *vej__sqlite_hearing_rows(void *impl, sqlite3_stmt *stmt, int limit, char **next_cursor,
                                    GError **error);

/* sqlite-trust.c: the backend entries of migration 0002_trust (store.h). */
GPtrArray *vej__sqlite_user_list(void *impl, const char *after, int limit, char **next_cursor,
                                 GError **error);
gboolean vej__sqlite_user_update(void *impl, const char *id, int disabled, const char *role,
                                 GError **error);
GPtrArray *vej__sqlite_user_courtrooms(void *impl, const char *user_id, GError **error);
gboolean vej__sqlite_user_set_courtrooms(void *impl, const char *user_id, const char *const *ids,
                                         guint n, GError **error);
gboolean vej__sqlite_user_assign_courtroom(void *impl, const char *user_id,
                                           const char *courtroom_id, GError **error);
gboolean vej__sqlite_user_may_act(void *impl, const char *user_id, const char *courtroom_id,
                                  GError **error);
GPtrArray *vej__sqlite_courtroom_list_scoped(void *impl, const char *scope, const char *after,
                                             int limit, char **next_cursor, GError **error);
GPtrArray *vej__sqlite_hearing_list_scoped(void *impl, const char *scope, const char *courtroom_id,
                                           int64_t from, int64_t to, const char *after, int limit,
                                           char **next_cursor, GError **error);
gboolean vej__sqlite_user_totp_get(void *impl, const char *user_id, struct vej_totp_state *out,
                                   GError **error);
gboolean vej__sqlite_user_totp_set(void *impl, const char *user_id, const char *secret,
                                   bool enabled, GError **error);
gboolean vej__sqlite_user_totp_use_step(void *impl, const char *user_id, int64_t step,
                                        GError **error);
gboolean vej__sqlite_recovery_codes_set(void *impl, const char *user_id,
                                        const uint8_t (*hashes)[32], guint n, GError **error);
gboolean vej__sqlite_recovery_code_use(void *impl, const char *user_id, const uint8_t hash[32],
                                       GError **error);

/* Audit internals shared by audit.c and audit-writer.c. */

/* A new entry stamped with the current time; strings are copied, invalid
 * UTF-8 is repaired, NULL target becomes "" and NULL detail "{}". */
struct vej_audit_entry *vej__audit_entry_new(const char *actor, const char *action,
                                             const char *target, const char *detail_json);

/* Appends entries[0..n) to the chain in one BEGIN IMMEDIATE transaction:
 * reads the head inside it, fills in seq, prev_hash and hash, inserts and
 * commits. On failure nothing is written. */
gboolean vej__audit_commit(sqlite3 *db, struct vej_audit_entry *const *entries, guint n,
                           GError **error);

/* sqlite-recordings.c: the recordings entries of the SQLite backend. */
struct vej_recording_row *vej__sqlite_recording_create(void *impl, const char *id,
                                                       const char *hearing_id,
                                                       const char *courtroom_id,
                                                       const char *case_reference,
                                                       int64_t started_at, GError **error);
struct vej_recording_row *vej__sqlite_recording_get(void *impl, const char *id, GError **error);
struct vej_recording_row *vej__sqlite_recording_get_by_hearing(void *impl, const char *hearing_id,
                                                               GError **error);
GPtrArray *vej__sqlite_recording_list(void *impl, const struct vej_recording_filter *filter,
                                      const char *after, int limit, char **next_cursor,
                                      GError **error);
gboolean vej__sqlite_recording_update(void *impl, const char *id,
                                      const struct vej_recording_update *u, GError **error);
GPtrArray *vej__sqlite_recording_list_expired(void *impl, int64_t now, int limit, GError **error);

G_END_DECLS
