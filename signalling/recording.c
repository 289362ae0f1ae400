/* recording.c - the hearing logic's side of the recorder.
 *
 * After every change to a hearing (the same places that recompute its
 * views and media policy) the recorder gets a snapshot: the hearing's
 * state and each participant's role, place, mutes and special measures,
 * with the name the court may show in the record (the display name, or
 * "Role (anonymous)" for an anonymous participant). The recorder diffs
 * snapshots into its timeline. What it captures is decided elsewhere, by
 * the media policy (vej_policy_recorded, in media.c's cells for the
 * relay's VEJ_RELAY_RECORDER).
 *
 * The recorder's reports come from its own thread and are posted here:
 * `recording.state` goes to everyone in the hearing (the recorded banner
 * depends on it), alerts to its clerks and judges, and each is audited.
 * This is also where the recording's row in the store follows it
 * (created when it starts; stopped, archiving, archived), since the store
 * belongs to this thread.
 *
 * When a recording is finished (its hearing closed) the finisher archives
 * it (vej-archiver, a child process) and seals its signed manifest on its
 * own thread; its progress and outcome come back here. Recordings left
 * unarchived by a restart are queued again at start-up.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "gateway/relay.h"
#include "recording/finisher.h"
#include "recording/recorder.h"

static char *
label_of(const struct vej_live_participant *p)
{
    if (!p->anonymous)
        return g_strdup(p->display_name ? p->display_name : "");
    g_autofree char *role = g_strdup(vej_role_name(p->role));
    if (role[0])
        role[0] = g_ascii_toupper(role[0]);
    for (char *c = role; *c; c++)
        if (*c == '_')
            *c = ' ';
    return g_strdup_printf("%s (anonymous)", role);
}

/* Snapshots are built with json_object_set_new, not json_pack: one is built
 * after every change in a hearing in session, and json_pack's format
 * parsing cost several times the building itself. */
static json_t *
special_measures_json(const struct vej_live_participant *p)
{
    json_t *screened = json_array();
    for (guint i = 0; p->screened_from && i < p->screened_from->len; i++)
        json_array_append_new(screened, json_string(p->screened_from->pdata[i]));
    json_t *o = json_object();
    json_object_set_new(o, "screened_from", screened);
    json_object_set_new(o, "audio_only", json_boolean(p->audio_only));
    json_object_set_new(o, "anonymous", json_boolean(p->anonymous));
    return o;
}

static json_t *
participant_json(const struct vej_live_participant *p)
{
    g_autofree char *label = label_of(p);
    json_t *muted = json_object();
    json_object_set_new(muted, "audio", json_boolean(p->muted[VEJ_MEDIA_AUDIO]));
    json_object_set_new(muted, "video", json_boolean(p->muted[VEJ_MEDIA_VIDEO]));
    json_t *o = json_object();
    json_object_set_new(o, "participant_id", json_string(p->id));
    json_object_set_new(o, "role", json_string(vej_role_name(p->role)));
    json_object_set_new(o, "label", json_string(label));
    json_object_set_new(o, "place", json_string(p->place));
    json_object_set_new(o, "admitted", json_boolean(p->admitted));
    json_object_set_new(o, "muted", muted);
    json_object_set_new(o, "special_measures", special_measures_json(p));
    return o;
}

static json_t *
hearing_json(const char *id, const char *courtroom_id, const char *case_reference,
             const char *title)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "id", id, "courtroom_id",
                     courtroom_id ? courtroom_id : "", "case_reference",
                     case_reference ? case_reference : "", "title", title ? title : "");
}

void
vej__recording_sync(struct vej_signalling *s, struct vej_live_hearing *h)
{
    /* A recording starts when its hearing first enters session, and
     * `scheduled` and `open` never follow `in_session` (policy.c), so the
     * recorder has nothing to do with a snapshot in those states. */
    if (!s->recorder || h->state == VEJ_HEARING_SCHEDULED || h->state == VEJ_HEARING_OPEN)
        return;
    json_t *people = json_array();
    for (guint i = 0; i < h->participants->len; i++)
        json_array_append_new(people, participant_json(h->participants->pdata[i]));
    json_t *snap = json_object();
    json_object_set_new(snap, "hearing",
                        hearing_json(h->id, h->courtroom_id, h->case_reference, h->title));
    json_object_set_new(snap, "state", json_string(vej_hearing_state_name(h->state)));
    json_object_set_new(snap, "at_us", json_integer(g_get_real_time()));
    json_object_set_new(snap, "participants", people);
    vej_recorder_update(s->recorder, snap);
}

