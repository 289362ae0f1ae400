/* manifest.c - building, sealing, parsing and checking recording manifests.
 *
 * Invariants: every size and hash in a manifest or SHA256SUMS comes from
 * reading the file on disk during the seal, never from capture.json or
 * archive.json (those are recorded too, and a disagreement is written into
 * the manifest as a discrepancy, not silently corrected); only regular files
 * with vej_tar_name_safe names are listed; the final names (manifest.json,
 * manifest.sig, SHA256SUMS, SHA256SUMS.sig) are only ever replaced by
 * rename() of complete, fsynced files (mode 0600).
 */
#include "recording/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/file.h"
#include "recording/tar.h"

#define MANIFEST_MAX_BYTES (64 * 1024 * 1024)
#define SUMS_MAX_BYTES (16 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

void
vej_manifest_file_free(struct vej_manifest_file *f)
{
    if (f == NULL)
        return;
    g_free(f->name);
    g_free(f);
}

static gboolean
errno_error(GError **error, int e, const char *path, const char *what)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s: %s", path, what,
                g_strerror(e));
    return FALSE;
}

gboolean
vej_file_sha256(const char *path, uint8_t out[32], int64_t *size, GError **error)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return errno_error(error, errno, path, "cannot open");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_UNSAFE, "%s: not a regular file",
                    path);
        return FALSE;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    gboolean ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    int64_t total = 0;
    int e = 0;
    uint8_t *buf = g_malloc(1 << 16);
    while (ok) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            ok = FALSE;
            break;
        }
        if (n == 0)
            break;
        total += n;
        ok = EVP_DigestUpdate(ctx, buf, (size_t)n) == 1;
    }
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
    g_free(buf);
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (!ok) {
        if (e)
            return errno_error(error, e, path, "cannot read");
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_FAILED, "%s: SHA-256 failed",
                    path);
        return FALSE;
    }
    if (size)
        *size = total;
    return TRUE;
}

/* ---- reading the recorder's and archiver's files ---- */

static json_t *
load_json_file(const char *path, gboolean required, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &text, &len, &local)) {
        if (!required && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return json_null();
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL || !json_is_object(v)) {
        json_decref(v);
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: not a JSON object (%s)", path, jerr.text);
        return NULL;
    }
    return v;
}

/* A copy of capture[key] when it has the expected type, else `fallback`. */
static json_t *
copy_field(json_t *obj, const char *key, json_type type, json_t *fallback)
{
    json_t *v = json_object_get(obj, key);
    if (v != NULL && json_typeof(v) == type) {
        json_decref(fallback);
        return json_deep_copy(v);
    }
    return fallback;
}

static json_t *
hex_json(const uint8_t *data, size_t len)
{
    g_autofree char *hex = vej_hex(data, len);
    return json_string(hex);
}

/* ---- the file inventory ---- */

struct inventory {
    const char *dir;
    json_t *files;         /* [{name, size, sha256, kind, ...}] */
    json_t *discrepancies; /* [{name, what}] */
};

/* Hashes dir/name and appends {name, size, sha256, kind}; returns the entry
 * (borrowed) or NULL on error. */
static json_t *
add_file(struct inventory *inv, const char *name, const char *kind, GError **error)
{
    if (!vej_tar_name_safe(name)) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_UNSAFE,
                    "%s: unsafe file name in the recording", name);
        return NULL;
    }
    g_autofree char *path = g_build_filename(inv->dir, name, NULL);
    uint8_t sha[32];
    int64_t size = 0;
    if (!vej_file_sha256(path, sha, &size, error))
        return NULL;
    json_t *entry = json_pack("{s:s,s:I,s:o,s:s}", "name", name, "size", (json_int_t)size, "sha256",
                              hex_json(sha, 32), "kind", kind);
    json_array_append_new(inv->files, entry);
    return entry;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the regular files directly in dir/sub, sorted; unfinished
 * segments (*.open) are an error. */
