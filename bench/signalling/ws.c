/* bench/signalling/ws.c - the WebSocket side of the load: one lws context,
 * one thread, every participant's socket and one clerk socket per hearing.
 *
 * Requests are open-loop: in the steady window a timer (lws_sul) hands each
 * op to its socket at its scheduled time, replies or not, and latency runs
 * from the scheduled time, so a slow server cannot hide its queueing by
 * slowing the generator down (coordinated omission). The time from the
 * schedule to the actual lws_write is recorded as the send lag: it is the
 * generator's own error, printed with the results.
 *
 * Notifications (messages starting {"jsonrpc":"2.0","method":) are counted
 * by method without being parsed; replies are parsed with jansson. */
#include "bench.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum client_state { C_IDLE, C_CONNECTING, C_HELLO, C_JOINING, C_JOINED, C_CLOSED };

struct client {
    struct bench_ws *b;
    struct lws *wsi;
    int index; /* participant index; -1 for a clerk */
    int hearing;
    enum client_state state;
    GQueue outq; /* struct outmsg * */
    GString *rx;
};

struct outmsg {
    int64_t sched_ns;
    bool steady; /* a steady-window op: record its send lag */
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct pending {
    enum bench_req kind;
    int64_t sched_ns;
    struct client *c;
};

struct bench_ws {
    const struct bench_options *o;
    const struct bench_daemon *d;
    struct bench_world *w;
    struct lws_context *ctx;
    struct client *clerks;
    struct client *clients;
    GHashTable *pending; /* request id -> struct pending */
    int next_id;
    struct bench_samples samples[REQ_N];
    struct bench_samples lag;
    /* progress */
    int clerks_joined, hello_failed, joined, join_failed, admit_replies, admit_wanted, conn_errors;
    int64_t last_join_ns;
    char first_error[160];
    GHashTable *close_codes; /* code -> count */
    int closed_after_join;
    /* notifications */
    uint64_t notes, note_bytes, unmatched;
    GHashTable *note_methods; /* char * -> uint64_t * */
    /* steady window */
    const struct bench_op *ops;
    size_t n_ops, next_op;
    int64_t start_ns, window_end_ns;
    uint64_t notes_at_start, notes_at_window_end;
    bool window_over;
    size_t steady_outstanding;
    lws_sorted_usec_list_t sul;
    bool tearing_down;
    bool *in_consultation;
    bool (*muted)[2];
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

static const struct lws_protocols protocols[] = {
    {"bench", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- sending ---- */

static void
fail_request(struct bench_ws *b, enum bench_req kind, int code, const char *why)
{
    bench_samples_error(&b->samples[kind], code);
    if (!b->first_error[0])
        snprintf(b->first_error, sizeof b->first_error, "%s: %s", bench_req_name(kind), why);
}

/* Queues a request; params is stolen. */
static void
send_request(struct client *c, enum bench_req kind, int64_t sched_ns, bool steady,
             const char *method, json_t *params)
{
    struct bench_ws *b = c->b;
    if (!c->wsi || c->state == C_CLOSED) {
        json_decref(params);
        fail_request(b, kind, -1, "socket closed");
        return;
    }
    int id = ++b->next_id;
    json_t *msg = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", id, "method", method,
                            "params", params);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    size_t len = strlen(text);
    struct outmsg *m = g_malloc(sizeof *m + LWS_PRE + len + 1);
    m->sched_ns = sched_ns;
    m->steady = steady;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len + 1);
    free(text);
    g_queue_push_tail(&c->outq, m);
    struct pending *p = g_new(struct pending, 1);
    *p = (struct pending){.kind = kind, .sched_ns = sched_ns, .c = c};
    g_hash_table_insert(b->pending, GINT_TO_POINTER(id), p);
    if (steady)
        b->steady_outstanding++;
    lws_callback_on_writable(c->wsi);
}

static int
on_writeable(struct client *c)
{
    struct outmsg *m = g_queue_pop_head(&c->outq);
    if (!m)
        return 0;
    int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    bool ok = n >= (int)m->len;
    size_t len = m->len;
    g_free(m);
    if (!ok) {
        fprintf(stderr,
                "bench-signalling: lws_write of %zu bytes on %s socket %d returned %d: "
                "closing it\n",
                len, c->index < 0 ? "a clerk" : "a participant",
                c->index < 0 ? c->hearing : c->index, n);
        return -1;
    }
    if (!g_queue_is_empty(&c->outq))
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void
send_join(struct client *c, enum bench_req kind, int64_t sched_ns, bool steady)
{
    json_t *params = c->index < 0
                         ? json_pack("{s:s}", "hearing_id", c->b->w->hearing_ids[c->hearing])
                         : json_object();
    send_request(c, kind, sched_ns, steady, "hearing.join", params);
}

/* ---- receiving ---- */

static void
on_notification(struct bench_ws *b, const char *text, size_t len)
{
    static const char prefix[] = "{\"jsonrpc\":\"2.0\",\"method\":\"";
    const char *name = text + sizeof prefix - 1;
    const char *end = memchr(name, '"', len - (sizeof prefix - 1));
    char key[64];
    size_t n = end ? (size_t)(end - name) : 0;
    g_strlcpy(key, name, MIN(n + 1, sizeof key));
    uint64_t *count = g_hash_table_lookup(b->note_methods, key);
    if (!count) {
        count = g_new0(uint64_t, 1);
        g_hash_table_insert(b->note_methods, g_strdup(key), count);
    }
    (*count)++;
    b->notes++;
    b->note_bytes += len;
}

static void
on_reply_done(struct bench_ws *b, struct pending *p, bool ok, int code, json_t *msg)
{
    int64_t now = bench_now_ns();
    struct client *c = p->c;
    if (ok)
        bench_samples_add(&b->samples[p->kind], (double)(now - p->sched_ns) / 1000);
    else {
        const char *why =
            json_string_value(json_object_get(json_object_get(msg, "error"), "message"));
        fail_request(b, p->kind, code, why ? why : "error");
    }
    switch (p->kind) {
    case REQ_HELLO:
        if (ok) {
            c->state = C_JOINING;
            send_join(c, REQ_FIRST_JOIN, now, false);
        } else {
            b->hello_failed++;
        }
        break;
    case REQ_FIRST_JOIN:
        if (!ok)
            b->join_failed++;
        else if (c->index < 0)
            b->clerks_joined++;
        else {
            b->joined++;
            b->last_join_ns = now;
        }
        if (ok)
            c->state = C_JOINED;
        break;
    case REQ_ADMIT:
        b->admit_replies++;
        break;
    default:
        break;
    }
}

static void
on_message(struct client *c, const char *text, size_t len)
{
    struct bench_ws *b = c->b;
    static const char prefix[] = "{\"jsonrpc\":\"2.0\",\"method\":\"";
    if (len > sizeof prefix && memcmp(text, prefix, sizeof prefix - 1) == 0) {
        on_notification(b, text, len);
        return;
    }
    /* A successful reply to a request of the window is only looked at up to
     * its id: the rejoin snapshots are large, and parsing them would make
     * the generator, not the server, the bottleneck. */
    static const char reply_prefix[] = "{\"jsonrpc\":\"2.0\",\"id\":";
    struct pending *p = NULL;
    if (len > sizeof reply_prefix + 12 &&
        memcmp(text, reply_prefix, sizeof reply_prefix - 1) == 0) {
        char *end = NULL;
        long id = strtol(text + sizeof reply_prefix - 1, &end, 10);
        if (end && strncmp(end, ",\"result\":", 10) == 0 &&
            g_hash_table_lookup(b->pending, GINT_TO_POINTER((int)id))) {
            g_hash_table_steal_extended(b->pending, GINT_TO_POINTER((int)id), NULL, (gpointer *)&p);
            if (bench_req_steady(p->kind)) {
                if (b->steady_outstanding)
                    b->steady_outstanding--;
                on_reply_done(b, p, true, 0, NULL);
                g_free(p);
                return;
            }
            g_hash_table_insert(b->pending, GINT_TO_POINTER((int)id), p);
            p = NULL;
        }
    }
    json_t *msg = json_loadb(text, len, 0, NULL);
    json_t *idv = json_object_get(msg, "id");
    if (json_is_integer(idv))
        g_hash_table_steal_extended(b->pending, GINT_TO_POINTER((int)json_integer_value(idv)), NULL,
                                    (gpointer *)&p);
    if (!p) {
        b->unmatched++;
        json_decref(msg);
        return;
    }
    if (bench_req_steady(p->kind) && b->steady_outstanding)
        b->steady_outstanding--;
    json_t *err = json_object_get(msg, "error");
    int code = (int)json_integer_value(json_object_get(err, "code"));
    on_reply_done(b, p, err == NULL, code, msg);
    g_free(p);
    json_decref(msg);
}

static void
on_closed(struct client *c, int code)
{
    struct bench_ws *b = c->b;
    if (c->state == C_JOINED)
        b->closed_after_join++;
    c->state = C_CLOSED;
    c->wsi = NULL;
    gpointer old = g_hash_table_lookup(b->close_codes, GINT_TO_POINTER(code));
    g_hash_table_insert(b->close_codes, GINT_TO_POINTER(code),
                        GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
    struct outmsg *m;
    while ((m = g_queue_pop_head(&c->outq)))
        g_free(m);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct client *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->b->conn_errors++;
        if (!c->b->first_error[0])
            snprintf(c->b->first_error, sizeof c->b->first_error, "connect: %s",
                     in ? (const char *)in : "?");
        on_closed(c, -2);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
        const char *token = c->index < 0 ? c->b->w->clerk_token : c->b->w->p[c->index].join_token;
        /* lws arms timeout_secs on a client connection; a benchmark socket
         * lives as long as the run. */
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        c->state = C_HELLO;
        send_request(c, REQ_HELLO, bench_now_ns(), false, "session.hello",
                     json_pack("{s:s}", "token", token));
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        g_string_append_len(c->rx, in, (gssize)len);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            on_message(c, c->rx->str, c->rx->len);
            g_string_truncate(c->rx, 0);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        const unsigned char *p = in;
        int code = len >= 2 ? (p[0] << 8) | p[1] : 0;
        g_hash_table_insert(
            c->b->close_codes, GINT_TO_POINTER(100000 + code),
            GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(c->b->close_codes,
                                                                GINT_TO_POINTER(100000 + code))) +
                            1));
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c->index < 0 && !c->b->tearing_down)
            fprintf(stderr,
                    "bench-signalling: the clerk socket of hearing %d closed (%u requests "
                    "still queued to send)\n",
                    c->hearing, g_queue_get_length(&c->outq));
        on_closed(c, -1);
        lws_set_opaque_user_data(wsi, NULL);
        return 0;
    default:
        return 0;
    }
}

