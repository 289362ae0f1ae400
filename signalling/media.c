/* media.c - webrtc.* methods and the bridge to the media relay.
 *
 * The relay is addressed by (hearing id, participant id). Its reports
 * arrive on worker threads and are posted here, to the signalling thread,
 * where they become notifications for the participant's session (if it
 * still has one). Every participant has a small integer index in its
 * hearing's policy; after a change the cells that depend on it (the row
 * and column of the participant concerned: O(N); all of them for a
 * change of hearing state) are recomputed from the same function that
 * filters the roster and handed to the relay, which applies only those
 * whose value changed: `present` (in the subscriber's SDP: allowed if
 * nobody were muted and the hearing were in session) and `flowing`
 * (allowed now). So a session starting, adjourning or resuming, and every
 * mute, only flip `flowing`: media start at once, without a
 * renegotiation. Each update has a generation; the relay reports it once
 * enforced, and the hearing's sockets hold back what they are sent
 * meanwhile (server.c), so no one hears of a change before it holds.
 *
 * The signalling thread never waits for the relay: a webrtc.* request is
 * posted to the hearing's worker (relay.h) and answered when the relay's
 * `done` report arrives here. A participant's requests wait in its queue
 * (struct media_queue), answered in the order they were made; the reports
 * about that participant (offers, states) that arrive while a request is
 * unanswered are held and sent right after its answer, so that a result
 * still goes before what it caused (webrtc.subscribe's result before its
 * webrtc.offer). An answer goes to the socket and session the request came
 * from, if both are still there; otherwise it is dropped.
 */
#include "signalling/signalling-priv.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/relay.h"

/* ---- policy ---- */

/* The relay's cell (sub, pub): per kind, `present` (allowed were nobody
 * muted and the hearing in session) and `flowing` (allowed now). */
static uint8_t
cell_bits(const struct vej_live_hearing *h, const struct vej_live_participant *sub,
          const struct vej_live_participant *pub)
{
    enum vej_hearing_state any_state =
        h->state == VEJ_HEARING_CLOSED ? VEJ_HEARING_CLOSED : VEJ_HEARING_IN_SESSION;
    struct vej_policy_party r_now, r_any, s_now, s_any;
    vej__participant_party(sub, false, &r_now);
    vej__participant_party(sub, true, &r_any);
    vej__participant_party(pub, false, &s_now);
    vej__participant_party(pub, true, &s_any);
    unsigned bits = 0;
    for (unsigned kind = 0; kind < VEJ_MEDIA_N; kind++) {
        if (vej_policy_media_allowed(any_state, &r_any, &s_any, kind))
            bits |= VEJ_RELAY_PRESENT(kind);
        if (vej_policy_media_allowed(h->state, &r_now, &s_now, kind))
            bits |= VEJ_RELAY_FLOWING(kind);
    }
    return (uint8_t)bits;
}

/* The recorder's cell for pub: what the court hears in the main room,
 * never a consultation (policy.h, vej_policy_recorded). */
static uint8_t
recorder_bits(const struct vej_live_hearing *h, const struct vej_live_participant *pub)
{
    struct vej_policy_party s_now;
    vej__participant_party(pub, false, &s_now);
    unsigned bits = 0;
    for (unsigned kind = 0; kind < VEJ_MEDIA_N; kind++)
        if (vej_policy_recorded(h->state, &s_now, kind))
            bits |= VEJ_RELAY_PRESENT(kind) | VEJ_RELAY_FLOWING(kind);
    return (uint8_t)bits;
}

static void
add_cell(GArray *cells, uint32_t sub, uint32_t pub, uint8_t bits)
{
    struct vej_relay_cell c = {.subscriber = sub, .publisher = pub, .bits = bits};
    g_array_append_val(cells, c);
}

/* Every cell naming p, as subscriber or publisher (the recorder's too). */
static void
add_cells_of(struct vej_signalling *s, struct vej_live_hearing *h, struct vej_live_participant *p,
             GArray *cells)
{
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *q = h->participants->pdata[i];
        if (q == p)
            continue;
        add_cell(cells, p->media_index, q->media_index, cell_bits(h, p, q));
        add_cell(cells, q->media_index, p->media_index, cell_bits(h, q, p));
    }
    if (s->recorder)
        add_cell(cells, VEJ_RELAY_RECORDER, p->media_index, recorder_bits(h, p));
}

