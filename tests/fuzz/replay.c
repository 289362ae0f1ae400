/* replay.c - feeds files to LLVMFuzzerTestOneInput without libFuzzer.
 *
 * Usage: fuzz-replay-NAME PATH...  Each PATH is a file or a directory whose
 * regular files (not starting with '.') are replayed in name order. Fails
 * when a path cannot be read or no input at all was found, so a mistyped
 * corpus path cannot pass silently; a target's own failures abort. */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads a whole file into a malloc'd buffer (never NULL on success, even
 * for an empty file). */
static int
read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f)
        return -1;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = buf;
    *size = len;
    return 0;
}

static int
replay_file(const char *path)
{
    uint8_t *data;
    size_t size;

    if (read_file(path, &data, &size) != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int
skip_hidden(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

/* Replays every regular file of a directory; returns how many, or -1. */
static long
replay_dir(const char *dir)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, skip_hidden, alphasort);
    long count = 0;

    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        int w = snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        if (w > 0 && (size_t)w < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) != 0)
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(entries[i]);
    }
    free(entries);
    return count;
}

int
main(int argc, char **argv)
{
    long total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %ld inputs\n", total);
    return total > 0 ? 0 : 1;
}
