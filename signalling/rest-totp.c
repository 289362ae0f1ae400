/* rest-totp.c - the second factor: enrolment, confirmation, admin reset
 * (docs/api.md "Second factor").
 *
 * Invariants:
 * - A secret counts only once confirmed with a code from the app; until
 *   then logins ignore it. Enrolling again replaces an unconfirmed secret;
 *   a confirmed one is replaced only after an admin's reset.
 * - Recovery codes (10, 80 random bits each) are shown once, at
 *   confirmation, and stored as SHA-256 of their normalised text; each
 *   works once.
 * - The secret never appears in a log or an audit entry, and the store
 *   holds it sealed (auth.c's vej__totp_get / vej__totp_set, totp.h).
 */
#include "signalling/signalling-priv.h"

#include <openssl/rand.h>
#include <string.h>

#include "signalling/rest.h"
#include "signalling/token.h"
#include "signalling/totp.h"

#define RECOVERY_CODES 10

/* Upper case, without '-' and spaces: the text whose hash is stored. */
char *
vej__recovery_code_normalise(const char *code)
{
    GString *out = g_string_new(NULL);
    for (const char *p = code; *p; p++)
        if (*p != '-' && *p != ' ')
            g_string_append_c(out, g_ascii_toupper(*p));
    return g_string_free(out, FALSE);
}

static char *
uri_escape(const char *text)
{
    return g_uri_escape_string(text, NULL, FALSE);
}

void
vej__rest_totp_enrol(struct vej_http_req *r, struct vej_user *unused, char *ids[], json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    /* Allowed while the account must still enrol (that is what it is for). */
    g_autoptr(vej_user) user = vej__http_auth_staff(r, 0, true);
    if (!user)
        return;
    if (user->must_change_password)
        return vej__http_respond_error(r, VEJ_RPC_FORBIDDEN,
                                       "the password must be changed first "
                                       "(POST /api/v1/account/password)");
    if (vej__totp_enabled(s, user->id))
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       "a second factor is already enrolled (an admin can reset "
                                       "it)");
    uint8_t key[VEJ_TOTP_SECRET_BYTES];
    char secret[64];
    if (RAND_bytes(key, sizeof key) != 1 ||
        vej_base32_encode(key, sizeof key, secret, sizeof secret) < 0) {
        OPENSSL_cleanse(key, sizeof key);
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "no randomness");
    }
    OPENSSL_cleanse(key, sizeof key);
    g_autoptr(GError) error = NULL;
    if (!vej__totp_set(s, user->id, secret, false, &error)) {
        OPENSSL_cleanse(secret, sizeof secret);
        return vej__rest_store_error(r, error, "user");
    }
    g_autofree char *issuer = uri_escape(s->config->token_issuer);
    g_autofree char *name = uri_escape(user->username);
    g_autofree char *uri = g_strdup_printf(
        "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d", issuer, name,
        secret, issuer, VEJ_TOTP_DIGITS, VEJ_TOTP_PERIOD_S);
    vej__audit(s, user->id, "totp.enrol", user->id, NULL);
    vej__http_respond_json(r, 200, json_pack("{s:s,s:s}", "secret", secret, "otpauth_uri", uri));
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(uri, strlen(uri));
}

/* Fresh recovery codes: stored hashed; their text into codes (transfer full). */
static bool
new_recovery_codes(struct vej_signalling *s, const char *user_id, json_t **codes)
{
    uint8_t hashes[RECOVERY_CODES][32];
    json_t *list = json_array();
    for (int i = 0; i < RECOVERY_CODES; i++) {
        uint8_t raw[10];
        char text[20];
        if (RAND_bytes(raw, sizeof raw) != 1 ||
            vej_base32_encode(raw, sizeof raw, text, 17) != 16) {
            json_decref(list);
            return false;
        }
        g_autofree char *shown =
            g_strdup_printf("%.4s-%.4s-%.4s-%.4s", text, text + 4, text + 8, text + 12);
        vej_token_hash(text, 16, hashes[i]);
        json_array_append_new(list, json_string(shown));
        OPENSSL_cleanse(text, sizeof text);
        OPENSSL_cleanse(raw, sizeof raw);
    }
    g_autoptr(GError) error = NULL;
    if (!vej_store_recovery_codes_set(s->store, user_id, (const uint8_t(*)[32])hashes,
                                      RECOVERY_CODES, &error)) {
        json_decref(list);
        return false;
    }
    *codes = list;
    return true;
}

void
vej__rest_totp_confirm(struct vej_http_req *r, struct vej_user *unused, char *ids[], json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    g_autoptr(vej_user) user = vej__http_auth_staff(r, 0, true);
    if (!user)
        return;
    uint32_t given = 0;
    if (!vej_totp_parse(json_string_value(json_object_get(body, "code")), &given))
        return vej__rest_field_error(r, "code", "must be the 6 digits the app shows");
    struct vej_totp_state st;
    g_autoptr(GError) error = NULL;
    if (!vej__totp_get(s, user->id, &st, &error))
        return vej__rest_store_error(r, error, "user");
    if (!st.secret || st.enabled) {
        g_free(st.secret);
        return vej__http_respond_error(r, VEJ_RPC_CONFLICT,
                                       st.secret ? "already confirmed"
                                                 : "no enrolment (POST /api/v1/account/totp)");
    }
    uint8_t key[64];
    long n = vej_base32_decode(st.secret, key, sizeof key);
    int64_t step =
        n > 0 ? vej_totp_match(key, (size_t)n, g_get_real_time() / G_USEC_PER_SEC, given) : -1;
    OPENSSL_cleanse(key, sizeof key);
    bool ok = step >= 0 && vej__totp_set(s, user->id, st.secret, true, &error) &&
              vej_store_user_totp_use_step(s->store, user->id, step, &error);
    OPENSSL_cleanse(st.secret, strlen(st.secret));
    g_free(st.secret);
    if (!ok)
        return vej__http_respond_error(r, VEJ_RPC_UNAUTHENTICATED, "wrong code");
    json_t *codes = NULL;
    if (!new_recovery_codes(s, user->id, &codes))
        return vej__http_respond_error(r, VEJ_RPC_INTERNAL, "cannot make recovery codes");
    vej__audit(s, user->id, "totp.confirm", user->id, NULL);
    vej__http_respond_json(r, 200,
                           json_pack("{s:b,s:o}", "totp_enabled", 1, "recovery_codes", codes));
}

void
vej__rest_totp_reset(struct vej_http_req *r, struct vej_user *user, char *ids[], json_t *body)
{
    struct vej_signalling *s = vej__http_server(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(vej_user) target = vej_store_user_get(s->store, ids[0], &error);
    if (!target)
        return vej__rest_store_error(r, error, "user");
    if (!vej__totp_set(s, target->id, NULL, false, &error) ||
        !vej_store_staff_session_revoke_user(s->store, target->id, &error))
        return vej__rest_store_error(r, error, "user");
    vej__end_staff_sessions(s, target->id, NULL, "totp_reset");
    vej__audit(s, user->id, "user.totp_reset", target->id, NULL);
    vej__http_respond_json(r, 200, json_pack("{s:s,s:b}", "id", target->id, "totp_enabled", 0));
}
