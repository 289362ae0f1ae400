/* rpc.c - JSON-RPC methods on the WebSocket, one handler each, by table.
 *
 * The table says, for every method, which params it takes, whether it needs
 * a session or a joined hearing, and which participant roles may call it;
 * dispatch() checks all of that before a handler runs (deny by default).
 * A handler returns 0 with k->result set, or an error code with k->why.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "gateway/relay.h"
#include "signalling/token.h"

enum need { NEED_NOTHING, NEED_SESSION, NEED_JOINED };

/* A handler's answer "later": the request waits for its audit entry
 * (struct deferred, answered by deferred_done()) or for the media relay
 * (webrtc.*, answered by media.c). */
#define RPC_PENDING 1

struct call {
    struct vej_signalling *s;
    struct vej_conn *c;
    struct vej_session *sess;
    struct vej_live_participant *me;
    struct vej_live_hearing *h;
    json_t *id; /* the request's id (transfer none) */
    json_t *params;
    json_t *result;
    const char *why;
    const char *field;
    GError *error; /* owns the message k->why may point to */
};

struct method {
    const char *name;
    int (*handler)(struct call *k);
    enum need need;
    unsigned roles;     /* bits of enum vej_role; 0: anyone with `need` */
    const char *params; /* allowed member names, comma-separated */
};

#define ROLE(r) (1u << (r))
#define BENCH (ROLE(VEJ_ROLE_CLERK) | ROLE(VEJ_ROLE_JUDGE))

/* ---- params ---- */

static int
bad_param(struct call *k, const char *field, const char *why)
{
    k->field = field;
    k->why = why;
    return VEJ_RPC_INVALID_PARAMS;
}

