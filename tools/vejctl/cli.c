/* cli.c - vejctl's command line: the command table, option parsing and the
 * checks that need no server. */
#include "tools/vejctl/vejctl.h"
#include "config/config.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(vejctl-error-quark, vejctl_error)
/* clang-format on */

/* Every option vejctl knows; a command accepts the subset in its mask. */
enum {
    O_URL = 1u << 0,
    O_TOKEN = 1u << 1,
    O_INSECURE = 1u << 2,
    O_CACERT = 1u << 3,
    O_JSON = 1u << 4,
    O_DATA_DIR = 1u << 5,
    O_ROLE = 1u << 6,
    O_RETENTION = 1u << 7,
    O_TIME_ZONE = 1u << 8,
    O_COURTROOM = 1u << 9,
    O_CASE = 1u << 10,
    O_TITLE = 1u << 11,
    O_STARTS = 1u << 12,
    O_ENDS = 1u << 13,
    O_DATE = 1u << 14,
    O_NAME = 1u << 15,
    O_SCREENED = 1u << 16,
    O_AUDIO_ONLY = 1u << 17,
    O_ANONYMOUS = 1u << 18,
    O_USER = 1u << 19,
    O_CONFIG = 1u << 20,
    O_COURTROOMS = 1u << 21,
    O_KEY = 1u << 22,
    O_OUTPUT = 1u << 23,
    O_REASON = 1u << 24,
    O_FILE = 1u << 25,
    O_FROM = 1u << 26,
    O_TO = 1u << 27,
    O_RELEASE = 1u << 28,
};
#define O_REST (O_URL | O_TOKEN | O_INSECURE | O_CACERT | O_JSON)
#define O_LOCAL (O_DATA_DIR | O_CONFIG | O_JSON)

#define FIELD(f) offsetof(struct vejctl_args, f)

static const struct option_spec {
    unsigned bit;
    const char *name;
    GOptionArg arg;
    size_t offset;
    const char *description;
    const char *arg_description;
} options[] = {
    {O_URL, "url", G_OPTION_ARG_STRING, FIELD(url),
     "Gateway base URL (VEJ_URL; default " VEJCTL_DEFAULT_URL ")", "URL"},
    {O_TOKEN, "token", G_OPTION_ARG_STRING, FIELD(token),
     "Staff session token (VEJ_TOKEN, preferred: a flag shows in ps)", "TOKEN"},
    {O_INSECURE, "insecure", G_OPTION_ARG_NONE, FIELD(insecure),
     "Accept any server certificate, e.g. the self-signed one (VEJ_INSECURE=1)", NULL},
    {O_CACERT, "cacert", G_OPTION_ARG_FILENAME, FIELD(cacert),
     "Trust the CA certificate(s) in FILE (PEM)", "FILE"},
    {O_JSON, "json", G_OPTION_ARG_NONE, FIELD(json), "Print the JSON answer", NULL},
    {O_DATA_DIR, "data-dir", G_OPTION_ARG_FILENAME, FIELD(data_dir),
     "The gateway's data directory (VEJ_DATA_DIR; default " VEJCTL_DEFAULT_DATA_DIR ")", "DIR"},
    {O_CONFIG, "config", G_OPTION_ARG_FILENAME, FIELD(config),
     "Take the data directory from the gateway's configuration FILE", "FILE"},
    {O_ROLE, "role", G_OPTION_ARG_STRING, FIELD(role), "Role (listed below)", "ROLE"},
    {O_RETENTION, "retention-days", G_OPTION_ARG_STRING, FIELD(retention_days_text),
     "Days recordings are kept (1..36500)", "N"},
    {O_TIME_ZONE, "time-zone", G_OPTION_ARG_STRING, FIELD(time_zone),
     "IANA time zone, e.g. Europe/London", "TZ"},
    {O_COURTROOM, "courtroom", G_OPTION_ARG_STRING, FIELD(courtroom), "Courtroom id", "ID"},
    {O_CASE, "case", G_OPTION_ARG_STRING, FIELD(case_reference), "Case reference", "REF"},
    {O_TITLE, "title", G_OPTION_ARG_STRING, FIELD(title), "Hearing title", "TITLE"},
    {O_STARTS, "starts", G_OPTION_ARG_STRING, FIELD(starts_text),
     "Start, RFC 3339 (2026-11-24T10:00:00Z or with an offset)", "TIME"},
    {O_ENDS, "ends", G_OPTION_ARG_STRING, FIELD(ends_text), "End, RFC 3339", "TIME"},
    {O_DATE, "date", G_OPTION_ARG_STRING, FIELD(date),
     "Only hearings on this day, in the courtroom's time zone", "YYYY-MM-DD"},
    {O_NAME, "name", G_OPTION_ARG_STRING, FIELD(name), "Display name", "NAME"},
    {O_SCREENED, "screened-from", G_OPTION_ARG_STRING_ARRAY, FIELD(screened_from_raw),
     "Roles or ptc_ ids that must not see this participant's video", "X,Y"},
    {O_AUDIO_ONLY, "audio-only", G_OPTION_ARG_NONE, FIELD(audio_only),
     "The participant publishes no video", NULL},
    {O_ANONYMOUS, "anonymous", G_OPTION_ARG_NONE, FIELD(anonymous),
     "Hidden from the roster of those they are screened from", NULL},
    {O_USER, "user", G_OPTION_ARG_STRING, FIELD(user), "Staff username", "NAME"},
    {O_COURTROOMS, "courtrooms", G_OPTION_ARG_STRING, FIELD(courtrooms),
     "Courtroom ids the account acts in, comma-separated (\"none\": no courtroom)", "ID,ID"},
    {O_KEY, "key", G_OPTION_ARG_FILENAME, FIELD(key),
     "The signing public key to trust (PEM), e.g. the court's published one", "PUBKEY"},
    {O_OUTPUT, "output", G_OPTION_ARG_FILENAME, FIELD(output),
     "Write the download to FILE (default: the file's own name, REC_ID.tar for a bundle)",
     "FILE"},
    {O_REASON, "reason", G_OPTION_ARG_STRING, FIELD(reason),
     "Why (kept in the audit entry); required to set a legal hold", "TEXT"},
    {O_FILE, "file", G_OPTION_ARG_STRING, FIELD(file),
     "One file of the recording (e.g. capture/seg-000001.pcap) instead of the bundle", "NAME"},
    {O_FROM, "from", G_OPTION_ARG_STRING, FIELD(from_text), "Started at or after TIME", "TIME"},
    {O_TO, "to", G_OPTION_ARG_STRING, FIELD(to_text), "Started before TIME", "TIME"},
    {O_RELEASE, "release", G_OPTION_ARG_NONE, FIELD(release), "Release the legal hold", NULL},
};

