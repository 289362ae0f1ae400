/* tools/vej-loadgen/janus.c - the second signalling backend: the same
 * PCs, media and counting against Janus's VideoRoom plugin (--server
 * janus, --url http://HOST:PORT/janus, the REST transport; --room, 1234
 * by default, must exist in the plugin's configuration).
 *
 * One Janus session, one handle per PC. A publisher joins with its offer
 * (join + jsep, which Janus 1.x treats as joinandconfigure) and takes the
 * answer from the session's event long-poll; a subscriber joins with one
 * stream per publisher feed (Janus 1.x multistream), takes Janus's offer
 * the same way and answers with "start". Janus's descriptions carry their
 * candidates (it answers after gathering), ours carry ours and
 * end-of-candidates, and a trickle "completed" says so (Janus waits for
 * it otherwise). The publish offer says
 * a=setup:active (Janus accepts it and answers passive) because the load
 * generator's DTLS is always the client. Janus's JSON is read with
 * jansson. The set-up runs on the signalling thread with blocking HTTP
 * requests while the PCs already made run on the media threads.
 * VEJ_LOADGEN_DEBUG=1 prints the descriptions exchanged (SDP only). */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>

struct janus {
    SoupSession *http;
    char *base; /* http://127.0.0.1:PORT/janus */
    guint64 session;
    unsigned txn;
};