static const char *
param_string(struct call *k, const char *name, size_t max)
{
    json_t *v = json_object_get(k->params, name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return NULL;
    return json_string_value(v);
}

/* The participant a bench method acts on: joined, in the caller's hearing. */
static struct vej_live_participant *
target_of(struct call *k, int *code)
{
    const char *pid = param_string(k, "participant_id", 96);
    if (!pid) {
        *code = bad_param(k, "participant_id", "must be a participant id");
        return NULL;
    }
    struct vej_live_participant *t = vej__hearing_find(k->h, pid);
    if (!t) {
        k->why = "participant not found in this hearing";
        *code = VEJ_RPC_NOT_FOUND;
    }
    return t;
}

/* Who may act on whom: only a judge acts on a judge (a clerk cannot mute,
 * move, screen or remove the bench's judge). */
static int
may_act_on(struct call *k, enum vej_role target)
{
    if (target == VEJ_ROLE_JUDGE && k->me->role != VEJ_ROLE_JUDGE) {
        k->why = "only a judge may do that to a judge";
        return VEJ_RPC_FORBIDDEN;
    }
    return 0;
}

/* Audit rule for changes of exposure (docs/protocol.md "Audit"): a change
 * that widens exposure happens only once its entry is committed, so the
 * request is answered after the commit (other requests go on meanwhile,
 * and entries of many requests share one commit); a protective change
 * happens at once, and the clerks hear when its entry could not be
 * written. */
enum deferred_op { OP_ADMIT, OP_MOVE, OP_UNMUTE };

struct deferred {
    uint64_t conn_id;
    json_t *id;
    char session_id[48];
    char hearing_id[96];
    char target[96];
    enum deferred_op op;
    char place[VEJ_PLACE_MAX];
    enum vej_media_kind kind;
};

static json_t *error_reply(json_t *id, int code, const char *why, const char *field);

/* The change, made once its entry is written: the target is looked up
 * again, since anything may have happened while the commit ran. */
static int
deferred_apply(struct deferred *d, struct vej_live_participant *me, json_t **result,
               const char **why)
{
    struct vej_live_hearing *h = me->hearing;
    struct vej_live_participant *t = vej__hearing_find(h, d->target);
    if (!t) {
        *why = "participant not found in this hearing";
        return VEJ_RPC_NOT_FOUND;
    }
    int code = 0;
    switch (d->op) {
    case OP_ADMIT:
        code = vej__hearing_admit(h, t, why);
        break;
    case OP_MOVE:
        if (h->state == VEJ_HEARING_CLOSED) {
            *why = "the hearing is closed";
            return VEJ_RPC_CONFLICT;
        }
        code = vej__hearing_move(h, t, d->place, why);
        if (!code)
            *result = json_pack("{s:s}", "place", t->place);
        break;
    case OP_UNMUTE:
        vej__hearing_mute(h, t, d->kind, false);
        break;
    }
    return code;
}

static void
deferred_done(struct vej_signalling *s, bool ok, void *data)
{
    struct deferred *d = data;
    struct vej_conn *c = g_hash_table_lookup(s->conns, &d->conn_id);
    struct vej_session *sess = g_hash_table_lookup(s->sessions, d->session_id);
    struct vej_live_participant *me = sess ? sess->participant : NULL;
    const char *why = NULL;
    json_t *result = NULL;
    int code;
    bool answer_to = c && !c->closing && c->session == sess;
    /* The result goes before the notifications the change causes. */
    if (answer_to)
        vej__conn_hold(c);
    if (!ok) {
        why = "the audit log cannot be written: the change was not made";
        code = VEJ_RPC_INTERNAL;
    } else if (s->stopping || !me || strcmp(me->hearing->id, d->hearing_id) != 0) {
        why = "the caller left the hearing";
        code = VEJ_RPC_CONFLICT;
    } else {
        code = deferred_apply(d, me, &result, &why);
    }
    if (answer_to) {
        json_t *answer = code ? error_reply(d->id, code, why, NULL)
                              : vej_rpc_result(d->id, result ? result : json_object());
        result = NULL;
        if (code)
            s->metrics.rpc_errors_total++;
        vej__conn_release(c, answer);
        json_decref(answer);
    }
    if (result)
        json_decref(result);
    json_decref(d->id);
    g_free(d);
}

/* Audits a widening change and answers the request once the entry is
 * committed (RPC_PENDING); `d` is filled with what to do by the caller. */
static int
audit_widening(struct call *k, struct deferred *d, const char *action, json_t *detail)
{
    d->conn_id = k->c->id;
    d->id = json_incref(k->id);
    g_strlcpy(d->session_id, k->sess->id, sizeof d->session_id);
    g_strlcpy(d->hearing_id, k->h->id, sizeof d->hearing_id);
    vej__audit_then(k->s, k->me->id, action, d->target, detail, deferred_done, d);
    return RPC_PENDING;
}

static struct deferred *
deferred_new(const char *target, enum deferred_op op)
{
    struct deferred *d = g_new0(struct deferred, 1);
    g_strlcpy(d->target, target, sizeof d->target);
    d->op = op;
    return d;
}

static void
protective_done(struct vej_signalling *s, bool ok, void *data)
{
    char *hid = data;
    if (!ok)
        vej__hearing_audit_failed(s, hid);
    g_free(hid);
}

/* Audits a protective change already made; the clerks are told if the
 * entry cannot be written. */
static void
audit_protective(struct call *k, const char *action, const char *target, json_t *detail)
{
    vej__audit_then(k->s, k->me->id, action, target, detail, protective_done, g_strdup(k->h->id));
}

/* ---- session.* ---- */

static json_t *
identity_json(struct vej_session *sess)
{
    json_t *id = json_pack("{s:s,s:s}", "role", sess->role, "display_name", sess->display_name);
    if (sess->participant_id)
        json_object_set_new(id, "participant_id", json_string(sess->participant_id));
    if (sess->hearing_id)
        json_object_set_new(id, "hearing_id", json_string(sess->hearing_id));
    if (sess->kind == VEJ_IDENTITY_STAFF)
        json_object_set_new(id, "user_id", json_string(sess->user_id));
    return id;
}

static int
session_result(struct call *k, struct vej_session *sess)
{
    char resume[44];
    if (!vej__session_rotate_resume(sess, resume)) {
        k->why = "no randomness";
        return VEJ_RPC_INTERNAL;
    }
    const char *who = sess->participant_id ? sess->participant_id : sess->user_id;
    k->result = json_pack("{s:s,s:s,s:o,s:o}", "session_id", sess->id, "resume_token", resume,
                          "identity", identity_json(sess), "ice_servers",
                          vej__media_ice_servers(k->s, who ? who : sess->id));
    return 0;
}

static int
hello_participant(struct call *k, const char *token)
{
    struct vej_participant_row *row = NULL;
    int code = vej__join_token_check(k->s, token, &row, &k->why);
    if (code)
        return code;
    /* A join link reaches only a join-link session (auth.c refuses links of
     * staff entries; this lookup never returns a staff session either). */
    struct vej_session *sess = vej__session_of_link(k->s, row->id);
    if (sess) {
        vej__audit(k->s, row->id, "session.takeover", row->hearing_id,
                   json_pack("{s:s}", "address", k->c->peer));
    } else {
        sess = vej__session_new(k->s, VEJ_IDENTITY_PARTICIPANT);
        if (!sess) {
            vej_participant_row_free(row);
            k->why = "no randomness";
            return VEJ_RPC_INTERNAL;
        }
        sess->participant_id = g_strdup(row->id);
        sess->hearing_id = g_strdup(row->hearing_id);
        sess->role = g_strdup(row->role);
        sess->display_name = g_strdup(row->display_name);
    }
    vej__audit(k->s, row->id, "session.hello", row->hearing_id,
               json_pack("{s:s}", "address", k->c->peer));
    vej_participant_row_free(row);
    vej__session_attach(sess, k->c);
    /* A takeover by link (a second device, or a leaked link) goes back
     * through the lobby; session.resume is the way to keep one's place. */
    if (sess->participant)
        vej__hearing_takeover(sess->participant->hearing, sess->participant);
    return session_result(k, sess);
}

static int
hello_staff(struct call *k, const char *token)
{
    struct vej_user *user = NULL;
    uint8_t hash[32];
    int code = vej__staff_token_check(k->s, token, &user, hash, &k->why);
    if (code)
        return code;
    const char *setup = NULL;
    if (vej__account_setup_pending(k->s, user, &setup)) {
        vej_user_free(user);
        k->why = setup;
        return VEJ_RPC_FORBIDDEN;
    }
    struct vej_session *sess = vej__session_new(k->s, VEJ_IDENTITY_STAFF);
    if (!sess) {
        vej_user_free(user);
        k->why = "no randomness";
        return VEJ_RPC_INTERNAL;
    }
    sess->user_id = g_strdup(user->id);
    sess->user_role = g_strdup(user->role);
    sess->role = g_strdup(user->role);
    sess->display_name = g_strdup(user->username);
    memcpy(sess->staff_token_hash, hash, 32);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_staff_session) ss = vej_store_staff_session_get(k->s->store, hash, &error);
    sess->staff_expires_at = ss ? ss->expires_at : 0;
    vej__audit(k->s, user->id, "session.hello", user->id,
               json_pack("{s:s}", "address", k->c->peer));
    vej_user_free(user);
    vej__session_attach(sess, k->c);
    /* A subscribe offer sent while the socket was gone was lost. */
    if (sess->participant)
        vej__media_resumed(k->s, sess->participant);
    return session_result(k, sess);
}

