/* sqlite.c - the SQLite backend of the store.
 *
 * One connection per `struct vej_store`, opened by vej__sqlite_open() (WAL,
 * synchronous=NORMAL, foreign keys, busy timeout) and migrated on open.
 * Every statement is prepared once at open and reset after each use, which
 * g_autoptr(vej__cached_stmt) does on every return path. Single-statement
 * writes need no explicit transaction: SQLite makes each one atomic.
 */
#include "store/store-priv.h"

#include <string.h>

enum stmt_id {
    ST_USER_INSERT,
    ST_USER_GET,
    ST_USER_GET_BY_NAME,
    ST_USER_SET_PASSWORD,
    ST_USER_COUNT,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_REVOKE,
    ST_SESSION_REVOKE_USER,
    ST_COURTROOM_INSERT,
    ST_COURTROOM_GET,
    ST_COURTROOM_LIST,
    ST_HEARING_INSERT,
    ST_HEARING_GET,
    ST_HEARING_LIST,
    ST_HEARING_SET_STATE,
    ST_PARTICIPANT_INSERT,
    ST_PARTICIPANT_GET,
    ST_PARTICIPANT_LIST,
    ST_PARTICIPANT_GET_BY_USER,
    ST_PARTICIPANT_UPDATE,
    ST_PARTICIPANT_BUMP,
    ST_PARTICIPANT_REMOVE,
    ST_HEARING_MUTES,
    ST_COUNT
};

#define USER_COLS "id, username, role, password_hash, must_change_password, disabled, created_at"
#define COURTROOM_COLS "id, name, retention_days, time_zone, created_at"
#define HEARING_COLS                                                                               \
    "id, courtroom_id, case_reference, title, starts_at, ends_at, state, created_at"
#define PARTICIPANT_COLS                                                                           \
    "id, hearing_id, display_name, role, special_measures, user_id, token_version, removed, "      \
    "created_at"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_INSERT] = "INSERT INTO users (id, username, role, password_hash, "
                       "must_change_password, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                       "RETURNING " USER_COLS,
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_GET_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE username = ?1",
    [ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, must_change_password = ?3 "
                             "WHERE id = ?1",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_SESSION_INSERT] = "INSERT INTO staff_sessions (token_hash, user_id, expires_at, "
                          "created_at) VALUES (?1, ?2, ?3, ?4)",
    [ST_SESSION_GET] = "SELECT user_id, expires_at, revoked FROM staff_sessions "
                       "WHERE token_hash = ?1",
    [ST_SESSION_REVOKE] = "UPDATE staff_sessions SET revoked = 1 WHERE token_hash = ?1",
    [ST_SESSION_REVOKE_USER] = "UPDATE staff_sessions SET revoked = 1 WHERE user_id = ?1",
    [ST_COURTROOM_INSERT] = "INSERT INTO courtrooms (id, name, retention_days, time_zone, "
                            "created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING " COURTROOM_COLS,
    [ST_COURTROOM_GET] = "SELECT " COURTROOM_COLS " FROM courtrooms WHERE id = ?1",
    [ST_COURTROOM_LIST] = "SELECT " COURTROOM_COLS " FROM courtrooms "
                          "WHERE id > coalesce(?1, '') ORDER BY id LIMIT ?2",
    [ST_HEARING_INSERT] = "INSERT INTO hearings (id, courtroom_id, case_reference, title, "
                          "starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                          "RETURNING " HEARING_COLS,
    [ST_HEARING_GET] = "SELECT " HEARING_COLS " FROM hearings WHERE id = ?1",
    [ST_HEARING_LIST] = "SELECT " HEARING_COLS " FROM hearings "
                        "WHERE (?1 IS NULL OR courtroom_id = ?1) "
                        "AND (?2 = 0 OR starts_at >= ?2) AND (?3 = 0 OR starts_at < ?3) "
                        "AND id > coalesce(?4, '') ORDER BY id LIMIT ?5",
    [ST_HEARING_SET_STATE] = "UPDATE hearings SET state = ?2 WHERE id = ?1",
    [ST_PARTICIPANT_INSERT] = "INSERT INTO participants (id, hearing_id, display_name, role, "
                              "special_measures, user_id, created_at) "
                              "VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, ?7) "
                              "RETURNING " PARTICIPANT_COLS,
    [ST_PARTICIPANT_GET] = "SELECT " PARTICIPANT_COLS " FROM participants WHERE id = ?1",
    [ST_PARTICIPANT_LIST] = "SELECT " PARTICIPANT_COLS " FROM participants "
                            "WHERE hearing_id = ?1 ORDER BY rowid",
    [ST_PARTICIPANT_GET_BY_USER] = "SELECT " PARTICIPANT_COLS " FROM participants "
                                   "WHERE hearing_id = ?1 AND user_id = ?2 AND removed = 0",
    [ST_PARTICIPANT_UPDATE] = "UPDATE participants SET "
                              "display_name = coalesce(?2, display_name), "
                              "special_measures = coalesce(?3, special_measures) WHERE id = ?1",
    [ST_PARTICIPANT_BUMP] = "UPDATE participants SET token_version = token_version + 1 "
                            "WHERE id = ?1 RETURNING token_version",
    [ST_PARTICIPANT_REMOVE] = "UPDATE participants SET removed = 1 WHERE id = ?1",
    /* The last participant.mute entry per participant and kind (0004_mutes). */
    [ST_HEARING_MUTES] = "SELECT a.target, json_extract(a.detail, '$.kind'), "
                         "json_extract(a.detail, '$.muted') FROM participants p "
                         "JOIN audit_log a ON a.target = p.id AND a.action = 'participant.mute' "
                         "WHERE p.hearing_id = ?1 AND p.removed = 0 ORDER BY a.seq",
};

