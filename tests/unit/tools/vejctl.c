/* Unit tests for tools/vejctl: argument parsing, password input, output
 * formatting, paths, and the REST client against a scripted loopback HTTP
 * server (plain HTTP, one answer per connection). */
#include "tools/vejctl/vejctl.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- parsing ---- */

/* Parses `args` (NULL-terminated, without argv[0]). */
static gboolean
parse(struct vejctl_args *a, const char *const *args, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"vejctl");
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    memset(a, 0, sizeof *a);
    return vejctl_parse((int)argv->len - 1, (char **)argv->pdata, a, error);
}

static void
clear_env(void)
{
    g_unsetenv("VEJ_URL");
    g_unsetenv("VEJ_TOKEN");
    g_unsetenv("VEJ_INSECURE");
    g_unsetenv("VEJ_DATA_DIR");
}

static void
test_parse_commands(void)
{
    clear_env();
    g_setenv("VEJ_TOKEN", "tok-env", TRUE);
    struct vejctl_args a;
    g_autoptr(GError) error = NULL;

    const char *const user_add[] = {"user", "add", "alice", "--role", "clerk", NULL};
    g_assert_true(parse(&a, user_add, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a.command, ==, VEJCTL_USER_ADD);
    g_assert_cmpstr(a.name, ==, "alice");
    g_assert_cmpstr(a.role, ==, "clerk");
    g_assert_cmpstr(a.data_dir, ==, VEJCTL_DEFAULT_DATA_DIR);
    g_assert_null(a.token); /* a local command takes no token */
    vejctl_args_clear(&a);
    clear_env();
}

static void
test_parse_rest(void)
{
    clear_env();
    g_setenv("VEJ_TOKEN", "tok-env", TRUE);
    struct vejctl_args a;
    g_autoptr(GError) error = NULL;

    const char *const court[] = {"courtroom", "add",         "Court 3",       "--retention-days",
                                 "2555",      "--time-zone", "Europe/London", NULL};
    g_assert_true(parse(&a, court, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a.command, ==, VEJCTL_COURTROOM_ADD);
    g_assert_cmpstr(a.name, ==, "Court 3");
    g_assert_cmpint(a.retention_days, ==, 2555);
    g_assert_cmpstr(a.time_zone, ==, "Europe/London");
    g_assert_cmpstr(a.url, ==, VEJCTL_DEFAULT_URL);
    g_assert_cmpstr(a.token, ==, "tok-env");
    g_assert_false(a.insecure);
    vejctl_args_clear(&a);

    /* Global options before the command words, and --opt=value. */
    const char *const sched[] = {"--json",
                                 "--url",
                                 "https://gw.example:9443/",
                                 "hearing",
                                 "schedule",
                                 "--courtroom=crt_1",
                                 "--case",
                                 "T2026/001",
                                 "--title",
                                 "-dash title",
                                 "--starts",
                                 "2026-11-24T10:00:00+01:00",
                                 "--ends",
                                 "2026-11-24T11:30:00Z",
                                 "--token",
                                 "tok-flag",
                                 NULL};
    g_assert_true(parse(&a, sched, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a.command, ==, VEJCTL_HEARING_SCHEDULE);
    g_assert_true(a.json);
    g_assert_cmpstr(a.url, ==, "https://gw.example:9443");
    g_assert_cmpstr(a.courtroom, ==, "crt_1");
    g_assert_cmpstr(a.case_reference, ==, "T2026/001");
    g_assert_cmpstr(a.title, ==, "-dash title");
    g_assert_cmpstr(a.starts_at, ==, "2026-11-24T09:00:00Z");
    g_assert_cmpstr(a.ends_at, ==, "2026-11-24T11:30:00Z");
    g_assert_cmpstr(a.token, ==, "tok-flag");
    vejctl_args_clear(&a);

    const char *const list[] = {"hearing", "list", "--date", "2026-02-28", NULL};
    g_assert_true(parse(&a, list, &error));
    g_assert_cmpint(a.command, ==, VEJCTL_HEARING_LIST);
    g_assert_cmpstr(a.date, ==, "2026-02-28");
    g_assert_null(a.courtroom);
    vejctl_args_clear(&a);

    const char *const state[] = {"hearing", "state", "hrg_1", "in_session", NULL};
    g_assert_true(parse(&a, state, &error));
    g_assert_cmpint(a.command, ==, VEJCTL_HEARING_STATE);
    g_assert_cmpstr(a.hearing_id, ==, "hrg_1");
    g_assert_cmpstr(a.state, ==, "in_session");
    vejctl_args_clear(&a);

    g_setenv("VEJ_INSECURE", "1", TRUE);
    const char *const ptc[] = {"participant",
                               "add",
                               "hrg_1",
                               "--name",
                               "W. One",
                               "--role",
                               "witness",
                               "--screened-from",
                               "defendant, observer",
                               "--screened-from",
                               "ptc_abc,defendant",
                               "--audio-only",
                               NULL};
    g_assert_true(parse(&a, ptc, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a.command, ==, VEJCTL_PARTICIPANT_ADD);
    g_assert_cmpstr(a.hearing_id, ==, "hrg_1");
    g_assert_cmpstr(a.name, ==, "W. One");
    g_assert_true(a.audio_only);
    g_assert_false(a.anonymous);
    g_assert_true(a.insecure);
    g_assert_cmpuint(g_strv_length(a.screened_from), ==, 3);
    g_assert_cmpstr(a.screened_from[0], ==, "defendant");
    g_assert_cmpstr(a.screened_from[1], ==, "observer");
    g_assert_cmpstr(a.screened_from[2], ==, "ptc_abc");
    vejctl_args_clear(&a);
    clear_env();
}

static void
test_parse_local(void)
{
    clear_env();
    struct vejctl_args a;
    g_autoptr(GError) error = NULL;
    g_setenv("VEJ_DATA_DIR", "/srv/vej", TRUE);
    const char *const audit[] = {"audit", "verify", NULL};
    g_assert_true(parse(&a, audit, &error));
    g_assert_cmpint(a.command, ==, VEJCTL_AUDIT_VERIFY);
    g_assert_cmpstr(a.data_dir, ==, "/srv/vej");
    vejctl_args_clear(&a);

    /* --config FILE gives the data directory when neither the flag nor
     * VEJ_DATA_DIR does; a bad file is a usage error. */
    g_autofree char *conf = NULL;
    int fd = g_file_open_tmp("vejctl-XXXXXX.conf", &conf, &error);
    g_assert_no_error(error);
    close(fd);
    g_assert_true(g_file_set_contents(conf, "[store]\ndata_dir = /from/conf\n", -1, &error));
    const char *const with_conf[] = {"audit", "verify", "--config", conf, NULL};
    g_assert_true(parse(&a, with_conf, &error));
    g_assert_cmpstr(a.data_dir, ==, "/srv/vej");
    vejctl_args_clear(&a);
    g_unsetenv("VEJ_DATA_DIR");
    g_assert_true(parse(&a, with_conf, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(a.data_dir, ==, "/from/conf");
    vejctl_args_clear(&a);
    g_assert_true(g_file_set_contents(conf, "[store]\ndata_dirs = /x\n", -1, &error));
    g_assert_false(parse(&a, with_conf, &error));
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE);
    g_assert_nonnull(strstr(error->message, "--config: "));
    g_assert_nonnull(strstr(error->message, "data_dirs: unknown key"));
    g_clear_error(&error);
    vejctl_args_clear(&a);
    g_unlink(conf);

    g_unsetenv("VEJ_TOKEN");
    /* plain http:// is refused: a token or password would travel in clear */
    g_setenv("VEJ_URL", "http://127.0.0.1:1", TRUE);
    const char *const login[] = {"login", "--user", "alice", NULL};
    g_assert_false(parse(&a, login, &error));
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE);
    g_assert_nonnull(strstr(error->message, "https://"));
    g_clear_error(&error);
    vejctl_args_clear(&a);
    g_setenv("VEJ_URL", "https://127.0.0.1:1", TRUE);
    g_assert_true(parse(&a, login, &error));
    g_assert_cmpint(a.command, ==, VEJCTL_LOGIN);
    g_assert_cmpstr(a.user, ==, "alice");
    g_assert_cmpstr(a.url, ==, "https://127.0.0.1:1");
    g_assert_null(a.token);
    vejctl_args_clear(&a);
    clear_env();
}

static void
test_parse_help(void)
{
    struct vejctl_args a;
    g_autoptr(GError) error = NULL;
    const char *const help[] = {"--help", NULL};
    g_assert_true(parse(&a, help, &error));
    g_assert_nonnull(strstr(a.help_text, "participant add HEARING"));
    vejctl_args_clear(&a);
    const char *const help2[] = {"help", NULL};
    g_assert_true(parse(&a, help2, &error));
    g_assert_nonnull(strstr(a.help_text, "audit verify"));
    vejctl_args_clear(&a);
    const char *const cmd_help[] = {"hearing", "schedule", "--help", NULL};
    g_assert_true(parse(&a, cmd_help, &error));
    g_assert_nonnull(strstr(a.help_text, "--starts=TIME"));
    vejctl_args_clear(&a);
    const char *const version[] = {"--version", NULL};
    g_assert_true(parse(&a, version, &error));
    g_assert_cmpstr(a.help_text, ==, "vejctl " VEJ_VERSION "\n");
    vejctl_args_clear(&a);
}

static void
test_parse_errors(void)
{
    clear_env();
    g_setenv("VEJ_TOKEN", "tok", TRUE);
    static const struct {
        const char *args[14];
        const char *needle;
    } bad[] = {
        {{NULL}, "missing command"},
        {{"frobnicate", NULL}, "unknown command \"frobnicate\""},
        {{"hearing", NULL}, "hearing: missing command, one of: schedule, list, show, state"},
        {{"hearing", "delete", "x", NULL}, "unknown command \"delete\""},
        {{"user", "add", "--role", "clerk", NULL}, "user add: missing NAME"},
        {{"user", "add", "a", "b", "--role", "clerk", NULL}, "unexpected argument \"b\""},
        {{"user", "add", "alice", NULL}, "--role is required"},
        {{"user", "add", "alice", "--role", "witness", NULL}, "--role: \"witness\""},
        {{"user", "add", "al ice", "--role", "clerk", NULL}, "NAME: a username"},
        {{"user", "add", "alice", "--role", "clerk", "--token", "x", NULL}, "--token"},
        {{"courtroom", "add", "C", "--retention-days", "0", "--time-zone", "UTC", NULL},
         "--retention-days: must be a number of days from 1 to 36500, got \"0\""},
        {{"courtroom", "add", "C", "--retention-days", "12x", "--time-zone", "UTC", NULL},
         "--retention-days"},
        {{"courtroom", "add", "C", "--retention-days", "5", "--time-zone", "Europe/Lon don", NULL},
         "--time-zone"},
        {{"courtroom", "add", "C", "--time-zone", "UTC", NULL}, "--retention-days is required"},
        {{"courtroom", "list", "--retention-days", "5", NULL}, "--retention-days"},
        {{"hearing", "schedule", "--courtroom", "c", "--case", "r", "--title", "t", "--starts",
          "2026-11-24 10:00", "--ends", "2026-11-24T11:00:00Z", NULL},
         "--starts: \"2026-11-24 10:00\" is not an RFC 3339 time"},
        {{"hearing", "schedule", "--courtroom", "c", "--case", "r", "--title", "t", "--starts",
          "2026-11-24T10:00:00Z", "--ends", "2026-11-24T11:00:00+02:00", NULL},
         "--ends: must be after --starts"},
        {{"hearing", "schedule", "--courtroom", "c", "--case", "r", "--starts",
          "2026-11-24T10:00:00Z", "--ends", "2026-11-24T11:00:00Z", NULL},
         "--title is required"},
        {{"hearing", "list", "--date", "2026-02-30", NULL}, "--date: must be a date YYYY-MM-DD"},
        {{"hearing", "list", "--date", "2026-2-3", NULL}, "--date"},
        {{"hearing", "show", NULL}, "hearing show: missing ID"},
        {{"hearing", "state", "hrg_1", "recessed", NULL}, "STATE: \"recessed\" is not one of"},
        {{"participant", "add", "hrg_1", "--name", "n", "--role", "clerk", "--screened-from",
          "press", NULL},
         "--screened-from: \"press\""},
        {{"participant", "add", "hrg_1", "--name", "n", "--role", "juror", NULL},
         "--role: \"juror\""},
        {{"participant", "add", "hrg_1", "--name", "", "--role", "witness", NULL},
         "--name: must not be empty"},
        {{"participant", "add", "hrg_1", "--name", "a\x1b[2Jb", "--role", "witness", NULL},
         "--name: must not contain control characters"},
        {{"hearing", "list", "--url", "ftp://x", NULL}, "--url: must start with https://"},
        {{"hearing", "list", "--url", NULL}, "--url"},
        {{"login", NULL}, "--user is required"},
        {{"login", "--user", "a", "extra", NULL}, "unexpected argument \"extra\""},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct vejctl_args a;
        g_autoptr(GError) error = NULL;
        if (parse(&a, bad[i].args, &error))
            g_error("case %zu (%s) was accepted", i, bad[i].needle);
        g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE);
        if (strstr(error->message, bad[i].needle) == NULL)
            g_error("case %zu: \"%s\" does not contain \"%s\"", i, error->message, bad[i].needle);
        vejctl_args_clear(&a);
    }

    /* REST commands need a token. */
    g_unsetenv("VEJ_TOKEN");
    struct vejctl_args a;
    g_autoptr(GError) error = NULL;
    const char *const list[] = {"courtroom", "list", NULL};
    g_assert_false(parse(&a, list, &error));
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE);
    g_assert_nonnull(strstr(error->message, "VEJ_TOKEN"));
    vejctl_args_clear(&a);
    clear_env();
}

static void
test_rfc3339(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"},
        {"2026-11-24t10:00:00z", "2026-11-24T10:00:00Z"},
        {"2026-11-24T10:00:00.750Z", "2026-11-24T10:00:00Z"},
        {"2026-11-24T00:30:00+01:00", "2026-11-23T23:30:00Z"},
        {"2026-11-24T23:30:00-05:30", "2026-11-25T05:00:00Z"},
        {"2026-11-24T10:00:00", NULL},
        {"2026-11-24T10:00Z", NULL},
        {"2026-W48-2T10:00:00Z", NULL},
        {"20261124T100000Z", NULL},
        {"2026-13-24T10:00:00Z", NULL},
        {"2026-02-29T10:00:00Z", NULL},
        {"2026-11-24T25:00:00Z", NULL},
        {"2026-11-24T10:00:00+0100", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = vejctl_rfc3339_normalize(cases[i].in);
        g_assert_cmpstr(out, ==, cases[i].out);
    }
}

/* ---- password input ---- */

static char *
read_from(const char *data, size_t len, GError **error)
{
    FILE *in = fmemopen((void *)data, len, "r");
    g_assert_nonnull(in);
    char *pw = vejctl_read_password(in, "Password: ", TRUE, error);
    fclose(in);
    return pw;
}

static void
test_password(void)
{
    g_autoptr(GError) error = NULL;
    char *pw = read_from("correct horse\nsecond line\n", 26, &error);
    g_assert_cmpstr(pw, ==, "correct horse");
    vejctl_secret_free(pw);
    pw = read_from("crlf line\r\n", 11, &error);
    g_assert_cmpstr(pw, ==, "crlf line");
    vejctl_secret_free(pw);
    pw = read_from("no newline", 10, &error);
    g_assert_cmpstr(pw, ==, "no newline");
    vejctl_secret_free(pw);

    pw = read_from("\n", 1, &error);
    g_assert_null(pw);
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_USAGE);
    g_clear_error(&error);
    pw = read_from("", 0, &error);
    g_assert_null(pw);
    g_assert_nonnull(strstr(error->message, "no password"));
    g_clear_error(&error);

    /* Exactly the maximum is taken; one more byte is refused. */
    g_autofree char *max = g_strnfill(VEJCTL_PASSWORD_MAX + 1, 'p');
    max[VEJCTL_PASSWORD_MAX] = '\n';
    pw = read_from(max, VEJCTL_PASSWORD_MAX + 1, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(strlen(pw), ==, VEJCTL_PASSWORD_MAX);
    vejctl_secret_free(pw);
    g_autofree char *over = g_strnfill(VEJCTL_PASSWORD_MAX + 1, 'p');
    pw = read_from(over, VEJCTL_PASSWORD_MAX + 1, &error);
    g_assert_null(pw);
    g_assert_nonnull(strstr(error->message, "longer than"));
    g_clear_error(&error);
    vejctl_secret_free(NULL);
}

/* ---- formatting ---- */

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL)
        g_error("bad test JSON: %s", jerr.text);
    return v;
}