static void
post_policy(struct vej_signalling *s, struct vej_live_hearing *h, GArray *bindings, GArray *cells)
{
    const struct vej_relay_policy_update u = {
        .bindings = (const struct vej_relay_binding *)(void *)bindings->data,
        .n_bindings = bindings->len,
        .cells = (const struct vej_relay_cell *)(void *)cells->data,
        .n_cells = cells->len,
    };
    h->policy_posted = ++s->policy_generation;
    vej_relay_set_policy(s->relay, h->id, h->policy_posted, &u);
}

/* Hands the relay the cells depending on subject (NULL: all of them);
 * the first time, every participant's index first. Hearings without
 * media have no policy in the relay. */
static void
send_policy(struct vej_signalling *s, struct vej_live_hearing *h,
            struct vej_live_participant *subject, bool only_if_unsynced)
{
    if (!s->relay || !h->media || (only_if_unsynced && h->policy_synced))
        return;
    g_autoptr(GArray) bindings = g_array_new(FALSE, FALSE, sizeof(struct vej_relay_binding));
    g_autoptr(GArray) cells = g_array_new(FALSE, FALSE, sizeof(struct vej_relay_cell));
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        if (h->policy_synced && p->media_bound)
            continue;
        struct vej_relay_binding b = {.index = p->media_index, .participant_id = p->id};
        g_array_append_val(bindings, b);
        p->media_bound = true;
        if (!h->policy_synced || p == subject)
            continue;
        add_cells_of(s, h, p, cells); /* a newcomer's cells start from nothing */
    }
    if (!h->policy_synced)
        subject = NULL;
    h->policy_synced = true;
    if (subject) {
        add_cells_of(s, h, subject, cells);
    } else {
        for (guint i = 0; i < h->participants->len; i++) {
            struct vej_live_participant *sub = h->participants->pdata[i];
            for (guint j = 0; j < h->participants->len; j++)
                if (i != j)
                    add_cell(
                        cells, sub->media_index,
                        ((struct vej_live_participant *)h->participants->pdata[j])->media_index,
                        cell_bits(h, sub, h->participants->pdata[j]));
            if (s->recorder)
                add_cell(cells, VEJ_RELAY_RECORDER, sub->media_index, recorder_bits(h, sub));
        }
    }
    post_policy(s, h, bindings, cells);
}

void
vej__media_policy_update(struct vej_signalling *s, struct vej_live_hearing *h)
{
    send_policy(s, h, NULL, true);
}

void
vej__media_policy_changed(struct vej_signalling *s, struct vej_live_hearing *h,
                          struct vej_live_participant *subject)
{
    send_policy(s, h, subject, false);
}

void
vej__media_policy_leave(struct vej_signalling *s, struct vej_live_hearing *h,
                        struct vej_live_participant *p)
{
    if (!s->relay || !h->media || !h->policy_synced || !p->media_bound)
        return;
    g_autoptr(GArray) bindings = g_array_new(FALSE, FALSE, sizeof(struct vej_relay_binding));
    g_autoptr(GArray) cells = g_array_new(FALSE, FALSE, sizeof(struct vej_relay_cell));
    struct vej_relay_binding b = {.index = p->media_index, .participant_id = NULL};
    g_array_append_val(bindings, b);
    p->media_bound = false;
    post_policy(s, h, bindings, cells);
}

void
vej__media_policy_reset(struct vej_live_hearing *h)
{
    h->policy_synced = false;
    for (guint i = 0; i < h->participants->len; i++)
        ((struct vej_live_participant *)h->participants->pdata[i])->media_bound = false;
}

struct policy_report {
    char *hearing_id;
    uint64_t generation;
};

