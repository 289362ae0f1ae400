/* rest-users.c - staff accounts for admins: list, create, change, reset,
 * revoke (docs/api.md "Accounts").
 *
 * Routes are rows of rest.c's table (admin only). Invariants:
 * - Disabling an account, or changing its role or its courtrooms, revokes
 *   its staff tokens and ends its WebSocket sessions before the answer, so
 *   no session outlives the rights it was opened with.
 * - One-time passwords are 128 random bits, shown once in the answer,
 *   stored only as a password hash (computed on the hashing pool), and must
 *   be changed at first login.
 * - An admin cannot disable itself or change its own role (no lock-out).
 * - Everything is audited with ids only: no username, no password.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "signalling/rest.h"
#include "signalling/token.h"
#include "store/password.h"

#define server_of(r) vej__http_server(r)
#define MAX_COURTROOMS 256

static json_t *
user_json(struct vej_signalling *s, const struct vej_user *u)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) crts = vej_store_user_courtrooms(s->store, u->id, &error);
    json_t *list = json_array();
    for (guint i = 0; crts && i < crts->len; i++)
        json_array_append_new(list, json_string(crts->pdata[i]));
    struct vej_totp_state totp = {0};
    bool totp_on = vej_store_user_totp_get(s->store, u->id, &totp, NULL) && totp.enabled;
    if (totp.secret)
        OPENSSL_cleanse(totp.secret, strlen(totp.secret));
    g_free(totp.secret);
    g_autofree char *created = vej__rfc3339(u->created_at);
    return json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:o,s:s}", "id", u->id, "username", u->username,
                     "role", u->role, "disabled", u->disabled, "must_change_password",
                     u->must_change_password, "totp_enabled", totp_on, "courtrooms", list,
                     "created_at", created);
}

static bool
role_valid(const char *role)
{
    return role && vej__staff_role_bit(role) != 0;
}

static bool
username_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("._@-", name[i]))
            return false;
    return true;
}

/* Checks a `courtrooms` member: an array of existing crt_ ids (deduplicated
 * into *out, (transfer full)). FALSE after answering the error. */
static bool
courtrooms_param(struct vej_http_req *r, json_t *v, GPtrArray **out)
{
    if (!json_is_array(v) || json_array_size(v) > MAX_COURTROOMS) {
        vej__rest_field_error(r, "courtrooms", "must be an array of at most 256 crt_ ids");
        return false;
    }
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *id = json_string_value(e);
        if (!id || !vej_id_valid(id, "crt_")) {
            vej__rest_field_error(r, "courtrooms", "entries must be crt_ ids");
            return false;
        }
        g_autoptr(GError) error = NULL;
        g_autoptr(vej_courtroom) c = vej_store_courtroom_get(server_of(r)->store, id, &error);
        if (!c) {
            vej__rest_store_error(r, error, "courtroom");
            return false;
        }
        bool dup = false;
        for (guint j = 0; j < ids->len && !dup; j++)
            dup = strcmp(ids->pdata[j], id) == 0;
        if (!dup)
            g_ptr_array_add(ids, g_strdup(id));
    }
    *out = g_steal_pointer(&ids);
    return true;
}

static json_t *
ids_json(GPtrArray *ids)
{
    json_t *a = json_array();
    for (guint i = 0; ids && i < ids->len; i++)
        json_array_append_new(a, json_string(ids->pdata[i]));
    return a;
}

/* Ends everything an account holds: staff tokens and WebSocket sessions. */
static bool
end_account_sessions(struct vej_signalling *s, const char *user_id, const char *reason)
{
    g_autoptr(GError) error = NULL;
    if (!vej_store_staff_session_revoke_user(s->store, user_id, &error)) {
        g_warning("revoking the sessions of %s: %s", user_id, error->message);
        return false;
    }
    vej__end_staff_sessions(s, user_id, NULL, reason);
    return true;
}

/* ---- GET /users ---- */

void
vej__rest_user_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    char cursor[128] = "";
    vej__http_query(r, "cursor", cursor, sizeof cursor);
    int limit = vej__rest_page_limit(r);
    if (limit < 0)
        return vej__rest_field_error(r, "limit", "must be an integer from 1 to 200");
    g_autoptr(GError) error = NULL;
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) rows =
        vej_store_user_list(s->store, *cursor ? cursor : NULL, limit, &next, &error);
    if (!rows)
        return vej__rest_store_error(r, error, "user");
    json_t *items = json_array();
    for (guint i = 0; i < rows->len; i++)
        json_array_append_new(items, user_json(s, rows->pdata[i]));
    vej__audit(s, user->id, "user.list", "", NULL);
    vej__http_respond_json(r, 200,
                           json_pack("{s:o,s:o}", "items", items, "next_cursor",
                                     next ? json_string(next) : json_null()));
}

