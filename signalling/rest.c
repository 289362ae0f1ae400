/* rest.c - REST handlers under /api/v1, one function each, routed by table.
 *
 * Each route names the staff roles allowed; authentication and the role
 * check happen before the handler runs (deny by default). Every route on a
 * courtroom's data then checks that the account is assigned to that
 * courtroom (vej__staff_may_act; admins see everything's metadata), and
 * lists show only the caller's courtrooms. Path ids are
 * checked against their type prefix before any store access, so a path
 * such as /api/v1/hearings/..%2f.. is a plain 404.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "signalling/rest.h"
#include "signalling/token.h"

#define MAX_PATH_IDS 2
#define PAGE_DEFAULT 50
#define PAGE_MAX 200

typedef void (*rest_handler)(struct vej_http_req *r, struct vej_user *user, char *ids[MAX_PATH_IDS],
                             json_t *body);

struct route {
    const char *method;
    const char *pattern; /* segments; "{crt}" etc. match an id of that type */
    unsigned roles;      /* VEJ_STAFF_* bits; 0 = public (handler authenticates) */
    rest_handler handler;
};

#define server_of(r) vej__http_server(r)

/* ---- field helpers ---- */

static const char *
get_string(json_t *body, const char *key, size_t min, size_t max, bool required, const char **why)
{
    json_t *v = json_object_get(body, key);
    if (!v) {
        if (required)
            *why = "missing";
        return NULL;
    }
    if (!json_is_string(v)) {
        *why = "must be a string";
        return NULL;
    }
    size_t len = json_string_length(v);
    if (len < min || len > max || memchr(json_string_value(v), 0, len)) {
        *why = "has a bad length";
        return NULL;
    }
    return json_string_value(v);
}

static void
respond_field_error(struct vej_http_req *r, const char *field, const char *why)
{
    g_autofree char *msg = g_strdup_printf("%s: %s", field, why);
    vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS, msg);
}

static void
respond_store_error(struct vej_http_req *r, GError *error, const char *what)
{
    if (g_error_matches(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND)) {
        g_autofree char *msg = g_strdup_printf("%s not found", what);
        vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, msg);
    } else if (g_error_matches(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT)) {
        vej__http_respond_error(r, VEJ_RPC_CONFLICT, "conflict");
    } else {
        g_autofree char *cid = vej__correlation_id();
        g_warning("store error [%s]: %s", cid, error ? error->message : "?");
        g_autofree char *msg = g_strdup_printf("internal error (%s)", cid);
        vej__http_respond_error(r, VEJ_RPC_INTERNAL, msg);
    }
}

void
vej__rest_field_error(struct vej_http_req *r, const char *field, const char *why)
{
    respond_field_error(r, field, why);
}

void
vej__rest_store_error(struct vej_http_req *r, GError *error, const char *what)
{
    respond_store_error(r, error, what);
}

static int
page_limit(struct vej_http_req *r)
{
    char buf[16];
    if (!vej__http_query(r, "limit", buf, sizeof buf))
        return PAGE_DEFAULT;
    gint64 v = 0;
    if (!g_ascii_string_to_signed(buf, 10, 1, PAGE_MAX, &v, NULL))
        return -1;
    return (int)v;
}

int
vej__rest_page_limit(struct vej_http_req *r)
{
    return page_limit(r);
}

static json_t *
list_body(GPtrArray *rows, json_t *(*to_json)(const void *row), const char *next)
{
    json_t *items = json_array();
    for (guint i = 0; i < rows->len; i++)
        json_array_append_new(items, to_json(rows->pdata[i]));
    return json_pack("{s:o,s:o}", "items", items, "next_cursor",
                     next ? json_string(next) : json_null());
}

/* ---- courtroom scope ---- */

/* The account whose courtrooms a list is restricted to (NULL: admin). */
static const char *
scope_of(const struct vej_user *user)
{
    return strcmp(user->role, "admin") == 0 ? NULL : user->id;
}

static bool
in_scope(struct vej_http_req *r, const struct vej_user *user, const char *courtroom_id)
{
    if (vej__staff_may_act(server_of(r), user->id, courtroom_id))
        return true;
    vej__http_respond_error(r, VEJ_RPC_FORBIDDEN, "not assigned to this courtroom");
    return false;
}

/* The hearing of a path, if it exists and is in the caller's courtrooms
 * (otherwise the error is sent and NULL returned). (transfer full) */
