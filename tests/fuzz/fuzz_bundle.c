/* fuzz_bundle.c - vej_bundle_verify over any bytes (recording/bundle.c):
 * the ustar reader, then the SHA256SUMS, manifest and public key parsers
 * on whatever members it finds. Invariants: a report says ok only when
 * every file entry is ok and there is no problem; every header the reader
 * accepts builds back into a header that parses to the same member. */
#include "recording/bundle.h"
#include "recording/tar.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

struct input {
    const uint8_t *data;
    size_t size, pos;
};

static gssize
read_input(void *ctx, uint8_t *buf, size_t len)
{
    struct input *in = ctx;
    size_t n = MIN(len, in->size - in->pos);
    memcpy(buf, in->data + in->pos, n);
    in->pos += n;
    return (gssize)n;
}

static void
headers_roundtrip(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off + VEJ_TAR_BLOCK <= size; off += VEJ_TAR_BLOCK) {
        struct vej_tar_member m, again;
        if (vej_tar_header_parse(data + off, &m) != VEJ_TAR_OK)
            continue;
        CHECK(vej_tar_name_safe(m.name));
        uint8_t block[VEJ_TAR_BLOCK];
        if (vej_tar_header_build(block, m.name, m.size, m.mode, m.mtime) == 0) {
            CHECK(vej_tar_header_parse(block, &again) == VEJ_TAR_OK);
            CHECK(strcmp(again.name, m.name) == 0 && again.size == m.size);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    headers_roundtrip(data, size);
    struct input in = {data, size, 0};
    json_t *report = vej_bundle_verify(read_input, &in, NULL, NULL);
    if (report == NULL)
        return 0;
    if (json_is_true(json_object_get(report, "ok"))) {
        CHECK(json_array_size(json_object_get(report, "problems")) == 0);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(report, "files"), i, f)
            CHECK(json_is_true(json_object_get(f, "ok")));
    }
    json_decref(report);
    return 0;
}
