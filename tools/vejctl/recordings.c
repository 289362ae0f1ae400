/* recordings.c - `vejctl recordings ...`: REST commands (list, show,
 * download, verify REC_ID, hold), local commands on the data directory
 * (seal, sweep) and the offline bundle check (verify BUNDLE).
 *
 * The offline check needs nothing but the bundle and, ideally, the court's
 * published public key: it is what a defence expert runs years later.
 */
#include "tools/vejctl/vejctl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "recording/bundle.h"
#include "recording/manifest.h"
#include "recording/retention.h"
#include "recording/seal.h"
#include "recording/sign.h"
#include "store/audit.h"
#include "store/store.h"

static int
fail(const GError *error)
{
    fprintf(stderr, "vejctl: %s\n", error->message);
    return error->domain == VEJCTL_ERROR ? error->code : VEJCTL_ERROR_FAILED;
}

static int
print_json(json_t *value)
{
    g_autofree char *text = vejctl_format_json(value);
    printf("%s\n", text);
    return fflush(stdout) == 0 ? 0 : VEJCTL_ERROR_FAILED;
}

/* Text from a server or a bundle, safe for a terminal. */
static void
put_safe(GString *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++)
        g_string_append_c(out, ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p);
}

static bool
is_rec_id(const char *s)
{
    if (strlen(s) != 20 || strncmp(s, "rec_", 4) != 0)
        return false;
    for (int i = 4; i < 20; i++)
        if (!g_ascii_isxdigit(s[i]))
            return false;
    return true;
}

/* ---- offline bundle check ---- */

static gssize
file_read(void *ctx, uint8_t *buf, size_t len)
{
    FILE *f = ctx;
    size_t n = fread(buf, 1, len, f);
    if (n == 0 && ferror(f))
        return -1;
    return (gssize)n;
}

static vej_signer *
load_public_key(const char *path, GError **error)
{
    g_autofree char *pem = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &pem, &len, error))
        return NULL;
    vej_signer *k = vej_signer_from_public_pem(pem, len, error);
    if (k == NULL)
        g_prefix_error(error, "%s: ", path);
    return k;
}

static int
verify_bundle(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_signer) key = a->key ? load_public_key(a->key, &error) : NULL;
    if (a->key && key == NULL)
        return fail(error);
    FILE *f = fopen(a->target, "rb");
    if (f == NULL) {
        fprintf(stderr, "vejctl: %s: %s\n", a->target, g_strerror(errno));
        return VEJCTL_ERROR_FAILED;
    }
    g_autoptr(json_t) report = vej_bundle_verify(file_read, f, key, &error);
    fclose(f);
    if (report == NULL) {
        fprintf(stderr, "vejctl: %s: not a readable bundle: %s\n", a->target, error->message);
        return VEJCTL_ERROR_FAILED;
    }
    bool ok = json_is_true(json_object_get(report, "ok"));
    if (a->json) {
        print_json(report);
        return ok ? 0 : VEJCTL_ERROR_FAILED;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    const char *fp = json_string_value(json_object_get(report, "key_fingerprint"));
    const char *src = json_string_value(json_object_get(report, "key_source"));
    g_string_append(out, "recording ");
    put_safe(out, json_string_value(json_object_get(report, "recording_id")));
    g_string_append_printf(out, "\nkey fingerprint %s (%s)\n", fp ? fp : "(none)",
                           src && strcmp(src, "given") == 0
                               ? "the key given with --key"
                               : "the bundle's own key: compare it with the court's published one");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(report, "files"), i, v)
    {
        if (json_is_true(json_object_get(v, "ok")))
            continue;
        g_string_append(out, "FAILED ");
        put_safe(out, json_string_value(json_object_get(v, "name")));
        g_string_append(out, ": ");
        put_safe(out, json_string_value(json_object_get(v, "problem")));
        g_string_append_c(out, '\n');
    }
    json_array_foreach(json_object_get(report, "problems"), i, v)
    {
        g_string_append(out, "FAILED ");
        put_safe(out, json_string_value(v));
        g_string_append_c(out, '\n');
    }
    g_string_append_printf(out, "%s: %zu files checked, %s\n", ok ? "OK" : "NOT VERIFIED",
                           json_array_size(json_object_get(report, "files")),
                           ok ? "every hash and both signatures verify"
                              : "the bundle is not what the gateway sealed");
    fputs(out->str, stdout);
    return ok ? 0 : VEJCTL_ERROR_FAILED;
}

/* ---- local: seal and sweep ---- */

static char *
signing_key_path(const struct vejctl_args *a)
{
    if (a->config != NULL) {
        g_autoptr(vej_config) config = vej_config_new();
        if (vej_config_load_file(config, a->config, NULL) && config->signing_key &&
            *config->signing_key)
            return g_strdup(config->signing_key);
    }
    return vej_signer_default_path(a->data_dir);
}