static int
m_session_hello(struct call *k)
{
    if (k->sess) {
        k->why = "this socket already has a session";
        return VEJ_RPC_CONFLICT;
    }
    const char *token = param_string(k, "token", VEJ_TOKEN_MAX_LEN);
    if (!token)
        return bad_param(k, "token", "must be a non-empty string");
    return strchr(token, '.') ? hello_participant(k, token) : hello_staff(k, token);
}

static int
m_session_resume(struct call *k)
{
    if (k->sess) {
        k->why = "this socket already has a session";
        return VEJ_RPC_CONFLICT;
    }
    const char *token = param_string(k, "resume_token", VEJ_TOKEN_MAX_LEN);
    if (!token)
        return bad_param(k, "resume_token", "must be a non-empty string");
    struct vej_session *sess = vej__session_by_resume(k->s, token);
    if (!sess) {
        k->why = "unknown, used or expired resume token";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    const char *who = sess->participant_id ? sess->participant_id : sess->user_id;
    vej__audit(k->s, who ? who : sess->id, "session.resume",
               sess->hearing_id ? sess->hearing_id : "", json_pack("{s:s}", "address", k->c->peer));
    vej__session_attach(sess, k->c);
    /* A subscribe offer sent while the socket was gone was lost. */
    if (sess->participant)
        vej__media_resumed(k->s, sess->participant);
    return session_result(k, sess);
}

/* ---- hearing.* ---- */

/* Removal is final for a staff account too: its removed entry stays. */
static bool
staff_was_removed(struct vej_signalling *s, const char *hid, const char *user_id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = vej_store_participant_list(s->store, hid, &error);
    for (guint i = 0; rows && i < rows->len; i++) {
        const struct vej_participant_row *p = rows->pdata[i];
        if (p->removed && g_strcmp0(p->user_id, user_id) == 0)
            return true;
    }
    return !rows; /* cannot tell: refuse */
}

static int
join_staff(struct call *k, const char *hid, struct vej_participant_row **row)
{
    unsigned bit = vej__staff_role_bit(k->sess->user_role);
    if (!(bit & (VEJ_STAFF_CLERK | VEJ_STAFF_JUDGE))) {
        k->why = "only clerks and judges join hearings";
        return VEJ_RPC_FORBIDDEN;
    }
    if (!hid)
        return bad_param(k, "hearing_id", "required with a staff token");
    if (k->sess->hearing_id && strcmp(k->sess->hearing_id, hid) != 0) {
        k->why = "this socket is already in another hearing";
        return VEJ_RPC_CONFLICT;
    }
    int code = 0;
    struct vej_live_hearing *h = vej__hearing_get(k->s, hid, &code, &k->why);
    if (!h)
        return code;
    /* Deny by default: only the courtrooms the account is assigned to. A
     * change of assignment ends the account's sessions (rest-users.c), so
     * a joined session stays within them. */
    if (!vej__staff_may_act(k->s, k->sess->user_id, h->courtroom_id)) {
        k->why = "not assigned to this courtroom";
        return VEJ_RPC_FORBIDDEN;
    }
    g_autoptr(GError) error = NULL;
    *row = vej_store_participant_get_by_user(k->s->store, h->id, k->sess->user_id, &error);
    if (!*row && staff_was_removed(k->s, h->id, k->sess->user_id)) {
        k->why = "removed from this hearing";
        return VEJ_RPC_FORBIDDEN;
    }
    if (!*row && h->state != VEJ_HEARING_CLOSED) {
        *row = vej_store_participant_create(k->s->store, h->id, k->sess->display_name,
                                            k->sess->user_role, "{}", k->sess->user_id, &error);
        if (*row)
            vej__audit(k->s, k->sess->user_id, "participant.create", (*row)->id,
                       json_pack("{s:s,s:s,s:s}", "hearing_id", h->id, "role", (*row)->role,
                                 "user_id", k->sess->user_id));
    }
    if (!*row) {
        k->why = h->state == VEJ_HEARING_CLOSED ? "the hearing is closed" : "cannot join";
        return h->state == VEJ_HEARING_CLOSED ? VEJ_RPC_CONFLICT : VEJ_RPC_INTERNAL;
    }
    return 0;
}

static int
m_hearing_join(struct call *k)
{
    json_t *hidv = json_object_get(k->params, "hearing_id");
    if (hidv && !json_is_string(hidv))
        return bad_param(k, "hearing_id", "must be a string");
    const char *hid = json_string_value(hidv);
    g_autoptr(vej_participant_row) row = NULL;
    g_autoptr(GError) error = NULL;
    if (k->sess->kind == VEJ_IDENTITY_STAFF) {
        int code = join_staff(k, hid, &row);
        if (code)
            return code;
    } else {
        if (hid && strcmp(hid, k->sess->hearing_id) != 0) {
            k->why = "the join token is for another hearing";
            return VEJ_RPC_FORBIDDEN;
        }
        row = vej_store_participant_get(k->s->store, k->sess->participant_id, &error);
        if (!row || row->removed) {
            k->why = "participant removed";
            return VEJ_RPC_UNAUTHENTICATED;
        }
    }
    int code = 0;
    struct vej_live_hearing *h = vej__hearing_get(k->s, row->hearing_id, &code, &k->why);
    if (!h)
        return code;
    if (k->s->stopping) {
        k->why = "the server is shutting down";
        return VEJ_RPC_CONFLICT;
    }
    code = vej__hearing_join(h, k->sess, row, &k->result, &k->why);
    if (code == 0 && k->sess->kind == VEJ_IDENTITY_STAFF) {
        /* A staff read of the roster (names, places) is an audit entry. */
        vej__audit(k->s, k->sess->user_id, "hearing.roster", h->id,
                   json_pack("{s:s,s:i}", "participant_id", row->id, "count",
                             (int)json_array_size(json_object_get(k->result, "participants"))));
        g_free(k->sess->participant_id);
        g_free(k->sess->hearing_id);
        k->sess->participant_id = g_strdup(row->id);
        k->sess->hearing_id = g_strdup(row->hearing_id);
    }
    return code;
}

static int
m_hearing_leave(struct call *k)
{
    vej__hearing_leave(k->me, "left");
    if (k->sess->kind == VEJ_IDENTITY_STAFF) {
        g_clear_pointer(&k->sess->participant_id, g_free);
        g_clear_pointer(&k->sess->hearing_id, g_free);
    }
    k->result = json_object();
    return 0;
}

static int
m_hearing_admit(struct call *k)
{
    int code = 0;
    struct vej_live_participant *t = target_of(k, &code);
    if (!t)
        return code;
    if (t->admitted) {
        k->why = "the participant is not in the lobby";
        return VEJ_RPC_CONFLICT;
    }
    return audit_widening(k, deferred_new(t->id, OP_ADMIT), "participant.admit",
                          json_pack("{s:s}", "hearing_id", k->h->id));
}

static int
m_hearing_move(struct call *k)
{
    int code = 0;
    struct vej_live_participant *t = target_of(k, &code);
    if (!t)
        return code;
    if ((code = may_act_on(k, t->role)))
        return code;
    const char *place = param_string(k, "place", VEJ_PLACE_MAX);
    if (!place || !vej_place_valid(place))
        return bad_param(k, "place", "must be main, lobby or consultation:NAME");
    if (k->h->state == VEJ_HEARING_CLOSED) {
        k->why = "the hearing is closed";
        return VEJ_RPC_CONFLICT;
    }
    char from[VEJ_PLACE_MAX];
    g_strlcpy(from, t->place, sizeof from);
    if (strcmp(from, place) == 0) {
        k->result = json_pack("{s:s}", "place", t->place);
        return 0;
    }
    /* Into main, or out of the lobby (an admission), widens exposure; into
     * a consultation room or the lobby protects. */
    bool widening = strcmp(place, "main") == 0 || strcmp(from, "lobby") == 0;
    json_t *detail = json_pack("{s:s,s:s,s:s}", "hearing_id", k->h->id, "from", from, "to", place);
    if (widening) {
        struct deferred *d = deferred_new(t->id, OP_MOVE);
        g_strlcpy(d->place, place, sizeof d->place);
        return audit_widening(k, d, "participant.move", detail);
    }
    if ((code = vej__hearing_move(k->h, t, place, &k->why))) {
        json_decref(detail);
        return code;
    }
    audit_protective(k, "participant.move", t->id, detail);
    k->result = json_pack("{s:s}", "place", t->place);
    return 0;
}

static int
m_hearing_mute(struct call *k)
{
    int code = 0;
    struct vej_live_participant *t = target_of(k, &code);
    if (!t)
        return code;
    if ((code = may_act_on(k, t->role)))
        return code;
    const char *kind = param_string(k, "kind", 8);
    if (!kind || (strcmp(kind, "audio") != 0 && strcmp(kind, "video") != 0))
        return bad_param(k, "kind", "must be audio or video");
    json_t *muted = json_object_get(k->params, "muted");
    if (!json_is_boolean(muted))
        return bad_param(k, "muted", "must be a boolean");
    enum vej_media_kind mk = kind[0] == 'a' ? VEJ_MEDIA_AUDIO : VEJ_MEDIA_VIDEO;
    json_t *detail = json_pack("{s:s,s:s,s:b}", "hearing_id", k->h->id, "kind", kind, "muted",
                               json_is_true(muted));
    if (json_is_true(muted)) {
        vej__hearing_mute(k->h, t, mk, true);
        audit_protective(k, "participant.mute", t->id, detail);
    } else {
        struct deferred *d = deferred_new(t->id, OP_UNMUTE);
        d->kind = mk;
        return audit_widening(k, d, "participant.mute", detail);
    }
    k->result = json_object();
    return 0;
}

static int
m_hearing_remove(struct call *k)
{
    const char *pid = param_string(k, "participant_id", 96);
    if (!pid || !vej_id_valid(pid, "ptc_"))
        return bad_param(k, "participant_id", "must be a participant id");
    if (strcmp(pid, k->me->id) == 0) {
        k->why = "cannot remove oneself; use hearing.leave";
        return VEJ_RPC_CONFLICT;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_participant_row) row = vej_store_participant_get(k->s->store, pid, &error);
    if (!row || row->removed || strcmp(row->hearing_id, k->h->id) != 0) {
        k->why = "participant not found in this hearing";
        return VEJ_RPC_NOT_FOUND;
    }
    enum vej_role target_role = VEJ_ROLE_OBSERVER;
    if (vej_role_parse(row->role, &target_role) && may_act_on(k, target_role))
        return VEJ_RPC_FORBIDDEN;
    if (!vej_store_participant_remove(k->s->store, pid, &error)) {
        k->why = "cannot store the removal";
        return VEJ_RPC_INTERNAL;
    }
    char hid[96];
    g_strlcpy(hid, k->h->id, sizeof hid);
    audit_protective(k, "participant.remove", pid, json_pack("{s:s}", "hearing_id", hid));
    vej__hearing_removed(k->s, hid, pid);
    k->result = json_object();
    return 0;
}

static int
m_hearing_set_state(struct call *k)
{
    const char *state = param_string(k, "state", 32);
    if (!state)
        return bad_param(k, "state", "must be a state name");
    json_t *out = NULL;
    char hid[96];
    g_strlcpy(hid, k->h->id, sizeof hid);
    int code = vej__hearing_set_state(k->s, hid, state, k->me->id, &out, &k->why);
    if (code == VEJ_RPC_INVALID_PARAMS)
        k->field = "state";
    if (code == 0)
        k->result = json_pack("{s:o}", "hearing", out);
    return code;
}

static int
m_hearing_set_special_measures(struct call *k)
{
    const char *pid = param_string(k, "participant_id", 96);
    if (!pid)
        return bad_param(k, "participant_id", "must be a participant id");
    json_t *sm = json_object_get(k->params, "special_measures");
    if (!sm)
        return bad_param(k, "special_measures", "missing");
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_participant_row) row =
        vej_id_valid(pid, "ptc_") ? vej_store_participant_get(k->s->store, pid, &error) : NULL;
    enum vej_role target_role = VEJ_ROLE_OBSERVER;
    if (row && vej_role_parse(row->role, &target_role) && may_act_on(k, target_role))
        return VEJ_RPC_FORBIDDEN;
    json_t *out = NULL;
    int code =
        vej__participant_update(k->s, k->h->id, pid, NULL, sm, k->me->id, &out, &k->why, &k->field);
    if (code == 0)
        k->result = json_pack("{s:o}", "participant", out);
    return code;
}

