/* recording.c - the hearing logic's side of the recorder.
 *
 * After every change to a hearing (the same places that recompute its
 * views and media policy) the recorder gets a snapshot: the hearing's
 * state and each participant's role, place, mutes and special measures,
 * with the name the court may show in the record (the display name, or
 * "Role (anonymous)" for an anonymous participant). The recorder diffs
 * snapshots into its timeline. What it captures is decided elsewhere, by
 * the media policy (vej_policy_recorded, in media.c's rules for the
 * relay's VEJ_RELAY_RECORDER).
 *
 * The recorder's reports come from its own thread and are posted here:
 * `recording.state` goes to everyone in the hearing (the recorded banner
 * depends on it), alerts to its clerks and judges, and each is audited.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "gateway/relay.h"
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

static json_t *
special_measures_json(const struct vej_live_participant *p)
{
    json_t *screened = json_array();
    for (guint i = 0; p->screened_from && i < p->screened_from->len; i++)
        json_array_append_new(screened, json_string(p->screened_from->pdata[i]));
    return json_pack("{s:o,s:b,s:b}", "screened_from", screened, "audio_only", p->audio_only,
                     "anonymous", p->anonymous);
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
    if (!s->recorder)
        return;
    json_t *people = json_array();
    for (guint i = 0; i < h->participants->len; i++) {
        const struct vej_live_participant *p = h->participants->pdata[i];
        g_autofree char *label = label_of(p);
        json_array_append_new(
            people,
            json_pack("{s:s,s:s,s:s,s:s,s:b,s:{s:b,s:b},s:o}", "participant_id", p->id, "role",
                      vej_role_name(p->role), "label", label, "place", p->place, "admitted",
                      p->admitted, "muted", "audio", p->muted[VEJ_MEDIA_AUDIO], "video",
                      p->muted[VEJ_MEDIA_VIDEO], "special_measures", special_measures_json(p)));
    }
    json_t *snap = json_pack("{s:o,s:s,s:I,s:o}", "hearing",
                             hearing_json(h->id, h->courtroom_id, h->case_reference, h->title),
                             "state", vej_hearing_state_name(h->state), "at_us",
                             (json_int_t)g_get_real_time(), "participants", people);
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

struct report {
    bool alert;
    char *hearing_id, *recording_id, *a, *b; /* state/reason, or code/message */
};

static void
report_free(struct report *r)
{
    g_free(r->hearing_id);
    g_free(r->recording_id);
    g_free(r->a);
    g_free(r->b);
    g_free(r);
}

static void
deliver(struct vej_signalling *s, void *data)
{
    struct report *r = data;
    struct vej_live_hearing *h = g_hash_table_lookup(s->hearings, r->hearing_id);
    if (r->alert) {
        vej__audit(s, "system", "recording.alert", r->hearing_id, json_pack("{s:s}", "code", r->a));
        for (guint i = 0; h && i < h->participants->len; i++) {
            struct vej_live_participant *p = h->participants->pdata[i];
            if ((p->role == VEJ_ROLE_CLERK || p->role == VEJ_ROLE_JUDGE) && p->session)
                vej__hearing_notify(
                    p, "alert",
                    json_pack("{s:s,s:s,s:s}", "code", r->a, "severity",
                              strcmp(r->a, "recording_resumed") == 0 ? "info" : "critical",
                              "message", r->b));
        }
    } else {
        if (h) {
            g_free(h->recording_state);
            h->recording_state = g_strdup(r->a);
        }
        for (guint i = 0; h && i < h->participants->len; i++) {
            struct vej_live_participant *p = h->participants->pdata[i];
            json_t *params = json_pack("{s:s,s:s}", "state", r->a, "recording_id", r->recording_id);
            if (r->b)
                json_object_set_new(params, "reason", json_string(r->b));
            vej__hearing_notify(p, "recording.state", params);
        }
    }
    report_free(r);
}

static void
post(void *user, bool alert, const char *hearing_id, const char *recording_id, const char *a,
     const char *b)
{
    struct report *r = g_new0(struct report, 1);
    r->alert = alert;
    r->hearing_id = g_strdup(hearing_id);
    r->recording_id = g_strdup(recording_id);
    r->a = g_strdup(a);
    r->b = g_strdup(b);
    vej__post(user, deliver, r);
}

static void
on_state(void *user, const char *hearing_id, const char *recording_id, const char *state,
         const char *reason)
{
    post(user, false, hearing_id, recording_id, state, reason);
}

static void
on_alert(void *user, const char *hearing_id, const char *code, const char *message)
{
    post(user, true, hearing_id, NULL, code, message);
}

gboolean
vej__recording_start(struct vej_signalling *s, GError **error)
{
    const struct vej_config *c = s->config;
    struct vej_recorder_config rc = {
        .data_dir = c->data_dir,
        .segment_seconds = (unsigned)c->recording_segment_seconds,
        .ring_bytes = (size_t)c->recording_ring_kib * 1024,
        .n_workers = vej_relay_n_workers(s->relay),
    };
    struct vej_recorder_callbacks cb = {.state = on_state, .alert = on_alert, .user = s};
    s->recorder = vej_recorder_new(&rc, &cb, s->audit, error);
    if (!s->recorder)
        return FALSE;
    vej_relay_set_tap(s->relay, vej_recorder_tap(s->recorder));
    return TRUE;
}
