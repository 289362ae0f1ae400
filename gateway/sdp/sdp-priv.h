/* sdp-priv.h - internals shared by gateway/sdp*.c. Not a public header. */
#pragma once

#include "gateway/sdp/sdp.h"

#include <gst/sdp/sdp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The extension URIs the gateway knows. */
#define VEJ__SDP_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define VEJ__SDP_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define VEJ__SDP_URI_TRANSPORT_CC                                                                  \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define VEJ__SDP_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

/* Sets *reason (when reason is not NULL) and returns status. */
enum vej_sdp_status vej__sdp_fail(const char **reason, enum vej_sdp_status status, const char *why);

/* Copies src into dst (size bytes, NUL-terminated). Returns false, with
 * dst emptied, when it does not fit. */
bool vej__sdp_copy(char *dst, size_t size, const char *src);

/* Copies up to size - 1 bytes of src into dst, truncating at a UTF-8
 * character boundary (src is valid UTF-8: the prescan checked). */
void vej__sdp_copy_trunc(char *dst, size_t size, const char *src);

/* A whole string of decimal digits (no sign, no space) within 0..max. */
bool vej__sdp_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* The same for the first len bytes of s. */
bool vej__sdp_parse_uint_n(const char *s, size_t len, uint64_t max, uint64_t *out);

/* RFC 4566 token characters only, length 1..max_len. */
bool vej__sdp_is_token(const char *s, size_t max_len);

/* RFC 8839 ice-char (ALPHA / DIGIT / "+" / "/"), length min..max. */
bool vej__sdp_is_ice_chars(const char *s, size_t min_len, size_t max_len);

/* Bytes of a fingerprint algorithm's digest; 0 for NONE. */
size_t vej__sdp_fingerprint_size(enum vej_sdp_fingerprint_alg alg);

/* "sha-256" etc.; NULL for NONE. */
const char *vej__sdp_fingerprint_alg_name(enum vej_sdp_fingerprint_alg alg);

/* Checks the text before GstSDPMessage sees it: size, UTF-8, no NUL,
 * each line's length, and the number and ports of m= lines. */
enum vej_sdp_status vej__sdp_prescan(const char *sdp, size_t len,
                                     const struct vej_sdp_limits *limits, const char **reason);

/* Effective limits with defaults applied and max_mlines clamped. */
void vej__sdp_limits_effective(const struct vej_sdp_limits *in, struct vej_sdp_limits *out);

/* Parses the text into a new message (transfer full) after the prescan
 * and checks v=0 and a complete o= line; fills session id/version. */
enum vej_sdp_status vej__sdp_load(const char *sdp, size_t len, const struct vej_sdp_limits *limits,
                                  GstSDPMessage **msg, struct vej_sdp_description *out,
                                  const char **reason);

/* Session-level facts gathered from the attributes. */
struct vej__sdp_session {
    const char *ice_ufrag; /* borrowed from the message; NULL when absent */
    const char *ice_pwd;
    const char *fingerprint; /* first a=fingerprint value */
    const char *setup;
    const char *bundle;               /* the BUNDLE group's value after "BUNDLE" */
    enum vej_sdp_direction direction; /* session-level default, sendrecv */
    unsigned n_bundle_groups;
    bool ice_trickle;
    bool ice_lite;
    bool extmap_allow_mixed;
    bool end_of_candidates;
};

/* Per-media facts that are checked across m-lines, borrowed from the
 * message (valid while it lives). */
struct vej__sdp_media_refs {
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *fingerprint;
    const char *setup;
    bool bundle_only;
};

/* Fills the session facts. */
void vej__sdp_read_session(const GstSDPMessage *msg, struct vej__sdp_session *session);

/* Reads one m-line's attributes into media (everything in struct
 * vej_sdp_media except accepted/reject_reason/in_bundle and the chosen
 * codec) and refs; session-wide flags it meets go to desc. */
enum vej_sdp_status vej__sdp_read_media(const GstSDPMedia *gm, struct vej_sdp_media *media,
                                        struct vej__sdp_media_refs *refs,
                                        struct vej_sdp_description *desc, const char **reason);

/* Marks in_bundle on each m-line from the group value; fails when the
 * group names an unknown or repeated mid. */
enum vej_sdp_status vej__sdp_apply_bundle(const char *group, struct vej_sdp_description *desc,
                                          const char **reason);

/* Checks that the live m-lines (live[i]) share ICE credentials, a
 * fingerprint and setup, and stores them in desc. */
enum vej_sdp_status vej__sdp_transport(const struct vej__sdp_session *session,
                                       const struct vej__sdp_media_refs *refs, const bool *live,
                                       struct vej_sdp_description *desc, const char **reason);

/* Parses "sha-256 AB:CD:..." into desc's fingerprint fields. */
bool vej__sdp_parse_fingerprint(const char *value, struct vej_sdp_description *desc);

/* Reads inline candidates of gm into desc. */
void vej__sdp_read_candidates(const GstSDPMedia *gm, struct vej_sdp_description *desc,
                              bool allow_tcp);

/* The value of the fmtp for pt in gm (after the "PT "), or NULL. */
const char *vej__sdp_fmtp_for(const GstSDPMedia *gm, unsigned pt);

/* Marks each payload's `usable` (allowed codec, kind, clock rate,
 * channels, H.264 mode and profile) and fills the chosen codec fields of
 * m from the first usable PT whose fmtp fits, and its RTX PT. Returns
 * false when none is usable. */
bool vej__sdp_choose_codec(const GstSDPMedia *gm, struct vej_sdp_media *m, uint32_t allowed);