/* ---- webrtc.* ---- */

/* A webrtc.* request goes to the relay and is answered by media.c when the
 * relay has run it (RPC_PENDING), or refused here at once. */
static int
media_result(struct call *k, int code)
{
    if (code && k->error)
        k->why = k->error->message;
    return code ? code : RPC_PENDING;
}

static struct vej_media_reply
reply_to(struct call *k)
{
    return (struct vej_media_reply){.conn_id = k->c->id, .session_id = k->sess->id, .id = k->id};
}

static int
m_webrtc_publish(struct call *k)
{
    const char *sdp = param_string(k, "sdp", k->s->config->max_message_bytes);
    if (!sdp)
        return bad_param(k, "sdp", "must be an SDP offer");
    struct vej_media_reply to = reply_to(k);
    return media_result(k, vej__media_publish(k->s, k->me, &to, sdp, &k->error));
}

static int
m_webrtc_subscribe(struct call *k)
{
    struct vej_media_reply to = reply_to(k);
    return media_result(k, vej__media_subscribe(k->s, k->me, &to, &k->error));
}

static int
m_webrtc_answer(struct call *k)
{
    const char *sdp = param_string(k, "sdp", k->s->config->max_message_bytes);
    if (!sdp)
        return bad_param(k, "sdp", "must be an SDP answer");
    json_t *rev = json_object_get(k->params, "revision");
    if (!json_is_integer(rev) || json_integer_value(rev) < 0)
        return bad_param(k, "revision", "must be the offer's revision (an integer)");
    struct vej_media_reply to = reply_to(k);
    return media_result(
        k, vej__media_answer(k->s, k->me, &to, sdp, (uint64_t)json_integer_value(rev), &k->error));
}

