/* format.c - vejctl's human-readable output of the server's JSON. */
#include "tools/vejctl/vejctl.h"

#include <stdlib.h>
#include <string.h>

/* Text from the server, safe for a terminal: control characters (escape
 * sequences included) and invalid UTF-8 are shown as '?'. */
static char *
clean(const char *text)
{
    if (text == NULL)
        return g_strdup("-");
    char *copy = g_utf8_make_valid(text, -1);
    g_autoptr(GString) out = g_string_sized_new(strlen(copy));
    for (const char *p = copy; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar ch = g_utf8_get_char(p);
        if (g_unichar_iscntrl(ch) || ch == 0xfffd)
            g_string_append_c(out, '?');
        else
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
    }
    g_free(copy);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* A field as display text: strings cleaned, integers in decimal, booleans
 * as yes/no, anything missing as "-". */
static char *
field(json_t *object, const char *key)
{
    json_t *v = json_object_get(object, key);
    if (json_is_string(v))
        return clean(json_string_value(v));
    if (json_is_integer(v))
        return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_boolean(v))
        return g_strdup(json_is_true(v) ? "yes" : "no");
    return g_strdup("-");
}

/* Columns of a table: `keys` name the JSON fields, `titles` the headings. */
struct column {
    const char *key;
    const char *title;
};

static void
append_padded(GString *out, const char *text, size_t width, gboolean last)
{
    g_string_append(out, text);
    if (last)
        return;
    for (size_t n = (size_t)g_utf8_strlen(text, -1); n < width + 2; n++)
        g_string_append_c(out, ' ');
}

static void
format_table(GString *out, json_t *items, const struct column *cols, size_t n_cols,
             const char *empty)
{
    size_t n_rows = json_array_size(items);
    if (n_rows == 0) {
        g_string_append_printf(out, "%s\n", empty);
        return;
    }
    /* cells[row * n_cols + col]; row 0 is the heading. */
    g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
    size_t widths[16] = {0};
    g_assert(n_cols <= G_N_ELEMENTS(widths));
    for (size_t r = 0; r <= n_rows; r++) {
        for (size_t c = 0; c < n_cols; c++) {
            char *text =
                r == 0 ? g_strdup(cols[c].title) : field(json_array_get(items, r - 1), cols[c].key);
            widths[c] = MAX(widths[c], (size_t)g_utf8_strlen(text, -1));
            g_ptr_array_add(cells, text);
        }
    }
    for (size_t r = 0; r <= n_rows; r++) {
        for (size_t c = 0; c < n_cols; c++)
            append_padded(out, cells->pdata[r * n_cols + c], widths[c], c + 1 == n_cols);
        g_string_append_c(out, '\n');
    }
}

/* "key: value" lines, aligned. */
static void
format_fields(GString *out, json_t *object, const struct column *cols, size_t n_cols)
{
    size_t width = 0;
    for (size_t c = 0; c < n_cols; c++)
        width = MAX(width, strlen(cols[c].title));
    for (size_t c = 0; c < n_cols; c++) {
        g_autofree char *value = field(object, cols[c].key);
        g_string_append_printf(out, "%s:%*s %s\n", cols[c].title,
                               (int)(width - strlen(cols[c].title)), "", value);
    }
}

static const struct column courtroom_columns[] = {
    {"id", "ID"},
    {"name", "NAME"},
    {"retention_days", "RETENTION DAYS"},
    {"time_zone", "TIME ZONE"},
};

void
vejctl_format_courtroom(GString *out, json_t *courtroom)
{
    g_autofree char *id = field(courtroom, "id");
    g_autofree char *name = field(courtroom, "name");
    g_autofree char *days = field(courtroom, "retention_days");
    g_autofree char *tz = field(courtroom, "time_zone");
    g_string_append_printf(out, "courtroom %s created: %s (recordings kept %s days, %s)\n", id,
                           name, days, tz);
}

void
vejctl_format_courtrooms(GString *out, json_t *items)
{
    format_table(out, items, courtroom_columns, G_N_ELEMENTS(courtroom_columns), "no courtrooms");
}

void
vejctl_format_hearing(GString *out, json_t *hearing)
{
    static const struct column cols[] = {
        {"id", "hearing"},       {"case_reference", "case"},
        {"title", "title"},      {"courtroom_id", "courtroom"},
        {"starts_at", "starts"}, {"ends_at", "ends"},
        {"state", "state"},
    };
    format_fields(out, hearing, cols, G_N_ELEMENTS(cols));
    json_t *participants = json_object_get(hearing, "participants");
    if (json_is_array(participants)) {
        static const struct column pcols[] = {
            {"id", "PARTICIPANT"},
            {"role", "ROLE"},
            {"display_name", "NAME"},
        };
        g_string_append_c(out, '\n');
        format_table(out, participants, pcols, G_N_ELEMENTS(pcols), "no participants");
    }
}

