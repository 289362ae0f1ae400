/* hearing.c - live hearings: who is joined, where, and who may see whom.
 *
 * The server's record of each participant's place is the only truth.
 * Every change goes through sync_views(): for each receiver it recomputes, with
 * the media-policy function, how the receiver may see each participant,
 * compares with what that receiver was last told (its `view`) and sends
 * exactly the notifications that close the gap. So the roster and every
 * notification are filtered by the same function as the media, and a
 * change of special measures can never leave a stale name on a screen.
 * The media policy goes to the relay first (vej__media_policy_changed, a
 * leave's vej__media_policy_leave): what sync_views() sends then waits in
 * the sockets until the relay reports the change enforced (server.c).
 */
#include "signalling/signalling-priv.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "signalling/token.h"

enum sync_event { EV_JOIN, EV_LEAVE, EV_ADMIT, EV_MOVE, EV_MUTE, EV_MEASURES };

static void make_pseudonym(struct vej_signalling *s, const char *text, char out[32]);

struct sync_cause {
    enum sync_event event;
    struct vej_live_participant *subject;
    const char *reason;       /* EV_LEAVE */
    enum vej_media_kind kind; /* EV_MUTE */
};

/* ---- conversions ---- */

void
vej__participant_party(const struct vej_live_participant *p, bool ignore_mutes,
                       struct vej_policy_party *out)
{
    memset(out, 0, sizeof *out);
    out->participant_id = p->id;
    out->role = p->role;
    out->domains[0] = p->place;
    out->n_domains = 1;
    out->admitted = p->admitted;
    out->muted[VEJ_MEDIA_AUDIO] = !ignore_mutes && p->muted[VEJ_MEDIA_AUDIO];
    out->muted[VEJ_MEDIA_VIDEO] = !ignore_mutes && p->muted[VEJ_MEDIA_VIDEO];
    out->audio_only = p->audio_only;
    out->anonymous = p->anonymous;
    out->screened_from = (const char *const *)p->screened_from->pdata;
    out->n_screened_from = p->screened_from->len;
}

static enum vej_visibility
visibility(struct vej_live_hearing *h, struct vej_live_participant *receiver,
           struct vej_live_participant *sender)
{
    struct vej_policy_party r, s;
    vej__participant_party(receiver, false, &r);
    vej__participant_party(sender, false, &s);
    return vej_policy_visibility(h->state, &r, &s);
}

static const char *
id_as(const struct vej_live_participant *p, enum vej_visibility vis)
{
    return vis == VEJ_VISIBILITY_FULL ? p->id : p->alias;
}

/* Views and rows are built with json_object_set_new: they are built once
 * per receiver of every change, and json_pack's format parsing cost more
 * than the building. */
static json_t *
participant_view(const struct vej_live_participant *p, enum vej_visibility vis)
{
    json_t *muted = json_object();
    json_object_set_new(muted, "audio", json_boolean(p->muted[VEJ_MEDIA_AUDIO]));
    json_object_set_new(muted, "video", json_boolean(p->muted[VEJ_MEDIA_VIDEO]));
    json_t *o = json_object();
    json_object_set_new(o, "participant_id", json_string(id_as(p, vis)));
    json_object_set_new(o, "role", json_string(vej_role_name(p->role)));
    json_object_set_new(o, "place", json_string(p->place));
    json_object_set_new(o, "muted", muted);
    if (vis == VEJ_VISIBILITY_FULL) {
        json_object_set_new(o, "display_name", json_string(p->display_name));
        json_object_set_new(o, "audio_only", json_boolean(p->audio_only));
    }
    return o;
}

static enum vej_visibility
view_get(struct vej_live_participant *receiver, struct vej_live_participant *subject)
{
    gpointer v = g_hash_table_lookup(receiver->view, subject);
    return v ? (enum vej_visibility)(GPOINTER_TO_INT(v) - 1) : VEJ_VISIBILITY_HIDDEN;
}

static void
view_set(struct vej_live_participant *receiver, struct vej_live_participant *subject,
         enum vej_visibility vis)
{
    if (vis == VEJ_VISIBILITY_HIDDEN)
        g_hash_table_remove(receiver->view, subject);
    else
        g_hash_table_insert(receiver->view, subject, GINT_TO_POINTER((int)vis + 1));
}

void
vej__hearing_notify(struct vej_live_participant *to, const char *method, json_t *params)
{
    json_object_set_new(params, "hearing_id", json_string(to->hearing->id));
    json_t *n = vej_rpc_notification(method, params);
    vej__session_send(to->session, n);
    json_decref(n);
}