static GPtrArray *
list_dir(const char *dir, const char *sub, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *path = g_build_filename(dir, sub, NULL);
    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = g_dir_open(path, 0, &local);
    if (d == NULL) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&names);
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (name[0] == '.')
            continue; /* temporary files */
        if (g_str_has_suffix(name, ".open")) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                        "%s/%s: the capture is not finished", sub, name);
            return NULL;
        }
        g_ptr_array_add(names, g_strdup_printf("%s/%s", sub, name));
    }
    g_ptr_array_sort(names, compare_names);
    return g_steal_pointer(&names);
}

/* The entry of `list` (an array of objects) whose "name" is name. */
static json_t *
find_named(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

/* Copies what the writer said about a file (times, packets, participant)
 * and records a disagreement about its size or hash. */
static void
merge_claims(struct inventory *inv, json_t *entry, json_t *claimed, const char *const *keys)
{
    if (claimed == NULL)
        return;
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(claimed, keys[i]);
        if (v)
            json_object_set(entry, keys[i], v);
    }
    const char *name = json_string_value(json_object_get(entry, "name"));
    json_t *size = json_object_get(claimed, "size");
    json_t *sha = json_object_get(claimed, "sha256");
    if ((size && !json_equal(size, json_object_get(entry, "size"))) ||
        (sha && !json_equal(sha, json_object_get(entry, "sha256"))))
        json_array_append_new(inv->discrepancies,
                              json_pack("{s:s,s:s,s:O?,s:O?}", "name", name, "what",
                                        "the size or SHA-256 its writer recorded differs from "
                                        "the file (the manifest has the file's)",
                                        "recorded_size", size, "recorded_sha256", sha));
}

static gboolean
inventory_files(struct inventory *inv, json_t *capture, json_t *archive, GError **error)
{
    static const char *const seg_keys[] = {"from", "to", "packets", "closed_by", NULL};
    static const char *const arc_keys[] = {"participant_id", "duration_s", NULL};
    if (!add_file(inv, "capture.json", "capture_index", error))
        return FALSE;
    g_autoptr(GPtrArray) segs = list_dir(inv->dir, "capture", error);
    if (segs == NULL)
        return FALSE;
    json_t *claimed_segs = json_object_get(capture, "segments");
    for (guint i = 0; i < segs->len; i++) {
        json_t *e = add_file(inv, segs->pdata[i], "segment", error);
        if (e == NULL)
            return FALSE;
        merge_claims(inv, e, find_named(claimed_segs, segs->pdata[i]), seg_keys);
    }
    /* segments the recorder listed that are not on disk */
    size_t i;
    json_t *v;
    json_array_foreach(claimed_segs, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && find_named(inv->files, n) == NULL)
            json_array_append_new(inv->discrepancies,
                                  json_pack("{s:s,s:s}", "name", n, "what",
                                            "listed in capture.json but not on disk"));
    }
    g_autoptr(GPtrArray) arcs = list_dir(inv->dir, "archive", error);
    if (arcs == NULL)
        return FALSE;
    json_t *claimed_arcs = json_object_get(archive, "files");
    for (guint k = 0; k < arcs->len; k++) {
        const char *name = arcs->pdata[k];
        bool index = strcmp(name, "archive/archive.json") == 0;
        json_t *e = add_file(inv, name, index ? "archive_index" : "archive", error);
        if (e == NULL)
            return FALSE;
        /* archive.json names its files relative to archive/ */
        merge_claims(inv, e, find_named(claimed_arcs, name + strlen("archive/")), arc_keys);
    }
    return TRUE;
}

/* ---- building ---- */

static json_t *
consultations_json(json_t *capture)
{
    json_t *out = copy_field(capture, "consultations", JSON_ARRAY, json_array());
    size_t i;
    json_t *c;
    json_array_foreach(out, i, c)
    {
        if (json_is_object(c)) {
            json_object_set_new(c, "captured", json_false());
            json_object_set_new(c, "statement", json_string(VEJ_CONSULTATION_STATEMENT));
        }
    }
    return out;
}

