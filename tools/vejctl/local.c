/* local.c - the vejctl commands that work directly on the data directory:
 * `user add` and `audit verify`. They open DATA_DIR/vej.db through store/,
 * which may be shared with a running gateway (SQLite WAL, BEGIN IMMEDIATE
 * appends). */
#include "tools/vejctl/vejctl.h"
#include "recording/audit-heads.h"
#include "recording/sign.h"
#include "store/audit.h"
#include "store/password.h"
#include "store/store.h"
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#define DB_NAME "vej.db"

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

/* DATA_DIR/vej.db of an existing data directory: a mistyped --data-dir must
 * not quietly create a new, empty database. */
static char *
database_path(const struct vejctl_args *a, gboolean must_exist, GError **error)
{
    if (!g_file_test(a->data_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                    "%s: no such data directory (set --data-dir or VEJ_DATA_DIR)", a->data_dir);
        return NULL;
    }
    char *path = g_build_filename(a->data_dir, DB_NAME, NULL);
    if (must_exist && !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED,
                    "%s: no database (has vej-gateway run with this data directory?)", path);
        g_free(path);
        return NULL;
    }
    return path;
}

/* The encoded password hash for a new account, or NULL. */
static char *
new_password_hash(GError **error)
{
    char *password = vejctl_read_password(stdin, "Password: ", TRUE, error);
    if (password == NULL)
        return NULL;
    const char *why = vej_password_check_policy(password);
    char *hash = NULL;
    if (why != NULL)
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "password refused: %s", why);
    else
        hash = vej_password_hash(password, error);
    vejctl_secret_free(password);
    return hash;
}

static int
user_add(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *db = database_path(a, FALSE, &error);
    if (db == NULL)
        return fail(error);
    g_autofree char *hash = new_password_hash(&error);
    if (hash == NULL)
        return fail(error);

    g_autoptr(vej_store) store = vej_store_open(db, &error);
    if (store == NULL)
        return fail(error);
    g_autoptr(vej_user) user = vej_store_user_create(store, a->name, a->role, hash, false, &error);
    if (user == NULL && g_error_matches(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT)) {
        fprintf(stderr, "vejctl: user \"%s\" already exists\n", a->name);
        return VEJCTL_ERROR_FAILED;
    }
    if (user == NULL)
        return fail(error);
    /* Staff act only in the courtrooms they are assigned to. */
    g_auto(GStrv) crts = a->courtrooms && strcmp(a->courtrooms, "none") != 0
                             ? g_strsplit(a->courtrooms, ",", -1)
                             : g_new0(char *, 1);
    for (size_t i = 0; crts[i] != NULL; i++)
        g_strstrip(crts[i]);
    if (!vej_store_user_set_courtrooms(store, user->id, (const char *const *)crts,
                                       g_strv_length(crts), &error)) {
        fprintf(stderr, "vejctl: user %s (%s) was created, but not assigned: %s\n", user->username,
                user->id, error->message);
        return VEJCTL_ERROR_FAILED;
    }
    g_clear_pointer(&store, vej_store_close);

    json_t *crt_list = json_array();
    for (size_t i = 0; crts[i] != NULL; i++)
        json_array_append_new(crt_list, json_string(crts[i]));
    g_autoptr(json_t) detail = json_pack("{s:s,s:o}", "role", user->role, "courtrooms", crt_list);
    char *detail_text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    gboolean audited = detail_text != NULL && vej_audit_append_sync(db, "vejctl", "user.create",
                                                                    user->id, detail_text, &error);
    free(detail_text);
    if (!audited) {
        fprintf(stderr,
                "vejctl: user %s (%s) was created, but its audit entry was not written: "
                "%s\n",
                user->username, user->id, error != NULL ? error->message : "cannot encode it");
        return VEJCTL_ERROR_FAILED;
    }
    if (a->json) {
        g_autoptr(json_t) out = json_pack("{s:s,s:s,s:s}", "id", user->id, "username",
                                          user->username, "role", user->role);
        return print_json(out);
    }
    printf("user %s created: %s, role %s\n", user->id, user->username, user->role);
    return fflush(stdout) == 0 ? 0 : VEJCTL_ERROR_FAILED;
}

/* The key that signed the heads: --key (a public PEM), else the data
 * directory's (or --config's) signing key. (transfer full) */
