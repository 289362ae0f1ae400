/* archive-runner.c - vej-archiver as a child process (see archive-runner.h).
 *
 * The child is spawned with GSubprocess; between fork and exec the child
 * setup lowers its priority (setpriority: nice; SCHED_BATCH, so the
 * scheduler treats it as the CPU-bound batch job it is and never lets it
 * preempt a media worker on wake-up; the lowest best-effort I/O priority, so
 * its reads and writes queue behind the recorder's; it stays in the
 * daemon's session, no setsid: with the kernel's scheduler autogroups nice
 * only counts within a session, and bench/archiver-under-load saw an
 * archiver in a session of its own make a 10x10 hearing's PCs fail), caps
 * its address space and CPU
 * time (setrlimit: the kernel kills a runaway, SIGXCPU then SIGKILL), and
 * asks for SIGKILL if the spawning thread dies (PR_SET_PDEATHSIG, so a
 * daemon killed with SIGKILL leaves no archiver behind; the next start
 * archives again). Only async-signal-safe calls run there.
 *
 * Standard output is read line by line ({"progress"...}, {"error"...});
 * standard error is drained and its last line kept for the failure reason;
 * lines are capped (MAX_LINE), so what the child prints costs the daemon a
 * bounded amount of memory.
 * A once-a-second timer kills a child with no progress line for
 * stall_seconds. The outcome is reported once both the exit status and the
 * end of standard output are known. Every async operation holds a
 * reference on the run, so a handle freed early (vej_archive_run_free)
 * only detaches the callbacks; nothing runs on freed memory.
 */
#include "recording/archive-runner.h"

#include <gio/gio.h>
#include <jansson.h>
#include <signal.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/ioprio.h's values (not every libc has the header) */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_SHIFT 13

/* Lines of one of the child's pipes, each at most MAX_LINE bytes: a longer
 * one is dropped whole, so a child cannot make the daemon buffer without
 * bound. */
#define MAX_LINE 16384
struct pipe_reader {
    GInputStream *stream; /* owned by the GSubprocess */
    char chunk[4096];
    GString *line;
    bool overlong;
    bool closed;
};

struct vej_archive_run {
    gint refs;
    GMainContext *context;
    GSubprocess *child;
    GCancellable *cancellable;
    struct pipe_reader *out, *err;
    GSource *stall_timer;
    struct vej_archive_limits limits;
    vej_archive_progress_fn progress;
    vej_archive_done_fn done;
    void *user_data;
    gint64 last_progress_us; /* when the fraction last advanced or the stage changed */
    double last_fraction;
    char *last_stage;
    bool saw_done, exited, reported, detached;
    bool stalled, cancelled;
    char *error_line; /* the archiver's {"error": ...} */
    char *last_stderr;
    char pid[16];
};

void
vej_archive_limits_default(struct vej_archive_limits *limits)
{
    limits->nice = 10;
    limits->address_space = (uint64_t)4 << 30;
    limits->cpu_seconds = 4 * 3600;
    limits->stall_seconds = 120;
}

static struct vej_archive_run *
run_ref(struct vej_archive_run *run)
{
    g_atomic_int_inc(&run->refs);
    return run;
}

static void
run_unref(struct vej_archive_run *run)
{
    if (!g_atomic_int_dec_and_test(&run->refs))
        return;
    if (run->stall_timer != NULL) {
        g_source_destroy(run->stall_timer);
        g_source_unref(run->stall_timer);
    }
    for (int i = 0; i < 2; i++) {
        struct pipe_reader *pr = i ? run->err : run->out;
        if (pr != NULL)
            g_string_free(pr->line, TRUE);
        g_free(pr);
    }
    g_clear_object(&run->child);
    g_clear_object(&run->cancellable);
    g_main_context_unref(run->context);
    g_free(run->error_line);
    g_free(run->last_stderr);
    g_free(run->last_stage);
    g_free(run);
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void
child_setup(gpointer data)
{
    const struct vej_archive_limits *l = data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpriority(PRIO_PROCESS, 0, l->nice);
    struct sched_param sp = {0};
    sched_setscheduler(0, SCHED_BATCH, &sp);
    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 7);
    if (l->address_space > 0) {
        struct rlimit r = {l->address_space, l->address_space};
        setrlimit(RLIMIT_AS, &r);
    }
    if (l->cpu_seconds > 0) {
        struct rlimit r = {l->cpu_seconds, l->cpu_seconds + 10};
        setrlimit(RLIMIT_CPU, &r);
    }
}

