/* rest-recordings.c - the evidential REST routes (docs/api.md "Recordings"):
 * the signing key, recording search, manifests, file downloads with Range,
 * bundles, verification and legal holds.
 *
 * Invariants: who may do what is one table (`routes`): evidential staff for
 * media; admins see listings and manifests but get 4003 for files and
 * bundles (separation of duties); everyone else 4003. Every listing,
 * manifest read, download, verification, hold and refusal is an audit entry
 * naming the account, the recording and the client address. A file name in
 * a path is served only when it is a safe relative name AND one of the
 * recording's signed files (its manifest or SHA256SUMS): nothing else under
 * DATA_DIR can be reached. Files are streamed (vej__http_respond_stream),
 * and hashing for /verify runs on the worker pool, never on this thread.
 */
#include "signalling/signalling-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recording/audit-heads.h"
#include "recording/bundle.h"
#include "recording/manifest.h"
#include "recording/retention.h"
#include "recording/sign.h"
#include "recording/tar.h"
#include "signalling/rest.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define REASON_MAX 500

typedef void (*rec_handler)(struct vej_http_req *r, struct vej_user *user,
                            struct vej_recording_row *rec, const char *name, json_t *body);

/* ---- small helpers ---- */

static bool
rec_id_valid(const char *id)
{
    if (strlen(id) != 20 || strncmp(id, "rec_", 4) != 0)
        return false;
    for (int i = 4; i < 20; i++)
        if (!g_ascii_isxdigit(id[i]) || g_ascii_isupper(id[i]))
            return false;
    return true;
}

static void
respond_store_error(struct vej_http_req *r, GError *error)
{
    if (g_error_matches(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND))
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "recording not found");
    g_autofree char *cid = vej__correlation_id();
    g_warning("recordings [%s]: %s", cid, error ? error->message : "?");
    g_autofree char *msg = g_strdup_printf("internal error (%s)", cid);
    vej__http_respond_error(r, VEJ_RPC_INTERNAL, msg);
}

static char *
recording_dir(struct vej_signalling *s, const struct vej_recording_row *rec)
{
    return g_build_filename(s->config->data_dir, "recordings", rec->dir, NULL);
}

static json_t *
time_or_null(int64_t t)
{
    if (t <= 0)
        return json_null();
    g_autofree char *text = vej__rfc3339(t);
    return json_string(text);
}

/* Audits an access: `detail` (stolen, may be NULL) gets the client address. */
static void
audit_access(struct vej_http_req *r, struct vej_user *user, const char *action, const char *target,
             json_t *detail)
{
    if (detail == NULL)
        detail = json_object();
    json_object_set_new(detail, "client_address", json_string(vej__http_peer(r)));
    vej__audit(vej__http_server(r), user->id, action, target ? target : "", detail);
}

/* The optional ?reason= of a download: printable UTF-8, at most 500 bytes.
 * FALSE after answering 400. */
static bool
query_reason(struct vej_http_req *r, char *out, size_t cap)
{
    out[0] = '\0';
    if (!vej__http_query(r, "reason", out, cap))
        return true;
    bool ok = g_utf8_validate(out, -1, NULL) && strlen(out) <= REASON_MAX;
    for (const char *p = out; ok && *p; p++)
        ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
    if (!ok)
        vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                "reason: printable text of at most 500 bytes");
    return ok;
}

/* Staff see recordings only of the courtrooms they are assigned to (an
 * admin: all); deny by default, and a store failure is a refusal. */
static bool
courtroom_scope_allows(struct vej_signalling *s, const struct vej_user *user,
                       const char *courtroom_id)
{
    g_autoptr(GError) error = NULL;
    return vej_store_user_may_act(s->store, user->id, courtroom_id, &error);
}

/* ---- keys and signed heads ---- */

void
vej__rest_keys(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    if (s->signer == NULL)
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "no signing key");
    json_t *key = json_pack("{s:s,s:s,s:s,s:s}", "algorithm", "Ed25519", "fingerprint",
                            vej_signer_fingerprint(s->signer), "fingerprint_algorithm",
                            "sha256-spki-der", "public_key_pem", vej_signer_public_pem(s->signer));
    vej__http_respond_json(r, 200, key);
}

