/* fuzz_manifest.c - the evidence chain's text parsers over any bytes:
 * vej_manifest_parse_files (recording/manifest.c), vej_sha256sums_parse and
 * vej_audit_head_parse_line (recording/audit-heads.c). Invariants: every
 * accepted file name is vej_tar_name_safe and unique; a parsed signed head
 * prints back to the same line. */
#include "recording/audit-heads.h"
#include "recording/manifest.h"
#include "recording/tar.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void
check_files(GPtrArray *files)
{
    if (files == NULL)
        return;
    for (guint i = 0; i < files->len; i++) {
        const struct vej_manifest_file *f = files->pdata[i];
        CHECK(vej_tar_name_safe(f->name));
        for (guint k = 0; k < i; k++)
            CHECK(strcmp(((struct vej_manifest_file *)files->pdata[k])->name, f->name) != 0);
    }
    g_ptr_array_unref(files);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check_files(vej_manifest_parse_files(text, size, NULL, NULL));
    check_files(vej_sha256sums_parse(text, size, NULL));
    struct vej_signed_head h;
    if (size < 600 && vej_audit_head_parse_line(text, size, &h)) {
        g_autofree char *hash = vej_hex(h.hash, 32);
        g_autofree char *sig = vej_hex(h.signature, VEJ_SIGNATURE_SIZE);
        g_autofree char *line =
            g_strdup_printf("%" G_GINT64_FORMAT " %s %" G_GINT64_FORMAT " %s %s", h.seq, hash,
                            h.signed_at_us, h.fingerprint, sig);
        CHECK(strlen(line) == size && memcmp(line, text, size) == 0);
    }
    return 0;
}
