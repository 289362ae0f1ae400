/* audit-heads.c - signing the audit chain's head and checking signed heads.
 *
 * Invariants: the heads file is only ever appended to (O_APPEND, one
 * write() per line, fsync), never rewritten; a line is written only after
 * its signature was made, so a torn write leaves a malformed last line that
 * the checker reports instead of trusting; checking uses only the stored
 * entries of the chain, never recomputes a head from them.
 */
#include "recording/audit-heads.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store/audit.h"

#define LINE_MAX_LEN 512

char *
vej_audit_heads_path(const char *data_dir)
{
    return g_build_filename(data_dir, "audit-heads.log", NULL);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void
vej_audit_head_encode(const struct vej_signed_head *h, uint8_t out[58])
{
    memcpy(out, "VEJHEAD1", 8);
    put_be64(out + 8, (uint64_t)h->seq);
    memcpy(out + 16, h->hash, 32);
    put_be64(out + 48, (uint64_t)h->signed_at_us);
}

static gboolean
hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    if (hex_len != 2 * out_len)
        return FALSE;
    for (size_t i = 0; i < out_len; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || g_ascii_isupper(hex[2 * i]) || g_ascii_isupper(hex[2 * i + 1]))
            return FALSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return TRUE;
}

static gboolean
parse_int(const char *text, size_t len, int64_t *out)
{
    if (len == 0 || len > 19)
        return FALSE;
    char buf[20];
    memcpy(buf, text, len);
    buf[len] = '\0';
    gint64 v = 0;
    if (!g_ascii_string_to_signed(buf, 10, 0, G_MAXINT64, &v, NULL) || buf[0] == '+' ||
        (buf[0] == '0' && len > 1))
        return FALSE;
    *out = v;
    return TRUE;
}

gboolean
vej_audit_head_parse_line(const char *line, size_t len, struct vej_signed_head *out)
{
    memset(out, 0, sizeof *out);
    const char *field[5];
    size_t flen[5];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == ' ') {
            if (n == 5)
                return FALSE;
            field[n] = line + start;
            flen[n++] = i - start;
            start = i + 1;
        } else if ((unsigned char)line[i] < 0x21 || (unsigned char)line[i] > 0x7e) {
            return FALSE;
        }
    }
    if (n != 5 || !parse_int(field[0], flen[0], &out->seq) ||
        !hex_decode(field[1], flen[1], out->hash, 32) ||
        !parse_int(field[2], flen[2], &out->signed_at_us) || flen[3] != 64 ||
        !hex_decode(field[4], flen[4], out->signature, VEJ_SIGNATURE_SIZE))
        return FALSE;
    uint8_t fp[32];
    if (!hex_decode(field[3], flen[3], fp, 32))
        return FALSE;
    memcpy(out->fingerprint, field[3], 64);
    out->fingerprint[64] = '\0';
    return TRUE;
}

GArray *
vej_audit_heads_read(const char *heads_path, GError **error)
{
    GArray *heads = g_array_new(FALSE, TRUE, sizeof(struct vej_signed_head));
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(heads_path, &text, &len, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return heads;
        g_propagate_error(error, g_steal_pointer(&local));
        g_array_unref(heads);
        return NULL;
    }
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        struct vej_signed_head h;
        if (!nl || l > LINE_MAX_LEN || !vej_audit_head_parse_line(text + pos, l, &h)) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INTEGRITY,
                        "%s: line %zu is not a signed head", heads_path, lineno);
            g_array_unref(heads);
            return NULL;
        }
        g_array_append_val(heads, h);
        pos += l + 1;
    }
    return heads;
}

gboolean
vej_audit_heads_last(const char *heads_path, struct vej_signed_head *out, gboolean *found,
                     GError **error)
{
    *found = FALSE;
    int fd = open(heads_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return TRUE;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", heads_path,
                    g_strerror(errno));
        return FALSE;
    }
    char buf[2 * LINE_MAX_LEN + 2];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
    ssize_t n = end > 0 ? pread(fd, buf, (size_t)(end - start), start) : 0;
    close(fd);
    if (n < 0 || n != end - start) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: cannot read", heads_path);
        return FALSE;
    }
    if (n == 0)
        return TRUE;
    if (buf[n - 1] != '\n') {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INTEGRITY,
                    "%s: the last line is incomplete", heads_path);
        return FALSE;
    }
    ssize_t i = n - 1;
    while (i > 0 && buf[i - 1] != '\n')
        i--;
    if ((i == 0 && start > 0) || !vej_audit_head_parse_line(buf + i, (size_t)(n - 1 - i), out)) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INTEGRITY,
                    "%s: the last line is not a signed head", heads_path);
        return FALSE;
    }
    *found = TRUE;
    return TRUE;
}