static int
seal(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    if (!is_rec_id(a->target)) {
        fprintf(stderr, "vejctl: REC_ID: not a recording id (rec_ and 16 hex digits)\n");
        return VEJCTL_ERROR_USAGE;
    }
    g_autofree char *db = g_build_filename(a->data_dir, "vej.db", NULL);
    if (!g_file_test(db, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "vejctl: %s: no database\n", db);
        return VEJCTL_ERROR_FAILED;
    }
    g_autofree char *key_path = signing_key_path(a);
    g_autoptr(vej_signer) key = vej_signer_load(key_path, FALSE, &error);
    g_autoptr(vej_store) store = key ? vej_store_open(db, &error) : NULL;
    if (store == NULL)
        return fail(error);
    g_autofree char *hex = NULL;
    int rev = vej_recording_seal(store, db, a->data_dir, key, a->target, &hex, &error);
    if (rev == 0)
        return fail(error);
    g_autofree char *detail =
        g_strdup_printf("{\"manifest_sha256\":\"%s\",\"revision\":%d}", hex, rev);
    if (!vej_audit_append_sync(db, "vejctl", "recording.seal", a->target, detail, &error))
        return fail(error);
    if (a->json) {
        g_autoptr(json_t) out =
            json_pack("{s:s,s:i,s:s}", "id", a->target, "revision", rev, "manifest_sha256", hex);
        return print_json(out);
    }
    printf("recording %s sealed: manifest revision %d, sha256 %s\n", a->target, rev, hex);
    return fflush(stdout) == 0 ? 0 : VEJCTL_ERROR_FAILED;
}

struct sweep_ctx {
    const char *db;
    int failures;
};

static void
sweep_audit(void *ctx, const char *rec_id, const char *detail)
{
    struct sweep_ctx *c = ctx;
    g_autoptr(GError) error = NULL;
    if (!vej_audit_append_sync(c->db, "vejctl", "recording.media_deleted", rec_id, detail,
                               &error)) {
        fprintf(stderr, "vejctl: %s: the audit entry was not written: %s\n", rec_id,
                error->message);
        c->failures++;
    }
}

static int
sweep(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *db = g_build_filename(a->data_dir, "vej.db", NULL);
    if (!g_file_test(db, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "vejctl: %s: no database\n", db);
        return VEJCTL_ERROR_FAILED;
    }
    g_autoptr(vej_store) store = vej_store_open(db, &error);
    if (store == NULL)
        return fail(error);
    struct sweep_ctx ctx = {db, 0};
    int n = vej_retention_sweep(store, a->data_dir, g_get_real_time() / G_USEC_PER_SEC, sweep_audit,
                                &ctx, &error);
    if (n < 0)
        return fail(error);
    printf("retention sweep: media of %d recording(s) deleted\n", n);
    return ctx.failures ? VEJCTL_ERROR_FAILED : 0;
}

/* ---- REST ---- */

static char *
esc(const char *s)
{
    return g_uri_escape_string(s, NULL, FALSE);
}

static int
list(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(GString) path = g_string_new("/api/v1/recordings?limit=200");
    const char *keys[] = {"case_reference", "courtroom_id", "from", "to"};
    const char *vals[] = {a->case_reference, a->courtroom, a->from_text, a->to_text};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (vals[i] == NULL)
            continue;
        g_autofree char *e = esc(vals[i]);
        g_string_append_printf(path, "&%s=%s", keys[i], e);
    }
    g_autoptr(json_t) answer = vejctl_get_all(c, path->str, error);
    if (answer == NULL)
        return -1;
    if (a->json)
        return print_json(answer);
    g_autoptr(GString) out = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(answer, "items"), i, v)
    {
        const char *fields[] = {"id", "case_reference", "courtroom_id", "state", "started_at"};
        for (size_t k = 0; k < G_N_ELEMENTS(fields); k++) {
            put_safe(out, json_string_value(json_object_get(v, fields[k])));
            g_string_append_c(out, k + 1 < G_N_ELEMENTS(fields) ? '\t' : '\n');
        }
    }
    if (out->len == 0)
        g_string_append(out, "no recordings\n");
    fputs(out->str, stdout);
    return 0;
}

static int
show(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *id = esc(a->target);
    g_autofree char *path = g_strdup_printf("/api/v1/recordings/%s", id);
    g_autoptr(json_t) answer = vejctl_request(c, "GET", path, NULL, TRUE, error);
    if (answer == NULL)
        return -1;
    if (a->json)
        return print_json(answer);
    g_autoptr(GString) out = g_string_new("recording ");
    put_safe(out, json_string_value(json_object_get(answer, "id")));
    g_string_append(out, "\ncase ");
    put_safe(out, json_string_value(json_object_get(answer, "case_reference")));
    g_string_append(out, ", state ");
    put_safe(out, json_string_value(json_object_get(answer, "state")));
    json_t *sig = json_object_get(answer, "signature");
    g_string_append_printf(out, "\nmanifest revision %d, signature %s\n",
                           (int)json_integer_value(json_object_get(answer, "manifest_revision")),
                           json_is_true(json_object_get(sig, "valid")) ? "valid" : "NOT VALID");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(answer, "files"), i, v)
    {
        g_string_append_printf(out, "  %12" G_GINT64_FORMAT "  ",
                               (gint64)json_integer_value(json_object_get(v, "size")));
        put_safe(out, json_string_value(json_object_get(v, "sha256")));
        g_string_append(out, "  ");
        put_safe(out, json_string_value(json_object_get(v, "name")));
        g_string_append_c(out, '\n');
    }
    fputs(out->str, stdout);
    return 0;
}

