/* tmpdir.h - a temporary directory per test, removed with its files. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* (transfer full) a fresh directory under the system temporary directory. */
static inline char *
test_tmpdir_new(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("vej-store-test-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

/* Removes the files directly inside `dir` (the database, its -wal and
 * -shm), then `dir` itself. */
static inline void
test_tmpdir_remove(const char *dir)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
    g_assert_no_error(error);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_assert_cmpint(g_remove(path), ==, 0);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}
