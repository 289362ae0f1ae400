/* dtls.h - DTLS-SRTP (RFC 5764) over OpenSSL for one PeerConnection.
 *
 * No threads and no main loop inside. The owner (a peer, on its worker)
 * feeds each received DTLS datagram to vej_dtls_input(), gets datagrams to
 * send through the `send` callback, and drives retransmission: after every
 * vej_dtls_* call it re-arms a timer at vej_dtls_next_timeout_us() and calls
 * vej_dtls_handle_timeout() when it fires. The first retransmission comes
 * ~150 ms after a flight, then the interval doubles; a handshake not done
 * 15 s after it started (vej_dtls_start, or the first datagram received)
 * fails with VEJ_DTLS_FAIL_TIMEOUT.
 *
 * DTLS 1.2, ECDHE, MTU 1200, SRTP profiles AEAD_AES_128_GCM (preferred) and
 * AES_CM_128_HMAC_SHA1_80. Both roles present and require a certificate;
 * trust comes only from the SDP fingerprint: after the handshake (or, if
 * known, while verifying the certificate) the peer certificate's digest
 * must equal the fingerprint given with vej_dtls_set_remote_fingerprint().
 * If the handshake completes before the fingerprint is known, the result
 * waits (VEJ_DTLS_STATE_VERIFYING, still under the 15 s limit) and is
 * decided when it is set. No certificate, or a mismatch: `failed`, no key
 * exported, and nothing sent after the fatal alert OpenSSL raises when it
 * finds the fault during the handshake (none when decided later).
 *
 * Callbacks. They are called only from within vej_dtls_start,
 * vej_dtls_input, vej_dtls_handle_timeout, vej_dtls_set_remote_fingerprint
 * and (`send` only) vej_dtls_close; never from vej_dtls_new or
 * vej_dtls_free. A function that fails (returns FALSE or a negative
 * status) calls no callback. `connected`, `failed` and `closed` are each
 * called at most once, and after `failed` or `closed` no callback comes
 * again. vej_dtls_free() may be called from inside any callback: the
 * object is then freed when the outermost vej_dtls_* call returns, and no
 * further callback is made. `send` runs inside OpenSSL: from it, call no
 * vej_dtls_* function on the same object but vej_dtls_free (queue the
 * datagram, never feed it back synchronously). From `connected`, `failed`
 * and `closed`, vej_dtls_close and vej_dtls_free are allowed.
 *
 * Threads: a `struct vej_dtls` is used on one thread (its peer's worker).
 * A `struct vej_dtls_cert` is immutable and reference-counted, shared by
 * every worker.
 */
#pragma once

#include "gateway/transport/srtp.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Datagram size the handshake uses (DTLS record included). */
#define VEJ_DTLS_MTU 1200
/* First retransmission timeout; doubles each retransmission. */
#define VEJ_DTLS_FIRST_TIMEOUT_US (150 * 1000)
/* A handshake not finished after this long fails. */
#define VEJ_DTLS_HANDSHAKE_TIMEOUT_US (15 * 1000 * 1000)
/* Largest "sha-512" hex fingerprint with colons, plus the NUL. */
#define VEJ_DTLS_FINGERPRINT_MAX (64 * 3)

enum vej_dtls_role {
    VEJ_DTLS_SERVER, /* a=setup:passive on our side: waits for the ClientHello */
    VEJ_DTLS_CLIENT, /* a=setup:active on our side: vej_dtls_start sends it */
};

enum vej_dtls_state {
    VEJ_DTLS_STATE_NEW,         /* created, nothing sent or received */
    VEJ_DTLS_STATE_HANDSHAKING, /* started */
    VEJ_DTLS_STATE_VERIFYING,   /* handshake done, remote fingerprint not yet known */
    VEJ_DTLS_STATE_CONNECTED,   /* verified, keys delivered */
    VEJ_DTLS_STATE_CLOSED,      /* close_notify sent or received */
    VEJ_DTLS_STATE_FAILED,      /* `failed` was called */
};

