/* config-priv.h - internals shared by the files of config/ and its tests. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* A VEJ_CONFIG_ERROR code used inside config/ only. */
enum { VEJ__CONFIG_ERROR_EXISTS = 100 };

/* Writes `len` bytes to `path` with `mode`, never replacing an existing
 * file: a temporary file beside it is created with O_EXCL, written, fsynced
 * and linked into place, then the directory is fsynced. When `path` already
 * exists, returns FALSE with VEJ__CONFIG_ERROR_EXISTS (so that a caller
 * racing another process can read the winner's file); other failures are
 * VEJ_CONFIG_ERROR_IO. */
gboolean vej__write_file_new(const char *path, const void *data, size_t len, int mode,
                             GError **error);

/* Decodes base64url or standard base64, padded or not. Whitespace and any
 * other character are refused. Returns (transfer full) bytes or NULL. */
GBytes *vej__base64_decode_strict(const char *text);

/* Encodes as unpadded base64url, (transfer full). */
char *vej__base64url_encode(const uint8_t *data, size_t len);

/* "error", "warning", "info", "debug" to the lowest GLogLevelFlags bit
 * printed (G_LOG_LEVEL_CRITICAL, _WARNING, _INFO, _DEBUG); 0 for an unknown
 * name. */
GLogLevelFlags vej__log_threshold(const char *name);

/* Appends one log line, "2026-11-24T12:00:00.123Z LEVEL domain: message\n",
 * to `out`; control characters in the message are escaped as \xNN so that a
 * message cannot forge another line. */
void vej__log_format(GString *out, int64_t real_time_us, GLogLevelFlags level, const char *domain,
                     const char *message);

G_END_DECLS