/* ---- connecting ---- */

static void
connect_client(struct bench_ws *b, struct client *c)
{
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = b->ctx;
    i.address = "127.0.0.1";
    i.port = b->d->port;
    i.path = "/ws";
    i.host = "127.0.0.1";
    i.origin = NULL;
    i.ssl_connection =
        LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    i.local_protocol_name = "bench";
    i.opaque_user_data = c;
    c->state = C_CONNECTING;
    c->wsi = lws_client_connect_via_info(&i);
    if (!c->wsi) {
        b->conn_errors++;
        c->state = C_CLOSED;
    }
}

struct bench_ws *
bench_ws_new(const struct bench_options *o, const struct bench_daemon *d, struct bench_world *w)
{
    /* BENCH_LWS_LOG=N: lws log level bits (e.g. 15 for errors to info). */
    guint64 level = LLL_ERR;
    const char *env = g_getenv("BENCH_LWS_LOG");
    if (env && !g_ascii_string_to_unsigned(env, 10, 0, 0xffff, &level, NULL))
        level = LLL_ERR;
    lws_set_log_level((int)level, NULL);
    struct bench_ws *b = g_new0(struct bench_ws, 1);
    b->o = o;
    b->d = d;
    b->w = w;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.fd_limit_per_thread = (unsigned)(w->n + o->hearings + 256);
    info.max_http_header_pool = (unsigned short)MIN(w->n + o->hearings + 16, 65535);
    info.timeout_secs = 600;
    info.connect_timeout_secs = 60;
    b->ctx = lws_create_context(&info);
    if (!b->ctx) {
        g_free(b);
        return NULL;
    }
    b->pending = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    b->close_codes = g_hash_table_new(NULL, NULL);
    b->note_methods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    b->clerks = g_new0(struct client, (gsize)o->hearings);
    b->clients = g_new0(struct client, (gsize)w->n);
    for (int h = 0; h < o->hearings; h++)
        b->clerks[h] = (struct client){.b = b, .index = -1, .hearing = h, .rx = g_string_new(NULL)};
    for (int i = 0; i < w->n; i++)
        b->clients[i] = (struct client){
            .b = b, .index = i, .hearing = w->p[i].hearing, .rx = g_string_new(NULL)};
    b->in_consultation = g_new0(bool, (gsize)w->n);
    b->muted = g_malloc0_n((gsize)w->n, sizeof *b->muted);
    return b;
}