struct command_spec {
    enum vejctl_command_id id;
    const char *group;
    const char *verb;
    const char *positional; /* names of the positional arguments */
    int n_positional;
    unsigned accepted;
    unsigned required;
    const char *summary;
    const char *description; /* after the options in --help */
};

static const struct command_spec commands[] = {
    {VEJCTL_USER_ADD, "user", "add", "NAME", 1, O_LOCAL | O_ROLE | O_COURTROOMS, O_ROLE,
     "Create a staff account; the password is read from standard input",
     "ROLE is one of clerk, judge, evidential, admin. The password is one line on standard\n"
     "input (asked twice on a terminal), at least 12 characters. Staff act only in the\n"
     "courtrooms they are assigned to (--courtrooms; a clerk is assigned to the courtrooms\n"
     "it creates). Works on the data directory directly, also while the gateway runs; the\n"
     "creation is audited as actor \"vejctl\"."},
    {VEJCTL_COURTROOM_ADD, "courtroom", "add", "NAME", 1, O_REST | O_RETENTION | O_TIME_ZONE,
     O_RETENTION | O_TIME_ZONE, "Create a courtroom",
     "Example: vejctl courtroom add \"Court 3\" --retention-days 2555 --time-zone Europe/London"},
    {VEJCTL_COURTROOM_LIST, "courtroom", "list", "", 0, O_REST, 0, "List the courtrooms", NULL},
    {VEJCTL_HEARING_SCHEDULE, "hearing", "schedule", "", 0,
     O_REST | O_COURTROOM | O_CASE | O_TITLE | O_STARTS | O_ENDS,
     O_COURTROOM | O_CASE | O_TITLE | O_STARTS | O_ENDS, "Schedule a hearing",
     "Times are RFC 3339 with Z or an offset, e.g. 2026-11-24T10:00:00Z or\n"
     "2026-11-24T10:00:00+01:00; they are sent in UTC."},
    {VEJCTL_HEARING_LIST, "hearing", "list", "", 0, O_REST | O_COURTROOM | O_DATE, 0,
     "List hearings", NULL},
    {VEJCTL_HEARING_SHOW, "hearing", "show", "ID", 1, O_REST, 0, "Show a hearing", NULL},
    {VEJCTL_HEARING_STATE, "hearing", "state", "ID STATE", 2, O_REST, 0,
     "Move a hearing to another state",
     "STATE is one of open, in_session, adjourned, closed. Allowed moves: scheduled ->\n"
     "open; open -> in_session; in_session <-> adjourned; any -> closed."},
    {VEJCTL_PARTICIPANT_ADD, "participant", "add", "HEARING", 1,
     O_REST | O_NAME | O_ROLE | O_SCREENED | O_AUDIO_ONLY | O_ANONYMOUS, O_NAME | O_ROLE,
     "Add a participant to a hearing and print its join URL",
     "ROLE is one of judge, clerk, defendant, custody_officer, prosecution, defence,\n"
     "witness, interpreter, probation, observer. --screened-from takes role names or\n"
     "ptc_ participant ids, comma-separated or repeated. The join URL is a credential:\n"
     "hand it only to that participant."},
    {VEJCTL_AUDIT_VERIFY, "audit", "verify", "", 0, O_LOCAL | O_KEY, 0,
     "Check the audit log's hash chain and its signed heads in the data directory",
     "Walks the hash chain, then checks every signed head in DATA_DIR/audit-heads.log:\n"
     "its Ed25519 signature (by --key, else the data directory's signing key) and that\n"
     "the entry at its sequence still has its hash, so that a truncated or rewritten log\n"
     "is detected. Prints the number of entries and the head; exits 1 on any failure."},
    {VEJCTL_USER_LIST, "user", "list", "", 0, O_REST, 0, "List the staff accounts (admin)",
     NULL},
    {VEJCTL_USER_CREATE, "user", "create", "NAME", 1, O_REST | O_ROLE | O_COURTROOMS, O_ROLE,
     "Create a staff account through the gateway and print its one-time password (admin)",
     "The one-time password is printed once and must be changed at first login. Staff act\n"
     "only in the courtrooms they are assigned to (--courtrooms); none by default."},
    {VEJCTL_USER_SET, "user", "set", "USER", 1, O_REST | O_ROLE | O_COURTROOMS, 0,
     "Change an account's role or courtrooms (admin); its sessions end at once",
     "USER is a usr_ id or a username."},
    {VEJCTL_USER_DISABLE, "user", "disable", "USER", 1, O_REST, 0,
     "Disable an account (admin); its tokens and sessions end at once", NULL},
    {VEJCTL_USER_ENABLE, "user", "enable", "USER", 1, O_REST, 0, "Enable an account (admin)", NULL},
    {VEJCTL_USER_RESET_PASSWORD, "user", "reset-password", "USER", 1, O_REST, 0,
     "Set a one-time password (admin) and print it; the account's sessions end", NULL},
    {VEJCTL_USER_REVOKE, "user", "revoke", "USER", 1, O_REST, 0,
     "End every token and session of an account (admin)", NULL},
    {VEJCTL_USER_TOTP_RESET, "user", "totp-reset", "USER", 1, O_REST, 0,
     "Remove an account's second factor (admin); its sessions end, it enrols again", NULL},
    {VEJCTL_LOGIN, "login", NULL, "", 0, O_URL | O_INSECURE | O_CACERT | O_JSON | O_USER, O_USER,
     "Log in (password on standard input) and print a token for VEJ_TOKEN",
     "Example: export VEJ_TOKEN=$(vejctl login --user alice --insecure)\n"
     "The token alone is printed on standard output."},
    {VEJCTL_RECORDINGS_LIST, "recordings", "list", "", 0,
     O_REST | O_CASE | O_COURTROOM | O_FROM | O_TO, 0, "List recordings (evidential, admin)",
     "Every listing is audited."},
    {VEJCTL_RECORDINGS_SHOW, "recordings", "show", "REC_ID", 1, O_REST, 0,
     "Show a recording's manifest, files and signature", NULL},
    {VEJCTL_RECORDINGS_DOWNLOAD, "recordings", "download", "REC_ID", 1,
     O_REST | O_OUTPUT | O_REASON | O_FILE, 0,
     "Download a recording's bundle (or one --file); evidential staff only",
     "The bundle is one ustar archive: manifest.json, manifest.sig, SHA256SUMS,\n"
     "SHA256SUMS.sig, public-key.pem, VERIFY.txt and every file. The download and its\n"
     "--reason are audited. Check it offline with 'vejctl recordings verify FILE.tar'."},
    {VEJCTL_RECORDINGS_VERIFY, "recordings", "verify", "REC_ID|BUNDLE", 1, O_REST | O_KEY, 0,
     "Verify a recording on the gateway (REC_ID), or a bundle file offline",
     "With a bundle file (no gateway needed): checks every member's SHA-256 against\n"
     "SHA256SUMS and the manifest, both Ed25519 signatures, and that nothing was added or\n"
     "removed, with --key (the court's published public key) or else the bundle's own key,\n"
     "whose fingerprint is printed so that it can be compared. Exits 1 and names the part\n"
     "that failed. With a REC_ID: POST /api/v1/recordings/REC_ID/verify (audited)."},
    {VEJCTL_RECORDINGS_HOLD, "recordings", "hold", "REC_ID", 1,
     O_REST | O_REASON | O_RELEASE, 0, "Set (or --release) a legal hold: retention will not "
     "delete the media", "Evidential staff; audited with the --reason."},
    {VEJCTL_RECORDINGS_SEAL, "recordings", "seal", "REC_ID", 1, O_LOCAL, 0,
     "Seal DATA_DIR/recordings/REC_ID again: new signed manifest revision",
     "For a recording whose archive was rerun by hand, or found on disk after a crash:\n"
     "registers it if the database does not know it, re-hashes every file, signs a new\n"
     "manifest revision with the data directory's key and audits it (actor vejctl)."},
    {VEJCTL_RECORDINGS_SWEEP, "recordings", "sweep", "", 0, O_LOCAL, 0,
     "Run the retention sweep now on the data directory",
     "Deletes the media of every closed recording older than its courtroom's\n"
     "retention_days that has no legal hold; keeps the manifest; audited. The gateway\n"
     "also sweeps at start and every hour."},
    {VEJCTL_KEYS, "keys", NULL, "", 0, O_REST, 0,
     "Show the gateway's signing public key and its fingerprint",
     "The fingerprint is the SHA-256 of the DER SubjectPublicKeyInfo, as printed by\n"
     "openssl pkey -pubin -in public-key.pem -outform DER | sha256sum. Compare it with the\n"
     "court's published fingerprint before trusting a recording bundle."},
};

