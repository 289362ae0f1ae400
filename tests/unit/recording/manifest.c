/* Unit tests for recording/manifest.c: sealing a recording directory made
 * as docs/recording.md describes (capture.json, segments, archive/), the
 * files written and their modes, signatures, re-hashing instead of trusting
 * the inputs, revisions, the parsers, and vej_manifest_verify_dir catching a
 * flipped byte anywhere. */
#include "recording/manifest.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#define REC "rec_0123456789abcdef"

static void
put(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static char *
make_recording(char **root_out)
{
    g_autoptr(GError) error = NULL;
    char *root = g_dir_make_tmp("vej-manifest-XXXXXX", &error);
    g_assert_no_error(error);
    char *dir = g_build_filename(root, REC, NULL);
    put(dir, "capture/seg-000001.pcap", "segment one bytes");
    put(dir, "capture/seg-000002.pcap", "segment two bytes");
    put(dir, "archive/ptc_a.webm", "webm bytes");
    put(dir, "archive/archive.json",
        "{\"format\":\"vej-archive/1\",\"files\":[{\"name\":\"ptc_a.webm\",\"size\":10,"
        "\"participant_id\":\"ptc_a\",\"duration_s\":1.5}],\"archiver_version\":\"0.1.0\","
        "\"gstreamer_version\":\"1.22.0\"}");
    put(dir, "capture.json",
        "{\"format\":\"vej-capture/1\",\"recording_id\":\"" REC "\",\"state\":\"closed\","
        "\"hearing\":{\"id\":\"hrg_x\",\"case_reference\":\"T1\",\"courtroom_id\":\"crt_x\"},"
        "\"gateway_version\":\"0.1.0\",\"clock_synchronised\":true,"
        "\"participants\":[{\"participant_id\":\"ptc_a\",\"role\":\"witness\",\"label\":\"W\"}],"
        "\"consultations\":[{\"room\":\"consultation:c1\",\"participants\":[\"ptc_a\"],"
        "\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:01:00Z\",\"captured\":false}],"
        "\"segments\":[{\"name\":\"capture/seg-000001.pcap\",\"size\":17,\"sha256\":\"00\","
        "\"packets\":3}],\"ring_drops\":2}");
    *root_out = root;
    return dir;
}

static void
rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(cmd), ==, 0);
}

static json_t *
read_manifest(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "manifest.json", NULL);
    json_t *m = json_load_file(path, 0, NULL);
    g_assert_nonnull(m);
    return m;
}

static void
flip(const char *dir, const char *name, size_t at)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(at, <, len);
    data[at] ^= 0x01;
    g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static bool
file_ok(json_t *report, const char *name)
{
    size_t i;
    json_t *f;
    bool found = false, ok = true;
    json_array_foreach(json_object_get(report, "files"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) {
            found = true;
            ok = ok && json_is_true(json_object_get(f, "ok"));
        }
    }
    g_assert_true(found);
    return ok;
}

