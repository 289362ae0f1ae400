/* Unit tests for store/sqlite.c (through the vej_store_* API of store.c). */
#include "store/audit.h"
#include "store/store.h"
#include "tmpdir.h"

#include <sqlite3.h>
#include <string.h>

struct fixture {
    char *dir;
    char *path;
    vej_store *store;
};

static void
setup(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->dir = test_tmpdir_new();
    f->path = g_build_filename(f->dir, "vej.db", NULL);
    f->store = vej_store_open(f->path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->store);
}

static void
teardown(struct fixture *f, gconstpointer data)
{
    vej_store_close(f->store);
    test_tmpdir_remove(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static void
assert_id(const char *id, const char *prefix)
{
    g_assert_nonnull(id);
    g_assert_true(g_str_has_prefix(id, prefix));
    g_assert_cmpuint(strlen(id), ==, 4 + 26);
    for (const char *c = id + 4; *c != '\0'; c++)
        g_assert_true((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'));
}

static struct vej_courtroom *
make_courtroom(vej_store *s, const char *name)
{
    g_autoptr(GError) error = NULL;
    struct vej_courtroom *c = vej_store_courtroom_create(s, name, 365, "Europe/London", &error);
    g_assert_no_error(error);
    return c;
}

static struct vej_hearing_row *
make_hearing(vej_store *s, const char *courtroom_id, int64_t starts_at)
{
    g_autoptr(GError) error = NULL;
    struct vej_hearing_row *h = vej_store_hearing_create(s, courtroom_id, "T20240001", "R v Smith",
                                                         starts_at, starts_at + 3600, &error);
    g_assert_no_error(error);
    return h;
}

static void
test_users(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(vej_store_user_count(f->store, &error), ==, 0);
    g_assert_no_error(error);

    int64_t before = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(vej_user) u =
        vej_store_user_create(f->store, "clerk1", "clerk", "$scrypt$x", true, &error);
    g_assert_no_error(error);
    assert_id(u->id, "usr_");
    g_assert_cmpstr(u->username, ==, "clerk1");
    g_assert_cmpstr(u->role, ==, "clerk");
    g_assert_cmpstr(u->password_hash, ==, "$scrypt$x");
    g_assert_true(u->must_change_password);
    g_assert_false(u->disabled);
    g_assert_cmpint(u->created_at, >=, before);
    g_assert_cmpint(u->created_at, <=, before + 5);

    g_autoptr(vej_user) by_id = vej_store_user_get(f->store, u->id, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(by_id->username, ==, "clerk1");
    g_autoptr(vej_user) by_name = vej_store_user_get_by_name(f->store, "clerk1", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(by_name->id, ==, u->id);

    g_assert_true(vej_store_user_set_password(f->store, u->id, "$scrypt$y", false, &error));
    g_assert_no_error(error);
    g_autoptr(vej_user) changed = vej_store_user_get(f->store, u->id, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(changed->password_hash, ==, "$scrypt$y");
    g_assert_false(changed->must_change_password);

    g_autoptr(vej_user) other =
        vej_store_user_create(f->store, "judge1", "judge", "h", false, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(other->id, !=, u->id);
    g_assert_cmpint(vej_store_user_count(f->store, &error), ==, 2);
    g_assert_no_error(error);

    /* A role outside the staff roles is refused by the schema. */
    g_autoptr(vej_user) bad = vej_store_user_create(f->store, "x", "observer", "h", false, &error);
    g_assert_null(bad);
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

static void
test_user_conflict(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) u = vej_store_user_create(f->store, "admin", "admin", "h", false, &error);
    g_assert_no_error(error);
    g_assert_nonnull(u);
    g_autoptr(vej_user) dup =
        vej_store_user_create(f->store, "admin", "clerk", "h2", false, &error);
    g_assert_null(dup);
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT);
    g_clear_error(&error);
    g_assert_cmpint(vej_store_user_count(f->store, &error), ==, 1);
    g_assert_no_error(error);
}

static void
test_not_found(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    static const uint8_t hash[32] = {1};

    g_assert_null(vej_store_user_get(f->store, "usr_nosuch", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(vej_store_user_get_by_name(f->store, "nobody", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_user_set_password(f->store, "usr_nosuch", "h", false, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(vej_store_staff_session_get(f->store, hash, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_staff_session_revoke(f->store, hash, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(vej_store_courtroom_get(f->store, "crt_nosuch", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(vej_store_hearing_get(f->store, "hrg_nosuch", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_hearing_set_state(f->store, "hrg_nosuch", "open", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(vej_store_participant_get(f->store, "ptc_nosuch", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_participant_update(f->store, "ptc_nosuch", "x", NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_cmpint(vej_store_participant_bump_token(f->store, "ptc_nosuch", &error), ==, -1);
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_participant_remove(f->store, "ptc_nosuch", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* A reference to a row that does not exist is NOT_FOUND too. */
    g_assert_null(vej_store_hearing_create(f->store, "crt_nosuch", "c", "t", 0, 1, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(vej_store_staff_session_create(f->store, hash, "usr_nosuch", 1, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(
        vej_store_participant_create(f->store, "hrg_nosuch", "A", "witness", NULL, NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
}

static void
test_sessions(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    uint8_t h1[32], h2[32], h3[32];
    memset(h1, 0x11, 32);
    memset(h2, 0x22, 32);
    memset(h3, 0x33, 32);

    g_autoptr(vej_user) u = vej_store_user_create(f->store, "a", "admin", "h", false, &error);
    g_assert_no_error(error);
    g_autoptr(vej_user) v = vej_store_user_create(f->store, "b", "clerk", "h", false, &error);
    g_assert_no_error(error);
    g_assert_true(vej_store_staff_session_create(f->store, h1, u->id, 1000, &error));
    g_assert_true(vej_store_staff_session_create(f->store, h2, u->id, 2000, &error));
    g_assert_true(vej_store_staff_session_create(f->store, h3, v->id, 3000, &error));
    g_assert_no_error(error);
    g_assert_false(vej_store_staff_session_create(f->store, h1, v->id, 1, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT);
    g_clear_error(&error);

    g_autoptr(vej_staff_session) s1 = vej_store_staff_session_get(f->store, h1, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(s1->user_id, ==, u->id);
    g_assert_cmpint(s1->expires_at, ==, 1000);
    g_assert_false(s1->revoked);

    g_assert_true(vej_store_staff_session_revoke(f->store, h1, &error));
    g_assert_no_error(error);
    g_autoptr(vej_staff_session) s1b = vej_store_staff_session_get(f->store, h1, &error);
    g_assert_no_error(error);
    g_assert_true(s1b->revoked);

    g_assert_true(vej_store_staff_session_revoke_user(f->store, u->id, &error));
    g_assert_no_error(error);
    g_autoptr(vej_staff_session) s2 = vej_store_staff_session_get(f->store, h2, &error);
    g_assert_no_error(error);
    g_assert_true(s2->revoked);
    g_autoptr(vej_staff_session) s3 = vej_store_staff_session_get(f->store, h3, &error);
    g_assert_no_error(error);
    g_assert_false(s3->revoked);
    /* Nothing to revoke is not an error. */
    g_assert_true(vej_store_staff_session_revoke_user(f->store, "usr_nosuch", &error));
    g_assert_no_error(error);
}

/* Walks every page of courtrooms and checks each id appears once, in order. */
static void
check_courtroom_pages(vej_store *s, GPtrArray *expected_ids, int page)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *cursor = NULL;
    guint seen = 0, pages = 0;

    do {
        char *next = NULL;
        g_autoptr(GPtrArray) rows = vej_store_courtroom_list(s, cursor, page, &next, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(rows->len, <=, (guint)page);
        for (guint i = 0; i < rows->len; i++) {
            struct vej_courtroom *c = g_ptr_array_index(rows, i);
            g_assert_cmpstr(c->id, ==, g_ptr_array_index(expected_ids, seen));
            seen++;
        }
        if (next != NULL)
            g_assert_cmpuint(rows->len, ==, (guint)page);
        g_free(cursor);
        cursor = next;
        pages++;
    } while (cursor != NULL);
    g_assert_cmpuint(seen, ==, expected_ids->len);
    g_assert_cmpuint(pages, ==, MAX(1, (expected_ids->len + page - 1) / page));
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_courtroom_pages(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

    check_courtroom_pages(f->store, ids, 10); /* empty: one empty page */
    for (int i = 0; i < 25; i++) {
        g_autofree char *name = g_strdup_printf("Court %d", i);
        g_autoptr(vej_courtroom) c = make_courtroom(f->store, name);
        assert_id(c->id, "crt_");
        g_assert_cmpstr(c->name, ==, name);
        g_assert_cmpint(c->retention_days, ==, 365);
        g_assert_cmpstr(c->time_zone, ==, "Europe/London");
        g_ptr_array_add(ids, g_strdup(c->id));
        if (i == 19) {
            /* 20 rows: the last full page must not promise another. */
            g_ptr_array_sort(ids, compare_strings);
            check_courtroom_pages(f->store, ids, 10);
            check_courtroom_pages(f->store, ids, 20);
        }
    }
    g_ptr_array_sort(ids, compare_strings);
    check_courtroom_pages(f->store, ids, 10);
    check_courtroom_pages(f->store, ids, 7);
    check_courtroom_pages(f->store, ids, 1);
    check_courtroom_pages(f->store, ids, 1000);

    g_autoptr(vej_courtroom) got =
        vej_store_courtroom_get(f->store, g_ptr_array_index(ids, 3), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(got->id, ==, g_ptr_array_index(ids, 3));

    char *next = (char *)"untouched";
    g_assert_null(vej_store_courtroom_list(f->store, NULL, 0, &next, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_assert_null(next);
    g_clear_error(&error);
    g_assert_null(vej_store_courtroom_list(f->store, NULL, 1001, NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

/* The ids of every hearing matching the filter, over pages of 3. */
static GPtrArray *
list_hearings(vej_store *s, const char *courtroom_id, int64_t from, int64_t to)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *cursor = NULL;

    do {
        char *next = NULL;
        g_autoptr(GPtrArray) rows =
            vej_store_hearing_list(s, courtroom_id, from, to, cursor, 3, &next, &error);
        g_assert_no_error(error);
        for (guint i = 0; i < rows->len; i++) {
            struct vej_hearing_row *h = g_ptr_array_index(rows, i);
            if (ids->len > 0)
                g_assert_cmpstr(g_ptr_array_index(ids, ids->len - 1), <, h->id);
            g_ptr_array_add(ids, g_strdup(h->id));
        }
        g_free(cursor);
        cursor = next;
    } while (cursor != NULL);
    return ids;
}

static void
test_hearings(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_courtroom) c1 = make_courtroom(f->store, "One");
    g_autoptr(vej_courtroom) c2 = make_courtroom(f->store, "Two");

    /* c1: starts at 1000, 2000, ... 7000; c2: 1500, 2500, 3500. */
    g_autofree char *first = NULL;
    for (int i = 1; i <= 7; i++) {
        g_autoptr(vej_hearing_row) h = make_hearing(f->store, c1->id, i * 1000);
        assert_id(h->id, "hrg_");
        g_assert_cmpstr(h->courtroom_id, ==, c1->id);
        g_assert_cmpstr(h->case_reference, ==, "T20240001");
        g_assert_cmpstr(h->title, ==, "R v Smith");
        g_assert_cmpint(h->starts_at, ==, i * 1000);
        g_assert_cmpint(h->ends_at, ==, i * 1000 + 3600);
        g_assert_cmpstr(h->state, ==, "scheduled");
        if (first == NULL)
            first = g_strdup(h->id);
    }
    for (int i = 1; i <= 3; i++) {
        g_autoptr(vej_hearing_row) h = make_hearing(f->store, c2->id, i * 1000 + 500);
        g_assert_nonnull(h);
    }

    g_autoptr(GPtrArray) all = list_hearings(f->store, NULL, 0, 0);
    g_assert_cmpuint(all->len, ==, 10);
    g_autoptr(GPtrArray) in_c1 = list_hearings(f->store, c1->id, 0, 0);
    g_assert_cmpuint(in_c1->len, ==, 7);
    g_autoptr(GPtrArray) c2_from = list_hearings(f->store, c2->id, 2500, 0);
    g_assert_cmpuint(c2_from->len, ==, 2);
    /* from inclusive, to exclusive: 2000, 3000 of c1 and 2500 of c2. */
    g_autoptr(GPtrArray) window = list_hearings(f->store, NULL, 2000, 3500);
    g_assert_cmpuint(window->len, ==, 3);
    g_autoptr(GPtrArray) c1_window = list_hearings(f->store, c1->id, 2000, 3001);
    g_assert_cmpuint(c1_window->len, ==, 2);
    g_autoptr(GPtrArray) none = list_hearings(f->store, "crt_nosuch", 0, 0);
    g_assert_cmpuint(none->len, ==, 0);

    const char *states[] = {"open", "in_session", "adjourned", "in_session", "closed"};
    for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
        g_assert_true(vej_store_hearing_set_state(f->store, first, states[i], &error));
        g_assert_no_error(error);
        g_autoptr(vej_hearing_row) h = vej_store_hearing_get(f->store, first, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(h->state, ==, states[i]);
    }
    g_assert_false(vej_store_hearing_set_state(f->store, first, "paused", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

/* A participant.mute entry as the server writes it. */
static void
audit_mute(struct fixture *f, const char *hearing_id, const char *pid, const char *kind, bool muted)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *detail =
        g_strdup_printf("{\"hearing_id\":\"%s\",\"kind\":\"%s\",\"muted\":%s}", hearing_id, kind,
                        muted ? "true" : "false");
    g_assert_true(
        vej_audit_append_sync(f->path, "usr_clerk", "participant.mute", pid, detail, &error));
    g_assert_no_error(error);
}

/* A hearing's mutes are its participants' last participant.mute entries
 * per kind; removed participants and other hearings do not count. */
static void
test_hearing_mutes(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_courtroom) c = make_courtroom(f->store, "Mutes");
    g_autoptr(vej_hearing_row) h = make_hearing(f->store, c->id, 1000);
    g_autoptr(vej_hearing_row) other = make_hearing(f->store, c->id, 2000);
    g_autoptr(vej_participant_row) a =
        vej_store_participant_create(f->store, h->id, "A", "defendant", NULL, NULL, &error);
    g_autoptr(vej_participant_row) b =
        vej_store_participant_create(f->store, h->id, "B", "witness", NULL, NULL, &error);
    g_autoptr(vej_participant_row) gone =
        vej_store_participant_create(f->store, h->id, "C", "witness", NULL, NULL, &error);
    g_autoptr(vej_participant_row) elsewhere =
        vej_store_participant_create(f->store, other->id, "D", "witness", NULL, NULL, &error);
    g_assert_no_error(error);

    g_autoptr(GHashTable) none = vej_store_hearing_mutes(f->store, h->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_hash_table_size(none), ==, 0);

    audit_mute(f, h->id, a->id, "audio", true);
    audit_mute(f, h->id, a->id, "video", true);
    audit_mute(f, h->id, a->id, "video", false);
    audit_mute(f, h->id, b->id, "video", true);
    audit_mute(f, h->id, b->id, "video", false);
    audit_mute(f, h->id, gone->id, "audio", true);
    audit_mute(f, other->id, elsewhere->id, "audio", true);
    g_assert_true(vej_store_participant_remove(f->store, gone->id, &error));

    g_autoptr(GHashTable) bits = vej_store_hearing_mutes(f->store, h->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_hash_table_size(bits), ==, 1);
    g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(bits, a->id)), ==, VEJ_MUTED_AUDIO);
    g_autoptr(GHashTable) theirs = vej_store_hearing_mutes(f->store, other->id, &error);
    g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(theirs, elsewhere->id)), ==,
                    VEJ_MUTED_AUDIO);
}

static void
test_participants(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_courtroom) c = make_courtroom(f->store, "One");
    g_autoptr(vej_hearing_row) h = make_hearing(f->store, c->id, 1000);
    g_autoptr(vej_hearing_row) other = make_hearing(f->store, c->id, 2000);
    g_autoptr(vej_user) judge = vej_store_user_create(f->store, "j", "judge", "h", false, &error);
    g_assert_no_error(error);

    const char *names[] = {"Witness A", "Defendant", "Judge", "Interpreter"};
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *sm = i == 0 ? "{\"screened_from\":[\"defendant\"],\"audio_only\":false}" : NULL;
        g_autoptr(vej_participant_row) p =
            vej_store_participant_create(f->store, h->id, names[i], i == 2 ? "judge" : "witness",
                                         sm, i == 2 ? judge->id : NULL, &error);
        g_assert_no_error(error);
        assert_id(p->id, "ptc_");
        g_assert_cmpstr(p->hearing_id, ==, h->id);
        g_assert_cmpstr(p->display_name, ==, names[i]);
        g_assert_cmpstr(p->special_measures, ==, sm != NULL ? sm : "{}");
        g_assert_cmpstr(p->user_id, ==, i == 2 ? judge->id : NULL);
        g_assert_cmpint(p->token_version, ==, 1);
        g_assert_false(p->removed);
        g_ptr_array_add(ids, g_strdup(p->id));
    }
    const char *judge_ptc = g_ptr_array_index(ids, 2);

    /* Creation order, not id order. */
    g_autoptr(GPtrArray) list = vej_store_participant_list(f->store, h->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, G_N_ELEMENTS(names));
    for (guint i = 0; i < list->len; i++) {
        struct vej_participant_row *p = g_ptr_array_index(list, i);
        g_assert_cmpstr(p->id, ==, g_ptr_array_index(ids, i));
    }
    g_autoptr(GPtrArray) empty = vej_store_participant_list(f->store, other->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(empty->len, ==, 0);

    g_autoptr(vej_participant_row) bound =
        vej_store_participant_get_by_user(f->store, h->id, judge->id, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(bound->id, ==, judge_ptc);
    g_assert_null(vej_store_participant_get_by_user(f->store, other->id, judge->id, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    /* One live participant per account and hearing. */
    g_assert_null(vej_store_participant_create(f->store, h->id, "Judge again", "judge", NULL,
                                               judge->id, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT);
    g_clear_error(&error);

    /* Update: NULL leaves a field alone; JSON must be an object. */
    const char *w = g_ptr_array_index(ids, 0);
    g_assert_true(vej_store_participant_update(f->store, w, "Witness B", NULL, &error));
    g_assert_true(vej_store_participant_update(f->store, w, NULL, "{\"anonymous\":true}", &error));
    g_assert_no_error(error);
    g_assert_false(vej_store_participant_update(f->store, w, NULL, "{not json", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_clear_error(&error);
    g_assert_false(vej_store_participant_update(f->store, w, NULL, "[1,2]", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_clear_error(&error);
    g_autoptr(vej_participant_row) updated = vej_store_participant_get(f->store, w, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(updated->display_name, ==, "Witness B");
    g_assert_cmpstr(updated->special_measures, ==, "{\"anonymous\":true}");

    /* Token versions only go up. */
    g_assert_cmpint(vej_store_participant_bump_token(f->store, w, &error), ==, 2);
    g_assert_cmpint(vej_store_participant_bump_token(f->store, w, &error), ==, 3);
    g_assert_no_error(error);
    g_autoptr(vej_participant_row) bumped = vej_store_participant_get(f->store, w, &error);
    g_assert_no_error(error);
    g_assert_cmpint(bumped->token_version, ==, 3);

    /* Removing: still listed, no longer bound, and the account may join again. */
    g_assert_true(vej_store_participant_remove(f->store, judge_ptc, &error));
    g_assert_no_error(error);
    g_autoptr(vej_participant_row) removed = vej_store_participant_get(f->store, judge_ptc, &error);
    g_assert_no_error(error);
    g_assert_true(removed->removed);
    g_assert_null(vej_store_participant_get_by_user(f->store, h->id, judge->id, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_autoptr(GPtrArray) after = vej_store_participant_list(f->store, h->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(after->len, ==, G_N_ELEMENTS(names));
    g_autoptr(vej_participant_row) again =
        vej_store_participant_create(f->store, h->id, "Judge", "judge", NULL, judge->id, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(again->id, !=, judge_ptc);

    g_assert_null(
        vej_store_participant_create(f->store, h->id, "X", "witness", "nope", NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

static void
test_reopen(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    int version = vej_store_schema_version(f->store);
    g_assert_cmpint(version, >=, 1);

    g_autoptr(vej_courtroom) c = make_courtroom(f->store, "Persistent");
    g_autoptr(vej_hearing_row) h = make_hearing(f->store, c->id, 42);
    g_autoptr(vej_participant_row) p =
        vej_store_participant_create(f->store, h->id, "P", "observer", NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vej_store_participant_bump_token(f->store, p->id, &error), ==, 2);
    vej_store_close(f->store);
    f->store = NULL;

    /* Reopening twice applies no migration and loses nothing. */
    for (int i = 0; i < 2; i++) {
        g_autoptr(vej_store) s = vej_store_open(f->path, &error);
        g_assert_no_error(error);
        g_assert_cmpint(vej_store_schema_version(s), ==, version);
        g_autoptr(vej_courtroom) c2 = vej_store_courtroom_get(s, c->id, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(c2->name, ==, "Persistent");
        g_autoptr(vej_hearing_row) h2 = vej_store_hearing_get(s, h->id, &error);
        g_assert_no_error(error);
        g_assert_cmpint(h2->starts_at, ==, 42);
        g_autoptr(vej_participant_row) p2 = vej_store_participant_get(s, p->id, &error);
        g_assert_no_error(error);
        g_assert_cmpint(p2->token_version, ==, 2);
    }

    /* The file is in WAL mode, and user_version is the schema version. */
    sqlite3 *raw = NULL;
    g_assert_cmpint(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "wal");
    g_assert_cmpint(sqlite3_finalize(stmt), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), ==, version);
    g_assert_cmpint(sqlite3_finalize(stmt), ==, SQLITE_OK);

    /* A database from a newer build is refused, not downgraded. */
    g_autofree char *bump = g_strdup_printf("PRAGMA user_version=%d", version + 1);
    g_assert_cmpint(sqlite3_exec(raw, bump, NULL, NULL, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_close(raw), ==, SQLITE_OK);
    g_assert_null(vej_store_open(f->path, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
}

static void
test_verbatim(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    const char *names[] = {
        "'; DROP TABLE users; --",
        "Robert\"); DELETE FROM hearings; --",
        "Zoë Ó Súilleabháin — 証人 🙂",
        "%s%n%x \\ ' \" ? ?1 :name @x $y",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(vej_user) u =
            vej_store_user_create(f->store, names[i], "clerk", names[i], false, &error);
        g_assert_no_error(error);
        g_assert_nonnull(u);
        g_autoptr(vej_user) back = vej_store_user_get_by_name(f->store, names[i], &error);
        g_assert_no_error(error);
        g_assert_cmpstr(back->username, ==, names[i]);
        g_assert_cmpstr(back->password_hash, ==, names[i]);

        g_autoptr(vej_courtroom) c = make_courtroom(f->store, names[i]);
        g_autoptr(vej_hearing_row) h =
            vej_store_hearing_create(f->store, c->id, names[i], names[i], 1, 2, &error);
        g_assert_no_error(error);
        g_autoptr(vej_participant_row) p =
            vej_store_participant_create(f->store, h->id, names[i], "witness", NULL, NULL, &error);
        g_assert_no_error(error);
        g_autoptr(vej_hearing_row) h2 = vej_store_hearing_get(f->store, h->id, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(h2->case_reference, ==, names[i]);
        g_assert_cmpstr(h2->title, ==, names[i]);
        g_autoptr(vej_participant_row) p2 = vej_store_participant_get(f->store, p->id, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(p2->display_name, ==, names[i]);
    }
    /* The tables are all still there. */
    g_assert_cmpint(vej_store_user_count(f->store, &error), ==, G_N_ELEMENTS(names));
    g_assert_no_error(error);
    g_autoptr(GPtrArray) rooms = vej_store_courtroom_list(f->store, NULL, 100, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rooms->len, ==, G_N_ELEMENTS(names));
    /* A cursor is opaque: metacharacters in one are harmless too. */
    g_autoptr(GPtrArray) after =
        vej_store_courtroom_list(f->store, "' OR 1=1 --", 100, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(after->len, ==, G_N_ELEMENTS(names));
}

static void
test_ids_unique(struct fixture *f, gconstpointer data)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < 200; i++) {
        g_autoptr(vej_courtroom) c = make_courtroom(f->store, "c");
        assert_id(c->id, "crt_");
        g_assert_true(g_hash_table_add(seen, g_strdup(c->id)));
    }
}

static void
test_unsupported_backend(void)
{
    g_autoptr(GError) error = NULL;
    g_assert_null(vej_store_open("postgresql://localhost/vej", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_FAILED);
    g_assert_cmpstr(vej_store_sqlite_backend.name, ==, "sqlite");
}

static void
test_not_a_database(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "garbage.db", NULL);
    g_autofree char *junk = g_strnfill(8192, 'x');
    g_assert_true(g_file_set_contents(path, junk, -1, &error));
    g_assert_null(vej_store_open(path, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CORRUPT);
    test_tmpdir_remove(dir);
}

#define ADD(name, fn) g_test_add(name, struct fixture, NULL, setup, fn, teardown)

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/store/sqlite/users", test_users);
    ADD("/store/sqlite/user-conflict", test_user_conflict);
    ADD("/store/sqlite/not-found", test_not_found);
    ADD("/store/sqlite/sessions", test_sessions);
    ADD("/store/sqlite/courtroom-pages", test_courtroom_pages);
    ADD("/store/sqlite/hearings", test_hearings);
    ADD("/store/sqlite/participants", test_participants);
    ADD("/store/sqlite/hearing-mutes", test_hearing_mutes);
    ADD("/store/sqlite/reopen", test_reopen);
    ADD("/store/sqlite/verbatim", test_verbatim);
    ADD("/store/sqlite/ids-unique", test_ids_unique);
    g_test_add_func("/store/sqlite/unsupported-backend", test_unsupported_backend);
    g_test_add_func("/store/sqlite/not-a-database", test_not_a_database);
    return g_test_run();
}