static const char *const staff_roles[] = {"clerk", "judge", "evidential", "admin", NULL};
static const char *const participant_roles[] = {
    "judge",   "clerk",       "defendant", "custody_officer", "prosecution", "defence",
    "witness", "interpreter", "probation", "observer",        NULL};
static const char *const states[] = {"scheduled", "open",   "in_session",
                                     "adjourned", "closed", NULL};

static gboolean usage_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
usage_error(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE, message);
    return FALSE;
}

static const struct option_spec *
option_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

char *
vejctl_usage(void)
{
    g_autoptr(GString) out = g_string_new("Usage: vejctl COMMAND [OPTION…]\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        const struct command_spec *c = &commands[i];
        g_autofree char *words = g_strjoin(" ", c->group, c->verb ? c->verb : c->positional,
                                           c->verb ? c->positional : NULL, NULL);
        g_string_append_printf(out, "  %-28s %s\n", g_strstrip(words), c->summary);
    }
    g_string_append(out, "\nREST commands talk to --url (VEJ_URL) with --token (VEJ_TOKEN); "
                         "user add and audit verify\nwork on --data-dir (VEJ_DATA_DIR). "
                         "'vejctl COMMAND --help' shows a command's options.\n"
                         "Exit status: 0 done, 1 failed, 2 usage error.\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static gboolean
in_list(const char *value, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(value, list[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

static char *
join_list(const char *const *list)
{
    return g_strjoinv(", ", (char **)list);
}

/* Finds the command words: the first words that are not options or option
 * values. Their indices go to words[], at most two. */
static int
find_words(int argc, char **argv, int words[2])
{
    int n = 0;
    for (int i = 1; i < argc && n < 2; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            break;
        if (arg[0] != '-' || arg[1] == '\0') {
            words[n++] = i;
            continue;
        }
        if (arg[1] != '-' || strchr(arg, '=') != NULL)
            continue;
        const struct option_spec *o = option_by_name(arg + 2, strlen(arg + 2));
        if (o != NULL && o->arg != G_OPTION_ARG_NONE)
            i++; /* skip the value */
    }
    return n;
}

static const struct command_spec *
find_command(const char *group, const char *verb, gboolean *group_known)
{
    *group_known = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].group, group) != 0)
            continue;
        *group_known = TRUE;
        if (commands[i].verb == NULL || (verb != NULL && strcmp(commands[i].verb, verb) == 0))
            return &commands[i];
    }
    return NULL;
}

static gboolean
unknown_verb(const char *group, const char *verb, GError **error)
{
    g_autoptr(GString) verbs = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].group, group) == 0)
            g_string_append_printf(verbs, "%s%s", verbs->len ? ", " : "", commands[i].verb);
    }
    if (verb == NULL)
        return usage_error(error, "%s: missing command, one of: %s", group, verbs->str);
    return usage_error(error, "%s: unknown command \"%s\", one of: %s", group, verb, verbs->str);
}

