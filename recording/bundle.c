/* bundle.c - streaming a recording as ustar, and checking a bundle offline.
 *
 * Invariants: the member list comes from the signed SHA256SUMS (plus the
 * signed files themselves, the public key and VERIFY.txt), so a bundle
 * always carries every file a verifier will ask for; a member's size is
 * fixed when the bundle is planned and a file that grew or shrank since
 * aborts the stream instead of producing a corrupt archive; the checker
 * holds only the small signed files in memory and hashes the rest as it
 * streams by.
 */
#include "recording/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recording/manifest.h"
#include "recording/tar.h"

#define SMALL_MAX (64 * 1024 * 1024) /* manifest, sums, key, signatures */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

struct member {
    char *tar_name;
    char *path;   /* a file, or NULL */
    GBytes *data; /* in-memory content, or NULL */
    uint64_t size;
    int64_t mtime;
};

struct vej_bundle {
    GArray *members; /* struct member */
    uint64_t size;
    /* stream position */
    guint index;
    int phase; /* 0 header, 1 data, 2 padding, 3 trailer, 4 done */
    uint64_t off;
    int fd;
    uint8_t header[VEJ_TAR_BLOCK];
};

static void
member_clear(gpointer p)
{
    struct member *m = p;
    g_free(m->tar_name);
    g_free(m->path);
    if (m->data)
        g_bytes_unref(m->data);
}

void
vej_bundle_free(vej_bundle *b)
{
    if (b == NULL)
        return;
    if (b->fd >= 0)
        close(b->fd);
    g_array_unref(b->members);
    g_free(b);
}

static gboolean
add_file(vej_bundle *b, const char *dir, const char *top, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "%s: missing or not a regular file", name);
        return FALSE;
    }
    struct member m = {g_strdup_printf("%s/%s", top, name), g_steal_pointer(&path), NULL,
                       (uint64_t)st.st_size, (int64_t)st.st_mtime};
    g_array_append_val(b->members, m);
    return TRUE;
}

static void
add_bytes(vej_bundle *b, const char *top, const char *name, const char *text)
{
    struct member m = {g_strdup_printf("%s/%s", top, name), NULL, g_bytes_new(text, strlen(text)),
                       strlen(text), g_get_real_time() / G_USEC_PER_SEC};
    g_array_append_val(b->members, m);
}

char *
vej_bundle_verify_text(const char *rec_id, const char *fingerprint)
{
    return g_strdup_printf(
        "VEJ Gateway recording %s\n"
        "\n"
        "manifest.json is the signed court record of this recording: the hearing, the\n"
        "participants, the timeline, the consultations (none of whose media was captured)\n"
        "and every file with its size and SHA-256. SHA256SUMS lists every file of this\n"
        "folder. Both are signed with the gateway's Ed25519 key, whose public half is\n"
        "public-key.pem. Its fingerprint (SHA-256 of the DER public key) is\n"
        "\n"
        "    %s\n"
        "\n"
        "Compare it with the fingerprint the court publishes before trusting anything else.\n"
        "\n"
        "Check this folder with stock tools only (GNU coreutils, OpenSSL 3), from inside it\n"
        "(the commands are the lines that start with \"$ \"):\n"
        "\n"
        "$ openssl pkey -pubin -in public-key.pem -outform DER | sha256sum\n"
        "$ sha256sum -c SHA256SUMS\n"
        "$ openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile "
        "manifest.sig\n"
        "$ openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile "
        "SHA256SUMS.sig\n"
        "\n"
        "The first prints the fingerprint above; sha256sum prints OK for every file; each\n"
        "openssl pkeyutl prints \"Signature Verified Successfully\". Any other answer means\n"
        "the bundle is not what the gateway sealed. With the VEJ tools:\n"
        "vejctl recordings verify BUNDLE.tar --key COURT-PUBLIC-KEY.pem\n",
        rec_id, fingerprint);
}

