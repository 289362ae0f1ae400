/* archive-runner.h - runs vej-archiver as a child process for the daemon.
 *
 * The archiver (recording/archiver/, docs/recording.md) decodes and encodes
 * media with GStreamer; it runs as a separate process with a lower priority
 * and resource limits so that a crash, a runaway or a stall in it can never
 * take the daemon down or take CPU from live hearings. This module starts
 * it, reads its progress lines, kills it when it stalls, and reports the
 * outcome once, on the caller's GMainContext.
 *
 * Finding the program (vej_archive_runner_program): $VEJ_ARCHIVER if set;
 * else vej-archiver next to the running executable (both are installed in
 * bindir); else the configure-time install path; else the build tree's.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct vej_archive_limits {
    int nice;               /* the child's nice value (setpriority), 10 by default */
    uint64_t address_space; /* RLIMIT_AS in bytes, 0: none (4 GiB by default) */
    uint64_t cpu_seconds;   /* RLIMIT_CPU, 0: none (4 h by default) */
    unsigned stall_seconds; /* no progress line for this long: killed (120 by default) */
};

/* The defaults above. */
void vej_archive_limits_default(struct vej_archive_limits *limits);

/* Progress: fraction 0..1 and the archiver's stage name (transfer none). */
typedef void (*vej_archive_progress_fn)(double fraction, const char *stage, void *user_data);
/* Outcome, called once: ok, or failed with a reason for people (the
 * archiver's own error line, "killed by signal 11", "no progress for 120 s",
 * "cancelled"). */
typedef void (*vej_archive_done_fn)(bool ok, const char *reason, void *user_data);

struct vej_archive_run;

/* The archiver's path: (transfer full), or NULL with error set when none is
 * found. */
char *vej_archive_runner_program(GError **error);

/* Starts `program dir` with limits; callbacks run on context (NULL: the
 * global default context). Returns (transfer full) a handle, or NULL with
 * error set and no callback ever called. */
struct vej_archive_run *
vej_archive_run_start(const char *program, const char *dir, const struct vej_archive_limits *limits,
                      GMainContext *context, vej_archive_progress_fn progress,
                      vej_archive_done_fn done, void *user_data, GError **error);

/* Kills the child; done follows with "cancelled" (unless it already ran). */
void vej_archive_run_cancel(struct vej_archive_run *run);

/* The child's process id while it runs, else 0. */
int vej_archive_run_pid(const struct vej_archive_run *run);

/* Releases the handle; a child still running is killed and its callbacks
 * are not called any more. */
void vej_archive_run_free(struct vej_archive_run *run);