json_t *
vej__rest_signed_head_json(struct vej_signalling *s)
{
    g_autofree char *path = vej_audit_heads_path(s->config->data_dir);
    g_autoptr(GError) error = NULL;
    struct vej_signed_head last;
    const struct vej_signed_head *h = &last;
    gboolean found = FALSE;
    if (!vej_audit_heads_last(path, &last, &found, &error)) {
        g_warning("signed audit heads: %s", error->message);
        return json_null();
    }
    if (!found)
        return json_null();
    g_autofree char *hash = vej_hex(h->hash, 32);
    g_autofree char *sig = vej_hex(h->signature, VEJ_SIGNATURE_SIZE);
    g_autofree char *at = vej__rfc3339(h->signed_at_us / G_USEC_PER_SEC);
    return json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)h->seq, "hash", hash,
                     "signed_at_us", (json_int_t)h->signed_at_us, "signed_at", at,
                     "key_fingerprint", h->fingerprint, "signature", sig, "signed_bytes",
                     "VEJHEAD1 || seq (be64) || hash || signed_at_us (be64)");
}

/* ---- listing ---- */

static json_t *
recording_json(const struct vej_recording_row *rec)
{
    json_t *hold = json_pack("{s:b}", "hold", rec->legal_hold);
    if (rec->legal_hold_at > 0) {
        json_object_set_new(hold, "reason", json_string(rec->legal_hold_reason));
        json_object_set_new(hold, "by", json_string(rec->legal_hold_by));
        json_object_set_new(hold, "at", time_or_null(rec->legal_hold_at));
    }
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:i,s:o,s:b,s:o,s:o}", "id", rec->id, "hearing_id",
        rec->hearing_id, "courtroom_id", rec->courtroom_id, "case_reference", rec->case_reference,
        "state", rec->state, "started_at", time_or_null(rec->started_at), "closed_at",
        time_or_null(rec->closed_at), "manifest_revision", rec->manifest_revision,
        "media_deleted_at", time_or_null(rec->media_deleted_at), "media_deleted",
        rec->media_deleted_at > 0, "legal_hold", hold, "sealed_at", time_or_null(rec->sealed_at));
}

static bool
query_time(struct vej_http_req *r, const char *name, int64_t *out)
{
    char buf[48];
    *out = 0;
    if (!vej__http_query(r, name, buf, sizeof buf))
        return true;
    if (!vej__parse_rfc3339(buf, out)) {
        g_autofree char *msg = g_strdup_printf("%s: must be an RFC 3339 time", name);
        vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS, msg);
        return false;
    }
    return true;
}

static void
recordings_list(struct vej_http_req *r, struct vej_user *user)
{
    struct vej_signalling *s = vej__http_server(r);
    char ref[128] = "", crt[128] = "", cursor[64] = "", lim[16] = "";
    vej__http_query(r, "case_reference", ref, sizeof ref);
    vej__http_query(r, "courtroom_id", crt, sizeof crt);
    vej__http_query(r, "cursor", cursor, sizeof cursor);
    /* the courtroom scope is part of the query: a page is never cut short */
    struct vej_recording_filter f = {.case_reference = *ref ? ref : NULL,
                                     .courtroom_id = *crt ? crt : NULL,
                                     .scope_user_id = user->id};
    if (!query_time(r, "from", &f.from) || !query_time(r, "to", &f.to))
        return;
    gint64 limit = PAGE_DEFAULT;
    if (vej__http_query(r, "limit", lim, sizeof lim) &&
        !g_ascii_string_to_signed(lim, 10, 1, PAGE_MAX, &limit, NULL))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "limit: must be an integer from 1 to 200");
    if (strlen(ref) > 64 || (*cursor && !rec_id_valid(cursor)))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS, "bad case_reference or cursor");
    g_autoptr(GError) error = NULL;
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) rows =
        vej_store_recording_list(s->store, &f, *cursor ? cursor : NULL, (int)limit, &next, &error);
    if (rows == NULL)
        return respond_store_error(r, error);
    json_t *items = json_array();
    for (guint i = 0; i < rows->len; i++)
        json_array_append_new(items, recording_json(rows->pdata[i]));
    audit_access(r, user, "recording.list", "",
                 json_pack("{s:s?,s:s?,s:I,s:I,s:I}", "case_reference", f.case_reference,
                           "courtroom_id", f.courtroom_id, "from", (json_int_t)f.from, "to",
                           (json_int_t)f.to, "results", (json_int_t)json_array_size(items)));
    vej__http_respond_json(r, 200,
                           json_pack("{s:o,s:o}", "items", items, "next_cursor",
                                     next ? json_string(next) : json_null()));
}

