/* Unit tests for recording/audit-heads.c: signing heads only when the chain
 * grew (unless forced), the last head read from the file's tail, a torn
 * last line refused, and vej_audit_heads_check against the log. */
#include "recording/audit-heads.h"
#include "store/audit.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

static void
test_heads(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vej-heads-XXXXXX", &error);
    g_autofree char *db = g_build_filename(dir, "vej.db", NULL);
    g_autofree char *heads = vej_audit_heads_path(dir);
    g_autofree char *key_path = g_build_filename(dir, "k.pem", NULL);
    vej_store *store = vej_store_open(db, &error);
    g_assert_no_error(error);
    vej_store_close(store);
    g_autoptr(vej_signer) key = vej_signer_load(key_path, TRUE, &error);
    g_assert_no_error(error);

    struct vej_signed_head h, last;
    gboolean found = TRUE;
    g_assert_true(vej_audit_heads_last(heads, &last, &found, &error));
    g_assert_false(found);
    for (int i = 0; i < 12; i++) {
        g_assert_true(vej_audit_append_sync(db, "vejctl", "test", "", NULL, &error));
        g_assert_true(vej_audit_heads_sign(db, heads, key, FALSE, &h, &error));
        g_assert_cmpint(h.seq, ==, i + 1);
        /* unchanged chain: nothing new unless forced */
        g_assert_true(vej_audit_heads_sign(db, heads, key, FALSE, &h, &error));
    }
    g_assert_true(vej_audit_heads_sign(db, heads, key, TRUE, &h, &error));
    g_autoptr(GArray) all = vej_audit_heads_read(heads, &error);
    g_assert_cmpuint(all->len, ==, 13);
    g_assert_true(vej_audit_heads_last(heads, &last, &found, &error));
    g_assert_true(found);
    g_assert_cmpint(last.seq, ==, 12);
    g_assert_cmpint(last.signed_at_us, ==, h.signed_at_us);
    int64_t n = 0;
    g_assert_true(vej_audit_heads_check(db, heads, key, &n, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, 13);

    /* a torn last line */
    FILE *f = fopen(heads, "a");
    fputs("12 abc", f);
    fclose(f);
    g_assert_false(vej_audit_heads_last(heads, &last, &found, &error));
    g_clear_error(&error);
    g_assert_false(vej_audit_heads_check(db, heads, key, &n, NULL, &error));
    g_clear_error(&error);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(rm), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audit-heads/sign-last-check", test_heads);
    return g_test_run();
}
