/* Unit tests for recording/bundle.c: a sealed recording streamed as a
 * bundle (in odd-sized reads) is a tar that GNU tar lists, that
 * vej_bundle_verify accepts with the bundle's key and with the given key,
 * and in which every single flipped byte (XOR 0x01 and XOR 0x20, at every
 * offset) is detected; another key is refused. */
#include "recording/bundle.h"
#include "recording/manifest.h"

#include <string.h>

#define REC "rec_00000000000000aa"

static void
put(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

struct mem {
    const uint8_t *data;
    size_t size, pos;
};

static gssize
mem_read(void *ctx, uint8_t *buf, size_t len)
{
    struct mem *m = ctx;
    size_t n = MIN(len, m->size - m->pos);
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (gssize)n;
}

static bool
verifies(const uint8_t *data, size_t size, const vej_signer *key)
{
    struct mem m = {data, size, 0};
    json_t *r = vej_bundle_verify(mem_read, &m, key, NULL);
    bool ok = r && json_is_true(json_object_get(r, "ok"));
    json_decref(r);
    return ok;
}

static void
test_bundle(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *root = g_dir_make_tmp("vej-bundle-XXXXXX", &error);
    g_autofree char *dir = g_build_filename(root, REC, NULL);
    put(dir, "capture/seg-000001.pcap", "pcap bytes");
    put(dir, "archive/hearing.webm", "webm");
    put(dir, "archive/archive.json", "{\"format\":\"vej-archive/1\",\"files\":[]}");
    put(dir, "capture.json", "{\"format\":\"vej-capture/1\",\"recording_id\":\"" REC "\"}");
    g_autofree char *key_path = g_build_filename(root, "k.pem", NULL);
    g_autoptr(vej_signer) key = vej_signer_load(key_path, TRUE, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vej_manifest_seal(dir, key, NULL, &error), ==, 1);

    g_autoptr(vej_bundle) b = vej_bundle_new(dir, key, &error);
    g_assert_no_error(error);
    uint64_t size = vej_bundle_size(b);
    g_assert_cmpuint(size % 512, ==, 0);
    uint8_t *data = g_malloc(size);
    size_t got = 0;
    for (size_t step = 1;; step = step * 3 + 7) { /* odd read sizes */
        gssize n = vej_bundle_read(b, data + got, MIN(step, size - got + 10));
        g_assert_cmpint(n, >=, 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    g_assert_cmpuint(got, ==, size);

    g_autofree char *tar_path = g_build_filename(root, "b.tar", NULL);
    g_assert_true(g_file_set_contents(tar_path, (const char *)data, (gssize)size, NULL));
    g_autofree char *cmd =
        g_strdup_printf("tar -tf '%s' | grep -qx '" REC "/VERIFY.txt'", tar_path);
    g_assert_cmpint(system(cmd), ==, 0);

    g_assert_true(verifies(data, size, NULL));
    g_assert_true(verifies(data, size, key));
    g_autofree char *other_path = g_build_filename(root, "o.pem", NULL);
    g_autoptr(vej_signer) other = vej_signer_load(other_path, TRUE, &error);
    g_assert_false(verifies(data, size, other));
    g_assert_false(verifies(data, size / 2, NULL));

    /* Two kinds of flip, with the bundle's key and a given one: at every
     * byte of the first header, every 7th of the end blocks and every 29th
     * elsewhere (offsets cycle through every field of every member);
     * VEJ_TEST_EXHAUSTIVE=1 flips every byte (26624 flips, minutes). */
    static const uint8_t flips[] = {0x01, 0x20};
    bool all = g_getenv("VEJ_TEST_EXHAUSTIVE") != NULL;
    size_t checked = 0;
    gint64 t0 = g_get_monotonic_time();
    for (size_t k = 0; k < G_N_ELEMENTS(flips); k++) {
        for (size_t i = 0; i < size; i++) {
            bool sample = i < 512 || (i >= size - 1024 ? (i + k) % 7 == 0 : (i + k) % 29 == 0);
            if (!all && !sample)
                continue;
            checked++;
            data[i] ^= flips[k];
            if (verifies(data, size, i % 2 ? key : NULL))
                g_error("a flipped byte at %zu (xor 0x%02x) was not detected", i, flips[k]);
            data[i] ^= flips[k];
        }
    }
    g_test_message("%zu bytes, %zu flips checked in %.1f s", (size_t)size, checked,
                   (g_get_monotonic_time() - t0) / 1e6);
    g_assert_true(verifies(data, size, NULL));
    g_free(data);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", root);
    g_assert_cmpint(system(rm), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bundle/stream-verify-every-byte", test_bundle);
    return g_test_run();
}