vej_bundle *
vej_bundle_new(const char *dir, const vej_signer *key, GError **error)
{
    g_autofree char *top = g_path_get_basename(dir);
    if (!vej_tar_name_safe(top)) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID, "bad folder name");
        return NULL;
    }
    g_autofree char *sums_path = g_build_filename(dir, "SHA256SUMS", NULL);
    g_autofree char *sums = NULL;
    gsize len = 0;
    if (!g_file_get_contents(sums_path, &sums, &len, error))
        return NULL;
    g_autoptr(GPtrArray) listed = vej_sha256sums_parse(sums, len, error);
    if (listed == NULL)
        return NULL;
    g_autoptr(vej_bundle) b = g_new0(vej_bundle, 1);
    b->fd = -1;
    b->members = g_array_new(FALSE, TRUE, sizeof(struct member));
    g_array_set_clear_func(b->members, member_clear);
    static const char *const first[] = {"manifest.json", "manifest.sig", "SHA256SUMS",
                                        "SHA256SUMS.sig"};
    for (size_t i = 0; i < G_N_ELEMENTS(first); i++)
        if (!add_file(b, dir, top, first[i], error))
            return NULL;
    add_bytes(b, top, "public-key.pem", vej_signer_public_pem(key));
    g_autofree char *verify = vej_bundle_verify_text(top, vej_signer_fingerprint(key));
    add_bytes(b, top, "VERIFY.txt", verify);
    for (guint i = 0; i < listed->len; i++) {
        const char *name = ((struct vej_manifest_file *)listed->pdata[i])->name;
        if (strcmp(name, "manifest.json") == 0 || strcmp(name, "manifest.sig") == 0)
            continue;
        if (!add_file(b, dir, top, name, error))
            return NULL;
    }
    for (guint i = 0; i < b->members->len; i++) {
        const struct member *m = &g_array_index(b->members, struct member, i);
        b->size += VEJ_TAR_BLOCK + m->size + vej_tar_padding(m->size);
    }
    b->size += 2 * VEJ_TAR_BLOCK;
    return g_steal_pointer(&b);
}

uint64_t
vej_bundle_size(const vej_bundle *b)
{
    return b->size;
}

