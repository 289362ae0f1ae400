/* http.c - HTTP transactions: routing, bodies, responses, static files.
 *
 * A request is answered either at once or after an asynchronous wait (a
 * password hash); the request object is looked up by id when the answer
 * comes back, so a socket that closed meanwhile is simply not answered.
 * Every response carries Referrer-Policy: no-referrer (join links carry the
 * token in the fragment, and no page may leak it onwards). Static files of
 * the web client also carry a strict Content-Security-Policy (scripts,
 * styles and connections from this origin only: no inline script or style,
 * nothing from other hosts, no framing) and are cached only with
 * revalidation (no-cache): the client has no build step, so its file names
 * carry no version.
 */
#include "signalling/signalling-priv.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "signalling/jsonout.h"
#include "signalling/rest.h"

enum http_method { M_GET, M_POST, M_PATCH, M_PUT, M_DELETE, M_OTHER };

struct vej_http_req {
    uint64_t id;
    struct vej_signalling *s;
    struct lws *wsi;
    enum http_method method;
    char path[512];
    GByteArray *body;
    bool body_too_large;
    size_t content_length;
    /* handed to its route once: a body-less POST is dispatched when its
     * headers arrive, and lws may still report its (empty) body complete
     * (HTTP/2) while an asynchronous route has not answered yet */
    bool dispatched;
    /* response */
    bool responded;
    bool headers_sent;
    int status;
    const char *content_type;
    GByteArray *resp; /* LWS_PRE bytes of room, then the body */
    size_t resp_off;
    bool close_after;
    char peer[64];
    /* streamed response (vej__http_respond_stream) */
    struct vej_http_stream stream;
    uint64_t stream_len;
    uint64_t stream_sent;
    char **stream_headers; /* name, value, ..., NULL */
};

/* Headers of every static file of the web client (docs/api.md, "Static
 * pages"), in two parts around connect-src's list: 'self' covers wss:// to
 * this origin in CSP 3, and wss://HOST (the request's Host, when it is a
 * plain host[:port]) is added for browsers that still read 'self' as
 * https only. */
static const char static_headers_a[] =
    "referrer-policy: no-referrer\r\n"
    "x-content-type-options: nosniff\r\n"
    "cache-control: no-cache\r\n"
    "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'";
static const char static_headers_b[] =
    "; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'\r\n"
    "cross-origin-opener-policy: same-origin\r\n"
    "cross-origin-resource-policy: same-origin\r\n"
    "x-frame-options: DENY\r\n"
    "permissions-policy: camera=(self), microphone=(self), fullscreen=(self), geolocation=()\r\n";

/* A Host header fit to be named in the CSP: letters, digits, '.', '-',
 * ':' and IPv6 brackets only (nothing that could end the directive or the
 * header). */
static bool
host_fits_csp(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || n > 262)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (!g_ascii_isalnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
            return false;
    }
    return true;
}

uint64_t
vej__http_req_id(struct vej_http_req *r)
{
    return r->id;
}

struct vej_signalling *
vej__http_server(struct vej_http_req *r)
{
    return r->s;
}

int
vej__http_header(struct vej_http_req *r, int token, char *out, size_t cap)
{
    if (lws_hdr_total_length(r->wsi, (enum lws_token_indexes)token) >= (int)cap)
        return -1;
    return lws_hdr_copy(r->wsi, out, (int)cap, (enum lws_token_indexes)token);
}

const char *
vej__http_peer(struct vej_http_req *r)
{
    return r->peer;
}

struct vej_http_req *
vej__http_req_lookup(struct vej_signalling *s, uint64_t id)
{
    return id ? g_hash_table_lookup(s->http_reqs, &id) : NULL;
}

struct vej_http_req *
vej__http_req_new(struct vej_signalling *s, struct lws *wsi)
{
    struct vej_http_req *r = g_new0(struct vej_http_req, 1);
    r->id = ++s->next_id;
    r->s = s;
    r->wsi = wsi;
    r->body = g_byte_array_new();
    lws_get_peer_simple(wsi, r->peer, sizeof r->peer);
    uint64_t *key = g_new(uint64_t, 1);
    *key = r->id;
    g_hash_table_insert(s->http_reqs, key, r);
    s->metrics.http_requests_total++;
    return r;
}

void
vej__http_req_free(struct vej_http_req *r)
{
    if (!r)
        return;
    g_hash_table_remove(r->s->http_reqs, &r->id);
    g_byte_array_unref(r->body);
    if (r->resp)
        g_byte_array_unref(r->resp);
    if (r->stream.free)
        r->stream.free(r->stream.ctx);
    g_strfreev(r->stream_headers);
    g_free(r);
}