json_t *
vej__hearing_snapshot(struct vej_live_hearing *h, struct vej_live_participant *viewer)
{
    json_t *list = json_array();
    g_hash_table_remove_all(viewer->view);
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        enum vej_visibility vis = p == viewer ? VEJ_VISIBILITY_FULL : visibility(h, viewer, p);
        if (vis == VEJ_VISIBILITY_HIDDEN)
            continue;
        if (p != viewer)
            view_set(viewer, p, vis);
        json_array_append_new(list, participant_view(p, vis));
    }
    return list;
}

bool
vej__hearing_shown_id(struct vej_live_hearing *h, struct vej_live_participant *viewer,
                      const char *pid, char out[VEJ_SHOWN_ID_MAX])
{
    struct vej_live_participant *p = vej__hearing_find(h, pid);
    if (!p)
        return false;
    enum vej_visibility vis = p == viewer ? VEJ_VISIBILITY_FULL : visibility(h, viewer, p);
    if (vis == VEJ_VISIBILITY_HIDDEN) {
        /* Hidden from this receiver: an id of its own, which no other
         * receiver is shown and the roster never names. */
        g_autofree char *text = g_strdup_printf("hidden:%s:%s", viewer->id, p->id);
        make_pseudonym(h->s, text, out);
    } else {
        g_strlcpy(out, id_as(p, vis), VEJ_SHOWN_ID_MAX);
    }
    return true;
}

/* ---- the one place that tells receivers about changes ---- */

static void
diff_one(struct vej_live_hearing *h, struct vej_live_participant *r, struct vej_live_participant *p,
         enum vej_visibility old, enum vej_visibility now)
{
    if (old == now)
        return;
    if (old != VEJ_VISIBILITY_HIDDEN)
        vej__hearing_notify(
            r, "participant.left",
            json_pack("{s:s,s:s}", "participant_id", id_as(p, old), "reason", "left"));
    if (now != VEJ_VISIBILITY_HIDDEN)
        vej__hearing_notify(r, "participant.joined",
                            json_pack("{s:o}", "participant", participant_view(p, now)));
}

/* One change is told to every other participant in at most a few forms
 * (by how each receiver sees the subject), so each form is built and
 * serialised once (vej__conn_share) and the same message goes to everyone
 * who sees it: slots by kind of message, then by visibility. */
enum { MEMO_EVENT, MEMO_RETIRE, MEMO_ALERT, MEMO_N };
struct notify_memo {
    json_t *msg[MEMO_N][VEJ_VISIBILITY_FULL + 1];
};

/* Sends the memo's message for (slot, vis) to r, if there is one. */
static bool
memo_send(struct notify_memo *m, int slot, enum vej_visibility vis, struct vej_live_participant *r)
{
    json_t *msg = m->msg[slot][vis];
    if (msg)
        vej__session_send(r->session, msg);
    return msg != NULL;
}

/* Makes the message for (slot, vis) from params and sends it to r. */
static void
memo_add(struct notify_memo *m, int slot, enum vej_visibility vis, struct vej_live_participant *r,
         const char *method, json_t *params)
{
    json_object_set_new(params, "hearing_id", json_string(r->hearing->id));
    json_t *msg = vej_rpc_notification(method, params);
    vej__conn_share(r->hearing->s, msg);
    m->msg[slot][vis] = msg;
    vej__session_send(r->session, msg);
}

static void
memo_clear(struct notify_memo *m)
{
    for (int i = 0; i < MEMO_N; i++)
        for (int v = 0; v <= VEJ_VISIBILITY_FULL; v++)
            if (m->msg[i][v])
                json_decref(m->msg[i][v]);
}