static struct vej_hearing_row *
scoped_hearing(struct vej_http_req *r, const struct vej_user *user, const char *hid)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) h = vej_store_hearing_get(server_of(r)->store, hid, &error);
    if (!h) {
        respond_store_error(r, error, "hearing");
        return NULL;
    }
    if (!in_scope(r, user, h->courtroom_id))
        return NULL;
    return g_steal_pointer(&h);
}

/* ---- courtrooms ---- */

static json_t *
courtroom_json(const void *row)
{
    const struct vej_courtroom *c = row;
    g_autofree char *created = vej__rfc3339(c->created_at);
    return json_pack("{s:s,s:s,s:i,s:s,s:s}", "id", c->id, "name", c->name, "retention_days",
                     c->retention_days, "time_zone", c->time_zone, "created_at", created);
}

static void
courtroom_create(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    const char *why = NULL;
    const char *name = get_string(body, "name", 1, 200, true, &why);
    if (!name)
        return respond_field_error(r, "name", why);
    json_t *rd = json_object_get(body, "retention_days");
    if (!json_is_integer(rd) || json_integer_value(rd) < 1 || json_integer_value(rd) > 36500)
        return respond_field_error(r, "retention_days", "must be an integer from 1 to 36500");
    const char *tz = get_string(body, "time_zone", 1, 64, false, &why);
    if (!tz && why)
        return respond_field_error(r, "time_zone", why);
    if (!tz)
        tz = "UTC";
    GTimeZone *zone = g_time_zone_new_identifier(tz);
    if (!zone)
        return respond_field_error(r, "time_zone", "unknown time zone");
    g_time_zone_unref(zone);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_courtroom) c = vej_store_courtroom_create(
        server_of(r)->store, name, (int)json_integer_value(rd), tz, &error);
    if (!c)
        return respond_store_error(r, error, "courtroom");
    /* The clerk who creates a courtroom is assigned to it. */
    if (strcmp(user->role, "clerk") == 0 &&
        !vej_store_user_assign_courtroom(server_of(r)->store, user->id, c->id, &error))
        return respond_store_error(r, error, "courtroom");
    vej__audit(server_of(r), user->id, "courtroom.create", c->id,
               json_pack("{s:s,s:i,s:s}", "name", c->name, "retention_days", c->retention_days,
                         "time_zone", c->time_zone));
    vej__http_respond_json(r, 201, courtroom_json(c));
}

static void
courtroom_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    char cursor[128] = "";
    vej__http_query(r, "cursor", cursor, sizeof cursor);
    int limit = page_limit(r);
    if (limit < 0)
        return respond_field_error(r, "limit", "must be an integer from 1 to 200");
    g_autoptr(GError) error = NULL;
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) rows = vej_store_courtroom_list_scoped(
        server_of(r)->store, scope_of(user), *cursor ? cursor : NULL, limit, &next, &error);
    if (!rows)
        return respond_store_error(r, error, "courtroom");
    vej__http_respond_json(r, 200, list_body(rows, courtroom_json, next));
}

/* ---- hearings ---- */

static json_t *
hearing_json(const void *row)
{
    return vej__hearing_row_json(row);
}

static void
hearing_create(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    const char *why = NULL;
    const char *crt = get_string(body, "courtroom_id", 1, 96, true, &why);
    if (!crt)
        return respond_field_error(r, "courtroom_id", why);
    const char *ref = get_string(body, "case_reference", 1, 64, true, &why);
    if (!ref)
        return respond_field_error(r, "case_reference", why);
    const char *title = get_string(body, "title", 0, 200, false, &why);
    if (!title && why)
        return respond_field_error(r, "title", why);
    const char *starts = get_string(body, "starts_at", 1, 40, true, &why);
    if (!starts)
        return respond_field_error(r, "starts_at", why);
    const char *ends = get_string(body, "ends_at", 1, 40, true, &why);
    if (!ends)
        return respond_field_error(r, "ends_at", why);
    int64_t t0 = 0, t1 = 0;
    if (!vej__parse_rfc3339(starts, &t0))
        return respond_field_error(r, "starts_at", "must be an RFC 3339 time");
    if (!vej__parse_rfc3339(ends, &t1))
        return respond_field_error(r, "ends_at", "must be an RFC 3339 time");
    if (t1 <= t0)
        return respond_field_error(r, "ends_at", "must be after starts_at");
    if (!vej_id_valid(crt, "crt_"))
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "courtroom not found");
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_courtroom) c = vej_store_courtroom_get(s->store, crt, &error);
    if (!c)
        return respond_store_error(r, error, "courtroom");
    if (!in_scope(r, user, c->id))
        return;
    g_autoptr(vej_hearing_row) h =
        vej_store_hearing_create(s->store, crt, ref, title ? title : "", t0, t1, &error);
    if (!h)
        return respond_store_error(r, error, "hearing");
    vej__audit(s, user->id, "hearing.create", h->id,
               json_pack("{s:s,s:s,s:I,s:I}", "courtroom_id", crt, "case_reference", ref,
                         "starts_at", (json_int_t)t0, "ends_at", (json_int_t)t1));
    vej__http_respond_json(r, 201, hearing_json(h));
}