static void
deliver_policy_applied(struct vej_signalling *s, void *data)
{
    struct policy_report *r = data;
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, r->hearing_id);
    if (h && r->generation > h->policy_applied) {
        h->policy_applied = r->generation;
        vej__conn_policy_applied(s, h);
    }
    g_free(r->hearing_id);
    g_free(r);
}

static void
on_policy_applied(void *user, const char *hid, uint64_t generation)
{
    struct policy_report *r = g_new(struct policy_report, 1);
    r->hearing_id = g_strdup(hid);
    r->generation = generation;
    vej__post(user, deliver_policy_applied, r);
}

/* ---- requests waiting for the relay ---- */

#define VEJ_MEDIA_MAX_WAITING 64

/* A webrtc.* request posted to the relay, not yet answered. */
struct media_wait {
    uint64_t call_id;
    uint64_t conn_id;
    char session_id[48];
    json_t *id; /* the request's id; NULL: a notification, never answered */
    bool done;
    int code;  /* once done: 0 or the JSON-RPC error code */
    char *why; /* the error's message */
    char *sdp; /* publish: the answer */
};

/* A participant's requests in the relay, in the order they were made, and
 * the reports about it that arrived meanwhile (struct report *). */
struct media_queue {
    char *participant_id;
    GQueue waits;
    GQueue held;
};

static void
wait_free(struct media_wait *w)
{
    if (w->id)
        json_decref(w->id);
    g_free(w->why);
    g_free(w->sdp);
    g_free(w);
}

struct report;
static void report_free(struct report *r);

static void
queue_free(struct media_queue *q)
{
    g_queue_clear_full(&q->waits, (GDestroyNotify)wait_free);
    g_queue_clear_full(&q->held, (GDestroyNotify)report_free);
    g_free(q->participant_id);
    g_free(q);
}

static struct media_queue *
queue_of(struct vej_signalling *s, const char *pid)
{
    if (!s->media_queues)
        s->media_queues =
            g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)queue_free);
    struct media_queue *q = g_hash_table_lookup(s->media_queues, pid);
    if (!q) {
        q = g_new0(struct media_queue, 1);
        q->participant_id = g_strdup(pid);
        g_queue_init(&q->waits);
        g_queue_init(&q->held);
        g_hash_table_insert(s->media_queues, q->participant_id, q);
    }
    return q;
}

void
vej__media_free(struct vej_signalling *s)
{
    g_clear_pointer(&s->media_queues, g_hash_table_unref);
}

/* ---- reports from the relay (worker threads) ---- */

struct report {
    enum { R_CANDIDATE, R_OFFER, R_STATE, R_DONE } kind;
    char *hearing_id, *participant_id;
    enum vej_relay_pc pc;
    /* candidate: mid, candidate; offer: sdp, tracks; state: state, reason;
     * done: result, error message (NULL: success) */
    char *a, *b, *c;
    uint64_t revision; /* offer: its revision; done: the call id */
    int error_code;    /* done: enum vej_relay_error_code, when b is set */
    bool error_relay;  /* done: the error is in the VEJ_RELAY_ERROR domain */
};

static void
report_free(struct report *r)
{
    g_free(r->hearing_id);
    g_free(r->participant_id);
    g_free(r->a);
    g_free(r->b);
    g_free(r->c);
    g_free(r);
}

static struct vej_session *
session_for(struct vej_signalling *s, const struct report *r)
{
    struct vej_session *sess = vej__session_of_participant(s, r->participant_id);
    if (!sess || !sess->participant || strcmp(sess->participant->hearing->id, r->hearing_id) != 0)
        return NULL;
    return sess;
}

static const char *
pc_name(enum vej_relay_pc pc)
{
    return pc == VEJ_RELAY_PUBLISH ? "publish" : "subscribe";
}

