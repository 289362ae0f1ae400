/* bench/signalling/daemon.c - the vej-gateway process under test.
 *
 * The daemon runs on a temporary data directory with a configuration that
 * allows the load. Whatever happens (return from main, exit(), SIGINT,
 * SIGTERM, SIGALRM from the run's time bound), the clean-up kills its
 * process group and removes the directory: the paths it needs are kept in
 * the few process-wide variables below, set once before anything can fail
 * after them, because a signal handler can reach nothing else. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_NS (20 * (int64_t)1000000000)

static volatile pid_t cleanup_pid = 0;
static char cleanup_root[256];
static bool cleanup_keep;

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void
bench_remove_tree(const char *path)
{
    if (path && *path)
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
cleanup_at_exit(void)
{
    pid_t pid = cleanup_pid;
    if (pid > 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cleanup_pid = 0;
    }
    if (cleanup_root[0] && !cleanup_keep)
        bench_remove_tree(cleanup_root);
    cleanup_root[0] = '\0';
}

/* Async-signal-safe: kill, fork, execve, waitpid and _exit only. */
static void
cleanup_on_signal(int sig)
{
    static const char msg[] = "bench-signalling: interrupted or out of time; cleaning up\n";
    ssize_t wr = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)wr;
    if (cleanup_pid > 0)
        kill(-cleanup_pid, SIGKILL);
    if (cleanup_root[0] && !cleanup_keep) {
        pid_t rm = fork();
        if (rm == 0) {
            char *const argv[] = {"rm", "-rf", cleanup_root, NULL};
            execv("/bin/rm", argv);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
    _exit(sig == SIGALRM ? 124 : 130);
}

static void
install_cleanup(const char *root, bool keep)
{
    g_strlcpy(cleanup_root, root, sizeof cleanup_root);
    cleanup_keep = keep;
    atexit(cleanup_at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cleanup_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static bool
write_config(const struct bench_options *o, const struct bench_daemon *d)
{
    int per_hearing = (o->participants + o->hearings - 1) / o->hearings + 1; /* + the clerk */
    /* --busy: vej-loadgen's hearing (its clerk, publisher and subscribers
     * and our sockets) and every other hearing on one media worker */
    int busy = o->busy ? o->busy + o->busy_clients + 2 : 0;
    if (busy > per_hearing)
        per_hearing = busy;
    g_autofree char *text =
        g_strdup_printf("# written by bench-signalling\n"
                        "[server]\n"
                        "listen = 127.0.0.1:0\n"
                        "max_connections = %d\n"
                        "rpc_rate_per_s = 100000\n"
                        "rpc_burst = 100000\n"
                        "unauthenticated_timeout_s = 600\n"
                        "ws_queue_max = 1048576\n"
                        /* every simulated client comes from 127.0.0.1 */
                        "address_allowlist = 127.0.0.0/8, ::1/128\n"
                        "reserved_authenticated_connections = 0\n"
                        "[hearing]\n"
                        "max_participants = %d\n"
                        "[auth]\n"
                        "login_attempts_per_minute = 1000\n"
                        "%s",
                        o->participants + o->hearings + o->rest_connections + busy + 100,
                        per_hearing > 1000 ? 1000 : per_hearing,
                        o->busy ? "[media]\nworkers = 1\naddresses = 127.0.0.1\n" : "");
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(d->config_path, text, -1, &error)) {
        fprintf(stderr, "bench-signalling: %s\n", error->message);
        return false;
    }
    return true;
}

/* In the child: the open-file limit to the hard limit, CPU 0, a process
 * group of its own, stderr to the log; then exec. */
static void
exec_daemon(const struct bench_options *o, const struct bench_daemon *d)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (o->pin) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    setpgid(0, 0);
    int log = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (log < 0 || null < 0)
        _exit(126);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    g_auto(GStrv) wrapper = NULL;
    GPtrArray *argv = g_ptr_array_new();
    if (o->profile_wrapper && *o->profile_wrapper) {
        wrapper = g_strsplit(o->profile_wrapper, " ", -1);
        for (char **w = wrapper; *w; w++)
            if (**w)
                g_ptr_array_add(argv, *w);
    }
    g_ptr_array_add(argv, (char *)o->gateway);
    g_ptr_array_add(argv, "--config");
    g_ptr_array_add(argv, d->config_path);
    g_ptr_array_add(argv, "--data-dir");
    g_ptr_array_add(argv, d->data_dir);
    g_ptr_array_add(argv, "--listen");
    g_ptr_array_add(argv, "127.0.0.1:0");
    g_ptr_array_add(argv, NULL);
    execvp(argv->pdata[0], (char **)argv->pdata);
    _exit(127);
}

static int
read_port(const struct bench_daemon *d)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(d->log_path, &text, NULL, NULL))
        return 0;
    const char *at = strstr(text, "listening on https://127.0.0.1:");
    if (!at)
        return 0;
    at += strlen("listening on https://127.0.0.1:");
    char *end = NULL;
    long port = strtol(at, &end, 10);
    return end != at && port > 0 && port < 65536 ? (int)port : 0;
}