void
vej__recording_sync_row(struct vej_signalling *s, const struct vej_hearing_row *row)
{
    if (!s->recorder)
        return;
    json_t *snap =
        json_pack("{s:o,s:s,s:I,s:[]}", "hearing",
                  hearing_json(row->id, row->courtroom_id, row->case_reference, row->title),
                  "state", row->state, "at_us", (json_int_t)g_get_real_time(), "participants");
    vej_recorder_update(s->recorder, snap);
}

/* ---- reports (recorder thread -> signalling thread) ---- */

enum report_kind { REPORT_STATE, REPORT_ALERT, REPORT_FINISHED, REPORT_PROGRESS, REPORT_SEALED };

struct report {
    enum report_kind kind;
    char *hearing_id, *recording_id;
    char *a, *b, *c; /* state/reason, code/message, stage, manifest sha/archive error/seal error */
    double fraction;
    int revision;
};

static void
report_free(struct report *r)
{
    g_free(r->hearing_id);
    g_free(r->recording_id);
    g_free(r->a);
    g_free(r->b);
    g_free(r->c);
    g_free(r);
}

/* ---- the store's row of a recording ---- */

static void
row_update_state(struct vej_signalling *s, const char *recording_id, const char *state,
                 int64_t closed_at, int revision)
{
    struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
    u.state = state;
    u.closed_at = closed_at;
    u.manifest_revision = revision;
    g_autoptr(GError) error = NULL;
    if (!vej_store_recording_update(s->store, recording_id, &u, &error))
        g_warning("recording %s: store: %s", recording_id, error->message);
}

/* The row of a recording that starts (or resumes after a restart). */
static void
row_ensure(struct vej_signalling *s, const char *hearing_id, const char *recording_id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_recording_row) row = vej_store_recording_get(s->store, recording_id, &error);
    if (row)
        return;
    g_clear_error(&error);
    g_autoptr(vej_hearing_row) h = vej_store_hearing_get(s->store, hearing_id, &error);
    g_autoptr(vej_recording_row) made =
        h ? vej_store_recording_create(s->store, recording_id, h->id, h->courtroom_id,
                                       h->case_reference, g_get_real_time() / G_USEC_PER_SEC,
                                       &error)
          : NULL;
    if (!made)
        g_warning("recording %s: cannot register it: %s", recording_id,
                  error ? error->message : "no hearing");
}

static void tell_hearing(struct vej_signalling *s, const char *hearing_id, const char *recording_id,
                         const char *state, const char *reason, double progress);
static void queue_finish(struct vej_signalling *s, const char *recording_id);

static void
tell_hearing(struct vej_signalling *s, const char *hearing_id, const char *recording_id,
             const char *state, const char *reason, double progress)
{
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, hearing_id);
    if (!h)
        return;
    g_free(h->recording_state);
    h->recording_state = g_strdup(state);
    for (guint i = 0; i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        json_t *params = json_pack("{s:s,s:s}", "state", state, "recording_id", recording_id);
        if (reason)
            json_object_set_new(params, "reason", json_string(reason));
        if (progress >= 0)
            json_object_set_new(params, "progress", json_real(progress));
        vej__hearing_notify(p, "recording.state", params);
    }
}

static void
deliver_alert(struct vej_signalling *s, const struct report *r)
{
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, r->hearing_id);
    vej__audit(s, "system", "recording.alert", r->hearing_id, json_pack("{s:s}", "code", r->a));
    for (guint i = 0; h && i < h->participants->len; i++) {
        struct vej_live_participant *p = h->participants->pdata[i];
        if ((p->role == VEJ_ROLE_CLERK || p->role == VEJ_ROLE_JUDGE) && p->session)
            vej__hearing_notify(
                p, "alert",
                json_pack("{s:s,s:s,s:s}", "code", r->a, "severity",
                          strcmp(r->a, "recording_resumed") == 0 ? "info" : "critical", "message",
                          r->b));
    }
}

