/* srtp.h - SRTP/SRTCP sessions of one PeerConnection, over libsrtp2.
 *
 * A `struct vej_srtp` holds two libsrtp2 sessions made from the keys that
 * DTLS-SRTP exported (gateway/transport/dtls.h): an inbound one (the remote key, any
 * SSRC, replay window 1024) and an outbound one (the local key, any SSRC,
 * repeated sequence numbers allowed so that NACK retransmissions can be
 * protected again). Not thread-safe: like every SRTP call for a peer, it
 * is used on that peer's worker only (DESIGN.md section 3).
 *
 * Per-packet calls work in place and allocate nothing, in our code or in
 * the crypto under libsrtp2 (libsrtp2 itself allocates a stream the first
 * time it sees an SSRC).
 * They return `enum vej_srtp_status`: 0 for success, a negative value for
 * a refused packet; vej_srtp_status_name() gives a metrics label.
 *
 * Construction takes `GError **` last, as everywhere GLib-facing.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764, RFC 7714).
 * The values are the IANA profile ids. */
enum vej_srtp_profile {
    VEJ_SRTP_PROFILE_NONE = 0,
    VEJ_SRTP_AES128_CM_SHA1_80 = 0x0001, /* 16-byte key, 14-byte salt, 10-byte tag */
    VEJ_SRTP_AEAD_AES_128_GCM = 0x0007,  /* 16-byte key, 12-byte salt, 16-byte tag */
};

#define VEJ_SRTP_MAX_KEY_LEN 16
#define VEJ_SRTP_MAX_SALT_LEN 14
/* Bytes protection adds at most, any profile, RTP or RTCP (GCM SRTCP:
 * 16-byte tag + 4-byte index). A buffer with this much room after the
 * packet can always be protected. */
#define VEJ_SRTP_MAX_OVERHEAD 20

/* Keys of one DTLS-SRTP association, already split by role: `local` is
 * what we protect with, `remote` what we unprotect with. Secret: wipe with
 * vej_srtp_keys_clear() after use, never log. */
struct vej_srtp_keys {
    enum vej_srtp_profile profile;
    size_t key_len;  /* 16 for both profiles */
    size_t salt_len; /* 12 (GCM) or 14 (AES-CM) */
    uint8_t local_key[VEJ_SRTP_MAX_KEY_LEN];
    uint8_t local_salt[VEJ_SRTP_MAX_SALT_LEN];
    uint8_t remote_key[VEJ_SRTP_MAX_KEY_LEN];
    uint8_t remote_salt[VEJ_SRTP_MAX_SALT_LEN];
};

/* Per-packet results. The names are metrics labels. */
enum vej_srtp_status {
    VEJ_SRTP_OK = 0,
    VEJ_SRTP_EAUTH = -1,      /* authentication tag does not verify */
    VEJ_SRTP_EREPLAY = -2,    /* replayed, or older than the replay window */
    VEJ_SRTP_ETOOSHORT = -3,  /* shorter than a header plus the trailer */
    VEJ_SRTP_ENOSPACE = -4,   /* the buffer has no room for the trailer */
    VEJ_SRTP_EMALFORMED = -5, /* header inconsistent (e.g. CSRCs or extension past the end) */
    VEJ_SRTP_EFAIL = -6,      /* any other libsrtp2 error */
};

#define VEJ_SRTP_ERROR (vej_srtp_error_quark())
/* GError codes of vej_srtp_new. */
enum vej_srtp_error {
    VEJ_SRTP_ERROR_PROFILE, /* keys carry an unknown profile or bad lengths */
    VEJ_SRTP_ERROR_LIBSRTP, /* libsrtp2 refused (init, create) */
};

struct vej_srtp;

/* The GError domain of this module. */
GQuark vej_srtp_error_quark(void);

/* Initialises libsrtp2 once per process; thread-safe, cheap after the first
 * call. Returns FALSE with `error` set if srtp_init failed (then every later
 * call fails the same way). vej_srtp_new calls it itself.
 * It also puts our OpenSSL AES-ICM, AES-GCM and HMAC-SHA1
 * (gateway/transport/srtp-crypto.c, srtp-hmac.c) in place of libsrtp2's own, which
 * on Debian run on NSS and allocate per packet. Should libsrtp2 refuse
 * one (its known-answer tests fail), a warning is logged and libsrtp2's
 * own stays in use for that one: slower, but still correct. */
