/* bench/signalling/rest.c - REST set-up (blocking libcurl) and the REST
 * reader of the steady window (libcurl multi on its own thread).
 *
 * The reader is open-loop: each read is handed to curl at its scheduled
 * time, woken by a timerfd, whether or not earlier reads were answered, and
 * its latency runs from the scheduled time. Reads share a pool of
 * keep-alive connections opened before the window (warm-up), so the
 * window measures requests, not TLS handshakes, unless the daemon closes
 * them. */
#include "bench.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define BENCH_PASSWORD_ADMIN "bench-admin-password-0001"
#define BENCH_PASSWORD_CLERK "bench-clerk-password-0002"

/* ---- blocking calls for the set-up ---- */

struct rest_client {
    CURL *curl;
    char base[64];
    const char *cert;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *user)
{
    g_string_append_len(user, ptr, (gssize)(size * nmemb));
    return size * nmemb;
}

/* One request; returns the parsed body (or NULL) and the status through
 * *status (0 on a transport error). (transfer full) */
static json_t *
rest_call(struct rest_client *rc, const char *method, const char *path, json_t *body,
          const char *token, long *status)
{
    g_autofree char *url = g_strconcat(rc->base, "/api/v1", path, NULL);
    g_autofree char *auth = token ? g_strconcat("Authorization: Bearer ", token, NULL) : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        headers = curl_slist_append(headers, auth);
    GString *out = g_string_new(NULL);
    CURL *c = rc->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (text)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_CAINFO, rc->cert);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode res = curl_easy_perform(c);
    *status = 0;
    if (res == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    else
        fprintf(stderr, "bench-signalling: %s %s: %s\n", method, path, curl_easy_strerror(res));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(text);
    json_t *parsed = json_loadb(out->str, out->len, 0, NULL);
    g_string_free(out, TRUE);
    return parsed;
}

/* A call that must answer `want`; returns the body or NULL (message printed). */
static json_t *
rest_expect(struct rest_client *rc, const char *method, const char *path, json_t *body,
            const char *token, long want)
{
    long status;
    json_t *r = rest_call(rc, method, path, body, token, &status);
    json_decref(body);
    if (status != want) {
        char *t = r ? json_dumps(r, JSON_COMPACT) : NULL;
        fprintf(stderr, "bench-signalling: %s %s: HTTP %ld (wanted %ld): %s\n", method, path,
                status, want, t ? t : "");
        free(t);
        json_decref(r);
        return NULL;
    }
    return r;
}

static char *
member_string(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? g_strdup(v) : NULL;
}

static char *
login(struct rest_client *rc, const char *user, const char *password)
{
    json_t *r =
        rest_expect(rc, "POST", "/login",
                    json_pack("{s:s,s:s}", "username", user, "password", password), NULL, 200);
    char *token = r ? member_string(r, "token") : NULL;
    json_decref(r);
    return token;
}

static char *
rfc3339_in(int64_t seconds)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) t = g_date_time_add_seconds(now, (gdouble)seconds);
    return g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
}

static bool
make_hearings(struct rest_client *rc, const struct bench_options *o, struct bench_world *w,
              const char *courtroom)
{
    g_autofree char *starts = rfc3339_in(1800);
    g_autofree char *ends = rfc3339_in(1800 + 7200);
    for (int h = 0; h < o->hearings; h++) {
        char ref[32];
        snprintf(ref, sizeof ref, "BENCH/%04d", h + 1);
        json_t *r = rest_expect(rc, "POST", "/hearings",
                                json_pack("{s:s,s:s,s:s,s:s,s:s}", "courtroom_id", courtroom,
                                          "case_reference", ref, "title", "R v Bench", "starts_at",
                                          starts, "ends_at", ends),
                                w->clerk_token, 201);
        w->hearing_ids[h] = r ? member_string(r, "id") : NULL;
        json_decref(r);
        if (!w->hearing_ids[h])
            return false;
        w->n_hearings = h + 1;
        g_autofree char *path = g_strdup_printf("/hearings/%s/state", w->hearing_ids[h]);
        r = rest_expect(rc, "POST", path, json_pack("{s:s}", "state", "open"), w->clerk_token, 200);
        if (!r)
            return false;
        json_decref(r);
    }
    return true;
}