static void
test_format_tables(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(json_t) rooms =
        load("[{\"id\":\"crt_1\",\"name\":\"Court 1\",\"retention_days\":30,\"time_zone\":\"UTC\"},"
             "{\"id\":\"crt_22\",\"name\":\"Salle d\\u2019audience\",\"retention_days\":2555,"
             "\"time_zone\":\"Europe/Paris\"}]");
    vejctl_format_courtrooms(out, rooms);
    g_assert_cmpstr(out->str, ==,
                    "ID      NAME              RETENTION DAYS  TIME ZONE\n"
                    "crt_1   Court 1           30              UTC\n"
                    "crt_22  Salle d\u2019audience  2555            Europe/Paris\n");
    g_string_truncate(out, 0);
    g_autoptr(json_t) none = json_array();
    vejctl_format_courtrooms(out, none);
    g_assert_cmpstr(out->str, ==, "no courtrooms\n");
    g_string_truncate(out, 0);
    vejctl_format_hearings(out, none);
    g_assert_cmpstr(out->str, ==, "no hearings\n");

    /* Terminal escapes from the server are neutralized; missing fields are "-". */
    g_string_truncate(out, 0);
    g_autoptr(json_t) hearings =
        load("[{\"id\":\"hrg_1\",\"starts_at\":\"2026-11-24T10:00:00Z\",\"ends_at\":"
             "\"2026-11-24T11:00:00Z\",\"state\":\"open\",\"courtroom_id\":\"crt_1\","
             "\"case_reference\":\"T1\",\"title\":\"a\\u001b[2Jb\\nc\"}]");
    vejctl_format_hearings(out, hearings);
    g_assert_cmpstr(out->str, ==,
                    "ID     STARTS                ENDS                  STATE  COURTROOM  CASE  "
                    "TITLE\n"
                    "hrg_1  2026-11-24T10:00:00Z  2026-11-24T11:00:00Z  open   crt_1      T1    "
                    "a?[2Jb?c\n");
}