static vej_signer *
trusted_key(const struct vejctl_args *a, GError **error)
{
    if (a->key != NULL) {
        g_autofree char *pem = NULL;
        gsize len = 0;
        if (!g_file_get_contents(a->key, &pem, &len, error))
            return NULL;
        vej_signer *v = vej_signer_from_public_pem(pem, len, error);
        if (v == NULL)
            g_prefix_error(error, "%s: ", a->key);
        return v;
    }
    g_autofree char *path = NULL;
    if (a->config != NULL) {
        g_autoptr(vej_config) config = vej_config_new();
        if (!vej_config_load_file(config, a->config, error))
            return NULL;
        if (config->signing_key && *config->signing_key)
            path = g_strdup(config->signing_key);
    }
    if (path == NULL)
        path = vej_signer_default_path(a->data_dir);
    return vej_signer_load(path, FALSE, error);
}

/* Checks DATA_DIR/audit-heads.log; prints and returns the exit status, or
 * -1 when everything is fine (*n_heads set). */
static int
verify_signed_heads(const struct vejctl_args *a, const char *db, int64_t *n_heads)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_signer) key = trusted_key(a, &error);
    if (key == NULL)
        return fail(error);
    g_autofree char *heads = vej_audit_heads_path(a->data_dir);
    if (vej_audit_heads_check(db, heads, key, n_heads, NULL, &error))
        return -1;
    if (a->json) {
        g_autoptr(json_t) out = json_pack("{s:b,s:s,s:s}", "ok", 0, "reason", error->message,
                                          "key_fingerprint", vej_signer_fingerprint(key));
        print_json(out);
    } else {
        printf("audit log does not match its signed heads\n");
        fflush(stdout);
        fprintf(stderr, "vejctl: %s\n", error->message);
    }
    return VEJCTL_ERROR_FAILED;
}

static int
audit_verify(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *db = database_path(a, TRUE, &error);
    if (db == NULL)
        return fail(error);
    int64_t count = 0, first_bad = 0, head_seq = 0;
    uint8_t head[32] = {0};
    if (!vej_audit_verify(db, &count, &first_bad, &error)) {
        if (first_bad <= 0)
            return fail(error);
        const char *why = error != NULL ? error->message : "hash mismatch";
        if (a->json) {
            g_autoptr(json_t) out =
                json_pack("{s:b,s:I,s:I,s:s}", "ok", 0, "entries_checked", (json_int_t)count,
                          "first_bad_seq", (json_int_t)first_bad, "reason", why);
            print_json(out);
        } else {
            printf("audit chain broken: first bad entry seq %" G_GINT64_FORMAT "\n", first_bad);
            fflush(stdout);
            fprintf(stderr, "vejctl: %s\n", why);
        }
        return VEJCTL_ERROR_FAILED;
    }
    if (!vej_audit_head(db, &head_seq, head, &error))
        return fail(error);
    int64_t n_heads = 0;
    int status = verify_signed_heads(a, db, &n_heads);
    if (status >= 0)
        return status;
    g_autofree char *hex = vejctl_hex(head, sizeof head);
    if (a->json) {
        g_autoptr(json_t) out =
            json_pack("{s:b,s:I,s:I,s:s,s:I}", "ok", 1, "entries", (json_int_t)count, "head_seq",
                      (json_int_t)head_seq, "head_hash", hex, "signed_heads", (json_int_t)n_heads);
        return print_json(out);
    }
    if (n_heads == 0)
        fprintf(stderr, "vejctl: warning: no signed audit heads yet (DATA_DIR/audit-heads.log)\n");
    printf("audit chain intact: %" G_GINT64_FORMAT " entries, head %" G_GINT64_FORMAT " %s; "
           "%" G_GINT64_FORMAT " signed heads match\n",
           count, head_seq, hex, n_heads);
    return fflush(stdout) == 0 ? 0 : VEJCTL_ERROR_FAILED;
}

int
vejctl_run_local(const struct vejctl_args *a)
{
    switch (a->command) {
    case VEJCTL_USER_ADD:
        return user_add(a);
    case VEJCTL_AUDIT_VERIFY:
        return audit_verify(a);
    default:
        g_assert_not_reached();
    }
    return VEJCTL_ERROR_FAILED;
}
