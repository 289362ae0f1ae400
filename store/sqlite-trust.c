/* sqlite-trust.c - the SQLite backend's accounts, courtroom scope and second
 * factor (migration 0002_trust).
 *
 * Kept apart from sqlite.c's own statements: these are prepared on first use
 * and kept with the connection (vej__sqlite_prepare_cached): user_may_act runs once
 * per authorised request, so parsing its SQL each time would cost more than
 * the query. A statement is held in a g_autoptr(vej__cached_stmt), which
 * resets it on every return path.
 *
 * Invariants: deny by default (user_may_act is TRUE only for an enabled
 * account that is an admin or has a user_courtrooms row for the courtroom);
 * replacing assignments or recovery codes happens in one transaction; a
 * TOTP step is accepted at most once (a conditional UPDATE, atomic in
 * SQLite).
 */
#include "store/store-priv.h"

#include <string.h>

static sqlite3_stmt *
prepare(void *impl, const char *sql, GError **error)
{
    return vej__sqlite_prepare_cached(vej__sqlite_store_db(impl), sql, error);
}

/* Steps a write; returns the number of rows changed or -1. */
static int
step_write(sqlite3 *db, sqlite3_stmt *stmt, const char *what, GError **error)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, what, error);
        return -1;
    }
    return sqlite3_changes(db);
}

#define USER_COLS "id, username, role, password_hash, must_change_password, disabled, created_at"

GPtrArray *
vej__sqlite_user_list(void *impl, const char *after, int limit, char **next_cursor, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl, "SELECT " USER_COLS " FROM users WHERE id > coalesce(?1, '') ORDER BY id LIMIT ?2",
        error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "ti", after, (int64_t)limit + 1))
        return NULL;
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)vej_user_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(rows, vej__sqlite_user_from_row(stmt));
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "listing users", error);
        return NULL;
    }
    if (rows->len > (guint)limit) {
        g_ptr_array_set_size(rows, (guint)limit);
        if (next_cursor)
            *next_cursor = g_strdup(((struct vej_user *)rows->pdata[limit - 1])->id);
    }
    return g_steal_pointer(&rows);
}

gboolean
vej__sqlite_user_update(void *impl, const char *id, int disabled, const char *role, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt =
        prepare(impl,
                "UPDATE users SET disabled = CASE WHEN ?2 < 0 THEN disabled ELSE ?2 END, "
                "role = coalesce(?3, role) WHERE id = ?1",
                error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "tit", id, (int64_t)disabled, role))
        return FALSE;
    int n = step_write(db, stmt, "updating a user", error);
    if (n == 0)
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "user not found");
    return n > 0;
}

GPtrArray *
vej__sqlite_user_courtrooms(void *impl, const char *user_id, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl, "SELECT courtroom_id FROM user_courtrooms WHERE user_id = ?1 ORDER BY courtroom_id",
        error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "t", user_id))
        return NULL;
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(ids, vej__sqlite_column_dup(stmt, 0));
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "listing a user's courtrooms", error);
        return NULL;
    }
    return g_steal_pointer(&ids);
}

static gboolean
insert_assignment(void *impl, const char *user_id, const char *courtroom_id, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt =
        prepare(impl,
                "INSERT INTO user_courtrooms (user_id, courtroom_id) "
                "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "tt", user_id, courtroom_id))
        return FALSE;
    return step_write(db, stmt, "assigning a courtroom", error) >= 0;
}

gboolean
vej__sqlite_user_set_courtrooms(void *impl, const char *user_id, const char *const *ids, guint n,
                                GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    if (!vej__sqlite_begin_immediate(db, error))
        return FALSE;
    g_autoptr(vej__cached_stmt) del =
        prepare(impl, "DELETE FROM user_courtrooms WHERE user_id = ?1", error);
    if (!del || !vej__sqlite_bind(db, del, error, "t", user_id) ||
        step_write(db, del, "clearing a user's courtrooms", error) < 0)
        goto fail;
    for (guint i = 0; i < n; i++)
        if (!insert_assignment(impl, user_id, ids[i], error))
            goto fail;
    if (!vej__sqlite_exec(db, "COMMIT", error))
        goto fail;
    return TRUE;
fail:
    vej__sqlite_rollback(db);
    return FALSE;
}

gboolean
vej__sqlite_user_assign_courtroom(void *impl, const char *user_id, const char *courtroom_id,
                                  GError **error)
{
    return insert_assignment(impl, user_id, courtroom_id, error);
}

gboolean
vej__sqlite_user_may_act(void *impl, const char *user_id, const char *courtroom_id, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl,
        "SELECT 1 FROM users u WHERE u.id = ?1 AND u.disabled = 0 AND (u.role = 'admin' OR "
        "EXISTS (SELECT 1 FROM user_courtrooms c WHERE c.user_id = u.id AND c.courtroom_id = ?2))",
        error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "tt", user_id, courtroom_id))
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return TRUE;
    if (rc != SQLITE_DONE)
        vej__sqlite_set_error(db, rc, "checking a courtroom assignment", error);
    return FALSE;
}

#define SCOPE "(?1 IS NULL OR %s IN (SELECT courtroom_id FROM user_courtrooms WHERE user_id = ?1))"

