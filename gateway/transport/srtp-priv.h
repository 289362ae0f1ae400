/* srtp-priv.h - OpenSSL crypto for libsrtp2 (gateway/transport/srtp-crypto.c,
 * srtp-hmac.c), used by gateway/transport/srtp.c.
 *
 * Debian's libsrtp2 is built against NSS and makes NSS contexts for every
 * packet: about 4 µs and 14 heap allocations per AES-CM protect or
 * unprotect of a 1,200-byte packet, 0.8 µs and 5 with GCM (bench-srtp).
 * libsrtp2 lets a program replace the implementation behind a cipher or
 * auth type id; these are ours, on OpenSSL 3.0: contexts are made when
 * libsrtp2 allocates and keys a cipher (once per session), and a packet
 * only resets the IV (AES) or copies two precomputed SHA-1 states (HMAC).
 * No heap allocation per packet.
 *
 * The types follow libsrtp2 2.5's calling conventions exactly (srtp.c,
 * cipher.c): key lengths include the salt (AES-ICM: key || 14-byte salt;
 * AES-GCM: key || 12-byte salt, of which only the key is used here),
 * srtp_cipher_t.algorithm is the type id (srtp.c tests it to pick the
 * AEAD path), GCM's decrypt takes the ciphertext followed by the tag and
 * shortens *len by the tag, set_aad may be called several times before the
 * payload (SRTCP: header, then the E-bit and index). Each type carries
 * published known-answer vectors, which libsrtp2 runs before it accepts the
 * type (and also the vectors of the type it replaces).
 *
 * State is per cipher object; libsrtp2 shares one object between the
 * streams of a session, which like every SRTP call runs on one worker.
 */
#pragma once

#include <glib.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

/* AES-ICM (RFC 3711 counter mode) on EVP AES-128-CTR / AES-256-CTR. */
extern const srtp_cipher_type_t vej__srtp_aes_icm_128;
extern const srtp_cipher_type_t vej__srtp_aes_icm_256;
/* AES-GCM (RFC 7714) on EVP AES-128-GCM / AES-256-GCM; 8, 12 or 16-byte tags. */
extern const srtp_cipher_type_t vej__srtp_aes_gcm_128;
extern const srtp_cipher_type_t vej__srtp_aes_gcm_256;
/* HMAC-SHA1 (RFC 2104) with the keyed inner and outer SHA-1 states
 * computed once per key. */
extern const srtp_auth_type_t vej__srtp_hmac_sha1;

/* Installs the five types above in libsrtp2's crypto kernel in place of
 * its own. Call once per process, after srtp_init succeeded and before
 * any srtp_create (vej_srtp_global_init does, under its once). libsrtp2
 * keeps its own implementation of any type whose known-answer tests fail;
 * every type is tried. Returns TRUE when all five are in place, else FALSE
 * with `error` (VEJ_SRTP_ERROR_LIBSRTP) naming the first refused one. */
gboolean vej__srtp_crypto_register(GError **error);