static GOptionContext *
command_context(const struct command_spec *c, struct vejctl_args *a)
{
    g_autofree char *words = g_strjoin(" ", c->group, c->verb ? c->verb : "", c->positional, NULL);
    g_autoptr(GOptionContext) ctx = g_option_context_new(g_strstrip(words));
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_set_summary(ctx, c->summary);
    if (c->description != NULL)
        g_option_context_set_description(ctx, c->description);
    GOptionEntry entries[G_N_ELEMENTS(options) + 2];
    size_t n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (!(c->accepted & options[i].bit))
            continue;
        entries[n++] = (GOptionEntry){options[i].name,
                                      0,
                                      0,
                                      options[i].arg,
                                      (char *)a + options[i].offset,
                                      options[i].description,
                                      options[i].arg_description};
    }
    entries[n++] =
        (GOptionEntry){"help", 'h', 0, G_OPTION_ARG_NONE, &a->help, "Show this help", NULL};
    entries[n] = (GOptionEntry)G_OPTION_ENTRY_NULL;
    g_option_context_add_main_entries(ctx, entries, NULL);
    return g_steal_pointer(&ctx);
}

static gboolean
env_flag(const char *name)
{
    const char *v = g_getenv(name);
    return v != NULL && (strcmp(v, "1") == 0 || g_ascii_strcasecmp(v, "true") == 0 ||
                         g_ascii_strcasecmp(v, "yes") == 0);
}

