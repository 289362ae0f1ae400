/* fuzz_capture_json.c - capture.json as vej-archiver reads it
 * (recording/archiver/capture.c, on jansson).
 *
 * Promises checked on every accepted document: each track is in its
 * participant's audio or video list, participant ids are non-empty and
 * [A-Za-z0-9_-] only (they become file names), track numbers are unique,
 * and every segment path is DIR/capture/...pcap without "..". */
#include "recording/archiver/archiver-priv.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define DIR "/nonexistent-vej-fuzz"

static void
check_participant(const struct vej_arch_participant *p)
{
    if (p->id[0] == '\0')
        abort();
    for (const char *c = p->id; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
            abort();
    for (int k = 0; k < 2; k++) {
        GPtrArray *list = k ? p->video : p->audio;
        for (guint j = 0; j < list->len; j++) {
            const struct vej_arch_track *t = g_ptr_array_index(list, j);
            if (strcmp(t->participant_id, p->id) != 0 ||
                t->kind != (k ? VEJ_ARCH_VIDEO : VEJ_ARCH_AUDIO))
                abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_arch_capture *cap = vej_arch_capture_parse(DIR, (const char *)data, size, NULL);
    if (cap == NULL)
        return 0;
    guint listed = 0;
    for (guint i = 0; i < cap->participants->len; i++) {
        const struct vej_arch_participant *p = g_ptr_array_index(cap->participants, i);
        check_participant(p);
        listed += p->audio->len + p->video->len;
    }
    if (listed != cap->tracks->len || g_hash_table_size(cap->by_number) != cap->tracks->len)
        abort();
    for (guint i = 0; i < cap->segments->len; i++) {
        const struct vej_arch_segment *s = g_ptr_array_index(cap->segments, i);
        if (!g_str_has_prefix(s->path, DIR "/capture/") || strstr(s->path, "..") != NULL ||
            !g_str_has_suffix(s->path, ".pcap"))
            abort();
    }
    vej_arch_capture_free(cap);
    return 0;
}