GPtrArray *
vej__sqlite_courtroom_list_scoped(void *impl, const char *scope, const char *after, int limit,
                                  char **next_cursor, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autofree char *where = g_strdup_printf(SCOPE, "id");
    g_autofree char *sql = g_strdup_printf(
        "SELECT id, name, retention_days, time_zone, created_at FROM courtrooms WHERE %s "
        "AND id > coalesce(?2, '') ORDER BY id LIMIT ?3",
        where);
    g_autoptr(vej__cached_stmt) stmt = prepare(impl, sql, error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "tti", scope, after, (int64_t)limit + 1))
        return NULL;
    return vej__sqlite_courtroom_rows(impl, stmt, limit, next_cursor, error);
}

GPtrArray *
vej__sqlite_hearing_list_scoped(void *impl, const char *scope, const char *courtroom_id,
                                int64_t from, int64_t to, const char *after, int limit,
                                char **next_cursor, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autofree char *where = g_strdup_printf(SCOPE, "courtroom_id");
    g_autofree char *sql = g_strdup_printf(
        "SELECT id, courtroom_id, case_reference, title, starts_at, ends_at, state, created_at "
        "FROM hearings WHERE %s AND (?2 IS NULL OR courtroom_id = ?2) "
        "AND (?3 = 0 OR starts_at >= ?3) AND (?4 = 0 OR starts_at < ?4) "
        "AND id > coalesce(?5, '') ORDER BY id LIMIT ?6",
        where);
    g_autoptr(vej__cached_stmt) stmt = prepare(impl, sql, error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "ttiiti", scope, courtroom_id, from, to, after,
                                   (int64_t)limit + 1))
        return NULL;
    return vej__sqlite_hearing_rows(impl, stmt, limit, next_cursor, error);
}

/* ---- second factor ---- */

gboolean
vej__sqlite_user_totp_get(void *impl, const char *user_id, struct vej_totp_state *out,
                          GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl, "SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = ?1", error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "t", user_id))
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "user not found");
        return FALSE;
    }
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(db, rc, "reading a second factor", error);
        return FALSE;
    }
    out->secret = vej__sqlite_column_dup(stmt, 0);
    out->enabled = sqlite3_column_int(stmt, 1) != 0;
    out->last_step = sqlite3_column_int64(stmt, 2);
    return TRUE;
}

gboolean
vej__sqlite_user_totp_set(void *impl, const char *user_id, const char *secret, bool enabled,
                          GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    if (!vej__sqlite_begin_immediate(db, error))
        return FALSE;
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl,
        "UPDATE users SET totp_secret = ?2, totp_enabled = ?3, totp_last_step = 0 WHERE id = ?1",
        error);
    if (!stmt ||
        !vej__sqlite_bind(db, stmt, error, "tti", user_id, secret, (int64_t)(secret && enabled)))
        goto fail;
    int n = step_write(db, stmt, "setting a second factor", error);
    if (n <= 0) {
        if (n == 0)
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "user not found");
        goto fail;
    }
    if (!secret) {
        g_autoptr(vej__cached_stmt) del =
            prepare(impl, "DELETE FROM recovery_codes WHERE user_id = ?1", error);
        if (!del || !vej__sqlite_bind(db, del, error, "t", user_id) ||
            step_write(db, del, "dropping recovery codes", error) < 0)
            goto fail;
    }
    if (!vej__sqlite_exec(db, "COMMIT", error))
        goto fail;
    return TRUE;
fail:
    vej__sqlite_rollback(db);
    return FALSE;
}

gboolean
vej__sqlite_user_totp_use_step(void *impl, const char *user_id, int64_t step, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt = prepare(
        impl, "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2", error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "ti", user_id, step))
        return FALSE;
    return step_write(db, stmt, "using a second-factor code", error) > 0;
}

gboolean
vej__sqlite_recovery_codes_set(void *impl, const char *user_id, const uint8_t (*hashes)[32],
                               guint n, GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    if (!vej__sqlite_begin_immediate(db, error))
        return FALSE;
    g_autoptr(vej__cached_stmt) del =
        prepare(impl, "DELETE FROM recovery_codes WHERE user_id = ?1", error);
    if (!del || !vej__sqlite_bind(db, del, error, "t", user_id) ||
        step_write(db, del, "dropping recovery codes", error) < 0)
        goto fail;
    for (guint i = 0; i < n; i++) {
        g_autoptr(vej__cached_stmt) ins =
            prepare(impl, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)", error);
        if (!ins || !vej__sqlite_bind(db, ins, error, "tb", user_id, hashes[i]) ||
            step_write(db, ins, "storing a recovery code", error) < 0)
            goto fail;
    }
    if (!vej__sqlite_exec(db, "COMMIT", error))
        goto fail;
    return TRUE;
fail:
    vej__sqlite_rollback(db);
    return FALSE;
}

gboolean
vej__sqlite_recovery_code_use(void *impl, const char *user_id, const uint8_t hash[32],
                              GError **error)
{
    sqlite3 *db = vej__sqlite_store_db(impl);
    g_autoptr(vej__cached_stmt) stmt =
        prepare(impl,
                "UPDATE recovery_codes SET used = 1 WHERE user_id = ?1 "
                "AND code_hash = ?2 AND used = 0",
                error);
    if (!stmt || !vej__sqlite_bind(db, stmt, error, "tb", user_id, hash))
        return FALSE;
    return step_write(db, stmt, "using a recovery code", error) > 0;
}