static void
client_clear(struct client *c)
{
    struct outmsg *m;
    while ((m = g_queue_pop_head(&c->outq)))
        g_free(m);
    g_string_free(c->rx, TRUE);
}

void
bench_ws_free(struct bench_ws *b)
{
    if (!b)
        return;
    lws_sul_cancel(&b->sul);
    b->tearing_down = true;
    lws_context_destroy(b->ctx); /* closes every socket first */
    for (int h = 0; h < b->o->hearings; h++)
        client_clear(&b->clerks[h]);
    for (int i = 0; i < b->w->n; i++)
        client_clear(&b->clients[i]);
    g_free(b->clerks);
    g_free(b->clients);
    g_hash_table_unref(b->pending);
    g_hash_table_unref(b->close_codes);
    g_hash_table_unref(b->note_methods);
    for (int k = 0; k < REQ_N; k++)
        bench_samples_clear(&b->samples[k]);
    bench_samples_clear(&b->lag);
    g_free(b->in_consultation);
    g_free(b->muted);
    g_free(b);
}

/* A 10 ms heartbeat so that lws_service() returns to check the phase. */
static void
heartbeat(lws_sorted_usec_list_t *sul)
{
    struct bench_ws *b = lws_container_of(sul, struct bench_ws, sul);
    lws_sul_schedule(b->ctx, 0, &b->sul, heartbeat, 10 * LWS_US_PER_MS);
}

