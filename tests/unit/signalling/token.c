/* Unit tests for signalling/token.c: join tokens (every refusal), base64url,
 * opaque tokens, hashes and ids. */
#include "signalling/token.h"

#include <glib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1700000000)
#define KID "k1"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const char std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";

static struct vej_join_claims
sample_claims(void)
{
    struct vej_join_claims c;

    memset(&c, 0, sizeof c);
    g_strlcpy(c.iss, "vej.example", sizeof c.iss);
    g_strlcpy(c.hid, "hrg_abc123", sizeof c.hid);
    g_strlcpy(c.pid, "ptc_def456", sizeof c.pid);
    g_strlcpy(c.role, "witness", sizeof c.role);
    c.nbf = NOW - 10;
    c.exp = NOW + 3600;
    c.ver = 3;
    return c;
}

static char *
b64(const void *data, size_t n)
{
    char *out = g_malloc(n / 3 * 4 + 5);
    long w = vej_b64url_encode(data, n, out, n / 3 * 4 + 5);

    g_assert_cmpint(w, >=, 0);
    return out;
}

/* HS256 over "h.p" with the test key, base64url. */
static char *
sig_of(const char *signing_input)
{
    uint8_t mac[32];
    unsigned int mac_len = 0;

    g_assert_nonnull(HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)signing_input,
                          strlen(signing_input), mac, &mac_len));
    g_assert_cmpuint(mac_len, ==, 32);
    return b64(mac, sizeof mac);
}

/* A correctly signed token from already-encoded parts. */
static char *
craft_encoded(const char *h64, const char *p64)
{
    g_autofree char *input = g_strdup_printf("%s.%s", h64, p64);
    g_autofree char *sig = sig_of(input);

    return g_strdup_printf("%s.%s", input, sig);
}

/* A correctly signed token from raw header and payload JSON text. */
static char *
craft(const char *header, const char *payload)
{
    g_autofree char *h64 = b64(header, strlen(header));
    g_autofree char *p64 = b64(payload, strlen(payload));

    return craft_encoded(h64, p64);
}

static char *
std_payload(void)
{
    return g_strdup_printf(
        "{\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"hrg_1\",\"pid\":\"ptc_1\","
        "\"role\":\"defendant\",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
        ",\"ver\":1}",
        NOW, NOW + 60);
}

static enum vej_token_status
verify_str(const char *token)
{
    struct vej_join_claims out;

    return vej_join_token_verify(key, sizeof key, KID, token, strlen(token), NOW, &out);
}

static void
test_roundtrip(void)
{
    struct vej_join_claims in = sample_claims(), out;
    char *token = vej_join_token_sign(key, sizeof key, KID, &in);
    const char *dot;
    uint8_t header[128];
    long n;

    g_assert_nonnull(token);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, token, strlen(token), NOW, &out),
                    ==, VEJ_TOKEN_OK);
    g_assert_cmpint(memcmp(&in, &out, sizeof in), ==, 0);
    /* The header is byte for byte the documented one. */
    dot = strchr(token, '.');
    n = vej_b64url_decode(token, (size_t)(dot - token), header, sizeof header);
    g_assert_cmpint(n, ==, (long)strlen(std_header));
    g_assert_cmpmem(header, (size_t)n, std_header, strlen(std_header));
    /* out may be NULL. */
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, token, strlen(token), NOW, NULL),
                    ==, VEJ_TOKEN_OK);
    /* Another key or kid refuses it. */
    g_assert_cmpint(vej_join_token_verify((const uint8_t *)"another key", 11, KID, token,
                                          strlen(token), NOW, &out),
                    ==, VEJ_TOKEN_BAD_SIGNATURE);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, "k2", token, strlen(token), NOW, &out),
                    ==, VEJ_TOKEN_BAD_HEADER);
    g_assert_cmpint(out.nbf, ==, 0); /* out is cleared on failure */
    free(token);
}