/* Why a DTLS association failed (vej_dtls_failure_name: a metrics label). */
enum vej_dtls_failure {
    VEJ_DTLS_FAIL_TIMEOUT,        /* handshake not finished within 15 s */
    VEJ_DTLS_FAIL_HANDSHAKE,      /* protocol error during the handshake */
    VEJ_DTLS_FAIL_NO_CERTIFICATE, /* the peer sent no certificate */
    VEJ_DTLS_FAIL_FINGERPRINT,    /* certificate digest differs from the SDP's */
    VEJ_DTLS_FAIL_NO_PROFILE,     /* no common SRTP profile */
    VEJ_DTLS_FAIL_ALERT,          /* the peer sent a fatal alert */
    VEJ_DTLS_FAIL_INTERNAL,       /* key export or another library call failed */
};

#define VEJ_DTLS_ERROR (vej_dtls_error_quark())
/* GError codes of this module. */
enum vej_dtls_error {
    VEJ_DTLS_ERROR_CERTIFICATE, /* cannot make or load the certificate */
    VEJ_DTLS_ERROR_OPENSSL,     /* an OpenSSL call failed */
    VEJ_DTLS_ERROR_FINGERPRINT, /* unsupported hash or malformed hex */
    VEJ_DTLS_ERROR_STATE,       /* call not allowed in the current state */
};

/* Results of vej_dtls_input; the names are metrics labels. */
enum vej_dtls_status {
    VEJ_DTLS_OK = 0,          /* processed (any outcome came by callback) */
    VEJ_DTLS_EMALFORMED = -1, /* not a sequence of DTLS records: dropped */
    VEJ_DTLS_ESTATE = -2,     /* closed or failed: dropped */
};

/* Callbacks; `user_data` is the pointer given to vej_dtls_new. */
struct vej_dtls_callbacks {
    /* One datagram to send to the peer (over ICE). `data` is borrowed for
     * the call. A datagram that cannot be sent is lost; retransmission
     * recovers. Required. */
    void (*send)(void *user_data, const uint8_t *data, size_t len);
    /* Handshake done and fingerprint verified. `keys` (transfer none) is
     * valid during the call only and wiped after it: make the SRTP sessions
     * (vej_srtp_new) inside the callback. Required. */
    void (*connected)(void *user_data, const struct vej_srtp_keys *keys);
    /* The association failed; close the PC. `detail` (transfer none, valid
     * during the call) is a human-readable reason without secrets.
     * Required. */
    void (*failed)(void *user_data, enum vej_dtls_failure reason, const char *detail);
    /* The peer sent close_notify (we answered with ours). Optional. */
    void (*closed)(void *user_data);
    /* Monotonic clock in microseconds. Optional: NULL means
     * g_get_monotonic_time. A seam for tests with a fake clock. */
    int64_t (*now_us)(void *user_data);
};

struct vej_dtls_cert;
struct vej_dtls;

/* The GError domain of this module. */
GQuark vej_dtls_error_quark(void);

/* Makes a fresh self-signed ECDSA P-256 certificate (SHA-256 signature,
 * valid from a day ago for a year, random serial) and the SSL_CTX shared
 * by every vej_dtls made with it. Once per process. (transfer full);
 * NULL with `error` set on failure. */
struct vej_dtls_cert *vej_dtls_cert_new_self_signed(GError **error);

/* Loads a certificate and its private key from PEM files (any key type
 * OpenSSL supports; the key must match the certificate). (transfer full);
 * NULL with `error` set on failure. */
struct vej_dtls_cert *vej_dtls_cert_new_from_pem(const char *cert_path, const char *key_path,
                                                 GError **error);

/* Takes a reference (thread-safe). Returns `cert`. */
struct vej_dtls_cert *vej_dtls_cert_ref(struct vej_dtls_cert *cert);

/* Drops a reference (thread-safe); frees on the last. NULL is a no-op. */
void vej_dtls_cert_unref(struct vej_dtls_cert *cert);

/* The certificate's SHA-256 fingerprint for the SDP's a=fingerprint, as
 * uppercase colon-separated hex ("AB:CD:..."); *algorithm (if not NULL) is
 * set to "sha-256". (transfer none): valid as long as `cert`. */
const char *vej_dtls_cert_fingerprint(const struct vej_dtls_cert *cert, const char **algorithm);

/* Creates a DTLS endpoint in `role` using `cert` (a reference is taken).
 * `callbacks` is copied. Nothing is sent until vej_dtls_start (client) or
 * the first vej_dtls_input. (transfer full); NULL with `error` set if a
 * required callback is missing or OpenSSL fails. */
struct vej_dtls *vej_dtls_new(struct vej_dtls_cert *cert, enum vej_dtls_role role,
                              const struct vej_dtls_callbacks *callbacks, void *user_data,
                              GError **error);

