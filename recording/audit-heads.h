/* audit-heads.h - signed heads of the audit chain (docs/architecture.md,
 * "Signed audit heads").
 *
 * Every [store] audit_head_interval_s (when the chain grew) and at shutdown
 * the audit chain's head (seq, hash) is signed with the evidence key and
 * appended as one line to DATA_DIR/audit-heads.log, which lives outside the
 * database. A head that no longer matches the entry at its seq shows a
 * rewritten log; a head whose seq is beyond the last entry shows a
 * truncated one. Signed bytes (58):
 *
 *   "VEJHEAD1" (8 ASCII bytes) || seq (8, big-endian) || hash (32) ||
 *   signed_at_us (8, big-endian, Unix microseconds UTC)
 *
 * Line: "SEQ HASH_HEX SIGNED_AT_US FINGERPRINT SIGNATURE_HEX\n".
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "recording/sign.h"

G_BEGIN_DECLS

struct vej_signed_head {
    int64_t seq;
    uint8_t hash[32];
    int64_t signed_at_us;
    char fingerprint[VEJ_FINGERPRINT_HEX];
    uint8_t signature[VEJ_SIGNATURE_SIZE];
};

/* DATA_DIR/audit-heads.log, (transfer full). */
char *vej_audit_heads_path(const char *data_dir);

/* The 58 signed bytes of a head. */
void vej_audit_head_encode(const struct vej_signed_head *h, uint8_t out[58]);

/* Signs the head of the audit log at db_path and appends it to heads_path
 * (created 0600), fsynced. Unless `force`, nothing is written when the last
 * signed head already has this seq. The head written (or the last one) is
 * copied to *out when not NULL. */
gboolean vej_audit_heads_sign(const char *db_path, const char *heads_path, const vej_signer *signer,
                              gboolean force, struct vej_signed_head *out, GError **error);

/* Parses one line (without its '\n'); FALSE if malformed. */
gboolean vej_audit_head_parse_line(const char *line, size_t len, struct vej_signed_head *out);

/* Every head of the file in order; an absent file is an empty array.
 * Array of struct vej_signed_head. A malformed line is an error. */
GArray *vej_audit_heads_read(const char *heads_path, GError **error);

/* The last head of the file, read from its tail (the file grows without
 * end): *found is FALSE for an absent or empty file. A malformed last line
 * is an error. */
gboolean vej_audit_heads_last(const char *heads_path, struct vej_signed_head *out, gboolean *found,
                              GError **error);

/* Checks every signed head against `verifier` (whose fingerprint must be the
 * head's) and the audit log: its signature, that seqs never decrease, and
 * that the entry at seq exists with that hash. FALSE with a message naming
 * the first bad head (VEJ_EVIDENCE_ERROR_INTEGRITY) otherwise. *n_heads
 * receives the number checked, *last the last head (when any). */
gboolean vej_audit_heads_check(const char *db_path, const char *heads_path,
                               const vej_signer *verifier, int64_t *n_heads,
                               struct vej_signed_head *last, GError **error);

G_END_DECLS
