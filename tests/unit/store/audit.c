/* Unit tests for store/audit.c and store/audit-writer.c. */
#include "store/audit.h"
#include "store/store.h"
#include "tmpdir.h"

#include <sqlite3.h>
#include <string.h>

struct fixture {
    char *dir;
    char *path;
};

static void
setup(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->dir = test_tmpdir_new();
    f->path = g_build_filename(f->dir, "vej.db", NULL);
    /* The store creates and migrates the database; the audit code only
     * opens it. */
    g_autoptr(vej_store) store = vej_store_open(f->path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(store);
}

static void
teardown(struct fixture *f, gconstpointer data)
{
    test_tmpdir_remove(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static char *
hex(const uint8_t *data, size_t len)
{
    GString *s = g_string_sized_new(len * 2);
    for (size_t i = 0; i < len; i++)
        g_string_append_printf(s, "%02x", data[i]);
    return g_string_free(s, FALSE);
}

/* A raw connection, as an attacker or an administrator with sqlite3 has. */
static sqlite3 *
raw_open(const char *path)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_busy_timeout(db, 5000), ==, SQLITE_OK);
    return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        g_error("%s: %s", sql, msg);
}

static int
raw_exec_rc(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void
append_n(const char *path, int n)
{
    g_autoptr(GError) error = NULL;
    vej_audit_writer *w = vej_audit_writer_new(path, &error);
    g_assert_no_error(error);
    for (int i = 0; i < n; i++) {
        g_autofree char *target = g_strdup_printf("hrg_%d", i);
        vej_audit_append(w, "system", "hearing.state", target, NULL);
    }
    g_assert_true(vej_audit_writer_flush(w));
    vej_audit_writer_free(w);
}

static void
assert_verify(const char *path, bool ok, int64_t count, int64_t first_bad)
{
    g_autoptr(GError) error = NULL;
    int64_t got_count = -1, got_bad = -1;
    gboolean got = vej_audit_verify(path, &got_count, &got_bad, &error);
    if (ok) {
        g_assert_no_error(error);
        g_assert_true(got);
    } else {
        g_assert_false(got);
        g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT);
    }
    g_assert_cmpint(got_count, ==, count);
    g_assert_cmpint(got_bad, ==, first_bad);
}

/* The format is a contract: these bytes and hashes were computed
 * independently (Python's struct and hashlib) from the documented
 * encoding. If this test fails, the encoding changed and every existing
 * chain would stop verifying. */
static void
test_golden(void)
{
    struct vej_audit_entry e1 = {
        .seq = 1,
        .ts_us = 1700000000123456,
        .actor = (char *)"usr_test",
        .action = (char *)"hearing.state",
        .target = (char *)"hrg_test",
        .detail = (char *)"{\"state\":\"open\"}",
    };
    g_autoptr(GBytes) enc1 = vej_audit_encode(&e1);
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(enc1, &len);
    g_autofree char *enc1_hex = hex(data, len);
    g_assert_cmpstr(enc1_hex, ==,
                    "56454a415544495431000000000000000100060a2418202240000000087573725f7465"
                    "73740000000d68656172696e672e7374617465000000086872675f7465737400000010"
                    "7b227374617465223a226f70656e227d");
    vej_audit_compute_hash(&e1, e1.hash);
    g_autofree char *h1 = hex(e1.hash, 32);
    g_assert_cmpstr(h1, ==, "6ec73d0db0c3104f1b1b173251af793519281295461ff56769a8a0753eee042a");

    /* Negative time, multi-byte UTF-8, an empty field, a non-zero link. */
    struct vej_audit_entry e2 = {
        .seq = 2,
        .ts_us = -1,
        .actor = (char *)"syst\xc3\xa8me",
        .action = (char *)"login.failed",
        .target = (char *)"",
        .detail = (char *)"{}",
    };
    memcpy(e2.prev_hash, e1.hash, 32);
    g_autoptr(GBytes) enc2 = vej_audit_encode(&e2);
    data = g_bytes_get_data(enc2, &len);
    g_autofree char *enc2_hex = hex(data, len);
    g_assert_cmpstr(enc2_hex, ==,
                    "56454a4155444954310000000000000002ffffffffffffffff0000000873797374c3a8"
                    "6d650000000c6c6f67696e2e6661696c656400000000000000027b7d");
    vej_audit_compute_hash(&e2, e2.hash);
    g_autofree char *h2 = hex(e2.hash, 32);
    g_assert_cmpstr(h2, ==, "7aea26b879c869168ce29ea9a3b8828e6b147682100407b509ef570ff4560e1a");
}

static void
test_empty(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    int64_t seq = -1;
    uint8_t hash[32], zero[32] = {0};
    memset(hash, 0xaa, 32);

    g_assert_true(vej_audit_head(f->path, &seq, hash, &error));
    g_assert_no_error(error);
    g_assert_cmpint(seq, ==, 0);
    g_assert_cmpmem(hash, 32, zero, 32);
    assert_verify(f->path, true, 0, 0);
    g_autoptr(GPtrArray) list = vej_audit_list(f->path, 0, 0, 0, 100, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 0);
}

static void
test_chain(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    int64_t t0 = g_get_real_time();

    append_n(f->path, 300);
    g_assert_true(vej_audit_append_sync(f->path, "vejctl", "user.add", "usr_x",
                                        "{\"role\":\"clerk\"}", &error));
    g_assert_no_error(error);
    assert_verify(f->path, true, 301, 0);

    int64_t seq = 0;
    uint8_t head[32];
    g_assert_true(vej_audit_head(f->path, &seq, head, &error));
    g_assert_no_error(error);
    g_assert_cmpint(seq, ==, 301);

    /* Pages by seq, linked to one another, ending at the head. */
    g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)vej_audit_entry_free);
    int64_t after = 0;
    for (;;) {
        g_autoptr(GPtrArray) page = vej_audit_list(f->path, 0, 0, after, 64, &error);
        g_assert_no_error(error);
        if (page->len == 0)
            break;
        for (guint i = 0; i < page->len; i++)
            g_ptr_array_add(all, g_steal_pointer(&page->pdata[i]));
        after = ((struct vej_audit_entry *)g_ptr_array_index(all, all->len - 1))->seq;
    }
    g_assert_cmpuint(all->len, ==, 301);
    uint8_t prev[32] = {0};
    for (guint i = 0; i < all->len; i++) {
        struct vej_audit_entry *e = g_ptr_array_index(all, i);
        uint8_t hash[32];
        g_assert_cmpint(e->seq, ==, (int64_t)i + 1);
        g_assert_cmpmem(e->prev_hash, 32, prev, 32);
        vej_audit_compute_hash(e, hash);
        g_assert_cmpmem(hash, 32, e->hash, 32);
        g_assert_cmpint(e->ts_us, >=, t0);
        memcpy(prev, e->hash, 32);
    }
    g_assert_cmpmem(prev, 32, head, 32);
    struct vej_audit_entry *first = g_ptr_array_index(all, 0);
    g_assert_cmpstr(first->actor, ==, "system");
    g_assert_cmpstr(first->target, ==, "hrg_0");
    g_assert_cmpstr(first->detail, ==, "{}");
    struct vej_audit_entry *last = g_ptr_array_index(all, 300);
    g_assert_cmpstr(last->actor, ==, "vejctl");
    g_assert_cmpstr(last->detail, ==, "{\"role\":\"clerk\"}");

    /* Time bounds: from inclusive, to exclusive. */
    struct vej_audit_entry *mid = g_ptr_array_index(all, 150);
    g_autoptr(GPtrArray) from_mid = vej_audit_list(f->path, mid->ts_us, 0, 0, 10000, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(from_mid->len, >=, 1);
    for (guint i = 0; i < from_mid->len; i++)
        g_assert_cmpint(((struct vej_audit_entry *)g_ptr_array_index(from_mid, i))->ts_us, >=,
                        mid->ts_us);
    g_autoptr(GPtrArray) before_mid = vej_audit_list(f->path, 0, mid->ts_us, 0, 10000, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(before_mid->len + from_mid->len, ==, 301);

    g_assert_null(vej_audit_list(f->path, 0, 0, 0, 0, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

static void
test_tamper_detail(struct fixture *f, gconstpointer data)
{
    append_n(f->path, 50);
    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "DROP TRIGGER audit_log_no_update");
    raw_exec(db, "UPDATE audit_log SET detail = '{\"state\":\"closed\"}' WHERE seq = 37");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    assert_verify(f->path, false, 37, 37);
}

/* Recomputing the tampered entry's own hash moves the break to the next
 * link. */
static void
test_tamper_rehash(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    append_n(f->path, 30);
    g_autoptr(GPtrArray) one = vej_audit_list(f->path, 0, 0, 19, 1, &error);
    g_assert_no_error(error);
    struct vej_audit_entry *e = g_ptr_array_index(one, 0);
    g_assert_cmpint(e->seq, ==, 20);
    g_free(e->actor);
    e->actor = g_strdup("usr_someone_else");
    vej_audit_compute_hash(e, e->hash);

    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "DROP TRIGGER audit_log_no_update");
    sqlite3_stmt *stmt = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db,
                                       "UPDATE audit_log SET actor = ?1, hash = ?2 WHERE seq = 20",
                                       -1, &stmt, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_bind_text(stmt, 1, e->actor, -1, SQLITE_STATIC), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_bind_blob(stmt, 2, e->hash, 32, SQLITE_STATIC), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_DONE);
    g_assert_cmpint(sqlite3_finalize(stmt), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    assert_verify(f->path, false, 21, 21);
}

static void
test_tamper_delete(struct fixture *f, gconstpointer data)
{
    append_n(f->path, 20);
    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "DROP TRIGGER audit_log_no_delete");
    raw_exec(db, "DELETE FROM audit_log WHERE seq = 10");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    /* Entry 11 is the tenth row and no longer follows anything. */
    assert_verify(f->path, false, 10, 11);
}

/* Bytes after a NUL are invisible to C strings; the stored bytes must be
 * exactly the hashed ones. */
static void
test_tamper_nul(struct fixture *f, gconstpointer data)
{
    append_n(f->path, 8);
    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "DROP TRIGGER audit_log_no_update");
    raw_exec(db, "UPDATE audit_log SET detail = CAST(X'7b7d00414141' AS TEXT) WHERE seq = 5");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    assert_verify(f->path, false, 5, 5);
}

