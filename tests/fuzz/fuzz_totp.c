/* fuzz_totp.c - base32 and the TOTP code parser (signalling/totp.c).
 *
 * The input, NUL-terminated, is decoded as base32 and parsed as a code.
 * Invariants: what decodes re-encodes to the same text (upper-cased), so a
 * secret has one text; a parsed code is below 10^6 and came from exactly
 * six digits; matching never reports a step outside the window; no input
 * opens as a sealed secret, and what is sealed opens to itself. */
#include "signalling/totp.h"
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char text[513];
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t bytes[512];
    long n = vej_base32_decode(text, bytes, sizeof bytes);
    if (n >= 0) {
        char again[1024];
        CHECK(vej_base32_encode(bytes, (size_t)n, again, sizeof again) >= 0);
        CHECK(strlen(again) == strlen(text));
        for (size_t i = 0; text[i]; i++)
            CHECK(again[i] == (text[i] >= 'a' && text[i] <= 'z' ? text[i] - 'a' + 'A' : text[i]));
        if (n > 0) {
            uint32_t code = vej_totp_code(bytes, (size_t)n, 1000);
            CHECK(code < 1000000);
            int64_t step = vej_totp_match(bytes, (size_t)n, 30000, code);
            CHECK(step >= 999 && step <= 1001);
        }
    }
    /* Sealed secrets: arbitrary text never opens (a forgery would need the
     * key), and any secret that can be sealed opens to itself. */
    static const uint8_t key[32] = {1, 2, 3};
    char opened[VEJ_TOTP_SEALED_MAX], prefixed[520];
    snprintf(prefixed, sizeof prefixed, "%s%s", VEJ_TOTP_SEALED_PREFIX, text);
    CHECK(vej_totp_open(key, "usr_fuzz", text, opened, sizeof opened) == -1);
    CHECK(vej_totp_open(key, "usr_fuzz", prefixed, opened, sizeof opened) == -1);
    char sealed[VEJ_TOTP_SEALED_MAX];
    long sn = vej_totp_seal(key, "usr_fuzz", text, sealed, sizeof sealed);
    CHECK((sn > 0) == (size_t)(strlen(text) <= 64));
    if (sn > 0 && strlen(text) > 0) {
        CHECK(vej_totp_open(key, "usr_fuzz", sealed, opened, sizeof opened) == (long)strlen(text));
        CHECK(strcmp(opened, text) == 0);
    }
    uint32_t code = 0;
    if (vej_totp_parse(text, &code)) {
        CHECK(code < 1000000 && strlen(text) == 6);
        for (int i = 0; i < 6; i++)
            CHECK(text[i] >= '0' && text[i] <= '9');
    }
    return 0;
}
