/* rest.c - the vejctl commands that go through the gateway's REST API. */
#include "tools/vejctl/vejctl.h"

#include <string.h>
#include <unistd.h>

static int
fail(const GError *error)
{
    fprintf(stderr, "vejctl: %s\n", error->message);
    return error->domain == VEJCTL_ERROR ? error->code : VEJCTL_ERROR_FAILED;
}

/* Prints the answer: its JSON with --json, else the formatter's text. */
static int
emit(const struct vejctl_args *a, json_t *answer, GString *text)
{
    if (a->json) {
        g_autofree char *dump = vejctl_format_json(answer);
        printf("%s\n", dump);
    } else {
        fputs(text->str, stdout);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "vejctl: cannot write the output\n");
        return VEJCTL_ERROR_FAILED;
    }
    return 0;
}

/* json_pack() fails on text that is not UTF-8 (a password may be): say so
 * instead of sending no body. */
static gboolean
packed(json_t *body, GError **error)
{
    if (body == NULL)
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE,
                    "cannot encode the request: text must be UTF-8");
    return body != NULL;
}

static int
courtroom_add(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) body = json_pack("{s:s,s:i,s:s}", "name", a->name, "retention_days",
                                       a->retention_days, "time_zone", a->time_zone);
    if (!packed(body, error))
        return -1;
    g_autoptr(json_t) answer = vejctl_request(c, "POST", "/api/v1/courtrooms", body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_courtroom(text, answer);
    return emit(a, answer, text);
}

static int
courtroom_list(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) answer = vejctl_get_all(c, "/api/v1/courtrooms", error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_courtrooms(text, json_object_get(answer, "items"));
    return emit(a, answer, text);
}

static int
hearing_schedule(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "courtroom_id", a->courtroom,
                                       "case_reference", a->case_reference, "title", a->title,
                                       "starts_at", a->starts_at, "ends_at", a->ends_at);
    if (!packed(body, error))
        return -1;
    g_autoptr(json_t) answer = vejctl_request(c, "POST", "/api/v1/hearings", body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_hearing_created(text, answer);
    return emit(a, answer, text);
}

static int
hearing_list(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *path = vejctl_path_hearing_list(a->courtroom, a->date);
    g_autoptr(json_t) answer = vejctl_get_all(c, path, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_hearings(text, json_object_get(answer, "items"));
    return emit(a, answer, text);
}

static int
hearing_show(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *path = vejctl_path_hearing(a->hearing_id, NULL);
    g_autoptr(json_t) answer = vejctl_request(c, "GET", path, NULL, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_hearing(text, answer);
    return emit(a, answer, text);
}

static int
hearing_state(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autofree char *path = vejctl_path_hearing(a->hearing_id, "/state");
    g_autoptr(json_t) body = json_pack("{s:s}", "state", a->state);
    if (!packed(body, error))
        return -1;
    g_autoptr(json_t) answer = vejctl_request(c, "POST", path, body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_state(text, a->hearing_id, answer, a->state);
    return emit(a, answer, text);
}

static int
participant_add(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    json_t *screened = json_array();
    for (size_t i = 0; a->screened_from[i] != NULL; i++)
        json_array_append_new(screened, json_string(a->screened_from[i]));
    g_autoptr(json_t) body = json_pack("{s:s,s:s,s:{s:o,s:b,s:b}}", "display_name", a->name, "role",
                                       a->role, "special_measures", "screened_from", screened,
                                       "audio_only", a->audio_only, "anonymous", a->anonymous);
    if (!packed(body, error))
        return -1;
    g_autofree char *path = vejctl_path_hearing(a->hearing_id, "/participants");
    g_autoptr(json_t) answer = vejctl_request(c, "POST", path, body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_participant_created(text, a->hearing_id, answer);
    return emit(a, answer, text);
}

/* Wipes a JSON string's text in place (it held a password). */
static void
wipe_string(json_t *s)
{
    if (json_is_string(s))
        explicit_bzero((char *)json_string_value(s), json_string_length(s));
}

static int
login(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    char *password = vejctl_read_password(stdin, "Password: ", FALSE, error);
    if (password == NULL)
        return -1;
    g_autoptr(json_t) body = json_pack("{s:s,s:s}", "username", a->user, "password", password);
    vejctl_secret_free(password);
    if (!packed(body, error))
        return -1;
    g_autoptr(json_t) answer = vejctl_request(c, "POST", "/api/v1/login", body, FALSE, error);
    wipe_string(json_object_get(body, "password"));
    if (answer == NULL)
        return -1;
    json_t *token = json_object_get(answer, "token");
    if (!json_is_string(token)) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "the answer has no token");
        return -1;
    }
    if (a->json) {
        g_autoptr(GString) none = g_string_new(NULL);
        return emit(a, answer, none);
    }
    /* The token alone on standard output: export VEJ_TOKEN=$(vejctl login ...). */
    g_autofree char *role = g_strdup(json_string_value(json_object_get(answer, "role")));
    g_autofree char *expires = g_strdup(json_string_value(json_object_get(answer, "expires_at")));
    g_autoptr(GString) text = g_string_new(json_string_value(token));
    g_string_append_c(text, '\n');
    int status = emit(a, answer, text);
    explicit_bzero(text->str, text->len);
    if (status == 0)
        fprintf(stderr, "logged in as %s (%s) until %s; export the token as VEJ_TOKEN\n", a->user,
                role != NULL ? role : "?", expires != NULL ? expires : "?");
    return status;
}

/* ---- staff accounts (admin) ---- */

static json_t *
courtrooms_json(const char *text)
{
    json_t *list = json_array();
    if (strcmp(text, "none") == 0)
        return list;
    g_auto(GStrv) ids = g_strsplit(text, ",", -1);
    for (size_t i = 0; ids[i] != NULL; i++)
        json_array_append_new(list, json_string(g_strstrip(ids[i])));
    return list;
}

/* The usr_ id of USER (an id, or a username looked up in the list). */
static char *
user_id_of(vejctl_client *c, const char *user, GError **error)
{
    if (g_str_has_prefix(user, "usr_"))
        return g_strdup(user);
    g_autoptr(json_t) all = vejctl_get_all(c, "/api/v1/users", error);
    if (all == NULL)
        return NULL;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(all, "items"), i, u)
    {
        if (g_strcmp0(json_string_value(json_object_get(u, "username")), user) == 0)
            return g_strdup(json_string_value(json_object_get(u, "id")));
    }
    g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "no account named \"%s\"", user);
    return NULL;
}