static void
tell_about_subject(struct vej_live_hearing *h, struct vej_live_participant *r,
                   const struct sync_cause *cause, enum vej_visibility old, enum vej_visibility now,
                   struct notify_memo *m)
{
    struct vej_live_participant *p = cause->subject;
    enum vej_visibility shown = now != VEJ_VISIBILITY_HIDDEN ? now : old;
    /* The receiver knew the subject under another form (full <-> role
     * only): retire the old entry before the event names the new one. */
    if (cause->event != EV_LEAVE && cause->event != EV_MEASURES && old != now &&
        old != VEJ_VISIBILITY_HIDDEN && now != VEJ_VISIBILITY_HIDDEN) {
        if (!memo_send(m, MEMO_RETIRE, old, r))
            memo_add(m, MEMO_RETIRE, old, r, "participant.left",
                     json_pack("{s:s,s:s}", "participant_id", id_as(p, old), "reason", "left"));
        old = VEJ_VISIBILITY_HIDDEN;
    }
    switch (cause->event) {
    case EV_JOIN:
        if (now == VEJ_VISIBILITY_HIDDEN)
            return;
        if (!memo_send(m, MEMO_EVENT, now, r))
            memo_add(m, MEMO_EVENT, now, r, p->admitted ? "participant.joined" : "lobby.waiting",
                     json_pack("{s:o}", "participant", participant_view(p, now)));
        /* Someone waiting needs a human: clerks get an alert too. */
        if (!p->admitted && r->role == VEJ_ROLE_CLERK && !memo_send(m, MEMO_ALERT, now, r))
            memo_add(m, MEMO_ALERT, now, r, "alert",
                     json_pack("{s:s,s:s,s:s,s:s}", "code", "lobby_waiting", "severity", "info",
                               "participant_id", id_as(p, now), "message",
                               "a participant is waiting in the lobby"));
        return;
    case EV_LEAVE:
        if (old != VEJ_VISIBILITY_HIDDEN && !memo_send(m, MEMO_EVENT, old, r))
            memo_add(
                m, MEMO_EVENT, old, r, "participant.left",
                json_pack("{s:s,s:s}", "participant_id", id_as(p, old), "reason", cause->reason));
        return;
    case EV_ADMIT:
        if (now == VEJ_VISIBILITY_HIDDEN)
            diff_one(h, r, p, old, now);
        else if (!memo_send(m, MEMO_EVENT, now, r))
            memo_add(m, MEMO_EVENT, now, r, "participant.admitted",
                     json_pack("{s:o}", "participant", participant_view(p, now)));
        return;
    case EV_MOVE:
        if (shown != VEJ_VISIBILITY_HIDDEN && !memo_send(m, MEMO_EVENT, shown, r))
            memo_add(m, MEMO_EVENT, shown, r, "participant.moved",
                     json_pack("{s:o,s:s}", "participant", participant_view(p, shown), "place",
                               p->place));
        return;
    case EV_MUTE:
        if (now != VEJ_VISIBILITY_HIDDEN && !memo_send(m, MEMO_EVENT, now, r))
            memo_add(m, MEMO_EVENT, now, r, "participant.muted",
                     json_pack("{s:s,s:s,s:b}", "participant_id", id_as(p, now), "kind",
                               cause->kind == VEJ_MEDIA_AUDIO ? "audio" : "video", "muted",
                               p->muted[cause->kind]));
        return;
    case EV_MEASURES:
        if (old != now || now == VEJ_VISIBILITY_HIDDEN)
            diff_one(h, r, p, old, now);
        else if (!memo_send(m, MEMO_EVENT, now, r))
            memo_add(m, MEMO_EVENT, now, r, "participant.updated",
                     json_pack("{s:o}", "participant", participant_view(p, now)));
        return;
    }
}

/* What the subject itself is told: its own change, and after an admission
 * or a move (its view of everyone changed) a fresh roster. */
static void
tell_subject(struct vej_live_hearing *h, const struct sync_cause *cause)
{
    struct vej_live_participant *p = cause->subject;
    json_t *self = participant_view(p, VEJ_VISIBILITY_FULL);
    switch (cause->event) {
    case EV_ADMIT:
        vej__hearing_notify(p, "participant.admitted",
                            json_pack("{s:o,s:o}", "participant", self, "participants",
                                      vej__hearing_snapshot(h, p)));
        return;
    case EV_MOVE:
        vej__hearing_notify(p, "participant.moved",
                            json_pack("{s:o,s:s,s:o}", "participant", self, "place", p->place,
                                      "participants", vej__hearing_snapshot(h, p)));
        return;
    case EV_MEASURES:
        vej__hearing_notify(p, "participant.updated", json_pack("{s:o}", "participant", self));
        return;
    case EV_MUTE:
        json_decref(self);
        vej__hearing_notify(p, "participant.muted",
                            json_pack("{s:s,s:s,s:b}", "participant_id", p->id, "kind",
                                      cause->kind == VEJ_MEDIA_AUDIO ? "audio" : "video", "muted",
                                      p->muted[cause->kind]));
        return;
    default:
        json_decref(self);
        return;
    }
}

static void
sync_views(struct vej_live_hearing *h, const struct sync_cause *cause)
{
    /* How r sees p depends only on r and p (policy.h), so a change to the
     * subject changes only the pairs it is part of: (r, subject) for every
     * other r here, and the subject's own view, which tell_subject rebuilds
     * whole where it can change (admission, move). O(N) per change. */
    struct vej_live_participant *p = cause->subject;
    /* Enforce before announce: the relay gets the change first, and what
     * is sent below waits until it reports the change enforced. */
    if (cause->event != EV_LEAVE)
        vej__media_policy_changed(h->s, h, p);
    struct notify_memo memo = {0};
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *r = h->participants->pdata[i];
        if (r == p)
            continue;
        enum vej_visibility old = view_get(r, p);
        enum vej_visibility now =
            cause->event == EV_LEAVE ? VEJ_VISIBILITY_HIDDEN : visibility(h, r, p);
        tell_about_subject(h, r, cause, old, now, &memo);
        view_set(r, p, now);
    }
    memo_clear(&memo);
    if (cause->event != EV_LEAVE && cause->event != EV_JOIN)
        tell_subject(h, cause);
    /* The recorder keeps the timeline from the same changes. */
    if (cause->event != EV_LEAVE)
        vej__recording_sync(h->s, h);
}