static bool
pc_param(struct call *k, enum vej_relay_pc *pc)
{
    const char *name = param_string(k, "pc", 16);
    if (name && strcmp(name, "publish") == 0)
        *pc = VEJ_RELAY_PUBLISH;
    else if (name && strcmp(name, "subscribe") == 0)
        *pc = VEJ_RELAY_SUBSCRIBE;
    else
        return false;
    return true;
}

static int
m_webrtc_candidate(struct call *k)
{
    enum vej_relay_pc pc;
    if (!pc_param(k, &pc))
        return bad_param(k, "pc", "must be publish or subscribe");
    json_t *c = json_object_get(k->params, "candidate");
    if (c && !json_is_null(c) && !json_is_string(c))
        return bad_param(k, "candidate", "must be a string or null");
    if (c && json_is_string(c) && json_string_length(c) > 1024)
        return bad_param(k, "candidate", "too long");
    const char *text = c ? json_string_value(c) : NULL;
    struct vej_media_reply to = reply_to(k);
    return media_result(k, vej__media_candidate(k->s, k->me, &to, pc, text, &k->error));
}

static int
m_webrtc_restart_ice(struct call *k)
{
    enum vej_relay_pc pc;
    if (!pc_param(k, &pc) || pc != VEJ_RELAY_SUBSCRIBE)
        return bad_param(k, "pc", "must be subscribe (restart the publish PC with an offer)");
    struct vej_media_reply to = reply_to(k);
    return media_result(k, vej__media_restart_ice(k->s, k->me, &to, &k->error));
}

