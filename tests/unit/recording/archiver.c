/* Tests of vej-archiver (recording/archiver/) on real media.
 *
 * fixture.c builds a 4-participant recording of GStreamer-encoded VP8 and
 * Opus RTP (distinct tones; participant 1 flashes and beeps together, its
 * SRs' RTP time drifting ahead of its RTP as webrtcbin's does; SR
 * clocks seconds off the gateway's; video 150 ms later than audio on the
 * wire; participant 3 leaves and rejoins with new SSRCs). The real
 * vej-archiver (VEJ_ARCHIVER) runs on it as the daemon runs it; the files
 * are then measured with stock GStreamer (analyse.c): tracks and codecs,
 * durations, tones (spectrum), lip sync, continuity across the rejoin.
 * Corrupt and truncated segments must fail with a clear error and leave no
 * archive. */
#include "tests/unit/recording/analyse.h"
#include "tests/unit/recording/fixture.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static struct vej_fixture fx;
static char *fixture_dir;  /* the pristine recording */
static char *archived_dir; /* a copy, archived once for the file checks */
static const struct analyse_region whole = {0.25, 0.25, 0.5, 0.5};

struct run {
    int status;
    char *out;
    char *err;
};

static void
run_clear(struct run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static struct run
run_archiver(const char *dir)
{
    const char *program = g_getenv("VEJ_ARCHIVER");
    g_assert_nonnull(program);
    const char *argv[] = {program, dir, NULL};
    struct run r = {0};
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                               &r.err, &r.status, &error));
    g_assert_no_error(error);
    return r;
}

static void
copy_tree(const char *from, const char *to)
{
    g_autofree char *cmd = g_strdup_printf("cp -a '%s' '%s'", from, to);
    int status = 0;
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint(status, ==, 0);
}

static char *
path_in(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

/* Every stdout line is JSON; progress never goes back; the last is "done". */
static void
test_progress_lines(void)
{
    g_autofree char *dir = g_strconcat(fixture_dir, "-progress", NULL);
    copy_tree(fixture_dir, dir);
    struct run r = run_archiver(dir);
    g_assert_cmpint(r.status, ==, 0);
    g_auto(GStrv) lines = g_strsplit(g_strstrip(r.out), "\n", -1);
    double last = -1;
    guint n = g_strv_length(lines);
    g_assert_cmpuint(n, >, 5);
    for (guint i = 0; i < n; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        g_assert_nonnull(j);
        double p = json_number_value(json_object_get(j, "progress"));
        g_assert_cmpfloat(p, >=, last);
        g_assert_cmpfloat(p, <=, 1.0);
        last = p;
        if (i == n - 1)
            g_assert_cmpstr(json_string_value(json_object_get(j, "stage")), ==, "done");
        json_decref(j);
    }
    run_clear(&r);
    /* a rerun replaces the archive as a whole */
    g_autofree char *json_path = path_in(dir, "archive/archive.json");
    g_autofree char *before = NULL;
    g_assert_true(g_file_get_contents(json_path, &before, NULL, NULL));
    struct run again = run_archiver(dir);
    g_assert_cmpint(again.status, ==, 0);
    g_autofree char *after = NULL;
    g_assert_true(g_file_get_contents(json_path, &after, NULL, NULL));
    g_assert_cmpstr(before, !=, after); /* its own started_at */
    g_autofree char *replaced = path_in(dir, "archive.replaced");
    g_assert_false(g_file_test(replaced, G_FILE_TEST_EXISTS));
    run_clear(&again);
}

/* A recording without a single packet: an archive with no files. */
static void
test_no_media(void)
{
    g_autofree char *dir = g_strconcat(fixture_dir, "-empty", NULL);
    g_autofree char *capdir = path_in(dir, "capture");
    g_assert_cmpint(g_mkdir_with_parents(capdir, 0700), ==, 0);
    g_autofree char *seg = path_in(capdir, "seg-000001.pcap");
    const guint32 header[6] = {0xa1b23c4du, 2u | (4u << 16), 0, 0, 65535, 101};
    g_assert_true(g_file_set_contents(seg, (const char *)header, sizeof header, NULL));
    g_autofree char *cj = path_in(dir, "capture.json");
    const char *doc = "{\"format\":\"vej-capture/1\",\"participants\":[],\"tracks\":[],"
                      "\"segments\":[]}";
    g_assert_true(g_file_set_contents(cj, doc, -1, NULL));
    struct run r = run_archiver(dir);
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *json_path = path_in(dir, "archive/archive.json");
    json_t *a = json_load_file(json_path, 0, NULL);
    g_assert_nonnull(a);
    g_assert_cmpuint(json_array_size(json_object_get(a, "files")), ==, 0);
    json_decref(a);
    run_clear(&r);
}

/* archive.json lists every file with its real size and SHA-256. */
static void
test_archive_json(void)
{
    g_autofree char *path = path_in(archived_dir, "archive/archive.json");
    json_t *doc = json_load_file(path, 0, NULL);
    g_assert_nonnull(doc);
    g_assert_cmpstr(json_string_value(json_object_get(doc, "format")), ==, "vej-archive/1");
    g_assert_nonnull(json_string_value(json_object_get(doc, "gstreamer_version")));
    json_t *files = json_object_get(doc, "files");
    g_assert_cmpuint(json_array_size(files), ==, fx.n_participants + 1);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        g_autofree char *rel =
            g_strconcat("archive/", json_string_value(json_object_get(f, "name")), NULL);
        g_autofree char *file = path_in(archived_dir, rel);
        g_autofree char *data = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(file, &data, &len, NULL));
        g_assert_cmpint(json_integer_value(json_object_get(f, "size")), ==, (json_int_t)len);
        g_autofree char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)data, len);
        g_assert_cmpstr(json_string_value(json_object_get(f, "sha256")), ==, sha);
        GStatBuf st;
        g_assert_cmpint(g_stat(file, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    }
    json_decref(doc);
    g_autofree char *tmp = path_in(archived_dir, "archive.tmp");
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
}