/* ---- one-time passwords (hashed on the pool) ---- */

struct otp_job {
    uint64_t req_id;
    char *actor;
    char *user_id;  /* reset: the account; create: NULL until created */
    char *username; /* create */
    char *role;     /* create */
    GPtrArray *courtrooms;
    char password[44];
    char *encoded;
};

static void
otp_job_free(struct otp_job *j)
{
    OPENSSL_cleanse(j->password, sizeof j->password);
    if (j->encoded)
        OPENSSL_cleanse(j->encoded, strlen(j->encoded));
    g_free(j->encoded);
    g_free(j->actor);
    g_free(j->user_id);
    g_free(j->username);
    g_free(j->role);
    if (j->courtrooms)
        g_ptr_array_unref(j->courtrooms);
    g_free(j);
}

static void
otp_work(void *data)
{
    struct otp_job *j = data;
    j->encoded = vej_password_hash(j->password, NULL);
}

static struct otp_job *
otp_job_new(struct vej_http_req *r, const struct vej_user *actor)
{
    struct otp_job *j = g_new0(struct otp_job, 1);
    /* 22 characters of base64url: 132 random bits, over the 12-character
     * minimum of the password policy. */
    if (!vej_opaque_token_new(j->password)) {
        g_free(j);
        return NULL;
    }
    j->password[22] = 0;
    j->req_id = vej__http_req_id(r);
    j->actor = g_strdup(actor->id);
    return j;
}

static void
create_done(struct vej_signalling *s, void *data)
{
    struct otp_job *j = data;
    struct vej_http_req *r = vej__http_req_lookup(s, j->req_id);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) u = NULL;
    if (j->encoded)
        u = vej_store_user_create(s->store, j->username, j->role, j->encoded, true, &error);
    if (u &&
        !vej_store_user_set_courtrooms(s->store, u->id, (const char *const *)j->courtrooms->pdata,
                                       j->courtrooms->len, &error))
        g_clear_pointer(&u, vej_user_free);
    if (!u) {
        if (r)
            vej__rest_store_error(r, error, "user");
        otp_job_free(j);
        return;
    }
    vej__audit(s, j->actor, "user.create", u->id,
               json_pack("{s:s,s:o}", "role", u->role, "courtrooms", ids_json(j->courtrooms)));
    if (r) {
        json_t *out = user_json(s, u);
        json_object_set_new(out, "password", json_string(j->password));
        vej__http_respond_json(r, 201, out);
    }
    otp_job_free(j);
}

/* ---- POST /users ---- */

void
vej__rest_user_create(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "username") != 0 && strcmp(key, "role") != 0 &&
            strcmp(key, "courtrooms") != 0)
            return vej__rest_field_error(r, key, "unknown member");
    }
    const char *name = json_string_value(json_object_get(body, "username"));
    if (!username_valid(name))
        return vej__rest_field_error(r, "username",
                                     "1 to 64 letters, digits and . _ @ - are required");
    const char *role = json_string_value(json_object_get(body, "role"));
    if (!role_valid(role))
        return vej__rest_field_error(r, "role", "must be clerk, judge, evidential or admin");
    g_autoptr(GPtrArray) crts = NULL;
    json_t *cv = json_object_get(body, "courtrooms");
    if (cv && !courtrooms_param(r, cv, &crts))
        return;
    if (!crts)
        crts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) taken = vej_store_user_get_by_name(s->store, name, &error);
    if (taken)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT, "username: already taken");
    struct otp_job *j = otp_job_new(r, user);
    if (!j)
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "no randomness");
    j->username = g_strdup(name);
    j->role = g_strdup(role);
    j->courtrooms = g_steal_pointer(&crts);
    if (!vej__hash_submit(s, otp_work, create_done, j)) {
        otp_job_free(j);
        vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "the server is busy; try again");
    }
}

/* ---- PATCH /users/{id} ---- */

