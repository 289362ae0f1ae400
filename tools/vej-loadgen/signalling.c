/* tools/vej-loadgen/signalling.c - REST (blocking libsoup) and JSON-RPC
 * 2.0 over wss (libsoup WebSocket on the default main context).
 *
 * Set-up is written as straight-line code: lg_rpc_call() sends a request
 * and pumps the main context until its reply, so the ICE, DTLS and media
 * of PCs already made keep running meanwhile. Notification handlers must
 * not call lg_rpc_call (they use lg_rpc_send). */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>

static gboolean
accept_any_certificate(SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer user)
{
    return TRUE; /* a local benchmark against the gateway's self-signed certificate */
}

bool
lg_pump_until(const volatile bool *flag, int timeout_s)
{
    int64_t deadline = lg_now_ns() + (int64_t)timeout_s * 1000000000;
    while (!*flag) {
        if (lg_now_ns() > deadline)
            return false;
        g_main_context_iteration(NULL, TRUE);
    }
    return true;
}

bool
lg_pump_until_count(const int *count, int want, int timeout_s)
{
    int64_t deadline = lg_now_ns() + (int64_t)timeout_s * 1000000000;
    while (__atomic_load_n(count, __ATOMIC_ACQUIRE) < want) {
        if (lg_now_ns() > deadline)
            return false;
        g_main_context_iteration(NULL, TRUE);
    }
    return true;
}

/* ---- REST ---- */

struct lg_rest {
    SoupSession *session;
    char *base;
};

struct lg_rest *
lg_rest_new(const char *base)
{
    struct lg_rest *r = g_new0(struct lg_rest, 1);
    r->session = soup_session_new_with_options("timeout", 30, NULL);
    r->base = g_strdup(base);
    return r;
}

void
lg_rest_free(struct lg_rest *r)
{
    if (!r)
        return;
    g_object_unref(r->session);
    g_free(r->base);
    g_free(r);
}

json_t *
lg_rest_call(struct lg_rest *r, const char *method, const char *path, json_t *body,
             const char *token, unsigned want)
{
    g_autofree char *url = g_strconcat(r->base, "/api/v1", path, NULL);
    g_autoptr(SoupMessage) m = soup_message_new(method, url);
    if (!m) {
        fprintf(stderr, "vej-loadgen: bad URL %s\n", url);
        json_decref(body);
        return NULL;
    }
    g_signal_connect(m, "accept-certificate", G_CALLBACK(accept_any_certificate), NULL);
    SoupMessageHeaders *h = soup_message_get_request_headers(m);
    soup_message_headers_append(h, "Accept", "application/json");
    if (token) {
        g_autofree char *auth = g_strconcat("Bearer ", token, NULL);
        soup_message_headers_append(h, "Authorization", auth);
    }
    if (body) {
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        g_autoptr(GBytes) b = g_bytes_new(text, strlen(text));
        free(text);
        soup_message_set_request_body_from_bytes(m, "application/json", b);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) resp = soup_session_send_and_read(r->session, m, NULL, &err);
    if (!resp) {
        fprintf(stderr, "vej-loadgen: %s %s: %s\n", method, path, err->message);
        return NULL;
    }
    unsigned status = soup_message_get_status(m);
    gsize n = 0;
    const char *data = g_bytes_get_data(resp, &n);
    json_t *parsed = json_loadb(data ? data : "", n, 0, NULL);
    if (status != want) {
        fprintf(stderr, "vej-loadgen: %s %s: HTTP %u (wanted %u): %.*s\n", method, path, status,
                want, (int)MIN(n, 400), data ? data : "");
        json_decref(parsed);
        return NULL;
    }
    return parsed ? parsed : json_object();
}

/* ---- JSON-RPC over wss ---- */

struct lg_call {
    char *method;
    bool done;
    bool want_result; /* lg_rpc_call waits for it; lg_rpc_send only checks */
    json_t *result;
};

struct lg_rpc {
    SoupSession *session;
    SoupWebsocketConnection *ws;
    bool connect_done;
    GError *connect_error;
    lg_note_fn on_note;
    void *user;
    int64_t next_id;
    GHashTable *calls; /* id (gint64 *) -> struct lg_call * */
    bool closed;
};

static void
call_free(gpointer p)
{
    struct lg_call *c = p;
    g_free(c->method);
    json_decref(c->result);
    g_free(c);
}