/* Parties first (one of each role), the rest of a hearing observers: the
 * public gallery is what makes a hearing large. */
static const char *const party_roles[] = {"defendant", "custody_officer", "prosecution", "defence",
                                          "witness",   "interpreter",     "probation"};

static bool
make_participants(struct rest_client *rc, const struct bench_options *o, struct bench_world *w)
{
    w->p = g_new0(struct bench_participant, (gsize)o->participants);
    for (int i = 0; i < o->participants; i++) {
        struct bench_participant *p = &w->p[i];
        int h = i % o->hearings;
        int nth = i / o->hearings;
        const char *role = nth < (int)G_N_ELEMENTS(party_roles) ? party_roles[nth] : "observer";
        char name[48];
        snprintf(name, sizeof name, "Bench participant %d", i);
        g_autofree char *path = g_strdup_printf("/hearings/%s/participants", w->hearing_ids[h]);
        json_t *r = rest_expect(rc, "POST", path,
                                json_pack("{s:s,s:s}", "display_name", name, "role", role),
                                w->clerk_token, 201);
        if (!r)
            return false;
        p->id = member_string(r, "participant_id");
        p->join_token = member_string(r, "join_token");
        p->hearing = h;
        json_decref(r);
        if (!p->id || !p->join_token) {
            fprintf(stderr, "bench-signalling: no participant_id/join_token in the answer\n");
            return false;
        }
        w->n = i + 1;
    }
    return true;
}

static bool
setup_with(struct rest_client *rc, const struct bench_options *o, const struct bench_daemon *d,
           struct bench_world *w)
{
    g_autofree char *pw_path = g_build_filename(d->data_dir, "initial-admin-password", NULL);
    g_autofree char *pw0 = NULL;
    for (int i = 0; i < 250 && !g_file_get_contents(pw_path, &pw0, NULL, NULL); i++)
        g_usleep(20000);
    if (!pw0) {
        fprintf(stderr, "bench-signalling: no %s\n", pw_path);
        return false;
    }
    g_strstrip(pw0);
    g_autofree char *first = login(rc, "admin", pw0);
    if (!first)
        return false;
    json_t *r = rest_expect(
        rc, "POST", "/account/password",
        json_pack("{s:s,s:s}", "current_password", pw0, "new_password", BENCH_PASSWORD_ADMIN),
        first, 200);
    if (!r)
        return false;
    json_decref(r);
    if (!bench_vejctl_user_add(o, d, "clerk", "clerk", BENCH_PASSWORD_CLERK))
        return false;
    w->clerk_token = login(rc, "clerk", BENCH_PASSWORD_CLERK);
    if (!w->clerk_token)
        return false;
    r = rest_expect(rc, "POST", "/courtrooms",
                    json_pack("{s:s,s:i,s:s}", "name", "Bench court", "retention_days", 30,
                              "time_zone", "Europe/London"),
                    w->clerk_token, 201);
    w->courtroom_id = r ? member_string(r, "id") : NULL;
    json_decref(r);
    if (!w->courtroom_id || !make_hearings(rc, o, w, w->courtroom_id))
        return false;
    int64_t t0 = bench_now_ns();
    if (!make_participants(rc, o, w))
        return false;
    printf("set-up: %d participants created over REST in %.2f s (one keep-alive connection)\n",
           w->n, (double)(bench_now_ns() - t0) / 1e9);
    return true;
}

bool
bench_world_setup(const struct bench_options *o, const struct bench_daemon *d,
                  struct bench_world *w)
{
    struct rest_client rc = {.curl = curl_easy_init(), .cert = d->cert_path};
    if (!rc.curl)
        return false;
    snprintf(rc.base, sizeof rc.base, "https://127.0.0.1:%d", d->port);
    bool ok = setup_with(&rc, o, d, w);
    curl_easy_cleanup(rc.curl);
    return ok;
}