struct sqlite_store {
    sqlite3 *db;
    int schema_version;
    sqlite3_stmt *stmts[ST_COUNT];
};

/* A statement from the caches is held in a g_autoptr(vej__cached_stmt)
 * (store-priv.h): reset and its bindings cleared on every return path. */
void
vej__cached_stmt_release(sqlite3_stmt *stmt)
{
    (void)sqlite3_reset(stmt); /* repeats the last step's error, reported already */
    (void)sqlite3_clear_bindings(stmt);
}

static int64_t
now_seconds(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

/* How a record type is read from a row, freed, and named in a cursor. */
struct row_type {
    const char *name;
    void *(*from_row)(sqlite3_stmt *stmt);
    GDestroyNotify free;
    const char *(*id_of)(const void *record);
};

static void *
user_from_row(sqlite3_stmt *stmt)
{
    struct vej_user *u = g_new0(struct vej_user, 1);
    u->id = vej__sqlite_column_dup(stmt, 0);
    u->username = vej__sqlite_column_dup(stmt, 1);
    u->role = vej__sqlite_column_dup(stmt, 2);
    u->password_hash = vej__sqlite_column_dup(stmt, 3);
    u->must_change_password = sqlite3_column_int(stmt, 4) != 0;
    u->disabled = sqlite3_column_int(stmt, 5) != 0;
    u->created_at = sqlite3_column_int64(stmt, 6);
    return u;
}

static void *
courtroom_from_row(sqlite3_stmt *stmt)
{
    struct vej_courtroom *c = g_new0(struct vej_courtroom, 1);
    c->id = vej__sqlite_column_dup(stmt, 0);
    c->name = vej__sqlite_column_dup(stmt, 1);
    c->retention_days = sqlite3_column_int(stmt, 2);
    c->time_zone = vej__sqlite_column_dup(stmt, 3);
    c->created_at = sqlite3_column_int64(stmt, 4);
    return c;
}

static const char *
courtroom_id_of(const void *record)
{
    return ((const struct vej_courtroom *)record)->id;
}

static void *
hearing_from_row(sqlite3_stmt *stmt)
{
    struct vej_hearing_row *h = g_new0(struct vej_hearing_row, 1);
    h->id = vej__sqlite_column_dup(stmt, 0);
    h->courtroom_id = vej__sqlite_column_dup(stmt, 1);
    h->case_reference = vej__sqlite_column_dup(stmt, 2);
    h->title = vej__sqlite_column_dup(stmt, 3);
    h->starts_at = sqlite3_column_int64(stmt, 4);
    h->ends_at = sqlite3_column_int64(stmt, 5);
    h->state = vej__sqlite_column_dup(stmt, 6);
    h->created_at = sqlite3_column_int64(stmt, 7);
    return h;
}

static const char *
hearing_id_of(const void *record)
{
    return ((const struct vej_hearing_row *)record)->id;
}

static void *
participant_from_row(sqlite3_stmt *stmt)
{
    struct vej_participant_row *p = g_new0(struct vej_participant_row, 1);
    p->id = vej__sqlite_column_dup(stmt, 0);
    p->hearing_id = vej__sqlite_column_dup(stmt, 1);
    p->display_name = vej__sqlite_column_dup(stmt, 2);
    p->role = vej__sqlite_column_dup(stmt, 3);
    p->special_measures = vej__sqlite_column_dup(stmt, 4);
    p->user_id = vej__sqlite_column_dup(stmt, 5);
    p->token_version = sqlite3_column_int64(stmt, 6);
    p->removed = sqlite3_column_int(stmt, 7) != 0;
    p->created_at = sqlite3_column_int64(stmt, 8);
    return p;
}

static void *
session_from_row(sqlite3_stmt *stmt)
{
    struct vej_staff_session *s = g_new0(struct vej_staff_session, 1);
    s->user_id = vej__sqlite_column_dup(stmt, 0);
    s->expires_at = sqlite3_column_int64(stmt, 1);
    s->revoked = sqlite3_column_int(stmt, 2) != 0;
    return s;
}

static const struct row_type user_type = {"user", user_from_row, (GDestroyNotify)vej_user_free,
                                          NULL};
static const struct row_type courtroom_type = {"courtroom", courtroom_from_row,
                                               (GDestroyNotify)vej_courtroom_free, courtroom_id_of};
static const struct row_type hearing_type = {"hearing", hearing_from_row,
                                             (GDestroyNotify)vej_hearing_row_free, hearing_id_of};
static const struct row_type participant_type = {"participant", participant_from_row,
                                                 (GDestroyNotify)vej_participant_row_free, NULL};
static const struct row_type session_type = {"staff session", session_from_row,
                                             (GDestroyNotify)vej_staff_session_free, NULL};

/* Runs a bound statement that yields at most one row (a SELECT by key or
 * an INSERT/UPDATE ... RETURNING) and returns it as a record; no row is
 * NOT_FOUND. */
static void *
fetch_one(struct sqlite_store *st, sqlite3_stmt *stmt, const struct row_type *type, GError **error)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "%s not found", type->name);
        return NULL;
    }
    if (rc != SQLITE_ROW) {
        g_autofree char *what = g_strdup_printf("reading a %s", type->name);
        vej__sqlite_set_error(st->db, rc, what, error);
        return NULL;
    }
    void *record = type->from_row(stmt);
    /* Finishes a RETURNING statement; a keyed SELECT has no second row. */
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        g_autofree char *what = g_strdup_printf("finishing a %s statement", type->name);
        vej__sqlite_set_error(st->db, rc, what, error);
        type->free(record);
        return NULL;
    }
    return record;
}

