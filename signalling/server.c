/* server.c - the libwebsockets context: sockets, the post queue, shutdown.
 *
 * One protocol handles both HTTP and WebSocket traffic. Only upgrades on
 * /ws are accepted (lws would otherwise bind an upgrade on any path to the
 * default protocol). WebSocket messages arrive in fragments and lws does not
 * cap them: they are assembled up to max_message_bytes and the rest is
 * drained, then answered with 4013.
 *
 * Outbound order: a socket's messages leave in the order they were sent.
 * While a request is handled they are held (vej__conn_hold) so that its
 * result goes first; a message to a participant of a hearing whose media
 * policy the relay has not yet enforced waits in `deferred` for the
 * generation current when it was sent, and everything after it waits
 * behind it (enforce before announce, docs/architecture.md). A close
 * asked for meanwhile happens after both queues are sent.
 */
#include "signalling/signalling-priv.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "recording/audit-heads.h"

#include <errno.h>
#include <ev.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gateway/relay.h"
#include "recording/finisher.h"
#include "recording/recorder.h"
#include "gateway/sdp/sdp.h"
#include "signalling/token.h"

struct vej_post {
    vej_post_fn fn;
    void *data;
};

/* Per-wsi storage kept by lws: ids only, the objects live in hash tables. */
struct vej_pss {
    uint64_t conn_id;
    uint64_t req_id;
};

static uint64_t
next_id(struct vej_signalling *s)
{
    return ++s->next_id;
}

void
vej__post(struct vej_signalling *s, vej_post_fn fn, void *data)
{
    struct vej_post *p = g_new0(struct vej_post, 1);
    p->fn = fn;
    p->data = data;
    g_mutex_lock(&s->post_lock);
    g_queue_push_tail(&s->posts, p);
    g_mutex_unlock(&s->post_lock);
    if (s->lws)
        lws_cancel_service(s->lws);
}

static void begin_shutdown(struct vej_signalling *s);

static void
drain_posts(struct vej_signalling *s)
{
    for (;;) {
        g_mutex_lock(&s->post_lock);
        struct vej_post *p = g_queue_pop_head(&s->posts);
        g_mutex_unlock(&s->post_lock);
        if (!p)
            break;
        p->fn(s, p->data);
        g_free(p);
    }
    if (s->stop_requested && !s->stopping)
        begin_shutdown(s);
}

/* ---- utilities ---- */

char *
vej__correlation_id(void)
{
    uint8_t raw[8];
    if (RAND_bytes(raw, sizeof raw) != 1)
        memset(raw, 0, sizeof raw);
    return g_strdup_printf("cid_%02x%02x%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3],
                           raw[4], raw[5], raw[6], raw[7]);
}

char *
vej__rfc3339(int64_t unix_s)
{
    /* gmtime_r and a fixed format: GDateTime's formatter cost more than
     * the rest of building a hearing's JSON. */
    time_t t = (time_t)unix_s;
    struct tm tm;
    if ((int64_t)t != unix_s || !gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 ||
        tm.tm_year + 1900 > 9999)
        return g_strdup("1970-01-01T00:00:00Z");
    return g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool
vej__parse_rfc3339(const char *text, int64_t *out)
{
    if (!text || strlen(text) < 20 || strlen(text) > 40)
        return false;
    /* Require a full date and time with an explicit offset. */
    if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't'))
        return false;
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, NULL);
    if (!dt)
        return false;
    *out = g_date_time_to_unix(dt);
    return true;
}

void
vej__audit(struct vej_signalling *s, const char *actor, const char *action, const char *target,
           json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    vej_audit_append(s->audit, actor ? actor : "system", action, target ? target : "",
                     text ? text : "{}");
    free(text);
    if (detail)
        json_decref(detail);
}

struct audit_then {
    struct vej_signalling *s;
    vej_audit_then_fn fn;
    void *data;
    bool ok;
};

static void
audit_then_run(struct vej_signalling *s, void *data)
{
    struct audit_then *a = data;
    if (!a->ok) {
        s->metrics.audit_write_failures_total++;
        g_warning("audit: an entry was not written");
    }
    a->fn(s, a->ok, a->data);
    g_free(a);
}

/* On the audit writer's thread. */
static void
audit_then_done(bool ok, void *data)
{
    struct audit_then *a = data;
    a->ok = ok;
    vej__post(a->s, audit_then_run, a);
}

void
vej__audit_then(struct vej_signalling *s, const char *actor, const char *action, const char *target,
                json_t *detail, vej_audit_then_fn fn, void *data)
{
    struct audit_then *a = g_new0(struct audit_then, 1);
    a->s = s;
    a->fn = fn;
    a->data = data;
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    vej_audit_append_then(s->audit, actor ? actor : "system", action, target ? target : "",
                          text ? text : "{}", audit_then_done, a);
    free(text);
    if (detail)
        json_decref(detail);
}

struct audit_wait {
    GMutex lock;
    GCond cond;
    bool finished;
    bool ok;
};

/* On the audit writer's thread. */
static void
audit_wait_done(bool ok, void *data)
{
    struct audit_wait *w = data;
    g_mutex_lock(&w->lock);
    w->ok = ok;
    w->finished = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
}