static bool
add_busy_with(struct rest_client *rc, const struct bench_options *o, struct bench_world *w,
              const char *hid)
{
    w->busy_hearing_id = g_strdup(hid);
    w->p = g_renew(struct bench_participant, w->p, (gsize)(w->n + o->busy_clients));
    g_autofree char *path = g_strdup_printf("/hearings/%s/participants", hid);
    for (int i = 0; i < o->busy_clients; i++) {
        struct bench_participant *p = &w->p[w->n];
        memset(p, 0, sizeof *p);
        char name[48];
        snprintf(name, sizeof name, "Busy observer %d", i);
        json_t *r = rest_expect(rc, "POST", path,
                                json_pack("{s:s,s:s}", "display_name", name, "role", "observer"),
                                w->clerk_token, 201);
        if (!r)
            return false;
        p->id = member_string(r, "participant_id");
        p->join_token = member_string(r, "join_token");
        p->busy = true;
        json_decref(r);
        if (!p->id || !p->join_token) {
            fprintf(stderr, "bench-signalling: no participant_id/join_token in the answer\n");
            return false;
        }
        w->n++;
    }
    return true;
}

bool
bench_world_add_busy(const struct bench_options *o, const struct bench_daemon *d,
                     struct bench_world *w, const char *hid)
{
    struct rest_client rc = {.curl = curl_easy_init(), .cert = d->cert_path};
    if (!rc.curl)
        return false;
    snprintf(rc.base, sizeof rc.base, "https://127.0.0.1:%d", d->port);
    bool ok = add_busy_with(&rc, o, w, hid);
    curl_easy_cleanup(rc.curl);
    return ok;
}

void
bench_world_clear(struct bench_world *w)
{
    for (int i = 0; i < w->n; i++) {
        g_free(w->p[i].id);
        g_free(w->p[i].join_token);
    }
    g_free(w->p);
    for (int h = 0; h < w->n_hearings; h++)
        g_free(w->hearing_ids[h]);
    g_free(w->clerk_token);
    g_free(w->courtroom_id);
    g_free(w->busy_hearing_id);
    memset(w, 0, sizeof *w);
}

/* ---- the reader thread ---- */

struct read_req {
    CURL *curl;
    int64_t sched_ns;
    int retries; /* sent again after stale_keepalive() */
    struct curl_slist *headers;
};

struct bench_reader {
    const struct bench_options *o;
    const struct bench_world *w;
    const struct bench_op *ops;
    size_t n_ops;
    char base[64];
    const char *cert;
    char *auth;
    GThread *thread;
    atomic_int ready;         /* warm-up done */
    _Atomic int64_t start_ns; /* 0 until bench_reader_go() */
    _Atomic int64_t stop_ns;
    int64_t end_ns; /* when the window's loop ended */
    struct bench_samples reads;
    struct bench_samples lag;
    GPtrArray *free_reqs;
    GHashTable *in_flight; /* struct read_req * set: handed to curl */
    GQueue due;            /* scheduled times (int64_t *) of reads waiting for a connection */
    unsigned retries;      /* reads sent again (stale_keepalive) */
};

/* A read that failed on a reused connection before any answer: the daemon
 * closed that keep-alive connection as idle while the request was on its
 * way (HTTP allows either side to close at any time). Browsers send such
 * an idempotent request again, on another connection (which may be as
 * stale); so does the reader, up to 4 times, its latency still counted
 * from the scheduled time. */
static bool
stale_keepalive(CURL *curl, CURLcode result)
{
    long connects = -1;
    curl_off_t received = -1;
    if (result != CURLE_SEND_ERROR && result != CURLE_RECV_ERROR && result != CURLE_GOT_NOTHING)
        return false;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &received);
    return connects == 0 && received == 0;
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *user)
{
    (void)ptr;
    (void)user;
    return size * nmemb;
}