/* ?date=YYYY-MM-DD is a day in the courtroom's time zone (UTC without one). */
static bool
day_bounds(struct vej_signalling *s, const char *crt, const char *date, int64_t *from, int64_t *to,
           struct vej_http_req *r)
{
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !g_date_valid_dmy(d, m, y)) {
        respond_field_error(r, "date", "must be YYYY-MM-DD");
        return false;
    }
    g_autoptr(GTimeZone) tz = NULL;
    if (crt && *crt) {
        g_autoptr(GError) error = NULL;
        g_autoptr(vej_courtroom) c =
            vej_id_valid(crt, "crt_") ? vej_store_courtroom_get(s->store, crt, &error) : NULL;
        if (!c) {
            vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "courtroom not found");
            return false;
        }
        tz = g_time_zone_new_identifier(c->time_zone);
    }
    if (!tz)
        tz = g_time_zone_new_utc();
    g_autoptr(GDateTime) start = g_date_time_new(tz, y, m, d, 0, 0, 0);
    g_autoptr(GDateTime) next = start ? g_date_time_add_days(start, 1) : NULL;
    if (!start || !next) {
        respond_field_error(r, "date", "out of range");
        return false;
    }
    *from = g_date_time_to_unix(start);
    *to = g_date_time_to_unix(next);
    return true;
}

static void
hearing_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    char crt[128] = "", date[32] = "", cursor[128] = "";
    vej__http_query(r, "courtroom_id", crt, sizeof crt);
    vej__http_query(r, "cursor", cursor, sizeof cursor);
    int64_t from = 0, to = 0;
    if (vej__http_query(r, "date", date, sizeof date) && !day_bounds(s, crt, date, &from, &to, r))
        return;
    if (*crt) {
        g_autoptr(GError) cerr = NULL;
        g_autoptr(vej_courtroom) c =
            vej_id_valid(crt, "crt_") ? vej_store_courtroom_get(s->store, crt, &cerr) : NULL;
        if (!c)
            return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "courtroom not found");
        if (!in_scope(r, user, c->id))
            return;
    }
    int limit = page_limit(r);
    if (limit < 0)
        return respond_field_error(r, "limit", "must be an integer from 1 to 200");
    g_autoptr(GError) error = NULL;
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) rows =
        vej_store_hearing_list_scoped(s->store, scope_of(user), *crt ? crt : NULL, from, to,
                                      *cursor ? cursor : NULL, limit, &next, &error);
    if (!rows)
        return respond_store_error(r, error, "hearing");
    vej__http_respond_json(r, 200, list_body(rows, hearing_json, next));
}

static void
hearing_show(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    vej__http_respond_json(r, 200, hearing_json(h));
}

static void
hearing_state(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    const char *why = NULL;
    const char *state = get_string(body, "state", 1, 32, true, &why);
    if (!state)
        return respond_field_error(r, "state", why);
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    json_t *out = NULL;
    int code = vej__hearing_set_state(server_of(r), ids[0], state, user->id, &out, &why);
    if (code)
        return vej__http_respond_error(r, code, why);
    /* Answered once the relay enforces it (docs/protocol.md). */
    vej__http_respond_json_gated(r, g_hash_table_lookup(server_of(r)->hearings, ids[0]), 200, out);
}

/* ---- participants ---- */

static json_t *
participant_json(const void *row)
{
    return vej__participant_row_json(row);
}