static void
test_format_objects(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(json_t) room = load("{\"id\":\"crt_1\",\"name\":\"Court 1\",\"retention_days\":30,"
                                  "\"time_zone\":\"UTC\"}");
    vejctl_format_courtroom(out, room);
    g_assert_cmpstr(out->str, ==,
                    "courtroom crt_1 created: Court 1 (recordings kept 30 days, UTC)\n");

    g_string_truncate(out, 0);
    g_autoptr(json_t) hearing = load(
        "{\"id\":\"hrg_1\",\"courtroom_id\":\"crt_1\",\"case_reference\":\"T1\",\"title\":\"Bail\","
        "\"starts_at\":\"2026-11-24T10:00:00Z\",\"ends_at\":\"2026-11-24T11:00:00Z\","
        "\"state\":\"scheduled\",\"participants\":[{\"id\":\"ptc_1\",\"role\":\"judge\","
        "\"display_name\":\"HHJ Smith\"}]}");
    vejctl_format_hearing(out, hearing);
    g_assert_cmpstr(out->str, ==,
                    "hearing:   hrg_1\n"
                    "case:      T1\n"
                    "title:     Bail\n"
                    "courtroom: crt_1\n"
                    "starts:    2026-11-24T10:00:00Z\n"
                    "ends:      2026-11-24T11:00:00Z\n"
                    "state:     scheduled\n"
                    "\n"
                    "PARTICIPANT  ROLE   NAME\n"
                    "ptc_1        judge  HHJ Smith\n");

    g_string_truncate(out, 0);
    vejctl_format_hearing_created(out, hearing);
    g_assert_true(g_str_has_prefix(out->str, "hearing hrg_1 scheduled\ncase:      T1\n"));

    g_string_truncate(out, 0);
    g_autoptr(json_t) state = load("{\"id\":\"hrg_1\",\"state\":\"open\"}");
    vejctl_format_state(out, "hrg_1", state, "closed");
    g_assert_cmpstr(out->str, ==, "hearing hrg_1 is now open\n");
    g_string_truncate(out, 0);
    g_autoptr(json_t) empty = json_object();
    vejctl_format_state(out, "hrg_1", empty, "closed");
    g_assert_cmpstr(out->str, ==, "hearing hrg_1 is now closed\n");

    g_string_truncate(out, 0);
    g_autoptr(json_t) ptc = load("{\"participant_id\":\"ptc_9\",\"join_token\":\"x.y.z\","
                                 "\"join_url\":\"https://court.example/join#t=x.y.z\"}");
    vejctl_format_participant_created(out, "hrg_1", ptc);
    g_assert_cmpstr(out->str, ==,
                    "participant ptc_9 added to hearing hrg_1\n"
                    "join URL: https://court.example/join#t=x.y.z\n");

    g_autofree char *json = vejctl_format_json(room);
    g_assert_true(g_str_has_prefix(json, "{\n  \"id\": \"crt_1\",\n  \"name\": \"Court 1\""));
    uint8_t bytes[3] = {0x00, 0xab, 0xff};
    g_autofree char *hex = vejctl_hex(bytes, sizeof bytes);
    g_assert_cmpstr(hex, ==, "00abff");
}