static void
test_triggers(struct fixture *f, gconstpointer data)
{
    append_n(f->path, 3);
    sqlite3 *db = raw_open(f->path);
    g_assert_cmpint(raw_exec_rc(db, "UPDATE audit_log SET detail = '{}' WHERE seq = 2"), ==,
                    SQLITE_CONSTRAINT);
    g_assert_cmpint(raw_exec_rc(db, "DELETE FROM audit_log WHERE seq = 3"), ==, SQLITE_CONSTRAINT);
    g_assert_cmpint(raw_exec_rc(db, "DELETE FROM audit_log"), ==, SQLITE_CONSTRAINT);
    /* Appends that do not extend the chain: a gap, a replayed seq, a
     * wrong link. */
    g_assert_cmpint(raw_exec_rc(db, "INSERT INTO audit_log SELECT 5, ts_us, actor, action, "
                                    "target, detail, hash, hash FROM audit_log WHERE seq = 3"),
                    ==, SQLITE_CONSTRAINT);
    g_assert_cmpint(raw_exec_rc(db, "INSERT INTO audit_log SELECT 3, ts_us, actor, action, "
                                    "target, detail, hash, hash FROM audit_log WHERE seq = 2"),
                    ==, SQLITE_CONSTRAINT);
    g_assert_cmpint(raw_exec_rc(db, "INSERT INTO audit_log SELECT 4, ts_us, actor, action, "
                                    "target, detail, prev_hash, hash FROM audit_log "
                                    "WHERE seq = 3"),
                    ==, SQLITE_CONSTRAINT);
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    assert_verify(f->path, true, 3, 0);
}