/* Sends a report to the participant's session, if it has one; frees it. */
static void
send_report(struct vej_signalling *s, struct report *r)
{
    struct vej_session *sess = session_for(s, r);
    if (!sess) {
        report_free(r);
        return;
    }
    switch (r->kind) {
    case R_CANDIDATE:
        vej__hearing_notify(sess->participant, "webrtc.candidate",
                            json_pack("{s:s,s:s?,s:s}", "pc", pc_name(r->pc), "sdpMid", r->a,
                                      "candidate", r->b ? r->b : ""));
        break;
    case R_OFFER: {
        if (!r->b) {
            vej__hearing_notify(sess->participant, "webrtc.offer",
                                json_pack("{s:s,s:s,s:I}", "pc", "subscribe", "sdp", r->a,
                                          "revision", (json_int_t)r->revision));
            break;
        }
        json_t *tracks = json_loads(r->b, 0, NULL);
        size_t i;
        json_t *t;
        json_array_foreach(tracks, i, t)
        {
            char shown[VEJ_SHOWN_ID_MAX];
            const char *pid = json_string_value(json_object_get(t, "participant_id"));
            bool known =
                vej__hearing_shown_id(sess->participant->hearing, sess->participant, pid, shown);
            json_object_set_new(t, "participant_id", known ? json_string(shown) : json_null());
        }
        vej__hearing_notify(sess->participant, "media.tracks",
                            json_pack("{s:o}", "tracks", tracks ? tracks : json_array()));
        vej__hearing_notify(sess->participant, "webrtc.offer",
                            json_pack("{s:s,s:s,s:I}", "pc", "subscribe", "sdp", r->a, "revision",
                                      (json_int_t)r->revision));
        break;
    }
    case R_STATE:
        vej__hearing_notify(sess->participant, "webrtc.state",
                            json_pack("{s:s,s:s,s:s}", "pc", pc_name(r->pc), "state", r->a,
                                      "reason", r->b ? r->b : ""));
        if (strcmp(r->a, "failed") == 0)
            vej__media_alert(s, sess->participant, "media_failed", r->b);
        break;
    case R_DONE:
        break;
    }
    report_free(r);
}

static void call_done(struct vej_signalling *s, struct report *r);

/* A report from the relay, on this thread: a call's outcome, or a report
 * held while the participant has a request unanswered. */
static void
deliver_report(struct vej_signalling *s, void *data)
{
    struct report *r = data;
    if (r->kind == R_DONE) {
        call_done(s, r);
        return;
    }
    struct media_queue *q =
        s->media_queues ? g_hash_table_lookup(s->media_queues, r->participant_id) : NULL;
    if (q && q->waits.length)
        g_queue_push_tail(&q->held, r);
    else
        send_report(s, r);
}

static struct report *
report_new(int kind, const char *hid, const char *pid, enum vej_relay_pc pc)
{
    struct report *r = g_new0(struct report, 1);
    r->kind = kind;
    r->hearing_id = g_strdup(hid);
    r->participant_id = g_strdup(pid);
    r->pc = pc;
    return r;
}

static void
on_candidate(void *user, const char *hid, const char *pid, enum vej_relay_pc pc, const char *mid,
             const char *candidate)
{
    struct report *r = report_new(R_CANDIDATE, hid, pid, pc);
    r->a = g_strdup(mid);
    r->b = g_strdup(candidate);
    vej__post(user, deliver_report, r);
}

static void
on_offer(void *user, const char *hid, const char *pid, const char *sdp, uint64_t revision,
         const char *tracks)
{
    struct report *r = report_new(R_OFFER, hid, pid, VEJ_RELAY_SUBSCRIBE);
    r->a = g_strdup(sdp);
    r->b = g_strdup(tracks);
    r->revision = revision;
    vej__post(user, deliver_report, r);
}

static void
on_state(void *user, const char *hid, const char *pid, enum vej_relay_pc pc, const char *state,
         const char *reason)
{
    struct report *r = report_new(R_STATE, hid, pid, pc);
    r->a = g_strdup(state);
    r->b = g_strdup(reason);
    vej__post(user, deliver_report, r);
}

static void
on_done(void *user, const char *hid, const char *pid, uint64_t call_id, const char *result,
        const GError *error)
{
    struct report *r = report_new(R_DONE, hid, pid, VEJ_RELAY_PUBLISH);
    r->revision = call_id;
    r->a = g_strdup(result);
    if (error) {
        r->b = g_strdup(error->message);
        r->error_relay = error->domain == VEJ_RELAY_ERROR;
        r->error_code = error->code;
    }
    vej__post(user, deliver_report, r);
}