/* Reads the current member's data at b->off into buf. */
static gssize
member_data(vej_bundle *b, const struct member *m, uint8_t *buf, size_t want)
{
    if (m->data) {
        memcpy(buf, (const uint8_t *)g_bytes_get_data(m->data, NULL) + b->off, want);
        return (gssize)want;
    }
    if (b->fd < 0) {
        b->fd = open(m->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (b->fd < 0 || fstat(b->fd, &st) != 0 || (uint64_t)st.st_size != m->size)
            return -1;
    }
    ssize_t n;
    do
        n = read(b->fd, buf, want);
    while (n < 0 && errno == EINTR);
    return n > 0 ? n : -1; /* a short file is an error: the size was promised */
}

gssize
vej_bundle_read(vej_bundle *b, uint8_t *buf, size_t cap)
{
    size_t done = 0;
    static const uint8_t zeros[VEJ_TAR_BLOCK];
    while (done < cap && b->phase != 4) {
        if (b->phase == 3) {
            size_t n = MIN(cap - done, (size_t)(2 * VEJ_TAR_BLOCK - b->off));
            memset(buf + done, 0, n);
            done += n;
            b->off += n;
            if (b->off == 2 * VEJ_TAR_BLOCK)
                b->phase = 4;
            continue;
        }
        if (b->index == b->members->len) {
            b->phase = 3;
            b->off = 0;
            continue;
        }
        const struct member *m = &g_array_index(b->members, struct member, b->index);
        if (b->phase == 0) {
            if (b->off == 0 &&
                vej_tar_header_build(b->header, m->tar_name, m->size, 0600, m->mtime) != 0)
                return -1;
            size_t n = MIN(cap - done, (size_t)(VEJ_TAR_BLOCK - b->off));
            memcpy(buf + done, b->header + b->off, n);
            done += n;
            b->off += n;
            if (b->off == VEJ_TAR_BLOCK) {
                b->phase = 1;
                b->off = 0;
            }
        } else if (b->phase == 1) {
            size_t want = (size_t)MIN((uint64_t)(cap - done), m->size - b->off);
            gssize n = want ? member_data(b, m, buf + done, want) : 0;
            if (n < 0)
                return -1;
            done += (size_t)n;
            b->off += (uint64_t)n;
            if (b->off == m->size) {
                if (b->fd >= 0) {
                    close(b->fd);
                    b->fd = -1;
                }
                b->phase = 2;
                b->off = 0;
            }
        } else {
            size_t pad = vej_tar_padding(m->size);
            size_t n = MIN(cap - done, (size_t)(pad - b->off));
            memcpy(buf + done, zeros, n);
            done += n;
            b->off += n;
            if (b->off == pad) {
                b->index++;
                b->phase = 0;
                b->off = 0;
            }
        }
    }
    return (gssize)done;
}

/* ---- offline check ---- */

struct seen {
    char *sha256; /* hex */
    uint64_t size;
    GBytes *data; /* small signed files only */
};

static void
seen_free(gpointer p)
{
    struct seen *s = p;
    g_free(s->sha256);
    if (s->data)
        g_bytes_unref(s->data);
    g_free(s);
}

struct reader {
    vej_bundle_read_fn read;
    void *ctx;
};

/* Exactly len bytes, or FALSE. */
static gboolean
read_exact(struct reader *r, uint8_t *buf, size_t len)
{
    while (len > 0) {
        gssize n = r->read(r->ctx, buf, len);
        if (n <= 0)
            return FALSE;
        buf += n;
        len -= (size_t)n;
    }
    return TRUE;
}

static bool
keep_in_memory(const char *rel)
{
    static const char *const small[] = {"manifest.json",  "manifest.sig",   "SHA256SUMS",
                                        "SHA256SUMS.sig", "public-key.pem", "VERIFY.txt"};
    for (size_t i = 0; i < G_N_ELEMENTS(small); i++)
        if (strcmp(rel, small[i]) == 0)
            return true;
    return false;
}

/* Hashes one member's data (and keeps it when small); checks the padding. */
static struct seen *
read_member(struct reader *r, const struct vej_tar_member *m, bool keep, GPtrArray *problems)
{
    if (keep && m->size > SMALL_MAX) {
        g_ptr_array_add(problems, g_strdup_printf("%s: too large", m->name));
        return NULL;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    GByteArray *kept = keep ? g_byte_array_sized_new((guint)m->size) : NULL;
    uint8_t buf[4096];
    uint64_t left = m->size;
    bool ok = true;
    while (ok && left > 0) {
        size_t n = (size_t)MIN(left, sizeof buf);
        ok = read_exact(r, buf, n) && EVP_DigestUpdate(ctx, buf, n) == 1;
        if (ok && kept)
            g_byte_array_append(kept, buf, (guint)n);
        left -= n;
    }
    uint8_t digest[32];
    unsigned int dlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
    EVP_MD_CTX_free(ctx);
    size_t pad = vej_tar_padding(m->size);
    ok = ok && read_exact(r, buf, pad);
    for (size_t i = 0; ok && i < pad; i++)
        if (buf[i] != 0) {
            g_ptr_array_add(problems,
                            g_strdup_printf("%s: padding after the member is not zero", m->name));
            break;
        }
    if (!ok) {
        if (kept)
            g_byte_array_unref(kept);
        return NULL;
    }
    struct seen *s = g_new0(struct seen, 1);
    s->sha256 = vej_hex(digest, 32);
    s->size = m->size;
    s->data = kept ? g_byte_array_free_to_bytes(kept) : NULL;
    return s;
}

/* Reads every member into `members` (relative name -> struct seen *). */
static gboolean
read_archive(struct reader *r, GHashTable *members, char **top, GPtrArray *problems, GError **error)
{
    uint8_t block[VEJ_TAR_BLOCK];
    for (;;) {
        if (!read_exact(r, block, sizeof block)) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                        "the archive ends without its end-of-archive block");
            return FALSE;
        }
        struct vej_tar_member m;
        enum vej_tar_status st = vej_tar_header_parse(block, &m);
        if (st == VEJ_TAR_END)
            break;
        if (st != VEJ_TAR_OK) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID, "member %u: %s",
                        g_hash_table_size(members) + 1, vej_tar_status_text(st));
            return FALSE;
        }
        const char *slash = strchr(m.name, '/');
        if (slash == NULL || (*top && (strlen(*top) != (size_t)(slash - m.name) ||
                                       strncmp(*top, m.name, strlen(*top)) != 0))) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                        "%s: not inside the bundle's one folder", m.name);
            return FALSE;
        }
        if (*top == NULL)
            *top = g_strndup(m.name, (gsize)(slash - m.name));
        const char *rel = slash + 1;
        struct seen *s = read_member(r, &m, keep_in_memory(rel), problems);
        if (s == NULL) {
            g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                        "%s: the archive ends inside it", m.name);
            return FALSE;
        }
        if (!g_hash_table_insert(members, g_strdup(rel), s))
            g_ptr_array_add(problems, g_strdup_printf("%s: appears twice", rel));
    }
    /* the rest must be zeros (the second end block, record padding) */
    for (;;) {
        gssize n = r->read(r->ctx, block, sizeof block);
        if (n <= 0)
            break;
        for (gssize i = 0; i < n; i++)
            if (block[i] != 0) {
                g_ptr_array_add(problems, g_strdup("data after the end of the archive"));
                return TRUE;
            }
    }
    return TRUE;
}