/* ---- special measures ---- */

char *
vej__special_measures_normalise(json_t *sm, const char **why, const char **field)
{
    json_t *screened = json_array();
    bool audio_only = false, anonymous = false;
    *field = "special_measures";
    if (sm && !json_is_null(sm)) {
        if (!json_is_object(sm)) {
            *why = "must be an object";
            goto fail;
        }
        const char *key;
        json_t *v;
        json_object_foreach(sm, key, v)
        {
            if (strcmp(key, "screened_from") == 0) {
                *field = "special_measures.screened_from";
                size_t i;
                json_t *e;
                if (!json_is_array(v) || json_array_size(v) > 32) {
                    *why = "must be an array of at most 32 roles or participant ids";
                    goto fail;
                }
                json_array_foreach(v, i, e)
                {
                    enum vej_role role;
                    const char *t = json_string_value(e);
                    if (!t || (!vej_role_parse(t, &role) && !vej_id_valid(t, "ptc_"))) {
                        *why = "entries must be role names or ptc_ ids";
                        goto fail;
                    }
                    json_array_append_new(screened, json_string(t));
                }
            } else if (strcmp(key, "audio_only") == 0 || strcmp(key, "anonymous") == 0) {
                if (!json_is_boolean(v)) {
                    *field = strcmp(key, "audio_only") == 0 ? "special_measures.audio_only"
                                                            : "special_measures.anonymous";
                    *why = "must be a boolean";
                    goto fail;
                }
                if (key[1] == 'u')
                    audio_only = json_is_true(v);
                else
                    anonymous = json_is_true(v);
            } else {
                *field = "special_measures";
                *why = "unknown member";
                goto fail;
            }
        }
    }
    json_t *out = json_pack("{s:o,s:b,s:b}", "screened_from", screened, "audio_only", audio_only,
                            "anonymous", anonymous);
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    char *ret = g_strdup(text);
    free(text);
    return ret;
fail:
    json_decref(screened);
    return NULL;
}

static void
apply_measures(struct vej_live_participant *p, const char *text)
{
    g_ptr_array_set_size(p->screened_from, 0);
    p->audio_only = p->anonymous = false;
    json_t *sm = json_loads(text ? text : "{}", 0, NULL);
    if (!sm)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(sm, "screened_from"), i, e)
    {
        if (json_is_string(e))
            g_ptr_array_add(p->screened_from, g_strdup(json_string_value(e)));
    }
    p->audio_only = json_is_true(json_object_get(sm, "audio_only"));
    p->anonymous = json_is_true(json_object_get(sm, "anonymous"));
    json_decref(sm);
}

/* ---- rows as JSON ---- */

static json_t *
time_json(int64_t unix_s)
{
    g_autofree char *text = vej__rfc3339(unix_s);
    return json_string(text);
}

json_t *
vej__hearing_row_json(const struct vej_hearing_row *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(h->id));
    json_object_set_new(o, "courtroom_id", json_string(h->courtroom_id));
    json_object_set_new(o, "case_reference", json_string(h->case_reference));
    json_object_set_new(o, "title", json_string(h->title));
    json_object_set_new(o, "starts_at", time_json(h->starts_at));
    json_object_set_new(o, "ends_at", time_json(h->ends_at));
    json_object_set_new(o, "state", json_string(h->state));
    json_object_set_new(o, "created_at", time_json(h->created_at));
    return o;
}

json_t *
vej__participant_row_json(const struct vej_participant_row *p)
{
    json_t *sm = json_loads(p->special_measures ? p->special_measures : "{}", 0, NULL);
    g_autofree char *created = vej__rfc3339(p->created_at);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:s}", "id", p->id, "hearing_id", p->hearing_id,
                          "display_name", p->display_name, "role", p->role, "special_measures",
                          sm ? sm : json_object(), "removed", p->removed, "created_at", created);
    if (p->user_id)
        json_object_set_new(o, "user_id", json_string(p->user_id));
    return o;
}

static json_t *
live_hearing_json(struct vej_live_hearing *h)
{
    g_autofree char *starts = vej__rfc3339(h->starts_at);
    g_autofree char *ends = vej__rfc3339(h->ends_at);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", h->id, "courtroom_id", h->courtroom_id,
                     "case_reference", h->case_reference, "title", h->title, "starts_at", starts,
                     "ends_at", ends, "state", vej_hearing_state_name(h->state));
}

/* ---- live hearings ---- */