static void
test_format_errors(void)
{
    const char *body = "{\"error\":{\"code\":4004,\"message\":\"hearing not found\"}}";
    g_autofree char *a = vejctl_format_server_error(404, body, strlen(body));
    g_assert_cmpstr(a, ==, "error 4004: hearing not found (HTTP 404)");
    const char *field = "{\"error\":{\"code\":-32602,\"message\":\"must be 1..36500\","
                        "\"data\":{\"field\":\"retention_days\",\"correlation_id\":\"c1\"}}}";
    g_autofree char *b = vejctl_format_server_error(400, field, strlen(field));
    g_assert_cmpstr(b, ==, "error -32602: must be 1..36500 (field retention_days, HTTP 400)");
    g_autofree char *c = vejctl_format_server_error(502, "<html>bad gateway", 17);
    g_assert_cmpstr(c, ==, "the server answered HTTP 502 without an error object");
    g_autofree char *d = vejctl_format_server_error(500, NULL, 0);
    g_assert_nonnull(strstr(d, "HTTP 500"));
}

static void
test_paths(void)
{
    g_autofree char *a = vejctl_path_hearing("hrg_1", "/state");
    g_assert_cmpstr(a, ==, "/api/v1/hearings/hrg_1/state");
    g_autofree char *b = vejctl_path_hearing("../x?y", NULL);
    g_assert_cmpstr(b, ==, "/api/v1/hearings/..%2Fx%3Fy");
    g_autofree char *c = vejctl_path_hearing_list(NULL, NULL);
    g_assert_cmpstr(c, ==, "/api/v1/hearings");
    g_autofree char *d = vejctl_path_hearing_list("crt_1", "2026-11-24");
    g_assert_cmpstr(d, ==, "/api/v1/hearings?courtroom_id=crt_1&date=2026-11-24");
    g_autofree char *e = vejctl_path_hearing_list(NULL, "2026-11-24");
    g_assert_cmpstr(e, ==, "/api/v1/hearings?date=2026-11-24");
    g_autofree char *f = vejctl_path_with_cursor(d, "a+b/c=");
    g_assert_cmpstr(f, ==,
                    "/api/v1/hearings?courtroom_id=crt_1&date=2026-11-24&cursor=a%2Bb%2Fc%3D");
    g_autofree char *g = vejctl_path_with_cursor("/api/v1/courtrooms", "n1");
    g_assert_cmpstr(g, ==, "/api/v1/courtrooms?cursor=n1");
}

