/* audit.c - the hash-chained audit log: encoding, appends, reading, verifying.
 *
 * Canonical encoding of an entry (format "VEJAUDIT1"). Every audit entry is
 * turned into these bytes, in this order, with no padding:
 *
 *   magic   9 bytes   the ASCII characters "VEJAUDIT1" (no terminator)
 *   seq     8 bytes   big-endian, two's complement (1, 2, ...)
 *   ts_us   8 bytes   big-endian, two's complement: Unix time in
 *                     microseconds, UTC
 *   actor   4-byte big-endian length n, then n bytes of UTF-8
 *   action  4-byte big-endian length n, then n bytes of UTF-8
 *   target  4-byte big-endian length n, then n bytes of UTF-8
 *   detail  4-byte big-endian length n, then n bytes of UTF-8 (compact
 *           JSON object text, "{}" when there is no detail)
 *
 * Lengths count bytes, not characters; strings carry no terminator and are
 * hashed exactly as stored. The entry's hash is
 *
 *   hash = SHA-256(prev_hash || encoding)
 *
 * where prev_hash is the 32-byte hash of the entry with seq - 1, or 32 zero
 * bytes for seq 1. Changing any byte of this format breaks every existing
 * chain: a new format needs a new magic.
 */
#include "store/store-priv.h"

#include <openssl/evp.h>
#include <string.h>

#define MAX_LIST 10000
#define ENTRY_COLS "seq, ts_us, actor, action, target, detail, prev_hash, hash"

static const uint8_t zero_hash[32];

void
vej_audit_entry_free(struct vej_audit_entry *e)
{
    if (e == NULL)
        return;
    g_free(e->actor);
    g_free(e->action);
    g_free(e->target);
    g_free(e->detail);
    g_free(e);
}

static void
put_be64(GByteArray *out, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    g_byte_array_append(out, b, sizeof b);
}

static void
put_string(GByteArray *out, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0;
    g_assert(len <= UINT32_MAX);
    uint8_t b[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    g_byte_array_append(out, b, sizeof b);
    if (len > 0)
        g_byte_array_append(out, (const uint8_t *)s, (guint)len);
}

GBytes *
vej_audit_encode(const struct vej_audit_entry *e)
{
    g_return_val_if_fail(e != NULL, NULL);

    GByteArray *out = g_byte_array_sized_new(64);
    g_byte_array_append(out, (const uint8_t *)"VEJAUDIT1", 9);
    put_be64(out, (uint64_t)e->seq);
    put_be64(out, (uint64_t)e->ts_us);
    put_string(out, e->actor);
    put_string(out, e->action);
    put_string(out, e->target);
    put_string(out, e->detail);
    return g_byte_array_free_to_bytes(out);
}

/* SHA-256(prev_hash || encoding); FALSE only if OpenSSL fails. */
static gboolean
audit_hash(const struct vej_audit_entry *e, uint8_t out[32])
{
    g_autoptr(GBytes) encoding = vej_audit_encode(e);
    gsize len = 0;
    const void *data = g_bytes_get_data(encoding, &len);
    unsigned int out_len = 0;

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    gboolean ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                  EVP_DigestUpdate(ctx, e->prev_hash, 32) == 1 &&
                  EVP_DigestUpdate(ctx, data, len) == 1 &&
                  EVP_DigestFinal_ex(ctx, out, &out_len) == 1 && out_len == 32;
    EVP_MD_CTX_free(ctx);
    return ok;
}

void
vej_audit_compute_hash(const struct vej_audit_entry *e, uint8_t out[32])
{
    g_return_if_fail(e != NULL && out != NULL);
    if (!audit_hash(e, out)) {
        /* Cannot be reported through this signature; the store's own paths
         * use audit_hash() and fail the append instead. */
        g_critical("audit: SHA-256 failed");
        memset(out, 0, 32);
    }
}

static char *
dup_valid_utf8(const char *s, const char *fallback)
{
    if (s == NULL)
        return g_strdup(fallback);
    return g_utf8_make_valid(s, -1);
}

struct vej_audit_entry *
vej__audit_entry_new(const char *actor, const char *action, const char *target,
                     const char *detail_json)
{
    struct vej_audit_entry *e = g_new0(struct vej_audit_entry, 1);
    e->ts_us = g_get_real_time();
    e->actor = dup_valid_utf8(actor, "");
    e->action = dup_valid_utf8(action, "");
    e->target = dup_valid_utf8(target, "");
    e->detail = dup_valid_utf8(detail_json, "{}");
    return e;
}

/* Reads the head inside the caller's transaction (or as one statement). */
static gboolean
read_head(sqlite3 *db, int64_t *seq, uint8_t hash[32], GError **error)
{
    g_autoptr(vej__cached_stmt) stmt = vej__sqlite_prepare_cached(
        db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", error);
    if (stmt == NULL)
        return FALSE;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        *seq = 0;
        memset(hash, 0, 32);
        return TRUE;
    }
    if (rc != SQLITE_ROW) {
        vej__sqlite_set_error(db, rc, "reading the audit head", error);
        return FALSE;
    }
    if (sqlite3_column_bytes(stmt, 1) != 32) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT,
                    "audit entry %" G_GINT64_FORMAT " has a malformed hash",
                    (gint64)sqlite3_column_int64(stmt, 0));
        return FALSE;
    }
    *seq = sqlite3_column_int64(stmt, 0);
    memcpy(hash, sqlite3_column_blob(stmt, 1), 32);
    return TRUE;
}