static gboolean
append_line(const char *path, const char *line, GError **error)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t len = strlen(line);
    int e = 0;
    if (fd < 0)
        e = errno;
    else if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0)
        e = errno ? errno : EIO;
    if (fd >= 0 && close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

gboolean
vej_audit_heads_sign(const char *db_path, const char *heads_path, const vej_signer *signer,
                     gboolean force, struct vej_signed_head *out, GError **error)
{
    struct vej_signed_head h = {0};
    if (!vej_audit_head(db_path, &h.seq, h.hash, error))
        return FALSE;
    struct vej_signed_head last;
    gboolean found = FALSE;
    if (!force && vej_audit_heads_last(heads_path, &last, &found, NULL) && found &&
        last.seq == h.seq) {
        if (out)
            *out = last;
        return TRUE;
    }
    h.signed_at_us = g_get_real_time();
    g_strlcpy(h.fingerprint, vej_signer_fingerprint(signer), sizeof h.fingerprint);
    uint8_t msg[58];
    vej_audit_head_encode(&h, msg);
    if (!vej_signer_sign(signer, msg, sizeof msg, h.signature, error))
        return FALSE;
    g_autofree char *hash_hex = vej_hex(h.hash, 32);
    g_autofree char *sig_hex = vej_hex(h.signature, VEJ_SIGNATURE_SIZE);
    g_autofree char *line =
        g_strdup_printf("%" G_GINT64_FORMAT " %s %" G_GINT64_FORMAT " %s %s\n", h.seq, hash_hex,
                        h.signed_at_us, h.fingerprint, sig_hex);
    if (!append_line(heads_path, line, error))
        return FALSE;
    if (out)
        *out = h;
    return TRUE;
}

/* Why head i is bad, or NULL. */
static const char *
check_head(const char *db_path, const struct vej_signed_head *h, int64_t prev_seq, int64_t log_seq,
           const vej_signer *verifier, GError **error)
{
    uint8_t msg[58];
    vej_audit_head_encode(h, msg);
    if (strcmp(h->fingerprint, vej_signer_fingerprint(verifier)) != 0)
        return "signed by another key";
    if (!vej_signer_verify(verifier, msg, sizeof msg, h->signature))
        return "bad signature";
    if (h->seq < prev_seq)
        return "sequence goes backwards";
    if (h->seq > log_seq)
        return "the audit log ends before this signed head (truncated)";
    if (h->seq == 0)
        return NULL;
    g_autoptr(GPtrArray) rows = vej_audit_list(db_path, 0, 0, h->seq - 1, 1, error);
    if (rows == NULL)
        return "cannot read the audit log";
    if (rows->len != 1 || ((struct vej_audit_entry *)rows->pdata[0])->seq != h->seq)
        return "the audit log has no entry at this seq (truncated)";
    if (memcmp(((struct vej_audit_entry *)rows->pdata[0])->hash, h->hash, 32) != 0)
        return "the entry at this seq has another hash (rewritten)";
    return NULL;
}

gboolean
vej_audit_heads_check(const char *db_path, const char *heads_path, const vej_signer *verifier,
                      int64_t *n_heads, struct vej_signed_head *last, GError **error)
{
    if (n_heads)
        *n_heads = 0;
    g_autoptr(GArray) heads = vej_audit_heads_read(heads_path, error);
    if (heads == NULL)
        return FALSE;
    int64_t log_seq = 0;
    uint8_t log_hash[32];
    if (!vej_audit_head(db_path, &log_seq, log_hash, error))
        return FALSE;
    int64_t prev = 0;
    for (guint i = 0; i < heads->len; i++) {
        const struct vej_signed_head *h = &g_array_index(heads, struct vej_signed_head, i);
        g_autoptr(GError) local = NULL;
        const char *why = check_head(db_path, h, prev, log_seq, verifier, &local);
        if (why) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INTEGRITY,
                        "signed audit head %u (seq %" G_GINT64_FORMAT "): %s%s%s", i + 1, h->seq,
                        why, local ? ": " : "", local ? local->message : "");
            return FALSE;
        }
        prev = h->seq;
        if (n_heads)
            *n_heads = i + 1;
        if (last)
            *last = *h;
    }
    return TRUE;
}
