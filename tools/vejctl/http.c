/* http.c - vejctl's REST client (libcurl). The bearer token and request
 * bodies (which may hold a password) are wiped after use and never printed. */
#include "tools/vejctl/vejctl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* Larger answers are refused rather than buffered without end. */
#define RESPONSE_MAX (64 * 1024 * 1024)
/* A list longer than this many pages is taken as a server looping. */
#define PAGES_MAX 10000

struct vejctl_client {
    CURL *curl;
    char *base_url;
    char *token;
    char *cacert;
    gboolean insecure;
    char errbuf[CURL_ERROR_SIZE];
};

struct response {
    GByteArray *body;
    gboolean too_large;
};

vejctl_client *
vejctl_client_new(const struct vejctl_args *a, GError **error)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "cannot initialize libcurl");
        return NULL;
    }
    vejctl_client *c = g_new0(vejctl_client, 1);
    c->curl = curl;
    c->base_url = g_strdup(a->url != NULL ? a->url : VEJCTL_DEFAULT_URL);
    c->token = g_strdup(a->token);
    c->cacert = g_strdup(a->cacert);
    c->insecure = a->insecure;
    return c;
}

void
vejctl_client_free(vejctl_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    if (c->token != NULL)
        explicit_bzero(c->token, strlen(c->token));
    g_free(c->token);
    g_free(c->base_url);
    g_free(c->cacert);
    g_free(c);
}

static size_t
on_data(char *data, size_t size, size_t nmemb, void *user_data)
{
    struct response *r = user_data;
    size_t n = size * nmemb;
    if (r->body->len + n > RESPONSE_MAX) {
        r->too_large = TRUE;
        return 0; /* anything but n aborts the transfer */
    }
    g_byte_array_append(r->body, (const guint8 *)data, (guint)n);
    return n;
}

static CURLcode
set_options(vejctl_client *c, const char *method, const char *url, const char *body,
            struct curl_slist *headers, struct response *resp)
{
    CURL *h = c->curl;
    CURLcode rc = CURLE_OK;
    curl_easy_reset(h); /* keeps the connection for the next page */
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, 10L);
    SET(CURLOPT_TIMEOUT, 120L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_USERAGENT, "vejctl/" VEJ_VERSION);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, resp);
    if (c->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cacert != NULL)
        SET(CURLOPT_CAINFO, c->cacert);
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, method);
        SET(CURLOPT_POSTFIELDS, body != NULL ? body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? strlen(body) : 0));
    }
#undef SET
    return rc;
}

static void
headers_free(struct curl_slist *headers)
{
    for (struct curl_slist *h = headers; h != NULL; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(headers);
}

static struct curl_slist *
make_headers(vejctl_client *c, gboolean with_body, gboolean with_token)
{
    struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");
    if (list != NULL && with_body)
        list = curl_slist_append(list, "Content-Type: application/json");
    if (list != NULL && with_token && c->token != NULL) {
        g_autofree char *auth = g_strdup_printf("Authorization: Bearer %s", c->token);
        struct curl_slist *more = curl_slist_append(list, auth);
        explicit_bzero(auth, strlen(auth));
        if (more == NULL)
            headers_free(list);
        list = more;
    }
    return list;
}

static void
transport_error(vejctl_client *c, CURLcode rc, GError **error)
{
    const char *detail = c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc);
    const char *hint = "";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
        hint = " (pass --cacert FILE, or --insecure for the gateway's self-signed certificate)";
    else if (rc == CURLE_COULDNT_CONNECT)
        hint = " (is vej-gateway running there? see --url or VEJ_URL)";
    g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "%s: %s%s", c->base_url, detail, hint);
}

/* The answer's JSON, or the server's error. */
static json_t *
decode_answer(long status, struct response *resp, GError **error)
{
    const char *data = (const char *)resp->body->data;
    size_t len = resp->body->len;
    if (status < 200 || status > 299) {
        g_autofree char *message = vejctl_format_server_error(status, data, len);
        g_set_error_literal(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, message);
        return NULL;
    }
    if (len == 0)
        return json_object();
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                    "the server answered HTTP %ld with invalid JSON: %s", status, jerr.text);
    return root;
}

json_t *
vejctl_request(vejctl_client *c, const char *method, const char *path, json_t *body,
               gboolean with_token, GError **error)
{
    g_autofree char *url = g_strconcat(c->base_url, path, NULL);
    char *body_text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body != NULL && body_text == NULL) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "cannot encode the request");
        return NULL;
    }
    struct curl_slist *headers = make_headers(c, body != NULL, with_token);
    struct response resp = {g_byte_array_new(), FALSE};
    c->errbuf[0] = '\0';
    CURLcode rc = headers != NULL ? set_options(c, method, url, body_text, headers, &resp)
                                  : CURLE_OUT_OF_MEMORY;
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c->curl);
    long status = 0;
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    /* Nothing of the request may stay in memory: it can hold a password. */
    headers_free(headers);
    if (body_text != NULL) {
        explicit_bzero(body_text, strlen(body_text));
        free(body_text);
    }
    json_t *root = NULL;
    if (resp.too_large)
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                    "%s: the answer is larger than %d bytes", c->base_url, RESPONSE_MAX);
    else if (rc != CURLE_OK)
        transport_error(c, rc, error);
    else
        root = decode_answer(status, &resp, error);
    g_byte_array_unref(resp.body);
    return root;
}