#define THREADS 4
#define PER_THREAD 250
#define SYNC_APPENDS 20

struct appender {
    vej_audit_writer *w;
    int index;
};

static gpointer
appender_thread(gpointer data)
{
    struct appender *a = data;
    g_autofree char *actor = g_strdup_printf("thread-%d", a->index);
    for (int i = 0; i < PER_THREAD; i++) {
        g_autofree char *target = g_strdup_printf("%d", i);
        vej_audit_append(a->w, actor, "test.append", target, "{\"k\":\"v\"}");
        if (i % 10 == 0)
            g_usleep(2000); /* spread the appends over the synchronous ones */
    }
    return NULL;
}

static void
test_concurrent(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    vej_audit_writer *w = vej_audit_writer_new(f->path, &error);
    g_assert_no_error(error);

    struct appender appenders[THREADS];
    GThread *threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        appenders[i] = (struct appender){w, i};
        threads[i] = g_thread_new("appender", appender_thread, &appenders[i]);
    }
    /* Meanwhile another connection (vejctl) appends synchronously. */
    for (int i = 0; i < SYNC_APPENDS; i++) {
        g_autofree char *target = g_strdup_printf("%d", i);
        g_assert_true(vej_audit_append_sync(f->path, "vejctl", "test.sync", target, NULL, &error));
        g_assert_no_error(error);
        g_usleep(5000); /* SQLite's busy wait is not fair: give the writer a turn */
    }
    for (int i = 0; i < THREADS; i++)
        g_thread_join(threads[i]);
    g_assert_true(vej_audit_writer_flush(w));
    uint64_t committed = 0, failed = 0;
    vej_audit_writer_stats(w, &committed, &failed);
    g_assert_cmpuint(committed, ==, THREADS * PER_THREAD);
    g_assert_cmpuint(failed, ==, 0);
    vej_audit_writer_free(w);

    const int64_t total = THREADS * PER_THREAD + SYNC_APPENDS;
    assert_verify(f->path, true, total, 0);

    /* Every entry exactly once, each thread's in the order it appended. */
    g_autoptr(GPtrArray) all = vej_audit_list(f->path, 0, 0, 0, 10000, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(all->len, ==, total);
    int next[THREADS] = {0}, next_sync = 0, switches = 0;
    for (guint i = 0; i < all->len; i++) {
        struct vej_audit_entry *e = g_ptr_array_index(all, i);
        g_autofree char *expected = NULL;
        if (i > 0 &&
            (strcmp(e->actor, "vejctl") == 0) !=
                (strcmp(((struct vej_audit_entry *)all->pdata[i - 1])->actor, "vejctl") == 0))
            switches++;
        if (strcmp(e->actor, "vejctl") == 0) {
            expected = g_strdup_printf("%d", next_sync++);
        } else {
            g_assert_true(g_str_has_prefix(e->actor, "thread-"));
            int t = (int)g_ascii_strtoll(e->actor + 7, NULL, 10);
            g_assert_cmpint(t, >=, 0);
            g_assert_cmpint(t, <, THREADS);
            expected = g_strdup_printf("%d", next[t]++);
        }
        g_assert_cmpstr(e->target, ==, expected);
    }
    g_test_message("writer and vejctl entries alternate %d times in the chain", switches);
    g_assert_cmpint(next_sync, ==, SYNC_APPENDS);
    for (int t = 0; t < THREADS; t++)
        g_assert_cmpint(next[t], ==, PER_THREAD);
}