static void
deliver_sealed(struct vej_signalling *s, const struct report *r)
{
    g_hash_table_remove(s->archive_progress, r->recording_id);
    const char *archive_error = r->b, *seal_error = r->c;
    if (archive_error)
        vej__audit(
            s, "system", "recording.archive_failed", r->hearing_id,
            json_pack("{s:s,s:s}", "recording_id", r->recording_id, "reason", archive_error));
    if (r->revision > 0) {
        vej__audit(s, "system", "recording.seal", r->hearing_id,
                   json_pack("{s:s,s:i,s:s}", "recording_id", r->recording_id, "revision",
                             r->revision, "manifest_sha256", r->a ? r->a : ""));
        row_update_state(s, r->recording_id, archive_error ? "stopped" : "archived", 0,
                         r->revision);
    } else {
        vej__audit(s, "system", "recording.seal_failed", r->hearing_id,
                   json_pack("{s:s,s:s}", "recording_id", r->recording_id, "reason",
                             seal_error ? seal_error : "failed"));
        row_update_state(s, r->recording_id, "stopped", 0, 0);
    }
    tell_hearing(s, r->hearing_id, r->recording_id, archive_error ? "stopped" : "archived",
                 archive_error ? "archive_failed" : NULL, -1);
}

static void
deliver(struct vej_signalling *s, void *data)
{
    struct report *r = data;
    if (!s->archive_progress) { /* shutting down: the recorder is gone */
        report_free(r);
        return;
    }
    switch (r->kind) {
    case REPORT_ALERT:
        deliver_alert(s, r);
        break;
    case REPORT_STATE:
        if (strcmp(r->a, "recording") == 0)
            row_ensure(s, r->hearing_id, r->recording_id);
        if (strcmp(r->a, "stopped") != 0) /* the finished report stops it in the store */
            row_update_state(s, r->recording_id, r->a, 0, 0);
        tell_hearing(s, r->hearing_id, r->recording_id, r->a, r->b, -1);
        break;
    case REPORT_FINISHED:
        row_ensure(s, r->hearing_id, r->recording_id);
        row_update_state(s, r->recording_id, "archiving", g_get_real_time() / G_USEC_PER_SEC, 0);
        vej__audit(s, "system", "recording.stop", r->hearing_id,
                   json_pack("{s:s}", "recording_id", r->recording_id));
        queue_finish(s, r->recording_id);
        tell_hearing(s, r->hearing_id, r->recording_id, "archiving", NULL, 0);
        break;
    case REPORT_PROGRESS: {
        double *was = g_hash_table_lookup(s->archive_progress, r->recording_id);
        if (!was) {
            was = g_new0(double, 1);
            g_hash_table_insert(s->archive_progress, g_strdup(r->recording_id), was);
        }
        if (r->fraction - *was >= 0.05 || r->fraction >= 1.0) {
            tell_hearing(s, r->hearing_id, r->recording_id, "archiving", NULL, r->fraction);
            *was = r->fraction;
        }
        break;
    }
    case REPORT_SEALED:
        deliver_sealed(s, r);
        break;
    }
    report_free(r);
}

static struct report *
report_new(enum report_kind kind, const char *hearing_id, const char *recording_id, const char *a,
           const char *b)
{
    struct report *r = g_new0(struct report, 1);
    r->kind = kind;
    r->hearing_id = g_strdup(hearing_id);
    r->recording_id = g_strdup(recording_id);
    r->a = g_strdup(a);
    r->b = g_strdup(b);
    return r;
}

static void
on_state(void *user, const char *hearing_id, const char *recording_id, const char *state,
         const char *reason)
{
    vej__post(user, deliver, report_new(REPORT_STATE, hearing_id, recording_id, state, reason));
}

static void
on_alert(void *user, const char *hearing_id, const char *code, const char *message)
{
    vej__post(user, deliver, report_new(REPORT_ALERT, hearing_id, NULL, code, message));
}

static void
on_finished(void *user, const char *hearing_id, const char *recording_id, const char *dir)
{
    vej__post(user, deliver, report_new(REPORT_FINISHED, hearing_id, recording_id, NULL, NULL));
}