/* ---- the manifest ---- */

/* dir/name's bytes when at most `max`; NULL otherwise. */
static char *
read_signed_file(const char *dir, const char *name, size_t max, gsize *len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *data = NULL;
    if (!g_file_get_contents(path, &data, len, NULL) || *len > max) {
        g_free(data);
        return NULL;
    }
    return data;
}

static void
recording_show(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
               const char *unused, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    json_t *out = recording_json(rec);
    const double *progress =
        s->archive_progress ? g_hash_table_lookup(s->archive_progress, rec->id) : NULL;
    if (progress) /* being archived now: how far (0..1) */
        json_object_set_new(out, "progress", json_real(*progress));
    g_autofree char *dir = recording_dir(s, rec);
    gsize len = 0, sig_len = 0;
    g_autofree char *bytes = read_signed_file(dir, "manifest.json", 64 << 20, &len);
    g_autofree char *sig = read_signed_file(dir, "manifest.sig", 1024, &sig_len);
    json_t *manifest = NULL;
    g_autoptr(GPtrArray) files =
        bytes ? vej_manifest_parse_files(bytes, len, &manifest, NULL) : NULL;
    json_t *flist = json_array();
    for (guint i = 0; files && i < files->len; i++) {
        const struct vej_manifest_file *f = files->pdata[i];
        g_autofree char *hex = vej_hex(f->sha256, 32);
        json_array_append_new(flist, json_pack("{s:s,s:I,s:s}", "name", f->name, "size",
                                               (json_int_t)f->size, "sha256", hex));
    }
    bool valid = bytes && sig && sig_len == VEJ_SIGNATURE_SIZE && s->signer &&
                 vej_signer_verify(s->signer, bytes, len, (const uint8_t *)sig);
    g_autofree char *sig_b64 = sig ? g_base64_encode((const guchar *)sig, sig_len) : NULL;
    json_object_set_new(out, "manifest", manifest ? manifest : json_null());
    json_object_set_new(out, "files", flist);
    json_object_set_new(out, "signature",
                        sig ? json_pack("{s:s,s:s,s:s,s:s,s:b}", "algorithm", "Ed25519",
                                        "value_base64", sig_b64, "key_fingerprint",
                                        s->signer ? vej_signer_fingerprint(s->signer) : "", "file",
                                        "manifest.sig", "valid", valid)
                            : json_null());
    const char *vstate = rec->verify_ok < 0 ? "unverified" : rec->verify_ok ? "ok" : "failed";
    json_object_set_new(out, "verification",
                        json_pack("{s:s,s:o,s:b}", "state", vstate, "verified_at",
                                  time_or_null(rec->verified_at), "manifest_signature_valid",
                                  valid));
    audit_access(r, user, "recording.read", rec->id,
                 json_pack("{s:i}", "manifest_revision", rec->manifest_revision));
    vej__http_respond_json(r, 200, out);
}

/* ---- files ---- */

/* Whether `name` is one of the recording's signed files. */
static bool
name_is_signed(const char *dir, const char *name)
{
    static const char *const fixed[] = {"manifest.json", "manifest.sig", "SHA256SUMS",
                                        "SHA256SUMS.sig"};
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        if (strcmp(name, fixed[i]) == 0)
            return true;
    gsize len = 0;
    g_autofree char *sums = read_signed_file(dir, "SHA256SUMS", 16 << 20, &len);
    g_autoptr(GPtrArray) list = sums ? vej_sha256sums_parse(sums, len, NULL) : NULL;
    for (guint i = 0; list && i < list->len; i++)
        if (strcmp(((struct vej_manifest_file *)list->pdata[i])->name, name) == 0)
            return true;
    return false;
}

struct file_stream {
    int fd;
};

static gssize
file_stream_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct file_stream *f = ctx;
    ssize_t n;
    do
        n = read(f->fd, buf, cap);
    while (n < 0 && errno == EINTR);
    return n;
}

