/* vejctl.h - the pieces of the vejctl admin command.
 *
 * cli.c parses the command line into `struct vejctl_args` (no I/O but the
 * environment and --config); password.c reads passwords; format.c turns the server's JSON into
 * text; http.c talks to the REST API with libcurl; rest.c and local.c run the commands (local.c
 * works on the data directory through store/). main.c dispatches.
 *
 * Exit status: 0 success, 1 failure (the server's error, a broken audit
 * chain, I/O), 2 usage error. The GError codes below are those statuses.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

#define VEJCTL_ERROR (vejctl_error_quark())
GQuark vejctl_error_quark(void);
enum { VEJCTL_ERROR_FAILED = 1, VEJCTL_ERROR_USAGE = 2 };

#define VEJCTL_DEFAULT_URL "https://127.0.0.1:8443"
#define VEJCTL_DEFAULT_DATA_DIR "./data"
/* vej_password_check_policy's upper bound. */
#define VEJCTL_PASSWORD_MAX 1024

enum vejctl_command_id {
    VEJCTL_USER_ADD,
    VEJCTL_COURTROOM_ADD,
    VEJCTL_COURTROOM_LIST,
    VEJCTL_HEARING_SCHEDULE,
    VEJCTL_HEARING_LIST,
    VEJCTL_HEARING_SHOW,
    VEJCTL_HEARING_STATE,
    VEJCTL_PARTICIPANT_ADD,
    VEJCTL_AUDIT_VERIFY,
    VEJCTL_LOGIN,
    VEJCTL_USER_LIST,
    VEJCTL_USER_CREATE,
    VEJCTL_USER_SET,
    VEJCTL_USER_DISABLE,
    VEJCTL_USER_ENABLE,
    VEJCTL_USER_RESET_PASSWORD,
    VEJCTL_USER_REVOKE,
    VEJCTL_KEYS,
    VEJCTL_RECORDINGS_LIST,
    VEJCTL_RECORDINGS_SHOW,
    VEJCTL_RECORDINGS_DOWNLOAD,
    VEJCTL_RECORDINGS_VERIFY,
    VEJCTL_RECORDINGS_HOLD,
    VEJCTL_RECORDINGS_SEAL,
    VEJCTL_RECORDINGS_SWEEP,
    VEJCTL_USER_TOTP_RESET,
};

/* The parsed command line. Strings are (transfer full) and freed by
 * vejctl_args_clear(); unset options are NULL. */
struct vejctl_args {
    enum vejctl_command_id command;
    char *help_text; /* set: print it on standard output and exit 0 */

    /* Connection (REST commands); flag, else environment, else default. */
    char *url;    /* without a trailing '/' */
    char *token;  /* --token or VEJ_TOKEN; NULL when neither */
    char *cacert; /* --cacert FILE */
    gboolean insecure;
    gboolean json;
    char *data_dir; /* local commands: --data-dir, VEJ_DATA_DIR, --config's, ./data */
    char *config;   /* --config FILE: the gateway's configuration file */

    /* Command options, as given (checked). */
    char *name; /* user add NAME, courtroom add NAME, participant --name */
    char *role;
    char *retention_days_text;
    int retention_days;
    char *time_zone;
    char *courtroom;
    char *case_reference;
    char *title;
    char *starts_text; /* as given */
    char *ends_text;
    char *starts_at; /* normalized RFC 3339 UTC, "2026-11-24T10:00:00Z" */
    char *ends_at;
    char *date;               /* YYYY-MM-DD */
    char **screened_from_raw; /* each may hold "X,Y" */
    char **screened_from;     /* split, deduplicated, NULL-terminated; never NULL after parsing */
    gboolean audio_only;
    gboolean anonymous;
    char *user;
    char *target;      /* the command's operand: USER (usr_ id or username), REC_ID or BUNDLE */
    char *courtrooms;  /* --courtrooms: crt_ ids, comma-separated, or "none" */
    char *hearing_id;
    char *state;
    char *key; /* --key PUBKEY.pem */
    char *output;  /* --output FILE */
    char *reason;  /* --reason TEXT */
    char *file;    /* --file NAME */
    char *from_text, *to_text; /* --from, --to (RFC 3339) */
    gboolean release; /* recordings hold --release */
    gboolean help;
    gboolean version;
};