bool
vej__audit_sync(struct vej_signalling *s, const char *actor, const char *action, const char *target,
                json_t *detail)
{
    /* Waits for the group commit that holds this entry (one fsync), and
     * for that entry only. Only rare REST changes of exposure come here;
     * the WebSocket methods use vej__audit_then and do not block. */
    struct audit_wait w = {0};
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    vej_audit_append_then(s->audit, actor ? actor : "system", action, target ? target : "",
                          text ? text : "{}", audit_wait_done, &w);
    free(text);
    if (detail)
        json_decref(detail);
    g_mutex_lock(&w.lock);
    while (!w.finished)
        g_cond_wait(&w.cond, &w.lock);
    g_mutex_unlock(&w.lock);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    if (w.ok)
        return true;
    s->metrics.audit_write_failures_total++;
    g_warning("audit: the entry for %s on %s was not written", action, target ? target : "-");
    return false;
}

/* ---- WebSocket connections ---- */

/* A message waiting for a hearing's policy generation. */
struct vej_gated {
    json_t *msg;
    struct vej_live_hearing *h; /* NULL: waits only for those before it */
    uint64_t generation;
};

void
vej__conn_share(struct vej_signalling *s, json_t *msg)
{
    struct vej_shared_text *t = &s->shared[s->shared_next++ % VEJ_SHARED_TEXTS];
    if (t->msg)
        json_decref(t->msg);
    free(t->text);
    t->text = vej_rpc_dump(msg, &t->len);
    t->msg = t->text ? json_incref(msg) : NULL;
}

static void
shared_clear(struct vej_signalling *s)
{
    for (unsigned i = 0; i < VEJ_SHARED_TEXTS; i++) {
        if (s->shared[i].msg)
            json_decref(s->shared[i].msg);
        free(s->shared[i].text);
        s->shared[i] = (struct vej_shared_text){0};
    }
}

static const struct vej_shared_text *
shared_find(const struct vej_signalling *s, const json_t *msg)
{
    for (unsigned i = 0; i < VEJ_SHARED_TEXTS; i++)
        if (s->shared[i].msg == msg)
            return &s->shared[i];
    return NULL;
}

static void
send_now(struct vej_conn *c, json_t *msg)
{
    if (c->closing)
        return;
    if (g_queue_get_length(&c->outq) >= c->s->config->ws_queue_max) {
        /* A client that does not read its messages cannot be kept in sync:
         * close it rather than grow without bound. */
        c->s->metrics.ws_queue_overflow_total++;
        vej__conn_close(c, 1008, "outbound queue full");
        return;
    }
    const struct vej_shared_text *shared = shared_find(c->s, msg);
    size_t len = 0;
    char *text = shared ? NULL : vej_rpc_dump(msg, &len);
    if (shared)
        len = shared->len;
    else if (!text)
        return;
    uint8_t *buf = g_malloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, shared ? shared->text : text, len);
    free(text);
    g_queue_push_tail(&c->outq, g_bytes_new_take(buf, LWS_PRE + len));
    lws_callback_on_writable(c->wsi);
}

static void
gated_free(struct vej_gated *g)
{
    json_decref(g->msg);
    g_free(g);
}