static void
file_stream_free(void *ctx)
{
    struct file_stream *f = ctx;
    close(f->fd);
    g_free(f);
}

/* Parses "bytes=A-B", "bytes=A-", "bytes=-N" for a file of `size` bytes.
 * 1: a satisfiable single range; 0: no (usable) Range header; -1: not
 * satisfiable (416). */
static int
parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!g_str_has_prefix(h, "bytes=") || strchr(h, ','))
        return 0;
    const char *spec = h + 6, *dash = strchr(spec, '-');
    if (dash == NULL)
        return 0;
    g_autofree char *a = g_strndup(spec, (gsize)(dash - spec));
    const char *b = dash + 1;
    guint64 va = 0, vb = 0;
    if (*a == '\0') { /* suffix */
        if (!g_ascii_string_to_unsigned(b, 10, 1, G_MAXUINT64, &vb, NULL))
            return 0;
        if (size == 0)
            return -1;
        *first = vb >= size ? 0 : size - vb;
        *last = size - 1;
        return 1;
    }
    if (!g_ascii_string_to_unsigned(a, 10, 0, G_MAXUINT64, &va, NULL))
        return 0;
    if (*b && !g_ascii_string_to_unsigned(b, 10, 0, G_MAXUINT64, &vb, NULL))
        return 0;
    if (*b && vb < va)
        return 0;
    if (va >= size)
        return -1;
    *first = va;
    *last = (*b && vb < size) ? vb : size - 1;
    return 1;
}

static void
recording_file(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
               const char *name, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    char reason[REASON_MAX + 8];
    if (!query_reason(r, reason, sizeof reason))
        return;
    g_autofree char *dir = recording_dir(s, rec);
    if (!vej_tar_name_safe(name) || !name_is_signed(dir, name))
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "no such file in this recording");
    g_autofree char *path = g_build_filename(dir, name, NULL);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND,
                                       rec->media_deleted_at > 0
                                           ? "the media was deleted at the end of retention"
                                           : "no such file in this recording");
    }
    uint64_t size = (uint64_t)st.st_size, first = 0, last = size ? size - 1 : 0;
    char range[128] = "";
    int ranged = vej__http_header(r, WSI_TOKEN_HTTP_RANGE, range, sizeof range) > 0
                     ? parse_range(range, size, &first, &last)
                     : 0;
    if (ranged < 0) {
        close(fd);
        return vej__http_respond_json(r, 416,
                                      json_pack("{s:{s:i,s:s}}", "error", "code",
                                                VEJ_RPC_INVALID_PARAMS, "message",
                                                "range not satisfiable"));
    }
    uint64_t length = ranged ? last - first + 1 : size;
    if (ranged && lseek(fd, (off_t)first, SEEK_SET) != (off_t)first) {
        close(fd);
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot seek");
    }
    g_autofree char *base = g_path_get_basename(name);
    g_autofree char *disposition = g_strdup_printf("attachment; filename=\"%s\"", base);
    g_autofree char *crange = g_strdup_printf(
        "bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, first, last, size);
    const char *headers[] = {"accept-ranges:",
                             "bytes",
                             "content-disposition:",
                             disposition,
                             ranged ? "content-range:" : NULL,
                             crange,
                             NULL};
    audit_access(r, user, "recording.download", rec->id,
                 json_pack("{s:s,s:I,s:I,s:s?}", "file", name, "offset", (json_int_t)first,
                           "length", (json_int_t)length, "reason", *reason ? reason : NULL));
    struct file_stream *fs = g_new0(struct file_stream, 1);
    fs->fd = fd;
    vej__http_respond_stream(r, ranged ? 206 : 200, "application/octet-stream", length, headers,
                             (struct vej_http_stream){file_stream_read, file_stream_free, fs});
}

/* ---- bundle ---- */

static gssize
bundle_stream_read(void *ctx, uint8_t *buf, size_t cap)
{
    return vej_bundle_read(ctx, buf, cap);
}

static void
bundle_stream_free(void *ctx)
{
    vej_bundle_free(ctx);
}

