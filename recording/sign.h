/* sign.h - the gateway's Ed25519 signing key (manifests, audit heads).
 *
 * One key signs every manifest, SHA256SUMS file and audit head. Its private
 * half lives in a PKCS#8 PEM file, mode 0600 (DATA_DIR/secrets/signing-key.pem
 * unless configured), generated on first use; it is never logged and never
 * leaves the process. The public half is published as a SubjectPublicKeyInfo
 * PEM; its fingerprint is the lowercase hex SHA-256 of the DER
 * SubjectPublicKeyInfo, i.e. what `openssl pkey -pubin -in public-key.pem
 * -outform DER | sha256sum` prints. Signatures are raw 64-byte Ed25519
 * (RFC 8032, "pure", no pre-hash), over exactly the bytes given.
 *
 * A verifier made from a public PEM (vej_signer_from_public_pem) can only
 * verify. A signer may be used from any thread (OpenSSL's EVP_PKEY is
 * read-only after loading; each call makes its own EVP_MD_CTX).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The error domain of the evidence chain (sign, manifest, bundle, heads);
 * I/O errors use G_FILE_ERROR. */
#define VEJ_EVIDENCE_ERROR (vej_evidence_error_quark())
GQuark vej_evidence_error_quark(void);
enum vej_evidence_error_code {
    VEJ_EVIDENCE_ERROR_FAILED,    /* a library call failed */
    VEJ_EVIDENCE_ERROR_INVALID,   /* malformed input (key, JSON, tar, name) */
    VEJ_EVIDENCE_ERROR_INTEGRITY, /* a hash or signature does not match */
    VEJ_EVIDENCE_ERROR_UNSAFE,    /* a key file others may read, a symlink */
};

#define VEJ_SIGNATURE_SIZE 64
#define VEJ_FINGERPRINT_HEX 65 /* 64 hex digits and a NUL */

typedef struct vej_signer vej_signer;

/* DATA_DIR/secrets/signing-key.pem, (transfer full). */
char *vej_signer_default_path(const char *data_dir);

/* Loads the private key at `path`; when the file does not exist and
 * `create`, generates a new Ed25519 key into it (mode 0600, parent created
 * 0700, written to a temporary file and renamed). A key file readable by
 * group or others, or holding another key type, is refused. */
vej_signer *vej_signer_load(const char *path, gboolean create, GError **error);

/* A verify-only key from a PEM SubjectPublicKeyInfo (Ed25519 only). */
vej_signer *vej_signer_from_public_pem(const char *pem, size_t len, GError **error);

void vej_signer_free(vej_signer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vej_signer, vej_signer_free)

/* Whether this signer holds the private key. */
bool vej_signer_can_sign(const vej_signer *s);

/* The public key as PEM ("-----BEGIN PUBLIC KEY-----..."), (transfer none). */
const char *vej_signer_public_pem(const vej_signer *s);

/* The fingerprint, 64 lowercase hex digits, (transfer none). */
const char *vej_signer_fingerprint(const vej_signer *s);

/* Signs `len` bytes into sig. FALSE (and *error) if the key cannot sign. */
gboolean vej_signer_sign(const vej_signer *s, const void *data, size_t len,
                         uint8_t sig[VEJ_SIGNATURE_SIZE], GError **error);

/* TRUE when sig is a valid signature of the bytes by this key. */
bool vej_signer_verify(const vej_signer *s, const void *data, size_t len,
                       const uint8_t sig[VEJ_SIGNATURE_SIZE]);

/* Lowercase hex of `len` bytes, (transfer full). */
char *vej_hex(const uint8_t *data, size_t len);

G_END_DECLS
