/* Unit tests for the recordings of the store (store/sqlite-recordings.c,
 * migration 0003): create (one per hearing), get, list filters and paging,
 * updates, and the retention sweep's selection (legal hold, deleted media,
 * the courtroom's retention_days). */
#include "store/store.h"
#include "tests/unit/store/tmpdir.h"

#include <string.h>

static void
test_recordings(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "vej.db", NULL);
    g_autoptr(GError) error = NULL;
    vej_store *s = vej_store_open(path, &error);
    g_assert_no_error(error);
    g_autoptr(vej_courtroom) c = vej_store_courtroom_create(s, "Court 1", 30, "UTC", &error);
    g_autoptr(vej_courtroom) c2 = vej_store_courtroom_create(s, "Court 2", 1, "UTC", &error);
    g_assert_no_error(error);
    g_autoptr(vej_hearing_row) h1 =
        vej_store_hearing_create(s, c->id, "T1", "", 1000, 2000, &error);
    g_autoptr(vej_hearing_row) h2 =
        vej_store_hearing_create(s, c2->id, "T2", "", 1000, 2000, &error);
    g_assert_no_error(error);

    g_autoptr(vej_recording_row) r1 =
        vej_store_recording_create(s, NULL, h1->id, c->id, "T1", 1700000000, &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(r1->id, "rec_"));
    g_assert_cmpuint(strlen(r1->id), ==, 20);
    g_assert_cmpstr(r1->dir, ==, r1->id);
    g_assert_cmpstr(r1->state, ==, "recording");
    g_assert_cmpint(r1->verify_ok, ==, -1);
    /* one per hearing */
    g_assert_null(vej_store_recording_create(s, NULL, h1->id, c->id, "T1", 1, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_CONFLICT);
    g_clear_error(&error);
    g_autoptr(vej_recording_row) r2 = vej_store_recording_create(s, "rec_00112233445566ff", h2->id,
                                                                 c2->id, "T2", 1700100000, &error);
    g_assert_no_error(error);

    g_assert_cmpstr(r2->id, ==, "rec_00112233445566ff");
    g_assert_null(vej_store_recording_create(s, "rec_../../etc", h2->id, c2->id, "T2", 1, &error));
    g_clear_error(&error);
    g_autoptr(vej_recording_row) byh = vej_store_recording_get_by_hearing(s, h2->id, &error);
    g_assert_cmpstr(byh->id, ==, r2->id);
    g_assert_null(vej_store_recording_get(s, "rec_0000000000000000", &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    struct vej_recording_filter f = {.case_reference = "T1"};
    g_autoptr(GPtrArray) l = vej_store_recording_list(s, &f, NULL, 10, NULL, &error);
    g_assert_cmpuint(l->len, ==, 1);
    struct vej_recording_filter f2 = {.from = 1700050000};
    g_autoptr(GPtrArray) l2 = vej_store_recording_list(s, &f2, NULL, 10, NULL, &error);
    g_assert_cmpuint(l2->len, ==, 1);
    g_assert_cmpstr(((struct vej_recording_row *)l2->pdata[0])->id, ==, r2->id);
    struct vej_recording_filter all = {0};
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) p1 = vej_store_recording_list(s, &all, NULL, 1, &next, &error);
    g_assert_cmpuint(p1->len, ==, 1);
    g_assert_nonnull(next);

    /* updates */
    struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
    u.state = "archived";
    u.closed_at = 1700000500;
    u.manifest_revision = 1;
    g_assert_true(vej_store_recording_update(s, r1->id, &u, &error));
    struct vej_recording_update u2 = VEJ_RECORDING_UPDATE_INIT;
    u2.state = "archived";
    u2.closed_at = 1700100500;
    g_assert_true(vej_store_recording_update(s, r2->id, &u2, &error));
    g_autoptr(vej_recording_row) g1 = vej_store_recording_get(s, r1->id, &error);
    g_assert_cmpstr(g1->state, ==, "archived");
    g_assert_cmpint(g1->manifest_revision, ==, 1);
    g_assert_cmpint(g1->sealed_at, >, 0);
    g_assert_false(g1->legal_hold);

    /* retention: Court 2 keeps 1 day, Court 1 30 days */
    int64_t day = 86400;
    g_autoptr(GPtrArray) e0 = vej_store_recording_list_expired(s, 1700100500 + day - 1, 10, &error);
    g_assert_cmpuint(e0->len, ==, 0);
    g_autoptr(GPtrArray) e1 = vej_store_recording_list_expired(s, 1700100500 + day, 10, &error);
    g_assert_cmpuint(e1->len, ==, 1);
    /* a legal hold stops it */
    struct vej_recording_update hold = VEJ_RECORDING_UPDATE_INIT;
    hold.legal_hold = 1;
    hold.legal_hold_reason = "appeal";
    hold.legal_hold_by = "usr_x";
    g_assert_true(vej_store_recording_update(s, r2->id, &hold, &error));
    g_autoptr(GPtrArray) e2 =
        vej_store_recording_list_expired(s, 1700100500 + 40 * day, 10, &error);
    g_assert_cmpuint(e2->len, ==, 1); /* only r1 now */
    g_assert_cmpstr(((struct vej_recording_row *)e2->pdata[0])->id, ==, r1->id);
    g_autoptr(vej_recording_row) g2 = vej_store_recording_get(s, r2->id, &error);
    g_assert_true(g2->legal_hold);
    g_assert_cmpstr(g2->legal_hold_reason, ==, "appeal");
    /* deleted media is not swept again */
    struct vej_recording_update del = VEJ_RECORDING_UPDATE_INIT;
    del.media_deleted_at = 1800000000;
    g_assert_true(vej_store_recording_update(s, r1->id, &del, &error));
    g_autoptr(GPtrArray) e3 = vej_store_recording_list_expired(s, 1900000000, 10, &error);
    g_assert_cmpuint(e3->len, ==, 0);
    /* bad state refused, unknown id not found */
    struct vej_recording_update bad = VEJ_RECORDING_UPDATE_INIT;
    bad.state = "exploded";
    g_assert_false(vej_store_recording_update(s, r1->id, &bad, &error));
    g_clear_error(&error);
    g_assert_false(vej_store_recording_update(s, "rec_0000000000000000", &u, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    vej_store_close(s);
    test_tmpdir_remove(dir);
}

/* The courtroom scope is in the query: a page of `limit` holds the user's
 * recordings even when others' sort before them; an admin sees all, a
 * disabled account nothing. */
static void
test_recordings_scoped(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "vej.db", NULL);
    g_autoptr(GError) error = NULL;
    vej_store *s = vej_store_open(path, &error);
    g_assert_no_error(error);
    g_autoptr(vej_courtroom) c1 = vej_store_courtroom_create(s, "Court 1", 30, "UTC", &error);
    g_autoptr(vej_courtroom) c2 = vej_store_courtroom_create(s, "Court 2", 30, "UTC", &error);
    g_assert_no_error(error);
    for (int i = 0; i < 5; i++) {
        const vej_courtroom *c = i < 3 ? c1 : c2; /* c1's ids sort first */
        g_autoptr(vej_hearing_row) h =
            vej_store_hearing_create(s, c->id, "T9", "", 1000, 2000, &error);
        char id[32];
        g_snprintf(id, sizeof id, "rec_00000000000000%02d", i);
        g_autoptr(vej_recording_row) r =
            vej_store_recording_create(s, id, h->id, c->id, "T9", 1700000000 + i, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(r->courtroom_id, ==, c->id);
    }
    struct vej_user *ev = vej_store_user_create(s, "ev1", "evidential", "$h", false, &error);
    struct vej_user *ad = vej_store_user_create(s, "ad1", "admin", "$h", false, &error);
    g_assert_no_error(error);
    g_assert_true(vej_store_user_assign_courtroom(s, ev->id, c2->id, &error));

    struct vej_recording_filter f = {.scope_user_id = ev->id};
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) p1 = vej_store_recording_list(s, &f, NULL, 1, &next, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(p1->len, ==, 1);
    g_assert_cmpstr(((struct vej_recording_row *)p1->pdata[0])->id, ==, "rec_0000000000000003");
    g_assert_cmpstr(next, ==, "rec_0000000000000003");
    g_autofree char *next2 = NULL;
    g_autoptr(GPtrArray) p2 = vej_store_recording_list(s, &f, next, 1, &next2, &error);
    g_assert_cmpuint(p2->len, ==, 1);
    g_assert_cmpstr(((struct vej_recording_row *)p2->pdata[0])->id, ==, "rec_0000000000000004");
    g_assert_null(next2);
    struct vej_recording_filter fa = {.scope_user_id = ad->id};
    g_autoptr(GPtrArray) all = vej_store_recording_list(s, &fa, NULL, 10, NULL, &error);
    g_assert_cmpuint(all->len, ==, 5);
    struct vej_recording_filter fn = {.scope_user_id = "usr_nobody"};
    g_autoptr(GPtrArray) none = vej_store_recording_list(s, &fn, NULL, 10, NULL, &error);
    g_assert_cmpuint(none->len, ==, 0);
    vej_user_free(ev);
    vej_user_free(ad);
    vej_store_close(s);
    test_tmpdir_remove(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/store/recordings", test_recordings);
    g_test_add_func("/store/recordings/scoped", test_recordings_scoped);
    return g_test_run();
}