struct vej_live_hearing *
vej__hearing_get(struct vej_signalling *s, const char *id, int *code, const char **why)
{
    struct vej_live_hearing *h = id ? g_hash_table_lookup(s->hearings, id) : NULL;
    if (h)
        return h;
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) row =
        id && vej_id_valid(id, "hrg_") ? vej_store_hearing_get(s->store, id, &error) : NULL;
    if (!row) {
        *code = VEJ_RPC_NOT_FOUND;
        *why = "hearing not found";
        return NULL;
    }
    h = g_new0(struct vej_live_hearing, 1);
    h->s = s;
    h->id = g_strdup(row->id);
    h->courtroom_id = g_strdup(row->courtroom_id);
    h->case_reference = g_strdup(row->case_reference);
    h->title = g_strdup(row->title);
    h->starts_at = row->starts_at;
    h->ends_at = row->ends_at;
    if (!vej_hearing_state_parse(row->state, &h->state))
        h->state = VEJ_HEARING_CLOSED;
    h->participants = g_ptr_array_new();
    /* Mutes outlive the gateway in the audit log: a hearing that becomes
     * live again (after a restart) takes them from there. */
    h->mutes = vej_store_hearing_mutes(s->store, h->id, &error);
    if (!h->mutes) {
        g_warning("hearing %s: its participants' mutes could not be read: %s", h->id,
                  error->message);
        g_clear_error(&error);
        h->mutes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    h->policy_waiters = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    g_queue_init(&h->policy_http);
    g_hash_table_insert(s->hearings, h->id, h);
    return h;
}

struct vej_live_participant *
vej__hearing_find(struct vej_live_hearing *h, const char *pid)
{
    for (guint i = 0; pid && i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        if (strcmp(p->id, pid) == 0)
            return p;
    }
    return NULL;
}

/* A stable pseudonym: HMAC of `text` under the pseudonym key (derived for
 * that use only), so that it cannot be turned back into an id by anyone
 * without the key. */
static void
make_pseudonym(struct vej_signalling *s, const char *text, char out[32])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    gsize key_len = 0;
    const uint8_t *key = g_bytes_get_data(s->pseudonym_key, &key_len);
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const uint8_t *)text, strlen(text), mac, &mac_len))
        memset(mac, 0, sizeof mac);
    snprintf(out, 32, "anon_");
    for (int i = 0; i < 12; i++)
        snprintf(out + 5 + 2 * i, 3, "%02x", mac[i]);
}

static void
make_alias(struct vej_signalling *s, const char *pid, char out[32])
{
    make_pseudonym(s, pid, out);
}

static struct vej_live_participant *
live_participant_new(struct vej_signalling *s, struct vej_live_hearing *h,
                     const struct vej_participant_row *row)
{
    struct vej_live_participant *p = g_new0(struct vej_live_participant, 1);
    p->id = g_strdup(row->id);
    make_alias(s, row->id, p->alias);
    if (!vej_role_parse(row->role, &p->role))
        p->role = VEJ_ROLE_OBSERVER;
    p->display_name = g_strdup(row->display_name);
    p->user_id = g_strdup(row->user_id);
    p->screened_from = g_ptr_array_new_with_free_func(g_free);
    p->view = g_hash_table_new(g_direct_hash, g_direct_equal);
    p->hearing = h;
    apply_measures(p, row->special_measures);
    /* Only a staff account's own entry skips the lobby: a plain entry never
     * carries a bench role (rest.c refuses it, auth.c refuses its link). */
    bool staff = row->user_id != NULL;
    g_strlcpy(p->place, staff ? "main" : "lobby", sizeof p->place);
    p->admitted = staff;
    /* Mutes survive a leave and a rejoin, and a restart (h->mutes). */
    int bits = GPOINTER_TO_INT(g_hash_table_lookup(h->mutes, row->id));
    p->muted[VEJ_MEDIA_AUDIO] = (bits & VEJ_MUTED_AUDIO) != 0;
    p->muted[VEJ_MEDIA_VIDEO] = (bits & VEJ_MUTED_VIDEO) != 0;
    return p;
}

static void
live_participant_free(struct vej_live_participant *p)
{
    g_ptr_array_unref(p->screened_from);
    g_hash_table_unref(p->view);
    g_free(p->id);
    g_free(p->display_name);
    g_free(p->user_id);
    g_free(p);
}

/* The lowest policy index (1..) no joined participant has: O(N). */
static uint32_t
free_media_index(struct vej_live_hearing *h)
{
    guint n = h->participants->len;
    g_autofree bool *used = g_new0(bool, n + 2);
    for (guint i = 0; i < n; i++) {
        uint32_t k = ((struct vej_live_participant *)h->participants->pdata[i])->media_index;
        if (k < n + 2)
            used[k] = true;
    }
    uint32_t k = 1;
    while (used[k])
        k++;
    return k;
}

static json_t *
join_result(struct vej_live_hearing *h, struct vej_live_participant *p)
{
    return json_pack("{s:o,s:s,s:s,s:o}", "hearing", live_hearing_json(h), "participant_id", p->id,
                     "place", p->place, "participants", vej__hearing_snapshot(h, p));
}