static void
recording_bundle(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
                 const char *unused, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    char reason[REASON_MAX + 8];
    if (!query_reason(r, reason, sizeof reason))
        return;
    if (rec->media_deleted_at > 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "the media was deleted at the end of retention");
    g_autofree char *dir = recording_dir(s, rec);
    g_autoptr(GError) error = NULL;
    vej_bundle *b = s->signer ? vej_bundle_new(dir, s->signer, &error) : NULL;
    if (b == NULL) {
        g_autofree char *cid = vej__correlation_id();
        g_warning("bundle %s [%s]: %s", rec->id, cid, error ? error->message : "no key");
        g_autofree char *msg =
            g_strdup_printf("the recording is not sealed or not readable (%s)", cid);
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT, msg);
    }
    g_autofree char *disposition = g_strdup_printf("attachment; filename=\"%s.tar\"", rec->id);
    const char *headers[] = {"content-disposition:", disposition, NULL};
    audit_access(r, user, "recording.download", rec->id,
                 json_pack("{s:s,s:I,s:s?}", "file", "bundle", "length",
                           (json_int_t)vej_bundle_size(b), "reason", *reason ? reason : NULL));
    vej__http_respond_stream(r, 200, "application/x-tar", vej_bundle_size(b), headers,
                             (struct vej_http_stream){bundle_stream_read, bundle_stream_free, b});
}

/* ---- verify (hashing on the worker pool) ---- */

struct verify_job {
    uint64_t req_id;
    char *dir;
    char *rec_id;
    char *user_id;
    char *peer;
    int64_t media_deleted_at;
    const vej_signer *signer;
    json_t *report; /* set by the worker */
    char *error;
};

static void
verify_work(void *data)
{
    struct verify_job *job = data;
    g_autoptr(GError) error = NULL;
    job->report = vej_manifest_verify_dir(job->dir, job->signer, &error);
    if (job->report == NULL)
        job->error = g_strdup(error ? error->message : "cannot verify");
}

static void
verify_done(struct vej_signalling *s, void *data)
{
    struct verify_job *job = data;
    bool ok = job->report && json_is_true(json_object_get(job->report, "ok"));
    struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
    u.verify_ok = ok ? 1 : 0;
    g_autoptr(GError) error = NULL;
    if (!vej_store_recording_update(s->store, job->rec_id, &u, &error))
        g_warning("recording %s: cannot store the verification: %s", job->rec_id, error->message);
    json_t *failed = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(job->report ? json_object_get(job->report, "files") : NULL, i, f)
    {
        if (json_is_true(json_object_get(f, "ok")))
            continue;
        json_array_append(failed, json_object_get(f, "name"));
        /* media gone by retention is said as such (the record still fails
         * "ok": the files it names are no longer there) */
        const char *problem = json_string_value(json_object_get(f, "problem"));
        if (job->media_deleted_at > 0 && problem && strcmp(problem, "missing or unreadable") == 0)
            json_object_set_new(f, "problem", json_string("deleted at the end of retention"));
    }
    vej__audit(s, job->user_id, "recording.verify", job->rec_id,
               json_pack("{s:b,s:o,s:s,s:s?}", "ok", ok, "failed_files", failed, "client_address",
                         job->peer, "error", job->error));
    struct vej_http_req *r = vej__http_req_lookup(s, job->req_id);
    if (r != NULL && job->report == NULL) {
        vej__http_respond_error(r, VEJ_RPC_CONFLICT, "the recording has no readable manifest");
    } else if (r != NULL) {
        json_object_set_new(job->report, "recording_id", json_string(job->rec_id));
        json_object_set_new(job->report, "media_deleted_at", time_or_null(job->media_deleted_at));
        vej__http_respond_json(r, 200, g_steal_pointer(&job->report));
    }
    json_decref(job->report);
    g_free(job->dir);
    g_free(job->rec_id);
    g_free(job->user_id);
    g_free(job->peer);
    g_free(job->error);
    g_free(job);
}

static void
recording_verify(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
                 const char *unused, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    if (s->signer == NULL)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT, "no signing key");
    struct verify_job *job = g_new0(struct verify_job, 1);
    job->req_id = vej__http_req_id(r);
    job->dir = recording_dir(s, rec);
    job->rec_id = g_strdup(rec->id);
    job->user_id = g_strdup(user->id);
    job->peer = g_strdup(vej__http_peer(r));
    job->media_deleted_at = rec->media_deleted_at;
    job->signer = s->signer;
    vej__hash_submit(s, verify_work, verify_done, job);
}

