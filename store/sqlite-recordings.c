/* sqlite-recordings.c - the recordings table of the SQLite backend.
 *
 * Kept apart from sqlite.c (which caches its statements) because these run
 * a few times per hearing, not per request: each prepares its statement.
 * Ids are "rec_" and 16 lowercase hex digits (docs/recording.md), which is
 * also the recording's folder name.
 */
#include "store/store-priv.h"

#include <openssl/rand.h>
#include <string.h>

#define REC_COLS                                                                                   \
    "id, hearing_id, courtroom_id, case_reference, state, dir, started_at, closed_at, "            \
    "manifest_revision, sealed_at, media_deleted_at, legal_hold, legal_hold_reason, "              \
    "legal_hold_by, legal_hold_at, verified_at, verify_ok, created_at"

static struct vej_recording_row *
row_from_stmt(sqlite3_stmt *stmt)
{
    struct vej_recording_row *r = g_new0(struct vej_recording_row, 1);
    r->id = vej__sqlite_column_dup(stmt, 0);
    r->hearing_id = vej__sqlite_column_dup(stmt, 1);
    r->courtroom_id = vej__sqlite_column_dup(stmt, 2);
    r->case_reference = vej__sqlite_column_dup(stmt, 3);
    r->state = vej__sqlite_column_dup(stmt, 4);
    r->dir = vej__sqlite_column_dup(stmt, 5);
    r->started_at = sqlite3_column_int64(stmt, 6);
    r->closed_at = sqlite3_column_int64(stmt, 7);
    r->manifest_revision = sqlite3_column_int(stmt, 8);
    r->sealed_at = sqlite3_column_int64(stmt, 9);
    r->media_deleted_at = sqlite3_column_int64(stmt, 10);
    r->legal_hold = sqlite3_column_int(stmt, 11) != 0;
    r->legal_hold_reason = vej__sqlite_column_dup(stmt, 12);
    r->legal_hold_by = vej__sqlite_column_dup(stmt, 13);
    r->legal_hold_at = sqlite3_column_int64(stmt, 14);
    r->verified_at = sqlite3_column_int64(stmt, 15);
    r->verify_ok = sqlite3_column_int(stmt, 16);
    r->created_at = sqlite3_column_int64(stmt, 17);
    return r;
}

/* Every row of a bound statement; with limit > 0 (bound as limit + 1) the
 * cursor of the next page. */
static GPtrArray *
collect(sqlite3 *db, sqlite3_stmt *stmt, int limit, char **next_cursor, GError **error)
{
    g_autoptr(GPtrArray) rows =
        g_ptr_array_new_with_free_func((GDestroyNotify)vej_recording_row_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(rows, row_from_stmt(stmt));
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "listing recordings", error);
        return NULL;
    }
    if (limit > 0 && rows->len > (guint)limit) {
        g_ptr_array_set_size(rows, (guint)limit);
        if (next_cursor)
            *next_cursor = g_strdup(((struct vej_recording_row *)rows->pdata[limit - 1])->id);
    }
    return g_steal_pointer(&rows);
}

static struct vej_recording_row *
one(sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
    g_autoptr(GPtrArray) rows = collect(db, stmt, 0, NULL, error);
    if (rows == NULL)
        return NULL;
    if (rows->len == 0) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "recording not found");
        return NULL;
    }
    return g_ptr_array_steal_index(rows, 0);
}

struct vej_recording_row *
vej__sqlite_recording_create(void *impl, const char *given_id, const char *hearing_id,
                             const char *courtroom_id, const char *case_reference,
                             int64_t started_at, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    char id[4 + 16 + 1] = "rec_";
    if (given_id != NULL) {
        bool ok = strlen(given_id) == 20 && strncmp(given_id, "rec_", 4) == 0;
        for (int i = 4; ok && i < 20; i++)
            ok = g_ascii_isdigit(given_id[i]) || (given_id[i] >= 'a' && given_id[i] <= 'f');
        if (!ok) {
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                        "a recording id is rec_ and 16 lowercase hex digits");
            return NULL;
        }
        memcpy(id, given_id, sizeof id);
    } else {
        uint8_t rnd[8];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED, "no randomness for an id");
            return NULL;
        }
        for (int i = 0; i < 8; i++)
            snprintf(id + 4 + 2 * i, 3, "%02x", rnd[i]);
    }
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(
        db,
        "INSERT INTO recordings (id, hearing_id, courtroom_id, case_reference, dir, started_at, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?1, ?5, ?6) RETURNING " REC_COLS,
        error);
    if (stmt == NULL ||
        !vej__sqlite_bind(db, stmt, error, "ttttii", id, hearing_id, courtroom_id, case_reference,
                          started_at, g_get_real_time() / G_USEC_PER_SEC))
        return NULL;
    return one(db, stmt, error);
}