/* ---- the REST client against a scripted server ---- */

struct exchange {
    const char *request_line; /* expected, e.g. "GET /api/v1/courtrooms HTTP/1.1" */
    int status;
    const char *body;
};

struct fake_server {
    int fd;
    int port;
    const struct exchange *script;
    size_t n;
    GPtrArray *requests; /* full request texts, headers and body */
    GThread *thread;
};

/* Reads one request: headers, then Content-Length bytes of body. */
static char *
read_request(int fd)
{
    g_autoptr(GString) in = g_string_new(NULL);
    char buf[4096];
    const char *end = NULL;
    while ((end = strstr(in->str, "\r\n\r\n")) == NULL) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return g_string_free(g_steal_pointer(&in), FALSE);
        g_string_append_len(in, buf, n);
    }
    size_t header_len = (size_t)(end - in->str) + 4;
    size_t body_len = 0;
    const char *cl = g_strstr_len(in->str, (gssize)header_len, "Content-Length: ");
    if (cl != NULL)
        body_len = (size_t)g_ascii_strtoull(cl + 16, NULL, 10);
    while (in->len < header_len + body_len) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(in, buf, n);
    }
    return g_string_free(g_steal_pointer(&in), FALSE);
}

static gpointer
serve(gpointer data)
{
    struct fake_server *s = data;
    for (size_t i = 0; i < s->n; i++) {
        int conn = accept(s->fd, NULL, NULL);
        if (conn < 0)
            break;
        char *request = read_request(conn);
        g_ptr_array_add(s->requests, request);
        g_autofree char *answer = g_strdup_printf(
            "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n%s",
            s->script[i].status, strlen(s->script[i].body), s->script[i].body);
        g_assert_cmpint(write(conn, answer, strlen(answer)), ==, (ssize_t)strlen(answer));
        close(conn);
    }
    return NULL;
}

