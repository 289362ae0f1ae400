/* sqlite-conn.c - opening SQLite connections, errors, binding, migrations.
 *
 * Every connection of the store (the backend's, the audit writer's, the one
 * vejctl opens for a synchronous append) is opened here, so all of them
 * agree on WAL mode, foreign keys and the busy timeout.
 */
#include "store/store-priv.h"

#include <stdarg.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define BEGIN_ATTEMPTS 4

void
vej__sqlite_set_error(sqlite3 *db, int rc, const char *what, GError **error)
{
    int code = VEJ_STORE_ERROR_FAILED;

    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        code = VEJ_STORE_ERROR_CONFLICT;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = VEJ_STORE_ERROR_NOT_FOUND;
        break;
    default:
        if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
            code = VEJ_STORE_ERROR_CORRUPT;
        break;
    }
    /* sqlite3_errmsg() describes the most recent failing call on `db`,
     * which is the one that returned `rc` (every caller reports at once). */
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    g_set_error(error, VEJ_STORE_ERROR, code, "%s: %s (%d)", what, msg, rc);
}

gboolean
vej__sqlite_exec(sqlite3 *db, const char *sql, GError **error)
{
    char *errmsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        int code = (rc & 0xff) == SQLITE_CORRUPT ? VEJ_STORE_ERROR_CORRUPT : VEJ_STORE_ERROR_FAILED;
        g_set_error(error, VEJ_STORE_ERROR, code, "SQL failed: %s (%d)",
                    errmsg != NULL ? errmsg : sqlite3_errstr(rc), rc);
        sqlite3_free(errmsg);
        return FALSE;
    }
    return TRUE;
}

sqlite3_stmt *
vej__sqlite_prepare(sqlite3 *db, const char *sql, GError **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        vej__sqlite_set_error(db, rc, "preparing a statement", error);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *
vej__sqlite_prepare_cached(sqlite3 *db, const char *sql, GError **error)
{
    /* A connection holds a few dozen statements: a scan is cheaper than
     * parsing the SQL again, and needs no table beside SQLite's own list. */
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        if (!sqlite3_stmt_busy(s) && strcmp(sqlite3_sql(s), sql) == 0)
            return s;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        vej__sqlite_set_error(db, rc, "preparing a statement", error);
        return NULL;
    }
    return stmt;
}

int
vej__sqlite_close(sqlite3 *db)
{
    if (!db)
        return SQLITE_OK;
    sqlite3_stmt *s;
    while ((s = sqlite3_next_stmt(db, NULL)) != NULL)
        (void)sqlite3_finalize(s); /* repeats errors already reported */
    return sqlite3_close(db);
}

gboolean
vej__sqlite_bind(sqlite3 *db, sqlite3_stmt *stmt, GError **error, const char *types, ...)
{
    va_list ap;
    int rc = SQLITE_OK;

    va_start(ap, types);
    for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
        int col = i + 1;
        switch (types[i]) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v != NULL ? sqlite3_bind_text(stmt, col, v, -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null(stmt, col);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(stmt, col, va_arg(ap, int64_t));
            break;
        case 'b':
            rc = sqlite3_bind_blob(stmt, col, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT);
            break;
        default:
            g_assert_not_reached();
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        vej__sqlite_set_error(db, rc, "binding a parameter", error);
        return FALSE;
    }
    return TRUE;
}

char *
vej__sqlite_column_dup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text != NULL ? g_strdup((const char *)text) : NULL;
}

gboolean
vej__sqlite_begin_immediate(sqlite3 *db, GError **error)
{
    /* The busy handler already waits BUSY_TIMEOUT_MS; a few more attempts
     * ride out a long checkpoint or a slow vejctl without failing. */
    for (int attempt = 1;; attempt++) {
        int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return TRUE;
        if ((rc & 0xff) != SQLITE_BUSY || attempt == BEGIN_ATTEMPTS) {
            vej__sqlite_set_error(db, rc, "BEGIN IMMEDIATE", error);
            return FALSE;
        }
        g_usleep(10 * 1000 * attempt);
    }
}