static void
close_now(struct vej_conn *c)
{
    c->close_pending = false;
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

/* Sends the deferred messages whose generation is enforced, in order, up
 * to the first that still waits; the socket is then listed with that
 * one's hearing. A close asked for meanwhile happens once all are sent. */
static void
flush_deferred(struct vej_conn *c)
{
    struct vej_gated *g;
    while ((g = g_queue_peek_head(&c->deferred)) &&
           (!g->h || g->h->policy_applied >= g->generation)) {
        g_queue_pop_head(&c->deferred);
        send_now(c, g->msg);
        gated_free(g);
    }
    if (g) {
        if (c->waiting_on != g->h) {
            g_array_append_val(g->h->policy_waiters, c->id);
            c->waiting_on = g->h;
        }
        return;
    }
    if (c->close_pending && !c->holding)
        close_now(c);
}

void
vej__conn_send_gated(struct vej_conn *c, json_t *msg, struct vej_live_hearing *h)
{
    if (!c || c->closing)
        return;
    if (c->holding) {
        g_queue_push_tail(&c->held, json_incref(msg));
        return;
    }
    bool waits = h && h->policy_applied < h->policy_posted;
    if (!waits && g_queue_is_empty(&c->deferred)) {
        send_now(c, msg);
        return;
    }
    if (g_queue_get_length(&c->deferred) >= c->s->config->ws_queue_max) {
        c->s->metrics.ws_queue_overflow_total++;
        vej__conn_close(c, 1008, "outbound queue full");
        return;
    }
    struct vej_gated *g = g_new(struct vej_gated, 1);
    g->msg = json_incref(msg);
    g->h = waits ? h : NULL;
    g->generation = waits ? h->policy_posted : 0;
    g_queue_push_tail(&c->deferred, g);
    flush_deferred(c);
}

void
vej__conn_send(struct vej_conn *c, json_t *msg)
{
    struct vej_session *sess = c ? c->session : NULL;
    vej__conn_send_gated(c, msg, sess && sess->participant ? sess->participant->hearing : NULL);
}

/* A REST answer waiting for a hearing's policy generation. */
struct vej_gated_http {
    uint64_t req_id;
    uint64_t generation;
    int status;
    json_t *body;
};

void
vej__http_respond_json_gated(struct vej_http_req *r, struct vej_live_hearing *h, int status,
                             json_t *body)
{
    if (!h || h->policy_applied >= h->policy_posted) {
        vej__http_respond_json(r, status, body);
        return;
    }
    struct vej_gated_http *g = g_new(struct vej_gated_http, 1);
    g->req_id = vej__http_req_id(r);
    g->generation = h->policy_posted;
    g->status = status;
    g->body = body;
    g_queue_push_tail(&h->policy_http, g);
}

void
vej__policy_gate_clear(struct vej_live_hearing *h)
{
    struct vej_gated_http *g;
    while ((g = g_queue_pop_head(&h->policy_http))) {
        json_decref(g->body);
        g_free(g);
    }
    g_array_unref(h->policy_waiters);
}

static void
flush_http(struct vej_signalling *s, struct vej_live_hearing *h)
{
    struct vej_gated_http *g;
    /* Generations grow along the queue: the first that waits ends it. */
    while ((g = g_queue_peek_head(&h->policy_http)) && g->generation <= h->policy_applied) {
        g_queue_pop_head(&h->policy_http);
        struct vej_http_req *r = vej__http_req_lookup(s, g->req_id);
        if (r)
            vej__http_respond_json(r, g->status, g->body);
        else
            json_decref(g->body);
        g_free(g);
    }
}

void
vej__conn_policy_applied(struct vej_signalling *s, struct vej_live_hearing *h)
{
    flush_http(s, h);
    GArray *waiters = h->policy_waiters;
    h->policy_waiters = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = 0; i < waiters->len; i++) {
        uint64_t id = g_array_index(waiters, uint64_t, i);
        struct vej_conn *c = g_hash_table_lookup(s->conns, &id);
        if (!c || c->waiting_on != h)
            continue;
        c->waiting_on = NULL;
        if (!c->holding) /* (else its release flushes) */
            flush_deferred(c);
    }
    g_array_unref(waiters);
}