/* Chains and inserts the entries inside an open transaction. */
static gboolean
insert_entries(sqlite3 *db, struct vej_audit_entry *const *entries, guint n, GError **error)
{
    int64_t seq = 0;
    uint8_t prev[32];

    if (!read_head(db, &seq, prev, error))
        return FALSE;
    g_autoptr(vej__cached_stmt) stmt = vej__sqlite_prepare_cached(
        db, "INSERT INTO audit_log (" ENTRY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        error);
    if (stmt == NULL)
        return FALSE;
    for (guint i = 0; i < n; i++) {
        struct vej_audit_entry *e = entries[i];
        e->seq = ++seq;
        memcpy(e->prev_hash, prev, 32);
        if (!audit_hash(e, e->hash)) {
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED, "SHA-256 failed");
            return FALSE;
        }
        if (!vej__sqlite_bind(db, stmt, error, "iittttbb", e->seq, e->ts_us, e->actor, e->action,
                              e->target, e->detail, e->prev_hash, e->hash))
            return FALSE;
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) {
            vej__sqlite_set_error(db, rc, "appending to the audit log", error);
            return FALSE;
        }
        rc = sqlite3_reset(stmt);
        if (rc != SQLITE_OK) {
            vej__sqlite_set_error(db, rc, "appending to the audit log", error);
            return FALSE;
        }
        memcpy(prev, e->hash, 32);
    }
    return TRUE;
}

gboolean
vej__audit_commit(sqlite3 *db, struct vej_audit_entry *const *entries, guint n, GError **error)
{
    if (!vej__sqlite_begin_immediate(db, error))
        return FALSE;
    /* The head is read under the write lock, so appends from another
     * connection (vejctl) chain correctly between our batches. */
    if (!insert_entries(db, entries, n, error) || !vej__sqlite_exec(db, "COMMIT", error)) {
        vej__sqlite_rollback(db);
        return FALSE;
    }
    return TRUE;
}

static sqlite3 *
open_audit_db(const char *path, GError **error)
{
    return vej__sqlite_open(path, false, VEJ__SYNC_FULL, error);
}

gboolean
vej_audit_append_sync(const char *path, const char *actor, const char *action, const char *target,
                      const char *detail_json, GError **error)
{
    g_return_val_if_fail(path != NULL && actor != NULL && action != NULL, FALSE);

    g_autoptr(sqlite3) db = open_audit_db(path, error);
    if (db == NULL)
        return FALSE;
    g_autoptr(vej_audit_entry) e = vej__audit_entry_new(actor, action, target, detail_json);
    struct vej_audit_entry *batch[1] = {e};
    return vej__audit_commit(db, batch, 1, error);
}

gboolean
vej_audit_head(const char *path, int64_t *seq, uint8_t hash[32], GError **error)
{
    g_return_val_if_fail(path != NULL && seq != NULL && hash != NULL, FALSE);

    g_autoptr(sqlite3) db = open_audit_db(path, error);
    if (db == NULL)
        return FALSE;
    return read_head(db, seq, hash, error);
}

/* Reads a row of ENTRY_COLS. Hashes of the wrong size are CORRUPT. */
static struct vej_audit_entry *
entry_from_row(sqlite3_stmt *stmt, GError **error)
{
    int64_t seq = sqlite3_column_int64(stmt, 0);
    if (sqlite3_column_bytes(stmt, 6) != 32 || sqlite3_column_bytes(stmt, 7) != 32) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT,
                    "audit entry %" G_GINT64_FORMAT " has a malformed hash", (gint64)seq);
        return NULL;
    }
    struct vej_audit_entry *e = g_new0(struct vej_audit_entry, 1);
    e->seq = seq;
    e->ts_us = sqlite3_column_int64(stmt, 1);
    e->actor = vej__sqlite_column_dup(stmt, 2);
    e->action = vej__sqlite_column_dup(stmt, 3);
    e->target = vej__sqlite_column_dup(stmt, 4);
    e->detail = vej__sqlite_column_dup(stmt, 5);
    memcpy(e->prev_hash, sqlite3_column_blob(stmt, 6), 32);
    memcpy(e->hash, sqlite3_column_blob(stmt, 7), 32);
    return e;
}

