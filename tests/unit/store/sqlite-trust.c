/* Unit tests for store/sqlite-trust.c (through the vej_store_* API):
 * courtroom scope (deny by default), account changes, TOTP steps and
 * recovery codes. */
#include "store/store.h"
#include "tmpdir.h"

#include <string.h>

struct fixture {
    char *dir;
    vej_store *store;
};

static void
setup(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(f->dir, "vej.db", NULL);
    f->store = vej_store_open(path, &error);
    g_assert_no_error(error);
}

static void
teardown(struct fixture *f, gconstpointer data)
{
    vej_store_close(f->store);
    test_tmpdir_remove(f->dir);
    g_free(f->dir);
}

static struct vej_user *
user(vej_store *s, const char *name, const char *role)
{
    g_autoptr(GError) error = NULL;
    struct vej_user *u = vej_store_user_create(s, name, role, "$hash", false, &error);
    g_assert_no_error(error);
    return u;
}

static struct vej_courtroom *
courtroom(vej_store *s, const char *name)
{
    g_autoptr(GError) error = NULL;
    struct vej_courtroom *c = vej_store_courtroom_create(s, name, 30, "UTC", &error);
    g_assert_no_error(error);
    return c;
}

static void
test_scope(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) clerk = user(f->store, "clerk", "clerk");
    g_autoptr(vej_user) admin = user(f->store, "admin", "admin");
    g_autoptr(vej_courtroom) c1 = courtroom(f->store, "One");
    g_autoptr(vej_courtroom) c2 = courtroom(f->store, "Two");
    /* deny by default; admins always */
    g_assert_false(vej_store_user_may_act(f->store, clerk->id, c1->id, &error));
    g_assert_no_error(error);
    g_assert_true(vej_store_user_may_act(f->store, admin->id, c1->id, &error));
    g_assert_false(vej_store_user_may_act(f->store, "usr_nosuch", c1->id, &error));
    g_assert_false(vej_store_user_may_act(f->store, clerk->id, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(vej_store_user_assign_courtroom(f->store, clerk->id, c1->id, &error));
    g_assert_true(vej_store_user_assign_courtroom(f->store, clerk->id, c1->id, &error));
    g_assert_no_error(error);
    g_assert_true(vej_store_user_may_act(f->store, clerk->id, c1->id, &error));
    g_assert_false(vej_store_user_may_act(f->store, clerk->id, c2->id, &error));
    /* scoped lists */
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) mine =
        vej_store_courtroom_list_scoped(f->store, clerk->id, NULL, 10, &next, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(mine->len, ==, 1);
    g_assert_cmpstr(((struct vej_courtroom *)mine->pdata[0])->id, ==, c1->id);
    g_autoptr(GPtrArray) all =
        vej_store_courtroom_list_scoped(f->store, NULL, NULL, 10, NULL, &error);
    g_assert_cmpuint(all->len, ==, 2);
    g_autoptr(vej_hearing_row) h2 =
        vej_store_hearing_create(f->store, c2->id, "T1", "t", 100, 200, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) hs =
        vej_store_hearing_list_scoped(f->store, clerk->id, NULL, 0, 0, NULL, 10, NULL, &error);
    g_assert_cmpuint(hs->len, ==, 0);
    g_autoptr(GPtrArray) all_h =
        vej_store_hearing_list_scoped(f->store, NULL, NULL, 0, 0, NULL, 10, NULL, &error);
    g_assert_cmpuint(all_h->len, ==, 1);
    g_assert_cmpstr(((struct vej_hearing_row *)all_h->pdata[0])->id, ==, h2->id);
    /* replace: an unknown courtroom changes nothing */
    const char *bad[] = {c2->id, "crt_nosuch"};
    g_assert_false(vej_store_user_set_courtrooms(f->store, clerk->id, bad, 2, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(vej_store_user_may_act(f->store, clerk->id, c1->id, NULL));
    const char *good[] = {c2->id};
    g_assert_true(vej_store_user_set_courtrooms(f->store, clerk->id, good, 1, &error));
    g_assert_false(vej_store_user_may_act(f->store, clerk->id, c1->id, NULL));
    g_assert_true(vej_store_user_may_act(f->store, clerk->id, c2->id, NULL));
    g_autoptr(GPtrArray) ids = vej_store_user_courtrooms(f->store, clerk->id, &error);
    g_assert_cmpuint(ids->len, ==, 1);
    g_assert_cmpstr(ids->pdata[0], ==, c2->id);
    /* a disabled account acts nowhere */
    g_assert_true(vej_store_user_update(f->store, clerk->id, 1, NULL, &error));
    g_assert_false(vej_store_user_may_act(f->store, clerk->id, c2->id, NULL));
    g_assert_true(vej_store_user_update(f->store, admin->id, 1, NULL, &error));
    g_assert_false(vej_store_user_may_act(f->store, admin->id, c2->id, NULL));
}

static void
test_user_update_list(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) a = user(f->store, "a", "clerk");
    g_autoptr(vej_user) b = user(f->store, "b", "judge");
    g_assert_true(vej_store_user_update(f->store, a->id, -1, "evidential", &error));
    g_autoptr(vej_user) a2 = vej_store_user_get(f->store, a->id, &error);
    g_assert_cmpstr(a2->role, ==, "evidential");
    g_assert_false(a2->disabled);
    g_assert_false(vej_store_user_update(f->store, a->id, -1, "bishop", &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_assert_false(vej_store_user_update(f->store, "usr_nosuch", 1, NULL, &error));
    g_assert_error(error, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_autofree char *next = NULL;
    g_autoptr(GPtrArray) page = vej_store_user_list(f->store, NULL, 1, &next, &error);
    g_assert_cmpuint(page->len, ==, 1);
    g_assert_nonnull(next);
    g_autofree char *next2 = NULL;
    g_autoptr(GPtrArray) rest = vej_store_user_list(f->store, next, 10, &next2, &error);
    g_assert_cmpuint(rest->len, ==, 1);
    g_assert_null(next2);
    (void)b;
}

static void
test_totp(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) a = user(f->store, "a", "admin");
    struct vej_totp_state st;
    g_assert_true(vej_store_user_totp_get(f->store, a->id, &st, &error));
    g_assert_null(st.secret);
    g_assert_false(st.enabled);
    g_assert_true(vej_store_user_totp_set(f->store, a->id, "JBSWY3DPEHPK3PXP", true, &error));
    g_assert_true(vej_store_user_totp_get(f->store, a->id, &st, &error));
    g_assert_cmpstr(st.secret, ==, "JBSWY3DPEHPK3PXP");
    g_assert_true(st.enabled);
    g_free(st.secret);
    /* a step is used once; an earlier one never */
    g_assert_true(vej_store_user_totp_use_step(f->store, a->id, 1000, &error));
    g_assert_false(vej_store_user_totp_use_step(f->store, a->id, 1000, &error));
    g_assert_false(vej_store_user_totp_use_step(f->store, a->id, 999, &error));
    g_assert_no_error(error);
    g_assert_true(vej_store_user_totp_use_step(f->store, a->id, 1001, &error));
    /* recovery codes: one use each */
    uint8_t codes[2][32];
    memset(codes, 0, sizeof codes);
    codes[0][0] = 1;
    codes[1][0] = 2;
    g_assert_true(
        vej_store_recovery_codes_set(f->store, a->id, (const uint8_t(*)[32])codes, 2, &error));
    g_assert_true(vej_store_recovery_code_use(f->store, a->id, codes[1], &error));
    g_assert_false(vej_store_recovery_code_use(f->store, a->id, codes[1], &error));
    g_assert_no_error(error);
    /* clearing drops the codes */
    g_assert_true(vej_store_user_totp_set(f->store, a->id, NULL, false, &error));
    g_assert_false(vej_store_recovery_code_use(f->store, a->id, codes[0], &error));
    g_assert_true(vej_store_user_totp_get(f->store, a->id, &st, &error));
    g_assert_null(st.secret);
    g_assert_cmpint(st.last_step, ==, 0);
}

#define ADD(name, fn) g_test_add(name, struct fixture, NULL, setup, fn, teardown)

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/store/trust/scope", test_scope);
    ADD("/store/trust/user-update-list", test_user_update_list);
    ADD("/store/trust/totp", test_totp);
    return g_test_run();
}