/* Changes the role; allowed only in VEJ_DTLS_STATE_NEW (the subscribe PC
 * learns it from the answer). Setting the current role is always a no-op
 * success; another role after the handshake started is FALSE with
 * VEJ_DTLS_ERROR_STATE. */
gboolean vej_dtls_set_role(struct vej_dtls *dtls, enum vej_dtls_role role, GError **error);

/* Restricts the SRTP profiles this endpoint offers (client) or accepts
 * (server) to `profiles`, in order of preference (default: GCM, then
 * AES-CM). Allowed only in VEJ_DTLS_STATE_NEW; FALSE with
 * VEJ_DTLS_ERROR_STATE otherwise, or VEJ_DTLS_ERROR_OPENSSL for an empty
 * or unknown list. Used by the load generator to measure AES-CM. */
gboolean vej_dtls_set_srtp_profiles(struct vej_dtls *dtls, const enum vej_srtp_profile *profiles,
                                    size_t n, GError **error);

/* Sets the peer's SDP fingerprint: `algorithm` is "sha-1", "sha-256",
 * "sha-384" or "sha-512" (case-insensitive), `hex` the colon-separated hex
 * (case-insensitive). May come before or after the handshake; if the
 * handshake is waiting for it (VEJ_DTLS_STATE_VERIFYING), the verdict is
 * given now through `connected` or `failed`. Setting it again before the
 * verdict replaces it; after a verdict, the same value is a no-op and a
 * different one is refused (VEJ_DTLS_ERROR_STATE: re-offers keep the
 * association). FALSE with VEJ_DTLS_ERROR_FINGERPRINT for an unsupported
 * algorithm or malformed hex (no callback then). */
gboolean vej_dtls_set_remote_fingerprint(struct vej_dtls *dtls, const char *algorithm,
                                         const char *hex, GError **error);

/* Starts the handshake and arms the 15 s limit: a client sends its
 * ClientHello (through `send`); a server just waits. Call once, when ICE is
 * connected. FALSE with VEJ_DTLS_ERROR_STATE if already started. */
gboolean vej_dtls_start(struct vej_dtls *dtls, GError **error);

/* Feeds one received datagram (transfer none). May call any callback.
 * Returns VEJ_DTLS_OK when the datagram was given to OpenSSL (records it
 * cannot authenticate are silently discarded, as DTLS requires), or a
 * negative `enum vej_dtls_status` when it was dropped without effect. A
 * server that receives a datagram before vej_dtls_start starts then. */
int vej_dtls_input(struct vej_dtls *dtls, const uint8_t *data, size_t len);

/* Absolute monotonic time (µs, the clock of `now_us`) at which
 * vej_dtls_handle_timeout must be called: the next retransmission or the
 * handshake limit, whichever is first; -1 if no timer is needed (not
 * started, connected, closed or failed). */
int64_t vej_dtls_next_timeout_us(struct vej_dtls *dtls);

/* Retransmits the last flight if its timer expired, or fails the handshake
 * (VEJ_DTLS_FAIL_TIMEOUT) if `now_us` is past the 15 s limit. Harmless when
 * called early or in any state. */
void vej_dtls_handle_timeout(struct vej_dtls *dtls, int64_t now_us);

/* Sends close_notify if the association is up (through `send`) and moves
 * to VEJ_DTLS_STATE_CLOSED; no other callback follows. Idempotent. */
void vej_dtls_close(struct vej_dtls *dtls);

/* Current state. */
enum vej_dtls_state vej_dtls_get_state(const struct vej_dtls *dtls);

/* Current role. */
enum vej_dtls_role vej_dtls_get_role(const struct vej_dtls *dtls);

/* The negotiated SRTP profile once the handshake is done, else
 * VEJ_SRTP_PROFILE_NONE. */
enum vej_srtp_profile vej_dtls_get_profile(const struct vej_dtls *dtls);

/* Frees the endpoint without sending anything (call vej_dtls_close first
 * for a clean teardown). Safe from inside a callback (see above). NULL is
 * a no-op. */
void vej_dtls_free(struct vej_dtls *dtls);

/* Static names for metrics labels and logs. */
const char *vej_dtls_failure_name(enum vej_dtls_failure reason);
const char *vej_dtls_state_name(enum vej_dtls_state state);
const char *vej_dtls_status_name(int status);