static char *
exit_reason(struct vej_archive_run *run)
{
    if (run->cancelled)
        return g_strdup("cancelled");
    if (run->error_line != NULL) /* its own words, even if it then hung */
        return g_strdup(run->error_line);
    if (run->stalled)
        return g_strdup_printf("no progress for %u s: killed", run->limits.stall_seconds);
    if (g_subprocess_get_if_signaled(run->child)) {
        int sig = g_subprocess_get_term_sig(run->child);
        return g_strdup_printf("killed by signal %d (%s)%s%s", sig, g_strsignal(sig),
                               run->last_stderr ? ": " : "",
                               run->last_stderr ? run->last_stderr : "");
    }
    int status = g_subprocess_get_exit_status(run->child);
    if (status == 0)
        return g_strdup("exited without finishing");
    return g_strdup_printf("exited with status %d%s%s", status, run->last_stderr ? ": " : "",
                           run->last_stderr ? run->last_stderr : "");
}

static void
maybe_report(struct vej_archive_run *run)
{
    if (run->reported || !run->exited || !run->out->closed)
        return;
    run->reported = true;
    if (run->stall_timer != NULL)
        g_source_destroy(run->stall_timer);
    bool ok = !run->cancelled && !run->stalled && g_subprocess_get_successful(run->child) &&
              run->saw_done;
    g_autofree char *reason = ok ? NULL : exit_reason(run);
    if (!ok)
        g_message("archiver (pid %s) failed: %s", run->pid, reason);
    if (!run->detached && run->done != NULL)
        run->done(ok, reason, run->user_data);
}

static void
handle_line(struct vej_archive_run *run, const char *line)
{
    json_t *j = json_loads(line, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    const char *error = json_string_value(json_object_get(j, "error"));
    json_t *progress = json_object_get(j, "progress");
    const char *stage = json_string_value(json_object_get(j, "stage"));
    if (error != NULL) {
        g_free(run->error_line);
        run->error_line = g_strdup(error);
    } else if (json_is_number(progress)) {
        double fraction = CLAMP(json_number_value(progress), 0.0, 1.0);
        /* only an advance counts as progress: a pipeline stuck while its
         * program still prints is a stall too */
        if (fraction > run->last_fraction || g_strcmp0(stage, run->last_stage) != 0)
            run->last_progress_us = g_get_monotonic_time();
        run->last_fraction = MAX(run->last_fraction, fraction);
        g_free(run->last_stage);
        run->last_stage = g_strdup(stage);
        if (stage != NULL && strcmp(stage, "done") == 0)
            run->saw_done = true;
        if (!run->detached && run->progress != NULL)
            run->progress(fraction, stage ? stage : "", run->user_data);
    }
    json_decref(j);
}

static void read_next(struct vej_archive_run *run, struct pipe_reader *pr);

static void
handle_stderr(struct vej_archive_run *run, char *line)
{
    if (*g_strstrip(line) == '\0')
        return;
    g_debug("archiver: %s", line);
    g_free(run->last_stderr);
    run->last_stderr = g_strndup(line, 300);
}

/* Splits a chunk into lines; a line over MAX_LINE is dropped. */
static void
take_chunk(struct vej_archive_run *run, struct pipe_reader *pr, const char *data, gsize len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        gsize part = nl ? (gsize)(nl - data) : len;
        if (!pr->overlong && pr->line->len + part <= MAX_LINE)
            g_string_append_len(pr->line, data, (gssize)part);
        else
            pr->overlong = true;
        if (nl == NULL)
            return;
        if (!pr->overlong && g_utf8_validate(pr->line->str, (gssize)pr->line->len, NULL)) {
            if (pr == run->out)
                handle_line(run, pr->line->str);
            else
                handle_stderr(run, pr->line->str);
        }
        g_string_truncate(pr->line, 0);
        pr->overlong = false;
        data = nl + 1;
        len -= part + 1;
    }
}

static void
on_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    struct vej_archive_run *run = user_data;
    struct pipe_reader *pr = G_INPUT_STREAM(source) == run->out->stream ? run->out : run->err;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);
    if (n <= 0) { /* end of the stream, or an error */
        if (pr->line->len > 0)
            take_chunk(run, pr, "\n", 1); /* a last line without its newline */
        pr->closed = true;
        maybe_report(run);
        run_unref(run);
        return;
    }
    take_chunk(run, pr, pr->chunk, (gsize)n);
    read_next(run, pr);
    run_unref(run);
}

static void
read_next(struct vej_archive_run *run, struct pipe_reader *pr)
{
    g_input_stream_read_async(pr->stream, pr->chunk, sizeof pr->chunk, G_PRIORITY_DEFAULT, NULL,
                              on_read, run_ref(run));
}