int
vej__hearing_join(struct vej_live_hearing *h, struct vej_session *sess,
                  const struct vej_participant_row *row, json_t **result, const char **why)
{
    struct vej_signalling *s = sess->s;
    struct vej_live_participant *p = vej__hearing_find(h, row->id);
    if (p) {
        /* Idempotent: after a resume or a takeover, the current place. A
         * second session of the same staff account takes the place over. */
        if (p->session && p->session != sess) {
            struct vej_session *old = p->session;
            old->participant = NULL;
            if (old->conn)
                vej__conn_close(old->conn, 4009, "session taken over");
            vej__session_end(old, NULL);
        }
        p->session = sess;
        sess->participant = p;
        *result = join_result(h, p);
        return 0;
    }
    if (h->state == VEJ_HEARING_CLOSED) {
        *why = "the hearing is closed";
        return VEJ_RPC_CONFLICT;
    }
    if (h->participants->len >= (guint)s->config->max_participants) {
        s->metrics.hearing_participant_limit_total++;
        *why = "the hearing is full";
        return VEJ_RPC_CONFLICT;
    }
    p = live_participant_new(s, h, row);
    p->media_index = free_media_index(h);
    p->session = sess;
    sess->participant = p;
    g_ptr_array_add(h->participants, p);
    struct sync_cause cause = {.event = EV_JOIN, .subject = p};
    sync_views(h, &cause);
    vej__audit(s, p->id, "participant.join", h->id,
               json_pack("{s:s,s:s}", "participant_id", p->id, "place", p->place));
    *result = join_result(h, p);
    return 0;
}

void
vej__hearing_leave(struct vej_live_participant *p, const char *reason)
{
    struct vej_live_hearing *h = p->hearing;
    struct vej_signalling *s = p->session ? p->session->s : NULL;
    struct sync_cause cause = {.event = EV_LEAVE, .subject = p, .reason = reason};
    /* Nothing flows to or from p once the relay frees its index; the
     * others hear of the leave after that. At shutdown every socket is
     * closing: nobody is left to tell. */
    if (!h->s->stopping) {
        vej__media_policy_leave(h->s, h, p);
        sync_views(h, &cause);
    }
    vej__media_leave(h->s, p);
    g_ptr_array_remove(h->participants, p);
    vej__recording_sync(h->s, h);
    for (guint i = 0; i < h->participants->len; i++)
        g_hash_table_remove(((struct vej_live_participant *)h->participants->pdata[i])->view, p);
    int bits = (p->muted[VEJ_MEDIA_AUDIO] ? VEJ_MUTED_AUDIO : 0) |
               (p->muted[VEJ_MEDIA_VIDEO] ? VEJ_MUTED_VIDEO : 0);
    if (bits)
        g_hash_table_insert(h->mutes, g_strdup(p->id), GINT_TO_POINTER(bits));
    else
        g_hash_table_remove(h->mutes, p->id);
    if (s)
        vej__audit(s, p->id, "participant.leave", h->id,
                   json_pack("{s:s,s:s}", "participant_id", p->id, "reason", reason));
    if (p->session)
        p->session->participant = NULL;
    live_participant_free(p);
}

int
vej__hearing_admit(struct vej_live_hearing *h, struct vej_live_participant *target,
                   const char **why)
{
    if (target->admitted) {
        *why = "the participant is not in the lobby";
        return VEJ_RPC_CONFLICT;
    }
    g_strlcpy(target->place, "main", sizeof target->place);
    target->admitted = true;
    struct sync_cause cause = {.event = EV_ADMIT, .subject = target};
    sync_views(h, &cause);
    return 0;
}

int
vej__hearing_move(struct vej_live_hearing *h, struct vej_live_participant *target,
                  const char *place, const char **why)
{
    if (!vej_place_valid(place)) {
        *why = "place must be main, lobby or consultation:NAME";
        return VEJ_RPC_INVALID_PARAMS;
    }
    if (strcmp(target->place, place) == 0)
        return 0;
    g_strlcpy(target->place, place, sizeof target->place);
    target->admitted = strcmp(place, "lobby") != 0;
    struct sync_cause cause = {.event = EV_MOVE, .subject = target};
    sync_views(h, &cause);
    return 0;
}