static void
participant_create(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    const char *why = NULL, *field = NULL;
    const char *name = get_string(body, "display_name", 1, 200, true, &why);
    if (!name)
        return respond_field_error(r, "display_name", why);
    const char *role = get_string(body, "role", 1, 32, true, &why);
    enum vej_role role_enum;
    if (!role || !vej_role_parse(role, &role_enum))
        return respond_field_error(r, "role", why ? why : "unknown role");
    if (role_enum == VEJ_ROLE_JUDGE || role_enum == VEJ_ROLE_CLERK)
        return respond_field_error(r, "role",
                                   "judge and clerk are staff accounts' roles: they join with "
                                   "their own login");
    g_autofree char *sm =
        vej__special_measures_normalise(json_object_get(body, "special_measures"), &why, &field);
    if (!sm)
        return respond_field_error(r, field, why);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    if (strcmp(h->state, "closed") == 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT, "the hearing is closed");
    g_autoptr(vej_participant_row) p =
        vej_store_participant_create(s->store, h->id, name, role, sm, NULL, &error);
    if (!p)
        return respond_store_error(r, error, "participant");
    g_autofree char *token = vej__join_token_issue(s, p, h);
    if (!token)
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot issue a join token");
    /* A new link widens exposure: handed out only once its audit entry is
     * written (ids only: the name and measures stay in the row). */
    if (!vej__audit_sync(s, user->id, "participant.create", p->id,
                         json_pack("{s:s,s:s}", "hearing_id", h->id, "role", role))) {
        vej_store_participant_remove(s->store, p->id, NULL);
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL,
                                       "the audit log cannot be written: no link was issued");
    }
    g_autofree char *url = vej__join_url(s, token);
    vej__http_respond_json(r, 201,
                           json_pack("{s:s,s:s,s:s,s:o}", "participant_id", p->id, "join_token",
                                     token, "join_url", url, "participant", participant_json(p)));
}

static void
participant_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    g_autoptr(GPtrArray) rows = vej_store_participant_list(s->store, h->id, &error);
    if (!rows)
        return respond_store_error(r, error, "participant");
    /* Staff reads of who takes part (names, special measures) are audited. */
    vej__audit(s, user->id, "participant.list", h->id,
               json_pack("{s:s,s:i}", "courtroom_id", h->courtroom_id, "count", (int)rows->len));
    vej__http_respond_json(r, 200, list_body(rows, participant_json, NULL));
}

static void
participant_patch(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "display_name") != 0 && strcmp(key, "special_measures") != 0)
            return respond_field_error(r, key, "cannot be changed");
    }
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    /* As on the WebSocket: only a judge changes a judge's entry. */
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_participant_row) target =
        vej_store_participant_get(server_of(r)->store, ids[1], &error);
    if (target && strcmp(target->role, "judge") == 0 && strcmp(user->role, "judge") != 0)
        return vej__http_respond_error(r, VEJ_RPC_FORBIDDEN, "only a judge may do that to a judge");
    const char *why = NULL, *field = NULL;
    json_t *out = NULL;
    int code = vej__participant_update(
        server_of(r), ids[0], ids[1], json_object_get(body, "display_name"),
        json_object_get(body, "special_measures"), user->id, &out, &why, &field);
    if (code == VEJ_RPC_INVALID_PARAMS)
        return respond_field_error(r, field ? field : "body", why);
    if (code)
        return vej__http_respond_error(r, code, why);
    vej__http_respond_json_gated(r, g_hash_table_lookup(server_of(r)->hearings, ids[0]), 200, out);
}

static void
participant_token(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) h = scoped_hearing(r, user, ids[0]);
    if (!h)
        return;
    g_autoptr(vej_participant_row) p = vej_store_participant_get(s->store, ids[1], &error);
    if (!p || strcmp(p->hearing_id, h->id) != 0 || p->removed)
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "participant not found");
    if (p->user_id || strcmp(p->role, "judge") == 0 || strcmp(p->role, "clerk") == 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "a staff account's entry has no join link: the account "
                                       "joins with its own login");
    if (strcmp(h->state, "closed") == 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT, "the hearing is closed");
    int64_t ver = vej_store_participant_bump_token(s->store, p->id, &error);
    if (ver < 0)
        return respond_store_error(r, error, "participant");
    p->token_version = ver;
    g_autofree char *token = vej__join_token_issue(s, p, h);
    if (!token)
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot issue a join token");
    /* The old link is revoked: a session opened with it ends too. */
    struct vej_session *live = vej__session_of_link(s, p->id);
    if (live)
        vej__session_end(live, "link_reissued");
    if (!vej__audit_sync(
            s, user->id, "participant.token_reissue", p->id,
            json_pack("{s:s,s:I}", "hearing_id", h->id, "token_version", (json_int_t)ver))) {
        /* The new link must not work either: revoke it too. */
        vej_store_participant_bump_token(s->store, p->id, NULL);
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL,
                                       "the audit log cannot be written: no link was issued");
    }
    g_autofree char *url = vej__join_url(s, token);
    vej__http_respond_json(
        r, 200,
        json_pack("{s:s,s:s,s:s}", "participant_id", p->id, "join_token", token, "join_url", url));
}

