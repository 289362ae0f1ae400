/* auth.c - staff logins and sessions, join tokens.
 *
 * Passwords are hashed on the hashing pool, never on this thread; an
 * unknown username hashes a dummy so the answer takes as long. Logins are
 * throttled per username, per (username, address) and per address, with
 * backoff (limits.c), the hashing queue is bounded, and every failure is
 * audited. Staff tokens are 256-bit random strings
 * stored only as SHA-256; join tokens are JWS (token.c) checked against the
 * participant row (removed, reissued).
 */
#include "signalling/signalling-priv.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <string.h>

#include "signalling/token.h"
#include "signalling/totp.h"
#include "store/password.h"

unsigned
vej__staff_role_bit(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "clerk") == 0)
        return VEJ_STAFF_CLERK;
    if (strcmp(role, "judge") == 0)
        return VEJ_STAFF_JUDGE;
    if (strcmp(role, "evidential") == 0)
        return VEJ_STAFF_EVIDENTIAL;
    if (strcmp(role, "admin") == 0)
        return VEJ_STAFF_ADMIN;
    return 0;
}

static bool
looks_like_jws(const char *token)
{
    const char *dot = strchr(token, '.');
    return dot && strchr(dot + 1, '.');
}

int
vej__staff_token_check(struct vej_signalling *s, const char *token, struct vej_user **user,
                       uint8_t hash_out[32], const char **why)
{
    *user = NULL;
    size_t len = token ? strlen(token) : 0;
    if (len == 0) {
        *why = "missing token";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (looks_like_jws(token)) {
        *why = "a join token is not a staff token";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (len != 43) {
        *why = "malformed token";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    uint8_t hash[32];
    vej_token_hash(token, len, hash);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_staff_session) sess = vej_store_staff_session_get(s->store, hash, &error);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    if (!sess || sess->revoked || sess->expires_at <= now) {
        *why = sess ? (sess->revoked ? "token revoked" : "token expired") : "unknown token";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    struct vej_user *u = vej_store_user_get(s->store, sess->user_id, &error);
    if (!u || u->disabled) {
        if (u)
            vej_user_free(u);
        *why = "account disabled";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (hash_out)
        memcpy(hash_out, hash, 32);
    *user = u;
    return 0;
}

static bool
bearer_of(struct vej_http_req *r, char *out, size_t cap)
{
    char buf[VEJ_TOKEN_MAX_LEN + 16];
    if (vej__http_header(r, WSI_TOKEN_HTTP_AUTHORIZATION, buf, sizeof buf) <= 0)
        return false;
    if (g_ascii_strncasecmp(buf, "Bearer ", 7) != 0)
        return false;
    const char *t = buf + 7;
    while (*t == ' ')
        t++;
    g_strlcpy(out, t, cap);
    return *out != 0;
}

bool
vej__totp_required(struct vej_signalling *s, const char *role)
{
    const char *list = s->config->require_totp_roles;
    if (!list || !*list || !role)
        return false;
    g_auto(GStrv) names = g_strsplit(list, ",", -1);
    for (guint i = 0; names[i]; i++)
        if (strcmp(g_strstrip(names[i]), role) == 0)
            return true;
    return false;
}

/* ---- the second factor's secret, sealed at rest (totp.h) ---- */

gboolean
vej__totp_get(struct vej_signalling *s, const char *user_id, struct vej_totp_state *st,
              GError **error)
{
    if (!vej_store_user_totp_get(s->store, user_id, st, error))
        return FALSE;
    if (!st->secret || !vej_totp_is_sealed(st->secret))
        return TRUE; /* none, or not sealed yet (vej__totp_seal_all) */
    char clear[VEJ_TOTP_SEALED_MAX];
    long n = vej_totp_open(g_bytes_get_data(s->totp_key, NULL), user_id, st->secret, clear,
                           sizeof clear);
    g_free(st->secret);
    st->secret = n > 0 ? g_strdup(clear) : NULL;
    OPENSSL_cleanse(clear, sizeof clear);
    if (n > 0)
        return TRUE;
    g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT,
                "the account's second-factor secret does not open with this gateway's key "
                "(an admin can reset the factor)");
    return FALSE;
}

gboolean
vej__totp_set(struct vej_signalling *s, const char *user_id, const char *secret, bool enabled,
              GError **error)
{
    if (!secret)
        return vej_store_user_totp_set(s->store, user_id, NULL, enabled, error);
    char sealed[VEJ_TOTP_SEALED_MAX];
    if (vej_totp_seal(g_bytes_get_data(s->totp_key, NULL), user_id, secret, sealed, sizeof sealed) <
        0) {
        g_set_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED,
                    "cannot seal the second-factor secret");
        return FALSE;
    }
    return vej_store_user_totp_set(s->store, user_id, sealed, enabled, error);
}

gboolean
vej__totp_seal_all(struct vej_signalling *s, GError **error)
{
    g_autofree char *after = NULL;
    do {
        char *next = NULL;
        g_autoptr(GPtrArray) users = vej_store_user_list(s->store, after, 100, &next, error);
        if (!users)
            return FALSE;
        g_free(after);
        after = next;
        for (guint i = 0; i < users->len; i++) {
            const struct vej_user *u = users->pdata[i];
            struct vej_totp_state st = {0};
            if (!vej_store_user_totp_get(s->store, u->id, &st, error))
                return FALSE;
            gboolean ok = TRUE;
            if (st.secret && !vej_totp_is_sealed(st.secret))
                ok = vej__totp_set(s, u->id, st.secret, st.enabled, error);
            if (st.secret)
                OPENSSL_cleanse(st.secret, strlen(st.secret));
            g_free(st.secret);
            if (!ok)
                return FALSE;
        }
    } while (after);
    return TRUE;
}

bool
vej__totp_enabled(struct vej_signalling *s, const char *user_id)
{
    /* An unreadable state counts as enabled: the login then fails closed. */
    struct vej_totp_state st = {0};
    g_autoptr(GError) error = NULL;
    bool read = vej__totp_get(s, user_id, &st, &error);
    bool on = read ? st.enabled && st.secret
                   : g_error_matches(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT);
    if (st.secret)
        OPENSSL_cleanse(st.secret, strlen(st.secret));
    g_free(st.secret);
    return on;
}

bool
vej__account_setup_pending(struct vej_signalling *s, const struct vej_user *user, const char **why)
{
    if (user->must_change_password) {
        *why = "the password must be changed first (POST /api/v1/account/password)";
        return true;
    }
    if (vej__totp_required(s, user->role) && !vej__totp_enabled(s, user->id)) {
        *why = "a second factor must be enrolled first (POST /api/v1/account/totp)";
        return true;
    }
    return false;
}

struct vej_user *
vej__http_auth_staff(struct vej_http_req *r, unsigned allowed_roles, bool allow_password_change)
{
    char token[VEJ_TOKEN_MAX_LEN + 1];
    if (!bearer_of(r, token, sizeof token)) {
        vej__http_respond_error(r, VEJ_RPC_UNAUTHENTICATED, "missing bearer token");
        return NULL;
    }
    struct vej_user *user = NULL;
    const char *why = NULL;
    int code = vej__staff_token_check(vej__http_server(r), token, &user, NULL, &why);
    if (code) {
        vej__http_respond_error(r, code, why);
        return NULL;
    }
    const char *setup = NULL;
    if (!allow_password_change && vej__account_setup_pending(vej__http_server(r), user, &setup)) {
        vej_user_free(user);
        vej__http_respond_error(r, VEJ_RPC_FORBIDDEN, setup);
        return NULL;
    }
    if (allowed_roles && !(vej__staff_role_bit(user->role) & allowed_roles)) {
        vej_user_free(user);
        vej__http_respond_error(r, VEJ_RPC_FORBIDDEN, "this role may not do that");
        return NULL;
    }
    return user;
}

bool
vej__staff_may_act(struct vej_signalling *s, const char *user_id, const char *courtroom_id)
{
    g_autoptr(GError) error = NULL;
    if (vej_store_user_may_act(s->store, user_id, courtroom_id, &error))
        return true;
    if (error)
        g_warning("courtroom check for %s: %s", user_id, error->message);
    return false;
}

void
vej__end_staff_sessions(struct vej_signalling *s, const char *user_id, const uint8_t *token_hash,
                        const char *reason)
{
    GHashTableIter it;
    gpointer value;
    GPtrArray *doomed = g_ptr_array_new();
    g_hash_table_iter_init(&it, s->sessions);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_session *sess = value;
        if (sess->kind != VEJ_IDENTITY_STAFF)
            continue;
        if ((user_id && g_strcmp0(sess->user_id, user_id) == 0) ||
            (token_hash && memcmp(sess->staff_token_hash, token_hash, 32) == 0))
            g_ptr_array_add(doomed, sess);
    }
    for (guint i = 0; i < doomed->len; i++)
        vej__session_end(doomed->pdata[i], reason);
    g_ptr_array_unref(doomed);
}

/* ---- login ---- */

struct login_job {
    uint64_t req_id;
    char *username;
    char *password;
    char *encoded; /* NULL: unknown user, hash a dummy */
    char *new_password;
    char *new_encoded;
    char *user_id;
    char *role;
    char *peer;
    char *totp_code;     /* as given, or NULL */
    char *recovery_code; /* as given, or NULL */
    bool disabled;
    bool must_change;
    bool ok;
};

static void
login_job_free(struct login_job *j)
{
    if (j->password)
        OPENSSL_cleanse(j->password, strlen(j->password));
    if (j->new_password)
        OPENSSL_cleanse(j->new_password, strlen(j->new_password));
    g_free(j->username);
    g_free(j->password);
    g_free(j->encoded);
    g_free(j->new_password);
    g_free(j->new_encoded);
    g_free(j->user_id);
    g_free(j->role);
    g_free(j->peer);
    if (j->recovery_code)
        OPENSSL_cleanse(j->recovery_code, strlen(j->recovery_code));
    g_free(j->totp_code);
    g_free(j->recovery_code);
    g_free(j);
}

static void
login_work(void *data)
{
    struct login_job *j = data;
    j->ok = vej_password_verify(j->password, j->encoded) && !j->disabled;
    if (j->ok && j->new_password) {
        g_autoptr(GError) error = NULL;
        j->new_encoded = vej_password_hash(j->new_password, &error);
    }
}

/* Creates a staff session and answers {token, role, expires_at}. */
static void
issue_staff_token(struct vej_signalling *s, struct vej_http_req *r, struct login_job *j)
{
    char token[44];
    uint8_t hash[32];
    int64_t expires = g_get_real_time() / G_USEC_PER_SEC + s->config->staff_session_ttl_s;
    g_autoptr(GError) error = NULL;
    if (!vej_opaque_token_new(token)) {
        vej__http_respond_error(r, VEJ_RPC_INTERNAL, "no randomness");
        return;
    }
    vej_token_hash(token, strlen(token), hash);
    if (!vej_store_staff_session_create(s->store, hash, j->user_id, expires, &error)) {
        g_warning("staff session: %s", error->message);
        vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot create the session");
        return;
    }
    g_autofree char *exp_text = vej__rfc3339(expires);
    bool enrol = vej__totp_required(s, j->role) && !vej__totp_enabled(s, j->user_id);
    vej__http_respond_json(r, 200,
                           json_pack("{s:s,s:s,s:s,s:b,s:b}", "token", token, "role", j->role,
                                     "expires_at", exp_text, "must_change_password", j->must_change,
                                     "totp_enrolment_required", enrol));
    OPENSSL_cleanse(token, sizeof token);
}

/* The second factor of a login whose password was right: 0 when the
 * account has none or the code (or a recovery code) is good and unused. */
static int
second_factor(struct vej_signalling *s, struct login_job *j, const char **why)
{
    struct vej_totp_state st;
    g_autoptr(GError) error = NULL;
    if (!vej__totp_get(s, j->user_id, &st, &error)) {
        g_warning("login: %s", error->message);
        *why = "cannot read the second factor";
        return VEJ_RPC_INTERNAL;
    }
    int code = 0;
    if (!st.enabled || !st.secret) {
        code = 0;
    } else if (j->recovery_code) {
        uint8_t hash[32];
        g_autofree char *norm = vej__recovery_code_normalise(j->recovery_code);
        vej_token_hash(norm, strlen(norm), hash);
        OPENSSL_cleanse(norm, strlen(norm));
        if (!vej_store_recovery_code_use(s->store, j->user_id, hash, &error)) {
            *why = "invalid username, password or code";
            code = VEJ_RPC_UNAUTHENTICATED;
        }
    } else if (!j->totp_code) {
        *why = "a second-factor code is required (totp_code)";
        code = VEJ_RPC_UNAUTHENTICATED;
    } else {
        uint8_t key[64];
        uint32_t given = 0;
        long n = vej_base32_decode(st.secret, key, sizeof key);
        int64_t step =
            n > 0 && vej_totp_parse(j->totp_code, &given)
                ? vej_totp_match(key, (size_t)n, g_get_real_time() / G_USEC_PER_SEC, given)
                : -1;
        OPENSSL_cleanse(key, sizeof key);
        /* A code already used in its window (or an older one) is refused. */
        if (step < 0 || !vej_store_user_totp_use_step(s->store, j->user_id, step, &error)) {
            *why = "invalid username, password or code";
            code = VEJ_RPC_UNAUTHENTICATED;
        }
    }
    if (st.secret)
        OPENSSL_cleanse(st.secret, strlen(st.secret));
    g_free(st.secret);
    return code;
}

static void
login_done(struct vej_signalling *s, void *data)
{
    struct login_job *j = data;
    struct vej_http_req *r = vej__http_req_lookup(s, j->req_id);
    const char *why = NULL;
    int factor = j->ok ? second_factor(s, j, &why) : 0;
    if (j->ok && factor) {
        s->metrics.login_failures_total++;
        vej__audit(s, "system", "login.second_factor_failed", j->user_id,
                   json_pack("{s:s}", "address", j->peer));
        if (r)
            vej__http_respond_error(r, factor, why);
    } else if (!j->ok) {
        s->metrics.login_failures_total++;
        /* A typed username that is not an account is not stored (it may
         * be a password typed in the wrong field); an account is named by
         * its id. */
        vej__audit(s, "system", "login.failed", j->user_id ? j->user_id : "",
                   json_pack("{s:s}", "address", j->peer));
        if (r)
            vej__http_respond_error(r, VEJ_RPC_UNAUTHENTICATED, "invalid username or password");
    } else {
        s->metrics.logins_total++;
        vej__login_succeeded(s, j->username, j->peer);
        vej__audit(s, j->user_id, "login", j->user_id, json_pack("{s:s}", "address", j->peer));
        if (r)
            issue_staff_token(s, r, j);
    }
    login_job_free(j);
}

static struct login_job *
login_job_new(struct vej_http_req *r, const char *username, const char *password,
              struct vej_user *user)
{
    struct login_job *j = g_new0(struct login_job, 1);
    j->req_id = vej__http_req_id(r);
    j->username = g_strdup(username);
    j->password = g_strdup(password);
    j->peer = g_strdup(vej__http_peer(r));
    if (user) {
        j->encoded = g_strdup(user->password_hash);
        j->user_id = g_strdup(user->id);
        j->role = g_strdup(user->role);
        j->disabled = user->disabled;
        j->must_change = user->must_change_password;
    }
    return j;
}

static const char *
body_string(json_t *body, const char *key, size_t max)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return NULL;
    return json_string_value(v);
}