void
vej__hearing_takeover(struct vej_live_hearing *h, struct vej_live_participant *target)
{
    if (strcmp(target->place, "lobby") != 0) {
        g_strlcpy(target->place, "lobby", sizeof target->place);
        target->admitted = false;
        struct sync_cause cause = {.event = EV_MOVE, .subject = target};
        sync_views(h, &cause);
    }
    /* The bench hears of it as of a newcomer, plus why. */
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *r = h->participants->pdata[i];
        if (r == target || !r->admitted || (r->role != VEJ_ROLE_CLERK && r->role != VEJ_ROLE_JUDGE))
            continue;
        enum vej_visibility vis = visibility(h, r, target);
        json_t *alert =
            json_pack("{s:s,s:s,s:s}", "code", "link_reused", "severity", "warning", "message",
                      "the join link was used from another connection; the "
                      "participant is back in the lobby");
        if (vis != VEJ_VISIBILITY_HIDDEN) {
            vej__hearing_notify(r, "lobby.waiting",
                                json_pack("{s:o}", "participant", participant_view(target, vis)));
            json_object_set_new(alert, "participant_id", json_string(id_as(target, vis)));
        }
        vej__hearing_notify(r, "alert", alert);
    }
}

void
vej__hearing_request(struct vej_live_hearing *h, struct vej_live_participant *from,
                     const char *kind)
{
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *r = h->participants->pdata[i];
        char shown[VEJ_SHOWN_ID_MAX];
        if (r->role != VEJ_ROLE_CLERK || !r->admitted ||
            !vej__hearing_shown_id(h, r, from->id, shown))
            continue;
        vej__hearing_notify(
            r, "alert",
            json_pack("{s:s,s:s,s:s,s:s}", "code", "consultation_requested", "severity", "info",
                      "participant_id", shown, "message",
                      "A participant asks to speak privately with their advocate."));
    }
    (void)kind;
}

void
vej__hearing_alert_clerks(struct vej_live_hearing *h, const char *code, const char *severity,
                          const char *message)
{
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *r = h->participants->pdata[i];
        if (r->role == VEJ_ROLE_CLERK && r->admitted)
            vej__hearing_notify(
                r, "alert",
                json_pack("{s:s,s:s,s:s}", "code", code, "severity", severity, "message", message));
    }
}

void
vej__hearing_audit_failed(struct vej_signalling *s, const char *hearing_id)
{
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, hearing_id);
    if (h)
        vej__hearing_alert_clerks(h, "audit_failed", "critical",
                                  "the audit log could not be written: a protective change was "
                                  "made without its audit entry");
}

void
vej__hearing_mute(struct vej_live_hearing *h, struct vej_live_participant *target,
                  enum vej_media_kind kind, bool muted)
{
    target->muted[kind] = muted;
    struct sync_cause cause = {.event = EV_MUTE, .subject = target, .kind = kind};
    sync_views(h, &cause);
}

void
vej__hearing_apply_state(struct vej_live_hearing *h, enum vej_hearing_state state)
{
    h->state = state;
    vej__media_policy_changed(h->s, h, NULL);
    vej__recording_sync(h->s, h);
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        vej__hearing_notify(p, "hearing.state",
                            json_pack("{s:s}", "state", vej_hearing_state_name(state)));
    }
    if (state != VEJ_HEARING_CLOSED)
        return;
    while (h->participants->len) {
        struct vej_live_participant *p = h->participants->pdata[h->participants->len - 1];
        if (p->session)
            vej__session_end(p->session, "hearing_closed");
        else
            vej__hearing_leave(p, "left");
    }
    vej__media_hearing_closed(h->s, h);
    vej__media_policy_reset(h);
}

int
vej__hearing_set_state(struct vej_signalling *s, const char *hearing_id, const char *state,
                       const char *actor_in, json_t **hearing_out, const char **why)
{
    /* A copy: closing the hearing ends every session, the caller's
     * participant (whose id `actor_in` may be) included, before the
     * protective change is audited. */
    g_autofree char *actor = g_strdup(actor_in);
    enum vej_hearing_state to, from;
    if (!vej_hearing_state_parse(state, &to)) {
        *why = "state: unknown state";
        return VEJ_RPC_INVALID_PARAMS;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_hearing_row) row = vej_id_valid(hearing_id, "hrg_")
                                         ? vej_store_hearing_get(s->store, hearing_id, &error)
                                         : NULL;
    if (!row) {
        *why = "hearing not found";
        return VEJ_RPC_NOT_FOUND;
    }
    if (!vej_hearing_state_parse(row->state, &from) || !vej_hearing_transition_allowed(from, to)) {
        *why = "transition not allowed from the current state";
        return VEJ_RPC_CONFLICT;
    }
    /* Closing or adjourning protects; opening or going into session widens
     * exposure and waits for its audit entry. */
    bool widening = to != VEJ_HEARING_CLOSED && to != VEJ_HEARING_ADJOURNED;
    json_t *detail = json_pack("{s:s,s:s}", "from", row->state, "to", state);
    if (widening && !vej__audit_sync(s, actor, "hearing.state", row->id, detail)) {
        *why = "the audit log cannot be written: the change was not made";
        return VEJ_RPC_INTERNAL;
    }
    if (!vej_store_hearing_set_state(s->store, row->id, state, &error)) {
        if (!widening)
            json_decref(detail);
        *why = "cannot store the state";
        return VEJ_RPC_INTERNAL;
    }
    g_free(row->state);
    row->state = g_strdup(state);
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, row->id);
    if (h)
        vej__hearing_apply_state(h, to);
    else
        vej__recording_sync_row(s, row);
    if (!widening && !vej__audit_sync(s, actor, "hearing.state", row->id, detail))
        vej__hearing_audit_failed(s, row->id);
    *hearing_out = vej__hearing_row_json(row);
    return 0;
}

