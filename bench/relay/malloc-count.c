/* bench/relay/malloc-count.c - an LD_PRELOAD shim that counts heap
 * allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc,
 * memalign) of a process, in total and by the shared object that asked
 * for them, into a small shared file the load generator reads at the
 * start and end of its window (vej-loadgen --alloc-file).
 *
 *   VEJ_MALLOC_COUNT_FILE=/tmp/x.counts LD_PRELOAD=.../malloc-count.so vej-gateway ...
 *
 * Attribution (VEJ_MALLOC_COUNT_ATTRIBUTE=1, the default) walks the stack
 * with backtrace(3): the first frame outside libc and this shim names the
 * owner, except that a GLib frame called from another object (g_malloc,
 * g_slice_alloc, g_strdup from libnice or from our code) is charged to that
 * caller; GLib calling itself (its main loop) stays "libglib-2.0". The walk
 * costs a few microseconds per allocation: a run with attribution measures
 * allocations, not CPU. It happens only while the file's `attribute_now`
 * is set (vej-loadgen sets it for its window); the total always counts.
 * The file layout is struct lg_alloc_counts of tools/vej-loadgen/loadgen.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N_DSOS 16
#define NAME_LEN 48
#define DEPTH 10
/* The replacements must be visible even under -fvisibility=hidden. */
#define EXPORT __attribute__((visibility("default")))

struct counts {
    uint64_t total;
    uint64_t by_dso[N_DSOS];
    char names[N_DSOS][NAME_LEN];
    /* Written by the reader: attribute (walk the stack) only while it is
     * non-zero, so that start-up and set-up run at nearly full speed. */
    uint64_t attribute_now;
};

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static struct counts fallback;
static struct counts *counts = &fallback;
static int attribute = 1;
static int ready;
static __thread int in_hook;
static int names_lock;
static const void *bases[N_DSOS];

static int
slot_for(const Dl_info *info)
{
    for (int i = 0; i < N_DSOS - 1; i++)
        if (bases[i] == info->dli_fbase)
            return i;
    while (__atomic_exchange_n(&names_lock, 1, __ATOMIC_ACQUIRE))
        ;
    int slot = N_DSOS - 1;
    for (int i = 0; i < N_DSOS - 1; i++) {
        if (bases[i] == info->dli_fbase) {
            slot = i;
            break;
        }
        if (!bases[i]) {
            const char *base = strrchr(info->dli_fname, '/');
            base = base ? base + 1 : info->dli_fname;
            size_t n = strcspn(base, ".");
            if (strncmp(base, "libglib-2.0", 11) == 0 || strncmp(base, "libgio-2.0", 10) == 0 ||
                strncmp(base, "libgobject-2.0", 14) == 0)
                n = strlen(base) < NAME_LEN ? strcspn(base + 4, ".") + 4 + 2 : n;
            if (n >= NAME_LEN)
                n = NAME_LEN - 1;
            memcpy(counts->names[i], base, n);
            counts->names[i][n] = '\0';
            __atomic_store_n(&bases[i], info->dli_fbase, __ATOMIC_RELEASE);
            slot = i;
            break;
        }
    }
    if (slot == N_DSOS - 1 && !counts->names[slot][0])
        memcpy(counts->names[slot], "other", 6);
    __atomic_store_n(&names_lock, 0, __ATOMIC_RELEASE);
    return slot;
}

static int
is_named(const Dl_info *info, const char *prefix)
{
    const char *base = strrchr(info->dli_fname, '/');
    base = base ? base + 1 : info->dli_fname;
    return strncmp(base, prefix, strlen(prefix)) == 0;
}

static void
count(void)
{
    if (!ready)
        return;
    __atomic_fetch_add(&counts->total, 1, __ATOMIC_RELAXED);
    if (!attribute || in_hook || !__atomic_load_n(&counts->attribute_now, __ATOMIC_RELAXED))
        return;
    in_hook = 1;
    void *frames[DEPTH];
    int n = backtrace(frames, DEPTH);
    Dl_info owner = {0}, info;
    int have = 0;
    for (int i = 1; i < n; i++) {
        if (!dladdr(frames[i], &info) || !info.dli_fname)
            continue;
        if (info.dli_fbase == (void *)counts || is_named(&info, "malloc-count") ||
            is_named(&info, "libc.so"))
            continue;
        if (!have) {
            owner = info;
            have = 1;
            if (!is_named(&info, "libglib-2.0"))
                break;
            continue;
        }
        /* owner is GLib: charge its caller unless that is GLib too */
        if (!is_named(&info, "libglib-2.0") && !is_named(&info, "libgobject-2.0") &&
            !is_named(&info, "libgio-2.0"))
            owner = info;
        break;
    }
    int slot = have ? slot_for(&owner) : N_DSOS - 1;
    __atomic_fetch_add(&counts->by_dso[slot], 1, __ATOMIC_RELAXED);
    in_hook = 0;
}

__attribute__((constructor)) static void
setup(void)
{
    in_hook = 1;
    const char *a = getenv("VEJ_MALLOC_COUNT_ATTRIBUTE");
    attribute = !(a && a[0] == '0');
    const char *path = getenv("VEJ_MALLOC_COUNT_FILE");
    if (path && *path) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && ftruncate(fd, sizeof(struct counts)) == 0) {
            void *m = mmap(NULL, sizeof(struct counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m != MAP_FAILED)
                counts = m;
        }
        if (fd >= 0)
            close(fd);
    }
    void *warm[2];
    backtrace(warm, 2); /* loads libgcc_s now, not inside a counted malloc */
    in_hook = 0;
    ready = 1;
}

EXPORT void *
malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

EXPORT void *
calloc(size_t a, size_t b)
{
    count();
    return __libc_calloc(a, b);
}

EXPORT void *
realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

EXPORT void *
memalign(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

EXPORT void *
aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

EXPORT int
posix_memalign(void **out, size_t align, size_t n)
{
    count();
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}
