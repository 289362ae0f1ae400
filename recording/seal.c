/* seal.c - sealing a finished recording and recording it in the store.
 *
 * Invariants: the recording id names its folder (checked by the store's id
 * rule and by vej_manifest_seal against capture.json); the store row is
 * only updated after the manifest and its signatures are in place, so a
 * row with a revision always has that manifest on disk.
 */
#include "recording/seal.h"

#include <jansson.h>

#include "recording/manifest.h"
#include "store/audit.h"

static int64_t
parse_time(json_t *v)
{
    const char *text = json_string_value(v);
    g_autoptr(GDateTime) t = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
    return t ? g_date_time_to_unix(t) : 0;
}

/* The row of the recording, registered from capture.json when unknown. */
static struct vej_recording_row *
find_or_register(vej_store *store, const char *rec_id, json_t *capture, GError **error)
{
    g_autoptr(GError) local = NULL;
    struct vej_recording_row *row = vej_store_recording_get(store, rec_id, &local);
    if (row || !g_error_matches(local, VEJ_STORE_ERROR, VEJ_STORE_ERROR_NOT_FOUND)) {
        if (local)
            g_propagate_error(error, g_steal_pointer(&local));
        return row;
    }
    json_t *hearing = json_object_get(capture, "hearing");
    const char *hid = json_string_value(json_object_get(hearing, "id"));
    if (hid == NULL) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID,
                    "capture.json names no hearing");
        return NULL;
    }
    g_autoptr(vej_hearing_row) h = vej_store_hearing_get(store, hid, error);
    if (h == NULL)
        return NULL;
    return vej_store_recording_create(store, rec_id, h->id, h->courtroom_id, h->case_reference,
                                      parse_time(json_object_get(capture, "started_at")), error);
}

int
vej_recording_seal(vej_store *store, const char *db_path, const char *data_dir,
                   const vej_signer *signer, const char *recording_id, char **manifest_sha256,
                   GError **error)
{
    g_autofree char *dir = g_build_filename(data_dir, "recordings", recording_id, NULL);
    g_autofree char *cap_path = g_build_filename(dir, "capture.json", NULL);
    json_error_t jerr;
    json_t *capture = json_load_file(cap_path, JSON_REJECT_DUPLICATES, &jerr);
    if (capture == NULL) {
        g_set_error(error, VEJ_EVIDENCE_ERROR, VEJ_EVIDENCE_ERROR_INVALID, "%s: %s", cap_path,
                    jerr.text);
        return 0;
    }
    int rev = 0;
    struct vej_manifest_head head;
    g_autoptr(vej_recording_row) row = find_or_register(store, recording_id, capture, error);
    if (row != NULL && vej_audit_head(db_path, &head.seq, head.hash, error))
        rev = vej_manifest_seal(dir, signer, &head, error);
    if (rev > 0) {
        g_autofree char *arc = g_build_filename(dir, "archive", "archive.json", NULL);
        struct vej_recording_update u = VEJ_RECORDING_UPDATE_INIT;
        u.manifest_revision = rev;
        u.closed_at = parse_time(json_object_get(capture, "closed_at"));
        u.state = g_file_test(arc, G_FILE_TEST_EXISTS) ? "archived" : NULL;
        if (!vej_store_recording_update(store, row->id, &u, error))
            rev = 0;
    }
    json_decref(capture);
    if (rev > 0 && manifest_sha256 != NULL) {
        g_autofree char *man = g_build_filename(dir, "manifest.json", NULL);
        uint8_t sha[32];
        *manifest_sha256 = vej_file_sha256(man, sha, NULL, NULL) ? vej_hex(sha, 32) : g_strdup("");
    }
    return rev;
}
