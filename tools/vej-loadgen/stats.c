/* tools/vej-loadgen/stats.c - clocks, latency histograms and /proc readers. */
#include "loadgen.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int64_t
lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
lg_hist_init(struct lg_hist *h)
{
    h->n = 0;
    h->bucket = g_new0(uint32_t, LG_HIST_BUCKETS);
}

void
lg_hist_clear(struct lg_hist *h)
{
    h->n = 0;
    memset(h->bucket, 0, sizeof(uint32_t) * LG_HIST_BUCKETS);
}

void
lg_hist_free(struct lg_hist *h)
{
    g_clear_pointer(&h->bucket, g_free);
}

void
lg_hist_add_us(struct lg_hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us >= LG_HIST_BUCKETS)
        us = LG_HIST_BUCKETS - 1;
    LG_ADD(h->bucket[us], 1); /* several media threads */
    LG_ADD(h->n, 1);
}

double
lg_hist_quantile(const struct lg_hist *h, double q)
{
    if (h->n == 0)
        return -1;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen > rank)
            return (double)i;
    }
    return LG_HIST_BUCKETS - 1;
}

bool
lg_proc_cpu_ticks(int pid, uint64_t *ticks)
{
    uint64_t user, sys;
    if (!lg_proc_cpu_split(pid, &user, &sys))
        return false;
    *ticks = user + sys;
    return true;
}

bool
lg_proc_cpu_split(int pid, uint64_t *user, uint64_t *sys)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return false;
    /* The command name may hold spaces: fields count from after its ')'. */
    const char *p = strrchr(text, ')');
    if (!p)
        return false;
    g_auto(GStrv) f = g_strsplit(p + 2, " ", 0);
    /* After ')': state is field 3 of stat(5); utime 14, stime 15. */
    if (g_strv_length(f) < 13)
        return false;
    *user = g_ascii_strtoull(f[11], NULL, 10);
    *sys = g_ascii_strtoull(f[12], NULL, 10);
    return true;
}

/* The value (kB) of the line starting with `key` in a /proc text. */
static long long
kib_field(const char *text, const char *key)
{
    size_t k = strlen(key);
    for (const char *l = text; l && *l;) {
        if (strncmp(l, key, k) == 0)
            return g_ascii_strtoll(l + k, NULL, 10);
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return -1;
}

bool
lg_proc_memory(int pid, struct lg_mem *m)
{
    m->vm_rss_kib = m->rss_kib = m->pss_kib = m->anon_kib = -1;
    char path[64];
    g_autofree char *status = NULL, *rollup = NULL;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!g_file_get_contents(path, &status, NULL, NULL))
        return false;
    m->vm_rss_kib = kib_field(status, "VmRSS:");
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    if (g_file_get_contents(path, &rollup, NULL, NULL)) {
        m->rss_kib = kib_field(rollup, "Rss:");
        m->pss_kib = kib_field(rollup, "Pss:");
        m->anon_kib = kib_field(rollup, "Anonymous:");
    }
    return m->vm_rss_kib >= 0;
}

bool
lg_proc_wakeups(int pid, uint64_t *n)
{
    *n = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    if (!dir)
        return false;
    for (const char *t; (t = g_dir_read_name(dir));) {
        g_autofree char *file = g_strdup_printf("%s/%s/status", path, t);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(file, &text, NULL, NULL))
            continue;
        long long v = kib_field(text, "voluntary_ctxt_switches:");
        if (v > 0)
            *n += (uint64_t)v;
    }
    return true;
}

bool
lg_machine_ticks(uint64_t *busy, uint64_t *total)
{
    return lg_cpu_ticks(-1, busy, total);
}

bool
lg_cpu_ticks(int cpu, uint64_t *busy, uint64_t *total)
{
    g_autofree char *text = NULL;
    char label[32];
    if (cpu < 0)
        g_strlcpy(label, "cpu ", sizeof label);
    else
        snprintf(label, sizeof label, "cpu%d ", cpu);
    if (!g_file_get_contents("/proc/stat", &text, NULL, NULL))
        return false;
    const char *at = text;
    size_t ll = strlen(label);
    while (at && strncmp(at, label, ll) != 0) {
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    if (!at)
        return false;
    g_autofree char *line = g_strndup(at, strcspn(at, "\n"));
    g_auto(GStrv) f = g_strsplit_set(line + ll, " ", 0);
    uint64_t v[10] = {0};
    int n = 0;
    for (int i = 0; f[i] && n < 10; i++) {
        if (!*f[i])
            continue;
        v[n++] = g_ascii_strtoull(f[i], NULL, 10);
    }
    /* user nice system idle iowait irq softirq steal guest guest_nice;
     * guest time is already inside user. */
    uint64_t all = 0;
    for (int i = 0; i < 8 && i < n; i++)
        all += v[i];
    *total = all;
    *busy = all - v[3] - v[4];
    return true;
}

bool
lg_alloc_read(const char *path, struct lg_alloc_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, out, sizeof *out);
    close(fd);
    return n == (ssize_t)sizeof *out;
}

void
lg_alloc_attribute(const char *path, bool on)
{
    if (!path)
        return;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint64_t v = on;
    if (pwrite(fd, &v, sizeof v, offsetof(struct lg_alloc_counts, attribute_now)) != sizeof v)
        fprintf(stderr, "vej-loadgen: cannot write %s\n", path);
    close(fd);
}