static void
fake_server_start(struct fake_server *s, const struct exchange *script, size_t n)
{
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s->fd, >=, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
    g_assert_cmpint(listen(s->fd, 8), ==, 0);
    socklen_t len = sizeof addr;
    g_assert_cmpint(getsockname(s->fd, (struct sockaddr *)&addr, &len), ==, 0);
    s->port = ntohs(addr.sin_port);
    s->script = script;
    s->n = n;
    s->requests = g_ptr_array_new_with_free_func(g_free);
    s->thread = g_thread_new("fake-server", serve, s);
}

static void
fake_server_stop(struct fake_server *s)
{
    g_thread_join(s->thread);
    close(s->fd);
    g_assert_cmpuint(s->requests->len, ==, s->n);
    for (size_t i = 0; i < s->n; i++) {
        const char *req = s->requests->pdata[i];
        if (!g_str_has_prefix(req, s->script[i].request_line))
            g_error("request %zu: expected \"%s\", got \"%.80s\"", i, s->script[i].request_line,
                    req);
    }
}

static vejctl_client *
client_for(struct fake_server *s, const char *token)
{
    struct vejctl_args a = {0};
    a.url = g_strdup_printf("http://127.0.0.1:%d", s->port);
    a.token = g_strdup(token);
    g_autoptr(GError) error = NULL;
    vejctl_client *c = vejctl_client_new(&a, &error);
    g_assert_no_error(error);
    vejctl_args_clear(&a);
    return c;
}