void
vej__http_login(struct vej_http_req *r, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    const char *username = body_string(body, "username", 64);
    const char *password = body_string(body, "password", 1024);
    if (!username || !password)
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "username and password must be non-empty strings");
    if (vej__login_throttled(s, username, vej__http_peer(r))) {
        s->metrics.login_rate_limited_total++;
        g_autoptr(GError) uerr = NULL;
        g_autoptr(vej_user) known = vej_store_user_get_by_name(s->store, username, &uerr);
        vej__audit(s, "system", "login.rate_limited", known ? known->id : "",
                   json_pack("{s:s}", "address", vej__http_peer(r)));
        return vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "too many login attempts");
    }
    json_t *tv = json_object_get(body, "totp_code");
    json_t *rv = json_object_get(body, "recovery_code");
    if ((tv && (!json_is_string(tv) || json_string_length(tv) > 16)) ||
        (rv && (!json_is_string(rv) || json_string_length(rv) > 64)))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "totp_code and recovery_code must be short strings");
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) user = vej_store_user_get_by_name(s->store, username, &error);
    struct login_job *j = login_job_new(r, username, password, user);
    j->totp_code = g_strdup(json_string_value(tv));
    j->recovery_code = g_strdup(json_string_value(rv));
    if (!vej__hash_submit(s, login_work, login_done, j)) {
        login_job_free(j);
        vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "the server is busy; try again");
    }
}