/* ---- audit ---- */

static json_t *
audit_json(const struct vej_audit_entry *e)
{
    char hash[65], prev[65];
    for (int i = 0; i < 32; i++) {
        snprintf(hash + 2 * i, 3, "%02x", e->hash[i]);
        snprintf(prev + 2 * i, 3, "%02x", e->prev_hash[i]);
    }
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(e->ts_us / G_USEC_PER_SEC);
    g_autofree char *ts = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("");
    json_t *detail = json_loads(e->detail, 0, NULL);
    return json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:o,s:s,s:s}", "seq", (json_int_t)e->seq, "time", ts,
                     "ts_us", (json_int_t)e->ts_us, "actor", e->actor, "action", e->action,
                     "target", e->target, "detail", detail ? detail : json_object(), "prev_hash",
                     prev, "hash", hash);
}

static bool
query_time(struct vej_http_req *r, const char *name, int64_t *out_us)
{
    char buf[48];
    int64_t t = 0;
    *out_us = 0;
    if (!vej__http_query(r, name, buf, sizeof buf))
        return true;
    if (!vej__parse_rfc3339(buf, &t)) {
        respond_field_error(r, name, "must be an RFC 3339 time");
        return false;
    }
    *out_us = t * G_USEC_PER_SEC;
    return true;
}

