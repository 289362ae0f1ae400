/* file.h - writing files that hold court data: whole writes, atomic
 * replacement and durable renames. Every part that keeps files (secrets,
 * capture segments and their index, manifests, keys) uses these, so there
 * is one place that gets EINTR, short writes and directory syncs right.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Writes all of data to fd, retrying short writes and EINTR. FALSE with
 * errno set on failure. */
bool vej_file_write_all(int fd, const void *data, size_t len);

/* fsyncs a folder, so that a rename or link into it survives a power
 * loss (errors are ignored: nothing more can be done). */
void vej_file_sync_folder(const char *folder);
/* The same for the folder that holds `path`. */
void vej_file_sync_parent(const char *path);

/* Replaces `path` atomically with `data`: a temporary file beside it
 * (mode `mode`, never widened by the umask), written, fdatasync'ed, renamed
 * over `path`, the folder synced. A crash leaves the old file or the new
 * one, never a mix. On failure nothing is left behind and `path` is as it
 * was; the error names the path (G_IO_ERROR). */
gboolean vej_file_replace(const char *path, const void *data, size_t len, int mode, GError **error);

G_END_DECLS