/* A participant asks the court for something (today: a private
 * consultation with their advocate); the hearing's admitted clerks are
 * alerted, naming the participant as they see them. At most one request
 * per participant every VEJ_REQUEST_INTERVAL_S. */
static int
m_hearing_request(struct call *k)
{
    const char *kind = param_string(k, "kind", 32);
    if (!kind || strcmp(kind, "consultation") != 0)
        return bad_param(k, "kind", "must be consultation");
    if (!k->me->admitted) {
        k->why = "only an admitted participant can ask the court";
        return VEJ_RPC_CONFLICT;
    }
    int64_t now = g_get_monotonic_time();
    if (k->me->last_request_us &&
        now - k->me->last_request_us < VEJ_REQUEST_INTERVAL_S * G_USEC_PER_SEC) {
        k->why = "a request was made less than 30 s ago";
        return VEJ_RPC_RATE_LIMITED;
    }
    k->me->last_request_us = now;
    vej__hearing_request(k->h, k->me, kind);
    vej__audit(k->s, k->me->id, "participant.request", k->h->id,
               json_pack("{s:s,s:s}", "participant_id", k->me->id, "kind", kind));
    k->result = json_object();
    return 0;
}

static const struct method methods[] = {
    {"session.hello", m_session_hello, NEED_NOTHING, 0, "token"},
    {"session.resume", m_session_resume, NEED_NOTHING, 0, "resume_token"},
    {"hearing.join", m_hearing_join, NEED_SESSION, 0, "hearing_id"},
    {"hearing.leave", m_hearing_leave, NEED_JOINED, 0, "hearing_id"},
    {"hearing.admit", m_hearing_admit, NEED_JOINED, BENCH, "hearing_id,participant_id"},
    {"hearing.move", m_hearing_move, NEED_JOINED, ROLE(VEJ_ROLE_CLERK),
     "hearing_id,participant_id,place"},
    {"hearing.mute", m_hearing_mute, NEED_JOINED, BENCH, "hearing_id,participant_id,kind,muted"},
    {"hearing.remove", m_hearing_remove, NEED_JOINED, BENCH, "hearing_id,participant_id"},
    {"hearing.set_state", m_hearing_set_state, NEED_JOINED, BENCH, "hearing_id,state"},
    {"hearing.request", m_hearing_request, NEED_JOINED, 0, "hearing_id,kind"},
    {"hearing.set_special_measures", m_hearing_set_special_measures, NEED_JOINED, BENCH,
     "hearing_id,participant_id,special_measures"},
    {"webrtc.publish", m_webrtc_publish, NEED_JOINED, 0, "hearing_id,sdp"},
    {"webrtc.subscribe", m_webrtc_subscribe, NEED_JOINED, 0, "hearing_id"},
    {"webrtc.answer", m_webrtc_answer, NEED_JOINED, 0, "hearing_id,sdp,revision"},
    {"webrtc.candidate", m_webrtc_candidate, NEED_JOINED, 0,
     "hearing_id,pc,candidate,sdpMid,sdpMLineIndex,usernameFragment"},
    {"webrtc.restart_ice", m_webrtc_restart_ice, NEED_JOINED, 0, "hearing_id,pc"},
};