static void
run_until(struct bench_ws *b, bool (*done)(struct bench_ws *), int64_t deadline_ns)
{
    while (!done(b) && bench_now_ns() < deadline_ns)
        lws_service(b->ctx, 0);
}

static bool
clerks_done(struct bench_ws *b)
{
    return b->clerks_joined + b->join_failed + b->hello_failed + b->conn_errors >= b->o->hearings;
}

bool
bench_ws_clerks(struct bench_ws *b, int64_t deadline_ns)
{
    lws_sul_schedule(b->ctx, 0, &b->sul, heartbeat, 10 * LWS_US_PER_MS);
    for (int h = 0; h < b->o->hearings; h++)
        connect_client(b, &b->clerks[h]);
    run_until(b, clerks_done, deadline_ns);
    if (b->clerks_joined != b->o->hearings) {
        fprintf(stderr, "bench-signalling: clerk sockets: %d of %d joined (%s)\n", b->clerks_joined,
                b->o->hearings, b->first_error);
        return false;
    }
    /* phase 1's tables are the participants' alone */
    bench_samples_clear(&b->samples[REQ_HELLO]);
    bench_samples_clear(&b->samples[REQ_FIRST_JOIN]);
    return true;
}

static bool
all_joined(struct bench_ws *b)
{
    return b->joined + b->join_failed + b->hello_failed + b->conn_errors >= b->w->n;
}

int64_t
bench_ws_connect_all(struct bench_ws *b, int64_t deadline_ns)
{
    uint64_t notes0 = b->notes;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < b->w->n; i++)
        connect_client(b, &b->clients[i]);
    int64_t t_issued = bench_now_ns();
    run_until(b, all_joined, deadline_ns);
    int64_t wall = b->last_join_ns - t0;
    printf("  connects issued in %.1f ms; joined %d of %d; hello failures %d, join failures %d, "
           "connect errors %d\n",
           (double)(t_issued - t0) / 1e6, b->joined, b->w->n, b->hello_failed, b->join_failed,
           b->conn_errors);
    printf("  notifications received during the phase: %" G_GUINT64_FORMAT "\n", b->notes - notes0);
    if (b->first_error[0])
        printf("  first error: %s\n", b->first_error);
    return b->joined == b->w->n ? wall : -1;
}

/* The busy hearing's sockets stay in its lobby: they only make webrtc.*
 * requests (and vej-loadgen's clerk is its clerk). */