/* Runs a bound statement that writes without returning rows. With
 * `must_match`, touching no row is NOT_FOUND. */
static gboolean
run_write(struct sqlite_store *st, sqlite3_stmt *stmt, const char *what, bool must_match,
          GError **error)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(st->db, rc, what, error);
        return FALSE;
    }
    if (must_match && sqlite3_changes(st->db) == 0) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "%s: not found", what);
        return FALSE;
    }
    return TRUE;
}

/* Collects every row of a bound statement. When `limit` > 0 the statement
 * was bound with LIMIT limit + 1: a row beyond `limit` means another page
 * follows, whose cursor is the id of this page's last row. */
static GPtrArray *
fetch_rows(struct sqlite_store *st, sqlite3_stmt *stmt, const struct row_type *type, int limit,
           char **next_cursor, GError **error)
{
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(type->free);
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(rows, type->from_row(stmt));
    if (rc != SQLITE_DONE) {
        g_autofree char *what = g_strdup_printf("listing %ss", type->name);
        vej__sqlite_set_error(st->db, rc, what, error);
        return NULL;
    }
    if (limit > 0 && rows->len > (guint)limit) {
        g_ptr_array_set_size(rows, (guint)limit);
        if (next_cursor != NULL)
            *next_cursor = g_strdup(type->id_of(g_ptr_array_index(rows, limit - 1)));
    }
    return g_steal_pointer(&rows);
}

/* For sqlite-trust.c and sqlite-recordings.c (store-priv.h). */
sqlite3 *
vej__sqlite_store_db(void *impl)
{
    return ((struct sqlite_store *)impl)->db;
}

struct vej_user *
vej__sqlite_user_from_row(sqlite3_stmt *stmt)
{
    return user_from_row(stmt);
}