static void
test_client_pages(void)
{
    static const struct exchange script[] = {
        {"GET /api/v1/courtrooms HTTP/1.1", 200,
         "{\"items\":[{\"id\":\"crt_1\"},{\"id\":\"crt_2\"}],\"next_cursor\":\"c/2\"}"},
        {"GET /api/v1/courtrooms?cursor=c%2F2 HTTP/1.1", 200,
         "{\"items\":[{\"id\":\"crt_3\"}],\"next_cursor\":null}"},
    };
    struct fake_server s;
    fake_server_start(&s, script, G_N_ELEMENTS(script));
    g_autoptr(vejctl_client) c = client_for(&s, "secret-token");
    g_autoptr(GError) error = NULL;
    g_autoptr(json_t) all = vejctl_get_all(c, "/api/v1/courtrooms", &error);
    g_assert_no_error(error);
    fake_server_stop(&s);
    json_t *items = json_object_get(all, "items");
    g_assert_cmpuint(json_array_size(items), ==, 3);
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(items, 2), "id")), ==,
                    "crt_3");
    g_assert_true(json_is_null(json_object_get(all, "next_cursor")));
    g_assert_nonnull(strstr(s.requests->pdata[1], "\r\nAuthorization: Bearer secret-token\r\n"));
    g_ptr_array_unref(s.requests);
}