/* Counts the writer's "could not commit" warnings and keeps them from
 * aborting the test (any other warning still does). */
static gint commit_warnings;

static gboolean
commit_warning_not_fatal(const gchar *domain, GLogLevelFlags level, const gchar *message,
                         gpointer data)
{
    if (g_strcmp0(domain, "vej-store") == 0 &&
        g_str_has_prefix(message, "audit: could not commit")) {
        g_atomic_int_inc(&commit_warnings);
        return FALSE;
    }
    return TRUE;
}

static void
test_flush(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    int64_t seq = 0;
    uint8_t hash[32];
    uint64_t committed = 0, failed = 0;

    vej_audit_writer *w = vej_audit_writer_new(f->path, &error);
    g_assert_no_error(error);
    g_assert_true(vej_audit_writer_flush(w)); /* nothing queued */

    for (int i = 0; i < 10; i++)
        vej_audit_append(w, "system", "test", "", NULL);
    g_assert_true(vej_audit_writer_flush(w));
    /* After flush the entries are on disk, visible to any connection. */
    g_assert_true(vej_audit_head(f->path, &seq, hash, &error));
    g_assert_no_error(error);
    g_assert_cmpint(seq, ==, 10);

    /* A failing commit: flush reports it once, the batch is counted and
     * nothing of it is written. */
    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "CREATE TRIGGER test_fail BEFORE INSERT ON audit_log "
                 "BEGIN SELECT RAISE(ABORT, 'test refuses'); END");
    /* The writer may take the three in one batch or in several: each
     * failed batch warns once, so the warnings are counted, not expected
     * one by one. */
    g_atomic_int_set(&commit_warnings, 0);
    g_test_log_set_fatal_handler(commit_warning_not_fatal, NULL);
    for (int i = 0; i < 3; i++)
        vej_audit_append(w, "system", "lost", "", NULL);
    g_assert_false(vej_audit_writer_flush(w));
    g_assert_cmpint(g_atomic_int_get(&commit_warnings), >=, 1);
    g_assert_true(vej_audit_writer_flush(w)); /* reported already */
    vej_audit_writer_stats(w, &committed, &failed);
    g_assert_cmpuint(committed, ==, 10);
    g_assert_cmpuint(failed, ==, 3);

    raw_exec(db, "DROP TRIGGER test_fail");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    for (int i = 0; i < 2; i++)
        vej_audit_append(w, "system", "test", "", NULL);
    g_assert_true(vej_audit_writer_flush(w));
    vej_audit_writer_stats(w, &committed, &failed);
    g_assert_cmpuint(committed, ==, 12);
    g_assert_cmpuint(failed, ==, 3);

    /* Freeing drains what is still queued. */
    for (int i = 0; i < 100; i++)
        vej_audit_append(w, "system", "at-exit", "", NULL);
    vej_audit_writer_free(w);
    assert_verify(f->path, true, 112, 0);
}