static int
download(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *id = esc(a->target);
    g_autoptr(GString) path = g_string_new(NULL);
    if (a->file) {
        g_autofree char *f = g_uri_escape_string(a->file, "/", FALSE);
        g_string_printf(path, "/api/v1/recordings/%s/files/%s", id, f);
    } else {
        g_string_printf(path, "/api/v1/recordings/%s/bundle", id);
    }
    if (a->reason) {
        g_autofree char *r = esc(a->reason);
        g_string_append_printf(path, "?reason=%s", r);
    }
    g_autofree char *base = a->file ? g_path_get_basename(a->file) : NULL;
    g_autofree char *out_path = a->output ? g_strdup(a->output)
                                : a->file ? g_strdup(base)
                                          : g_strdup_printf("%s.tar", a->target);
    g_autofree char *tmp = g_strdup_printf("%s.part", out_path);
    FILE *out = fopen(tmp, "wbx");
    if (out == NULL) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
        return -1;
    }
    gboolean ok = vejctl_download(c, path->str, out, error);
    if (fclose(out) != 0 && ok) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
        ok = FALSE;
    }
    if (!ok || rename(tmp, out_path) != 0) {
        if (ok)
            g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "%s: %s", out_path,
                        g_strerror(errno));
        (void)remove(tmp);
        return -1;
    }
    fprintf(stderr, "downloaded to %s%s\n", out_path,
            a->file ? "" : " (check it with: vejctl recordings verify FILE --key COURT-KEY.pem)");
    return 0;
}

static int
verify_remote(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *id = esc(a->target);
    g_autofree char *path = g_strdup_printf("/api/v1/recordings/%s/verify", id);
    g_autoptr(json_t) body = json_object();
    g_autoptr(json_t) answer = vejctl_request(c, "POST", path, body, TRUE, error);
    if (answer == NULL)
        return -1;
    bool ok = json_is_true(json_object_get(answer, "ok"));
    if (a->json) {
        print_json(answer);
        return ok ? 0 : VEJCTL_ERROR_FAILED;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(answer, "files"), i, v)
    {
        bool fok = json_is_true(json_object_get(v, "ok"));
        g_string_append(out, fok ? "ok      " : "FAILED  ");
        put_safe(out, json_string_value(json_object_get(v, "name")));
        if (!fok) {
            g_string_append(out, ": ");
            put_safe(out, json_string_value(json_object_get(v, "problem")));
        }
        g_string_append_c(out, '\n');
    }
    g_string_append(out, ok ? "OK: every file and both signatures verify\n" : "NOT VERIFIED\n");
    fputs(out->str, stdout);
    return ok ? 0 : VEJCTL_ERROR_FAILED;
}

static int
hold(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *id = esc(a->target);
    g_autofree char *path = g_strdup_printf("/api/v1/recordings/%s/hold", id);
    g_autoptr(json_t) body =
        json_pack("{s:b,s:s}", "hold", !a->release, "reason", a->reason ? a->reason : "");
    g_autoptr(json_t) answer = vejctl_request(c, "POST", path, body, TRUE, error);
    if (answer == NULL)
        return -1;
    if (a->json)
        return print_json(answer);
    printf("recording %s: legal hold %s\n", a->target, a->release ? "released" : "set");
    return 0;
}

static int
run_rest(const struct vejctl_args *a)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "vejctl: cannot initialize libcurl\n");
        return VEJCTL_ERROR_FAILED;
    }
    g_autoptr(GError) error = NULL;
    int status = -1;
    vejctl_client *c = vejctl_client_new(a, &error);
    if (c != NULL) {
        switch (a->command) {
        case VEJCTL_RECORDINGS_LIST:
            status = list(c, a, &error);
            break;
        case VEJCTL_RECORDINGS_SHOW:
            status = show(c, a, &error);
            break;
        case VEJCTL_RECORDINGS_DOWNLOAD:
            status = download(c, a, &error);
            break;
        case VEJCTL_RECORDINGS_VERIFY:
            status = verify_remote(c, a, &error);
            break;
        default:
            status = hold(c, a, &error);
            break;
        }
        vejctl_client_free(c);
    }
    curl_global_cleanup();
    return status >= 0 ? status : fail(error);
}

int
vejctl_run_recordings(const struct vejctl_args *a)
{
    switch (a->command) {
    case VEJCTL_RECORDINGS_SEAL:
        return seal(a);
    case VEJCTL_RECORDINGS_SWEEP:
        return sweep(a);
    case VEJCTL_RECORDINGS_VERIFY:
        if (g_file_test(a->target, G_FILE_TEST_IS_REGULAR) || !is_rec_id(a->target))
            return verify_bundle(a);
        return run_rest(a);
    default:
        return run_rest(a);
    }
}