static void
test_client_errors(void)
{
    static const struct exchange script[] = {
        {"POST /api/v1/hearings/hrg_1/state HTTP/1.1", 409,
         "{\"error\":{\"code\":4009,\"message\":\"not allowed from closed\"}}"},
        {"POST /api/v1/login HTTP/1.1", 201, "{\"token\":\"t\",\"role\":\"clerk\"}"},
        {"GET /api/v1/courtrooms HTTP/1.1", 200, "{\"items\":[],\"next_cursor\":\"same\"}"},
        {"GET /api/v1/courtrooms?cursor=same HTTP/1.1", 200,
         "{\"items\":[],\"next_cursor\":\"same\"}"},
        {"GET /api/v1/hearings/x HTTP/1.1", 200, "{not json"},
    };
    struct fake_server s;
    fake_server_start(&s, script, G_N_ELEMENTS(script));
    g_autoptr(vejctl_client) c = client_for(&s, "tok");
    g_autoptr(GError) error = NULL;

    g_autoptr(json_t) body = json_pack("{s:s}", "state", "open");
    g_autoptr(json_t) r1 =
        vejctl_request(c, "POST", "/api/v1/hearings/hrg_1/state", body, TRUE, &error);
    g_assert_null(r1);
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED);
    g_assert_cmpstr(error->message, ==, "error 4009: not allowed from closed (HTTP 409)");
    g_clear_error(&error);

    g_autoptr(json_t) login = json_pack("{s:s,s:s}", "username", "u", "password", "p");
    g_autoptr(json_t) r2 = vejctl_request(c, "POST", "/api/v1/login", login, FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(json_string_value(json_object_get(r2, "token")), ==, "t");

    g_autoptr(json_t) r3 = vejctl_get_all(c, "/api/v1/courtrooms", &error);
    g_assert_null(r3);
    g_assert_nonnull(strstr(error->message, "same next_cursor"));
    g_clear_error(&error);

    g_autoptr(json_t) r4 = vejctl_request(c, "GET", "/api/v1/hearings/x", NULL, TRUE, &error);
    g_assert_null(r4);
    g_assert_nonnull(strstr(error->message, "invalid JSON"));
    g_clear_error(&error);
    fake_server_stop(&s);

    const char *state_req = s.requests->pdata[0];
    g_assert_nonnull(strstr(state_req, "Content-Type: application/json"));
    g_assert_true(g_str_has_suffix(state_req, "\r\n\r\n{\"state\":\"open\"}"));
    /* A login never carries the bearer token. */
    g_assert_null(strstr(s.requests->pdata[1], "Authorization:"));
    g_ptr_array_unref(s.requests);
}

static void
test_client_unreachable(void)
{
    /* A port nobody listens on: bind one, close it, connect there. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
    socklen_t len = sizeof addr;
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
    close(fd);
    struct vejctl_args a = {0};
    a.url = g_strdup_printf("http://127.0.0.1:%d", ntohs(addr.sin_port));
    g_autoptr(GError) error = NULL;
    g_autoptr(vejctl_client) c = vejctl_client_new(&a, &error);
    g_autoptr(json_t) r = vejctl_request(c, "GET", "/healthz", NULL, TRUE, &error);
    g_assert_null(r);
    g_assert_error(error, VEJCTL_ERROR, VEJCTL_ERROR_FAILED);
    g_assert_true(g_str_has_prefix(error->message, a.url));
    vejctl_args_clear(&a);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(curl_global_init(CURL_GLOBAL_DEFAULT), ==, CURLE_OK);
    g_test_add_func("/vejctl/parse/commands", test_parse_commands);
    g_test_add_func("/vejctl/parse/rest", test_parse_rest);
    g_test_add_func("/vejctl/parse/local", test_parse_local);
    g_test_add_func("/vejctl/parse/help", test_parse_help);
    g_test_add_func("/vejctl/parse/errors", test_parse_errors);
    g_test_add_func("/vejctl/rfc3339", test_rfc3339);
    g_test_add_func("/vejctl/password", test_password);
    g_test_add_func("/vejctl/format/tables", test_format_tables);
    g_test_add_func("/vejctl/format/objects", test_format_objects);
    g_test_add_func("/vejctl/format/errors", test_format_errors);
    g_test_add_func("/vejctl/paths", test_paths);
    g_test_add_func("/vejctl/client/pages", test_client_pages);
    g_test_add_func("/vejctl/client/errors", test_client_errors);
    g_test_add_func("/vejctl/client/unreachable", test_client_unreachable);
    int status = g_test_run();
    curl_global_cleanup();
    return status;
}