static int
user_list(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) answer = vejctl_get_all(c, "/api/v1/users", error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_users(text, json_object_get(answer, "items"));
    return emit(a, answer, text);
}

static int
user_create(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) body =
        json_pack("{s:s,s:s,s:o}", "username", a->name, "role", a->role, "courtrooms",
                  courtrooms_json(a->courtrooms ? a->courtrooms : "none"));
    if (!packed(body, error))
        return -1;
    g_autoptr(json_t) answer = vejctl_request(c, "POST", "/api/v1/users", body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_user(text, answer);
    int status = emit(a, answer, text);
    wipe_string(json_object_get(answer, "password"));
    explicit_bzero(text->str, text->len);
    return status;
}

/* PATCH /users/{id} with `body` (stolen). */
static int
user_patch(vejctl_client *c, const struct vejctl_args *a, json_t *body, GError **error)
{
    g_autoptr(json_t) owned = body;
    g_autofree char *id = user_id_of(c, a->target, error);
    if (id == NULL)
        return -1;
    g_autofree char *path = g_strconcat("/api/v1/users/", id, NULL);
    g_autoptr(json_t) answer = vejctl_request(c, "PATCH", path, owned, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    vejctl_format_user(text, answer);
    return emit(a, answer, text);
}

static int
user_set(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    json_t *body = json_object();
    if (a->role)
        json_object_set_new(body, "role", json_string(a->role));
    if (a->courtrooms)
        json_object_set_new(body, "courtrooms", courtrooms_json(a->courtrooms));
    return user_patch(c, a, body, error);
}

/* POST /users/{id}/<action> with an empty body. */
static int
user_action(vejctl_client *c, const struct vejctl_args *a, const char *action, GError **error)
{
    g_autofree char *id = user_id_of(c, a->target, error);
    if (id == NULL)
        return -1;
    g_autofree char *path = g_strconcat("/api/v1/users/", id, "/", action, NULL);
    g_autoptr(json_t) body = json_object();
    g_autoptr(json_t) answer = vejctl_request(c, "POST", path, body, TRUE, error);
    if (answer == NULL)
        return -1;
    g_autoptr(GString) text = g_string_new(NULL);
    json_t *pw = json_object_get(answer, "password");
    if (json_is_string(pw))
        g_string_append_printf(text,
                               "one-time password for %s (shown once; to be changed at first "
                               "login): %s\n",
                               id, json_string_value(pw));
    else
        g_string_append_printf(text, "%s: every token and session ended\n", id);
    int status = emit(a, answer, text);
    wipe_string(pw);
    explicit_bzero(text->str, text->len);
    return status;
}

static int
run_user(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    switch (a->command) {
    case VEJCTL_USER_LIST:
        return user_list(c, a, error);
    case VEJCTL_USER_CREATE:
        return user_create(c, a, error);
    case VEJCTL_USER_SET:
        return user_set(c, a, error);
    case VEJCTL_USER_DISABLE:
        return user_patch(c, a, json_pack("{s:b}", "disabled", 1), error);
    case VEJCTL_USER_ENABLE:
        return user_patch(c, a, json_pack("{s:b}", "disabled", 0), error);
    case VEJCTL_USER_RESET_PASSWORD:
        return user_action(c, a, "password-reset", error);
    case VEJCTL_USER_REVOKE:
        return user_action(c, a, "sessions/revoke", error);
    case VEJCTL_USER_TOTP_RESET:
        return user_action(c, a, "totp-reset", error);
    default:
        g_assert_not_reached();
    }
}

static int
keys(vejctl_client *c, const struct vejctl_args *a, GError **error)
{
    g_autoptr(json_t) answer = vejctl_request(c, "GET", "/api/v1/keys", NULL, TRUE, error);
    if (answer == NULL)
        return -1;
    const char *fp = json_string_value(json_object_get(answer, "fingerprint"));
    const char *pem = json_string_value(json_object_get(answer, "public_key_pem"));
    if (fp == NULL || pem == NULL) {
        g_set_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED, "the answer has no key");
        return -1;
    }
    g_autoptr(GString) text = g_string_new(NULL);
    g_string_append_printf(text, "algorithm Ed25519\nfingerprint (SHA-256 of the DER public key) %s\n%s",
                           fp, pem);
    return emit(a, answer, text);
}