/* Fills what the flags left unset from the environment and defaults. */
static gboolean
apply_environment(const struct command_spec *c, struct vejctl_args *a, GError **error)
{
    if (c->accepted & O_URL) {
        if (a->url == NULL) {
            const char *u = g_getenv("VEJ_URL");
            a->url = g_strdup(u != NULL && u[0] != '\0' ? u : VEJCTL_DEFAULT_URL);
        }
        /* Tokens and passwords travel in these requests: never in clear. */
        if (!g_str_has_prefix(a->url, "https://"))
            return usage_error(error,
                               "--url: must start with https:// (plain http:// is refused: "
                               "tokens and passwords would travel in clear), got \"%s\"",
                               a->url);
        size_t n = strlen(a->url);
        while (n > 0 && a->url[n - 1] == '/')
            a->url[--n] = '\0';
        a->insecure = a->insecure || env_flag("VEJ_INSECURE");
    }
    /* an offline bundle check needs no gateway */
    bool offline = c->id == VEJCTL_RECORDINGS_VERIFY && a->target != NULL &&
                   g_file_test(a->target, G_FILE_TEST_IS_REGULAR);
    if ((c->accepted & O_TOKEN) && a->token == NULL && !offline) {
        const char *t = g_getenv("VEJ_TOKEN");
        if (t == NULL || t[0] == '\0')
            return usage_error(error, "no token: log in with 'vejctl login --user NAME' and "
                                      "export VEJ_TOKEN, or pass --token");
        a->token = g_strdup(t);
    }
    if (c->accepted & O_DATA_DIR) {
        const char *d = g_getenv("VEJ_DATA_DIR");
        if (a->data_dir == NULL && d != NULL && d[0] != '\0')
            a->data_dir = g_strdup(d);
        if (a->data_dir == NULL && a->config != NULL) {
            g_autoptr(vej_config) config = vej_config_new();
            g_autoptr(GError) local = NULL;
            if (!vej_config_load_file(config, a->config, &local))
                return usage_error(error, "--config: %s", local->message);
            a->data_dir = g_strdup(config->data_dir);
        }
        if (a->data_dir == NULL)
            a->data_dir = g_strdup(VEJCTL_DEFAULT_DATA_DIR);
        if (a->data_dir[0] == '\0')
            return usage_error(error, "--data-dir: must not be empty");
    }
    return TRUE;
}