void
vej__conn_close(struct vej_conn *c, int code, const char *reason)
{
    if (!c || c->closing || c->close_pending)
        return;
    c->close_code = code;
    g_strlcpy(c->close_reason, reason ? reason : "", sizeof c->close_reason);
    if (c->holding || !g_queue_is_empty(&c->deferred)) {
        c->close_pending = true;
        return;
    }
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

void
vej__conn_hold(struct vej_conn *c)
{
    c->holding = true;
}

void
vej__conn_release(struct vej_conn *c, json_t *first)
{
    c->holding = false;
    if (first)
        vej__conn_send(c, first);
    json_t *m;
    while ((m = g_queue_pop_head(&c->held))) {
        vej__conn_send(c, m);
        json_decref(m);
    }
    flush_deferred(c); /* and a close asked for meanwhile, once nothing waits */
}

static struct vej_conn *
conn_new(struct vej_signalling *s, struct lws *wsi)
{
    struct vej_conn *c = g_new0(struct vej_conn, 1);
    c->id = next_id(s);
    c->wsi = wsi;
    c->s = s;
    c->rx = g_byte_array_new();
    c->bucket = s->config->rpc_burst;
    c->bucket_at_us = g_get_monotonic_time();
    g_queue_init(&c->outq);
    g_queue_init(&c->held);
    g_queue_init(&c->deferred);
    lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    uint64_t *key = g_new(uint64_t, 1);
    *key = c->id;
    g_hash_table_insert(s->conns, key, c);
    return c;
}

static void
conn_free(struct vej_conn *c)
{
    g_byte_array_unref(c->rx);
    g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
    g_queue_clear_full(&c->held, (GDestroyNotify)json_decref);
    g_queue_clear_full(&c->deferred, (GDestroyNotify)gated_free);
    g_free(c);
}

static struct vej_conn *
conn_lookup(struct vej_signalling *s, uint64_t id)
{
    return id ? g_hash_table_lookup(s->conns, &id) : NULL;
}

static void
conn_reply_error(struct vej_conn *c, int code, const char *message)
{
    json_t *err = vej_rpc_error(NULL, code, message, NULL, NULL);
    vej__conn_send(c, err);
    json_decref(err);
}

static int
conn_on_receive(struct vej_conn *c, const void *in, size_t len)
{
    struct lws *wsi = c->wsi;
    /* Before session.hello a message has no business being large. */
    size_t max = c->session ? c->s->config->max_message_bytes
                            : MIN(c->s->config->max_message_bytes,
                                  c->s->config->max_unauthenticated_message_bytes);
    if (lws_is_first_fragment(wsi)) {
        g_byte_array_set_size(c->rx, 0);
        c->rx_overflow = false;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!c->rx_overflow) {
        if (c->rx->len + len > max) {
            c->rx_overflow = true;
            g_byte_array_set_size(c->rx, 0);
        } else {
            g_byte_array_append(c->rx, in, (guint)len);
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    if (c->rx_overflow) {
        c->s->metrics.rpc_too_large_total++;
        conn_reply_error(c, VEJ_RPC_TOO_LARGE, "message too large");
    } else if (c->rx_binary) {
        conn_reply_error(c, VEJ_RPC_INVALID_REQUEST, "binary messages are not accepted");
    } else {
        vej__rpc_on_message(c, (const char *)c->rx->data, c->rx->len);
    }
    /* Do not keep a large buffer for an idle socket. */
    if (c->rx->len > 65536) {
        g_byte_array_unref(c->rx);
        c->rx = g_byte_array_new();
    } else {
        g_byte_array_set_size(c->rx, 0);
    }
    return 0;
}

/* Writes queued messages while the socket takes them (a busy socket, such
 * as a clerk's that sees every change, must not get one message per turn
 * of the loop). */
static int
conn_on_writeable(struct vej_conn *c)
{
    GBytes *b = NULL;
    int written = 0;
    while (written < 64 && (b = g_queue_pop_head(&c->outq))) {
        gsize size = 0;
        uint8_t *data = (uint8_t *)g_bytes_get_data(b, &size);
        size_t len = size - LWS_PRE;
        int n = lws_write(c->wsi, data + LWS_PRE, len, LWS_WRITE_TEXT);
        g_bytes_unref(b);
        if (n < (int)len)
            return -1;
        written++;
        if (lws_send_pipe_choked(c->wsi))
            break;
    }
    if (written) {
        if (!g_queue_is_empty(&c->outq) || c->closing)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->closing) {
        lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    return 0;
}

/* Only upgrades on /ws, and none while shutting down or over the cap. */
/* Sockets that have no session yet; *oldest is the one opened first. */
static guint
unauthenticated_conns(struct vej_signalling *s, struct vej_conn **oldest)
{
    guint n = 0;
    GHashTableIter it;
    gpointer value;
    *oldest = NULL;
    g_hash_table_iter_init(&it, s->conns);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_conn *c = value;
        if (c->session || c->closing || c->close_pending)
            continue;
        n++;
        if (!*oldest || c->id < (*oldest)->id)
            *oldest = c;
    }
    return n;
}

/* Only upgrades on /ws, and none while shutting down or over the cap (the
 * address's share was checked when its connection was accepted). Sockets
 * without a session get at most
 * max_connections - reserved_authenticated_connections slots: past that, a
 * newcomer displaces the oldest of them (closed with 1013), so a flood of
 * idle sockets can neither fill the server nor keep people from logging
 * in. */
static int
filter_upgrade(struct vej_signalling *s, struct lws *wsi)
{
    char uri[64];
    int reserved =
        MIN(s->config->reserved_authenticated_connections, s->config->max_connections - 1);
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws") != 0 ||
        s->stopping || g_hash_table_size(s->conns) >= (guint)s->config->max_connections) {
        s->metrics.ws_refused_total++;
        return 1;
    }
    struct vej_conn *oldest = NULL;
    if (unauthenticated_conns(s, &oldest) >= (guint)(s->config->max_connections - reserved) &&
        oldest) {
        s->metrics.unauthenticated_limit_total++;
        vej__conn_close(oldest, 1013, "try again later");
    }
    return 0;
}

/* ---- the lws callback ---- */

static int
callback_ws(struct vej_signalling *s, struct lws *wsi, enum lws_callback_reasons reason,
            struct vej_pss *pss, void *in, size_t len)
{
    struct vej_conn *c = pss ? conn_lookup(s, pss->conn_id) : NULL;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        c = conn_new(s, wsi);
        pss->conn_id = c->id;
        pss->req_id = 0;
        s->metrics.ws_connections_total++;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, s->config->unauthenticated_timeout_s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return c ? conn_on_receive(c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? conn_on_writeable(c) : -1;
    case LWS_CALLBACK_CLOSED:
        if (c) {
            vej__rpc_on_close(c);
            g_hash_table_remove(s->conns, &c->id);
            conn_free(c);
            pss->conn_id = 0;
        }
        return 0;
    default:
        return 0;
    }
}

static int
callback_http(struct vej_signalling *s, struct lws *wsi, enum lws_callback_reasons reason,
              struct vej_pss *pss, void *in, size_t len)
{
    struct vej_http_req *r = pss ? vej__http_req_lookup(s, pss->req_id) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (r)
            vej__http_req_free(r);
        r = vej__http_req_new(s, wsi);
        pss->req_id = vej__http_req_id(r);
        pss->conn_id = 0;
        return vej__http_on_request(r, in);
    case LWS_CALLBACK_HTTP_BODY:
        return r ? vej__http_on_body(r, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return r ? vej__http_on_body_done(r) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return r ? vej__http_on_writeable(r) : 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        if (r) {
            vej__http_req_free(r);
            pss->req_id = 0;
        }
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r) {
            vej__http_req_free(r);
            pss->req_id = 0;
        }
        return 0;
    default:
        return 0;
    }
}

/* Every accepted TCP connection (HTTP, WebSocket, or one still in its TLS
 * handshake) counts against its client address: over the address's share
 * it is hung up at once, before any TLS work. */
static int
filter_network(struct vej_signalling *s, void *user)
{
    const struct lws_filter_network_conn_args *a = user;
    char peer[64] = "";
    if (!a)
        return 0;
    const void *addr = a->cli_addr.ss_family == AF_INET6
                           ? (const void *)&((const struct sockaddr_in6 *)&a->cli_addr)->sin6_addr
                           : (const void *)&((const struct sockaddr_in *)&a->cli_addr)->sin_addr;
    if (!inet_ntop(a->cli_addr.ss_family, addr, peer, sizeof peer))
        return 0;
    if (g_hash_table_size(s->net_conns) >=
        (guint)s->config->max_connections + VEJ_EXTRA_CONNECTIONS) {
        s->metrics.connection_limit_total++;
        return 1;
    }
    return s->stopping || vej__address_full(s, peer) ? 1 : 0;
}

static void
count_connection(struct vej_signalling *s, struct lws *wsi)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    vej__address_take(s, peer, true);
    g_hash_table_insert(s->net_conns, wsi, g_strdup(peer));
}

