/* Unit tests for recording/tar.c: headers round-trip, names are checked,
 * base-256 sizes, checksums, and GNU tar reads what we write. */
#include "recording/tar.h"

#include <glib.h>
#include <string.h>

static void
test_roundtrip(void)
{
    uint8_t b[VEJ_TAR_BLOCK];
    struct vej_tar_member m;
    g_assert_cmpint(
        vej_tar_header_build(b, "rec_0123/capture/seg-000001.pcap", 1234, 0600, 1700000000), ==, 0);
    g_assert_cmpint(vej_tar_header_parse(b, &m), ==, VEJ_TAR_OK);
    g_assert_cmpstr(m.name, ==, "rec_0123/capture/seg-000001.pcap");
    g_assert_cmpuint(m.size, ==, 1234);
    g_assert_cmpuint(m.mode, ==, 0600);
    g_assert_cmpint(m.mtime, ==, 1700000000);
    /* long names use the prefix field */
    char longname[200];
    memset(longname, 'a', 120);
    g_strlcpy(longname + 120, "/b.txt", sizeof longname - 120);
    g_assert_cmpint(vej_tar_header_build(b, longname, 1, 0600, 0), ==, 0);
    g_assert_cmpint(vej_tar_header_parse(b, &m), ==, VEJ_TAR_OK);
    g_assert_cmpstr(m.name, ==, longname);
    /* big sizes: base-256 */
    uint64_t big = UINT64_C(20000000000);
    g_assert_cmpint(vej_tar_header_build(b, "big.webm", big, 0600, 0), ==, 0);
    g_assert_cmpint(vej_tar_header_parse(b, &m), ==, VEJ_TAR_OK);
    g_assert_cmpuint(m.size, ==, big);
    /* flipped byte: checksum */
    g_assert_cmpint(vej_tar_header_build(b, "a.txt", 5, 0600, 0), ==, 0);
    b[3] ^= 0x20;
    g_assert_cmpint(vej_tar_header_parse(b, &m), ==, VEJ_TAR_BAD_CHECKSUM);
    memset(b, 0, sizeof b);
    g_assert_cmpint(vej_tar_header_parse(b, &m), ==, VEJ_TAR_END);
    g_assert_cmpuint(vej_tar_padding(0), ==, 0);
    g_assert_cmpuint(vej_tar_padding(1), ==, 511);
    g_assert_cmpuint(vej_tar_padding(512), ==, 0);
}

static void
test_names(void)
{
    g_assert_true(vej_tar_name_safe("a/b-c_d.e"));
    const char *bad[] = {"",   "/abs", "a/../b", "..",    ".hidden", "a//b",
                         "a/", "a b",  "a\\b",   "a/./b", "é"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        g_assert_false(vej_tar_name_safe(bad[i]));
    uint8_t b[VEJ_TAR_BLOCK];
    g_assert_cmpint(vej_tar_header_build(b, "../x", 1, 0600, 0), ==, -1);
}

static void
test_gnu_tar_reads_it(void)
{
    if (!g_find_program_in_path("tar")) {
        g_test_message("no tar in PATH");
        g_test_fail();
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vej-tar-XXXXXX", &error);
    g_autofree char *path = g_build_filename(dir, "t.tar", NULL);
    GByteArray *out = g_byte_array_new();
    uint8_t b[VEJ_TAR_BLOCK];
    const char *data = "hello\n";
    g_assert_cmpint(vej_tar_header_build(b, "top/sub/hello.txt", 6, 0600, 1700000000), ==, 0);
    g_byte_array_append(out, b, sizeof b);
    g_byte_array_append(out, (const guint8 *)data, 6);
    uint8_t zero[1024] = {0};
    g_byte_array_append(out, zero, vej_tar_padding(6));
    g_byte_array_append(out, zero, 1024);
    g_assert_true(g_file_set_contents(path, (const char *)out->data, out->len, &error));
    g_byte_array_unref(out);
    g_autofree char *cmd = g_strdup_printf("tar -xf '%s' -C '%s'", path, dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_autofree char *got_path = g_build_filename(dir, "top/sub/hello.txt", NULL);
    g_autofree char *got = NULL;
    g_assert_true(g_file_get_contents(got_path, &got, NULL, &error));
    g_assert_cmpstr(got, ==, data);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(rm), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tar/roundtrip", test_roundtrip);
    g_test_add_func("/tar/names", test_names);
    g_test_add_func("/tar/gnu-tar", test_gnu_tar_reads_it);
    return g_test_run();
}
