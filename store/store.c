/* store.c - the vej_store_* API: picks a backend and dispatches to it.
 *
 * Arguments that are programming errors (NULL store or ids) are caught by
 * g_return_val_if_fail here, so backends may assume them; values that come
 * from users (names, JSON, limits) are checked by the backend or here and
 * reported through GError.
 */
#include "store/store-priv.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

/* Pages are capped so that one request cannot make the store build an
 * unbounded array. */
#define MAX_PAGE 1000

struct vej_store {
    const struct vej_store_backend *backend;
    void *impl;
};

/* How vej_store_open() picks a backend: the first entry whose prefix starts
 * the path. A NULL backend is a scheme this build does not support; the
 * last entry (no prefix) is the default, a SQLite file name. */
static const struct {
    const char *prefix;
    const struct vej_store_backend *backend;
} backends[] = {
    {"postgresql://", NULL},
    {"postgres://", NULL},
    {"", &vej_store_sqlite_backend},
};

/* clang-format off */
G_DEFINE_QUARK(vej-store-error-quark, vej_store_error)
/* clang-format on */

gboolean
vej__store_new_id(const char *prefix, char out[VEJ__ID_SIZE], GError **error)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t random[16];

    g_assert(strlen(prefix) == 4);
    if (RAND_bytes(random, sizeof random) != 1) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED, "the random generator failed");
        return FALSE;
    }
    memcpy(out, prefix, 4);
    /* 128 bits, 5 at a time, most significant first; the 26th character
     * holds the last 3 bits and two zero bits. */
    uint32_t acc = 0;
    int bits = 0, n = 4;
    for (size_t i = 0; i < sizeof random; i++) {
        acc = (acc << 8) | random[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[n++] = alphabet[(acc >> bits) & 31];
        }
    }
    out[n++] = alphabet[(acc << (5 - bits)) & 31];
    out[n] = '\0';
    g_assert(n == VEJ__ID_SIZE - 1);
    return TRUE;
}

vej_store *
vej_store_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);

    const struct vej_store_backend *backend = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        if (g_str_has_prefix(path, backends[i].prefix)) {
            backend = backends[i].backend;
            if (backend == NULL) {
                g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                            "%s: this build has no backend for %s databases", path,
                            backends[i].prefix);
                return NULL;
            }
            break;
        }
    }
    g_assert(backend != NULL); /* the last entry matches every path */
    void *impl = backend->open(path, error);
    if (impl == NULL)
        return NULL;
    vej_store *store = g_new0(vej_store, 1);
    store->backend = backend;
    store->impl = impl;
    return store;
}

void
vej_store_close(vej_store *store)
{
    if (store == NULL)
        return;
    store->backend->close(store->impl);
    g_free(store);
}

int
vej_store_schema_version(vej_store *store)
{
    g_return_val_if_fail(store != NULL, -1);
    return store->backend->schema_version(store->impl);
}

static gboolean
check_page(int limit, char **next_cursor, GError **error)
{
    if (next_cursor != NULL)
        *next_cursor = NULL;
    if (limit < 1 || limit > MAX_PAGE) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "page limit %d is outside 1..%d", limit, MAX_PAGE);
        return FALSE;
    }
    return TRUE;
}

struct vej_user *
vej_store_user_create(vej_store *s, const char *username, const char *role,
                      const char *password_hash, bool must_change_password, GError **error)
{
    g_return_val_if_fail(s != NULL && username != NULL && role != NULL, NULL);
    g_return_val_if_fail(password_hash != NULL, NULL);
    return s->backend->user_create(s->impl, username, role, password_hash, must_change_password,
                                   error);
}

struct vej_user *
vej_store_user_get(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, NULL);
    return s->backend->user_get(s->impl, id, error);
}

struct vej_user *
vej_store_user_get_by_name(vej_store *s, const char *username, GError **error)
{
    g_return_val_if_fail(s != NULL && username != NULL, NULL);
    return s->backend->user_get_by_name(s->impl, username, error);
}