void
vej__media_callbacks(struct vej_signalling *s, struct vej_relay_callbacks *cb)
{
    memset(cb, 0, sizeof *cb);
    cb->candidate = on_candidate;
    cb->offer = on_offer;
    cb->state = on_state;
    cb->done = on_done;
    cb->policy_applied = on_policy_applied;
    cb->user = s;
}

/* Clerks hear about media that needs a human. */
void
vej__media_alert(struct vej_signalling *s, struct vej_live_participant *about, const char *code,
                 const char *message)
{
    struct vej_live_hearing *h = about->hearing;
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        if (p->role != VEJ_ROLE_CLERK || !p->session)
            continue;
        /* Named as this clerk may see the participant (the roster's rule). */
        char shown[VEJ_SHOWN_ID_MAX];
        if (!vej__hearing_shown_id(h, p, about->id, shown))
            continue;
        vej__hearing_notify(p, "alert",
                            json_pack("{s:s,s:s,s:s,s:s}", "code", code, "severity", "warning",
                                      "participant_id", shown, "message",
                                      message ? message : code));
    }
}

/* ---- webrtc.* methods ---- */

/* The JSON-RPC code for a relay error; its message goes to the client. */
static int
relay_code(bool relay_domain, int code)
{
    if (relay_domain) {
        switch (code) {
        case VEJ_RELAY_ERROR_INVALID:
        case VEJ_RELAY_ERROR_LIMIT:
            return VEJ_RPC_INVALID_PARAMS;
        case VEJ_RELAY_ERROR_NOT_FOUND:
            return VEJ_RPC_NOT_FOUND;
        case VEJ_RELAY_ERROR_CONFLICT:
            return VEJ_RPC_CONFLICT;
        default:
            break;
        }
    }
    return VEJ_RPC_INTERNAL;
}

static int
error_code_of(const GError *error)
{
    return relay_code(error && error->domain == VEJ_RELAY_ERROR, error ? error->code : 0);
}

/* Sends a finished request's result or error to the socket and session it
 * came from, if they are still together; a notification is only counted. */
static void
wait_answer(struct vej_signalling *s, struct media_wait *w)
{
    if (w->code)
        s->metrics.rpc_errors_total++;
    if (!w->id)
        return;
    struct vej_conn *c = g_hash_table_lookup(s->conns, &w->conn_id);
    struct vej_session *sess = g_hash_table_lookup(s->sessions, w->session_id);
    if (!c || c->closing || !sess || c->session != sess)
        return;
    json_t *answer;
    if (w->code) {
        g_autofree char *cid = NULL;
        if (w->code == VEJ_RPC_INTERNAL) {
            cid = vej__correlation_id();
            g_warning("internal error [%s]: %s", cid, w->why ? w->why : "?");
        }
        answer = vej_rpc_error(w->id, w->code, w->why ? w->why : "error", NULL, cid);
    } else {
        answer = vej_rpc_result(w->id, w->sdp ? json_pack("{s:s}", "sdp", w->sdp) : json_object());
    }
    vej__conn_send(c, answer);
    json_decref(answer);
}

/* A call's outcome: the participant's finished requests are answered in
 * order, each followed by the reports held until then (they were made
 * before the next request ran: the worker runs them in order). */
static void
call_done(struct vej_signalling *s, struct report *r)
{
    struct media_queue *q =
        s->media_queues ? g_hash_table_lookup(s->media_queues, r->participant_id) : NULL;
    for (GList *l = q ? q->waits.head : NULL; l; l = l->next) {
        struct media_wait *w = l->data;
        if (w->call_id != r->revision)
            continue;
        w->done = true;
        w->code = r->b ? relay_code(r->error_relay, r->error_code) : 0;
        w->why = g_steal_pointer(&r->b);
        w->sdp = g_steal_pointer(&r->a);
        break;
    }
    struct media_wait *w;
    while (q && (w = g_queue_peek_head(&q->waits)) && w->done) {
        g_queue_pop_head(&q->waits);
        wait_answer(s, w);
        wait_free(w);
        struct report *held;
        while ((held = g_queue_pop_head(&q->held)))
            send_report(s, held);
    }
    if (q && !q->waits.length)
        g_hash_table_remove(s->media_queues, r->participant_id);
    report_free(r);
}