static void
on_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user)
{
    struct lg_rpc *rpc = user;
    gsize n = 0;
    const char *data = g_bytes_get_data(message, &n);
    json_error_t jerr;
    json_t *msg = json_loadb(data, n, 0, &jerr);
    if (!json_is_object(msg)) {
        fprintf(stderr, "vej-loadgen: unparsable message: %s\n", jerr.text);
        json_decref(msg);
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method && !id) {
        if (rpc->on_note)
            rpc->on_note(rpc->user, method, json_object_get(msg, "params"));
    } else if (json_is_integer(id)) {
        gint64 key = json_integer_value(id);
        struct lg_call *c = g_hash_table_lookup(rpc->calls, &key);
        if (c) {
            json_t *err = json_object_get(msg, "error");
            if (err) {
                char *t = json_dumps(err, JSON_COMPACT);
                fprintf(stderr, "vej-loadgen: %s: error %s\n", c->method, t);
                free(t);
            }
            if (c->want_result && !err) {
                c->result = json_incref(json_object_get(msg, "result"));
                c->done = true;
            } else if (c->want_result) {
                c->done = true;
            } else {
                g_hash_table_remove(rpc->calls, &key);
            }
        }
    }
    json_decref(msg);
}

static void
on_closed(SoupWebsocketConnection *ws, gpointer user)
{
    struct lg_rpc *rpc = user;
    rpc->closed = true;
    fprintf(stderr, "vej-loadgen: a WebSocket was closed by the gateway (code %u)\n",
            soup_websocket_connection_get_close_code(ws));
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user)
{
    struct lg_rpc *rpc = user;
    rpc->ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), res, &rpc->connect_error);
    rpc->connect_done = true;
}

struct lg_rpc *
lg_rpc_connect(SoupSession *session, const char *base, lg_note_fn on_note, void *user,
               int timeout_s)
{
    struct lg_rpc *rpc = g_new0(struct lg_rpc, 1);
    rpc->on_note = on_note;
    rpc->user = user;
    rpc->next_id = 1;
    rpc->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, call_free);
    rpc->session = g_object_ref(session);
    g_autofree char *url = NULL;
    if (g_str_has_prefix(base, "https://"))
        url = g_strconcat("wss://", base + 8, "/ws", NULL);
    else
        url = g_strconcat("ws://", base + (g_str_has_prefix(base, "http://") ? 7 : 0), "/ws", NULL);
    SoupMessage *m = soup_message_new("GET", url);
    g_signal_connect(m, "accept-certificate", G_CALLBACK(accept_any_certificate), NULL);
    soup_session_websocket_connect_async(rpc->session, m, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                         on_connected, rpc);
    g_object_unref(m);
    if (!lg_pump_until(&rpc->connect_done, timeout_s) || !rpc->ws) {
        fprintf(stderr, "vej-loadgen: cannot connect %s: %s\n", url,
                rpc->connect_error ? rpc->connect_error->message : "timeout");
        lg_rpc_free(rpc);
        return NULL;
    }
    soup_websocket_connection_set_max_incoming_payload_size(rpc->ws, 4 * 1024 * 1024);
    soup_websocket_connection_set_keepalive_interval(rpc->ws, 0);
    g_signal_connect(rpc->ws, "message", G_CALLBACK(on_message), rpc);
    g_signal_connect(rpc->ws, "closed", G_CALLBACK(on_closed), rpc);
    return rpc;
}

void
lg_rpc_free(struct lg_rpc *rpc)
{
    if (!rpc)
        return;
    if (rpc->ws) {
        g_signal_handlers_disconnect_by_data(rpc->ws, rpc);
        if (soup_websocket_connection_get_state(rpc->ws) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(rpc->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
        g_object_unref(rpc->ws);
    }
    g_clear_error(&rpc->connect_error);
    g_hash_table_unref(rpc->calls);
    g_object_unref(rpc->session);
    g_free(rpc);
}

static struct lg_call *
send_request(struct lg_rpc *rpc, const char *method, json_t *params, bool want_result)
{
    gint64 id = rpc->next_id++;
    json_t *msg = json_pack("{s:s,s:I,s:s,s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
                            method, "params", params ? params : json_object());
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    struct lg_call *c = g_new0(struct lg_call, 1);
    c->method = g_strdup(method);
    c->want_result = want_result;
    g_hash_table_insert(rpc->calls, g_memdup2(&id, sizeof id), c);
    if (rpc->closed)
        fprintf(stderr, "vej-loadgen: %s on a closed WebSocket\n", method);
    else
        soup_websocket_connection_send_text(rpc->ws, text);
    free(text);
    return c;
}

void
lg_rpc_send(struct lg_rpc *rpc, const char *method, json_t *params)
{
    send_request(rpc, method, params, false);
}

json_t *
lg_rpc_call(struct lg_rpc *rpc, const char *method, json_t *params, int timeout_s)
{
    gint64 id = rpc->next_id;
    struct lg_call *c = send_request(rpc, method, params, true);
    if (!lg_pump_until(&c->done, timeout_s))
        fprintf(stderr, "vej-loadgen: %s: no reply within %d s\n", method, timeout_s);
    json_t *result = c->result ? json_incref(c->result) : NULL;
    g_hash_table_remove(rpc->calls, &id);
    return result;
}