/* ---- dispatch ---- */

static bool
params_allowed(const struct method *m, json_t *params, const char **bad)
{
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v)
    {
        size_t n = strlen(key);
        const char *p = m->params;
        bool found = false;
        while (p && *p && !found) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            found = len == n && strncmp(p, key, n) == 0;
            p = comma ? comma + 1 : NULL;
        }
        if (!found) {
            *bad = key;
            return false;
        }
    }
    return true;
}

static int
check_access(const struct method *m, struct call *k)
{
    if (m->need == NEED_NOTHING)
        return 0;
    if (!k->sess) {
        k->why = "say session.hello first";
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (k->sess->kind == VEJ_IDENTITY_STAFF &&
        g_get_real_time() / G_USEC_PER_SEC >= k->sess->staff_expires_at) {
        k->why = "staff token expired";
        vej__session_end(k->sess, "token_expired");
        k->sess = NULL;
        return VEJ_RPC_UNAUTHENTICATED;
    }
    if (m->need == NEED_SESSION)
        return 0;
    k->me = k->sess->participant;
    if (!k->me) {
        k->why = "join a hearing first";
        return VEJ_RPC_CONFLICT;
    }
    k->h = k->me->hearing;
    json_t *hid = json_object_get(k->params, "hearing_id");
    if (hid && (!json_is_string(hid) || strcmp(json_string_value(hid), k->h->id) != 0)) {
        k->field = "hearing_id";
        k->why = "not the hearing this socket has joined";
        return VEJ_RPC_FORBIDDEN;
    }
    if (m->roles && !(m->roles & ROLE(k->me->role))) {
        k->why = "this role may not do that";
        return VEJ_RPC_FORBIDDEN;
    }
    /* Bench methods need a staff account's own session, whatever the role
     * a participant row says. */
    if (m->roles && (k->sess->kind != VEJ_IDENTITY_STAFF || !k->me->user_id)) {
        k->why = "only a staff account may do that";
        return VEJ_RPC_FORBIDDEN;
    }
    return 0;
}

static bool
rate_ok(struct vej_conn *c)
{
    int64_t now = g_get_monotonic_time();
    double rate = c->s->config->rpc_rate_per_s;
    c->bucket += (double)(now - c->bucket_at_us) * rate / 1e6;
    if (c->bucket > c->s->config->rpc_burst)
        c->bucket = c->s->config->rpc_burst;
    c->bucket_at_us = now;
    if (c->bucket < 1.0)
        return false;
    c->bucket -= 1.0;
    return true;
}

static void
reply(struct vej_conn *c, json_t *msg)
{
    vej__conn_send(c, msg);
    json_decref(msg);
}

static json_t *
error_reply(json_t *id, int code, const char *why, const char *field)
{
    g_autofree char *cid = NULL;
    if (code == VEJ_RPC_INTERNAL) {
        cid = vej__correlation_id();
        g_warning("internal error [%s]: %s", cid, why ? why : "?");
    }
    return vej_rpc_error(id, code, why ? why : "error", field, cid);
}

static void
reply_error(struct vej_signalling *s, struct vej_conn *c, json_t *id, int code, const char *why,
            const char *field)
{
    s->metrics.rpc_errors_total++;
    reply(c, error_reply(id, code, why, field));
}

void
vej__rpc_on_message(struct vej_conn *c, const char *buf, size_t len)
{
    struct vej_signalling *s = c->s;
    struct vej_rpc_request req;
    json_t *id = NULL;
    const char *why = NULL;
    s->metrics.rpc_requests_total++;
    int rc = vej_rpc_parse(buf, len, &req, &id, &why);
    if (rc < 0) {
        if (!rate_ok(c)) {
            /* Garbage past the rate limit is not answered at all. */
            s->metrics.rpc_rate_limited_total++;
            if (id)
                json_decref(id);
            return;
        }
        reply_error(s, c, id, rc, why, NULL);
        if (id)
            json_decref(id);
        return;
    }
    bool notification = !req.id;
    if (notification && strcmp(req.method, "webrtc.candidate") != 0) {
        /* Only webrtc.candidate may be a notification; anything else is
         * dropped and counted. */
        s->metrics.rpc_notifications_dropped_total++;
        vej_rpc_request_clear(&req);
        return;
    }
    if (!rate_ok(c)) {
        if (notification) {
            s->metrics.rpc_rate_limited_total++;
            vej_rpc_request_clear(&req);
            return;
        }
        s->metrics.rpc_rate_limited_total++;
        reply_error(s, c, req.id, VEJ_RPC_RATE_LIMITED, "too many requests", NULL);
        vej_rpc_request_clear(&req);
        return;
    }
    const struct method *m = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(methods) && !m; i++)
        if (strcmp(methods[i].name, req.method) == 0)
            m = &methods[i];
    struct call k = {.s = s, .c = c, .sess = c->session, .id = req.id, .params = req.params};
    int code;
    const char *bad = NULL;
    vej__conn_hold(c);
    if (!m) {
        code = VEJ_RPC_METHOD_NOT_FOUND;
        k.why = "method not found";
    } else if (!params_allowed(m, req.params, &bad)) {
        code = VEJ_RPC_INVALID_PARAMS;
        k.field = bad;
        k.why = "unknown parameter";
    } else if (!(code = check_access(m, &k))) {
        code = m->handler(&k);
    }
    if (code == RPC_PENDING && !notification) {
        /* Answered by deferred_done() once the audit entry is written, or
         * by media.c once the relay has run it. */
        vej__conn_release(c, NULL);
        g_clear_error(&k.error);
        vej_rpc_request_clear(&req);
        return;
    }
    if (notification) {
        /* Never answered; failures are counted (by media.c for those the
         * relay refuses). */
        if (code && code != RPC_PENDING)
            s->metrics.rpc_errors_total++;
        vej__conn_release(c, NULL);
        g_clear_error(&k.error);
        vej_rpc_request_clear(&req);
        return;
    }
    json_t *answer;
    if (code) {
        s->metrics.rpc_errors_total++;
        answer = error_reply(req.id, code, k.why, k.field);
    } else {
        answer = vej_rpc_result(req.id, k.result ? k.result : json_object());
    }
    vej__conn_release(c, answer);
    json_decref(answer);
    g_clear_error(&k.error);
    vej_rpc_request_clear(&req);
}

void
vej__rpc_on_close(struct vej_conn *c)
{
    struct vej_session *sess = c->session;
    if (!sess)
        return;
    c->session = NULL;
    if (sess->conn == c)
        vej__session_detach(sess);
}