gboolean
vej_store_user_set_password(vej_store *s, const char *id, const char *password_hash,
                            bool must_change_password, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL && password_hash != NULL, FALSE);
    return s->backend->user_set_password(s->impl, id, password_hash, must_change_password, error);
}

int64_t
vej_store_user_count(vej_store *s, GError **error)
{
    g_return_val_if_fail(s != NULL, -1);
    return s->backend->user_count(s->impl, error);
}

gboolean
vej_store_staff_session_create(vej_store *s, const uint8_t token_hash[32], const char *user_id,
                               int64_t expires_at, GError **error)
{
    g_return_val_if_fail(s != NULL && token_hash != NULL && user_id != NULL, FALSE);
    return s->backend->staff_session_create(s->impl, token_hash, user_id, expires_at, error);
}

struct vej_staff_session *
vej_store_staff_session_get(vej_store *s, const uint8_t token_hash[32], GError **error)
{
    g_return_val_if_fail(s != NULL && token_hash != NULL, NULL);
    return s->backend->staff_session_get(s->impl, token_hash, error);
}

gboolean
vej_store_staff_session_revoke(vej_store *s, const uint8_t token_hash[32], GError **error)
{
    g_return_val_if_fail(s != NULL && token_hash != NULL, FALSE);
    return s->backend->staff_session_revoke(s->impl, token_hash, error);
}

gboolean
vej_store_staff_session_revoke_user(vej_store *s, const char *user_id, GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL, FALSE);
    return s->backend->staff_session_revoke_user(s->impl, user_id, error);
}

struct vej_courtroom *
vej_store_courtroom_create(vej_store *s, const char *name, int retention_days,
                           const char *time_zone, GError **error)
{
    g_return_val_if_fail(s != NULL && name != NULL && time_zone != NULL, NULL);
    return s->backend->courtroom_create(s->impl, name, retention_days, time_zone, error);
}

struct vej_courtroom *
vej_store_courtroom_get(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, NULL);
    return s->backend->courtroom_get(s->impl, id, error);
}

GPtrArray *
vej_store_courtroom_list(vej_store *s, const char *after, int limit, char **next_cursor,
                         GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_page(limit, next_cursor, error))
        return NULL;
    return s->backend->courtroom_list(s->impl, after, limit, next_cursor, error);
}

struct vej_hearing_row *
vej_store_hearing_create(vej_store *s, const char *courtroom_id, const char *case_reference,
                         const char *title, int64_t starts_at, int64_t ends_at, GError **error)
{
    g_return_val_if_fail(s != NULL && courtroom_id != NULL, NULL);
    g_return_val_if_fail(case_reference != NULL && title != NULL, NULL);
    return s->backend->hearing_create(s->impl, courtroom_id, case_reference, title, starts_at,
                                      ends_at, error);
}

struct vej_hearing_row *
vej_store_hearing_get(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, NULL);
    return s->backend->hearing_get(s->impl, id, error);
}

GPtrArray *
vej_store_hearing_list(vej_store *s, const char *courtroom_id, int64_t from, int64_t to,
                       const char *after, int limit, char **next_cursor, GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_page(limit, next_cursor, error))
        return NULL;
    return s->backend->hearing_list(s->impl, courtroom_id, from, to, after, limit, next_cursor,
                                    error);
}

gboolean
vej_store_hearing_set_state(vej_store *s, const char *id, const char *state, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL && state != NULL, FALSE);
    return s->backend->hearing_set_state(s->impl, id, state, error);
}

struct vej_participant_row *
vej_store_participant_create(vej_store *s, const char *hearing_id, const char *display_name,
                             const char *role, const char *special_measures_json,
                             const char *user_id, GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL, NULL);
    g_return_val_if_fail(display_name != NULL && role != NULL, NULL);
    return s->backend->participant_create(s->impl, hearing_id, display_name, role,
                                          special_measures_json, user_id, error);
}

struct vej_participant_row *
vej_store_participant_get(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, NULL);
    return s->backend->participant_get(s->impl, id, error);
}

GPtrArray *
vej_store_participant_list(vej_store *s, const char *hearing_id, GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL, NULL);
    return s->backend->participant_list(s->impl, hearing_id, error);
}