static double
expected_duration(unsigned i)
{
    const struct vej_fixture_participant *p = &fx.participants[i];
    return (double)(p->last_arrival_ns - p->first_arrival_ns) / 1e9;
}

/* One file per participant: WebM with VP8 + Opus, Matroska with H.264 +
 * Opus; duration from first to last packet. */
static void
test_participant_files(void)
{
    bool saw_h264 = false;
    for (unsigned i = 0; i < fx.n_participants; i++) {
        const struct vej_fixture_participant *p = &fx.participants[i];
        saw_h264 |= p->h264;
        g_autofree char *name = g_strdup_printf("archive/%s.%s", p->id, p->h264 ? "mkv" : "webm");
        g_autofree char *path = path_in(archived_dir, name);
        struct analyse_result r;
        GError *error = NULL;
        g_assert_true(analyse_file(path, &p->tone_hz, 1, &whole, &r, &error));
        g_assert_no_error(error);
        g_assert_nonnull(r.video_caps);
        g_assert_nonnull(r.audio_caps);
        g_assert_true(g_str_has_prefix(r.video_caps, p->h264 ? "video/x-h264" : "video/x-vp8"));
        g_assert_true(g_str_has_prefix(r.audio_caps, "audio/x-opus"));
        g_test_message("%s: %s, duration %.3f s, expected %.3f s", p->id, r.video_caps,
                       r.duration_s, expected_duration(i));
        g_assert_cmpfloat(fabs(r.duration_s - expected_duration(i)), <, 0.5);
        /* every frame: the late (out of order) packets were put back in order */
        double present = p->rejoin_s >= 0 ? (p->leave_s - p->join_s) + (p->end_s - p->rejoin_s)
                                          : p->end_s - p->join_s;
        g_test_message("%s: %u frames of %.0f sent", p->id, r.frames, present * fx.fps);
        g_assert_cmpfloat(r.frames, >=, 0.97 * present * fx.fps);
        g_assert_cmpfloat(analyse_peak_db(&r, 0, 0, 1e9), >, -40.0);
        analyse_result_clear(&r);
    }
    g_assert_true(saw_h264);
}

/* The rejoined participant: one file, its tone before the leave and after
 * the rejoin, silence between. */
static void
test_rejoin_continuous(void)
{
    const struct vej_fixture_participant *p = &fx.participants[2];
    g_assert_cmpfloat(p->rejoin_s, >, 0);
    g_autofree char *name = g_strdup_printf("archive/%s.webm", p->id);
    g_autofree char *path = path_in(archived_dir, name);
    struct analyse_result r;
    g_assert_true(analyse_file(path, &p->tone_hz, 1, &whole, &r, NULL));
    double first = (double)(p->first_arrival_ns - fx.start_ns) / 1e9;
    double leave = p->leave_s - first, rejoin = p->rejoin_s - first;
    double before = analyse_peak_db(&r, 0, 0.5, leave - 0.5);
    double gap = analyse_peak_db(&r, 0, leave + 0.5, rejoin - 0.5);
    double after = analyse_peak_db(&r, 0, rejoin + 0.5, r.duration_s - 0.5);
    g_test_message("rejoin: %.1f dB before, %.1f dB away, %.1f dB after", before, gap, after);
    g_assert_cmpfloat(before, >, -40.0);
    g_assert_cmpfloat(after, >, -40.0);
    g_assert_cmpfloat(gap, <, before - 30.0);
    analyse_result_clear(&r);
}

