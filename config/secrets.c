/* secrets.c - the data directory, secrets kept in it, and atomic file
 * creation. Secret values are never logged and never put in an error
 * message. */
#include "config/config.h"
#include "config/config-priv.h"
#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
io_error(GError **error, int errsv, const char *what, const char *path)
{
    g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: %s: %s", path, what,
                g_strerror(errsv));
    return FALSE;
}

gboolean
vej_data_dir_ensure(const char *data_dir, GError **error)
{
    if (g_mkdir_with_parents(data_dir, 0700) != 0)
        return io_error(error, errno, "cannot create the data directory", data_dir);
    if (!g_file_test(data_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: not a directory", data_dir);
        return FALSE;
    }
    return TRUE;
}

/* A new temporary file beside `path`, opened O_EXCL; its name in *tmp. */
static int
open_temp_beside(const char *path, int mode, char **tmp)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t rnd[6];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            errno = EIO;
            return -1;
        }
        g_autofree char *suffix = vej__base64url_encode(rnd, sizeof rnd);
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *name = g_strdup_printf("%s/.%s.tmp-%s", dir, base, suffix);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            *tmp = g_steal_pointer(&name);
            return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

gboolean
vej__write_file_new(const char *path, const void *data, size_t len, int mode, GError **error)
{
    g_autofree char *tmp = NULL;
    int fd = open_temp_beside(path, mode, &tmp);
    if (fd < 0)
        return io_error(error, errno, "cannot create a temporary file beside it", path);
    /* The umask may have narrowed the mode; it must never widen it. */
    gboolean ok =
        fchmod(fd, (mode_t)mode) == 0 && vej_file_write_all(fd, data, len) && fsync(fd) == 0;
    int errsv = errno;
    if (close(fd) != 0 && ok) {
        ok = FALSE;
        errsv = errno;
    }
    if (!ok) {
        unlink(tmp);
        return io_error(error, errsv, "cannot write", path);
    }
    /* link() never replaces: of two processes creating the file at once,
     * exactly one wins and the other reads the winner's file. */
    if (link(tmp, path) != 0) {
        errsv = errno;
        unlink(tmp);
        if (errsv == EEXIST) {
            g_set_error(error, VEJ_CONFIG_ERROR, VEJ__CONFIG_ERROR_EXISTS, "%s: already exists",
                        path);
            return FALSE;
        }
        return io_error(error, errsv, "cannot create", path);
    }
    unlink(tmp);
    vej_file_sync_parent(path);
    return TRUE;
}

char *
vej__base64url_encode(const uint8_t *data, size_t len)
{
    char *text = g_base64_encode(data, len);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '=')
        text[--n] = '\0';
    for (char *p = text; *p != '\0'; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    return text;
}

GBytes *
vej__base64_decode_strict(const char *text)
{
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '=')
        n--;
    size_t padding = strlen(text) - n;
    if (n == 0 || n % 4 == 1 || padding > 2 || (padding > 0 && (n + padding) % 4 != 0))
        return NULL;
    bool url = false, std = false;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (ch == '-' || ch == '_')
            url = true;
        else if (ch == '+' || ch == '/')
            std = true;
        else if (!g_ascii_isalnum(ch))
            return NULL;
    }
    if (url && std)
        return NULL;
    /* Normalize to padded standard base64 for GLib's (lenient) decoder,
     * which is safe now that every character has been checked. */
    g_autoptr(GString) norm = g_string_new_len(text, (gssize)n);
    for (size_t i = 0; i < n; i++) {
        if (norm->str[i] == '-')
            norm->str[i] = '+';
        else if (norm->str[i] == '_')
            norm->str[i] = '/';
    }
    while (norm->len % 4 != 0)
        g_string_append_c(norm, '=');
    gsize out_len = 0;
    guchar *out = g_base64_decode(norm->str, &out_len);
    return g_bytes_new_take(out, out_len);
}

static gboolean
name_is_valid(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
            return FALSE;
    }
    return TRUE;
}