GPtrArray *
vej__sqlite_courtroom_rows(void *impl, sqlite3_stmt *stmt, int limit, char **next_cursor,
                           GError **error)
{
    return fetch_rows(impl, stmt, &courtroom_type, limit, next_cursor, error);
}

GPtrArray *
vej__sqlite_hearing_rows(void *impl, sqlite3_stmt *stmt, int limit, char **next_cursor,
                         GError **error)
{
    return fetch_rows(impl, stmt, &hearing_type, limit, next_cursor, error);
}

static void
sqlite_close(void *impl)
{
    struct sqlite_store *st = impl;
    if (st == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        (void)sqlite3_finalize(st->stmts[i]); /* repeats errors already reported */
    int rc = vej__sqlite_close(st->db);       /* and the cached statements */
    if (rc != SQLITE_OK)
        g_warning("store: closing the database failed: %s (%d)", sqlite3_errstr(rc), rc);
    g_free(st);
}

static void *
sqlite_open(const char *path, GError **error)
{
    struct sqlite_store *st = g_new0(struct sqlite_store, 1);

    st->db = vej__sqlite_open(path, true, VEJ__SYNC_NORMAL, error);
    if (st->db == NULL) {
        g_free(st);
        return NULL;
    }
    if (!vej__sqlite_migrate(st->db, &st->schema_version, error))
        goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmts[i], NULL);
        if (rc != SQLITE_OK) {
            vej__sqlite_set_error(st->db, rc, "preparing the store's statements", error);
            goto fail;
        }
    }
    return st;

fail:
    g_prefix_error(error, "%s: ", path);
    sqlite_close(st);
    return NULL;
}

static int
sqlite_schema_version(void *impl)
{
    return ((struct sqlite_store *)impl)->schema_version;
}

static struct vej_user *
sqlite_user_create(void *impl, const char *username, const char *role, const char *password_hash,
                   bool must_change, GError **error)
{
    struct sqlite_store *st = impl;
    char id[VEJ__ID_SIZE];
    if (!vej__store_new_id("usr_", id, error))
        return NULL;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_USER_INSERT];
    if (!vej__sqlite_bind(st->db, stmt, error, "ttttii", id, username, role, password_hash,
                          (int64_t)must_change, now_seconds()))
        return NULL;
    return fetch_one(st, stmt, &user_type, error);
}

static struct vej_user *
sqlite_user_get(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_USER_GET];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return NULL;
    return fetch_one(st, stmt, &user_type, error);
}

static struct vej_user *
sqlite_user_get_by_name(void *impl, const char *username, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_USER_GET_BY_NAME];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", username))
        return NULL;
    return fetch_one(st, stmt, &user_type, error);
}

static gboolean
sqlite_user_set_password(void *impl, const char *id, const char *password_hash, bool must_change,
                         GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_USER_SET_PASSWORD];
    if (!vej__sqlite_bind(st->db, stmt, error, "tti", id, password_hash, (int64_t)must_change))
        return FALSE;
    return run_write(st, stmt, "setting a user's password", true, error);
}

static int64_t
sqlite_user_count(void *impl, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_USER_COUNT];
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(st->db, rc, "counting users", error);
        return -1;
    }
    return sqlite3_column_int64(stmt, 0);
}

static gboolean
sqlite_staff_session_create(void *impl, const uint8_t hash[32], const char *user_id,
                            int64_t expires_at, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_SESSION_INSERT];
    if (!vej__sqlite_bind(st->db, stmt, error, "btii", hash, user_id, expires_at, now_seconds()))
        return FALSE;
    return run_write(st, stmt, "creating a staff session", false, error);
}

static struct vej_staff_session *
sqlite_staff_session_get(void *impl, const uint8_t hash[32], GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_SESSION_GET];
    if (!vej__sqlite_bind(st->db, stmt, error, "b", hash))
        return NULL;
    return fetch_one(st, stmt, &session_type, error);
}

static gboolean
sqlite_staff_session_revoke(void *impl, const uint8_t hash[32], GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_SESSION_REVOKE];
    if (!vej__sqlite_bind(st->db, stmt, error, "b", hash))
        return FALSE;
    return run_write(st, stmt, "revoking a staff session", true, error);
}

static gboolean
sqlite_staff_session_revoke_user(void *impl, const char *user_id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_SESSION_REVOKE_USER];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", user_id))
        return FALSE;
    /* A user without sessions has nothing to revoke: not an error. */
    return run_write(st, stmt, "revoking a user's staff sessions", false, error);
}