void
vej__sqlite_rollback(sqlite3 *db)
{
    if (sqlite3_get_autocommit(db))
        return; /* SQLite already rolled back (or nothing was begun) */
    int rc = sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        g_warning("store: ROLLBACK failed: %s (%d)", sqlite3_errmsg(db), rc);
}

/* Runs a pragma that returns one row and checks its first column. */
static gboolean
pragma_expect(sqlite3 *db, const char *sql, const char *expected, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(db, sql, error);
    if (stmt == NULL)
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(db, rc, sql, error);
        return FALSE;
    }
    const char *got = (const char *)sqlite3_column_text(stmt, 0);
    if (got == NULL || g_ascii_strcasecmp(got, expected) != 0) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "%s returned '%s', expected '%s'", sql, got != NULL ? got : "(null)", expected);
        return FALSE;
    }
    return TRUE;
}

static gboolean
apply_pragmas(sqlite3 *db, enum vej__sync sync, GError **error)
{
    int rc = sqlite3_extended_result_codes(db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        vej__sqlite_set_error(db, rc, "configuring the connection", error);
        return FALSE;
    }
    /* journal_mode answers the mode in force: a database that cannot use
     * WAL (e.g. on a file system without shared memory) must not be
     * silently used in another mode. */
    if (!pragma_expect(db, "PRAGMA journal_mode=WAL", "wal", error))
        return FALSE;
    const char *sync_sql =
        sync == VEJ__SYNC_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (!vej__sqlite_exec(db, sync_sql, error) ||
        !vej__sqlite_exec(db, "PRAGMA foreign_keys=ON", error))
        return FALSE;
    /* foreign_keys is silently a no-op in builds without them. */
    return pragma_expect(db, "PRAGMA foreign_keys", "1", error);
}

sqlite3 *
vej__sqlite_open(const char *path, bool create, enum vej__sync sync, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);

    if (!sqlite3_threadsafe()) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "SQLite was built without thread support");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    g_autoptr(sqlite3) db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        g_autofree char *what = g_strdup_printf("opening %s", path);
        vej__sqlite_set_error(db, rc, what, error);
        return NULL;
    }
    if (!apply_pragmas(db, sync, error)) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    return g_steal_pointer(&db);
}

gboolean
vej__sqlite_user_version(sqlite3 *db, int *version, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = vej__sqlite_prepare(db, "PRAGMA user_version", error);
    if (stmt == NULL)
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(db, rc, "reading the schema version", error);
        return FALSE;
    }
    *version = sqlite3_column_int(stmt, 0);
    return TRUE;
}

/* Applies one migration unless another process got there first. */
static gboolean
migrate_one(sqlite3 *db, const struct vej__migration *m, GError **error)
{
    int current = 0;

    if (!vej__sqlite_begin_immediate(db, error))
        return FALSE;
    /* Read again under the write lock: the daemon and vejctl may both be
     * opening a fresh database. */
    if (!vej__sqlite_user_version(db, &current, error))
        goto fail;
    if (current < m->version) {
        if (current != m->version - 1) {
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT,
                        "schema version %d cannot be followed by migration %d", current,
                        m->version);
            goto fail;
        }
        /* user_version lives in the database header, so it commits or rolls
         * back with the migration. */
        g_autofree char *bump = g_strdup_printf("PRAGMA user_version=%d", m->version);
        if (!vej__sqlite_exec(db, m->sql, error) || !vej__sqlite_exec(db, bump, error))
            goto fail;
    }
    if (!vej__sqlite_exec(db, "COMMIT", error))
        goto fail;
    return TRUE;

fail:
    vej__sqlite_rollback(db);
    g_prefix_error(error, "migration %04d_%s: ", m->version, m->name);
    return FALSE;
}

gboolean
vej__sqlite_migrate(sqlite3 *db, int *version, GError **error)
{
    int current = 0;

    if (!vej__sqlite_user_version(db, &current, error))
        return FALSE;
    if (current > vej__store_migrations_count) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "the database has schema version %d; this build knows up to %d", current,
                    vej__store_migrations_count);
        return FALSE;
    }
    for (int i = current; i < vej__store_migrations_count; i++) {
        if (!migrate_one(db, &vej__store_migrations[i], error))
            return FALSE;
    }
    return vej__sqlite_user_version(db, version, error);
}