/* Splits and checks --screened-from values: role names or ptc_ ids. */
static gboolean
check_screened_from(struct vejctl_args *a, GError **error)
{
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; a->screened_from_raw != NULL && a->screened_from_raw[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(a->screened_from_raw[i], ",", -1);
        for (size_t j = 0; parts[j] != NULL; j++) {
            char *item = g_strstrip(parts[j]);
            if (!in_list(item, participant_roles) &&
                !(g_str_has_prefix(item, "ptc_") && strlen(item) > 4)) {
                g_autofree char *roles = join_list(participant_roles);
                return usage_error(error,
                                   "--screened-from: \"%s\" is neither a role (%s) nor "
                                   "a ptc_ participant id",
                                   item, roles);
            }
            gboolean seen = FALSE;
            for (guint k = 0; k < list->len; k++)
                seen = seen || strcmp(list->pdata[k], item) == 0;
            if (!seen)
                g_ptr_array_add(list, g_strdup(item));
        }
    }
    g_ptr_array_add(list, NULL);
    a->screened_from = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
    return TRUE;
}

static gboolean
check_text(const char *flag, const char *value, size_t max, GError **error)
{
    if (value == NULL)
        return TRUE;
    if (value[0] == '\0')
        return usage_error(error, "%s: must not be empty", flag);
    if (!g_utf8_validate(value, -1, NULL) || strlen(value) > max)
        return usage_error(error, "%s: must be valid UTF-8 of at most %zu bytes", flag, max);
    for (const char *p = value; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return usage_error(error, "%s: must not contain control characters", flag);
    }
    return TRUE;
}

static gboolean
check_role(const char *role, const char *const *roles, GError **error)
{
    if (role == NULL || in_list(role, roles))
        return TRUE;
    g_autofree char *names = join_list(roles);
    return usage_error(error, "--role: \"%s\" is not one of %s", role, names);
}