/* Parses argv (not modified) into `a`, which must be zeroed. Reads
 * VEJ_URL, VEJ_TOKEN, VEJ_INSECURE and VEJ_DATA_DIR (and the --config file)
 * for what the flags leave unset. FALSE with VEJCTL_ERROR_USAGE and a message naming the flag
 * or argument at fault. */
gboolean vejctl_parse(int argc, char **argv, struct vejctl_args *a, GError **error);
void vejctl_args_clear(struct vejctl_args *a);

/* The top-level usage text, (transfer full). */
char *vejctl_usage(void);

/* Checks an RFC 3339 date-time with offset ("2026-11-24T10:00:00+01:00")
 * and returns it in UTC with seconds ("2026-11-24T09:00:00Z"), or NULL. */
char *vejctl_rfc3339_normalize(const char *text);

/* Reads one line (the password) from `in`: without its line end, at most
 * VEJCTL_PASSWORD_MAX bytes, not empty. When `in` is a terminal, prompts on
 * standard error with echo off (twice when `confirm`). Returns (transfer
 * full) text to be released with vejctl_secret_free(). */
char *vejctl_read_password(FILE *in, const char *prompt, gboolean confirm, GError **error);
/* Wipes and frees. */
void vejctl_secret_free(char *secret);

/* ---- format.c: human-readable output; control characters from the server
 * are shown as '?' so that they cannot drive the terminal. ---- */
void vejctl_format_courtroom(GString *out, json_t *courtroom);
void vejctl_format_courtrooms(GString *out, json_t *items);
void vejctl_format_hearing(GString *out, json_t *hearing);
void vejctl_format_hearings(GString *out, json_t *items);
void vejctl_format_hearing_created(GString *out, json_t *hearing);
void vejctl_format_state(GString *out, const char *hearing_id, json_t *result,
                         const char *requested);
void vejctl_format_participant_created(GString *out, const char *hearing_id, json_t *result);
void vejctl_format_users(GString *out, json_t *items);
void vejctl_format_user(GString *out, json_t *user);
/* "error CODE: MESSAGE (field F, HTTP STATUS)" from an error body; falls back
 * to the status line when the body is not the documented error object. */
char *vejctl_format_server_error(long http_status, const char *body, size_t len);
/* The JSON text printed by --json: indented, keys in server order. */
char *vejctl_format_json(json_t *value);
/* Lowercase hex, (transfer full). */
char *vejctl_hex(const uint8_t *data, size_t len);

/* ---- http.c ---- */
typedef struct vejctl_client vejctl_client;
/* Needs curl_global_init() done. */
vejctl_client *vejctl_client_new(const struct vejctl_args *a, GError **error);
void vejctl_client_free(vejctl_client *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vejctl_client, vejctl_client_free)
/* One request; `body` may be NULL; `with_token` adds the bearer. Returns the
 * parsed JSON of a 2xx answer (transfer full), else NULL with the server's
 * error (VEJCTL_ERROR_FAILED). */
json_t *vejctl_request(vejctl_client *c, const char *method, const char *path, json_t *body,
                       gboolean with_token, GError **error);
/* GETs `path` with the bearer and writes the body to `out` as it arrives
 * (no size limit); a non-2xx answer is the server's error. */
gboolean vejctl_download(vejctl_client *c, const char *path, FILE *out, GError **error);
/* GETs a list and follows next_cursor to the end: {"items": [...all],
 * "next_cursor": null}. */
json_t *vejctl_get_all(vejctl_client *c, const char *path, GError **error);

/* Path helpers, percent-encoding every id and value. (transfer full) */
char *vejctl_path_hearing(const char *hearing_id, const char *suffix);
char *vejctl_path_hearing_list(const char *courtroom_id, const char *date);
char *vejctl_path_with_cursor(const char *path, const char *cursor);

/* ---- rest.c and local.c: each returns the exit status. ---- */
int vejctl_run_rest(const struct vejctl_args *a);
int vejctl_run_local(const struct vejctl_args *a);
/* recordings.c: every `vejctl recordings` command and `vejctl keys`'s
 * companions (REST, local and offline). */
int vejctl_run_recordings(const struct vejctl_args *a);

G_END_DECLS