static void
test_sign_refusals(void)
{
    struct vej_join_claims c = sample_claims();

    g_autofree char *kid64 = g_strnfill(64, 'k');
    g_autofree char *kid65 = g_strnfill(65, 'k');
    char *t = vej_join_token_sign(key, sizeof key, kid64, &c);

    /* A kid is 1..64 characters of [A-Za-z0-9._-]. */
    g_assert_nonnull(t);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, kid64, t, strlen(t), NOW, NULL), ==,
                    VEJ_TOKEN_OK);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, "k 1", t, strlen(t), NOW, NULL), ==,
                    VEJ_TOKEN_BAD_HEADER);
    free(t);
    g_assert_nonnull(t = vej_join_token_sign(key, sizeof key, "Key-2024.01_a", &c));
    free(t);
    g_assert_null(vej_join_token_sign(key, sizeof key, kid65, &c));
    g_assert_null(vej_join_token_sign(key, sizeof key, "", &c));
    g_assert_null(vej_join_token_sign(key, sizeof key, "k\"1", &c));
    g_assert_null(vej_join_token_sign(key, sizeof key, NULL, &c));
    g_assert_null(vej_join_token_sign(key, 0, KID, &c));
    g_assert_null(vej_join_token_sign(NULL, 0, KID, &c));
    g_assert_null(vej_join_token_sign(key, sizeof key, KID, NULL));
    c.iss[0] = '\xff'; /* not UTF-8 */
    g_assert_null(vej_join_token_sign(key, sizeof key, KID, &c));
    c = sample_claims();
    memset(c.role, 'r', sizeof c.role); /* not NUL-terminated */
    g_assert_null(vej_join_token_sign(key, sizeof key, KID, &c));
}

static void
test_header_refusals(void)
{
    g_autofree char *payload = std_payload();
    static const char *const bad[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"x5u\":\"https://x\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":1}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
        "{\"alg\":\"HS256\",\"typ\":\"jwt\",\"kid\":\"k1\"}",
        "{\"alg\":[\"HS256\"],\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{}",
    };
    static const char *const malformed[] = {
        "[\"HS256\"]",
        "\"HS256\"",
        "not json",
        "",
        "{\"alg\":\"none\",\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"} x",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *t = craft(bad[i], payload);
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_BAD_HEADER);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++) {
        g_autofree char *t = craft(malformed[i], payload);
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_MALFORMED);
    }
    /* alg none with an empty signature, as attackers send it. */
    {
        g_autofree char *h = b64(bad[0], strlen(bad[0]));
        g_autofree char *p = b64(payload, strlen(payload));
        g_autofree char *t = g_strdup_printf("%s.%s.", h, p);
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_BAD_HEADER);
    }
}

/* The header must be byte for byte the one this gateway writes: a correctly
 * signed header with another member order, whitespace or escaping is
 * refused. */
static void
test_header_exact(void)
{
    g_autofree char *payload = std_payload();
    static const char *const same[] = {
        "{\"kid\":\"k1\",\"typ\":\"JWT\",\"alg\":\"HS256\"}",
        "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}",
        "{ \"alg\" : \"HS256\" , \"typ\" : \"JWT\" , \"kid\" : \"k1\" }\n",
        "{\"alg\":\"HS\\u0032\\u00356\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
        g_autofree char *t = craft(same[i], payload);
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_BAD_HEADER);
    }
}

/* A token signed by the library, split into its three parts. */
struct parts {
    char *h, *p, *s;
};

static struct parts
split_signed(int64_t ver)
{
    struct vej_join_claims c = sample_claims();
    char *token, **v;
    struct parts parts;

    c.ver = ver;
    token = vej_join_token_sign(key, sizeof key, KID, &c);
    g_assert_nonnull(token);
    v = g_strsplit(token, ".", -1);
    g_assert_cmpuint(g_strv_length(v), ==, 3);
    parts.h = v[0];
    parts.p = v[1];
    parts.s = v[2];
    g_free(v);
    free(token);
    return parts;
}

static void
parts_free(struct parts *parts)
{
    g_free(parts->h);
    g_free(parts->p);
    g_free(parts->s);
}

static enum vej_token_status
verify_parts(const char *h, const char *p, const char *s)
{
    g_autofree char *t = g_strdup_printf("%s.%s.%s", h, p, s);

    return verify_str(t);
}

/* Sets the unused low bits of a part's last character (43 characters of a
 * 32-byte MAC leave 2 unused bits). */