/* The hearing's first publish or subscribe: from now on the relay keeps
 * its policy, handed over whole now (so before this call on the worker),
 * then the cells each change of the roster touches (sync_views). */
static void
media_begins(struct vej_signalling *s, struct vej_live_hearing *h)
{
    if (h->media)
        return;
    h->media = true;
    vej__media_policy_update(s, h);
}

/* Files a request about to be posted (the caller removes it when posting
 * failed), or refuses it: a participant has at most
 * VEJ_MEDIA_MAX_WAITING requests in the relay (candidates sent as
 * notifications cost no rate-limit token, and the relay may be slow). */
static struct media_wait *
wait_new(struct vej_signalling *s, struct vej_live_participant *me,
         const struct vej_media_reply *to, int *code, GError **error)
{
    struct media_queue *q = queue_of(s, me->id);
    if (q->waits.length >= VEJ_MEDIA_MAX_WAITING) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_LIMIT,
                    "too many webrtc.* requests in progress (at most %d)", VEJ_MEDIA_MAX_WAITING);
        *code = VEJ_RPC_RATE_LIMITED;
        return NULL;
    }
    struct media_wait *w = g_new0(struct media_wait, 1);
    w->call_id = ++s->next_id;
    w->conn_id = to->conn_id;
    g_strlcpy(w->session_id, to->session_id, sizeof w->session_id);
    w->id = to->id ? json_incref(to->id) : NULL;
    g_queue_push_tail(&q->waits, w);
    return w;
}

/* The relay refused at once: nothing was posted. */
static int
wait_failed(struct vej_signalling *s, struct vej_live_participant *me, struct media_wait *w,
            const GError *error)
{
    struct media_queue *q = queue_of(s, me->id);
    g_queue_remove(&q->waits, w);
    wait_free(w);
    if (!q->waits.length)
        g_hash_table_remove(s->media_queues, me->id);
    return error_code_of(error);
}

int
vej__media_publish(struct vej_signalling *s, struct vej_live_participant *me,
                   const struct vej_media_reply *to, const char *sdp, GError **error)
{
    if (me->role == VEJ_ROLE_OBSERVER) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED, "observers never publish");
        return VEJ_RPC_FORBIDDEN;
    }
    unsigned flags = me->audio_only ? VEJ_RELAY_PUBLISH_AUDIO_ONLY : 0;
    media_begins(s, me->hearing);
    int code = 0;
    struct media_wait *w = wait_new(s, me, to, &code, error);
    if (!w)
        return code;
    if (!vej_relay_publish(s->relay, me->hearing->id, me->id, sdp, flags, w->call_id, error))
        return wait_failed(s, me, w, *error);
    return 0;
}

int
vej__media_subscribe(struct vej_signalling *s, struct vej_live_participant *me,
                     const struct vej_media_reply *to, GError **error)
{
    media_begins(s, me->hearing);
    int code = 0;
    struct media_wait *w = wait_new(s, me, to, &code, error);
    if (!w)
        return code;
    if (!vej_relay_subscribe(s->relay, me->hearing->id, me->id, w->call_id, error))
        return wait_failed(s, me, w, *error);
    return 0;
}

int
vej__media_answer(struct vej_signalling *s, struct vej_live_participant *me,
                  const struct vej_media_reply *to, const char *sdp, uint64_t revision,
                  GError **error)
{
    int code = 0;
    struct media_wait *w = wait_new(s, me, to, &code, error);
    if (!w)
        return code;
    if (!vej_relay_subscribe_answer(s->relay, me->hearing->id, me->id, revision, sdp, w->call_id,
                                    error))
        return wait_failed(s, me, w, *error);
    return 0;
}