static struct read_req *
read_req_get(struct bench_reader *r, CURLM *multi, int hearing, int64_t sched_ns)
{
    struct read_req *q = r->free_reqs->len
                             ? g_ptr_array_steal_index_fast(r->free_reqs, r->free_reqs->len - 1)
                             : NULL;
    if (!q) {
        q = g_new0(struct read_req, 1);
        q->curl = curl_easy_init();
        q->headers = curl_slist_append(NULL, r->auth);
        curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, q->headers);
        curl_easy_setopt(q->curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(q->curl, CURLOPT_CAINFO, r->cert);
        curl_easy_setopt(q->curl, CURLOPT_PRIVATE, q);
        curl_easy_setopt(q->curl, CURLOPT_TIMEOUT, 60L);
    }
    g_autofree char *url =
        g_strdup_printf("%s/api/v1/hearings/%s", r->base, r->w->hearing_ids[hearing]);
    curl_easy_setopt(q->curl, CURLOPT_URL, url);
    q->sched_ns = sched_ns;
    q->retries = 0;
    curl_multi_add_handle(multi, q->curl);
    g_hash_table_add(r->in_flight, q);
    return q;
}

/* Collects finished transfers; returns how many finished. */
static int
read_done(struct bench_reader *r, CURLM *multi, struct bench_samples *into)
{
    int done = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct read_req *q = NULL;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        int64_t now = bench_now_ns();
        if (q->retries < 4 && stale_keepalive(m->easy_handle, m->data.result)) {
            CURL *easy = m->easy_handle;
            q->retries++;
            r->retries++;
            curl_multi_remove_handle(multi, easy);
            curl_multi_add_handle(multi, easy);
            continue;
        }
        if (into && m->data.result == CURLE_OK && status == 200)
            bench_samples_add(into, (double)(now - q->sched_ns) / 1000);
        else if (into) {
            int code = m->data.result != CURLE_OK ? -(int)m->data.result : (int)status;
            if (into->errors < 5) /* when, to tell a closed connection from a slow server */
                fprintf(stderr, "  read error %d %.3f s into the window (%s)\n", code,
                        (double)(now - atomic_load(&r->start_ns)) / 1e9,
                        curl_easy_strerror(m->data.result));
            bench_samples_error(into, code);
        }
        curl_multi_remove_handle(multi, m->easy_handle);
        g_hash_table_remove(r->in_flight, q);
        g_ptr_array_add(r->free_reqs, q);
        done++;
    }
    return done;
}