/* The first `len` bytes of a decoded secret, or an error saying where it
 * came from (never its value). */
static GBytes *
secret_take(GBytes *decoded, size_t len, const char *origin, GError **error)
{
    if (decoded == NULL) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID,
                    "%s: not base64url or base64", origin);
        return NULL;
    }
    if (g_bytes_get_size(decoded) < len) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID,
                    "%s: too short: %zu bytes, at least %zu needed", origin,
                    g_bytes_get_size(decoded), len);
        return NULL;
    }
    return g_bytes_new_from_bytes(decoded, 0, len);
}

/* Reads an existing secret file; refuses one that others may read. */
static GBytes *
secret_read(const char *path, size_t len, GError **error)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        io_error(error, errno, "cannot open", path);
        return NULL;
    }
    struct stat st;
    char buf[1024];
    ssize_t n = -1;
    gboolean stat_ok = fstat(fd, &st) == 0;
    if (stat_ok && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0)
        n = read(fd, buf, sizeof buf - 1);
    int errsv = errno;
    close(fd);
    if (!stat_ok) {
        io_error(error, errsv, "cannot stat", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: not a regular file", path);
        return NULL;
    }
    if ((st.st_mode & 077) != 0) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID,
                    "%s: group or others may read this secret (mode %04o): chmod 600 %s", path,
                    (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    if (n < 0) {
        io_error(error, errsv, "cannot read", path);
        return NULL;
    }
    if ((size_t)n == sizeof buf - 1) {
        OPENSSL_cleanse(buf, sizeof buf);
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID, "%s: too large for a secret",
                    path);
        return NULL;
    }
    buf[n] = '\0';
    g_autoptr(GBytes) decoded = vej__base64_decode_strict(g_strchomp(buf));
    OPENSSL_cleanse(buf, sizeof buf);
    return secret_take(decoded, len, path, error);
}

/* Creates the secret file with fresh random bytes, or reads the file that
 * another process created first. */
static GBytes *
secret_create(const char *path, size_t len, GError **error)
{
    g_autofree uint8_t *raw = g_malloc(len);
    if (RAND_bytes(raw, (int)len) != 1) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO,
                    "%s: the random number generator failed", path);
        return NULL;
    }
    g_autofree char *text = vej__base64url_encode(raw, len);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    g_autoptr(GError) local = NULL;
    gboolean ok = vej__write_file_new(path, line, strlen(line), 0600, &local);
    OPENSSL_cleanse(text, strlen(text));
    OPENSSL_cleanse(line, strlen(line));
    if (!ok && g_error_matches(local, VEJ_CONFIG_ERROR, VEJ__CONFIG_ERROR_EXISTS))
        return secret_read(path, len, error);
    if (!ok) {
        OPENSSL_cleanse(raw, len);
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    GBytes *secret = g_bytes_new(raw, len);
    OPENSSL_cleanse(raw, len);
    return secret;
}

GBytes *
vej_secret_load(const char *data_dir, const char *name, const char *env_name, size_t len,
                GError **error)
{
    if (len == 0 || len > 512) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID,
                    "secret %s: a length of %zu bytes is not supported (1 to 512)", name, len);
        return NULL;
    }
    /* An empty variable counts as unset, as systemd's Environment=NAME= is
     * the usual way to clear one. */
    const char *env = env_name != NULL ? g_getenv(env_name) : NULL;
    if (env != NULL && env[0] != '\0') {
        g_autofree char *origin = g_strdup_printf("environment variable %s", env_name);
        g_autoptr(GBytes) decoded = vej__base64_decode_strict(env);
        return secret_take(decoded, len, origin, error);
    }
    if (!name_is_valid(name)) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID,
                    "\"%s\" is not a valid secret name", name);
        return NULL;
    }
    g_autofree char *dir = g_build_filename(data_dir, "secrets", NULL);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        io_error(error, errno, "cannot create", dir);
        return NULL;
    }
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(path, G_FILE_TEST_IS_SYMLINK))
        return secret_read(path, len, error);
    return secret_create(path, len, error);
}