static json_t *
versions_json(json_t *capture, json_t *archive)
{
    json_t *v = json_object();
    json_object_set_new(v, "gateway",
                        copy_field(capture, "gateway_version", JSON_STRING, json_null()));
    json_object_set_new(v, "archiver",
                        copy_field(archive, "archiver_version", JSON_STRING, json_null()));
    json_object_set_new(v, "gstreamer",
                        copy_field(archive, "gstreamer_version", JSON_STRING, json_null()));
    json_object_set_new(v, "sealed_by", json_string(VEJ_VERSION));
    return v;
}

static json_t *
head_json(const struct vej_manifest_head *head)
{
    if (head == NULL)
        return json_null();
    return json_pack("{s:I,s:o}", "seq", (json_int_t)head->seq, "hash", hex_json(head->hash, 32));
}

/* The manifest of dir; (transfer full). `replaces` is stolen (may be null). */
static json_t *
build_manifest(const char *dir, const vej_signer *signer, const struct vej_manifest_head *head,
               int revision, json_t *replaces, GError **error)
{
    g_autoptr(json_t) repl = replaces;
    g_autofree char *cap_path = g_build_filename(dir, "capture.json", NULL);
    g_autoptr(json_t) capture = load_json_file(cap_path, TRUE, error);
    if (capture == NULL)
        return NULL;
    g_autofree char *arc_path = g_build_filename(dir, "archive", "archive.json", NULL);
    g_autoptr(json_t) archive = load_json_file(arc_path, FALSE, error);
    if (archive == NULL)
        return NULL;
    const char *rec = json_string_value(json_object_get(capture, "recording_id"));
    g_autofree char *base = g_path_get_basename(dir);
    if (rec == NULL || strcmp(rec, base) != 0) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: recording_id does not name its directory", cap_path);
        return NULL;
    }
    struct inventory inv = {dir, json_array(), json_array()};
    if (!inventory_files(&inv, capture, archive, error)) {
        json_decref(inv.files);
        json_decref(inv.discrepancies);
        return NULL;
    }
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *sealed_at = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
    json_t *m = json_object();
    json_object_set_new(m, "format", json_string(VEJ_MANIFEST_FORMAT));
    json_object_set_new(m, "recording_id", json_string(rec));
    json_object_set_new(m, "revision", json_integer(revision));
    json_object_set_new(m, "replaces", repl ? json_incref(repl) : json_null());
    json_object_set_new(m, "sealed_at", json_string(sealed_at));
    json_object_set_new(m, "hearing", copy_field(capture, "hearing", JSON_OBJECT, json_object()));
    json_object_set_new(m, "started_at",
                        copy_field(capture, "started_at", JSON_STRING, json_null()));
    json_object_set_new(m, "closed_at", copy_field(capture, "closed_at", JSON_STRING, json_null()));
    json_object_set_new(m, "participants",
                        copy_field(capture, "participants", JSON_ARRAY, json_array()));
    json_object_set_new(m, "timeline", copy_field(capture, "timeline", JSON_ARRAY, json_array()));
    json_object_set_new(m, "consultations", consultations_json(capture));
    json_object_set_new(m, "tracks", copy_field(capture, "tracks", JSON_ARRAY, json_array()));
    json_object_set_new(m, "gaps", copy_field(capture, "gaps", JSON_ARRAY, json_array()));
    json_object_set_new(m, "ring_drops",
                        copy_field(capture, "ring_drops", JSON_INTEGER, json_integer(0)));
    json_object_set_new(
        m, "clock_synchronised",
        copy_field(capture, "clock_synchronised", JSON_TRUE,
                   copy_field(capture, "clock_synchronised", JSON_FALSE, json_null())));
    json_object_set_new(m, "versions", versions_json(capture, archive));
    json_object_set_new(m, "archive",
                        json_is_object(archive)
                            ? json_pack("{s:O?,s:O?}", "started_at",
                                        json_object_get(archive, "started_at"), "finished_at",
                                        json_object_get(archive, "finished_at"))
                            : json_null());
    json_object_set_new(m, "files", inv.files);
    json_object_set_new(m, "discrepancies", inv.discrepancies);
    json_object_set_new(m, "audit_head", head_json(head));
    json_object_set_new(m, "signature",
                        json_pack("{s:s,s:s,s:s}", "algorithm", "Ed25519", "file", "manifest.sig",
                                  "key_fingerprint", vej_signer_fingerprint(signer)));
    return m;
}