json_t *
vejctl_get_all(vejctl_client *c, const char *path, GError **error)
{
    g_autoptr(json_t) all = json_array();
    g_autofree char *cursor = NULL;
    for (int page = 0; page < PAGES_MAX; page++) {
        g_autofree char *p =
            cursor != NULL ? vejctl_path_with_cursor(path, cursor) : g_strdup(path);
        g_autoptr(json_t) answer = vejctl_request(c, "GET", p, NULL, TRUE, error);
        if (answer == NULL)
            return NULL;
        json_t *items = json_object_get(answer, "items");
        if (!json_is_array(items) || json_array_extend(all, items) != 0) {
            g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                        "the server's list has no \"items\" array");
            return NULL;
        }
        json_t *next = json_object_get(answer, "next_cursor");
        if (!json_is_string(next) || json_string_length(next) == 0)
            return json_pack("{s:O,s:n}", "items", all, "next_cursor");
        if (cursor != NULL && strcmp(cursor, json_string_value(next)) == 0) {
            g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                        "the server gave the same next_cursor twice");
            return NULL;
        }
        g_free(cursor);
        cursor = g_strdup(json_string_value(next));
    }
    g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "the list has more than %d pages",
                PAGES_MAX);
    return NULL;
}

static char *
escape(const char *text)
{
    return g_uri_escape_string(text, NULL, FALSE);
}

char *
vejctl_path_hearing(const char *hearing_id, const char *suffix)
{
    g_autofree char *id = escape(hearing_id);
    return g_strconcat("/api/v1/hearings/", id, suffix, NULL);
}

char *
vejctl_path_hearing_list(const char *courtroom_id, const char *date)
{
    GString *path = g_string_new("/api/v1/hearings");
    char sep = '?';
    if (courtroom_id != NULL) {
        g_autofree char *v = escape(courtroom_id);
        g_string_append_printf(path, "%ccourtroom_id=%s", sep, v);
        sep = '&';
    }
    if (date != NULL) {
        g_autofree char *v = escape(date);
        g_string_append_printf(path, "%cdate=%s", sep, v);
    }
    return g_string_free(path, FALSE);
}

char *
vejctl_path_with_cursor(const char *path, const char *cursor)
{
    g_autofree char *v = escape(cursor);
    return g_strdup_printf("%s%scursor=%s", path, strchr(path, '?') != NULL ? "&" : "?", v);
}

/* ---- downloads (recordings) ---- */

struct download {
    FILE *out;
    long status; /* known once the first byte arrives */
    CURL *curl;
    GByteArray *error_body;
    gboolean write_failed;
};

static size_t
on_download(char *data, size_t size, size_t nmemb, void *user_data)
{
    struct download *d = user_data;
    size_t n = size * nmemb;
    if (d->status == 0)
        (void)curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
    if (d->status < 200 || d->status > 299) {
        if (d->error_body->len + n > 65536)
            return 0;
        g_byte_array_append(d->error_body, (const guint8 *)data, (guint)n);
        return n;
    }
    if (fwrite(data, 1, n, d->out) != n) {
        d->write_failed = TRUE;
        return 0;
    }
    return n;
}

gboolean
vejctl_download(vejctl_client *c, const char *path, FILE *out, GError **error)
{
    g_autofree char *url = g_strconcat(c->base_url, path, NULL);
    struct curl_slist *headers = make_headers(c, FALSE, TRUE);
    struct response unused = {g_byte_array_new(), FALSE};
    struct download d = {out, 0, c->curl, g_byte_array_new(), FALSE};
    c->errbuf[0] = '\0';
    CURLcode rc = headers != NULL ? set_options(c, "GET", url, NULL, headers, &unused)
                                  : CURLE_OUT_OF_MEMORY;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_download);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &d);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 0L); /* large files */
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c->curl);
    long status = 0;
    (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    headers_free(headers);
    g_byte_array_unref(unused.body);
    gboolean ok = FALSE;
    if (d.write_failed)
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "cannot write the download");
    else if (status != 0 && (status < 200 || status > 299)) {
        g_autofree char *message = vejctl_format_server_error(
            status, (const char *)d.error_body->data, d.error_body->len);
        g_set_error_literal(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, message);
    } else if (rc != CURLE_OK)
        transport_error(c, rc, error);
    else
        ok = TRUE;
    g_byte_array_unref(d.error_body);
    return ok;
}