static gboolean
check_times(struct vejctl_args *a, GError **error)
{
    if (a->starts_text != NULL && (a->starts_at = vejctl_rfc3339_normalize(a->starts_text)) == NULL)
        return usage_error(error,
                           "--starts: \"%s\" is not an RFC 3339 time such as "
                           "2026-11-24T10:00:00Z",
                           a->starts_text);
    if (a->ends_text != NULL && (a->ends_at = vejctl_rfc3339_normalize(a->ends_text)) == NULL)
        return usage_error(error,
                           "--ends: \"%s\" is not an RFC 3339 time such as "
                           "2026-11-24T12:00:00Z",
                           a->ends_text);
    /* Normalized to UTC with a fixed shape: text order is time order. */
    if (a->starts_at != NULL && a->ends_at != NULL && strcmp(a->starts_at, a->ends_at) >= 0)
        return usage_error(error, "--ends: must be after --starts");
    if (a->date != NULL) {
        int y = 0, m = 0, d = 0;
        char tail = 0;
        if (strlen(a->date) != 10 || sscanf(a->date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
            !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
            return usage_error(error, "--date: must be a date YYYY-MM-DD, got \"%s\"", a->date);
    }
    return TRUE;
}

static gboolean
check_recording_times(struct vejctl_args *a, GError **error)
{
    static const char *const flags[] = {"--from", "--to"};
    char **texts[] = {&a->from_text, &a->to_text};
    for (int i = 0; i < 2; i++) {
        if (*texts[i] == NULL)
            continue;
        char *norm = vejctl_rfc3339_normalize(*texts[i]);
        if (norm == NULL)
            return usage_error(error, "%s: \"%s\" is not an RFC 3339 time", flags[i], *texts[i]);
        g_free(*texts[i]);
        *texts[i] = norm;
    }
    return TRUE;
}

static gboolean
username_is_valid(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 64 &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

static gboolean
check_values(const struct command_spec *c, struct vejctl_args *a, GError **error)
{
    bool staff =
        c->id == VEJCTL_USER_ADD || c->id == VEJCTL_USER_CREATE || c->id == VEJCTL_USER_SET;
    const char *const *roles = staff ? staff_roles : participant_roles;
    if (!check_role(a->role, roles, error) || !check_times(a, error) ||
        !check_screened_from(a, error))
        return FALSE;
    if (a->retention_days_text != NULL) {
        gint64 v = 0;
        if (!g_ascii_string_to_signed(a->retention_days_text, 10, 1, 36500, &v, NULL))
            return usage_error(error,
                               "--retention-days: must be a number of days from 1 to "
                               "36500, got \"%s\"",
                               a->retention_days_text);
        a->retention_days = (int)v;
    }
    if (a->state != NULL && !in_list(a->state, states)) {
        g_autofree char *names = join_list(states);
        return usage_error(error, "STATE: \"%s\" is not one of %s", a->state, names);
    }
    if (a->time_zone != NULL && (a->time_zone[0] == '\0' || strlen(a->time_zone) > 64 ||
                                 strspn(a->time_zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                      "abcdefghijklmnopqrstuvwxyz"
                                                      "0123456789/_+-") != strlen(a->time_zone)))
        return usage_error(error,
                           "--time-zone: \"%s\" is not an IANA time zone name such as "
                           "Europe/London",
                           a->time_zone);
    if (a->courtrooms != NULL && strcmp(a->courtrooms, "none") != 0) {
        g_auto(GStrv) ids = g_strsplit(a->courtrooms, ",", -1);
        for (size_t i = 0; ids[i] != NULL; i++)
            if (!g_str_has_prefix(g_strstrip(ids[i]), "crt_") || strlen(ids[i]) > 68 ||
                strspn(ids[i] + 4, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(ids[i]) - 4)
                return usage_error(error, "--courtrooms: \"%s\" is not a crt_ courtroom id",
                                   ids[i]);
    }
    bool recordings = c->group != NULL && strcmp(c->group, "recordings") == 0;
    if (!recordings && a->target != NULL && g_str_has_prefix(a->target, "usr_") &&
        strspn(a->target + 4, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(a->target) - 4)
        return usage_error(error, "USER: \"%s\" is not a usr_ id", a->target);
    if (c->id == VEJCTL_USER_SET && a->role == NULL && a->courtrooms == NULL)
        return usage_error(error, "user set: give --role or --courtrooms");
    if ((c->id == VEJCTL_USER_ADD || c->id == VEJCTL_USER_CREATE) && !username_is_valid(a->name))
        return usage_error(error,
                           "NAME: a username is 1 to 64 letters, digits and . _ @ -, "
                           "got \"%s\"",
                           a->name);
    return check_text("NAME", c->id == VEJCTL_COURTROOM_ADD ? a->name : NULL, 200, error) &&
           check_text("--name", c->id == VEJCTL_PARTICIPANT_ADD ? a->name : NULL, 200, error) &&
           check_text("--case", a->case_reference, 64, error) &&
           check_text("--title", a->title, 200, error) &&
           check_text("--user", a->user, 64, error) &&
           check_text("--courtroom", a->courtroom, 128, error) &&
           (recordings ? check_text("REC_ID or BUNDLE", a->target, 4096, error)
                       : check_text("USER", a->target, 64, error)) &&
           check_text("ID", a->hearing_id, 128, error) &&
           check_text("--reason", a->reason, 500, error) &&
           check_text("--file", a->file, 255, error) && check_recording_times(a, error);
}

static gboolean
take_positionals(const struct command_spec *c, int argc, char **argv, struct vejctl_args *a,
                 GError **error)
{
    g_autofree char *words = g_strjoin(" ", c->group, c->verb ? c->verb : "", NULL);
    g_strstrip(words);
    if (argc - 1 < c->n_positional)
        return usage_error(error, "%s: missing %s", words, c->positional);
    if (argc - 1 > c->n_positional)
        return usage_error(error, "%s: unexpected argument \"%s\"", words,
                           argv[1 + c->n_positional]);
    char **slot[2] = {NULL, NULL};
    if (c->id == VEJCTL_USER_ADD || c->id == VEJCTL_COURTROOM_ADD || c->id == VEJCTL_USER_CREATE)
        slot[0] = &a->name;
    else if (c->id == VEJCTL_USER_SET || c->id == VEJCTL_USER_DISABLE ||
             c->id == VEJCTL_USER_ENABLE || c->id == VEJCTL_USER_RESET_PASSWORD ||
             c->id == VEJCTL_USER_REVOKE || c->id == VEJCTL_USER_TOTP_RESET)
        slot[0] = &a->target;
    else if (c->id == VEJCTL_HEARING_SHOW || c->id == VEJCTL_PARTICIPANT_ADD)
        slot[0] = &a->hearing_id;
    else if (c->group != NULL && strcmp(c->group, "recordings") == 0)
        slot[0] = &a->target;
    else if (c->id == VEJCTL_HEARING_STATE) {
        slot[0] = &a->hearing_id;
        slot[1] = &a->state;
    }
    for (int i = 0; i < c->n_positional; i++)
        *slot[i] = g_strdup(argv[1 + i]);
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        const struct option_spec *o = &options[i];
        if ((c->required & o->bit) && *(char **)((char *)a + o->offset) == NULL)
            return usage_error(error, "%s: --%s is required", words, o->name);
    }
    return TRUE;
}

/* Parses the rest of the command line once the command is known. */
static gboolean
parse_command(const struct command_spec *c, int argc, char **argv, const int words[2], int n_words,
              struct vejctl_args *a, GError **error)
{
    /* argv without the command words; GOption permutes and shortens it. */
    g_autofree char **rest = g_new0(char *, (size_t)argc + 1);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!(n_words > 0 && i == words[0]) && !(n_words > 1 && c->verb && i == words[1]))
            rest[n++] = argv[i];
    }
    g_autoptr(GOptionContext) ctx = command_context(c, a);
    g_autoptr(GError) local = NULL;
    char **p = rest;
    if (!g_option_context_parse(ctx, &n, &p, &local))
        return usage_error(error, "%s", local->message);
    if (a->help) {
        a->help_text = g_option_context_get_help(ctx, TRUE, NULL);
        return TRUE;
    }
    a->command = c->id;
    return take_positionals(c, n, p, a, error) && check_values(c, a, error) &&
           apply_environment(c, a, error);
}

gboolean
vejctl_parse(int argc, char **argv, struct vejctl_args *a, GError **error)
{
    int words[2] = {0, 0};
    int n_words = find_words(argc, argv, words);
    if (n_words == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                a->help_text = vejctl_usage();
                return TRUE;
            }
            if (strcmp(argv[i], "--version") == 0) {
                a->help_text = g_strdup_printf("vejctl %s\n", VEJ_VERSION);
                return TRUE;
            }
        }
        return usage_error(error, "missing command (see 'vejctl --help')");
    }
    const char *group = argv[words[0]];
    if (strcmp(group, "help") == 0) {
        a->help_text = vejctl_usage();
        return TRUE;
    }
    gboolean group_known = FALSE;
    const struct command_spec *c =
        find_command(group, n_words > 1 ? argv[words[1]] : NULL, &group_known);
    if (c == NULL && !group_known)
        return usage_error(error, "unknown command \"%s\" (see 'vejctl --help')", group);
    if (c == NULL)
        return unknown_verb(group, n_words > 1 ? argv[words[1]] : NULL, error);
    return parse_command(c, argc, argv, words, n_words, a, error);
}