struct vej_participant_row *
vej_store_participant_get_by_user(vej_store *s, const char *hearing_id, const char *user_id,
                                  GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL && user_id != NULL, NULL);
    return s->backend->participant_get_by_user(s->impl, hearing_id, user_id, error);
}

gboolean
vej_store_participant_update(vej_store *s, const char *id, const char *display_name,
                             const char *special_measures_json, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, FALSE);
    return s->backend->participant_update(s->impl, id, display_name, special_measures_json, error);
}

int64_t
vej_store_participant_bump_token(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, -1);
    return s->backend->participant_bump_token(s->impl, id, error);
}

gboolean
vej_store_participant_remove(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, FALSE);
    return s->backend->participant_remove(s->impl, id, error);
}

GHashTable *
vej_store_hearing_mutes(vej_store *s, const char *hearing_id, GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL, NULL);
    return s->backend->hearing_mutes(s->impl, hearing_id, error);
}

/* ---- accounts and courtroom scope, second factor ---- */

GPtrArray *
vej_store_user_list(vej_store *s, const char *after, int limit, char **next_cursor, GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_page(limit, next_cursor, error))
        return NULL;
    return s->backend->user_list(s->impl, after, limit, next_cursor, error);
}

gboolean
vej_store_user_update(vej_store *s, const char *id, int disabled, const char *role, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, FALSE);
    return s->backend->user_update(s->impl, id, disabled, role, error);
}

GPtrArray *
vej_store_user_courtrooms(vej_store *s, const char *user_id, GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL, NULL);
    return s->backend->user_courtrooms(s->impl, user_id, error);
}

gboolean
vej_store_user_set_courtrooms(vej_store *s, const char *user_id, const char *const *courtroom_ids,
                              guint n, GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL && (n == 0 || courtroom_ids), FALSE);
    return s->backend->user_set_courtrooms(s->impl, user_id, courtroom_ids, n, error);
}

gboolean
vej_store_user_assign_courtroom(vej_store *s, const char *user_id, const char *courtroom_id,
                                GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL && courtroom_id != NULL, FALSE);
    return s->backend->user_assign_courtroom(s->impl, user_id, courtroom_id, error);
}

gboolean
vej_store_user_may_act(vej_store *s, const char *user_id, const char *courtroom_id, GError **error)
{
    g_return_val_if_fail(s != NULL, FALSE);
    if (user_id == NULL || courtroom_id == NULL)
        return FALSE;
    return s->backend->user_may_act(s->impl, user_id, courtroom_id, error);
}

GPtrArray *
vej_store_courtroom_list_scoped(vej_store *s, const char *scope_user_id, const char *after,
                                int limit, char **next_cursor, GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_page(limit, next_cursor, error))
        return NULL;
    return s->backend->courtroom_list_scoped(s->impl, scope_user_id, after, limit, next_cursor,
                                             error);
}

GPtrArray *
vej_store_hearing_list_scoped(vej_store *s, const char *scope_user_id, const char *courtroom_id,
                              int64_t from, int64_t to, const char *after, int limit,
                              char **next_cursor, GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_page(limit, next_cursor, error))
        return NULL;
    return s->backend->hearing_list_scoped(s->impl, scope_user_id, courtroom_id, from, to, after,
                                           limit, next_cursor, error);
}

gboolean
vej_store_user_totp_get(vej_store *s, const char *user_id, struct vej_totp_state *out,
                        GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL && out != NULL, FALSE);
    memset(out, 0, sizeof *out);
    return s->backend->user_totp_get(s->impl, user_id, out, error);
}

gboolean
vej_store_user_totp_set(vej_store *s, const char *user_id, const char *secret, bool enabled,
                        GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL, FALSE);
    return s->backend->user_totp_set(s->impl, user_id, secret, enabled, error);
}

gboolean
vej_store_user_totp_use_step(vej_store *s, const char *user_id, int64_t step, GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL, FALSE);
    return s->backend->user_totp_use_step(s->impl, user_id, step, error);
}

