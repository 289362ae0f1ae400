/* tools/vej-loadgen/srtp-profile.c - lets --aes-cm offer only
 * AES_CM_128_HMAC_SHA1_80 in the DTLS ClientHello.
 *
 * gateway/dtls.c sets the SRTP profiles of its SSL_CTX once, in
 * vej_dtls_cert_new_self_signed(), from a fixed list (GCM first), and has
 * no API to change it. Until it has one (see the report: a profile list
 * argument to vej_dtls_cert_new_self_signed), this executable interposes
 * OpenSSL's SSL_CTX_set_tlsext_use_srtp: the definition below wins over
 * libssl's for every call made from this program (dtls.c is linked in
 * statically), and forwards to the real one with the forced list. The
 * gateway, a separate process, is not affected. */
#include "loadgen.h"

#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>

static bool force_aes_cm;

void
lg_srtp_force_aes_cm(bool on)
{
    force_aes_cm = on;
}

/* The OpenSSL prototype; exported from this executable on purpose. */
__attribute__((visibility("default"))) int
SSL_CTX_set_tlsext_use_srtp(SSL_CTX *ctx, const char *profiles)
{
    typedef int (*real_fn)(SSL_CTX *, const char *);
    static real_fn real;
    if (!real)
        real = (real_fn)dlsym(RTLD_NEXT, "SSL_CTX_set_tlsext_use_srtp");
    if (!real) {
        fprintf(stderr, "vej-loadgen: cannot find libssl's SSL_CTX_set_tlsext_use_srtp\n");
        return 1; /* OpenSSL's convention: non-zero is failure */
    }
    return real(ctx, force_aes_cm ? "SRTP_AES128_CM_SHA1_80" : profiles);
}
