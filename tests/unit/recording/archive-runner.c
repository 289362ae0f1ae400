/* Tests of recording/archive-runner.c: a real vej-archiver run on a fixture
 * recording, reported on the caller's own GMainContext; the child's nice
 * value and limits as set; a child that crashes, stalls, reports an error or
 * cannot be started is a failure with a reason, and the test process (the
 * daemon's stand-in) lives on. Small shell scripts play the misbehaving
 * children. */
#include "recording/archive-runner.h"
#include "tests/unit/recording/fixture.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>
#include <unistd.h>

static char *base_dir;

struct outcome {
    GMainContext *context;
    GMainLoop *loop;
    unsigned progress_calls;
    double last_fraction;
    char *first_stage, *last_stage;
    int pid; /* at start: 0 if it had already exited */
    bool done_called, ok, wrong_context, went_back;
    char *reason;
};

static void
on_progress(double fraction, const char *stage, void *user_data)
{
    struct outcome *o = user_data;
    o->progress_calls++;
    if (!g_main_context_is_owner(o->context))
        o->wrong_context = true;
    if (fraction < o->last_fraction)
        o->went_back = true;
    o->last_fraction = fraction;
    if (o->first_stage == NULL)
        o->first_stage = g_strdup(stage);
    g_free(o->last_stage);
    o->last_stage = g_strdup(stage);
}

static void
on_done(bool ok, const char *reason, void *user_data)
{
    struct outcome *o = user_data;
    g_assert_false(o->done_called);
    o->done_called = true;
    o->ok = ok;
    o->reason = g_strdup(reason);
    if (!g_main_context_is_owner(o->context))
        o->wrong_context = true;
    g_main_loop_quit(o->loop);
}

static gboolean
on_timeout(gpointer user_data)
{
    g_error("the runner never reported (%p)", user_data);
    return G_SOURCE_REMOVE;
}

/* Runs program on dir in a private context until done; 120 s at most. */
static void
run(const char *program, const char *dir, const struct vej_archive_limits *limits,
    struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->context = g_main_context_new();
    o->loop = g_main_loop_new(o->context, FALSE);
    GError *error = NULL;
    struct vej_archive_run *r =
        vej_archive_run_start(program, dir, limits, o->context, on_progress, on_done, o, &error);
    g_assert_no_error(error);
    g_assert_nonnull(r);
    o->pid = vej_archive_run_pid(r);
    GSource *t = g_timeout_source_new_seconds(120);
    g_source_set_callback(t, on_timeout, o, NULL);
    g_source_attach(t, o->context);
    g_main_context_push_thread_default(o->context);
    g_main_loop_run(o->loop);
    g_main_context_pop_thread_default(o->context);
    g_source_destroy(t);
    g_source_unref(t);
    vej_archive_run_free(r);
    g_assert_true(o->done_called);
    g_assert_false(o->wrong_context);
}

static void
outcome_clear(struct outcome *o)
{
    g_main_loop_unref(o->loop);
    g_main_context_unref(o->context);
    g_free(o->first_stage);
    g_free(o->last_stage);
    g_free(o->reason);
}