struct then_count {
    int ok;
    int failed;
};

static void
count_done(bool ok, void *data)
{
    struct then_count *c = data;
    if (ok)
        g_atomic_int_inc(&c->ok);
    else
        g_atomic_int_inc(&c->failed);
}

/* vej_audit_append_then: each callback once, with its own batch's result,
 * before a covering flush returns. */
static void
test_append_then(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    struct then_count c = {0, 0};
    vej_audit_writer *w = vej_audit_writer_new(f->path, &error);
    g_assert_no_error(error);
    for (int i = 0; i < 5; i++)
        vej_audit_append_then(w, "system", "then", "", NULL, count_done, &c);
    vej_audit_append(w, "system", "plain", "", NULL);
    g_assert_true(vej_audit_writer_flush(w));
    g_assert_cmpint(g_atomic_int_get(&c.ok), ==, 5);
    g_assert_cmpint(g_atomic_int_get(&c.failed), ==, 0);
    sqlite3 *db = raw_open(f->path);
    raw_exec(db, "CREATE TRIGGER test_fail BEFORE INSERT ON audit_log "
                 "BEGIN SELECT RAISE(ABORT, 'test refuses'); END");
    g_atomic_int_set(&commit_warnings, 0);
    g_test_log_set_fatal_handler(commit_warning_not_fatal, NULL);
    vej_audit_append_then(w, "system", "lost", "", NULL, count_done, &c);
    g_assert_false(vej_audit_writer_flush(w));
    g_assert_cmpint(g_atomic_int_get(&commit_warnings), ==, 1);
    g_assert_cmpint(g_atomic_int_get(&c.failed), ==, 1);
    raw_exec(db, "DROP TRIGGER test_fail");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    vej_audit_append_then(w, "system", "then", "", NULL, count_done, &c);
    vej_audit_writer_free(w);
    g_assert_cmpint(g_atomic_int_get(&c.ok), ==, 6);
    assert_verify(f->path, true, 7, 0);
}

static void
test_sanitize(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_audit_append_sync(f->path, "bad\xff\xfe utf8", "a", NULL, NULL, &error));
    g_assert_no_error(error);
    g_autoptr(GPtrArray) all = vej_audit_list(f->path, 0, 0, 0, 10, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(all->len, ==, 1);
    struct vej_audit_entry *e = g_ptr_array_index(all, 0);
    g_assert_true(g_utf8_validate(e->actor, -1, NULL));
    g_assert_true(g_str_has_prefix(e->actor, "bad"));
    g_assert_cmpstr(e->target, ==, "");
    g_assert_cmpstr(e->detail, ==, "{}");
    assert_verify(f->path, true, 1, 0);
}

static void
test_needs_database(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *missing = g_build_filename(dir, "missing.db", NULL);

    g_assert_null(vej_audit_writer_new(missing, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_clear_error(&error);
    g_assert_false(vej_audit_append_sync(missing, "a", "b", "", NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_clear_error(&error);
    int64_t count = -1, bad = -1;
    g_assert_false(vej_audit_verify(missing, &count, &bad, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_assert_cmpint(count, ==, 0);
    g_assert_cmpint(bad, ==, 0);
    g_clear_error(&error);
    g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS)); /* nothing was created */

    /* A SQLite database without the schema. */
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(missing, &db), ==, SQLITE_OK);
    raw_exec(db, "CREATE TABLE t (x)");
    g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
    g_assert_null(vej_audit_writer_new(missing, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    test_tmpdir_remove(dir);
}

#define ADD(name, fn) g_test_add(name, struct fixture, NULL, setup, fn, teardown)

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/store/audit/golden", test_golden);
    ADD("/store/audit/empty", test_empty);
    ADD("/store/audit/chain", test_chain);
    ADD("/store/audit/tamper-detail", test_tamper_detail);
    ADD("/store/audit/tamper-rehash", test_tamper_rehash);
    ADD("/store/audit/tamper-delete", test_tamper_delete);
    ADD("/store/audit/tamper-nul", test_tamper_nul);
    ADD("/store/audit/triggers", test_triggers);
    ADD("/store/audit/concurrent", test_concurrent);
    ADD("/store/audit/flush", test_flush);
    ADD("/store/audit/append-then", test_append_then);
    ADD("/store/audit/sanitize", test_sanitize);
    g_test_add_func("/store/audit/needs-database", test_needs_database);
    return g_test_run();
}