gboolean
vej_store_recovery_codes_set(vej_store *s, const char *user_id, const uint8_t (*hashes)[32],
                             guint n, GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL && (n == 0 || hashes), FALSE);
    return s->backend->recovery_codes_set(s->impl, user_id, hashes, n, error);
}

gboolean
vej_store_recovery_code_use(vej_store *s, const char *user_id, const uint8_t hash[32],
                            GError **error)
{
    g_return_val_if_fail(s != NULL && user_id != NULL && hash != NULL, FALSE);
    return s->backend->recovery_code_use(s->impl, user_id, hash, error);
}

void
vej_user_free(struct vej_user *u)
{
    if (u == NULL)
        return;
    g_free(u->id);
    g_free(u->username);
    g_free(u->role);
    /* A password hash is not the password, but there is no reason to leave
     * it in freed memory either. */
    if (u->password_hash != NULL)
        OPENSSL_cleanse(u->password_hash, strlen(u->password_hash));
    g_free(u->password_hash);
    g_free(u);
}

void
vej_staff_session_free(struct vej_staff_session *s)
{
    if (s == NULL)
        return;
    g_free(s->user_id);
    g_free(s);
}

void
vej_courtroom_free(struct vej_courtroom *c)
{
    if (c == NULL)
        return;
    g_free(c->id);
    g_free(c->name);
    g_free(c->time_zone);
    g_free(c);
}

void
vej_hearing_row_free(struct vej_hearing_row *h)
{
    if (h == NULL)
        return;
    g_free(h->id);
    g_free(h->courtroom_id);
    g_free(h->case_reference);
    g_free(h->title);
    g_free(h->state);
    g_free(h);
}

void
vej_participant_row_free(struct vej_participant_row *p)
{
    if (p == NULL)
        return;
    g_free(p->id);
    g_free(p->hearing_id);
    g_free(p->display_name);
    g_free(p->role);
    g_free(p->special_measures);
    g_free(p->user_id);
    g_free(p);
}

/* ---- recordings ---- */

struct vej_recording_row *
vej_store_recording_create(vej_store *s, const char *id, const char *hearing_id,
                           const char *courtroom_id, const char *case_reference,
                           int64_t started_at, GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL && courtroom_id != NULL, NULL);
    return s->backend->recording_create(s->impl, id, hearing_id, courtroom_id,
                                        case_reference ? case_reference : "", started_at, error);
}

struct vej_recording_row *
vej_store_recording_get(vej_store *s, const char *id, GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL, NULL);
    return s->backend->recording_get(s->impl, id, error);
}

struct vej_recording_row *
vej_store_recording_get_by_hearing(vej_store *s, const char *hearing_id, GError **error)
{
    g_return_val_if_fail(s != NULL && hearing_id != NULL, NULL);
    return s->backend->recording_get_by_hearing(s->impl, hearing_id, error);
}

GPtrArray *
vej_store_recording_list(vej_store *s, const struct vej_recording_filter *filter,
                         const char *after, int limit, char **next_cursor, GError **error)
{
    g_return_val_if_fail(s != NULL && filter != NULL, NULL);
    if (next_cursor != NULL)
        *next_cursor = NULL;
    return s->backend->recording_list(s->impl, filter, after, limit, next_cursor, error);
}

gboolean
vej_store_recording_update(vej_store *s, const char *id, const struct vej_recording_update *u,
                           GError **error)
{
    g_return_val_if_fail(s != NULL && id != NULL && u != NULL, FALSE);
    return s->backend->recording_update(s->impl, id, u, error);
}

GPtrArray *
vej_store_recording_list_expired(vej_store *s, int64_t now, int limit, GError **error)
{
    g_return_val_if_fail(s != NULL && limit > 0, NULL);
    return s->backend->recording_list_expired(s->impl, now, limit, error);
}

void
vej_recording_row_free(struct vej_recording_row *r)
{
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->hearing_id);
    g_free(r->courtroom_id);
    g_free(r->case_reference);
    g_free(r->state);
    g_free(r->dir);
    g_free(r->legal_hold_reason);
    g_free(r->legal_hold_by);
    g_free(r);
}
