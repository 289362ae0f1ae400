/* tar.h - POSIX ustar headers for recording bundles (plain C, no GLib).
 *
 * The bundle of a recording is a POSIX.1-1988 ustar archive of regular
 * files only (type '0'), readable by GNU tar, bsdtar and Python's tarfile.
 * Sizes of 8 GiB and more use the base-256 size encoding that GNU tar and
 * bsdtar read (first byte 0x80). The reader accepts exactly what the writer
 * produces plus the usual variations (space or NUL terminated octal, type
 * '\0'); anything else is refused, never guessed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEJ_TAR_BLOCK 512
#define VEJ_TAR_NAME_MAX 255

enum vej_tar_status {
    VEJ_TAR_OK = 0,
    VEJ_TAR_END,          /* an all-zero block: end of archive */
    VEJ_TAR_BAD_CHECKSUM, /* header checksum does not match */
    VEJ_TAR_BAD_FIELD,    /* a numeric field is malformed */
    VEJ_TAR_BAD_NAME,     /* empty, too long, absolute, '..', or odd characters */
    VEJ_TAR_UNSUPPORTED,  /* not a regular file, or not ustar */
};

struct vej_tar_member {
    char name[VEJ_TAR_NAME_MAX + 1]; /* prefix "/" name, NUL-terminated */
    uint64_t size;
    uint32_t mode;
    int64_t mtime;
};

/* Fills a header block for a regular file. -1 when the name cannot be
 * stored (longer than ustar allows, or not vej_tar_name_safe). */
int vej_tar_header_build(uint8_t block[VEJ_TAR_BLOCK], const char *name, uint64_t size,
                         uint32_t mode, int64_t mtime);

/* Parses one header block into *out. */
enum vej_tar_status vej_tar_header_parse(const uint8_t block[VEJ_TAR_BLOCK],
                                         struct vej_tar_member *out);

/* Bytes of data padding after a member of `size` bytes (0..511). */
size_t vej_tar_padding(uint64_t size);

/* A relative path of components made of [A-Za-z0-9._-], none empty, "." or
 * "..", none starting with '.', at most VEJ_TAR_NAME_MAX bytes. */
bool vej_tar_name_safe(const char *name);

/* Text for a status. */
const char *vej_tar_status_text(enum vej_tar_status st);