static void
set_trailing_bits(char *part)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(part);
    const char *at = strchr(alphabet, part[n - 1]);
    int unused = n % 4 == 2 ? 15 : 3;

    g_assert_nonnull(at);
    g_assert_cmpint(n % 4, !=, 0);
    part[n - 1] = alphabet[(at - alphabet) | 1];
    g_assert_true(((at - alphabet) & unused) == 0);
}

static void
test_encoding_refusals(void)
{
    struct parts t = split_signed(1);
    g_autofree char *padded_s = g_strdup_printf("%s=", t.s);
    g_autofree char *padded_h = g_strdup_printf("%s==", t.h);
    g_autofree char *spaced = g_strdup_printf(" %s", t.h);
    g_autofree char *s_trailing = g_strdup(t.s);

    g_assert_cmpint(verify_parts(t.h, t.p, t.s), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_parts(t.h, t.p, padded_s), ==, VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(verify_parts(padded_h, t.p, t.s), ==, VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(verify_parts(spaced, t.p, t.s), ==, VEJ_TOKEN_MALFORMED);
    /* The same MAC bytes with non-zero unused bits: refused although the
     * decoded signature would match. */
    set_trailing_bits(s_trailing);
    g_assert_cmpint(verify_parts(t.h, t.p, s_trailing), ==, VEJ_TOKEN_MALFORMED);
    parts_free(&t);

    /* '+' and '/' (standard base64) in place of '-' and '_'. */
    for (int64_t ver = 0, seen = 0; seen < 4 && ver < 1000; ver++) {
        struct parts u = split_signed(ver);
        char *dash = strpbrk(u.s, "-_");
        if (dash) {
            *dash = *dash == '-' ? '+' : '/';
            g_assert_cmpint(verify_parts(u.h, u.p, u.s), ==, VEJ_TOKEN_MALFORMED);
            seen++;
        }
        parts_free(&u);
    }
}

static void
test_signature_refusals(void)
{
    struct parts t = split_signed(1);
    g_autofree char *flipped = g_strdup(t.s);
    g_autofree char *short_sig = g_strndup(t.s, 40);
    g_autofree char *long_sig = g_strdup_printf("%sAAAA", t.s);
    g_autofree char *payload_flip = g_strdup(t.p);
    g_autofree char *two = g_strdup_printf("%s.%s", t.h, t.p);
    g_autofree char *four = g_strdup_printf("%s.%s.%s.%s", t.h, t.p, t.s, t.s);
    g_autofree char *empty_sig = g_strdup_printf("%s.%s.", t.h, t.p);
    g_autofree char *full = g_strdup_printf("%s.%s.%s", t.h, t.p, t.s);

    /* Every character of the MAC matters; the last keeps its unused bits
     * zero (index ^ 4 changes a used bit only). */
    g_assert_cmpuint(strlen(flipped), ==, 43);
    for (size_t i = 0; i < 43; i++) {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        char saved = flipped[i];
        flipped[i] = alphabet[(strchr(alphabet, saved) - alphabet) ^ 4];
        g_assert_cmpint(verify_parts(t.h, t.p, flipped), ==, VEJ_TOKEN_BAD_SIGNATURE);
        flipped[i] = saved;
    }
    g_assert_cmpint(verify_parts(t.h, t.p, short_sig), ==, VEJ_TOKEN_BAD_SIGNATURE);
    g_assert_cmpint(verify_parts(t.h, t.p, long_sig), ==, VEJ_TOKEN_BAD_SIGNATURE);
    payload_flip[5] = payload_flip[5] == 'A' ? 'B' : 'A';
    g_assert_cmpint(verify_parts(t.h, payload_flip, t.s), ==, VEJ_TOKEN_BAD_SIGNATURE);
    g_assert_cmpint(verify_str(two), ==, VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(verify_str(four), ==, VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(verify_str(empty_sig), ==, VEJ_TOKEN_BAD_SIGNATURE);
    g_assert_cmpint(verify_str(".."), ==, VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(verify_str("a.b.c"), ==, VEJ_TOKEN_MALFORMED);
    /* Truncated anywhere: never accepted. */
    for (size_t n = 0; n < strlen(full); n++) {
        struct vej_join_claims out;
        g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, full, n, NOW, &out), !=,
                        VEJ_TOKEN_OK);
    }
    /* A NUL inside the given length is not part of any alphabet. */
    full[5] = '\0';
    {
        struct vej_join_claims out;
        g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, full,
                                              strlen(t.h) + 1 + strlen(t.p) + 1 + strlen(t.s), NOW,
                                              &out),
                        ==, VEJ_TOKEN_MALFORMED);
    }
    parts_free(&t);
}

static void
test_length_limits(void)
{
    struct vej_join_claims out;
    g_autofree char *huge = g_strnfill(VEJ_TOKEN_MAX_LEN + 1, 'A');
    size_t best_ok = 0, best_bad = 0;

    g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, "", 0, NOW, &out), ==,
                    VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, NULL, 0, NOW, &out), ==,
                    VEJ_TOKEN_MALFORMED);
    g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, huge, strlen(huge), NOW, &out), ==,
                    VEJ_TOKEN_MALFORMED);
    /* Valid tokens padded by an unknown claim up to and past the cap. */
    for (size_t pad = 2700; pad < 3100; pad++) {
        g_autofree char *filler = g_strnfill(pad, 'x');
        g_autofree char *payload = g_strdup_printf(
            "{\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
            "\"nbf\":0,\"exp\":%" G_GINT64_FORMAT ",\"ver\":1,\"pad\":\"%s\"}",
            NOW, filler);
        g_autofree char *t = craft(std_header, payload);
        size_t len = strlen(t);
        enum vej_token_status st = verify_str(t);
        if (len <= VEJ_TOKEN_MAX_LEN) {
            g_assert_cmpint(st, ==, VEJ_TOKEN_OK);
            best_ok = MAX(best_ok, len);
        } else {
            g_assert_cmpint(st, ==, VEJ_TOKEN_MALFORMED);
            best_bad = best_bad ? MIN(best_bad, len) : len;
        }
    }
    /* 4097 would need a 4001-character part, which base64url cannot be. */
    g_assert_cmpuint(best_ok, ==, VEJ_TOKEN_MAX_LEN);
    g_assert_cmpuint(best_bad, ==, VEJ_TOKEN_MAX_LEN + 2);
}

