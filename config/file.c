/* file.c - whole writes, atomic replacement, durable renames (file.h). */
#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

bool
vej_file_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0) {
            errno = EIO;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void
vej_file_sync_folder(const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

void
vej_file_sync_parent(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    vej_file_sync_folder(dir);
}

gboolean
vej_file_replace(const char *path, const void *data, size_t len, int mode, GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    int err = 0;
    if (fd < 0 || fchmod(fd, (mode_t)mode) != 0 || !vej_file_write_all(fd, data, len) ||
        fdatasync(fd) != 0)
        err = errno ? errno : EIO;
    if (fd >= 0 && close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        (void)unlink(tmp);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot write %s: %s", path,
                    g_strerror(err));
        return FALSE;
    }
    vej_file_sync_parent(path);
    return TRUE;
}