static void
test_seal_and_verify(void)
{
    g_autofree char *root = NULL;
    g_autofree char *dir = make_recording(&root);
    g_autofree char *key_path = g_build_filename(root, "key.pem", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_signer) key = vej_signer_load(key_path, TRUE, &error);
    g_assert_no_error(error);
    struct vej_manifest_head head = {.seq = 42};
    memset(head.hash, 0xab, 32);
    g_assert_cmpint(vej_manifest_seal(dir, key, &head, &error), ==, 1);
    g_assert_no_error(error);

    static const char *const written[] = {"manifest.json", "manifest.sig", "SHA256SUMS",
                                          "SHA256SUMS.sig"};
    for (size_t i = 0; i < G_N_ELEMENTS(written); i++) {
        g_autofree char *p = g_build_filename(dir, written[i], NULL);
        struct stat st;
        g_assert_cmpint(stat(p, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    }
    json_t *m = read_manifest(dir);
    g_assert_cmpint(json_integer_value(json_object_get(m, "revision")), ==, 1);
    g_assert_true(json_is_null(json_object_get(m, "replaces")));
    g_assert_cmpint(json_integer_value(json_object_get(json_object_get(m, "audit_head"), "seq")),
                    ==, 42);
    g_assert_cmpint(json_integer_value(json_object_get(m, "ring_drops")), ==, 2);
    json_t *c0 = json_array_get(json_object_get(m, "consultations"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(c0, "statement")), ==,
                    VEJ_CONSULTATION_STATEMENT);
    /* 5 files: capture.json, two segments, webm, archive.json */
    g_assert_cmpuint(json_array_size(json_object_get(m, "files")), ==, 5);
    /* capture.json claimed a wrong hash for segment 1: a discrepancy, and the
     * manifest holds the real hash */
    g_assert_cmpuint(json_array_size(json_object_get(m, "discrepancies")), ==, 1);
    json_t *seg = json_array_get(json_object_get(m, "files"), 1);
    g_assert_cmpstr(json_string_value(json_object_get(seg, "name")), ==, "capture/seg-000001.pcap");
    g_assert_cmpint(json_integer_value(json_object_get(seg, "packets")), ==, 3);
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, (const guchar *)"segment one bytes", 17);
    g_assert_cmpstr(json_string_value(json_object_get(seg, "sha256")), ==,
                    g_checksum_get_string(ck));
    json_t *webm = json_array_get(json_object_get(m, "files"), 4);
    g_assert_cmpstr(json_string_value(json_object_get(webm, "participant_id")), ==, "ptc_a");
    json_decref(m);

    /* sha256sum -c accepts SHA256SUMS */
    g_autofree char *cmd = g_strdup_printf("cd '%s' && sha256sum --quiet -c SHA256SUMS", dir);
    g_assert_cmpint(system(cmd), ==, 0);

    json_t *r = vej_manifest_verify_dir(dir, key, &error);
    g_assert_no_error(error);
    g_assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);

    /* a flipped byte in a segment, then in the manifest, then in a signature */
    const char *targets[][2] = {{"capture/seg-000002.pcap", "capture/seg-000002.pcap"},
                                {"manifest.json", "manifest.json"},
                                {"manifest.sig", "manifest.json"},
                                {"SHA256SUMS", "SHA256SUMS"},
                                {"SHA256SUMS.sig", "SHA256SUMS"},
                                {"archive/archive.json", "archive/archive.json"}};
    for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
        flip(dir, targets[i][0], 5);
        r = vej_manifest_verify_dir(dir, key, &error);
        g_assert_no_error(error);
        g_assert_false(json_is_true(json_object_get(r, "ok")));
        g_assert_false(file_ok(r, targets[i][1]));
        json_decref(r);
        flip(dir, targets[i][0], 5);
    }
    r = vej_manifest_verify_dir(dir, key, &error);
    g_assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);

    /* a rerun: revision 2 replaces 1, kept in revisions/ */
    put(dir, "archive/hearing.webm", "composed");
    g_assert_cmpint(vej_manifest_seal(dir, key, &head, &error), ==, 2);
    m = read_manifest(dir);
    json_t *rep = json_object_get(m, "replaces");
    g_assert_cmpint(json_integer_value(json_object_get(rep, "revision")), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(rep, "manifest")), ==,
                    "revisions/manifest-0001.json");
    g_assert_cmpuint(json_array_size(json_object_get(m, "files")), ==, 6);
    json_decref(m);
    g_autofree char *rev = g_build_filename(dir, "revisions/manifest-0001.sig", NULL);
    g_assert_true(g_file_test(rev, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint(system(cmd), ==, 0);
    r = vej_manifest_verify_dir(dir, key, &error);
    g_assert_true(json_is_true(json_object_get(r, "ok")));
    g_assert_true(file_ok(r, "revisions/manifest-0001.json"));
    json_decref(r);

    /* an unfinished segment refuses the seal and changes nothing */
    put(dir, "capture/seg-000003.pcap.open", "x");
    g_assert_cmpint(vej_manifest_seal(dir, key, &head, &error), ==, 0);
    g_assert_nonnull(strstr(error->message, "not finished"));
    g_clear_error(&error);
    m = read_manifest(dir);
    g_assert_cmpint(json_integer_value(json_object_get(m, "revision")), ==, 2);
    json_decref(m);
    rm_rf(root);
}

struct seal_job {
    const char *dir;
    const vej_signer *key;
    int revisions[8];
};

static gpointer
seal_thread(gpointer data)
{
    struct seal_job *job = data;
    for (int i = 0; i < 4; i++) {
        g_autoptr(GError) error = NULL;
        job->revisions[i] = vej_manifest_seal(job->dir, job->key, NULL, &error);
        g_assert_no_error(error);
    }
    return NULL;
}

/* Two sealers at once (the recorder and vejctl) serialise: revisions 1..8
 * each made once, and the result verifies. */
static void
test_concurrent_seals(void)
{
    g_autofree char *root = NULL;
    g_autofree char *dir = make_recording(&root);
    g_autofree char *key_path = g_build_filename(root, "key.pem", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_signer) key = vej_signer_load(key_path, TRUE, &error);
    struct seal_job a = {dir, key, {0}}, b = {dir, key, {0}};
    GThread *ta = g_thread_new("seal-a", seal_thread, &a);
    GThread *tb = g_thread_new("seal-b", seal_thread, &b);
    g_thread_join(ta);
    g_thread_join(tb);
    bool seen[9] = {false};
    for (int i = 0; i < 4; i++) {
        g_assert_true(a.revisions[i] >= 1 && a.revisions[i] <= 8 && !seen[a.revisions[i]]);
        seen[a.revisions[i]] = true;
        g_assert_true(b.revisions[i] >= 1 && b.revisions[i] <= 8 && !seen[b.revisions[i]]);
        seen[b.revisions[i]] = true;
    }
    json_t *r = vej_manifest_verify_dir(dir, key, &error);
    g_assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    rm_rf(root);
}

static void
test_parsers(void)
{
    g_autoptr(GError) error = NULL;
    const char *sums = "0000000000000000000000000000000000000000000000000000000000000000  a/b\n"
                       "1111111111111111111111111111111111111111111111111111111111111111 *c\n";
    g_autoptr(GPtrArray) f = vej_sha256sums_parse(sums, strlen(sums), &error);
    g_assert_no_error(error);
    g_assert_cmpuint(f->len, ==, 2);
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
    static const char twice[] = ZEROS "  a\n" ZEROS "  a\n";
    const char *bad[] = {
        "00  a\n",
        "0000000000000000000000000000000000000000000000000000000000000000  ../a\n",
        "0000000000000000000000000000000000000000000000000000000000000000  a",
        twice,
        "000000000000000000000000000000000000000000000000000000000000000G  a\n",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(vej_sha256sums_parse(bad[i], strlen(bad[i]), &error));
        g_clear_error(&error);
    }
    const char *m =
        "{\"format\":\"vej-manifest/1\",\"files\":[{\"name\":\"x/y\",\"size\":3,"
        "\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\"}]}";
    g_autoptr(GPtrArray) mf = vej_manifest_parse_files(m, strlen(m), NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(mf->len, ==, 1);
    const char *mbad = "{\"format\":\"vej-manifest/1\",\"files\":[{\"name\":\"/etc/passwd\","
                       "\"size\":3,\"sha256\":\"00\"}]}";
    g_assert_null(vej_manifest_parse_files(mbad, strlen(mbad), NULL, &error));
    g_clear_error(&error);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/manifest/seal-verify", test_seal_and_verify);
    g_test_add_func("/manifest/parsers", test_parsers);
    g_test_add_func("/manifest/concurrent-seals", test_concurrent_seals);
    return g_test_run();
}