void
vej__http_logout(struct vej_http_req *r)
{
    struct vej_signalling *s = vej__http_server(r);
    char token[VEJ_TOKEN_MAX_LEN + 1];
    g_autoptr(vej_user) user = vej__http_auth_staff(r, 0, true);
    if (!user)
        return;
    if (!bearer_of(r, token, sizeof token))
        return vej__http_respond_error(r, VEJ_RPC_UNAUTHENTICATED, "missing bearer token");
    uint8_t hash[32];
    vej_token_hash(token, strlen(token), hash);
    g_autoptr(GError) error = NULL;
    if (!vej_store_staff_session_revoke(s->store, hash, &error))
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot revoke the session");
    /* WebSocket sessions opened with this token end too. */
    vej__end_staff_sessions(s, NULL, hash, "logout");
    vej__audit(s, user->id, "logout", user->id, NULL);
    vej__http_respond_json(r, 200, json_object());
}

/* DATA_DIR/initial-admin-password goes once the password it holds has been
 * changed: a password that no longer works is not left lying on disk, and
 * one that still works is never deleted by another account's change. */
static void
forget_initial_password(struct vej_signalling *s, const char *old_password)
{
    g_autofree char *path = g_build_filename(s->config->data_dir, "initial-admin-password", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return;
    g_strchomp(text);
    len = strlen(text);
    bool same = len == strlen(old_password) && CRYPTO_memcmp(text, old_password, len) == 0;
    OPENSSL_cleanse(text, len);
    if (!same)
        return;
    if (g_unlink(path) != 0)
        g_warning("%s: cannot delete: %s", path, g_strerror(errno));
    else
        g_message("%s deleted: the initial admin password was changed", path);
}

static void
password_done(struct vej_signalling *s, void *data)
{
    struct login_job *j = data;
    struct vej_http_req *r = vej__http_req_lookup(s, j->req_id);
    g_autoptr(GError) error = NULL;
    if (!j->ok) {
        s->metrics.login_failures_total++;
        vej__audit(s, j->user_id, "password.change_failed", j->user_id,
                   json_pack("{s:s}", "address", j->peer));
        if (r)
            vej__http_respond_error(r, VEJ_RPC_UNAUTHENTICATED, "current password is wrong");
    } else if (!j->new_encoded ||
               !vej_store_user_set_password(s->store, j->user_id, j->new_encoded, false, &error) ||
               !vej_store_staff_session_revoke_user(s->store, j->user_id, &error)) {
        if (r)
            vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot change the password");
    } else {
        vej__audit(s, j->user_id, "password.change", j->user_id,
                   json_pack("{s:s}", "address", j->peer));
        forget_initial_password(s, j->password);
        vej__end_staff_sessions(s, j->user_id, NULL, "password_changed");
        j->must_change = false;
        /* Every older session of the account was revoked: answer with a
         * fresh token for this one. */
        if (r)
            issue_staff_token(s, r, j);
    }
    login_job_free(j);
}

void
vej__http_change_password(struct vej_http_req *r, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    g_autoptr(vej_user) user = vej__http_auth_staff(r, 0, true);
    if (!user)
        return;
    const char *current = body_string(body, "current_password", 1024);
    const char *next = body_string(body, "new_password", 4096);
    if (!current || !next)
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "current_password and new_password must be strings");
    const char *why = vej_password_check_policy(next);
    if (why) {
        g_autofree char *msg = g_strdup_printf("new_password: %s", why);
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS, msg);
    }
    if (strcmp(current, next) == 0)
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "new_password: must differ from the current one");
    if (vej__login_throttled(s, user->username, vej__http_peer(r))) {
        s->metrics.login_rate_limited_total++;
        return vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "too many attempts");
    }
    struct login_job *j = login_job_new(r, user->username, current, user);
    j->new_password = g_strdup(next);
    if (!vej__hash_submit(s, login_work, password_done, j)) {
        login_job_free(j);
        vej__http_respond_error(r, VEJ_RPC_RATE_LIMITED, "the server is busy; try again");
    }
}

