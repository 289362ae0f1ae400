/* rest-recordings.c - the evidential REST routes: the signing key.
 *
 * (Grows into the recordings routes.)
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "recording/audit-heads.h"
#include "recording/sign.h"
#include "signalling/rest.h"

void
vej__rest_keys(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    if (s->signer == NULL)
        return vej__http_respond_error(r, VEJ_RPC_NOT_FOUND, "no signing key");
    json_t *key = json_pack("{s:s,s:s,s:s,s:s}", "algorithm", "Ed25519", "fingerprint",
                            vej_signer_fingerprint(s->signer), "fingerprint_algorithm",
                            "sha256-spki-der", "public_key_pem",
                            vej_signer_public_pem(s->signer));
    vej__http_respond_json(r, 200, key);
}

json_t *
vej__rest_signed_head_json(struct vej_signalling *s)
{
    g_autofree char *path = vej_audit_heads_path(s->config->data_dir);
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) heads = vej_audit_heads_read(path, &error);
    if (heads == NULL) {
        g_warning("signed audit heads: %s", error->message);
        return json_null();
    }
    if (heads->len == 0)
        return json_null();
    const struct vej_signed_head *h = &g_array_index(heads, struct vej_signed_head, heads->len - 1);
    g_autofree char *hash = vej_hex(h->hash, 32);
    g_autofree char *sig = vej_hex(h->signature, VEJ_SIGNATURE_SIZE);
    g_autofree char *at = vej__rfc3339(h->signed_at_us / G_USEC_PER_SEC);
    return json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)h->seq, "hash", hash,
                     "signed_at_us", (json_int_t)h->signed_at_us, "signed_at", at,
                     "key_fingerprint", h->fingerprint, "signature", sig, "signed_bytes",
                     "VEJHEAD1 || seq (be64) || hash || signed_at_us (be64)");
}

bool
vej__rest_recordings_dispatch(struct vej_http_req *r, const char *method, const char *path,
                              json_t *body)
{
    return false;
}