int
vejctl_run_rest(const struct vejctl_args *a)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vejctl_client) c = vejctl_client_new(a, &error);
    if (c == NULL)
        return fail(error);
    int status = -1;
    switch (a->command) {
    case VEJCTL_COURTROOM_ADD:
        status = courtroom_add(c, a, &error);
        break;
    case VEJCTL_COURTROOM_LIST:
        status = courtroom_list(c, a, &error);
        break;
    case VEJCTL_HEARING_SCHEDULE:
        status = hearing_schedule(c, a, &error);
        break;
    case VEJCTL_HEARING_LIST:
        status = hearing_list(c, a, &error);
        break;
    case VEJCTL_HEARING_SHOW:
        status = hearing_show(c, a, &error);
        break;
    case VEJCTL_HEARING_STATE:
        status = hearing_state(c, a, &error);
        break;
    case VEJCTL_PARTICIPANT_ADD:
        status = participant_add(c, a, &error);
        break;
    case VEJCTL_LOGIN:
        status = login(c, a, &error);
        break;
    case VEJCTL_USER_LIST:
    case VEJCTL_USER_CREATE:
    case VEJCTL_USER_SET:
    case VEJCTL_USER_DISABLE:
    case VEJCTL_USER_ENABLE:
    case VEJCTL_USER_RESET_PASSWORD:
    case VEJCTL_USER_REVOKE:
    case VEJCTL_USER_TOTP_RESET:
        status = run_user(c, a, &error);
        break;
    case VEJCTL_KEYS:
        status = keys(c, a, &error);
        break;
    case VEJCTL_USER_ADD:
    case VEJCTL_AUDIT_VERIFY:
    case VEJCTL_RECORDINGS_LIST:
    case VEJCTL_RECORDINGS_SHOW:
    case VEJCTL_RECORDINGS_DOWNLOAD:
    case VEJCTL_RECORDINGS_VERIFY:
    case VEJCTL_RECORDINGS_HOLD:
    case VEJCTL_RECORDINGS_SEAL:
    case VEJCTL_RECORDINGS_SWEEP:
        g_assert_not_reached();
    }
    return status >= 0 ? status : fail(error);
}