static int finish_transaction(struct vej_http_req *r);

static void
respond_bytes(struct vej_http_req *r, int status, const char *ctype, const char *data, size_t len)
{
    if (r->responded)
        return;
    r->responded = true;
    r->status = status;
    r->content_type = ctype;
    r->resp = g_byte_array_sized_new((guint)(LWS_PRE + len));
    g_byte_array_set_size(r->resp, LWS_PRE);
    g_byte_array_append(r->resp, (const guint8 *)data, (guint)len);
    r->resp_off = LWS_PRE;
    if (status >= 400)
        r->s->metrics.http_errors_total++;
    lws_callback_on_writable(r->wsi);
}

void
vej__http_respond_stream(struct vej_http_req *r, int status, const char *ctype, uint64_t length,
                         const char *const *headers, struct vej_http_stream stream)
{
    if (r->responded) {
        if (stream.free)
            stream.free(stream.ctx);
        return;
    }
    r->responded = true;
    r->status = status;
    r->content_type = ctype;
    r->stream = stream;
    r->stream_len = length;
    r->stream_headers = g_strdupv((char **)headers);
    lws_callback_on_writable(r->wsi);
}

/* Headers, then one chunk of a streamed body per writeable turn. */
static int
stream_writeable(struct vej_http_req *r)
{
    struct lws *wsi = r->wsi;
    uint8_t buf[LWS_PRE + 16384];
    if (!r->headers_sent) {
        uint8_t *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof buf - 1];
        if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type,
                                        (lws_filepos_t)r->stream_len, &p, end) ||
            lws_add_http_header_by_name(wsi, (const uint8_t *)"referrer-policy:",
                                        (const uint8_t *)"no-referrer", 11, &p, end) ||
            lws_add_http_header_by_name(wsi, (const uint8_t *)"x-content-type-options:",
                                        (const uint8_t *)"nosniff", 7, &p, end) ||
            lws_add_http_header_by_name(
                wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-store", 8, &p, end))
            return -1;
        for (size_t i = 0; r->stream_headers && r->stream_headers[i] && r->stream_headers[i + 1];
             i += 2) {
            const char *v = r->stream_headers[i + 1];
            if (lws_add_http_header_by_name(wsi, (const uint8_t *)r->stream_headers[i],
                                            (const uint8_t *)v, (int)strlen(v), &p, end))
                return -1;
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        r->headers_sent = true;
        if (r->stream_len == 0) {
            if (lws_write(wsi, &buf[LWS_PRE], 0, LWS_WRITE_HTTP_FINAL) < 0)
                return -1;
            return finish_transaction(r);
        }
        lws_callback_on_writable(wsi);
        return 0;
    }
    uint64_t left = r->stream_len - r->stream_sent;
    size_t want = left > 16384 ? 16384 : (size_t)left;
    gssize n = r->stream.read(r->stream.ctx, &buf[LWS_PRE], want);
    if (n <= 0 || (size_t)n > want)
        return -1; /* the body can no longer match its Content-Length */
    bool final = r->stream_sent + (uint64_t)n == r->stream_len;
    if (lws_write(wsi, &buf[LWS_PRE], (size_t)n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return -1;
    r->stream_sent += (uint64_t)n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return finish_transaction(r);
}

void
vej__http_respond_json(struct vej_http_req *r, int status, json_t *body)
{
    size_t len;
    char *text = vej_json_dump_compact(body, &len);
    json_decref(body);
    if (!text) {
        respond_bytes(r, 500, "application/json", "{}", 2);
        return;
    }
    respond_bytes(r, status, "application/json", text, len);
    free(text);
}

void
vej__http_respond_error(struct vej_http_req *r, int code, const char *message)
{
    json_t *body = json_pack("{s:{s:i,s:s}}", "error", "code", code, "message", message);
    vej__http_respond_json(r, vej_rpc_http_status(code), body);
}

static void
respond_text(struct vej_http_req *r, int status, const char *ctype, const char *text)
{
    respond_bytes(r, status, ctype, text, strlen(text));
}

/* ---- static files ---- */

static const char *
mime_for(const char *path)
{
    static const struct {
        const char *ext, *mime;
    } table[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
        {".woff2", "font/woff2"},
        {".webp", "image/webp"},
        {".jpg", "image/jpeg"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < G_N_ELEMENTS(table); i++)
        if (strcmp(dot, table[i].ext) == 0)
            return table[i].mime;
    return "application/octet-stream";
}

/* Serves a file below web_root; anything that resolves outside it is 404. */
static int
serve_static(struct vej_http_req *r)
{
    struct vej_signalling *s = r->s;
    const char *rel = r->path;
    if (strcmp(rel, "/") == 0)
        rel = "/index.html";
    else if (strcmp(rel, "/join") == 0)
        rel = "/join.html";
    if (strstr(rel, "..") || strchr(rel, '\\') || !s->web_root || !*s->web_root) {
        vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
        return 0;
    }
    g_autofree char *joined = g_build_filename(s->web_root, rel, NULL);
    char real[PATH_MAX], root[PATH_MAX];
    if (!realpath(joined, real) || !realpath(s->web_root, root) ||
        strncmp(real, root, strlen(root)) != 0 || real[strlen(root)] != '/' ||
        !g_file_test(real, G_FILE_TEST_IS_REGULAR)) {
        vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
        return 0;
    }
    char host[264];
    bool named = vej__http_header(r, WSI_TOKEN_HOST, host, sizeof host) > 0 && host_fits_csp(host);
    g_autofree char *headers = g_strconcat(static_headers_a, named ? " wss://" : "",
                                           named ? host : "", static_headers_b, NULL);
    r->responded = true;
    int n = lws_serve_http_file(r->wsi, real, mime_for(real), headers, (int)strlen(headers));
    if (n < 0)
        return -1;
    if (n > 0 && lws_http_transaction_completed(r->wsi))
        return -1;
    return 0;
}

/* ---- routing ---- */

static enum http_method
method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return M_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return M_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
        return M_PATCH;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
        return M_PUT;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return M_DELETE;
    return M_OTHER;
}

/* Query parameter by name (lws has already percent-decoded it). */
bool
vej__http_query(struct vej_http_req *r, const char *name, char *out, size_t out_cap)
{
    char frag[512];
    size_t nlen = strlen(name);
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(r->wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            return false;
        if ((size_t)n > nlen && strncmp(frag, name, nlen) == 0 && frag[nlen] == '=') {
            g_strlcpy(out, frag + nlen + 1, out_cap);
            return true;
        }
    }
}

static void
dispatch(struct vej_http_req *r)
{
    struct vej_signalling *s = r->s;
    if (r->dispatched)
        return;
    r->dispatched = true;
    if (strcmp(r->path, "/healthz") == 0 && r->method == M_GET) {
        bool ok = !s->stopping && vej_store_schema_version(s->store) > 0;
        respond_text(r, ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ok\n" : "unavailable\n");
        return;
    }
    if (strcmp(r->path, "/metrics") == 0 && r->method == M_GET) {
        size_t len = 0;
        g_autofree char *text = vej__metrics_text(s, &len);
        respond_bytes(r, 200, "text/plain; version=0.0.4", text, len);
        return;
    }
    if (g_str_has_prefix(r->path, "/api/")) {
        if (r->body_too_large) {
            r->close_after = true;
            vej__http_respond_error(r, VEJ_RPC_TOO_LARGE, "request body too large");
            return;
        }
        json_t *body = NULL;
        if (r->method == M_POST || r->method == M_PATCH || r->method == M_PUT) {
            json_error_t jerr;
            if (r->body->len == 0) {
                body = json_object();
            } else {
                body = json_loadb((const char *)r->body->data, r->body->len,
                                  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
                if (!body) {
                    /* Valid JSON with a repeated key is an invalid request,
                     * as on the WebSocket; anything else is not JSON. */
                    json_t *loose = json_loadb((const char *)r->body->data, r->body->len,
                                               JSON_DECODE_ANY, &jerr);
                    bool dup = loose != NULL;
                    if (loose)
                        json_decref(loose);
                    vej__http_respond_error(r, dup ? VEJ_RPC_INVALID_REQUEST : VEJ_RPC_PARSE_ERROR,
                                            dup ? "duplicate keys in body"
                                                : "body is not valid JSON");
                    return;
                }
                if (!json_is_object(body)) {
                    json_decref(body);
                    vej__http_respond_error(r, VEJ_RPC_INVALID_REQUEST,
                                            "body must be a JSON object");
                    return;
                }
            }
        }
        const char *method = r->method == M_GET      ? "GET"
                             : r->method == M_POST   ? "POST"
                             : r->method == M_PATCH  ? "PATCH"
                             : r->method == M_PUT    ? "PUT"
                             : r->method == M_DELETE ? "DELETE"
                                                     : "OTHER";
        vej__rest_dispatch(r, method, r->path, body);
        if (body)
            json_decref(body);
        return;
    }
    if (r->method != M_GET) {
        vej__http_respond_error(r, VEJ_RPC_METHOD_NOT_FOUND, "not found");
        return;
    }
    if (serve_static(r) < 0 && !r->responded)
        vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
}

int
vej__http_on_request(struct vej_http_req *r, const char *uri)
{
    r->method = method_of(r->wsi);
    if (!uri || strlen(uri) >= sizeof r->path) {
        vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
        return 0;
    }
    g_strlcpy(r->path, uri, sizeof r->path);
    char cl[32];
    if (lws_hdr_copy(r->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || !end || *end || v > SIZE_MAX)
            v = SIZE_MAX;
        r->content_length = (size_t)v;
        if (r->content_length > r->s->config->max_message_bytes) {
            r->body_too_large = true;
            r->close_after = true;
            vej__http_respond_error(r, VEJ_RPC_TOO_LARGE, "request body too large");
            return 0;
        }
    }
    /* Request bodies must say their length: chunked uploads are refused
     * (411) rather than read without a known end. */
    if (lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 &&
        lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        r->close_after = true;
        static const char body[] =
            "{\"error\":{\"code\":-32600,\"message\":\"Content-Length required\"}}";
        respond_bytes(r, 411, "application/json", body, sizeof body - 1);
        return 0;
    }
    if ((r->method == M_POST || r->method == M_PATCH || r->method == M_PUT) &&
        r->content_length > 0)
        return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    dispatch(r);
    return 0;
}

int
vej__http_on_body(struct vej_http_req *r, const void *in, size_t len)
{
    if (r->responded)
        return 0;
    if (r->body_too_large || r->body->len + len > r->s->config->max_message_bytes) {
        /* Answer at once and close: the rest of the body is not read. */
        r->body_too_large = true;
        r->close_after = true;
        vej__http_respond_error(r, VEJ_RPC_TOO_LARGE, "request body too large");
        return 0;
    }
    g_byte_array_append(r->body, in, (guint)len);
    return 0;
}

int
vej__http_on_body_done(struct vej_http_req *r)
{
    if (!r->responded)
        dispatch(r);
    return 0;
}

/* The response is out: free the request and keep or close the connection.
 * lws keeps the pss; the CLOSED_HTTP or next request clears the stale id. */
static int
finish_transaction(struct vej_http_req *r)
{
    struct lws *wsi = r->wsi;
    bool close_after = r->close_after;
    vej__http_req_free(r);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int
vej__http_on_writeable(struct vej_http_req *r)
{
    if (r->responded && r->stream.read)
        return stream_writeable(r);
    if (!r->responded || !r->resp)
        return 0;
    struct lws *wsi = r->wsi;
    if (!r->headers_sent) {
        uint8_t buf[LWS_PRE + 1024 + 8192];
        uint8_t *start = &buf[LWS_PRE], *p = start, *end = &buf[LWS_PRE + 1024 - 1];
        size_t body_len = r->resp->len - LWS_PRE;
        if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type, body_len, &p,
                                        end))
            return 1;
        if (lws_add_http_header_by_name(wsi, (const uint8_t *)"referrer-policy:",
                                        (const uint8_t *)"no-referrer", 11, &p, end) ||
            lws_add_http_header_by_name(wsi, (const uint8_t *)"x-content-type-options:",
                                        (const uint8_t *)"nosniff", 7, &p, end) ||
            lws_add_http_header_by_name(
                wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-store", 8, &p, end))
            return 1;
        if (r->close_after && lws_add_http_header_by_name(wsi, (const uint8_t *)"connection:",
                                                          (const uint8_t *)"close", 5, &p, end))
            return 1;
        static const char hsts[] = "max-age=31536000";
        if (r->s->hsts &&
            lws_add_http_header_by_name(wsi, (const uint8_t *)"strict-transport-security:",
                                        (const uint8_t *)hsts, sizeof hsts - 1, &p, end))
            return 1;
        if (body_len <= 8192) {
            /* Small answers (nearly all) go out with their headers in one
             * write: one turn of the loop per request. */
            if (lws_finalize_http_header(wsi, &p, end))
                return 1;
            memcpy(p, r->resp->data + LWS_PRE, body_len);
            size_t total = (size_t)(p - start) + body_len;
            if (lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL) != (int)total)
                return -1;
            return finish_transaction(r);
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return 1;
        r->headers_sent = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t left = r->resp->len - r->resp_off;
    size_t chunk = left > 16384 ? 16384 : left;
    bool final = chunk == left;
    if (chunk && lws_write(wsi, r->resp->data + r->resp_off, chunk,
                           final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)chunk)
        return -1;
    r->resp_off += chunk;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return finish_transaction(r);
}