/* Whether special measures `next` protect at least as much as `prev`
 * (both normalised JSON text): every screen kept, anonymous and audio_only
 * not lifted. Anything else lifts a protection: it widens exposure. */
static bool
measures_protect_at_least(const char *prev, const char *next)
{
    json_t *a = json_loads(prev ? prev : "{}", 0, NULL);
    json_t *b = json_loads(next ? next : "{}", 0, NULL);
    bool ok = a && b;
    if (ok && json_is_true(json_object_get(a, "anonymous")) &&
        !json_is_true(json_object_get(b, "anonymous")))
        ok = false;
    if (ok && json_is_true(json_object_get(a, "audio_only")) &&
        !json_is_true(json_object_get(b, "audio_only")))
        ok = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(a, "screened_from"), i, e)
    {
        bool kept = false;
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(b, "screened_from"), j, f)
        {
            kept = kept || json_equal(e, f);
        }
        ok = ok && kept;
    }
    json_decref(a);
    json_decref(b);
    return ok;
}

int
vej__participant_update(struct vej_signalling *s, const char *hearing_id, const char *pid,
                        json_t *display_name, json_t *special_measures, const char *actor,
                        json_t **out, const char **why, const char **field)
{
    g_autofree char *sm = NULL;
    const char *name = NULL;
    if (display_name) {
        name = json_string_value(display_name);
        if (!name || json_string_length(display_name) < 1 ||
            json_string_length(display_name) > 200) {
            *field = "display_name";
            *why = "must be a string of 1 to 200 bytes";
            return VEJ_RPC_INVALID_PARAMS;
        }
    }
    if (special_measures) {
        sm = vej__special_measures_normalise(special_measures, why, field);
        if (!sm)
            return VEJ_RPC_INVALID_PARAMS;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_participant_row) row =
        vej_id_valid(pid, "ptc_") ? vej_store_participant_get(s->store, pid, &error) : NULL;
    if (!row || row->removed || strcmp(row->hearing_id, hearing_id) != 0) {
        *why = "participant not found";
        return VEJ_RPC_NOT_FOUND;
    }
    /* Audit details carry ids and which fields changed, never a name or
     * the measures themselves (those stay in the participant's row). */
    json_t *fields = json_array();
    if (name)
        json_array_append_new(fields, json_string("display_name"));
    if (sm)
        json_array_append_new(fields, json_string("special_measures"));
    json_t *detail = json_pack("{s:s,s:o}", "hearing_id", hearing_id, "fields", fields);
    bool widening = sm && !measures_protect_at_least(row->special_measures, sm);
    if (widening && !vej__audit_sync(s, actor, "participant.update", pid, detail)) {
        *why = "the audit log cannot be written: the change was not made";
        return VEJ_RPC_INTERNAL;
    }
    if (!vej_store_participant_update(s->store, pid, name, sm, &error)) {
        if (!widening)
            json_decref(detail);
        *why = "cannot store the change";
        return VEJ_RPC_INTERNAL;
    }
    if (!widening && !vej__audit_sync(s, actor, "participant.update", pid, detail))
        vej__hearing_audit_failed(s, hearing_id);
    g_autoptr(vej_participant_row) fresh = vej_store_participant_get(s->store, pid, &error);
    if (!fresh) {
        *why = "participant not found";
        return VEJ_RPC_NOT_FOUND;
    }
    vej__hearing_apply_participant(s, hearing_id, fresh);
    *out = vej__participant_row_json(fresh);
    return 0;
}

void
vej__hearing_apply_participant(struct vej_signalling *s, const char *hearing_id,
                               const struct vej_participant_row *row)
{
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, hearing_id);
    struct vej_live_participant *p = h ? vej__hearing_find(h, row->id) : NULL;
    if (!p)
        return;
    g_free(p->display_name);
    p->display_name = g_strdup(row->display_name);
    apply_measures(p, row->special_measures);
    struct sync_cause cause = {.event = EV_MEASURES, .subject = p};
    sync_views(h, &cause);
}

void
vej__hearing_removed(struct vej_signalling *s, const char *hearing_id, const char *pid)
{
    struct vej_session *sess = vej__session_of_participant(s, pid);
    if (sess)
        vej__session_end(sess, "removed");
    /* Removal is final: nothing of the participant is kept for a rejoin. */
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, hearing_id);
    if (h)
        g_hash_table_remove(h->mutes, pid);
}