int
vej__media_candidate(struct vej_signalling *s, struct vej_live_participant *me,
                     const struct vej_media_reply *to, enum vej_relay_pc pc, const char *candidate,
                     GError **error)
{
    int code = 0;
    struct media_wait *w = wait_new(s, me, to, &code, error);
    if (!w)
        return code;
    if (!vej_relay_add_candidate(s->relay, me->hearing->id, me->id, pc, candidate, w->call_id,
                                 error))
        return wait_failed(s, me, w, *error);
    return 0;
}

int
vej__media_restart_ice(struct vej_signalling *s, struct vej_live_participant *me,
                       const struct vej_media_reply *to, GError **error)
{
    int code = 0;
    struct media_wait *w = wait_new(s, me, to, &code, error);
    if (!w)
        return code;
    if (!vej_relay_restart_ice(s->relay, me->hearing->id, me->id, w->call_id, error))
        return wait_failed(s, me, w, *error);
    return 0;
}

void
vej__media_resumed(struct vej_signalling *s, struct vej_live_participant *p)
{
    if (s->relay && p->hearing->media)
        vej_relay_resend_offer(s->relay, p->hearing->id, p->id);
}

void
vej__media_leave(struct vej_signalling *s, struct vej_live_participant *p)
{
    if (s->relay)
        vej_relay_close_participant(s->relay, p->hearing->id, p->id);
}

void
vej__media_hearing_closed(struct vej_signalling *s, struct vej_live_hearing *h)
{
    if (s->relay)
        vej_relay_close_hearing(s->relay, h->id);
}

/* ---- ICE servers for clients ---- */

gboolean
vej__media_load_turn_secret(struct vej_signalling *s, GError **error)
{
    const struct vej_config *c = s->config;
    if (!c->ice_turn_urls || !*c->ice_turn_urls)
        return TRUE;
    const char *env = g_getenv("VEJ_TURN_SECRET");
    if (env && *env) {
        s->turn_secret = g_strdup(env);
        return TRUE;
    }
    const char *path = c->ice_turn_secret_file;
    struct stat st;
    if (!path || !*path || stat(path, &st) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "[ice] turn_urls needs the TURN secret: set VEJ_TURN_SECRET or "
                    "[ice] turn_secret_file");
        return FALSE;
    }
    if (st.st_mode & 077) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "%s: readable by others; chmod 600 it",
                    path);
        return FALSE;
    }
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    g_strstrip(text);
    if (!*text) {
        g_free(text);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: empty TURN secret", path);
        return FALSE;
    }
    s->turn_secret = text;
    return TRUE;
}

static json_t *
urls_array(const char *list)
{
    json_t *a = json_array();
    g_auto(GStrv) parts = g_strsplit(list ? list : "", ",", -1);
    for (guint i = 0; parts[i]; i++) {
        g_strstrip(parts[i]);
        if (*parts[i])
            json_array_append_new(a, json_string(parts[i]));
    }
    return a;
}

json_t *
vej__media_ice_servers(struct vej_signalling *s, const char *id)
{
    const struct vej_config *c = s->config;
    json_t *servers = json_array();
    json_t *stun = urls_array(c->ice_stun_urls);
    if (json_array_size(stun))
        json_array_append_new(servers, json_pack("{s:o}", "urls", stun));
    else
        json_decref(stun);
    json_t *turn = urls_array(c->ice_turn_urls);
    if (!json_array_size(turn) || !s->turn_secret) {
        json_decref(turn);
        return servers;
    }
    /* coturn's REST API scheme: time-limited, nothing stored. */
    int64_t expiry = g_get_real_time() / G_USEC_PER_SEC + c->ice_turn_ttl_s;
    g_autofree char *username = g_strdup_printf("%" G_GINT64_FORMAT ":%s", expiry, id);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!HMAC(EVP_sha1(), s->turn_secret, (int)strlen(s->turn_secret), (const uint8_t *)username,
              strlen(username), mac, &mac_len)) {
        json_decref(turn);
        return servers;
    }
    g_autofree char *credential = g_base64_encode(mac, mac_len);
    json_array_append_new(servers, json_pack("{s:o,s:s,s:s}", "urls", turn, "username", username,
                                             "credential", credential));
    return servers;
}