static void
audit_list(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    int64_t from = 0, to = 0, after = 0;
    if (!query_time(r, "from", &from) || !query_time(r, "to", &to))
        return;
    char cursor[32];
    if (vej__http_query(r, "cursor", cursor, sizeof cursor) &&
        !g_ascii_string_to_signed(cursor, 10, 0, G_MAXINT64, &after, NULL))
        return respond_field_error(r, "cursor", "invalid");
    int limit = page_limit(r);
    if (limit < 0)
        return respond_field_error(r, "limit", "must be an integer from 1 to 200");
    /* Committed entries only: a request never waits for an audit fsync. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = vej_audit_list(s->db_path, from, to, after, limit + 1, &error);
    if (!rows)
        return respond_store_error(r, error, "audit");
    json_t *items = json_array();
    char next[32] = "";
    for (guint i = 0; i < rows->len && i < (guint)limit; i++) {
        const struct vej_audit_entry *e = rows->pdata[i];
        json_array_append_new(items, audit_json(e));
        if (rows->len > (guint)limit)
            snprintf(next, sizeof next, "%" G_GINT64_FORMAT, e->seq);
    }
    vej__audit(s, user->id, "audit.list", "", NULL);
    vej__http_respond_json(r, 200,
                           json_pack("{s:o,s:o}", "items", items, "next_cursor",
                                     *next ? json_string(next) : json_null()));
}

static void
audit_head(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = server_of(r);
    int64_t seq = 0;
    uint8_t hash[32];
    g_autoptr(GError) error = NULL;
    if (!vej_audit_head(s->db_path, &seq, hash, &error))
        return respond_store_error(r, error, "audit");
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    json_t *out = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "hash", hex);
    json_object_set_new(out, "signed", vej__rest_signed_head_json(s));
    vej__http_respond_json(r, 200, out);
}

/* ---- routing ---- */

static void
login(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    vej__http_login(r, body);
}

static void
logout(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    vej__http_logout(r);
}

static void
change_password(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    vej__http_change_password(r, body);
}

#define STAFF_ANY (VEJ_STAFF_CLERK | VEJ_STAFF_JUDGE | VEJ_STAFF_EVIDENTIAL | VEJ_STAFF_ADMIN)

static const struct route routes[] = {
    {"POST", "login", 0, login},
    {"POST", "logout", 0, logout},
    {"POST", "account/password", 0, change_password},
    {"POST", "courtrooms", VEJ_STAFF_CLERK | VEJ_STAFF_ADMIN, courtroom_create},
    {"GET", "courtrooms", STAFF_ANY, courtroom_list},
    {"POST", "hearings", VEJ_STAFF_CLERK | VEJ_STAFF_ADMIN, hearing_create},
    {"GET", "hearings", STAFF_ANY, hearing_list},
    {"GET", "hearings/{hrg}", STAFF_ANY, hearing_show},
    {"POST", "hearings/{hrg}/state", VEJ_STAFF_CLERK | VEJ_STAFF_JUDGE, hearing_state},
    {"POST", "hearings/{hrg}/participants", VEJ_STAFF_CLERK, participant_create},
    {"GET", "hearings/{hrg}/participants", VEJ_STAFF_CLERK | VEJ_STAFF_JUDGE, participant_list},
    {"PATCH", "hearings/{hrg}/participants/{ptc}", VEJ_STAFF_CLERK | VEJ_STAFF_JUDGE,
     participant_patch},
    {"POST", "hearings/{hrg}/participants/{ptc}/token", VEJ_STAFF_CLERK, participant_token},
    {"GET", "audit", VEJ_STAFF_ADMIN, audit_list},
    {"GET", "audit/head", VEJ_STAFF_ADMIN, audit_head},
    {"GET", "users", VEJ_STAFF_ADMIN, vej__rest_user_list},
    {"POST", "users", VEJ_STAFF_ADMIN, vej__rest_user_create},
    {"PATCH", "users/{usr}", VEJ_STAFF_ADMIN, vej__rest_user_patch},
    {"POST", "users/{usr}/password-reset", VEJ_STAFF_ADMIN, vej__rest_user_password_reset},
    {"POST", "users/{usr}/sessions/revoke", VEJ_STAFF_ADMIN, vej__rest_user_revoke},
    {"GET", "keys", STAFF_ANY, vej__rest_keys},
    {"POST", "users/{usr}/totp-reset", VEJ_STAFF_ADMIN, vej__rest_totp_reset},
    {"POST", "account/totp", 0, vej__rest_totp_enrol},
    {"POST", "account/totp/confirm", 0, vej__rest_totp_confirm},
};

/* Matches `path` (after /api/v1/) against a pattern. Returns 1 on match,
 * -1 when the shape matches but an id is malformed (404), 0 otherwise. */
static int
match(const char *pattern, char **segs, char *ids[MAX_PATH_IDS])
{
    g_auto(GStrv) pat = g_strsplit(pattern, "/", -1);
    int n_ids = 0, bad = 0;
    guint i = 0;
    for (; pat[i] && segs[i]; i++) {
        if (pat[i][0] == '{') {
            char prefix[8];
            snprintf(prefix, sizeof prefix, "%.3s_", pat[i] + 1);
            if (!vej_id_valid(segs[i], prefix))
                bad = 1;
            if (n_ids < MAX_PATH_IDS)
                ids[n_ids++] = segs[i];
        } else if (strcmp(pat[i], segs[i]) != 0) {
            return 0;
        }
    }
    if (pat[i] || segs[i])
        return 0;
    return bad ? -1 : 1;
}

void
vej__rest_dispatch(struct vej_http_req *r, const char *method, const char *path, json_t *body)
{
    if (!g_str_has_prefix(path, "/api/v1/"))
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
    if (vej__rest_recordings_dispatch(r, method, path, body))
        return;
    g_auto(GStrv) segs = g_strsplit(path + strlen("/api/v1/"), "/", 8);
    bool path_known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
        char *ids[MAX_PATH_IDS] = {NULL, NULL};
        int m = match(routes[i].pattern, segs, ids);
        if (m == 0)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) != 0)
            continue;
        g_autoptr(vej_user) user = NULL;
        if (routes[i].roles) {
            user = vej__http_auth_staff(r, routes[i].roles, false);
            if (!user)
                return;
        }
        if (m < 0)
            return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
        routes[i].handler(r, user, ids, body);
        return;
    }
    /* Unknown paths answer only authenticated staff, so that the API's
     * shape is not told to strangers. */
    if (!path_known) {
        g_autoptr(vej_user) user = vej__http_auth_staff(r, 0, true);
        if (!user)
            return;
    }
    vej__http_respond_error(r, path_known ? VEJ_RPC_METHOD_NOT_FOUND : VEJ_RPC_NOT_FOUND,
                            path_known ? "method not allowed" : "not found");
}