static struct vej_courtroom *
sqlite_courtroom_create(void *impl, const char *name, int retention_days, const char *time_zone,
                        GError **error)
{
    struct sqlite_store *st = impl;
    char id[VEJ__ID_SIZE];
    if (!vej__store_new_id("crt_", id, error))
        return NULL;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_COURTROOM_INSERT];
    if (!vej__sqlite_bind(st->db, stmt, error, "ttiti", id, name, (int64_t)retention_days,
                          time_zone, now_seconds()))
        return NULL;
    return fetch_one(st, stmt, &courtroom_type, error);
}

static struct vej_courtroom *
sqlite_courtroom_get(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_COURTROOM_GET];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return NULL;
    return fetch_one(st, stmt, &courtroom_type, error);
}

static GPtrArray *
sqlite_courtroom_list(void *impl, const char *after, int limit, char **next_cursor, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_COURTROOM_LIST];
    if (!vej__sqlite_bind(st->db, stmt, error, "ti", after, (int64_t)limit + 1))
        return NULL;
    return fetch_rows(st, stmt, &courtroom_type, limit, next_cursor, error);
}

static struct vej_hearing_row *
sqlite_hearing_create(void *impl, const char *courtroom_id, const char *case_reference,
                      const char *title, int64_t starts_at, int64_t ends_at, GError **error)
{
    struct sqlite_store *st = impl;
    char id[VEJ__ID_SIZE];
    if (!vej__store_new_id("hrg_", id, error))
        return NULL;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_HEARING_INSERT];
    if (!vej__sqlite_bind(st->db, stmt, error, "ttttiii", id, courtroom_id, case_reference, title,
                          starts_at, ends_at, now_seconds()))
        return NULL;
    return fetch_one(st, stmt, &hearing_type, error);
}

static struct vej_hearing_row *
sqlite_hearing_get(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_HEARING_GET];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return NULL;
    return fetch_one(st, stmt, &hearing_type, error);
}

static GPtrArray *
sqlite_hearing_list(void *impl, const char *courtroom_id, int64_t from, int64_t to,
                    const char *after, int limit, char **next_cursor, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_HEARING_LIST];
    if (!vej__sqlite_bind(st->db, stmt, error, "tiiti", courtroom_id, from, to, after,
                          (int64_t)limit + 1))
        return NULL;
    return fetch_rows(st, stmt, &hearing_type, limit, next_cursor, error);
}

static gboolean
sqlite_hearing_set_state(void *impl, const char *id, const char *state, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_HEARING_SET_STATE];
    if (!vej__sqlite_bind(st->db, stmt, error, "tt", id, state))
        return FALSE;
    return run_write(st, stmt, "setting a hearing's state", true, error);
}

static struct vej_participant_row *
sqlite_participant_create(void *impl, const char *hearing_id, const char *display_name,
                          const char *role, const char *special_measures_json, const char *user_id,
                          GError **error)
{
    struct sqlite_store *st = impl;
    char id[VEJ__ID_SIZE];
    if (!vej__store_new_id("ptc_", id, error))
        return NULL;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_INSERT];
    if (!vej__sqlite_bind(st->db, stmt, error, "tttttti", id, hearing_id, display_name, role,
                          special_measures_json, user_id, now_seconds()))
        return NULL;
    return fetch_one(st, stmt, &participant_type, error);
}

static struct vej_participant_row *
sqlite_participant_get(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_GET];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return NULL;
    return fetch_one(st, stmt, &participant_type, error);
}

static GPtrArray *
sqlite_participant_list(void *impl, const char *hearing_id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_LIST];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", hearing_id))
        return NULL;
    return fetch_rows(st, stmt, &participant_type, 0, NULL, error);
}

static struct vej_participant_row *
sqlite_participant_get_by_user(void *impl, const char *hearing_id, const char *user_id,
                               GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_GET_BY_USER];
    if (!vej__sqlite_bind(st->db, stmt, error, "tt", hearing_id, user_id))
        return NULL;
    return fetch_one(st, stmt, &participant_type, error);
}

static gboolean
sqlite_participant_update(void *impl, const char *id, const char *display_name,
                          const char *special_measures_json, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_UPDATE];
    if (!vej__sqlite_bind(st->db, stmt, error, "ttt", id, display_name, special_measures_json))
        return FALSE;
    return run_write(st, stmt, "updating a participant", true, error);
}