static GBytes *
member_bytes(GHashTable *members, const char *rel)
{
    struct seen *s = g_hash_table_lookup(members, rel);
    return s ? s->data : NULL;
}

static bool
sig_ok(GHashTable *members, const char *rel, const char *sig_rel, const vej_signer *key)
{
    GBytes *data = member_bytes(members, rel), *sig = member_bytes(members, sig_rel);
    gsize dlen = 0, slen = 0;
    const void *d = data ? g_bytes_get_data(data, &dlen) : NULL;
    const void *sg = sig ? g_bytes_get_data(sig, &slen) : NULL;
    return d && sg && slen == VEJ_SIGNATURE_SIZE && vej_signer_verify(key, d, dlen, sg);
}

static void
file_result(json_t *files, bool *ok, const char *name, const char *sha, const char *problem)
{
    json_t *e = json_pack("{s:s,s:s?,s:b}", "name", name, "sha256", sha, "ok", problem == NULL);
    if (problem) {
        json_object_set_new(e, "problem", json_string(problem));
        *ok = false;
    }
    json_array_append_new(files, e);
}

/* The key to check with: `given`, else the bundle's public-key.pem. The
 * bundle's key file must be exactly the canonical PEM of that key when it
 * is the one used (a flipped byte in it is reported). */
static vej_signer *
choose_key(GHashTable *members, const vej_signer *given, json_t *out, GPtrArray *problems)
{
    GBytes *pem = member_bytes(members, "public-key.pem");
    gsize len = 0;
    const char *text = pem ? g_bytes_get_data(pem, &len) : NULL;
    g_autoptr(GError) error = NULL;
    vej_signer *own = text ? vej_signer_from_public_pem(text, len, &error) : NULL;
    if (own == NULL)
        g_ptr_array_add(problems, g_strdup("public-key.pem: missing or not an Ed25519 key"));
    else if (strlen(vej_signer_public_pem(own)) != len ||
             memcmp(vej_signer_public_pem(own), text, len) != 0)
        g_ptr_array_add(problems, g_strdup("public-key.pem: not in canonical form (altered)"));
    if (given != NULL) {
        if (own && strcmp(vej_signer_fingerprint(own), vej_signer_fingerprint(given)) != 0)
            g_ptr_array_add(problems, g_strdup("public-key.pem: not the key given with --key"));
        vej_signer_free(own);
        json_object_set_new(out, "key_source", json_string("given"));
        g_autofree char *copy = g_strdup(vej_signer_public_pem(given));
        return vej_signer_from_public_pem(copy, strlen(copy), NULL);
    }
    json_object_set_new(out, "key_source", json_string("bundle"));
    return own;
}