static int
admittable(struct bench_ws *b)
{
    int n = 0;
    for (int i = 0; i < b->w->n; i++)
        n += b->clients[i].state == C_JOINED && !b->w->p[i].busy;
    return n;
}

static bool
all_admitted(struct bench_ws *b)
{
    return b->admit_replies >= b->admit_wanted;
}

int64_t
bench_ws_admit_all(struct bench_ws *b, int64_t deadline_ns)
{
    uint64_t notes0 = b->notes;
    int64_t t0 = bench_now_ns();
    b->admit_wanted = admittable(b);
    for (int i = 0; i < b->w->n; i++) {
        struct client *c = &b->clients[i];
        if (c->state != C_JOINED || b->w->p[i].busy)
            continue;
        send_request(&b->clerks[c->hearing], REQ_ADMIT, t0, false, "hearing.admit",
                     json_pack("{s:s}", "participant_id", b->w->p[i].id));
    }
    run_until(b, all_admitted, deadline_ns);
    int64_t wall = bench_now_ns() - t0;
    printf("  admitted %d of %d in %.2f s; notifications received: %" G_GUINT64_FORMAT "\n",
           b->admit_replies, b->admit_wanted, (double)wall / 1e9, b->notes - notes0);
    return all_admitted(b) ? wall : -1;
}

void
bench_ws_idle(struct bench_ws *b, int64_t until_ns, struct bench_reader *r)
{
    while (bench_now_ns() < until_ns && !(r && bench_reader_ready(r)))
        lws_service(b->ctx, 0);
}

/* ---- the steady window ---- */

static void
dispatch(struct bench_ws *b, const struct bench_op *op, int64_t sched)
{
    struct bench_participant *p = &b->w->p[op->target];
    struct client *clerk = &b->clerks[p->hearing];
    switch (op->kind) {
    case REQ_JOIN: {
        struct client *c = &b->clients[op->target];
        if (c->state != C_JOINED) {
            fail_request(b, REQ_JOIN, -1, "socket not joined");
            return;
        }
        send_join(c, REQ_JOIN, sched, true);
        return;
    }
    case REQ_WEBRTC: {
        struct client *c = &b->clients[op->target];
        if (c->state != C_JOINED) {
            fail_request(b, REQ_WEBRTC, -1, "socket not joined");
            return;
        }
        send_request(c, REQ_WEBRTC, sched, true, "webrtc.subscribe", json_object());
        return;
    }
    case REQ_MOVE: {
        bool to_consultation = !b->in_consultation[op->target];
        b->in_consultation[op->target] = to_consultation;
        send_request(clerk, REQ_MOVE, sched, true, "hearing.move",
                     json_pack("{s:s,s:s}", "participant_id", p->id, "place",
                               to_consultation ? "consultation:bench" : "main"));
        return;
    }
    case REQ_MUTE: {
        int kind = (int)(b->next_op & 1);
        bool muted = !b->muted[op->target][kind];
        b->muted[op->target][kind] = muted;
        send_request(clerk, REQ_MUTE, sched, true, "hearing.mute",
                     json_pack("{s:s,s:s,s:b}", "participant_id", p->id, "kind",
                               kind ? "video" : "audio", "muted", muted));
        return;
    }
    default:
        return; /* reads: the REST reader thread */
    }
}

static void
tick(lws_sorted_usec_list_t *sul)
{
    struct bench_ws *b = lws_container_of(sul, struct bench_ws, sul);
    int64_t now = bench_now_ns();
    while (b->next_op < b->n_ops && b->start_ns + b->ops[b->next_op].at_ns <= now) {
        int64_t sched = b->start_ns + b->ops[b->next_op].at_ns;
        if (b->ops[b->next_op].kind != REQ_READ)
            bench_samples_add(&b->lag, (double)(now - sched) / 1000);
        dispatch(b, &b->ops[b->next_op], sched);
        b->next_op++;
    }
    if (!b->window_over && now >= b->window_end_ns) {
        b->window_over = true;
        b->notes_at_window_end = b->notes;
    }
    int64_t wait_us = 10000;
    while (b->next_op < b->n_ops && b->ops[b->next_op].kind == REQ_READ)
        b->next_op++; /* reads are not ours; skip them so the timer aims at the next op */
    if (b->next_op < b->n_ops)
        wait_us = (b->start_ns + b->ops[b->next_op].at_ns - now) / 1000;
    else if (!b->window_over)
        wait_us = (b->window_end_ns - now) / 1000;
    lws_sul_schedule(b->ctx, 0, &b->sul, tick, MAX(wait_us, 1));
}