static void
test_claim_refusals(void)
{
    static const char *const bad[] = {
        /* audience */
        "\"aud\":\"vej-other\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":[\"vej-join\"],\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join \",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        /* missing claims */
        "\"aud\":\"vej-join\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000",
        /* mistyped claims */
        "\"aud\":\"vej-join\",\"iss\":null,\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":1,\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":[\"p\"],\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":{},"
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"name\":true,\"nbf\":0,\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":\"0\",\"exp\":1800000000,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000.0,\"ver\":1",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":1.5",
        "\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\",\"role\":\"r\","
        "\"nbf\":0,\"exp\":1800000000,\"ver\":null",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *payload = g_strdup_printf("{%s}", bad[i]);
        g_autofree char *t = craft(std_header, payload);
        if (verify_str(t) != VEJ_TOKEN_BAD_CLAIMS)
            g_error("claims %s: got %d", payload, verify_str(t));
    }
    /* Not a JSON object, duplicates: malformed (after a valid signature). */
    {
        g_autofree char *t1 = craft(std_header, "[1]");
        g_autofree char *t2 = craft(std_header, "{\"aud\":\"vej-join\",\"aud\":\"vej-join\"}");
        g_autofree char *t3 = craft(std_header, "{\"aud\":\"vej-join\"");
        g_assert_cmpint(verify_str(t1), ==, VEJ_TOKEN_MALFORMED);
        g_assert_cmpint(verify_str(t2), ==, VEJ_TOKEN_MALFORMED);
        g_assert_cmpint(verify_str(t3), ==, VEJ_TOKEN_MALFORMED);
    }
    /* Unknown claims are ignored (RFC 7519 section 4). */
    {
        g_autofree char *t =
            craft(std_header, "{\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\","
                              "\"role\":\"r\",\"nbf\":0,\"exp\":1800000000,"
                              "\"ver\":1,\"jti\":\"x\",\"iat\":5}");
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_OK);
    }
    /* Join tokens carry no display name: one that does is refused. */
    {
        g_autofree char *t =
            craft(std_header, "{\"aud\":\"vej-join\",\"iss\":\"i\",\"hid\":\"h\",\"pid\":\"p\","
                              "\"role\":\"r\",\"name\":\"John Smith\",\"nbf\":0,"
                              "\"exp\":1800000000,\"ver\":1}");
        g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_BAD_CLAIMS);
    }
}