/* SHA256SUMS lines and the manifest's files against the members. */
static void
check_lists(GHashTable *members, json_t *files, bool *ok, GPtrArray *problems)
{
    GBytes *sums = member_bytes(members, "SHA256SUMS");
    GBytes *man = member_bytes(members, "manifest.json");
    gsize slen = 0, mlen = 0;
    const char *s = sums ? g_bytes_get_data(sums, &slen) : NULL;
    const char *m = man ? g_bytes_get_data(man, &mlen) : NULL;
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    g_autoptr(GPtrArray) lines = s ? vej_sha256sums_parse(s, slen, &e1) : NULL;
    g_autoptr(GPtrArray) mfiles = m ? vej_manifest_parse_files(m, mlen, NULL, &e2) : NULL;
    if (lines == NULL)
        g_ptr_array_add(problems, g_strdup_printf("SHA256SUMS: %s", e1 ? e1->message : "missing"));
    if (mfiles == NULL)
        g_ptr_array_add(problems,
                        g_strdup_printf("manifest.json: %s", e2 ? e2->message : "missing"));
    g_autoptr(GHashTable) covered = g_hash_table_new(g_str_hash, g_str_equal);
    static const char *const extras[] = {"SHA256SUMS", "SHA256SUMS.sig", "public-key.pem",
                                         "VERIFY.txt"};
    for (size_t i = 0; i < G_N_ELEMENTS(extras); i++)
        g_hash_table_add(covered, (gpointer)extras[i]);
    for (guint i = 0; lines && i < lines->len; i++) {
        const struct vej_manifest_file *f = lines->pdata[i];
        struct seen *got = g_hash_table_lookup(members, f->name);
        g_autofree char *want = vej_hex(f->sha256, 32);
        g_hash_table_add(covered, f->name);
        file_result(files, ok, f->name, got ? got->sha256 : NULL,
                    got == NULL                      ? "missing from the bundle"
                    : strcmp(got->sha256, want) != 0 ? "SHA-256 differs from SHA256SUMS"
                                                     : NULL);
    }
    for (guint i = 0; mfiles && i < mfiles->len; i++) {
        const struct vej_manifest_file *f = mfiles->pdata[i];
        struct seen *got = g_hash_table_lookup(members, f->name);
        g_autofree char *want = vej_hex(f->sha256, 32);
        if (got == NULL || strcmp(got->sha256, want) != 0 || got->size != (uint64_t)f->size)
            file_result(files, ok, f->name, got ? got->sha256 : NULL,
                        got == NULL ? "missing from the bundle"
                                    : "size or SHA-256 differs from the manifest");
    }
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, members);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(covered, key))
            g_ptr_array_add(problems, g_strdup_printf("%s: in the bundle but in no signed list",
                                                      (const char *)key));
}

json_t *
vej_bundle_verify(vej_bundle_read_fn read_fn, void *ctx, const vej_signer *key, GError **error)
{
    struct reader r = {read_fn, ctx};
    g_autoptr(GHashTable) members =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, seen_free);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *top = NULL;
    if (!read_archive(&r, members, &top, problems, error))
        return NULL;
    json_t *out = json_object();
    json_object_set_new(out, "recording_id", top ? json_string(top) : json_null());
    g_autoptr(vej_signer) k = choose_key(members, key, out, problems);
    json_t *files = json_array();
    bool ok = true;
    bool msig = k && sig_ok(members, "manifest.json", "manifest.sig", k);
    bool ssig = k && sig_ok(members, "SHA256SUMS", "SHA256SUMS.sig", k);
    json_object_set_new(out, "key_fingerprint",
                        k ? json_string(vej_signer_fingerprint(k)) : json_null());
    json_object_set_new(out, "manifest_signature_ok", json_boolean(msig));
    json_object_set_new(out, "sha256sums_signature_ok", json_boolean(ssig));
    if (!msig)
        g_ptr_array_add(problems,
                        g_strdup("manifest.sig: the manifest's signature does not verify"));
    if (!ssig)
        g_ptr_array_add(problems,
                        g_strdup("SHA256SUMS.sig: the signature of SHA256SUMS does not verify"));
    check_lists(members, files, &ok, problems);
    /* VERIFY.txt is not signed: it must be exactly what the gateway writes */
    GBytes *vt = member_bytes(members, "VERIFY.txt");
    g_autofree char *want =
        k && top ? vej_bundle_verify_text(top, vej_signer_fingerprint(k)) : NULL;
    gsize vlen = 0;
    const char *vtext = vt ? g_bytes_get_data(vt, &vlen) : NULL;
    if (want && (!vtext || vlen != strlen(want) || memcmp(vtext, want, vlen) != 0))
        g_ptr_array_add(problems, g_strdup("VERIFY.txt: missing or altered"));
    json_t *plist = json_array();
    for (guint i = 0; i < problems->len; i++)
        json_array_append_new(plist, json_string(problems->pdata[i]));
    json_object_set_new(out, "ok", json_boolean(ok && problems->len == 0));
    json_object_set_new(out, "files", files);
    json_object_set_new(out, "problems", plist);
    return out;
}