static struct pipe_reader *
pipe_reader_new(GInputStream *stream)
{
    struct pipe_reader *pr = g_new0(struct pipe_reader, 1);
    pr->stream = stream;
    pr->line = g_string_new(NULL);
    return pr;
}

static void
on_child_exit(GObject *source, GAsyncResult *result, gpointer user_data)
{
    struct vej_archive_run *run = user_data;
    g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
    run->exited = true;
    maybe_report(run);
    run_unref(run);
}

static gboolean
on_stall_timer(gpointer user_data)
{
    struct vej_archive_run *run = user_data;
    gint64 quiet_us = g_get_monotonic_time() - run->last_progress_us;
    if (!run->exited && run->limits.stall_seconds > 0 &&
        quiet_us > (gint64)run->limits.stall_seconds * G_USEC_PER_SEC) {
        run->stalled = true;
        g_subprocess_force_exit(run->child);
    }
    return G_SOURCE_CONTINUE;
}

static GSubprocess *
spawn(const char *program, const char *dir, struct vej_archive_limits *limits, GError **error)
{
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_child_setup(launcher, child_setup, limits, NULL);
    const char *argv[] = {program, dir, NULL};
    return g_subprocess_launcher_spawnv(launcher, argv, error);
}

struct vej_archive_run *
vej_archive_run_start(const char *program, const char *dir, const struct vej_archive_limits *limits,
                      GMainContext *context, vej_archive_progress_fn progress,
                      vej_archive_done_fn done, void *user_data, GError **error)
{
    struct vej_archive_run *run = g_new0(struct vej_archive_run, 1);
    run->refs = 1;
    run->limits = *limits;
    run->context = context ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    run->progress = progress;
    run->done = done;
    run->user_data = user_data;
    run->child = spawn(program, dir, &run->limits, error);
    if (run->child == NULL) {
        run_unref(run);
        return NULL;
    }
    const char *id = g_subprocess_get_identifier(run->child); /* NULL once reaped */
    g_strlcpy(run->pid, id ? id : "?", sizeof run->pid);
    run->last_progress_us = g_get_monotonic_time();
    run->cancellable = g_cancellable_new();
    run->out = pipe_reader_new(g_subprocess_get_stdout_pipe(run->child));
    run->err = pipe_reader_new(g_subprocess_get_stderr_pipe(run->child));
    g_main_context_push_thread_default(run->context);
    read_next(run, run->out);
    read_next(run, run->err);
    g_subprocess_wait_async(run->child, NULL, on_child_exit, run_ref(run));
    g_main_context_pop_thread_default(run->context);
    run->stall_timer = g_timeout_source_new_seconds(1);
    g_source_set_callback(run->stall_timer, on_stall_timer, run, NULL);
    g_source_attach(run->stall_timer, run->context);
    return run;
}

void
vej_archive_run_cancel(struct vej_archive_run *run)
{
    if (run->exited)
        return;
    run->cancelled = true;
    g_subprocess_force_exit(run->child);
}

int
vej_archive_run_pid(const struct vej_archive_run *run)
{
    const char *id = run->exited ? NULL : g_subprocess_get_identifier(run->child);
    gint64 pid = 0;
    if (id == NULL || !g_ascii_string_to_signed(id, 10, 1, G_MAXINT, &pid, NULL))
        return 0;
    return (int)pid;
}

void
vej_archive_run_free(struct vej_archive_run *run)
{
    if (run == NULL)
        return;
    run->detached = true;
    if (!run->exited)
        g_subprocess_force_exit(run->child);
    if (run->stall_timer != NULL)
        g_source_destroy(run->stall_timer);
    run_unref(run);
}

static char *
candidate(const char *path)
{
    return path != NULL && g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup(path) : NULL;
}

char *
vej_archive_runner_program(GError **error)
{
    const char *env = g_getenv("VEJ_ARCHIVER");
    if (env != NULL && *env != '\0') {
        char *p = candidate(env);
        if (p == NULL)
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "VEJ_ARCHIVER=%s is not an executable", env);
        return p;
    }
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self != NULL) {
        g_autofree char *dir = g_path_get_dirname(self);
        g_autofree char *next = g_build_filename(dir, "vej-archiver", NULL);
        char *p = candidate(next);
        if (p != NULL)
            return p;
    }
    char *p = candidate(VEJ_ARCHIVER_PATH);
    if (p == NULL)
        p = candidate(VEJ_ARCHIVER_BUILD_PATH);
    if (p == NULL)
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "vej-archiver not found (VEJ_ARCHIVER, next to this program, %s)",
                    VEJ_ARCHIVER_PATH);
    return p;
}