static void
uncount_connection(struct vej_signalling *s, struct lws *wsi)
{
    const char *peer = g_hash_table_lookup(s->net_conns, wsi);
    if (!peer)
        return;
    vej__address_release(s, peer);
    g_hash_table_remove(s->net_conns, wsi);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct vej_signalling *s = ctx ? lws_context_user(ctx) : NULL;
    struct vej_pss *pss = user;
    if (!s)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_posts(s);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter_upgrade(s, wsi);
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return filter_network(s, user);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        count_connection(s, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        uncount_connection(s, wsi);
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return callback_ws(s, wsi, reason, pss, in, len);
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
    case LWS_CALLBACK_CLOSED_HTTP:
        return callback_http(s, wsi, reason, pss, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"vej-jsonrpc", callback, sizeof(struct vej_pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Idle WebSockets are pinged after 30 s and dropped after 60 s silent. */
static const lws_retry_bo_t idle_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 60,
};

/* ---- shutdown ---- */

static void
stop_now(lws_sorted_usec_list_t *sul)
{
    struct vej_signalling *s = lws_container_of(sul, struct vej_signalling, sul_stop);
    s->stopped = true;
    lws_cancel_service(s->lws);
}

static void
begin_shutdown(struct vej_signalling *s)
{
    s->stopping = true;
    g_message("shutting down: closing %u sockets", g_hash_table_size(s->conns));
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, s->conns);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_conn *c = value;
        json_t *params = json_pack("{s:s}", "reason", "shutdown");
        if (c->session && c->session->hearing_id)
            json_object_set_new(params, "hearing_id", json_string(c->session->hearing_id));
        json_t *n = vej_rpc_notification("session.closing", params);
        vej__conn_send(c, n);
        json_decref(n);
        vej__conn_close(c, 1001, "server shutting down");
    }
    vej__audit(s, "system", "server.stop", "", NULL);
    /* Sockets get a moment to flush session.closing; then we stop. */
    lws_sul_schedule(s->lws, 0, &s->sul_stop, stop_now,
                     g_hash_table_size(s->conns) ? 1500 * LWS_US_PER_MS : 1);
}

void
vej_signalling_request_stop(struct vej_signalling *s)
{
    s->stop_requested = 1;
    if (s->lws)
        lws_cancel_service(s->lws);
}

/* ---- audit head ---- */

static void
log_audit_head(lws_sorted_usec_list_t *sul)
{
    struct vej_signalling *s = lws_container_of(sul, struct vej_signalling, sul_audit_head);
    int64_t seq = 0;
    uint8_t hash[32];
    g_autoptr(GError) error = NULL;
    if (s->signer) {
        /* Signed and kept in DATA_DIR/audit-heads.log (recording/audit-heads.h);
         * only when the chain grew since the last signed head. */
        g_autofree char *heads = vej_audit_heads_path(s->config->data_dir);
        struct vej_signed_head h;
        if (vej_audit_heads_sign(s->db_path, heads, s->signer, FALSE, &h, &error)) {
            g_autofree char *hex = vej_hex(h.hash, 32);
            g_message("audit head (signed): seq %" G_GINT64_FORMAT " hash %s", h.seq, hex);
        } else {
            g_warning("audit head: %s", error->message);
        }
    } else if (vej_audit_head(s->db_path, &seq, hash, &error)) {
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", hash[i]);
        g_message("audit head: seq %" G_GINT64_FORMAT " hash %s", seq, hex);
    } else {
        g_warning("audit head: %s", error->message);
    }
    lws_sul_schedule(s->lws, 0, &s->sul_audit_head, log_audit_head,
                     (lws_usec_t)s->config->audit_head_interval_s * LWS_US_PER_SEC);
}

/* ---- retention ---- */

#define RETENTION_SWEEP_INTERVAL_S 3600

static void
retention_sweep(lws_sorted_usec_list_t *sul)
{
    struct vej_signalling *s = lws_container_of(sul, struct vej_signalling, sul_retention);
    vej__recordings_sweep(s);
    lws_sul_schedule(s->lws, 0, &s->sul_retention, retention_sweep,
                     (lws_usec_t)RETENTION_SWEEP_INTERVAL_S * LWS_US_PER_SEC);
}

/* ---- life cycle ---- */

static void hash_job_run(gpointer job, gpointer user);

/* "opus,vp8,h264" (checked by the config loader) as VEJ_SDP_CODEC_BIT()s. */
static uint32_t
codec_bits(const char *names)
{
    static const enum vej_sdp_codec known[] = {VEJ_SDP_CODEC_OPUS, VEJ_SDP_CODEC_VP8,
                                               VEJ_SDP_CODEC_H264};
    g_auto(GStrv) list = g_strsplit(names ? names : "", ",", -1);
    uint32_t bits = 0;
    for (guint i = 0; list[i]; i++) {
        for (size_t j = 0; j < G_N_ELEMENTS(known); j++) {
            if (g_ascii_strcasecmp(g_strstrip(list[i]), vej_sdp_codec_name(known[j])) == 0)
                bits |= VEJ_SDP_CODEC_BIT(known[j]);
        }
    }
    return bits;
}

static gboolean
make_relay(struct vej_signalling *s, GError **error)
{
    const struct vej_config *c = s->config;
    /* The public addresses were checked when the configuration was read. */
    struct vej_relay_config rc = {
        .workers = (unsigned)c->media_workers,
        .bind_addresses = c->media_addresses,
        .port_min = (unsigned)c->media_port_min,
        .port_max = (unsigned)c->media_port_max,
        .ipv6 = c->media_ipv6,
        .ice_tcp = c->media_ice_tcp,
        .ice_lite = c->media_ice_lite,
        .public_ipv4 = c->media_public_ipv4,
        .public_ipv6 = c->media_public_ipv6,
        .hide_private = !c->media_advertise_private,
        .max_remote_candidates = (unsigned)c->media_max_remote_candidates,
        .max_media_per_offer = (unsigned)c->media_max_media_per_offer,
        .max_media_per_subscribe = (unsigned)c->media_max_media_per_subscribe,
        .max_sdp_bytes = c->max_message_bytes,
        .cert_file = c->media_dtls_cert && *c->media_dtls_cert ? c->media_dtls_cert : NULL,
        .key_file = c->media_dtls_key && *c->media_dtls_key ? c->media_dtls_key : NULL,
        .allowed_codecs = codec_bits(c->media_codecs),
        .max_publish_audio_tracks = (unsigned)c->media_max_publish_audio_tracks,
        .max_publish_video_tracks = (unsigned)c->media_max_publish_video_tracks,
        .max_publish_audio_kbps = (unsigned)c->media_max_publish_audio_kbps,
        .max_publish_video_kbps = (unsigned)c->media_max_publish_video_kbps,
        .max_publish_audio_pps = (unsigned)c->media_max_publish_audio_pps,
        .max_publish_video_pps = (unsigned)c->media_max_publish_video_pps,
    };
    if (!vej__media_load_turn_secret(s, error))
        return FALSE;
    struct vej_relay_callbacks cb;
    vej__media_callbacks(s, &cb);
    s->relay = vej_relay_new(&rc, &cb, error);
    return s->relay != NULL;
}

/* libwebsockets' own messages go to our log writer; warnings and errors only. */
static void
lws_log_to_glib(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        g_warning("lws: %.*s", (int)n, line);
    else
        g_info("lws: %.*s", (int)n, line);
}

/* lws finds a socket's connection in a table as long as the process's
 * open-file limit: the soft limit is raised so that every connection the
 * server accepts (filter_network) fits, with room for media sockets and
 * files. (A lower fd_limit_per_thread would have lws search the table
 * linearly for every ready socket; a limit over ten million would make it
 * fall back to 2,560.) */
static void
fit_fd_limit(const struct vej_config *config)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)config->max_connections + VEJ_EXTRA_CONNECTIONS + 4096;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t to = rl.rlim_cur;
    if (to < want)
        to = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
    if (to > 10000000)
        to = MAX(want, (rlim_t)1048576);
    if (to != rl.rlim_cur) {
        rl.rlim_cur = to;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want)
        g_warning("server: the open-file limit (%llu) is below max_connections + 4160 (%llu): "
                  "raise it (systemd LimitNOFILE=) or lower [server] max_connections",
                  (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static void
lws_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vej_signalling *s = w->data;
    if (s->lws)
        lws_cancel_service(s->lws);
}

static gboolean
make_context(struct vej_signalling *s, GError **error)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_glib);
    fit_fd_limit(s->config);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = s->config->listen_port; /* 0: an ephemeral port */
    info.iface = s->config->listen_host;
    info.protocols = protocols;
    info.user = s;
    /* lws's own loop poll()s every socket at every wakeup, which with a
     * thousand open WebSockets cost a third of the thread; libev waits
     * with epoll. The loop is ours (foreign to lws) so that run() turns it
     * once at a time. */
    s->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!s->loop) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot create the event loop");
        return FALSE;
    }
    /* libwebsockets 4.1's libev glue re-arms its timer with ev_timer_set()
     * while it is active, which libev ignores: a timer scheduled sooner than
     * the one pending would wait for it. lws runs due timers after every
     * event it handles, so a tick of ours (waking lws through its event
     * pipe) bounds how late one can be. */
    ev_timer_init(&s->lws_tick, lws_tick, VEJ_LWS_TICK_S, VEJ_LWS_TICK_S);
    s->lws_tick.data = s;
    ev_timer_start(s->loop, &s->lws_tick);
    void *loops[1] = {s->loop};
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBEV;
    info.alpn = "http/1.1";
    info.retry_and_idle_policy = &idle_policy;
    info.timeout_secs = 20;
    info.max_http_header_data = 8192;
    info.pt_serv_buf_size = 32768;
    info.ssl_cert_filepath = s->config->tls_cert;
    info.ssl_private_key_filepath = s->config->tls_key;
    info.vhost_name = "vej";
    info.ssl_cipher_list = "ECDHE+AESGCM:ECDHE+CHACHA20";
    info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;

    s->lws = lws_create_context(&info);
    if (!s->lws) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cannot create the server context (is libwebsockets' libev plugin, Debian "
                    "package libwebsockets-evlib-ev, installed?)");
        return FALSE;
    }
    s->vhost = lws_create_vhost(s->lws, &info);
    if (!s->vhost) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cannot listen on %s:%d (address in use, or bad TLS certificate %s)",
                    s->config->listen_host, s->config->listen_port, s->config->tls_cert);
        return FALSE;
    }
    s->port = lws_get_vhost_listen_port(s->vhost);
    return TRUE;
}