void
vejctl_format_hearings(GString *out, json_t *items)
{
    static const struct column cols[] = {
        {"id", "ID"},       {"starts_at", "STARTS"},       {"ends_at", "ENDS"},
        {"state", "STATE"}, {"courtroom_id", "COURTROOM"}, {"case_reference", "CASE"},
        {"title", "TITLE"},
    };
    format_table(out, items, cols, G_N_ELEMENTS(cols), "no hearings");
}

void
vejctl_format_hearing_created(GString *out, json_t *hearing)
{
    g_autofree char *id = field(hearing, "id");
    g_string_append_printf(out, "hearing %s scheduled\n", id);
    static const struct column cols[] = {
        {"case_reference", "case"}, {"title", "title"},  {"courtroom_id", "courtroom"},
        {"starts_at", "starts"},    {"ends_at", "ends"}, {"state", "state"},
    };
    format_fields(out, hearing, cols, G_N_ELEMENTS(cols));
}

void
vejctl_format_state(GString *out, const char *hearing_id, json_t *result, const char *requested)
{
    g_autofree char *id = clean(hearing_id);
    json_t *state = json_object_get(result, "state");
    g_autofree char *now = clean(json_is_string(state) ? json_string_value(state) : requested);
    g_string_append_printf(out, "hearing %s is now %s\n", id, now);
}

void
vejctl_format_participant_created(GString *out, const char *hearing_id, json_t *result)
{
    g_autofree char *hid = clean(hearing_id);
    g_autofree char *pid = field(result, "participant_id");
    g_autofree char *url = field(result, "join_url");
    g_string_append_printf(out, "participant %s added to hearing %s\njoin URL: %s\n", pid, hid,
                           url);
}

/* "crt_a, crt_b" or "-" from an account's courtrooms. */
static char *
courtroom_ids(json_t *user)
{
    json_t *list = json_object_get(user, "courtrooms");
    if (json_array_size(list) == 0)
        return g_strdup("-");
    g_autoptr(GString) out = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        g_autofree char *id = clean(json_string_value(v));
        g_string_append_printf(out, "%s%s", i ? "," : "", id);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

void
vejctl_format_users(GString *out, json_t *items)
{
    /* A copy with the courtrooms flattened to text for the table. */
    g_autoptr(json_t) rows = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(items, i, u)
    {
        json_t *row = json_copy(u);
        g_autofree char *ids = courtroom_ids(u);
        json_object_set_new(row, "courtrooms", json_string(ids));
        json_array_append_new(rows, row);
    }
    static const struct column cols[] = {{"id", "ID"},
                                         {"username", "USERNAME"},
                                         {"role", "ROLE"},
                                         {"disabled", "DISABLED"},
                                         {"totp_enabled", "TOTP"},
                                         {"courtrooms", "COURTROOMS"}};
    format_table(out, rows, cols, G_N_ELEMENTS(cols), "no accounts");
}

void
vejctl_format_user(GString *out, json_t *user)
{
    g_autofree char *id = field(user, "id");
    g_autofree char *name = field(user, "username");
    g_autofree char *role = field(user, "role");
    g_autofree char *disabled = field(user, "disabled");
    g_autofree char *ids = courtroom_ids(user);
    g_string_append_printf(out, "%s %s (%s), disabled: %s, courtrooms: %s\n", id, name, role,
                           disabled, ids);
    json_t *pw = json_object_get(user, "password");
    if (json_is_string(pw)) {
        g_autofree char *text = clean(json_string_value(pw));
        g_string_append_printf(out,
                               "one-time password (shown once; to be changed at first "
                               "login): %s\n",
                               text);
    }
}

char *
vejctl_format_server_error(long http_status, const char *body, size_t len)
{
    json_error_t jerr;
    g_autoptr(json_t) root = body != NULL ? json_loadb(body, len, 0, &jerr) : NULL;
    json_t *error = json_object_get(root, "error");
    json_t *code = json_object_get(error, "code");
    json_t *message = json_object_get(error, "message");
    if (!json_is_integer(code) || !json_is_string(message))
        return g_strdup_printf("the server answered HTTP %ld without an error object", http_status);
    g_autofree char *text = clean(json_string_value(message));
    json_t *data = json_object_get(error, "data");
    json_t *f = json_object_get(data, "field");
    g_autofree char *field_text = json_is_string(f) ? clean(json_string_value(f)) : NULL;
    if (field_text != NULL)
        return g_strdup_printf("error %" JSON_INTEGER_FORMAT ": %s (field %s, HTTP %ld)",
                               json_integer_value(code), text, field_text, http_status);
    return g_strdup_printf("error %" JSON_INTEGER_FORMAT ": %s (HTTP %ld)",
                           json_integer_value(code), text, http_status);
}

char *
vejctl_format_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (text == NULL)
        return g_strdup("null");
    /* jansson allocates with malloc; hand back GLib memory. */
    char *copy = g_strdup(text);
    free(text);
    return copy;
}

char *
vejctl_hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = g_malloc(len * 2 + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    out[len * 2] = '\0';
    return out;
}