static GBytes *
encode_manifest(json_t *m)
{
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (text == NULL)
        return NULL;
    GString *out = g_string_new(text);
    free(text);
    g_string_append_c(out, '\n');
    return g_string_free_to_bytes(out);
}

/* ---- writing ---- */

/* Writes dir/.name.tmp (0600, fsynced); its path in *tmp. */
static gboolean
write_temp(const char *dir, const char *name, const void *data, size_t len, char **tmp,
           GError **error)
{
    g_autofree char *base = g_path_get_basename(name);
    g_autofree char *sub = g_path_get_dirname(name);
    g_autofree char *path = g_strdup_printf("%s/%s/.%s.tmp", dir, sub, base);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = 0;
    if (fd < 0 || fchmod(fd, 0600) != 0 || !vej_file_write_all(fd, data, len) || fdatasync(fd) != 0)
        e = errno ? errno : EIO;
    if (fd >= 0 && close(fd) != 0 && e == 0)
        e = errno;
    if (e) {
        (void)unlink(path);
        return errno_error(error, e, path, "cannot write");
    }
    *tmp = g_steal_pointer(&path);
    return TRUE;
}

/* SHA256SUMS of every regular file under dir except the sums themselves. */
static GString *
make_sums(const char *dir, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    static const char *const top[] = {"capture.json", "manifest.json", "manifest.sig", NULL};
    for (size_t i = 0; top[i]; i++)
        g_ptr_array_add(names, g_strdup(top[i]));
    static const char *const subs[] = {"capture", "archive", "revisions", NULL};
    for (size_t i = 0; subs[i]; i++) {
        g_autoptr(GPtrArray) more = list_dir(dir, subs[i], error);
        if (more == NULL)
            return NULL;
        for (guint k = 0; k < more->len; k++)
            g_ptr_array_add(names, g_strdup(more->pdata[k]));
    }
    g_ptr_array_sort(names, compare_names);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *path = g_build_filename(dir, name, NULL);
        uint8_t sha[32];
        if (!vej_tar_name_safe(name) || !vej_file_sha256(path, sha, NULL, error)) {
            if (error && *error == NULL)
                g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_UNSAFE,
                            "%s: unsafe file name", name);
            g_string_free(out, TRUE);
            return NULL;
        }
        g_autofree char *hex = vej_hex(sha, 32);
        g_string_append_printf(out, "%s  %s\n", hex, name);
    }
    return out;
}

/* The revision of an existing dir/manifest.json (0 when there is none) and
 * what a new revision must say it replaces. */
static int
previous_revision(const char *dir, json_t **replaces, GError **error)
{
    *replaces = NULL;
    g_autofree char *path = g_build_filename(dir, "manifest.json", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &text, &len, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return 0;
        g_propagate_error(error, g_steal_pointer(&local));
        return -1;
    }
    g_autoptr(json_t) old = json_loadb(text, len, 0, NULL);
    json_int_t rev = json_integer_value(json_object_get(old, "revision"));
    if (rev < 1 || rev > 9999) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: no valid revision in the existing manifest", path);
        return -1;
    }
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, (const guchar *)text, (gssize)len);
    g_autofree char *name = g_strdup_printf("revisions/manifest-%04d.json", (int)rev);
    *replaces = json_pack("{s:I,s:s,s:s}", "revision", rev, "manifest", name, "sha256",
                          g_checksum_get_string(ck));
    return (int)rev;
}