/* A claim string of `len` bytes in field `name`: fits iff len < cap. */
static void
check_claim_fit(const char *name, size_t cap)
{
    for (size_t len = cap - 1; len <= cap; len++) {
        g_autofree char *v = g_strnfill(len, 'v');
        json_t *obj = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", "vej-join", "iss", "i",
                                "hid", "h", "pid", "p", "role", "r", "nbf", (json_int_t)0, "exp",
                                (json_int_t)NOW, "ver", (json_int_t)1);
        char *payload;
        g_autofree char *t = NULL;
        struct vej_join_claims out;

        json_object_set_new(obj, name, json_string(v));
        payload = json_dumps(obj, JSON_COMPACT);
        t = craft(std_header, payload);
        if (len < cap) {
            g_assert_cmpint(vej_join_token_verify(key, sizeof key, KID, t, strlen(t), NOW, &out),
                            ==, VEJ_TOKEN_OK);
        } else {
            g_assert_cmpint(verify_str(t), ==, VEJ_TOKEN_BAD_CLAIMS);
        }
        free(payload);
        json_decref(obj);
    }
}

static void
test_claim_sizes(void)
{
    struct vej_join_claims c;

    check_claim_fit("iss", sizeof c.iss);
    check_claim_fit("hid", sizeof c.hid);
    check_claim_fit("pid", sizeof c.pid);
    check_claim_fit("role", sizeof c.role);
}

static enum vej_token_status
verify_times(int64_t nbf, int64_t exp, int64_t now)
{
    struct vej_join_claims c = sample_claims(), out;
    char *t;
    enum vej_token_status st;

    c.nbf = nbf;
    c.exp = exp;
    t = vej_join_token_sign(key, sizeof key, KID, &c);
    g_assert_nonnull(t);
    st = vej_join_token_verify(key, sizeof key, KID, t, strlen(t), now, &out);
    free(t);
    return st;
}

static void
test_times(void)
{
    g_assert_cmpint(verify_times(NOW + 61, NOW + 3600, NOW), ==, VEJ_TOKEN_NOT_YET_VALID);
    g_assert_cmpint(verify_times(NOW + 60, NOW + 3600, NOW), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_times(NOW - 3600, NOW - 61, NOW), ==, VEJ_TOKEN_EXPIRED);
    g_assert_cmpint(verify_times(NOW - 3600, NOW - 60, NOW), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_times(NOW, NOW, NOW), ==, VEJ_TOKEN_OK);
    /* Extremes do not overflow (UBSan watches). */
    g_assert_cmpint(verify_times(INT64_MIN, INT64_MAX, NOW), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_times(INT64_MIN, INT64_MAX, INT64_MIN), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_times(INT64_MIN, INT64_MAX, INT64_MAX), ==, VEJ_TOKEN_OK);
    g_assert_cmpint(verify_times(INT64_MAX, INT64_MAX, NOW), ==, VEJ_TOKEN_NOT_YET_VALID);
    g_assert_cmpint(verify_times(INT64_MIN, INT64_MIN, NOW), ==, VEJ_TOKEN_EXPIRED);
    g_assert_cmpint(verify_times(INT64_MIN + 60, INT64_MIN + 60, INT64_MIN), ==, VEJ_TOKEN_OK);
}

static void
test_status_str(void)
{
    for (int s = VEJ_TOKEN_EXPIRED; s <= VEJ_TOKEN_OK; s++)
        g_assert_nonnull(vej_token_status_str((enum vej_token_status)s));
    g_assert_cmpstr(vej_token_status_str(VEJ_TOKEN_EXPIRED), ==, "token expired");
    g_assert_nonnull(vej_token_status_str((enum vej_token_status)42));
}