/* Opens the pool: rest_connections reads at once, then waits for them. */
static void
warm_up(struct bench_reader *r, CURLM *multi)
{
    int n = r->o->rest_connections, finished = 0, running = 0;
    for (int i = 0; i < n; i++)
        read_req_get(r, multi, i % r->w->n_hearings, bench_now_ns());
    int64_t deadline = bench_now_ns() + 20 * (int64_t)1000000000;
    while (finished < n && bench_now_ns() < deadline) {
        curl_multi_perform(multi, &running);
        finished += read_done(r, multi, NULL);
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
}

static void
arm(int tfd, int64_t at_ns)
{
    struct itimerspec its = {0};
    if (at_ns <= 0)
        at_ns = 1;
    its.it_value.tv_sec = at_ns / 1000000000;
    its.it_value.tv_nsec = at_ns % 1000000000;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Hands due reads to curl while fewer than rest_connections are in flight.
 * The waiting ones stay in r->due, in order: curl's own queue of pending
 * handles is walked on every call and would make the generator slower the
 * more the server falls behind. */
static void
feed(struct bench_reader *r, CURLM *multi, size_t *next, int64_t start, int64_t now)
{
    while (*next < r->n_ops && start + r->ops[*next].at_ns <= now) {
        const struct bench_op *op = &r->ops[*next];
        if (op->kind == REQ_READ) {
            int64_t *at = g_new(int64_t, 2);
            at[0] = start + op->at_ns;
            at[1] = r->w->p[op->target].hearing;
            g_queue_push_tail(&r->due, at);
            bench_samples_add(&r->lag, (double)(now - at[0]) / 1000);
        }
        (*next)++;
    }
    while (!g_queue_is_empty(&r->due) &&
           g_hash_table_size(r->in_flight) < (guint)r->o->rest_connections) {
        int64_t *at = g_queue_pop_head(&r->due);
        read_req_get(r, multi, (int)at[1], at[0]);
        g_free(at);
    }
}

static void
run_window(struct bench_reader *r, CURLM *multi, int tfd)
{
    int64_t start;
    while ((start = atomic_load(&r->start_ns)) == 0)
        g_usleep(1000);
    int64_t stop = atomic_load(&r->stop_ns);
    size_t next = 0;
    int running = 0;
    while (bench_now_ns() < stop) {
        feed(r, multi, &next, start, bench_now_ns());
        curl_multi_perform(multi, &running);
        read_done(r, multi, &r->reads);
        feed(r, multi, &next, start, bench_now_ns());
        while (next < r->n_ops && r->ops[next].kind != REQ_READ)
            next++;
        if (next >= r->n_ops && g_hash_table_size(r->in_flight) == 0 && g_queue_is_empty(&r->due))
            break;
        arm(tfd, next < r->n_ops ? start + r->ops[next].at_ns : stop);
        struct curl_waitfd extra = {.fd = tfd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(multi, &extra, 1, 100, NULL);
        uint64_t expirations;
        if (extra.revents)
            (void)!read(tfd, &expirations, sizeof expirations);
    }
    /* Unanswered reads count as latency up to the end (a lower bound). */
    int64_t end = bench_now_ns();
    r->end_ns = end;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, r->in_flight);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        struct read_req *q = key;
        bench_samples_add(&r->reads, (double)(end - q->sched_ns) / 1000);
        r->reads.unanswered++;
        curl_multi_remove_handle(multi, q->curl);
        g_ptr_array_add(r->free_reqs, q);
        g_hash_table_iter_remove(&it);
    }
    int64_t *at;
    while ((at = g_queue_pop_head(&r->due))) {
        bench_samples_add(&r->reads, (double)(end - at[0]) / 1000);
        r->reads.unanswered++;
        g_free(at);
    }
    /* reads never due before the stop were never sent: not counted */
}

static gpointer
reader_main(gpointer data)
{
    struct bench_reader *r = data;
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->o->rest_connections);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)r->o->rest_connections);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    warm_up(r, multi);
    atomic_store(&r->ready, 1);
    if (tfd >= 0)
        run_window(r, multi, tfd);
    for (guint i = 0; i < r->free_reqs->len; i++) {
        struct read_req *q = r->free_reqs->pdata[i];
        curl_easy_cleanup(q->curl);
        curl_slist_free_all(q->headers);
        g_free(q);
    }
    g_ptr_array_set_size(r->free_reqs, 0);
    curl_multi_cleanup(multi);
    if (tfd >= 0)
        close(tfd);
    return NULL;
}

struct bench_reader *
bench_reader_start(const struct bench_options *o, const struct bench_daemon *d,
                   const struct bench_world *w, const struct bench_op *ops, size_t n_ops)
{
    struct bench_reader *r = g_new0(struct bench_reader, 1);
    r->o = o;
    r->w = w;
    r->ops = ops;
    r->n_ops = n_ops;
    snprintf(r->base, sizeof r->base, "https://127.0.0.1:%d", d->port);
    r->cert = d->cert_path;
    r->auth = g_strconcat("Authorization: Bearer ", w->clerk_token, NULL);
    r->free_reqs = g_ptr_array_new();
    r->in_flight = g_hash_table_new(NULL, NULL);
    r->thread = g_thread_new("bench-reader", reader_main, r);
    return r;
}

bool
bench_reader_ready(struct bench_reader *r)
{
    return atomic_load(&r->ready) != 0;
}

void
bench_reader_go(struct bench_reader *r, int64_t start_ns, int64_t stop_ns)
{
    atomic_store(&r->stop_ns, stop_ns);
    atomic_store(&r->start_ns, start_ns);
}

int64_t
bench_reader_join(struct bench_reader *r, struct bench_samples *reads, double *max_lag_us)
{
    g_thread_join(r->thread);
    int64_t end = r->end_ns;
    bench_samples_merge(reads, &r->reads);
    *max_lag_us = bench_samples_quantile(&r->lag, 1.0);
    if (r->retries)
        printf("  REST reads sent again after the daemon closed their idle keep-alive connection: "
               "%u (as a browser does)\n",
               r->retries);
    bench_samples_clear(&r->lag);
    g_ptr_array_unref(r->free_reqs);
    g_hash_table_unref(r->in_flight);
    g_free(r->auth);
    g_free(r);
    return end;
}