/* ---- legal hold ---- */

static void
recording_hold(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
               const char *unused, json_t *body)
{
    json_t *hold = json_object_get(body, "hold");
    json_t *reason = json_object_get(body, "reason");
    if (!json_is_boolean(hold))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS, "hold: must be true or false");
    const char *why = json_string_value(reason);
    if ((reason && !json_is_string(reason)) || (json_is_true(hold) && (!why || !*why)) ||
        (why && (strlen(why) > REASON_MAX || !g_utf8_validate(why, -1, NULL))))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "reason: required with hold: true, at most 500 bytes");
    if (json_is_true(hold) && rec->media_deleted_at > 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "the media was already deleted at the end of retention");
    struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
    u.legal_hold = json_is_true(hold) ? 1 : 0;
    u.legal_hold_reason = why ? why : "";
    u.legal_hold_by = user->id;
    g_autoptr(GError) error = NULL;
    struct vej_signalling *s = vej__http_server(r);
    if (!vej_store_recording_update(s->store, rec->id, &u, &error))
        return respond_store_error(r, error);
    audit_access(r, user, json_is_true(hold) ? "recording.hold" : "recording.release", rec->id,
                 json_pack("{s:s}", "reason", why ? why : ""));
    g_autoptr(vej_recording_row) now = vej_store_recording_get(s->store, rec->id, &error);
    if (now == NULL)
        return respond_store_error(r, error);
    vej__http_respond_json(r, 200, recording_json(now));
}

/* ---- routing ---- */

#define EVIDENTIAL VEJ_STAFF_EVIDENTIAL
#define EVIDENTIAL_OR_ADMIN (VEJ_STAFF_EVIDENTIAL | VEJ_STAFF_ADMIN)

/* POST .../archive: runs the archiver again on a finished recording and
 * seals a new manifest revision naming the one it replaces (the capture is
 * never touched). Answers 202 at once; the state goes archiving, then
 * archived. */
static void
recording_archive(struct vej_http_req *r, struct vej_user *user, struct vej_recording_row *rec,
                  const char *unused, json_t *body)
{
    json_t *reason = json_object_get(body, "reason");
    const char *why = json_string_value(reason);
    if ((reason && !json_is_string(reason)) ||
        (why && (strlen(why) > REASON_MAX || !g_utf8_validate(why, -1, NULL))))
        return vej__http_respond_error(r, VEJ_RPC_INVALID_PARAMS,
                                       "reason: printable text of at most 500 bytes");
    if (strcmp(rec->state, "recording") == 0 || strcmp(rec->state, "failed") == 0 ||
        strcmp(rec->state, "archiving") == 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "the recording is not finished, or is being archived");
    if (rec->media_deleted_at > 0)
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "the media was already deleted at the end of retention");
    struct vej_signalling *s = vej__http_server(r);
    if (!vej__recording_rearchive(s, rec->id))
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "the archiver cannot be started");
    audit_access(r, user, "recording.archive", rec->id,
                 json_pack("{s:s}", "reason", why ? why : ""));
    vej__http_respond_json(r, 202, json_pack("{s:s,s:s}", "id", rec->id, "state", "archiving"));
}

static const struct rec_route {
    const char *method;
    const char *tail; /* after recordings/{id}: "", "files", "bundle", ... */
    unsigned roles;
    rec_handler handler;
} rec_routes[] = {
    {"GET", "", EVIDENTIAL_OR_ADMIN, recording_show},
    {"GET", "files", EVIDENTIAL, recording_file},
    {"GET", "bundle", EVIDENTIAL, recording_bundle},
    {"POST", "archive", EVIDENTIAL, recording_archive},
    {"POST", "verify", EVIDENTIAL_OR_ADMIN, recording_verify},
    {"POST", "hold", EVIDENTIAL, recording_hold},
};

/* Authenticates any staff account, then applies the route's roles; a
 * refusal is audited. NULL after answering. */