/* Flashes and beeps of participant 1 within 80 ms in its own file, though
 * its video reached the gateway 150 ms after its audio. */
static void
test_lip_sync_participant(void)
{
    const struct vej_fixture_participant *p = &fx.participants[0];
    g_assert_true(p->beeps);
    g_autofree char *name = g_strdup_printf("archive/%s.webm", p->id);
    g_autofree char *path = path_in(archived_dir, name);
    struct analyse_result r;
    g_assert_true(analyse_file(path, &p->tone_hz, 1, &whole, &r, NULL));
    unsigned pairs = 0;
    double worst = analyse_worst_sync(&r, &pairs);
    g_test_message("participant lip sync: %u flashes, %u beeps, worst %.1f ms", r.flashes->len,
                   r.beeps->len, worst * 1000);
    g_assert_cmpuint(pairs, >=, 3);
    g_assert_cmpuint(pairs, ==, r.flashes->len);
    g_assert_cmpfloat(worst, <, 0.080);
    analyse_result_clear(&r);
}

/* hearing.webm: 1280x720 VP8 + Opus, every tone in the mix, participant 1's
 * tile (top left) in sync with its beeps, participant 3's label (bottom
 * left of the bottom-left tile: "Defence <3 & Co", not valid markup) drawn. */
static void
test_hearing_file(void)
{
    g_autofree char *path = path_in(archived_dir, "archive/hearing.webm");
    double tones[ANALYSE_MAX_TONES + 1];
    for (unsigned i = 0; i < fx.n_participants; i++)
        tones[i] = fx.participants[i].tone_hz;
    tones[fx.n_participants] = 3700.0; /* nobody's tone: the control */
    const struct analyse_region tile0 = {0.1, 0.1, 0.3, 0.3};
    const struct analyse_region label2 = {0.01, 0.84, 0.2, 0.1}; /* above the clock strip */
    struct analyse_result r;
    GError *error = NULL;
    g_assert_true(
        analyse_file_label(path, tones, fx.n_participants + 1, &tile0, &label2, &r, &error));
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(r.video_caps, "video/x-vp8"));
    g_assert_true(g_str_has_prefix(r.audio_caps, "audio/x-opus"));
    g_assert_cmpint(r.width, <=, 1280);
    g_assert_cmpint(r.height, <=, 720);
    g_assert_cmpfloat(fabs(r.duration_s - fx.duration_s), <, 0.5);
    double control = analyse_peak_db(&r, fx.n_participants, 0, 1e9);
    for (unsigned i = 0; i < fx.n_participants; i++) {
        double db = analyse_peak_db(&r, i, 0, 1e9);
        g_test_message("hearing: %.0f Hz at %.1f dB (control %.1f dB)", tones[i], db, control);
        g_assert_cmpfloat(db, >, -40.0);
        g_assert_cmpfloat(db, >, control + 30.0);
    }
    g_test_message("hearing: label region's brightest pixel %.0f", r.label_max_luma);
    g_assert_cmpfloat(r.label_max_luma, >, 200);
    unsigned pairs = 0;
    double worst = analyse_worst_sync(&r, &pairs);
    g_test_message("hearing lip sync: %u pairs, worst %.1f ms", pairs, worst * 1000);
    g_assert_cmpuint(pairs, >=, 3);
    g_assert_cmpfloat(worst, <, 0.080);
    analyse_result_clear(&r);
}