static void
print_log_tail(const struct bench_daemon *d)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(d->log_path, &text, NULL, NULL))
        return;
    size_t len = strlen(text);
    fprintf(stderr, "--- daemon log (tail) ---\n%s\n", len > 3000 ? text + len - 3000 : text);
}

bool
bench_daemon_start(const struct bench_options *o, struct bench_daemon *d)
{
    char tmpl[] = "/tmp/vej-bench-signalling-XXXXXX";
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "bench-signalling: mkdtemp: %s\n", strerror(errno));
        return false;
    }
    d->root = g_strdup(tmpl);
    install_cleanup(d->root, o->keep);
    d->data_dir = g_build_filename(d->root, "data", NULL);
    d->config_path = g_build_filename(d->root, "vej-gateway.conf", NULL);
    d->log_path = g_build_filename(d->root, "daemon.log", NULL);
    d->cert_path = g_build_filename(d->data_dir, "tls", "cert.pem", NULL);
    if (!write_config(o, d))
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench-signalling: fork: %s\n", strerror(errno));
        return false;
    }
    if (pid == 0)
        exec_daemon(o, d);
    setpgid(pid, pid); /* both sides, so a signal between fork and exec finds the group */
    d->pid = pid;
    cleanup_pid = pid;
    int64_t deadline = bench_now_ns() + START_TIMEOUT_NS * (o->profile_wrapper ? 3 : 1);
    while ((d->port = read_port(d)) == 0) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            cleanup_pid = 0;
            d->pid = 0;
            fprintf(stderr, "bench-signalling: the daemon exited (status %d) before listening\n",
                    status);
            print_log_tail(d);
            return false;
        }
        if (bench_now_ns() > deadline) {
            fprintf(stderr, "bench-signalling: no \"listening on\" within 20 s\n");
            print_log_tail(d);
            return false;
        }
        g_usleep(20000);
    }
    return true;
}

void
bench_daemon_stop(struct bench_daemon *d, int timeout_s)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    int64_t deadline = bench_now_ns() + timeout_s * (int64_t)1000000000;
    while (bench_now_ns() < deadline) {
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            kill(-d->pid, SIGKILL); /* anything left in its group */
            cleanup_pid = 0;
            d->pid = 0;
            return;
        }
        g_usleep(20000);
    }
    fprintf(stderr, "bench-signalling: the daemon did not exit within %d s of SIGTERM\n",
            timeout_s);
    kill(-d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    cleanup_pid = 0;
    d->pid = 0;
}

int64_t
bench_daemon_cpu_ns(const struct bench_daemon *d)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)d->pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    /* Fields after "(comm)": state is field 3; utime and stime are 14, 15. */
    const char *p = strrchr(text, ')');
    if (!p)
        return -1;
    g_auto(GStrv) f = g_strsplit(p + 2, " ", 16);
    if (g_strv_length(f) < 14)
        return -1;
    guint64 ut = 0, st = 0;
    if (!g_ascii_string_to_unsigned(f[11], 10, 0, G_MAXUINT64, &ut, NULL) ||
        !g_ascii_string_to_unsigned(f[12], 10, 0, G_MAXUINT64, &st, NULL))
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (int64_t)((ut + st) * (1000000000 / (guint64)(hz > 0 ? hz : 100)));
}

long
bench_daemon_rss_kib(const struct bench_daemon *d)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *p = strstr(text, "VmRSS:");
    if (!p)
        return -1;
    p += strlen("VmRSS:");
    while (*p == ' ' || *p == '\t')
        p++;
    guint64 v = 0;
    g_autofree char *num = g_strndup(p, strspn(p, "0123456789"));
    if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXLONG, &v, NULL))
        return -1;
    return (long)v;
}

bool
bench_vejctl_user_add(const struct bench_options *o, const struct bench_daemon *d, const char *name,
                      const char *role, const char *password)
{
    const char *argv[] = {o->vejctl, "user",       "add",       name, "--role",
                          role,      "--data-dir", d->data_dir, NULL};
    GPid pid;
    gint in_fd, err_fd;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &pid, &in_fd, NULL, &err_fd, &error)) {
        fprintf(stderr, "bench-signalling: vejctl: %s\n", error->message);
        return false;
    }
    g_autofree char *line = g_strconcat(password, "\n", NULL);
    ssize_t wr = write(in_fd, line, strlen(line));
    close(in_fd);
    char errbuf[1024];
    ssize_t n = read(err_fd, errbuf, sizeof errbuf - 1);
    close(err_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    if (wr < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errbuf[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "bench-signalling: vejctl user add %s failed: %s\n", name, errbuf);
        return false;
    }
    return true;
}