static struct vej_user *
authorise(struct vej_http_req *r, unsigned roles, const char *what, const char *target)
{
    struct vej_user *user = vej__http_auth_staff(r, 0, false);
    if (user == NULL)
        return NULL;
    if (!(vej__staff_role_bit(user->role) & roles)) {
        audit_access(r, user, "recording.denied", target,
                     json_pack("{s:s,s:s}", "request", what, "role", user->role));
        vej__http_respond_error(r, VEJ_RPC_FORBIDDEN,
                                roles == EVIDENTIAL ? "only evidential staff may retrieve media"
                                                    : "this role may not read recordings");
        vej_user_free(user);
        return NULL;
    }
    return user;
}

static void
dispatch_one(struct vej_http_req *r, const char *method, char **segs, json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    guint n = g_strv_length(segs);
    const char *tail = n > 1 ? segs[1] : "";
    const struct rec_route *route = NULL;
    bool tail_known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(rec_routes); i++) {
        if (strcmp(rec_routes[i].tail, tail) != 0)
            continue;
        tail_known = true;
        if (strcmp(rec_routes[i].method, method) == 0)
            route = &rec_routes[i];
    }
    /* files/{name} takes the rest of the path; the others take nothing */
    bool shape = tail_known && (strcmp(tail, "files") == 0 ? n > 2 : n <= 2);
    if (route == NULL || !shape) {
        g_autoptr(vej_user) any = vej__http_auth_staff(r, 0, false);
        if (any)
            vej__http_respond_error(r, shape ? VEJ_RPC_METHOD_NOT_FOUND : VEJ_RPC_NOT_FOUND,
                                    shape ? "method not allowed" : "not found");
        return;
    }
    g_autofree char *what = g_strdup_printf("%s %s", method, *tail ? tail : "manifest");
    g_autoptr(vej_user) user = authorise(r, route->roles, what, segs[0]);
    if (user == NULL)
        return;
    if (!rec_id_valid(segs[0]))
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "recording not found");
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_recording_row) rec = vej_store_recording_get(s->store, segs[0], &error);
    if (rec == NULL)
        return respond_store_error(r, error);
    if (!courtroom_scope_allows(s, user, rec->courtroom_id))
        return vej__http_respond_error(r, VEJ_RPC_FORBIDDEN, "not a recording of your courtrooms");
    g_autofree char *name = n > 2 ? g_strjoinv("/", segs + 2) : NULL;
    route->handler(r, user, rec, name, body);
}

bool
vej__rest_recordings_dispatch(struct vej_http_req *r, const char *method, const char *path,
                              json_t *body)
{
    const char *prefix = "/api/v1/recordings";
    if (!g_str_has_prefix(path, prefix) ||
        (path[strlen(prefix)] != '\0' && path[strlen(prefix)] != '/'))
        return false;
    const char *rest = path + strlen(prefix);
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(method, "GET") != 0) {
            g_autoptr(vej_user) any = vej__http_auth_staff(r, 0, false);
            if (any)
                vej__http_respond_error(r, VEJ_RPC_METHOD_NOT_FOUND, "method not allowed");
            return true;
        }
        g_autoptr(vej_user) user = authorise(r, EVIDENTIAL_OR_ADMIN, "GET list", "");
        if (user)
            recordings_list(r, user);
        return true;
    }
    g_auto(GStrv) segs = g_strsplit(rest + 1, "/", 8);
    for (guint i = 0; segs[i]; i++) {
        if (segs[i][0] == '\0') {
            g_autoptr(vej_user) any = vej__http_auth_staff(r, 0, false);
            if (any)
                vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "not found");
            return true;
        }
    }
    dispatch_one(r, method, segs, body);
    return true;
}

/* ---- retention ---- */

static void
sweep_audit(void *ctx, const char *rec_id, const char *detail_json)
{
    struct vej_signalling *s = ctx;
    vej__audit(s, "system", "recording.media_deleted", rec_id, json_loads(detail_json, 0, NULL));
}

void
vej__recordings_sweep(struct vej_signalling *s)
{
    g_autoptr(GError) error = NULL;
    int n = vej_retention_sweep(s->store, s->config->data_dir, g_get_real_time() / G_USEC_PER_SEC,
                                sweep_audit, s, &error);
    if (n < 0)
        g_warning("retention sweep: %s", error->message);
    else if (n > 0)
        g_message("retention sweep: media of %d recording(s) deleted", n);
}