static bool
same_ids(GPtrArray *a, GPtrArray *b)
{
    if (a->len != b->len)
        return false;
    for (guint i = 0; i < a->len; i++) {
        bool found = false;
        for (guint k = 0; k < b->len && !found; k++)
            found = strcmp(a->pdata[i], b->pdata[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

void
vej__rest_user_patch(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "disabled") != 0 && strcmp(key, "role") != 0 &&
            strcmp(key, "courtrooms") != 0)
            return vej__rest_field_error(r, key, "cannot be changed");
    }
    json_t *dv = json_object_get(body, "disabled");
    if (dv && !json_is_boolean(dv))
        return vej__rest_field_error(r, "disabled", "must be a boolean");
    json_t *rv = json_object_get(body, "role");
    const char *role = rv ? json_string_value(rv) : NULL;
    if (rv && !role_valid(role))
        return vej__rest_field_error(r, "role", "must be clerk, judge, evidential or admin");
    g_autoptr(GPtrArray) crts = NULL;
    json_t *cv = json_object_get(body, "courtrooms");
    if (cv && !courtrooms_param(r, cv, &crts))
        return;
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) target = vej_store_user_get(s->store, ids[0], &error);
    if (!target)
        return vej__rest_store_error(r, error, "user");
    bool self = strcmp(target->id, user->id) == 0;
    if (self && ((dv && json_is_true(dv)) || (role && strcmp(role, target->role) != 0)))
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "an admin cannot disable itself or change its own role");
    g_autoptr(GPtrArray) before = vej_store_user_courtrooms(s->store, target->id, &error);
    if (!before)
        return vej__rest_store_error(r, error, "user");
    bool disabling = dv && json_is_true(dv) && !target->disabled;
    bool role_changed = role && strcmp(role, target->role) != 0;
    bool crts_changed = crts && !same_ids(crts, before);
    if (!vej_store_user_update(s->store, target->id, dv ? json_is_true(dv) : -1, role, &error) ||
        (crts && !vej_store_user_set_courtrooms(
                     s->store, target->id, (const char *const *)crts->pdata, crts->len, &error)))
        return vej__rest_store_error(r, error, "user");
    json_t *detail = json_object();
    if (dv)
        json_object_set_new(detail, "disabled", json_boolean(json_is_true(dv)));
    if (role)
        json_object_set_new(detail, "role", json_string(role));
    if (crts)
        json_object_set_new(detail, "courtrooms", ids_json(crts));
    vej__audit(s, user->id, "user.update", target->id, detail);
    /* Rights went down or moved: nothing opened with the old ones survives. */
    if ((disabling || role_changed || crts_changed) &&
        !end_account_sessions(s, target->id, disabling ? "account_disabled" : "account_changed"))
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot revoke the sessions");
    g_autoptr(vej_user) fresh = vej_store_user_get(s->store, target->id, &error);
    if (!fresh)
        return vej__rest_store_error(r, error, "user");
    vej__http_respond_json(r, 200, user_json(s, fresh));
}

/* ---- POST /users/{id}/password-reset ---- */

static void
reset_done(struct vej_signalling *s, void *data)
{
    struct otp_job *j = data;
    struct vej_http_req *r = vej__http_req_lookup(s, j->req_id);
    g_autoptr(GError) error = NULL;
    if (!j->encoded ||
        !vej_store_user_set_password(s->store, j->user_id, j->encoded, true, &error) ||
        !end_account_sessions(s, j->user_id, "password_reset")) {
        if (r)
            vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot reset the password");
        otp_job_free(j);
        return;
    }
    vej__audit(s, j->actor, "user.password_reset", j->user_id, NULL);
    if (r)
        vej__http_respond_json(r, 200,
                               json_pack("{s:s,s:s,s:b}", "id", j->user_id, "password", j->password,
                                         "must_change_password", true));
    otp_job_free(j);
}

void
vej__rest_user_password_reset(struct vej_http_req *r, struct vej_user *user, char *ids[],
                              json_t *body)
{
    struct vej_signalling *s = server_of(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) target = vej_store_user_get(s->store, ids[0], &error);
    if (!target)
        return vej__rest_store_error(r, error, "user");
    struct otp_job *j = otp_job_new(r, user);
    if (!j)
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "no randomness");
    j->user_id = g_strdup(target->id);
    if (!vej__hash_submit(s, otp_work, reset_done, j)) {
        otp_job_free(j);
        vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "the server is busy; try again");
    }
}

/* ---- POST /users/{id}/sessions/revoke ---- */

void
vej__rest_user_revoke(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) target = vej_store_user_get(s->store, ids[0], &error);
    if (!target)
        return vej__rest_store_error(r, error, "user");
    if (!end_account_sessions(s, target->id, "sessions_revoked"))
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot revoke the sessions");
    vej__audit(s, user->id, "user.sessions_revoke", target->id, NULL);
    vej__http_respond_json(r, 200, json_object());
}