/* ---- the finisher (its thread -> this one) ---- */

/* The hearing of a recording, from its row (the finisher knows ids only). */
static char *
hearing_of(struct vej_signalling *s, const char *recording_id)
{
    g_autoptr(vej_recording_row) row = vej_store_recording_get(s->store, recording_id, NULL);
    return row ? g_strdup(row->hearing_id) : g_strdup("");
}

static void
deliver_finisher(struct vej_signalling *s, void *data)
{
    struct report *r = data;
    g_free(r->hearing_id);
    r->hearing_id = hearing_of(s, r->recording_id);
    deliver(s, r);
}

static void
on_archive_progress(void *user, const char *recording_id, double fraction, const char *stage)
{
    struct report *r = report_new(REPORT_PROGRESS, NULL, recording_id, stage, NULL);
    r->fraction = fraction;
    vej__post(user, deliver_finisher, r);
}

static void
on_sealed(void *user, const char *recording_id, int revision, const char *manifest_sha256,
          const char *archive_error, const char *seal_error)
{
    struct report *r =
        report_new(REPORT_SEALED, NULL, recording_id, manifest_sha256, archive_error);
    r->c = g_strdup(seal_error);
    r->revision = revision;
    vej__post(user, deliver_finisher, r);
}

static void
queue_finish(struct vej_signalling *s, const char *recording_id)
{
    if (!s->finisher) {
        if (!s->signer) {
            g_warning("recording %s: no signing key: not archived", recording_id);
            return;
        }
        struct vej_finisher_callbacks cb = {
            .progress = on_archive_progress, .done = on_sealed, .user = s};
        g_autofree char *db = g_strdup(s->db_path);
        g_autoptr(GError) error = NULL;
        s->finisher = vej_finisher_new(s->config->data_dir, db, s->signer, NULL, &cb, &error);
        if (!s->finisher) {
            g_warning("recording %s: %s", recording_id, error->message);
            return;
        }
    }
    vej_finisher_queue(s->finisher, recording_id);
}

bool
vej__recording_rearchive(struct vej_signalling *s, const char *recording_id)
{
    queue_finish(s, recording_id);
    if (!s->finisher)
        return false;
    row_update_state(s, recording_id, "archiving", 0, 0);
    return true;
}

void
vej__recording_requeue_unfinished(struct vej_signalling *s)
{
    g_autofree char *cursor = NULL;
    for (int page = 0; page < 1000; page++) {
        g_autofree char *next = NULL;
        g_autoptr(GError) error = NULL;
        struct vej_recording_filter f = {0};
        g_autoptr(GPtrArray) rows =
            vej_store_recording_list(s->store, &f, cursor, 200, &next, &error);
        if (!rows)
            return;
        for (guint i = 0; i < rows->len; i++) {
            const struct vej_recording_row *row = rows->pdata[i];
            if (strcmp(row->state, "archiving") == 0 ||
                (strcmp(row->state, "stopped") == 0 && row->manifest_revision == 0))
                queue_finish(s, row->id);
        }
        if (!next)
            return;
        g_free(cursor);
        cursor = g_steal_pointer(&next);
    }
}

gboolean
vej__recording_start(struct vej_signalling *s, GError **error)
{
    const struct vej_config *c = s->config;
    struct vej_recorder_config rc = {
        .data_dir = c->data_dir,
        .segment_seconds = (unsigned)c->recording_segment_seconds,
        .ring_bytes = (size_t)c->recording_ring_kib * 1024,
        .drain_ms = (unsigned)c->recording_drain_ms,
        .n_workers = vej_relay_n_workers(s->relay),
    };
    struct vej_recorder_callbacks cb = {
        .state = on_state, .alert = on_alert, .finished = on_finished, .user = s};
    s->recorder = vej_recorder_new(&rc, &cb, s->audit, error);
    if (!s->recorder)
        return FALSE;
    s->archive_progress = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
#ifdef VEJ_BENCH_RECORDING_OFF
    /* meson -Dbench_recording_off=true: bench/run-relay's "off" run only */
    g_warning("this build (-Dbench_recording_off) records NOTHING: benchmarks only");
#else
    vej_relay_set_tap(s->relay, vej_recorder_tap(s->recorder));
#endif
    return TRUE;
}