/* Moves manifest.json/.sig of revision `rev` into revisions/. */
static gboolean
archive_previous(const char *dir, int rev, GError **error)
{
    g_autofree char *rdir = g_build_filename(dir, "revisions", NULL);
    if (g_mkdir_with_parents(rdir, 0700) != 0)
        return errno_error(error, errno, rdir, "cannot create");
    static const char *const ext[] = {"json", "sig"};
    for (size_t i = 0; i < 2; i++) {
        g_autofree char *from = g_strdup_printf("%s/manifest.%s", dir, ext[i]);
        g_autofree char *to = g_strdup_printf("%s/manifest-%04d.%s", rdir, rev, ext[i]);
        if (g_file_test(to, G_FILE_TEST_EXISTS)) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID, "%s already exists",
                        to);
            return FALSE;
        }
        if (rename(from, to) != 0 && errno != ENOENT)
            return errno_error(error, errno, from, "cannot move to revisions/");
    }
    vej_file_sync_folder(rdir);
    return TRUE;
}

/* Writes `name` and `name`.sig (signature of data) under their final names. */
static gboolean
install_signed(const char *dir, const char *name, const char *sig_name, const void *data,
               size_t len, const vej_signer *signer, GError **error)
{
    uint8_t sig[VEJ_SIGNATURE_SIZE];
    if (!vej_signer_sign(signer, data, len, sig, error))
        return FALSE;
    g_autofree char *tmp_data = NULL, *tmp_sig = NULL;
    if (!write_temp(dir, name, data, len, &tmp_data, error))
        return FALSE;
    if (!write_temp(dir, sig_name, sig, sizeof sig, &tmp_sig, error)) {
        (void)unlink(tmp_data);
        return FALSE;
    }
    g_autofree char *final_data = g_build_filename(dir, name, NULL);
    g_autofree char *final_sig = g_build_filename(dir, sig_name, NULL);
    if (rename(tmp_data, final_data) != 0 || rename(tmp_sig, final_sig) != 0) {
        int e = errno;
        (void)unlink(tmp_data);
        (void)unlink(tmp_sig);
        return errno_error(error, e, final_data, "cannot rename into place");
    }
    return TRUE;
}

/* Seals are serialised per recording (the recorder and `vejctl recordings
 * seal` may run at once) by an flock on dir/.seal.lock; hidden names are
 * never listed, hashed or bundled. -1 on error. */
static int
lock_recording(const char *dir, GError **error)
{
    g_autofree char *path = g_build_filename(dir, ".seal.lock", NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno_error(error, e, path, "cannot lock the recording");
        return -1;
    }
    return fd;
}

static int seal_locked(const char *dir, const vej_signer *signer,
                       const struct vej_manifest_head *head, GError **error);

int
vej_manifest_seal(const char *dir, const vej_signer *signer, const struct vej_manifest_head *head,
                  GError **error)
{
    g_return_val_if_fail(dir != NULL && signer != NULL, 0);
    int lock = lock_recording(dir, error);
    if (lock < 0)
        return 0;
    int rev = seal_locked(dir, signer, head, error);
    close(lock); /* releases the flock */
    return rev;
}

