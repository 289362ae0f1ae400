/* segment.c - one capture segment file (docs/recording.md, "Capture
 * files").
 *
 * A segment is created as capture/seg-NNNNNN.pcap.open (O_EXCL, 0600),
 * appended to through a buffer that the recorder writes out at every tick
 * (so at least every second: a SIGKILL loses at most that), hashed as it
 * is written, and closed by fdatasync then a rename to .pcap and an
 * fsync of the folder, so a closed segment survives a power loss. The
 * file is append-only: nothing written is ever rewritten.
 */
#include "recording/recorder-priv.h"

#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static gboolean
io_error(GError **error, int err, const char *what, const char *path)
{
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "%s %s: %s", what, path,
                g_strerror(err));
    return FALSE;
}

struct vej_segment *
vej__segment_open(const char *rec_dir, unsigned number, GError **error)
{
    g_autofree char *folder = g_build_filename(rec_dir, "capture", NULL);
    if (g_mkdir_with_parents(folder, 0700) != 0) {
        io_error(error, errno, "cannot create", folder);
        return NULL;
    }
    struct vej_segment *s = g_new0(struct vej_segment, 1);
    s->number = number;
    s->name = g_strdup_printf("capture/seg-%06u.pcap", number);
    s->open_path = g_strdup_printf("%s/%s.open", rec_dir, s->name);
    s->fd = open(s->open_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        io_error(error, errno, "cannot create", s->open_path);
        s->fd = -1;
        vej__segment_abandon(s);
        return NULL;
    }
    s->buf = g_byte_array_sized_new(256 * 1024);
    s->sha = EVP_MD_CTX_new();
    if (!s->sha || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "SHA-256 unavailable");
        vej__segment_abandon(s);
        return NULL;
    }
    uint8_t header[VEJ_PCAP_FILE_HEADER];
    size_t n = vej_pcap_file_header(header, sizeof header);
    g_byte_array_append(s->buf, header, (guint)n);
    s->opened_us = g_get_monotonic_time();
    return s;
}

gboolean
vej__segment_append(struct vej_segment *s, int64_t ns, const struct vej_pcap_endpoint *src,
                    const struct vej_pcap_endpoint *dst, const uint8_t *data, size_t len)
{
    if (len > VEJ_PCAP_MAX_PAYLOAD)
        return FALSE;
    guint at = s->buf->len;
    g_byte_array_set_size(s->buf, at + VEJ_PCAP_RECORD_OVERHEAD + (guint)len);
    size_t n =
        vej_pcap_record(s->buf->data + at, VEJ_PCAP_RECORD_OVERHEAD + len, ns, src, dst, data, len);
    g_byte_array_set_size(s->buf, at + (guint)n);
    if (n == 0)
        return FALSE;
    if (s->packets == 0)
        s->from_ns = ns;
    if (ns > s->to_ns)
        s->to_ns = ns;
    s->packets++;
    return TRUE;
}

gboolean
vej__segment_flush(struct vej_segment *s, GError **error)
{
    size_t off = 0;
    while (off < s->buf->len) {
        ssize_t w = write(s->fd, s->buf->data + off, s->buf->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            /* Back to the last whole flush, so the file stays a valid
             * capture; what was buffered is a gap. */
            if (off && ftruncate(s->fd, (off_t)s->size) != 0)
                g_warning("recording: cannot truncate %s: %s", s->open_path, g_strerror(errno));
            g_byte_array_set_size(s->buf, 0);
            return io_error(error, err, "cannot write", s->open_path);
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(s->sha, s->buf->data, s->buf->len);
    s->size += s->buf->len;
    g_byte_array_set_size(s->buf, 0);
    return TRUE;
}

gboolean
vej__segment_close(struct vej_segment *s, const char *rec_dir, char sha256[65], uint64_t *size,
                   GError **error)
{
    gboolean ok = vej__segment_flush(s, error);
    if (ok && fdatasync(s->fd) != 0)
        ok = io_error(error, errno, "cannot sync", s->open_path);
    uint8_t md[32];
    unsigned md_len = 0;
    EVP_DigestFinal_ex(s->sha, md, &md_len);
    hex(md, 32, sha256);
    *size = s->size;
    g_autofree char *final = g_build_filename(rec_dir, s->name, NULL);
    if (ok && rename(s->open_path, final) != 0)
        ok = io_error(error, errno, "cannot rename", s->open_path);
    if (ok)
        vej_file_sync_parent(final);
    vej__segment_abandon(s);
    return ok;
}

void
vej__segment_abandon(struct vej_segment *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->sha)
        EVP_MD_CTX_free(s->sha);
    if (s->buf)
        g_byte_array_unref(s->buf);
    g_free(s->name);
    g_free(s->open_path);
    g_free(s);
}

gboolean
vej__file_sha256(const char *path, char sha256[65], uint64_t *size, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(error, errno, "cannot open", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    uint8_t buf[65536];
    uint64_t total = 0;
    gboolean ok = TRUE;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = io_error(error, errno, "cannot read", path);
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += (uint64_t)n;
    }
    uint8_t md[32];
    unsigned md_len = 0;
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    close(fd);
    hex(md, 32, sha256);
    if (size)
        *size = total;
    return ok;
}