static int64_t
sqlite_participant_bump_token(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_BUMP];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND, "participant not found");
        return -1;
    }
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(st->db, rc, "bumping a participant's token version", error);
        return -1;
    }
    int64_t version = sqlite3_column_int64(stmt, 0);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(st->db, rc, "bumping a participant's token version", error);
        return -1;
    }
    return version;
}

static gboolean
sqlite_participant_remove(void *impl, const char *id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_PARTICIPANT_REMOVE];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", id))
        return FALSE;
    return run_write(st, stmt, "removing a participant", true, error);
}

static GHashTable *
sqlite_hearing_mutes(void *impl, const char *hearing_id, GError **error)
{
    struct sqlite_store *st = impl;
    g_autoptr(vej__cached_stmt) stmt = st->stmts[ST_HEARING_MUTES];
    if (!vej__sqlite_bind(st->db, stmt, error, "t", hearing_id))
        return NULL;
    GHashTable *bits = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *pid = (const char *)sqlite3_column_text(stmt, 0);
        const char *kind = (const char *)sqlite3_column_text(stmt, 1);
        int bit = !kind                        ? 0
                  : strcmp(kind, "audio") == 0 ? VEJ_MUTED_AUDIO
                  : strcmp(kind, "video") == 0 ? VEJ_MUTED_VIDEO
                                               : 0;
        if (!pid || !bit)
            continue;
        int b = GPOINTER_TO_INT(g_hash_table_lookup(bits, pid));
        b = sqlite3_column_int(stmt, 2) ? b | bit : b & ~bit;
        g_hash_table_insert(bits, g_strdup(pid), GINT_TO_POINTER(b));
    }
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(st->db, rc, "reading a hearing's mutes", error);
        g_hash_table_unref(bits);
        return NULL;
    }
    /* Only participants with a mute. */
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, bits);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (!GPOINTER_TO_INT(value))
            g_hash_table_iter_remove(&it);
    return bits;
}

const struct vej_store_backend vej_store_sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .user_create = sqlite_user_create,
    .user_get = sqlite_user_get,
    .user_get_by_name = sqlite_user_get_by_name,
    .user_set_password = sqlite_user_set_password,
    .user_count = sqlite_user_count,
    .staff_session_create = sqlite_staff_session_create,
    .staff_session_get = sqlite_staff_session_get,
    .staff_session_revoke = sqlite_staff_session_revoke,
    .staff_session_revoke_user = sqlite_staff_session_revoke_user,
    .courtroom_create = sqlite_courtroom_create,
    .courtroom_get = sqlite_courtroom_get,
    .courtroom_list = sqlite_courtroom_list,
    .hearing_create = sqlite_hearing_create,
    .hearing_get = sqlite_hearing_get,
    .hearing_list = sqlite_hearing_list,
    .hearing_set_state = sqlite_hearing_set_state,
    .participant_create = sqlite_participant_create,
    .participant_get = sqlite_participant_get,
    .participant_list = sqlite_participant_list,
    .participant_get_by_user = sqlite_participant_get_by_user,
    .participant_update = sqlite_participant_update,
    .participant_bump_token = sqlite_participant_bump_token,
    .participant_remove = sqlite_participant_remove,
    .hearing_mutes = sqlite_hearing_mutes,
    .user_list = vej__sqlite_user_list,
    .user_update = vej__sqlite_user_update,
    .user_courtrooms = vej__sqlite_user_courtrooms,
    .user_set_courtrooms = vej__sqlite_user_set_courtrooms,
    .user_assign_courtroom = vej__sqlite_user_assign_courtroom,
    .user_may_act = vej__sqlite_user_may_act,
    .courtroom_list_scoped = vej__sqlite_courtroom_list_scoped,
    .hearing_list_scoped = vej__sqlite_hearing_list_scoped,
    .user_totp_get = vej__sqlite_user_totp_get,
    .user_totp_set = vej__sqlite_user_totp_set,
    .user_totp_use_step = vej__sqlite_user_totp_use_step,
    .recovery_codes_set = vej__sqlite_recovery_codes_set,
    .recovery_code_use = vej__sqlite_recovery_code_use,
    .recording_create = vej__sqlite_recording_create,
    .recording_get = vej__sqlite_recording_get,
    .recording_get_by_hearing = vej__sqlite_recording_get_by_hearing,
    .recording_list = vej__sqlite_recording_list,
    .recording_update = vej__sqlite_recording_update,
    .recording_list_expired = vej__sqlite_recording_list_expired,
};