static int
seal_locked(const char *dir, const vej_signer *signer, const struct vej_manifest_head *head,
            GError **error)
{
    json_t *replaces = NULL;
    int prev = previous_revision(dir, &replaces, error);
    if (prev < 0)
        return 0;
    g_autoptr(json_t) m = build_manifest(dir, signer, head, prev + 1, replaces, error);
    if (m == NULL)
        return 0;
    g_autoptr(GBytes) bytes = encode_manifest(m);
    if (bytes == NULL) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_FAILED,
                    "cannot encode the manifest");
        return 0;
    }
    if (prev > 0 && !archive_previous(dir, prev, error))
        return 0;
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    if (!install_signed(dir, "manifest.json", "manifest.sig", data, len, signer, error))
        return 0;
    g_autoptr(GString) sums = make_sums(dir, error);
    if (sums == NULL ||
        !install_signed(dir, "SHA256SUMS", "SHA256SUMS.sig", sums->str, sums->len, signer, error))
        return 0;
    vej_file_sync_folder(dir);
    return prev + 1;
}

/* ---- parsing ---- */

static gboolean
parse_hex32(const char *hex, size_t len, uint8_t out[32])
{
    if (len != 64)
        return FALSE;
    for (size_t i = 0; i < 32; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || g_ascii_isupper(hex[2 * i]) || g_ascii_isupper(hex[2 * i + 1]))
            return FALSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return TRUE;
}

static gboolean invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID, msg);
    return FALSE;
}

/* Adds f to files unless its name is already there. */
static gboolean
add_unique(GPtrArray *files, GHashTable *seen, struct vej_manifest_file *f, GError **error)
{
    if (!g_hash_table_add(seen, f->name)) {
        invalid(error, "%s: listed twice", f->name);
        vej_manifest_file_free(f);
        return FALSE;
    }
    g_ptr_array_add(files, f);
    return TRUE;
}

GPtrArray *
vej_manifest_parse_files(const char *bytes, size_t len, json_t **manifest_out, GError **error)
{
    if (manifest_out)
        *manifest_out = NULL;
    if (len > MANIFEST_MAX_BYTES) {
        invalid(error, "%s", "manifest too large");
        return NULL;
    }
    json_error_t jerr;
    g_autoptr(json_t) m = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *list = json_object_get(m, "files");
    const char *format = json_string_value(json_object_get(m, "format"));
    if (!json_is_object(m) || format == NULL || strcmp(format, VEJ_MANIFEST_FORMAT) != 0 ||
        !json_is_array(list)) {
        invalid(error, "%s", "not a vej-manifest/1 manifest");
        return NULL;
    }
    g_autoptr(GPtrArray) files =
        g_ptr_array_new_with_free_func((GDestroyNotify)vej_manifest_file_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *sha = json_string_value(json_object_get(v, "sha256"));
        json_t *size = json_object_get(v, "size");
        struct vej_manifest_file f = {0};
        if (name == NULL || !vej_tar_name_safe(name) || sha == NULL ||
            !parse_hex32(sha, strlen(sha), f.sha256) || !json_is_integer(size) ||
            json_integer_value(size) < 0) {
            invalid(error, "manifest files[%s]: needs a safe name, a size and a sha256",
                    name ? name : "?");
            return NULL;
        }
        struct vej_manifest_file *copy = g_memdup2(&f, sizeof f);
        copy->name = g_strdup(name);
        copy->size = (int64_t)json_integer_value(size);
        if (!add_unique(files, seen, copy, error))
            return NULL;
    }
    if (manifest_out)
        *manifest_out = g_steal_pointer(&m);
    return g_steal_pointer(&files);
}