/* A certificate someone configured (issued by another party), not the
 * self-signed one the gateway makes: only then is HSTS sent, since a
 * browser that learnt HSTS would refuse the self-signed one for good. */
static bool
certificate_is_configured(const char *path)
{
    if (!path || !*path)
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!cert)
        return false;
    /* Subject = issuer and signed by its own key (key usage aside). */
    bool self_signed = X509_self_signed(cert, 1) == 1;
    X509_free(cert);
    return !self_signed;
}

static bool
derive_key(GBytes *secret, const char *info, GBytes **out)
{
    uint8_t key[32];
    gsize len = 0;
    const uint8_t *ikm = g_bytes_get_data(secret, &len);
    if (!vej_hkdf_sha256(NULL, 0, ikm, len, (const uint8_t *)info, strlen(info), key, sizeof key))
        return false;
    *out = g_bytes_new(key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    return true;
}

struct vej_signalling *
vej_signalling_new(const struct vej_config *config, vej_store *store, vej_audit_writer *audit,
                   const char *db_path, GBytes *token_key, GError **error)
{
    struct vej_signalling *s = g_new0(struct vej_signalling, 1);
    s->config = config;
    s->store = store;
    s->audit = audit;
    s->db_path = g_strdup(db_path);
    s->token_key = g_bytes_ref(token_key);
    s->started_at = g_get_real_time() / G_USEC_PER_SEC;
    /* Separate keys for separate uses (join tokens, pseudonyms), derived
     * from the one secret; the kid names this derivation, so links signed
     * otherwise (kid k1: the raw key, with names in them) stop working. */
    g_strlcpy(s->token_kid, VEJ_JOIN_KID, sizeof s->token_kid);
    if (!derive_key(token_key, VEJ_KEY_INFO_JOIN, &s->join_key) ||
        !derive_key(token_key, VEJ_KEY_INFO_PSEUDONYM, &s->pseudonym_key) ||
        !derive_key(token_key, VEJ_KEY_INFO_TOTP, &s->totp_key)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot derive the token keys");
        vej_signalling_free(s);
        return NULL;
    }
    if (!vej__totp_seal_all(s, error)) {
        g_prefix_error(error, "sealing second-factor secrets: ");
        vej_signalling_free(s);
        return NULL;
    }
    g_mutex_init(&s->post_lock);
    g_queue_init(&s->posts);
    s->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    s->http_reqs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    s->sessions = g_hash_table_new(g_str_hash, g_str_equal);
    s->resume_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->hearings = g_hash_table_new(g_str_hash, g_str_equal);
    s->per_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->net_conns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    vej__throttle_init(s);
    s->hsts = certificate_is_configured(config->tls_cert);
    s->web_root = g_strdup(config->web_root);

    s->hash_pool = g_thread_pool_new(hash_job_run, s, config->scrypt_threads, FALSE, error);
    if (!s->hash_pool || !make_relay(s, error) || !vej__recording_start(s, error) ||
        !make_context(s, error)) {
        vej_signalling_free(s);
        return NULL;
    }
    if (config->public_url && *config->public_url)
        g_strlcpy(s->public_url, config->public_url, sizeof s->public_url);
    else if (strchr(config->listen_host, ':'))
        snprintf(s->public_url, sizeof s->public_url, "https://[%s]:%d", config->listen_host,
                 s->port);
    else
        snprintf(s->public_url, sizeof s->public_url, "https://%s:%d", config->listen_host,
                 s->port);
    lws_sul_schedule(s->lws, 0, &s->sul_audit_head, log_audit_head,
                     (lws_usec_t)config->audit_head_interval_s * LWS_US_PER_SEC);
    lws_sul_schedule(s->lws, 0, &s->sul_retention, retention_sweep, LWS_US_PER_SEC);
    return s;
}

void
vej_signalling_set_signer(struct vej_signalling *s, struct vej_signer *signer)
{
    s->signer = signer;
    /* A restart may have left recordings unarchived or unsealed. */
    if (signer)
        vej__recording_requeue_unfinished(s);
}

int
vej_signalling_port(struct vej_signalling *s)
{
    return s->port;
}

void
vej_signalling_run(struct vej_signalling *s)
{
    while (!s->stopped) {
        ev_run(s->loop, EVRUN_ONCE);
        if (s->stop_requested && !s->stopping)
            begin_shutdown(s);
        if (s->stopping && g_hash_table_size(s->conns) == 0 && !s->stopped) {
            lws_sul_cancel(&s->sul_stop);
            s->stopped = true;
        }
    }
}

/* Password hashing jobs run on the pool and post their result back. */
struct vej_hash_job {
    void (*work)(void *data);                           /* on the pool */
    void (*done)(struct vej_signalling *s, void *data); /* on the server thread */
    void *data;
};

static void
hash_job_done(struct vej_signalling *s, void *data)
{
    struct vej_hash_job *job = data;
    job->done(s, job->data);
    g_free(job);
}

static void
hash_job_run(gpointer data, gpointer user)
{
    struct vej_hash_job *job = data;
    job->work(job->data);
    vej__post(user, hash_job_done, job);
}

bool
vej__hash_submit(struct vej_signalling *s, void (*work)(void *),
                 void (*done)(struct vej_signalling *, void *), void *data)
{
    /* Bounded: a flood of logins must not queue unbounded scrypt work
     * (memory, and minutes of delay for everyone's logins). */
    if (g_thread_pool_unprocessed(s->hash_pool) >= (guint)s->config->max_hash_queue) {
        s->metrics.hash_queue_full_total++;
        return false;
    }
    struct vej_hash_job *job = g_new0(struct vej_hash_job, 1);
    job->work = work;
    job->done = done;
    job->data = data;
    g_thread_pool_push(s->hash_pool, job, NULL);
    return true;
}

void
vej_signalling_free(struct vej_signalling *s)
{
    if (!s)
        return;
    if (s->hash_pool)
        g_thread_pool_free(s->hash_pool, FALSE, TRUE);
    GHashTableIter it;
    gpointer value;
    /* Sessions end while the context (and their timers) still exist. */
    GList *sessions = g_hash_table_get_values(s->sessions);
    for (GList *l = sessions; l; l = l->next)
        vej__session_end(l->data, NULL);
    g_list_free(sessions);
    /* Workers stop before the loop their reports post to. */
    g_clear_pointer(&s->relay, vej_relay_free);
    /* After the relay: no tap is called any more. */
    g_clear_pointer(&s->recorder, vej_recorder_free);
    /* A running archiver is killed; the next start queues it again. */
    g_clear_pointer(&s->finisher, vej_finisher_free);
    g_clear_pointer(&s->archive_progress, g_hash_table_destroy);
    if (s->lws) {
        lws_sul_cancel(&s->sul_audit_head);
        lws_sul_cancel(&s->sul_retention);
        lws_sul_cancel(&s->sul_stop);
        lws_context_destroy(s->lws);
        s->lws = NULL;
    }
    if (s->loop) {
        ev_timer_stop(s->loop, &s->lws_tick);
        ev_loop_destroy(s->loop);
        s->loop = NULL;
    }
    /* Results of finished hash jobs and audit commits may still be queued:
     * run them so their memory is released (their sockets are gone). */
    if (s->audit)
        vej_audit_writer_flush(s->audit);
    drain_posts(s);
    vej__media_free(s);
    shared_clear(s);
    g_hash_table_iter_init(&it, s->hearings);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_live_hearing *h = value;
        g_ptr_array_unref(h->participants);
        g_hash_table_unref(h->mutes);
        vej__policy_gate_clear(h);
        g_free(h->id);
        g_free(h->courtroom_id);
        g_free(h->case_reference);
        g_free(h->title);
        g_free(h->recording_state);
        g_free(h);
    }
    g_hash_table_unref(s->hearings);
    g_hash_table_unref(s->sessions);
    g_hash_table_unref(s->resume_index);
    g_hash_table_unref(s->conns);
    g_hash_table_unref(s->http_reqs);
    g_hash_table_unref(s->net_conns);
    g_hash_table_unref(s->per_address);
    vej__throttle_clear(s);
    g_mutex_clear(&s->post_lock);
    g_bytes_unref(s->token_key);
    if (s->join_key)
        g_bytes_unref(s->join_key);
    if (s->pseudonym_key)
        g_bytes_unref(s->pseudonym_key);
    if (s->totp_key)
        g_bytes_unref(s->totp_key);
    g_free(s->db_path);
    g_free(s->web_root);
    if (s->turn_secret) {
        OPENSSL_cleanse(s->turn_secret, strlen(s->turn_secret));
        g_free(s->turn_secret);
    }
    g_free(s);
}