static void
test_b64url_vectors(void)
{
    /* RFC 4648 section 10, unpadded. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    static const char *const refused[] = {
        "Zg==", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9", "Zg=", "=",
    };
    static const uint8_t high[] = {0xfb, 0xff, 0xbf};
    char out[16];
    uint8_t bytes[16];

    for (size_t i = 0; i < G_N_ELEMENTS(plain); i++) {
        size_t n = strlen(plain[i]);
        g_assert_cmpint(vej_b64url_encode((const uint8_t *)plain[i], n, out, sizeof out), ==,
                        (long)strlen(coded[i]));
        g_assert_cmpstr(out, ==, coded[i]);
        g_assert_cmpint(vej_b64url_decode(coded[i], strlen(coded[i]), bytes, sizeof bytes), ==,
                        (long)n);
        g_assert_cmpmem(bytes, n, plain[i], n);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++)
        g_assert_cmpint(vej_b64url_decode(refused[i], strlen(refused[i]), bytes, sizeof bytes), ==,
                        -1);
    /* The URL-safe alphabet. */
    g_assert_cmpint(vej_b64url_encode(high, 3, out, sizeof out), ==, 4);
    g_assert_cmpstr(out, ==, "-_-_");
    /* Capacities are exact. */
    g_assert_cmpint(vej_b64url_encode((const uint8_t *)"foo", 3, out, 4), ==, -1);
    g_assert_cmpint(vej_b64url_encode((const uint8_t *)"foo", 3, out, 5), ==, 4);
    g_assert_cmpint(vej_b64url_encode((const uint8_t *)"f", 1, out, 3), ==, 2);
    g_assert_cmpint(vej_b64url_decode("Zm9vYmE", 7, bytes, 4), ==, -1);
    g_assert_cmpint(vej_b64url_decode("Zm9vYmE", 7, bytes, 5), ==, 5);
    g_assert_cmpint(vej_b64url_decode("", 0, bytes, 0), ==, 0);
}

/* Every string of 2 and 3 characters from the alphabet plus a few others:
 * decode succeeds exactly when re-encoding gives the same text. */
static void
test_b64url_canonical_exhaustive(void)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. ";
    const size_t nc = sizeof chars - 1;
    size_t accepted = 0;

    for (size_t len = 2; len <= 3; len++) {
        size_t total = len == 2 ? nc * nc : nc * nc * nc;
        for (size_t k = 0; k < total; k++) {
            char text[4], again[8];
            uint8_t bytes[4];
            size_t r = k;
            long n;
            for (size_t j = 0; j < len; j++, r /= nc)
                text[j] = chars[r % nc];
            n = vej_b64url_decode(text, len, bytes, sizeof bytes);
            if (n < 0)
                continue;
            accepted++;
            g_assert_cmpint(n, ==, (long)len - 1);
            g_assert_cmpint(vej_b64url_encode(bytes, (size_t)n, again, sizeof again), ==,
                            (long)len);
            g_assert_cmpmem(again, len, text, len);
        }
    }
    /* Exactly one text per byte string: 256 + 65536. */
    g_assert_cmpuint(accepted, ==, 256 + 65536);
}

static void
test_b64url_random_roundtrip(void)
{
    GRand *rand = g_rand_new_with_seed(42);

    for (int i = 0; i < 2000; i++) {
        uint8_t in[64], back[64];
        char text[100];
        size_t n = (size_t)g_rand_int_range(rand, 0, 64);
        long w, r;
        for (size_t j = 0; j < n; j++)
            in[j] = (uint8_t)g_rand_int(rand);
        w = vej_b64url_encode(in, n, text, sizeof text);
        g_assert_cmpint(w, ==, (long)(n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0)));
        r = vej_b64url_decode(text, (size_t)w, back, sizeof back);
        g_assert_cmpint(r, ==, (long)n);
        g_assert_cmpmem(back, n, in, n);
    }
    g_rand_free(rand);
}

static void
test_opaque(void)
{
    char a[44], b[44];
    uint8_t raw[40];

    g_assert_true(vej_opaque_token_new(a));
    g_assert_true(vej_opaque_token_new(b));
    g_assert_cmpuint(strlen(a), ==, 43);
    g_assert_cmpstr(a, !=, b);
    g_assert_cmpint(vej_b64url_decode(a, 43, raw, sizeof raw), ==, 32);
    g_assert_cmpuint(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     ==, 43);
}