gboolean vej_srtp_global_init(GError **error);

/* The crypto libsrtp2 runs on (initialising it first, as
 * vej_srtp_global_init): "openssl" when all our replacements are in place,
 * "libsrtp2" when any of libsrtp2's own is, "none" when srtp_init failed.
 * Static string, for logs and benchmark labels. */
const char *vej_srtp_crypto_name(void);

/* Makes the inbound and outbound sessions from `keys` (transfer none: the
 * key bytes are copied into libsrtp2; the caller still wipes `keys`).
 * Returns NULL with `error` set on an unknown profile, wrong lengths or a
 * libsrtp2 failure. (transfer full): free with vej_srtp_free. */
struct vej_srtp *vej_srtp_new(const struct vej_srtp_keys *keys, GError **error);

/* Frees both sessions and wipes their keys. NULL is a no-op. */
void vej_srtp_free(struct vej_srtp *srtp);

/* The profile the sessions were made with. */
enum vej_srtp_profile vej_srtp_get_profile(const struct vej_srtp *srtp);

/* Protects the RTP packet buf[0..*len) in place; on success *len grows by
 * vej_srtp_overhead(profile, false). `cap` is the size of `buf`. Returns
 * VEJ_SRTP_ETOOSHORT under 12 bytes, VEJ_SRTP_ENOSPACE if cap has no room for
 * the trailer, VEJ_SRTP_EMALFORMED for an inconsistent header; *len and
 * buf are untouched on failure. A sequence number may be protected again
 * (NACK retransmission), but only as the very same bytes: with
 * AEAD_AES_128_GCM, another header (a new abs-send-time or transport-wide
 * sequence) or payload under the same SSRC and sequence number reuses the
 * GCM nonce and gives away the authentication key. Send changed
 * retransmissions as RTX (RFC 4588, their own SSRC and sequence). */
int vej_srtp_protect_rtp(struct vej_srtp *srtp, uint8_t *buf, size_t *len, size_t cap);

/* Authenticates, replay-checks and decrypts the SRTP packet buf[0..*len)
 * in place; on success *len shrinks to the RTP packet. Returns
 * VEJ_SRTP_EAUTH, VEJ_SRTP_EREPLAY, VEJ_SRTP_ETOOSHORT or
 * VEJ_SRTP_EMALFORMED for a refused packet (the buffer's content is then
 * unspecified and *len unchanged). */
int vej_srtp_unprotect_rtp(struct vej_srtp *srtp, uint8_t *buf, size_t *len);

/* As vej_srtp_protect_rtp, for a (compound) RTCP packet; the minimum input
 * is 8 bytes. Every SRTCP packet gets a new index, so nothing is refused as
 * a repeat. */
int vej_srtp_protect_rtcp(struct vej_srtp *srtp, uint8_t *buf, size_t *len, size_t cap);

/* As vej_srtp_unprotect_rtp, for an SRTCP packet. */
int vej_srtp_unprotect_rtcp(struct vej_srtp *srtp, uint8_t *buf, size_t *len);

/* Forgets the stream state (rollover counter, replay window) of `ssrc`
 * (host order) in the inbound or outbound session; nothing when there is
 * none. A stream ends with its track: state is never kept for SSRCs gone. */
void vej_srtp_remove_stream(struct vej_srtp *srtp, uint32_t ssrc, bool outbound);

/* Bytes protection adds for `profile` (RTP: the tag; RTCP: index and tag);
 * 0 for an unknown profile. Always <= VEJ_SRTP_MAX_OVERHEAD. */
size_t vej_srtp_overhead(enum vej_srtp_profile profile, bool rtcp);

/* A static name for a status ("ok", "auth", "replay", "too_short",
 * "no_space", "malformed", "error"), usable as a metrics label. */
const char *vej_srtp_status_name(int status);

/* The RFC name of a profile ("AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80",
 * "none"), for logs, webrtc.state and benchmark labels. Static string. */
const char *vej_srtp_profile_name(enum vej_srtp_profile profile);

/* Key and salt lengths of a profile; FALSE for an unknown profile. */
gboolean vej_srtp_profile_lengths(enum vej_srtp_profile profile, size_t *key_len, size_t *salt_len);

/* Wipes `keys` (OPENSSL_cleanse) so the secret does not linger on a stack
 * or heap. NULL is a no-op. */
void vej_srtp_keys_clear(struct vej_srtp_keys *keys);