GPtrArray *
vej_sha256sums_parse(const char *bytes, size_t len, GError **error)
{
    if (len > SUMS_MAX_BYTES) {
        invalid(error, "%s", "SHA256SUMS too large");
        return NULL;
    }
    g_autoptr(GPtrArray) files =
        g_ptr_array_new_with_free_func((GDestroyNotify)vej_manifest_file_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    size_t pos = 0;
    while (pos < len) {
        const char *line = bytes + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (nl == NULL) {
            invalid(error, "%s", "SHA256SUMS: the last line has no line end");
            return NULL;
        }
        size_t l = (size_t)(nl - line);
        struct vej_manifest_file f = {.size = -1};
        if (l < 67 || !parse_hex32(line, 64, f.sha256) || line[64] != ' ' ||
            (line[65] != ' ' && line[65] != '*') || memchr(line, '\0', l)) {
            invalid(error, "%s", "SHA256SUMS: a line is not \"HEX  NAME\"");
            return NULL;
        }
        g_autofree char *name = g_strndup(line + 66, l - 66);
        if (!vej_tar_name_safe(name)) {
            invalid(error, "%s", "SHA256SUMS: a line has an unsafe name");
            return NULL;
        }
        struct vej_manifest_file *copy = g_memdup2(&f, sizeof f);
        copy->name = g_steal_pointer(&name);
        if (!add_unique(files, seen, copy, error))
            return NULL;
        pos += l + 1;
    }
    return g_steal_pointer(&files);
}

/* ---- checking a directory ---- */

struct check {
    const char *dir;
    GHashTable *actual; /* name -> hex sha256 of the file now, or "" when unreadable */
    json_t *files;      /* the report's files */
    bool ok;
};

/* The file's SHA-256 now (hex, borrowed), or NULL when it cannot be read. */
static const char *
actual_sha(struct check *c, const char *name, int64_t *size)
{
    char *hex = g_hash_table_lookup(c->actual, name);
    if (hex == NULL) {
        g_autofree char *path = g_build_filename(c->dir, name, NULL);
        uint8_t sha[32];
        int64_t sz = -1;
        hex = vej_file_sha256(path, sha, &sz, NULL) ? vej_hex(sha, 32) : g_strdup("");
        g_hash_table_insert(c->actual, g_strdup(name), hex);
        g_hash_table_insert(c->actual, g_strdup_printf("%s\n", name),
                            g_strdup_printf("%" G_GINT64_FORMAT, sz));
    }
    if (size) {
        g_autofree char *key = g_strdup_printf("%s\n", name);
        const char *s = g_hash_table_lookup(c->actual, key);
        *size = s ? g_ascii_strtoll(s, NULL, 10) : -1;
    }
    return *hex ? hex : NULL;
}

static void
report(struct check *c, const char *name, const char *sha, const char *problem)
{
    json_t *e = json_pack("{s:s,s:s?,s:b}", "name", name, "sha256", sha, "ok", problem == NULL);
    if (problem) {
        json_object_set_new(e, "problem", json_string(problem));
        c->ok = false;
    }
    json_array_append_new(c->files, e);
}

/* Reads dir/name (at most max bytes). */
static char *
read_small(const char *dir, const char *name, size_t max, gsize *len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, len, NULL))
        return NULL;
    if (*len > max) {
        g_free(text);
        return NULL;
    }
    return text;
}

static bool
signature_ok(const char *dir, const char *sig_name, const char *data, size_t len,
             const vej_signer *verifier)
{
    gsize sig_len = 0;
    g_autofree char *sig = read_small(dir, sig_name, 1024, &sig_len);
    return sig != NULL && data != NULL && sig_len == VEJ_SIGNATURE_SIZE &&
           vej_signer_verify(verifier, data, len, (const uint8_t *)sig);
}

static void
check_manifest_files(struct check *c, GPtrArray *files)
{
    for (guint i = 0; i < files->len; i++) {
        const struct vej_manifest_file *f = files->pdata[i];
        int64_t size = -1;
        const char *sha = actual_sha(c, f->name, &size);
        g_autofree char *want = vej_hex(f->sha256, 32);
        const char *problem = sha == NULL              ? "missing or unreadable"
                              : size != f->size        ? "size differs from the manifest"
                              : strcmp(sha, want) != 0 ? "SHA-256 differs from the manifest"
                                                       : NULL;
        report(c, f->name, sha, problem);
    }
}

/* SHA256SUMS: its signature, and every line against the file and the
 * manifest's hash of it. */