/* POSTs body to base[/path]; the parsed answer, or NULL with a message. */
static json_t *
janus_post(struct janus *j, const char *path, json_t *body)
{
    char txn[24];
    g_snprintf(txn, sizeof txn, "lg%u", ++j->txn);
    json_object_set_new(body, "transaction", json_string(txn));
    g_autofree char *url = g_strconcat(j->base, path ? path : "", NULL);
    g_autofree char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    g_autoptr(SoupMessage) m = soup_message_new("POST", url);
    if (!m || !text) {
        fprintf(stderr, "vej-loadgen: janus: bad URL %s\n", url);
        return NULL;
    }
    g_autoptr(GBytes) req = g_bytes_new(text, strlen(text));
    soup_message_set_request_body_from_bytes(m, "application/json", req);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) resp = soup_session_send_and_read(j->http, m, NULL, &err);
    if (!resp) {
        fprintf(stderr, "vej-loadgen: janus: %s: %s\n", url, err->message);
        return NULL;
    }
    gsize len = 0;
    const char *data = g_bytes_get_data(resp, &len);
    json_t *r = json_loadb(data, len, 0, NULL);
    const char *kind = json_string_value(json_object_get(r, "janus"));
    if (!kind || strcmp(kind, "error") == 0) {
        fprintf(stderr, "vej-loadgen: janus: %s answered %.*s\n", url, (int)MIN(len, 300),
                data ? data : "");
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Long-polls the session until an event from `handle` carries a jsep
 * (returned, transfer full); *feed gets plugindata.data.id when an event
 * of that handle has one. NULL after timeout_s or an error. */
static json_t *
janus_wait_jsep(struct janus *j, guint64 handle, guint64 *feed, int timeout_s)
{
    int64_t deadline = lg_now_ns() + (int64_t)timeout_s * 1000000000;
    g_autofree char *url = g_strdup_printf("%s/%" G_GUINT64_FORMAT "?maxev=1", j->base, j->session);
    while (lg_now_ns() < deadline) {
        g_autoptr(SoupMessage) m = soup_message_new("GET", url);
        g_autoptr(GError) err = NULL;
        g_autoptr(GBytes) resp = soup_session_send_and_read(j->http, m, NULL, &err);
        if (!resp) {
            fprintf(stderr, "vej-loadgen: janus: poll: %s\n", err->message);
            return NULL;
        }
        gsize len = 0;
        const char *data = g_bytes_get_data(resp, &len);
        json_t *ev = json_loadb(data, len, 0, NULL);
        if ((guint64)json_integer_value(json_object_get(ev, "sender")) == handle) {
            json_t *d = json_object_get(json_object_get(json_object_get(ev, "plugindata"), "data"),
                                        "error");
            if (d) {
                fprintf(stderr, "vej-loadgen: janus: %s\n", json_string_value(d));
                json_decref(ev);
                return NULL;
            }
            json_t *id =
                json_object_get(json_object_get(json_object_get(ev, "plugindata"), "data"), "id");
            if (feed && json_is_integer(id))
                *feed = (guint64)json_integer_value(id);
            json_t *jsep = json_object_get(ev, "jsep");
            if (jsep) {
                json_incref(jsep);
                json_decref(ev);
                return jsep;
            }
        }
        json_decref(ev);
    }
    fprintf(stderr, "vej-loadgen: janus: no description from handle %" G_GUINT64_FORMAT "\n",
            handle);
    return NULL;
}

static guint64
janus_attach(struct janus *j)
{
    g_autofree char *path = g_strdup_printf("/%" G_GUINT64_FORMAT, j->session);
    json_t *r = janus_post(
        j, path, json_pack("{s:s,s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom"));
    guint64 h = (guint64)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    return h;
}

/* Sends a message (body and optional jsep, both transfer full). */
static bool
janus_message(struct janus *j, guint64 handle, json_t *body, json_t *jsep)
{
    g_autofree char *path =
        g_strdup_printf("/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, j->session, handle);
    json_t *msg = json_pack("{s:s,s:o}", "janus", "message", "body", body);
    if (jsep)
        json_object_set_new(msg, "jsep", jsep);
    json_t *r = janus_post(j, path, msg);
    json_decref(r);
    return r != NULL;
}

/* Janus waits for the end of trickle even when the description says
 * a=end-of-candidates: say it. */
static bool
janus_trickle_done(struct janus *j, guint64 handle)
{
    g_autofree char *path =
        g_strdup_printf("/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, j->session, handle);
    json_t *r = janus_post(
        j, path, json_pack("{s:s,s:{s:b}}", "janus", "trickle", "candidate", "completed", 1));
    json_decref(r);
    return r != NULL;
}

static bool
janus_publish(struct janus *j, struct lg_run *run, int i, guint64 *feed)
{
    guint64 h = janus_attach(j);
    if (!h)
        return false;
    struct lg_pc *pc =
        lg_pc_new(run, NULL, LG_PC_PUBLISH, i, run->o.address, lg_workers_context(run, i));
    if (!pc)
        return false;
    g_ptr_array_add(run->pubs, pc);
    lg_workers_add_publisher(run, i, pc);
    g_autofree char *offer = lg_sdp_publish_offer(pc, run->fingerprint, "active");
    char display[32];
    g_snprintf(display, sizeof display, "publisher %d", i);
    if (!janus_message(j, h,
                       json_pack("{s:s,s:s,s:I,s:s}", "request", "join", "ptype", "publisher",
                                 "room", (json_int_t)run->o.room, "display", display),
                       json_pack("{s:s,s:s}", "type", "offer", "sdp", offer)))
        return false;
    if (!janus_trickle_done(j, h))
        return false;
    json_t *jsep = janus_wait_jsep(j, h, feed, 30);
    const char *answer = json_string_value(json_object_get(jsep, "sdp"));
    if (g_getenv("VEJ_LOADGEN_DEBUG"))
        fprintf(stderr, "janus answer:\n%s\nour offer:\n%s\n", answer, offer);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    bool ok = answer && lg_sdp_parse_publish_answer(answer, d) && lg_pc_set_remote(pc, d);
    json_decref(jsep);
    return ok && *feed;
}

static bool
janus_subscribe(struct janus *j, struct lg_run *run, int i, const guint64 *feeds, int n_feeds)
{
    guint64 h = janus_attach(j);
    if (!h)
        return false;
    struct lg_pc *pc = lg_pc_new(run, NULL, LG_PC_SUBSCRIBE, i, run->o.address,
                                 lg_workers_context(run, run->o.publishers + i));
    if (!pc)
        return false;
    g_ptr_array_add(run->subs, pc);
    json_t *streams = json_array();
    for (int k = 0; k < n_feeds; k++)
        json_array_append_new(streams, json_pack("{s:I}", "feed", (json_int_t)feeds[k]));
    if (!janus_message(j, h,
                       json_pack("{s:s,s:s,s:I,s:o}", "request", "join", "ptype", "subscriber",
                                 "room", (json_int_t)run->o.room, "streams", streams),
                       NULL))
        return false;
    json_t *jsep = janus_wait_jsep(j, h, NULL, 30);
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    if (g_getenv("VEJ_LOADGEN_DEBUG"))
        fprintf(stderr, "janus subscribe offer:\n%s\n", sdp);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    bool ok =
        sdp && lg_sdp_parse_subscribe_offer(sdp, d) && d->n_media > 0 && lg_pc_set_remote(pc, d);
    json_decref(jsep);
    if (!ok)
        return false;
    lg_pc_note_offer(pc, d);
    g_autofree char *answer = lg_sdp_subscribe_answer(pc, d, run->fingerprint);
    return janus_message(j, h, json_pack("{s:s}", "request", "start"),
                         json_pack("{s:s,s:s}", "type", "answer", "sdp", answer)) &&
           janus_trickle_done(j, h);
}

bool
lg_janus_setup(struct lg_run *run)
{
    struct janus j = {0};
    j.http = soup_session_new_with_options("timeout", 60, NULL);
    j.base = g_strdup(run->o.url);
    g_autofree guint64 *feeds = g_new0(guint64, (gsize)run->o.publishers);
    bool ok = false;
    json_t *r = janus_post(&j, NULL, json_pack("{s:s}", "janus", "create"));
    j.session = (guint64)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    if (!j.session)
        goto out;
    for (int i = 0; i < run->o.publishers; i++)
        if (!janus_publish(&j, run, i, &feeds[i]))
            goto out;
    /* Janus lists a feed for subscription once its PC is up. */
    if (!lg_pump_until_count(&run->n_ready, run->o.publishers, 60)) {
        fprintf(stderr, "vej-loadgen: janus: the publishers' PCs did not connect\n");
        goto out;
    }
    for (int i = 0; i < run->o.subscribers; i++) {
        if (!janus_subscribe(&j, run, i, feeds, run->o.publishers))
            goto out;
        if ((i + 1) % 100 == 0)
            fprintf(stderr, "vej-loadgen: janus: %d subscribed, %d PCs up\n", i + 1,
                    LG_GET(run->n_ready));
    }
    ok = true;
out:
    /* The session stays: Janus is configured without a session timeout,
     * and it ends with the process. */
    g_object_unref(j.http);
    g_free(j.base);
    return ok;
}