void
vejctl_args_clear(struct vejctl_args *a)
{
    if (a->token != NULL)
        explicit_bzero(a->token, strlen(a->token));
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (options[i].arg == G_OPTION_ARG_STRING || options[i].arg == G_OPTION_ARG_FILENAME)
            g_clear_pointer((char **)((char *)a + options[i].offset), g_free);
    }
    g_clear_pointer(&a->screened_from_raw, g_strfreev);
    g_clear_pointer(&a->screened_from, g_strfreev);
    g_clear_pointer(&a->help_text, g_free);
    g_clear_pointer(&a->starts_at, g_free);
    g_clear_pointer(&a->ends_at, g_free);
    g_clear_pointer(&a->hearing_id, g_free);
    g_clear_pointer(&a->state, g_free);
    g_clear_pointer(&a->name, g_free);
    g_clear_pointer(&a->target, g_free);
}

char *
vejctl_rfc3339_normalize(const char *text)
{
    /* RFC 3339 proper: GLib's ISO 8601 parser also takes week dates, basic
     * format and missing seconds, which the server need not. */
    if (!g_regex_match_simple("^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
                              "(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
                              text, 0, 0))
        return NULL;
    /* GLib takes neither a lowercase t/z nor the space RFC 3339 allows. */
    g_autofree char *upper = g_ascii_strup(text, -1);
    upper[10] = 'T';
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(upper, NULL);
    if (t == NULL)
        return NULL;
    g_autoptr(GDateTime) utc = g_date_time_to_utc(t);
    if (utc == NULL)
        return NULL;
    return g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ");
}