GPtrArray *
vej_audit_list(const char *path, int64_t from_us, int64_t to_us, int64_t after_seq, int limit,
               GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    if (limit < 1 || limit > MAX_LIST) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "audit list limit %d is outside 1..%d", limit, MAX_LIST);
        return NULL;
    }
    g_autoptr(sqlite3) db = open_audit_db(path, error);
    if (db == NULL)
        return NULL;
    g_autoptr(sqlite3_stmt) stmt =
        vej__sqlite_prepare(db,
                            "SELECT " ENTRY_COLS " FROM audit_log WHERE seq > ?1 "
                            "AND (?2 = 0 OR ts_us >= ?2) AND (?3 = 0 OR ts_us < ?3) "
                            "ORDER BY seq LIMIT ?4",
                            error);
    if (stmt == NULL ||
        !vej__sqlite_bind(db, stmt, error, "iiii", after_seq, from_us, to_us, (int64_t)limit))
        return NULL;

    g_autoptr(GPtrArray) entries =
        g_ptr_array_new_with_free_func((GDestroyNotify)vej_audit_entry_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct vej_audit_entry *e = entry_from_row(stmt, error);
        if (e == NULL)
            return NULL;
        g_ptr_array_add(entries, e);
    }
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "listing the audit log", error);
        return NULL;
    }
    return g_steal_pointer(&entries);
}

/* The text columns of a row of ENTRY_COLS are text, and hold no NUL: a NUL
 * would hide the bytes after it from the C strings that are hashed, so the
 * stored bytes must be exactly the hashed bytes. Called before any other
 * column access converts a value. */
static bool
row_text_ok(sqlite3_stmt *stmt)
{
    for (int col = 2; col <= 5; col++) {
        if (sqlite3_column_type(stmt, col) != SQLITE_TEXT)
            return false;
        const char *text = (const char *)sqlite3_column_text(stmt, col);
        if (text == NULL || strlen(text) != (size_t)sqlite3_column_bytes(stmt, col))
            return false;
    }
    return true;
}

/* Why an entry breaks the chain, or NULL when it is sound. `prev` is the
 * stored hash of the entry before it. */
static const char *
check_entry(const struct vej_audit_entry *e, int64_t expected_seq, const uint8_t prev[32])
{
    uint8_t hash[32];

    if (e->seq != expected_seq)
        return "sequence gap";
    if (memcmp(e->prev_hash, prev, 32) != 0)
        return "link to the previous entry is broken";
    if (!audit_hash(e, hash))
        return "SHA-256 failed";
    if (memcmp(hash, e->hash, 32) != 0)
        return "hash does not match the entry";
    return NULL;
}

/* Walks the chain in seq order from the genesis entry. */
static gboolean
walk_chain(sqlite3 *db, int64_t *checked, int64_t *bad, GError **error)
{
    uint8_t prev[32];
    int rc;

    memcpy(prev, zero_hash, 32);
    /* One statement reads one consistent snapshot (WAL), however long the
     * walk takes and whoever appends meanwhile. */
    g_autoptr(sqlite3_stmt) stmt =
        vej__sqlite_prepare(db, "SELECT " ENTRY_COLS " FROM audit_log ORDER BY seq", error);
    if (stmt == NULL)
        return FALSE;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        (*checked)++;
        g_autoptr(vej_audit_entry) e = NULL;
        const char *why = NULL;
        if (!row_text_ok(stmt))
            why = "malformed text";
        else if ((e = entry_from_row(stmt, NULL)) == NULL)
            why = "malformed hash";
        else
            why = check_entry(e, *checked, prev);
        if (why != NULL) {
            *bad = sqlite3_column_int64(stmt, 0);
            g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT,
                        "audit chain broken at seq %" G_GINT64_FORMAT ": %s", (gint64)*bad, why);
            return FALSE;
        }
        memcpy(prev, e->hash, 32);
    }
    if (rc != SQLITE_DONE) {
        vej__sqlite_set_error(db, rc, "reading the audit log", error);
        return FALSE;
    }
    return TRUE;
}

gboolean
vej_audit_verify(const char *path, int64_t *count, int64_t *first_bad, GError **error)
{
    g_return_val_if_fail(path != NULL, FALSE);
    int64_t checked = 0, bad = 0;
    gboolean ok = FALSE;

    g_autoptr(sqlite3) db = open_audit_db(path, error);
    if (db != NULL)
        ok = walk_chain(db, &checked, &bad, error);
    if (count != NULL)
        *count = checked;
    if (first_bad != NULL)
        *first_bad = bad;
    return ok;
}