static char *
script(const char *name, const char *body)
{
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
    char *path = g_build_filename(base_dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_cmpint(g_chmod(path, 0700), ==, 0);
    return path;
}

static void
unlimited(struct vej_archive_limits *l)
{
    vej_archive_limits_default(l);
#if defined(__SANITIZE_ADDRESS__)
    l->address_space = 0; /* ASan reserves terabytes of shadow address space */
#endif
}

static void
test_real_run(void)
{
    struct vej_fixture fx;
    vej_fixture_default(&fx, 2, 6.0);
    g_autofree char *dir = g_build_filename(base_dir, "rec", NULL);
    GError *error = NULL;
    g_assert_true(vej_fixture_build(&fx, dir, &error));
    g_autofree char *program = vej_archive_runner_program(&error);
    g_assert_no_error(error);
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    run(program, dir, &l, &o);
    g_test_message("real run: %u progress calls, reason %s", o.progress_calls,
                   o.reason ? o.reason : "-");
    g_assert_true(o.ok);
    g_assert_null(o.reason);
    g_assert_cmpint(o.pid, >, 0);
    g_assert_cmpuint(o.progress_calls, >=, 4);
    g_assert_false(o.went_back);
    g_assert_cmpfloat(o.last_fraction, ==, 1.0);
    g_assert_cmpstr(o.last_stage, ==, "done");
    g_autofree char *hearing = g_build_filename(dir, "archive", "hearing.webm", NULL);
    g_assert_true(g_file_test(hearing, G_FILE_TEST_IS_REGULAR));
    outcome_clear(&o);

    /* the same recording with a truncated segment: the archiver's own words */
    g_autofree char *seg = g_build_filename(dir, "capture", "seg-000001.pcap", NULL);
    g_assert_cmpint(truncate(seg, 1000), ==, 0);
    run(program, dir, &l, &o);
    g_test_message("truncated: %s", o.reason);
    g_assert_false(o.ok);
    g_assert_nonnull(strstr(o.reason, "seg-000001.pcap"));
    outcome_clear(&o);
}

static void
test_limits_applied(void)
{
    g_autofree char *p =
        script("limits.sh", "echo \"{\\\"progress\\\":0.5,\\\"stage\\\":\\\"nice=$(nice) "
                            "as=$(ulimit -v) cpu=$(ulimit -t) io=$(ionice -p $$) "
                            "$(chrt -p $$ | grep -o 'SCHED_[A-Z]*') "
                            "sid=$(cut -d' ' -f6 /proc/$$/stat)\\\"}\"\n"
                            "echo '{\"progress\":1,\"stage\":\"done\"}'");
    struct vej_archive_limits l = {
        .nice = 10, .address_space = (uint64_t)3 << 30, .cpu_seconds = 600, .stall_seconds = 30};
    struct outcome o;
    run(p, base_dir, &l, &o);
    g_assert_true(o.ok);
    g_assert_cmpuint(o.progress_calls, ==, 2);
    /* in our session: with scheduler autogroups nice only counts within one */
    g_autofree char *want = g_strdup_printf(
        "nice=10 as=3145728 cpu=600 io=best-effort: prio 7 SCHED_BATCH sid=%d", (int)getsid(0));
    g_assert_cmpstr(o.first_stage, ==, want);
    outcome_clear(&o);
}

/* Exit status 0 without the "done" line is not a success. */
static void
test_no_done_line(void)
{
    g_autofree char *p = script("nodone.sh", "echo '{\"progress\":0.5,\"stage\":\"hearing\"}'");
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    run(p, base_dir, &l, &o);
    g_assert_false(o.ok);
    g_assert_cmpstr(o.reason, ==, "exited without finishing");
    outcome_clear(&o);
}

/* A 1 MB line is dropped whole; the lines around it count. */
static void
test_long_line(void)
{
    g_autofree char *p = script("long.sh", "echo '{\"progress\":0.5,\"stage\":\"hearing\"}'\n"
                                           "head -c 1000000 /dev/zero | tr '\\0' x; echo\n"
                                           "printf '{\"progress\":1,\"stage\":\"done\"}'");
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    run(p, base_dir, &l, &o);
    g_assert_true(o.ok);
    g_assert_cmpuint(o.progress_calls, ==, 2);
    outcome_clear(&o);
}

static void
test_crash(void)
{
    g_autofree char *p =
        script("crash.sh", "echo '{\"progress\":0.1,\"stage\":\"scan\"}'\nkill -SEGV $$");
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    run(p, base_dir, &l, &o);
    g_test_message("crash: %s", o.reason);
    g_assert_false(o.ok);
    g_assert_true(g_str_has_prefix(o.reason, "killed by signal 11"));
    outcome_clear(&o);
}

static void
test_stall(void)
{
    g_autofree char *p =
        script("stall.sh", "echo '{\"progress\":0.1,\"stage\":\"hearing\"}'\nexec sleep 60");
    struct vej_archive_limits l;
    unlimited(&l);
    l.stall_seconds = 1;
    struct outcome o;
    gint64 t0 = g_get_monotonic_time();
    run(p, base_dir, &l, &o);
    double took = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_test_message("stall: %s after %.1f s", o.reason, took);
    g_assert_false(o.ok);
    g_assert_cmpstr(o.reason, ==, "no progress for 1 s: killed");
    g_assert_cmpfloat(took, <, 10.0);
    outcome_clear(&o);

    /* still printing, never advancing: a stuck pipeline */
    g_autofree char *q = script("stuck.sh", "while true; do echo '{\"progress\":0.3,\"stage\":"
                                            "\"hearing\"}'; sleep 0.2; done");
    l.stall_seconds = 2;
    run(q, base_dir, &l, &o);
    g_assert_false(o.ok);
    g_assert_cmpstr(o.reason, ==, "no progress for 2 s: killed");
    outcome_clear(&o);
}

static void
test_error_line(void)
{
    g_autofree char *p =
        script("error.sh", "echo '{\"progress\":0,\"stage\":\"check\"}'\n"
                           "echo '{\"error\":\"segment capture/seg-000001.pcap: truncated "
                           "record\",\"stage\":\"check\"}'\necho oops >&2\nexit 1");
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    run(p, base_dir, &l, &o);
    g_assert_false(o.ok);
    g_assert_cmpstr(o.reason, ==, "segment capture/seg-000001.pcap: truncated record");
    outcome_clear(&o);
    /* no error line: the exit status and the last line of stderr */
    g_autofree char *q = script("status.sh", "echo 'GStreamer said no' >&2\nexit 3");
    run(q, base_dir, &l, &o);
    g_assert_cmpstr(o.reason, ==, "exited with status 3: GStreamer said no");
    outcome_clear(&o);
}

static void
test_cancel(void)
{
    g_autofree char *p = script("slow.sh", "while true; do echo '{\"progress\":0.2,\"stage\":"
                                           "\"hearing\"}'; sleep 0.2; done");
    struct vej_archive_limits l;
    unlimited(&l);
    struct outcome o;
    memset(&o, 0, sizeof o);
    o.context = g_main_context_new();
    o.loop = g_main_loop_new(o.context, FALSE);
    struct vej_archive_run *r =
        vej_archive_run_start(p, base_dir, &l, o.context, on_progress, on_done, &o, NULL);
    g_assert_nonnull(r);
    while (o.progress_calls < 2)
        g_main_context_iteration(o.context, TRUE);
    vej_archive_run_cancel(r);
    g_main_loop_run(o.loop);
    g_assert_false(o.ok);
    g_assert_cmpstr(o.reason, ==, "cancelled");
    vej_archive_run_free(r);
    outcome_clear(&o);
}

static void
test_not_started(void)
{
    struct vej_archive_limits l;
    unlimited(&l);
    GError *error = NULL;
    struct outcome o = {0};
    struct vej_archive_run *r = vej_archive_run_start("/nonexistent/vej-archiver", base_dir, &l,
                                                      NULL, on_progress, on_done, &o, &error);
    g_assert_null(r);
    g_assert_nonnull(error);
    g_clear_error(&error);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_assert_false(o.done_called);
    g_setenv("VEJ_ARCHIVER", "/nonexistent/vej-archiver", TRUE);
    g_autofree char *missing = vej_archive_runner_program(&error);
    g_assert_null(missing);
    g_assert_nonnull(strstr(error->message, "VEJ_ARCHIVER"));
    g_clear_error(&error);
    g_unsetenv("VEJ_ARCHIVER");
    g_autofree char *found = vej_archive_runner_program(&error);
    g_assert_no_error(error);
    g_assert_true(g_file_test(found, G_FILE_TEST_IS_EXECUTABLE)); /* the build tree's */
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gst_init(NULL, NULL);
    base_dir = g_dir_make_tmp("vej-runner-XXXXXX", NULL);
    g_test_add_func("/recording/archive-runner/real-run", test_real_run);
    g_test_add_func("/recording/archive-runner/limits-applied", test_limits_applied);
    g_test_add_func("/recording/archive-runner/no-done-line", test_no_done_line);
    g_test_add_func("/recording/archive-runner/long-line", test_long_line);
    g_test_add_func("/recording/archive-runner/crash", test_crash);
    g_test_add_func("/recording/archive-runner/stall", test_stall);
    g_test_add_func("/recording/archive-runner/error-line", test_error_line);
    g_test_add_func("/recording/archive-runner/cancel", test_cancel);
    g_test_add_func("/recording/archive-runner/not-started", test_not_started);
    int rc = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", base_dir);
    g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL);
    g_free(base_dir);
    gst_deinit();
    return rc;
}
