/* rest-recordings.c - the evidential REST routes: the signing key.
 *
 * (Grows into the recordings routes.)
 */
#include "signalling/signalling-priv.h"

#include <string.h>

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

bool
vej__rest_recordings_dispatch(struct vej_http_req *r, const char *method, const char *path,
                              json_t *body)
{
    return false;
}
