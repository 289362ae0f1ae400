/* tar.c - ustar header encoding and decoding for recording bundles.
 *
 * Invariants: a built header always parses back to the same member; a
 * parsed name is always vej_tar_name_safe (so extracting or comparing it can
 * never leave the bundle's folder); numeric fields are checked digit by
 * digit, never with C library converters that stop quietly at a bad one.
 */
#include "recording/tar.h"

#include <stdio.h>
#include <string.h>

#define OCTAL_SIZE_MAX UINT64_C(077777777777) /* 11 octal digits */

size_t
vej_tar_padding(uint64_t size)
{
    return (size_t)((VEJ_TAR_BLOCK - size % VEJ_TAR_BLOCK) % VEJ_TAR_BLOCK);
}

bool
vej_tar_name_safe(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > VEJ_TAR_NAME_MAX)
        return false;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || p[0] == '.')
            return false;
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
            if (!ok)
                return false;
        }
        if (!end)
            break;
        p = end + 1;
        if (*p == '\0')
            return false; /* trailing slash */
    }
    return true;
}

static void
put_octal(uint8_t *field, size_t width, uint64_t v)
{
    /* width - 1 digits, then NUL */
    field[width - 1] = '\0';
    for (size_t i = width - 1; i > 0; i--) {
        field[i - 1] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
}

static void
put_base256(uint8_t *field, size_t width, uint64_t v)
{
    memset(field, 0, width);
    for (size_t i = width; i > 1; i--) {
        field[i - 1] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    field[0] = 0x80;
}

static unsigned
checksum(const uint8_t block[VEJ_TAR_BLOCK])
{
    unsigned sum = 0;
    for (size_t i = 0; i < VEJ_TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : block[i];
    return sum;
}

int
vej_tar_header_build(uint8_t block[VEJ_TAR_BLOCK], const char *name, uint64_t size, uint32_t mode,
                     int64_t mtime)
{
    memset(block, 0, VEJ_TAR_BLOCK);
    if (!vej_tar_name_safe(name))
        return -1;
    size_t len = strlen(name);
    if (len <= 100) {
        memcpy(block, name, len);
    } else {
        /* split at a '/' so that prefix <= 155 and name <= 100 */
        const char *split = NULL;
        for (const char *p = name; (p = strchr(p, '/')) != NULL; p++) {
            if ((size_t)(p - name) <= 155 && strlen(p + 1) <= 100) {
                split = p;
                break;
            }
        }
        if (!split)
            return -1;
        memcpy(block + 345, name, (size_t)(split - name));
        memcpy(block, split + 1, strlen(split + 1));
    }
    put_octal(block + 100, 8, mode & 07777);
    put_octal(block + 108, 8, 0);
    put_octal(block + 116, 8, 0);
    if (size <= OCTAL_SIZE_MAX)
        put_octal(block + 124, 12, size);
    else
        put_base256(block + 124, 12, size);
    put_octal(block + 136, 12, mtime > 0 ? (uint64_t)mtime & OCTAL_SIZE_MAX : 0);
    block[156] = '0';
    memcpy(block + 257, "ustar", 6); /* "ustar\0" */
    memcpy(block + 263, "00", 2);
    unsigned sum = checksum(block);
    char chk[8];
    snprintf(chk, sizeof chk, "%06o", sum & 0777777);
    memcpy(block + 148, chk, 6);
    block[154] = '\0';
    block[155] = ' ';
    return 0;
}

/* Octal digits, optionally led by spaces and ended by NUL or space. */
static bool
get_octal(const uint8_t *field, size_t width, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < width && field[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; i++, digits++) {
        if (v > (UINT64_MAX >> 3))
            return false;
        v = (v << 3) | (uint64_t)(field[i] - '0');
    }
    if (digits == 0)
        return false;
    for (; i < width; i++) {
        if (field[i] != '\0' && field[i] != ' ')
            return false;
    }
    *out = v;
    return true;
}

static bool
get_number(const uint8_t *field, size_t width, uint64_t *out)
{
    if (field[0] == 0x80) {
        uint64_t v = 0;
        for (size_t i = 1; i < width; i++) {
            if (v >> 56)
                return false;
            v = (v << 8) | field[i];
        }
        *out = v;
        return true;
    }
    return get_octal(field, width, out);
}

/* Copies a NUL-padded field; false if it has bytes after a NUL. */
static bool
get_text(const uint8_t *field, size_t width, char *out, size_t *len)
{
    size_t n = 0;
    while (n < width && field[n] != '\0')
        n++;
    for (size_t i = n; i < width; i++) {
        if (field[i] != '\0')
            return false;
    }
    memcpy(out, field, n);
    out[n] = '\0';
    *len = n;
    return true;
}

enum vej_tar_status
vej_tar_header_parse(const uint8_t block[VEJ_TAR_BLOCK], struct vej_tar_member *out)
{
    memset(out, 0, sizeof *out);
    bool zero = true;
    for (size_t i = 0; i < VEJ_TAR_BLOCK && zero; i++)
        zero = block[i] == 0;
    if (zero)
        return VEJ_TAR_END;
    /* The checksum field is the one byte range the checksum does not
     * cover: it must be exactly "%06o\0 " (what GNU tar, bsdtar, Python and
     * we write), so that no byte of a header can change unnoticed. */
    uint64_t stored = 0;
    if (block[154] != '\0' || block[155] != ' ' || !get_octal(block + 148, 6, &stored) ||
        block[148] == ' ')
        return VEJ_TAR_BAD_CHECKSUM;
    if (stored != checksum(block))
        return VEJ_TAR_BAD_CHECKSUM;
    if (memcmp(block + 257, "ustar", 5) != 0)
        return VEJ_TAR_UNSUPPORTED;
    if (block[156] != '0' && block[156] != '\0')
        return VEJ_TAR_UNSUPPORTED;
    char name[101], prefix[156];
    size_t nlen = 0, plen = 0;
    if (!get_text(block, 100, name, &nlen) || !get_text(block + 345, 155, prefix, &plen))
        return VEJ_TAR_BAD_NAME;
    if (plen > 0) {
        /* plen <= 155 and nlen <= 100: fits in VEJ_TAR_NAME_MAX + 1 */
        memcpy(out->name, prefix, plen);
        out->name[plen] = '/';
        memcpy(out->name + plen + 1, name, nlen + 1);
    } else
        memcpy(out->name, name, nlen + 1);
    if (!vej_tar_name_safe(out->name))
        return VEJ_TAR_BAD_NAME;
    uint64_t mode = 0, size = 0, mtime = 0;
    if (!get_octal(block + 100, 8, &mode) || !get_number(block + 124, 12, &size) ||
        !get_octal(block + 136, 12, &mtime) || mode > 07777 || size > (UINT64_MAX >> 1))
        return VEJ_TAR_BAD_FIELD;
    out->mode = (uint32_t)mode;
    out->size = size;
    out->mtime = (int64_t)mtime;
    return VEJ_TAR_OK;
}

const char *
vej_tar_status_text(enum vej_tar_status st)
{
    switch (st) {
    case VEJ_TAR_OK:
        return "ok";
    case VEJ_TAR_END:
        return "end of archive";
    case VEJ_TAR_BAD_CHECKSUM:
        return "bad header checksum";
    case VEJ_TAR_BAD_FIELD:
        return "malformed header field";
    case VEJ_TAR_BAD_NAME:
        return "unsafe or malformed member name";
    case VEJ_TAR_UNSUPPORTED:
        return "not a ustar regular file";
    }
    return "?";
}