static void
test_hash(void)
{
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    static const uint8_t empty[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    uint8_t out[32];

    vej_token_hash("abc", 3, out);
    g_assert_cmpmem(out, 32, abc, 32);
    vej_token_hash("abcdef", 3, out); /* only len bytes count */
    g_assert_cmpmem(out, 32, abc, 32);
    vej_token_hash("", 0, out);
    g_assert_cmpmem(out, 32, empty, 32);
}

static void
test_id_valid(void)
{
    g_autofree char *max = g_strdup_printf("ptc_%s", "0123456789abcdef0123456789abcdef"
                                                     "0123456789abcdef0123456789abcdef");
    g_autofree char *over = g_strdup_printf("%s7", max);

    g_assert_true(vej_id_valid("hrg_abc123", "hrg_"));
    g_assert_true(vej_id_valid("hrg_0", "hrg_"));
    g_assert_true(vej_id_valid(max, "ptc_"));
    g_assert_false(vej_id_valid(over, "ptc_"));
    g_assert_false(vej_id_valid("hrg_", "hrg_"));
    g_assert_false(vej_id_valid("hrg_ABC", "hrg_"));
    g_assert_false(vej_id_valid("hrg_a-b", "hrg_"));
    g_assert_false(vej_id_valid("hrg_a_b", "hrg_"));
    g_assert_false(vej_id_valid("hrg_a/../b", "hrg_"));
    g_assert_false(vej_id_valid("ptc_abc", "hrg_"));
    g_assert_false(vej_id_valid("hrg", "hrg_"));
    g_assert_false(vej_id_valid("", "hrg_"));
    g_assert_false(vej_id_valid(NULL, "hrg_"));
    g_assert_false(vej_id_valid("hrg_a", NULL));
    g_assert_false(vej_id_valid("hrg_caf\xc3\xa9", "hrg_"));
}

/* RFC 5869 A.1 and A.3. */
static void
test_hkdf(void)
{
    uint8_t ikm[22], salt[13], info[10], out[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof info; i++)
        info[i] = (uint8_t)(0xf0 + i);
    g_assert_true(
        vej_hkdf_sha256(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, out, sizeof out));
    GString *h = g_string_new(NULL);
    for (size_t i = 0; i < sizeof out; i++)
        g_string_append_printf(h, "%02x", out[i]);
    g_assert_cmpstr(h->str, ==,
                    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8"
                    "87185865");
    g_string_truncate(h, 0);
    g_assert_true(vej_hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, out, sizeof out));
    for (size_t i = 0; i < sizeof out; i++)
        g_string_append_printf(h, "%02x", out[i]);
    g_assert_cmpstr(h->str, ==,
                    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4"
                    "b61a96c8");
    g_string_free(h, TRUE);
    g_assert_false(vej_hkdf_sha256(NULL, 0, ikm, 0, NULL, 0, out, sizeof out));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/signalling/token/roundtrip", test_roundtrip);
    g_test_add_func("/signalling/token/sign-refusals", test_sign_refusals);
    g_test_add_func("/signalling/token/header-refusals", test_header_refusals);
    g_test_add_func("/signalling/token/header-structural", test_header_exact);
    g_test_add_func("/signalling/token/encoding-refusals", test_encoding_refusals);
    g_test_add_func("/signalling/token/signature-refusals", test_signature_refusals);
    g_test_add_func("/signalling/token/length-limits", test_length_limits);
    g_test_add_func("/signalling/token/claim-refusals", test_claim_refusals);
    g_test_add_func("/signalling/token/claim-sizes", test_claim_sizes);
    g_test_add_func("/signalling/token/times", test_times);
    g_test_add_func("/signalling/token/status-str", test_status_str);
    g_test_add_func("/signalling/token/b64url-vectors", test_b64url_vectors);
    g_test_add_func("/signalling/token/b64url-canonical-exhaustive",
                    test_b64url_canonical_exhaustive);
    g_test_add_func("/signalling/token/b64url-random-roundtrip", test_b64url_random_roundtrip);
    g_test_add_func("/signalling/token/opaque", test_opaque);
    g_test_add_func("/signalling/token/hash", test_hash);
    g_test_add_func("/signalling/token/id-valid", test_id_valid);
    g_test_add_func("/signalling/token/hkdf", test_hkdf);
    return g_test_run();
}