static struct vej_recording_row *
get_by(void *impl, const char *column_sql, const char *value, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autofree char *sql =
        g_strdup_printf("SELECT " REC_COLS " FROM recordings WHERE %s = ?1", column_sql);
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(db, sql, error);
    if (stmt == NULL || !vej__sqlite_bind(db, stmt, error, "t", value))
        return NULL;
    return one(db, stmt, error);
}

struct vej_recording_row *
vej__sqlite_recording_get(void *impl, const char *id, GError **error)
{
    return get_by(impl, "id", id, error);
}

struct vej_recording_row *
vej__sqlite_recording_get_by_hearing(void *impl, const char *hearing_id, GError **error)
{
    return get_by(impl, "hearing_id", hearing_id, error);
}

GPtrArray *
vej__sqlite_recording_list(void *impl, const struct vej_recording_filter *f, const char *after,
                           int limit, char **next_cursor, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(
        db,
        "SELECT " REC_COLS " FROM recordings WHERE (?1 IS NULL OR case_reference = ?1) "
        "AND (?2 IS NULL OR courtroom_id = ?2) AND (?3 = 0 OR started_at >= ?3) "
        "AND (?4 = 0 OR started_at < ?4) AND id > coalesce(?5, '') "
        "AND (?7 IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = ?7 AND u.disabled = 0 "
        "AND (u.role = 'admin' OR EXISTS (SELECT 1 FROM user_courtrooms c WHERE c.user_id = u.id "
        "AND c.courtroom_id = recordings.courtroom_id)))) ORDER BY id LIMIT ?6",
        error);
    if (stmt == NULL ||
        !vej__sqlite_bind(db, stmt, error, "ttiitit", f->case_reference, f->courtroom_id, f->from,
                          f->to, after, (int64_t)limit + 1, f->scope_user_id))
        return NULL;
    return collect(db, stmt, limit, next_cursor, error);
}

gboolean
vej__sqlite_recording_update(void *impl, const char *id, const struct vej_recording_update *u,
                             GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(
        db,
        "UPDATE recordings SET state = coalesce(?2, state), "
        "closed_at = CASE WHEN ?3 > 0 THEN ?3 ELSE closed_at END, "
        "manifest_revision = CASE WHEN ?4 > 0 THEN ?4 ELSE manifest_revision END, "
        "sealed_at = CASE WHEN ?4 > 0 THEN ?9 ELSE sealed_at END, "
        "media_deleted_at = CASE WHEN ?5 > 0 THEN ?5 ELSE media_deleted_at END, "
        "legal_hold = CASE WHEN ?6 >= 0 THEN ?6 ELSE legal_hold END, "
        "legal_hold_reason = CASE WHEN ?6 >= 0 THEN coalesce(?7, '') ELSE legal_hold_reason END, "
        "legal_hold_by = CASE WHEN ?6 >= 0 THEN coalesce(?8, '') ELSE legal_hold_by END, "
        "legal_hold_at = CASE WHEN ?6 >= 0 THEN ?9 ELSE legal_hold_at END, "
        "verify_ok = CASE WHEN ?10 >= 0 THEN ?10 ELSE verify_ok END, "
        "verified_at = CASE WHEN ?10 >= 0 THEN ?9 ELSE verified_at END WHERE id = ?1",
        error);
    if (stmt == NULL || !vej__sqlite_bind(db, stmt, error, "ttiiiittii", id, u->state, u->closed_at,
                                          (int64_t)u->manifest_revision, u->media_deleted_at,
                                          (int64_t)u->legal_hold, u->legal_hold_reason,
                                          u->legal_hold_by, now, (int64_t)u->verify_ok))
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "updating a recording", error);
        return FALSE;
    }
    if (sqlite3_changes(db) == 0) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "recording not found");
        return FALSE;
    }
    return TRUE;
}

GPtrArray *
vej__sqlite_recording_list_expired(void *impl, int64_t now, int limit, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(
        db,
        "SELECT r.id, r.hearing_id, r.courtroom_id, r.case_reference, r.state, r.dir, "
        "r.started_at, r.closed_at, r.manifest_revision, r.sealed_at, r.media_deleted_at, "
        "r.legal_hold, r.legal_hold_reason, r.legal_hold_by, r.legal_hold_at, r.verified_at, "
        "r.verify_ok, r.created_at FROM recordings r JOIN courtrooms c ON c.id = r.courtroom_id "
        "WHERE r.closed_at > 0 AND r.media_deleted_at = 0 AND r.legal_hold = 0 "
        "AND r.closed_at + c.retention_days * 86400 <= ?1 ORDER BY r.closed_at LIMIT ?2",
        error);
    if (stmt == NULL || !vej__sqlite_bind(db, stmt, error, "ii", now, (int64_t)limit))
        return NULL;
    return collect(db, stmt, 0, NULL, error);
}