/* ---- join tokens ---- */

int
vej__join_token_check(struct vej_signalling *s, const char *token, struct vej_participant_row **row,
                      const char **why)
{
    *row = NULL;
    struct vej_join_claims claims;
    gsize key_len = 0;
    const uint8_t *key = g_bytes_get_data(s->join_key, &key_len);
    enum vej_token_status st =
        vej_join_token_verify(key, key_len, s->token_kid, token, strlen(token),
                              g_get_real_time() / G_USEC_PER_SEC, &claims);
    if (st != VEJ_TOKEN_OK) {
        *why = vej_token_status_str(st);
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (strcmp(claims.iss, s->config->token_issuer) != 0) {
        *why = "token from another issuer";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    g_autoptr(GError) error = NULL;
    struct vej_participant_row *p = vej_id_valid(claims.pid, "ptc_")
                                        ? vej_store_participant_get(s->store, claims.pid, &error)
                                        : NULL;
    if (!p || strcmp(p->hearing_id, claims.hid) != 0 || p->removed ||
        p->token_version != claims.ver || strcmp(p->role, claims.role) != 0) {
        *why = p && p->removed ? "participant removed" : "token revoked";
        if (p)
            vej_participant_row_free(p);
        return VEJ_RPC_UNAUTHENTICATED;
    }
    /* A join link never reaches a staff account's entry, nor bench rights
     * (entries made before the participant API refused bench roles). */
    if (p->user_id || strcmp(p->role, "judge") == 0 || strcmp(p->role, "clerk") == 0) {
        vej_participant_row_free(p);
        *why = "a staff entry is reached only with the account's own login";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    *row = p;
    return 0;
}

char *
vej__join_token_issue(struct vej_signalling *s, const struct vej_participant_row *row,
                      const struct vej_hearing_row *hearing)
{
    struct vej_join_claims c;
    memset(&c, 0, sizeof c);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    g_strlcpy(c.iss, s->config->token_issuer, sizeof c.iss);
    g_strlcpy(c.hid, row->hearing_id, sizeof c.hid);
    g_strlcpy(c.pid, row->id, sizeof c.pid);
    g_strlcpy(c.role, row->role, sizeof c.role);
    c.nbf = now;
    c.exp = MAX(hearing->ends_at, now) + s->config->join_token_ttl_s;
    c.ver = row->token_version;
    gsize key_len = 0;
    const uint8_t *key = g_bytes_get_data(s->join_key, &key_len);
    char *t = vej_join_token_sign(key, key_len, s->token_kid, &c);
    if (!t)
        return NULL;
    char *out = g_strdup(t);
    free(t);
    return out;
}

char *
vej__join_url(struct vej_signalling *s, const char *token)
{
    return g_strdup_printf("%s/join#t=%s", s->public_url, token);
}