static bool
steady_done(struct bench_ws *b)
{
    return b->window_over && b->next_op >= b->n_ops && b->steady_outstanding == 0;
}

int64_t
bench_ws_steady(struct bench_ws *b, const struct bench_op *ops, size_t n_ops, int64_t start_ns,
                int64_t window_end_ns, int64_t stop_ns)
{
    b->ops = ops;
    b->n_ops = n_ops;
    b->next_op = 0;
    b->start_ns = start_ns;
    b->window_end_ns = window_end_ns;
    b->notes_at_start = b->notes;
    g_hash_table_remove_all(b->note_methods);
    b->note_bytes = 0;
    for (int k = REQ_READ; k < REQ_N; k++)
        if (bench_req_steady((enum bench_req)k))
            bench_samples_clear(&b->samples[k]);
    lws_sul_schedule(b->ctx, 0, &b->sul, tick, MAX((start_ns - bench_now_ns()) / 1000, (int64_t)1));
    run_until(b, steady_done, stop_ns);
    if (!b->window_over)
        b->notes_at_window_end = b->notes;
    /* Unanswered requests count as latency up to now (a lower bound). */
    int64_t end = bench_now_ns();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, b->pending);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct pending *p = value;
        if (!bench_req_steady(p->kind))
            continue;
        bench_samples_add(&b->samples[p->kind], (double)(end - p->sched_ns) / 1000);
        b->samples[p->kind].unanswered++;
        g_hash_table_iter_remove(&it);
    }
    double elapsed = (double)(end - start_ns) / 1e9;
    printf("  notifications: %" G_GUINT64_FORMAT " during the %.0f s window, %" G_GUINT64_FORMAT
           " from the window's start until its last reply (%.1f s)\n",
           b->notes_at_window_end - b->notes_at_start, (double)(window_end_ns - start_ns) / 1e9,
           b->notes - b->notes_at_start, elapsed);
    return end;
}

struct bench_samples *
bench_ws_samples(struct bench_ws *b, enum bench_req k)
{
    return &b->samples[k];
}

static gint
by_count(gconstpointer x, gconstpointer y, gpointer data)
{
    GHashTable *t = data;
    uint64_t a = *(uint64_t *)g_hash_table_lookup(t, x), c = *(uint64_t *)g_hash_table_lookup(t, y);
    return (a < c) - (a > c);
}

void
bench_ws_print_notifications(struct bench_ws *b, double window_s)
{
    uint64_t n = b->notes - b->notes_at_start;
    printf("  fan-out: %.0f notifications/s across all sockets (%.1f MB/s of JSON), by method:\n",
           (double)n / window_s, (double)b->note_bytes / window_s / 1e6);
    GList *keys =
        g_list_sort_with_data(g_hash_table_get_keys(b->note_methods), by_count, b->note_methods);
    for (GList *l = keys; l; l = l->next)
        printf("    %-24s %10" G_GUINT64_FORMAT "\n", (const char *)l->data,
               *(uint64_t *)g_hash_table_lookup(b->note_methods, l->data));
    g_list_free(keys);
    if (b->unmatched)
        printf("  replies matching no request: %" G_GUINT64_FORMAT "\n", b->unmatched);
}

void
bench_ws_send_lag(struct bench_ws *b, double *max_us, double *p99_us)
{
    *p99_us = bench_samples_quantile(&b->lag, 0.99);
    *max_us = bench_samples_quantile(&b->lag, 1.0);
}

void
bench_ws_print_closes(struct bench_ws *b)
{
    if (g_hash_table_size(b->close_codes) == 0) {
        printf("  sockets closed: none\n");
        return;
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, b->close_codes);
    printf("  sockets closed (%d of them after joining):", b->closed_after_join);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        int code = GPOINTER_TO_INT(k);
        if (code >= 100000)
            printf(" [close frame %d] x%d", code - 100000, GPOINTER_TO_INT(v));
        else
            printf(" [%s] x%d", code == -2 ? "connect error" : "closed", GPOINTER_TO_INT(v));
    }
    printf("\n");
}