/* A damaged segment: exit 1, one {"error"} line naming it, no archive. */
static void
expect_failure(const char *dir, const char *must_say)
{
    struct run r = run_archiver(dir);
    g_assert_true(WIFEXITED(r.status));
    g_assert_cmpint(WEXITSTATUS(r.status), ==, 1);
    g_auto(GStrv) lines = g_strsplit(g_strstrip(r.out), "\n", -1);
    json_t *last = json_loads(lines[g_strv_length(lines) - 1], 0, NULL);
    const char *message = json_string_value(json_object_get(last, "error"));
    g_assert_nonnull(message);
    g_test_message("error: %s", message);
    g_assert_nonnull(strstr(message, "seg-000002.pcap"));
    g_assert_nonnull(strstr(message, must_say));
    json_decref(last);
    g_autofree char *archive = path_in(dir, "archive");
    g_autofree char *tmp = path_in(dir, "archive.tmp");
    g_assert_false(g_file_test(archive, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    run_clear(&r);
}

static void
test_corrupt_segments(void)
{
    g_autofree char *dir = g_strconcat(fixture_dir, "-corrupt", NULL);
    copy_tree(fixture_dir, dir);
    g_autofree char *seg = path_in(dir, "capture/seg-000002.pcap");
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(seg, &data, &len, NULL));

    /* truncated: shorter than capture.json says */
    g_assert_true(g_file_set_contents(seg, data, (gssize)(len - 100), NULL));
    expect_failure(dir, "truncated");
    /* one byte flipped: the SHA-256 differs */
    data[len / 2] ^= 0x20;
    g_assert_true(g_file_set_contents(seg, data, (gssize)len, NULL));
    expect_failure(dir, "SHA-256");
    /* no sizes or hashes in capture.json: the reader finds the cut record */
    data[len / 2] ^= 0x20;
    g_assert_true(g_file_set_contents(seg, data, (gssize)(len - 100), NULL));
    g_autofree char *cj = path_in(dir, "capture.json");
    json_t *doc = json_load_file(cj, 0, NULL);
    json_object_set_new(doc, "segments", json_array());
    g_assert_cmpint(json_dump_file(doc, cj, 0), ==, 0);
    json_decref(doc);
    expect_failure(dir, "truncated record at byte");
}

/* Two participants, the first with audio only: its file is WebM with Opus
 * alone; the hearing file has one tile and both tones. */
static void
test_audio_only(void)
{
    struct vej_fixture small;
    vej_fixture_default(&small, 2, 6.0);
    small.participants[0].audio_only = true;
    small.participants[0].beeps = false;
    g_autofree char *dir = g_strconcat(fixture_dir, "-audio-only", NULL);
    g_assert_true(vej_fixture_build(&small, dir, NULL));
    struct run r = run_archiver(dir);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *name = g_strdup_printf("archive/%s.webm", small.participants[0].id);
    g_autofree char *path = path_in(dir, name);
    struct analyse_result a;
    g_assert_true(analyse_file(path, &small.participants[0].tone_hz, 1, &whole, &a, NULL));
    g_assert_null(a.video_caps);
    g_assert_true(g_str_has_prefix(a.audio_caps, "audio/x-opus"));
    g_assert_cmpfloat(analyse_peak_db(&a, 0, 0, 1e9), >, -40.0);
    analyse_result_clear(&a);
    g_autofree char *hearing = path_in(dir, "archive/hearing.webm");
    double tones[2] = {small.participants[0].tone_hz, small.participants[1].tone_hz};
    g_assert_true(analyse_file(hearing, tones, 2, &whole, &a, NULL));
    g_assert_nonnull(a.video_caps);
    g_assert_cmpfloat(analyse_peak_db(&a, 0, 0, 1e9), >, -40.0);
    g_assert_cmpfloat(analyse_peak_db(&a, 1, 0, 1e9), >, -40.0);
    g_assert_cmpuint(a.frames, >=, 5 * 15);
    analyse_result_clear(&a);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gst_init(NULL, NULL);
    g_autofree char *base = g_dir_make_tmp("vej-archiver-XXXXXX", NULL);
    fixture_dir = g_build_filename(base, "rec", NULL);
    vej_fixture_default(&fx, 4, 12.0);
    GError *error = NULL;
    if (!vej_fixture_build(&fx, fixture_dir, &error))
        g_error("fixture: %s", error->message);
    archived_dir = g_build_filename(base, "archived", NULL);
    copy_tree(fixture_dir, archived_dir);
    struct run r = run_archiver(archived_dir);
    if (r.status != 0)
        g_error("vej-archiver failed: %s\n%s", r.out, r.err);
    run_clear(&r);

    g_test_add_func("/recording/archiver/archive-json", test_archive_json);
    g_test_add_func("/recording/archiver/participant-files", test_participant_files);
    g_test_add_func("/recording/archiver/rejoin-continuous", test_rejoin_continuous);
    g_test_add_func("/recording/archiver/lip-sync-participant", test_lip_sync_participant);
    g_test_add_func("/recording/archiver/hearing-file", test_hearing_file);
    g_test_add_func("/recording/archiver/progress-lines", test_progress_lines);
    g_test_add_func("/recording/archiver/corrupt-segments", test_corrupt_segments);
    g_test_add_func("/recording/archiver/no-media", test_no_media);
    g_test_add_func("/recording/archiver/audio-only", test_audio_only);
    int rc = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", base);
    if (rc == 0)
        g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL);
    g_free(fixture_dir);
    g_free(archived_dir);
    gst_deinit();
    return rc;
}