static void
check_sums(struct check *c, GPtrArray *mfiles, const vej_signer *verifier, json_t *out)
{
    gsize len = 0;
    g_autofree char *sums = read_small(c->dir, "SHA256SUMS", SUMS_MAX_BYTES, &len);
    bool sig_ok = signature_ok(c->dir, "SHA256SUMS.sig", sums, len, verifier);
    g_autoptr(GPtrArray) lines = sums ? vej_sha256sums_parse(sums, len, NULL) : NULL;
    json_object_set_new(out, "sha256sums_ok", json_boolean(sig_ok && lines != NULL));
    report(c, "SHA256SUMS", actual_sha(c, "SHA256SUMS", NULL),
           !sums     ? "missing"
           : !lines  ? "malformed"
           : !sig_ok ? "bad signature (SHA256SUMS.sig)"
                     : NULL);
    if (lines == NULL)
        return;
    g_autoptr(GHashTable) listed = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < lines->len; i++) {
        const struct vej_manifest_file *f = lines->pdata[i];
        g_hash_table_add(listed, f->name);
        g_autofree char *want = vej_hex(f->sha256, 32);
        const char *sha = actual_sha(c, f->name, NULL);
        bool in_manifest = false;
        for (guint k = 0; k < mfiles->len && !in_manifest; k++)
            in_manifest =
                strcmp(((struct vej_manifest_file *)mfiles->pdata[k])->name, f->name) == 0;
        if (in_manifest) {
            if (sha != NULL && strcmp(sha, want) != 0) /* a missing one is reported once */
                report(c, f->name, sha, "SHA-256 differs from SHA256SUMS");
            continue; /* reported with the manifest's files */
        }
        report(c, f->name, sha,
               sha == NULL              ? "missing or unreadable"
               : strcmp(sha, want) != 0 ? "SHA-256 differs from SHA256SUMS"
                                        : NULL);
    }
    for (guint k = 0; k < mfiles->len; k++) {
        const char *name = ((struct vej_manifest_file *)mfiles->pdata[k])->name;
        if (!g_hash_table_contains(listed, name))
            report(c, name, actual_sha(c, name, NULL), "not in SHA256SUMS");
    }
}

json_t *
vej_manifest_verify_dir(const char *dir, const vej_signer *verifier, GError **error)
{
    gsize len = 0;
    g_autofree char *bytes = read_small(dir, "manifest.json", MANIFEST_MAX_BYTES, &len);
    if (bytes == NULL) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: no readable manifest.json", dir);
        return NULL;
    }
    /* A manifest that no longer parses (a flipped byte) is reported, and
     * SHA256SUMS is still checked. */
    g_autoptr(GError) parse_error = NULL;
    g_autoptr(GPtrArray) mfiles = vej_manifest_parse_files(bytes, len, NULL, &parse_error);
    if (mfiles == NULL)
        mfiles = g_ptr_array_new_with_free_func((GDestroyNotify)vej_manifest_file_free);
    struct check c = {dir, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                      json_array(), true};
    bool msig = signature_ok(dir, "manifest.sig", bytes, len, verifier);
    json_t *out = json_object();
    json_object_set_new(out, "manifest_signature_ok", json_boolean(msig));
    json_object_set_new(out, "key_fingerprint", json_string(vej_signer_fingerprint(verifier)));
    /* manifest.json and manifest.sig are checked against SHA256SUMS too */
    report(&c, "manifest.json", actual_sha(&c, "manifest.json", NULL),
           !msig         ? "bad signature (manifest.sig)"
           : parse_error ? "signed, but not a readable manifest"
                         : NULL);
    check_manifest_files(&c, mfiles);
    check_sums(&c, mfiles, verifier, out);
    json_object_set_new(out, "ok", json_boolean(c.ok));
    json_object_set_new(out, "files", c.files);
    g_hash_table_unref(c.actual);
    return out;
}
