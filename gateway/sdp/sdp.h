/* sdp.h - SDP offers and answers for the publish and subscribe
 * PeerConnections (DESIGN.md section 3).
 *
 * Parsing and writing go through GStreamer's GstSDPMessage
 * (gstreamer-sdp-1.0); gst_init() is not needed. Everything this module
 * returns is plain data: fixed-size arrays, no pointer into a
 * GstSDPMessage, no allocation to free except the SDP text the writers
 * return. The structs are large (a description is about 205 KiB, a
 * subscribe offer about 70 KiB): allocate them on the heap (g_new0), not
 * on a worker's stack.
 *
 * Unified plan, BUNDLE and rtcp-mux are required. Publish PC: the client
 * offers (vej_sdp_parse_offer) and the gateway answers
 * (vej_sdp_make_answer) with a=setup:passive, recvonly. Subscribe PC: the
 * gateway offers (vej_sdp_make_offer) with a=setup:actpass, sendonly or
 * inactive (ended) m-lines, and parses the client's answer
 * (vej_sdp_parse_answer).
 *
 * Errors: functions return `enum vej_sdp_status` (0 is success, failures
 * negative) and, on failure, set *reason to a static English sentence fit
 * for a JSON-RPC -32602 message (never NULL on failure, untouched on
 * success; `reason` itself may be NULL). Nothing in a reason comes from
 * the input.
 *
 * Thread safety: no global state; every function may run on any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard capacities of the structs. Caller limits (struct vej_sdp_limits)
 * may only be lower. */
#define VEJ_SDP_MAX_MLINES 128
#define VEJ_SDP_MAX_PAYLOADS 32 /* per m-line; further PTs are ignored */
#define VEJ_SDP_MAX_CANDIDATES 16
/* String buffers, NUL included. Longer input values are refused (mid,
 * ICE credentials), truncated at a UTF-8 boundary (cname), left empty
 * (msid ids) or, for fmtp, make that PT unusable. Every string of a
 * parsed description is valid UTF-8. */
#define VEJ_SDP_MID_LEN 33           /* RFC 8843 mid, up to 32 bytes */
#define VEJ_SDP_ICE_UFRAG_LEN 257    /* RFC 8839: 4-256 */
#define VEJ_SDP_ICE_PWD_LEN 257      /* RFC 8839: 22-256 */
#define VEJ_SDP_FINGERPRINT_MAX 64   /* bytes: SHA-512 */
#define VEJ_SDP_FINGERPRINT_TEXT 192 /* "AB:CD:..." for 64 bytes, NUL */
#define VEJ_SDP_FMTP_LEN 256
#define VEJ_SDP_CNAME_LEN 65
#define VEJ_SDP_MSID_LEN 65 /* RFC 8830: 1*64 token chars */
#define VEJ_SDP_FOUNDATION_LEN 33
#define VEJ_SDP_ADDRESS_LEN 256 /* IPv4, IPv6 or an mDNS/FQDN name */
#define VEJ_SDP_CANDIDATE_LEN 512
#define VEJ_SDP_TOKEN_LEN 33 /* m= media, proto, format copies */

/* Defaults of struct vej_sdp_limits. */
#define VEJ_SDP_DEFAULT_MAX_SDP_BYTES (64 * 1024)
#define VEJ_SDP_DEFAULT_MAX_MLINES 16
#define VEJ_SDP_DEFAULT_MAX_ATTRIBUTE_LEN 1024

enum vej_sdp_status {
    VEJ_SDP_OK = 0,
    VEJ_SDP_EINVAL = -1,        /* a caller argument is wrong (NULL, bad local params) */
    VEJ_SDP_ETOOBIG = -2,       /* SDP or one of its lines longer than the limits */
    VEJ_SDP_ETOOMANY = -3,      /* more m-lines than the caller's limit */
    VEJ_SDP_EENCODING = -4,     /* not UTF-8, or a NUL byte */
    VEJ_SDP_ESYNTAX = -5,       /* not an SDP: v=/o=/m= lines or numbers malformed */
    VEJ_SDP_EICE = -6,          /* ICE credentials missing, malformed or not the same */
    VEJ_SDP_EFINGERPRINT = -7,  /* no usable a=fingerprint, or they differ */
    VEJ_SDP_ESETUP = -8,        /* a=setup missing or not valid for this side */
    VEJ_SDP_EBUNDLE = -9,       /* no BUNDLE group, or an m-line outside it */
    VEJ_SDP_ERTCPMUX = -10,     /* an m-line without a=rtcp-mux */
    VEJ_SDP_ECODEC = -11,       /* no allowed codec anywhere; an answer's PT not offered */
    VEJ_SDP_EMID = -12,         /* mid missing, too long, repeated, or not the offer's */
    VEJ_SDP_EMEDIA = -13,       /* no m-line, or m-lines not matching the offer */
    VEJ_SDP_EUNSUPPORTED = -14, /* simulcast / rid, or another feature we refuse */
    VEJ_SDP_ECANDIDATE = -15,   /* a candidate line refused */
    VEJ_SDP_ENOSPACE = -16,     /* a formatter's buffer is too small */
};

enum vej_sdp_kind {
    VEJ_SDP_KIND_OTHER = 0, /* anything else: rejected */
    VEJ_SDP_KIND_AUDIO,
    VEJ_SDP_KIND_VIDEO,
    VEJ_SDP_KIND_APPLICATION, /* data channels: rejected for now */
};

enum vej_sdp_direction {
    VEJ_SDP_DIR_SENDRECV = 0, /* also the default when no attribute is given */
    VEJ_SDP_DIR_SENDONLY,
    VEJ_SDP_DIR_RECVONLY,
    VEJ_SDP_DIR_INACTIVE,
};

enum vej_sdp_setup {
    VEJ_SDP_SETUP_NONE = 0, /* absent */
    VEJ_SDP_SETUP_ACTPASS,
    VEJ_SDP_SETUP_ACTIVE,  /* the peer is the DTLS client: we are the server */
    VEJ_SDP_SETUP_PASSIVE, /* the peer is the DTLS server: we are the client */
};

/* Codecs by rtpmap encoding name. Only OPUS, VP8 and H264 can be chosen. */
enum vej_sdp_codec {
    VEJ_SDP_CODEC_NONE = 0, /* no rtpmap (static PT) or unknown name */
    VEJ_SDP_CODEC_OPUS,     /* opus/48000/2 */
    VEJ_SDP_CODEC_VP8,      /* VP8/90000 */
    VEJ_SDP_CODEC_H264,     /* H264/90000 */
    VEJ_SDP_CODEC_VP9,
    VEJ_SDP_CODEC_AV1,
    VEJ_SDP_CODEC_H265,
    VEJ_SDP_CODEC_RTX,
    VEJ_SDP_CODEC_RED,
    VEJ_SDP_CODEC_ULPFEC,
    VEJ_SDP_CODEC_FLEXFEC,
    VEJ_SDP_CODEC_TELEPHONE_EVENT,
    VEJ_SDP_CODEC_CN,
    VEJ_SDP_CODEC_OTHER_AUDIO, /* G.711, G.722, ISAC, ... */
    VEJ_SDP_CODEC_OTHER,
};

/* Bit of a codec in vej_sdp_options.allowed_codecs. */
#define VEJ_SDP_CODEC_BIT(c) (1u << (unsigned)(c))
#define VEJ_SDP_CODECS_DEFAULT                                                                     \
    (VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_OPUS) | VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_VP8) |                \
     VEJ_SDP_CODEC_BIT(VEJ_SDP_CODEC_H264))

/* a=rtcp-fb types, as bits (those of the PT and of "*" are merged). */
#define VEJ_SDP_FB_NACK (1u << 0)         /* "nack" */
#define VEJ_SDP_FB_NACK_PLI (1u << 1)     /* "nack pli" */
#define VEJ_SDP_FB_CCM_FIR (1u << 2)      /* "ccm fir" */
#define VEJ_SDP_FB_GOOG_REMB (1u << 3)    /* "goog-remb" */
#define VEJ_SDP_FB_TRANSPORT_CC (1u << 4) /* "transport-cc": never answered yet */
/* What the gateway answers/offers: video only; audio gets none. */
#define VEJ_SDP_FB_SUPPORTED_VIDEO                                                                 \
    (VEJ_SDP_FB_NACK | VEJ_SDP_FB_NACK_PLI | VEJ_SDP_FB_CCM_FIR | VEJ_SDP_FB_GOOG_REMB)

enum vej_sdp_fingerprint_alg {
    VEJ_SDP_FP_NONE = 0,
    VEJ_SDP_FP_SHA1,   /* 20 bytes */
    VEJ_SDP_FP_SHA224, /* 28 */
    VEJ_SDP_FP_SHA256, /* 32 */
    VEJ_SDP_FP_SHA384, /* 48 */
    VEJ_SDP_FP_SHA512, /* 64 */
};

enum vej_sdp_transport {
    VEJ_SDP_TRANSPORT_UDP = 0,
    VEJ_SDP_TRANSPORT_TCP, /* ICE-TCP (RFC 6544) */
};

enum vej_sdp_candidate_type {
    VEJ_SDP_CAND_HOST = 0,
    VEJ_SDP_CAND_SRFLX,
    VEJ_SDP_CAND_PRFLX,
    VEJ_SDP_CAND_RELAY,
};

/* Limits applied before and while parsing; 0 in a field means its
 * default. max_mlines above VEJ_SDP_MAX_MLINES is clamped to it. */
struct vej_sdp_limits {
    size_t max_sdp_bytes;     /* whole SDP text; default 64 KiB */
    size_t max_mlines;        /* default 16 (configuration: m-lines per publish offer) */
    size_t max_attribute_len; /* any one line, "a=" included; default 1,024 */
};

/* Options for parsing a publisher's offer. */
struct vej_sdp_options {
    uint32_t allowed_codecs;   /* VEJ_SDP_CODEC_BIT()s; 0 means VEJ_SDP_CODECS_DEFAULT */
    bool allow_tcp_candidates; /* inline a=candidate with TCP kept (else dropped) */
};

/* Header extension ids (RFC 8285); 0 = absent / not negotiated. Ids are
 * 1-14 or 16-255; others are ignored when parsing, refused when writing. */
struct vej_sdp_extmaps {
    uint8_t mid;           /* urn:ietf:params:rtp-hdrext:sdes:mid */
    uint8_t abs_send_time; /* http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time */
    uint8_t
        transport_cc; /* http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
                       */
    uint8_t audio_level; /* urn:ietf:params:rtp-hdrext:ssrc-audio-level */
};

/* One payload type of an m-line, from the m= format list, a=rtpmap,
 * a=fmtp and a=rtcp-fb. Strings of unusable PTs are not kept. */
struct vej_sdp_payload {
    uint8_t pt; /* 0-127 */
    enum vej_sdp_codec codec;
    uint32_t clock_rate; /* 0 without rtpmap */
    uint8_t channels;    /* rtpmap encoding parameter; 0 when absent */
    bool has_apt;        /* RTX (and RED for audio): fmtp apt= */
    uint8_t apt;
    bool usable; /* allowed, and its parameters pass the checks below */
    /* H.264 only, from fmtp (0 when absent). */
    uint8_t h264_packetization_mode;
    uint32_t h264_profile_level_id; /* 24 bits */
    uint32_t rtcp_fb;               /* VEJ_SDP_FB_* offered for this PT */
};

/* One m-line. In a parsed offer, `accepted` and the codec fields say what
 * vej_sdp_make_answer will answer; in a parsed answer, what the peer
 * accepted. */
struct vej_sdp_media {
    char mid[VEJ_SDP_MID_LEN];
    enum vej_sdp_kind kind;
    enum vej_sdp_direction direction;
    uint16_t port; /* m= port; 0 = rejected by the sender */
    /* The m= line's media, proto and first format as written (truncated
     * to fit, at a UTF-8 boundary), so that a rejected m-line can be
     * echoed with port 0. */
    char media_name[VEJ_SDP_TOKEN_LEN];
    char proto[VEJ_SDP_TOKEN_LEN];
    char first_format[VEJ_SDP_TOKEN_LEN];
    bool in_bundle;            /* its mid is in the BUNDLE group */
    bool accepted;             /* offer: will be accepted; answer: the peer accepted it */
    const char *reject_reason; /* static; NULL when accepted */
    bool rtcp_mux;
    bool rtcp_rsize;
    bool simulcast; /* a=simulcast or a=rid seen */
    size_t n_payloads;
    struct vej_sdp_payload payloads[VEJ_SDP_MAX_PAYLOADS];
    /* The chosen codec: the first offered PT that is usable (offer), or
     * the first PT of the answer's m= line (answer). */
    enum vej_sdp_codec codec; /* VEJ_SDP_CODEC_NONE when none */
    uint8_t pt;
    uint32_t clock_rate;
    uint8_t channels;
    char fmtp[VEJ_SDP_FMTP_LEN]; /* the chosen PT's fmtp value, "" when none;
                                  * printable ASCII (a PT whose fmtp is not,
                                  * or is too long, is not usable) */
    uint32_t rtcp_fb;            /* the chosen PT's VEJ_SDP_FB_* as offered */
    /* RTX (RFC 4588) for the chosen PT. Parsed offer: the offer has an
     * RTX PT (rtx/90000, apt = pt) for it, the m-line is video and offers
     * generic NACK, so the answer accepts RTX. Parsed answer: the peer
     * kept the RTX PT we offered for the track (rtx_pt, apt = pt). */
    bool has_rtx;
    uint8_t rtx_pt;
    struct vej_sdp_extmaps extmap; /* ids as written in this m-line */
    /* a=ssrc / a=ssrc-group:FID: the first SSRC of the m-line, or the
     * first of its FID group, and that group's RTX SSRC. */
    bool has_ssrc;
    uint32_t ssrc;
    bool has_rtx_ssrc;
    uint32_t rtx_ssrc;
    char cname[VEJ_SDP_CNAME_LEN];      /* the primary SSRC's cname, "" when none */
    char msid_stream[VEJ_SDP_MSID_LEN]; /* a=msid (or a=ssrc msid:), "" when none */
    char msid_track[VEJ_SDP_MSID_LEN];
};

/* A parsed offer or answer. */
struct vej_sdp_description {
    uint64_t session_id;      /* o= sess-id (0 when it does not fit 64 bits) */
    uint64_t session_version; /* o= sess-version, likewise */
    /* ICE and DTLS of the bundled transport (identical on every m-line
     * of the BUNDLE group, else refused). */
    char ice_ufrag[VEJ_SDP_ICE_UFRAG_LEN];
    char ice_pwd[VEJ_SDP_ICE_PWD_LEN];
    bool ice_trickle; /* a=ice-options:trickle */
    bool ice_lite;    /* a=ice-lite */
    enum vej_sdp_fingerprint_alg fingerprint_alg;
    uint8_t fingerprint[VEJ_SDP_FINGERPRINT_MAX];
    size_t fingerprint_len;
    enum vej_sdp_setup setup;
    bool extmap_allow_mixed; /* session or media level */
    size_t n_media;
    struct vej_sdp_media media[VEJ_SDP_MAX_MLINES];
    /* Inline a=candidate lines of the first bundled m-line (the transport
     * of the group), "candidate:..." without "a=", pre-validated with
     * vej_sdp_candidate_check; mDNS, non-UDP (unless allowed), invalid
     * and surplus ones are counted in n_candidates_dropped. */
    size_t n_candidates;
    char candidates[VEJ_SDP_MAX_CANDIDATES][VEJ_SDP_CANDIDATE_LEN];
    size_t n_candidates_dropped;
    bool end_of_candidates;
};

/* One of the gateway's candidates: a host candidate, written as
 * "candidate:FOUNDATION 1 udp PRIORITY ADDRESS PORT typ host" (TCP:
 * "tcp ... typ host tcptype passive"), or the server-reflexive candidate a
 * 1:1 NAT makes of one (UDP only):
 * "candidate:FOUNDATION 1 udp PRIORITY ADDRESS PORT typ srflx raddr
 * RELATED rport RPORT". A zeroed struct is a host candidate. */
#define VEJ_SDP_RELATED_LEN 48 /* a numeric IPv4 or IPv6 address */
struct vej_sdp_host_candidate {
    char foundation[VEJ_SDP_FOUNDATION_LEN]; /* 1-32 ice-chars */
    uint32_t priority;
    char address[VEJ_SDP_ADDRESS_LEN]; /* numeric IPv4 or IPv6 */
    uint16_t port;                     /* not 0 */
    enum vej_sdp_transport transport;
    enum vej_sdp_candidate_type type;          /* VEJ_SDP_CAND_HOST or VEJ_SDP_CAND_SRFLX */
    char related_address[VEJ_SDP_RELATED_LEN]; /* srflx: the base, or 0.0.0.0 / :: to hide it */
    uint16_t related_port;                     /* srflx: the base's port, or 0 */
};

/* 1:1 NAT (DESIGN.md 3): the public addresses a NAT maps, port for port,
 * to the gateway's host addresses. */
struct vej_sdp_nat {
    const char *public_ipv4; /* NULL or "": none */
    const char *public_ipv6; /* NULL or "": none */
    bool hide_private;       /* advertise only the public candidate of a mapped family */
    bool as_host;            /* type host instead of srflx (ICE-lite has host candidates only) */
};

/* The gateway's side of a PeerConnection, for both writers. */
struct vej_sdp_local {
    uint64_t session_id;                   /* o= sess-id: random, kept for the PC's life (< 2^63) */
    uint64_t session_version;              /* o= sess-version: increase on every new offer */
    char ice_ufrag[VEJ_SDP_ICE_UFRAG_LEN]; /* 4-256 ice-chars */
    char ice_pwd[VEJ_SDP_ICE_PWD_LEN];     /* 22-256 ice-chars */
    bool ice_lite;                         /* write a=ice-lite */
    enum vej_sdp_fingerprint_alg fingerprint_alg;
    uint8_t fingerprint[VEJ_SDP_FINGERPRINT_MAX];
    size_t fingerprint_len; /* must match the algorithm */
    size_t n_candidates;    /* written on the first m-line only (BUNDLE) */
    struct vej_sdp_host_candidate candidates[VEJ_SDP_MAX_CANDIDATES];
    bool end_of_candidates; /* write a=end-of-candidates after them */
};

/* One m-line of a subscribe offer. */
struct vej_sdp_track {
    char mid[VEJ_SDP_MID_LEN];        /* 1-32 token chars, unique in the offer */
    enum vej_sdp_kind kind;           /* audio or video */
    enum vej_sdp_direction direction; /* SENDONLY, or INACTIVE for an ended m-line */
    enum vej_sdp_codec codec;         /* OPUS (audio), VP8 or H264 (video) */
    uint8_t pt;                       /* 96-127 */
    char fmtp[VEJ_SDP_FMTP_LEN];      /* written as a=fmtp when not "" */
    /* Written for SENDONLY only: a=msid and a=ssrc cname. */
    uint32_t ssrc;
    /* Video SENDONLY only (ignored elsewhere), 0: none. RTX (RFC 4588) offered as rtx_pt
     * (96-127, not pt) with apt=pt, on rtx_ssrc (not 0, not ssrc) in an
     * a=ssrc-group:FID with ssrc, cname and msid on both SSRCs. */
    uint8_t rtx_pt;
    uint32_t rtx_ssrc;
    char cname[VEJ_SDP_CNAME_LEN];
    char msid_stream[VEJ_SDP_MSID_LEN];
    char msid_track[VEJ_SDP_MSID_LEN];
};

/* A subscribe offer: the gateway's transport and its m-lines, in order.
 * Re-offers keep every earlier m-line at its position (ended ones
 * INACTIVE, same mid) and append new ones. */
struct vej_sdp_offer {
    struct vej_sdp_local local;
    /* Ids the gateway writes (0: not offered). audio_level goes on audio
     * m-lines only. transport_cc must be 0 until transport-cc feedback is
     * implemented (refused with VEJ_SDP_EINVAL). */
    struct vej_sdp_extmaps extmap;
    size_t n_tracks;
    struct vej_sdp_track tracks[VEJ_SDP_MAX_MLINES];
};

/* A static label for a status ("ok", "too-big", ...), usable as a metrics
 * label; "unknown" outside the enum. */
const char *vej_sdp_status_name(int status);

/* Static names: "opus", "VP8", "H264", ... / "sendrecv", ... */
const char *vej_sdp_codec_name(enum vej_sdp_codec codec);
const char *vej_sdp_direction_name(enum vej_sdp_direction dir);

/* Fills *limits with the defaults. */
void vej_sdp_limits_init(struct vej_sdp_limits *limits);

/* Parses a publisher's offer (sdp: len bytes, need not be NUL-terminated;
 * limits and options may be NULL for the defaults) into *out (zeroed
 * first; on failure its contents are unspecified). Checks first, before
 * GstSDPMessage sees the text: size (ETOOBIG), NUL and UTF-8 (EENCODING),
 * m-line count (ETOOMANY, reported before a long line), line lengths
 * (ETOOBIG), m= port syntax; then v=0 and o=, mids, and: ICE ufrag/pwd
 * present and the same
 * on every bundled m-line, a fingerprint (sha-1, sha-224/256/384/512), setup
 * actpass or active (missing: active, RFC 4145; passive and holdconn are
 * refused, the gateway answers passive), one BUNDLE group holding every
 * m-line whose port is not 0 (port 0 with a=bundle-only counts as live), rtcp-mux on each of them,
 * unique mids, no simulcast/rid. Per m-line it chooses the first offered PT that is allowed and
 * usable: opus/48000/2; VP8/90000; H264/90000 with packetization-mode=1 and a baseline or
 * constrained-baseline profile-level-id. m-lines with port 0, application or other kinds, or no
 * usable codec are kept with accepted = false. Refuses (VEJ_SDP_ECODEC) when no m-line is accepted.
 */
enum vej_sdp_status vej_sdp_parse_offer(const char *sdp, size_t len,
                                        const struct vej_sdp_limits *limits,
                                        const struct vej_sdp_options *options,
                                        struct vej_sdp_description *out, const char **reason);

/* Writes the answer to a parsed offer (transfer full: *sdp_out, g_free).
 * Session: o= from local, ice-lite if asked, extmap-allow-mixed if the
 * offer had it, BUNDLE with the accepted mids, msid-semantic, and the
 * fingerprint (also at session level). Per m-line,
 * in the offer's order: accepted ones with the offer's proto (one ending
 * in RTP/SAVPF), the chosen PT (rtpmap, fmtp copied from the
 * offer, rtcp-fb: for video the offered ones among nack, nack pli, ccm
 * fir, goog-remb; none for audio; never transport-cc) and, when has_rtx,
 * its RTX PT (rtpmap rtx/90000, fmtp apt=PT), extmap mid
 * and (audio) audio-level with the offer's ids (audio-level not when it
 * reuses the mid's id), ICE creds, fingerprint,
 * a=setup:passive, a=mid, recvonly (inactive when the offer is recvonly
 * or inactive), rtcp-mux; candidates on the first accepted m-line.
 * Every accepted m-line gets the first candidate's address and port (9
 * and 0.0.0.0 without candidates). Rejected m-lines: port 0, the offer's
 * media, proto and first format, their mid, and the transport attributes
 * (ICE creds, fingerprint, a=setup:passive: webrtcbin 1.22 refuses an
 * answer with any m-line lacking them), nothing else. Returns
 * VEJ_SDP_EINVAL for bad local params, an offer with nothing accepted, or
 * a description vej_sdp_parse_offer could not have produced (a non-token
 * mid, a non-ASCII fmtp, a codec not fitting its kind). */
enum vej_sdp_status vej_sdp_make_answer(const struct vej_sdp_description *offer,
                                        const struct vej_sdp_local *local, char **sdp_out,
                                        const char **reason);

/* Writes a subscribe offer (transfer full: *sdp_out, g_free): BUNDLE of
 * every mid, a=ice-options:trickle, ice-lite if asked, msid-semantic, and
 * per track: UDP/TLS/RTP/SAVPF with the first candidate's address and
 * port (port 9 and 0.0.0.0 without candidates; candidates are written on
 * the first m-line only), its PT with rtpmap/fmtp, rtcp-fb (video: nack,
 * nack pli, ccm fir, goog-remb), for sendonly video with rtx_pt its RTX
 * PT (rtpmap rtx/90000, fmtp apt) and a=ssrc-group:FID, the extmaps asked
 * for, ICE creds, fingerprint, a=setup:actpass, a=mid, sendonly or
 * inactive, rtcp-mux, and for sendonly a=msid and a=ssrc cname/msid (of
 * the RTX SSRC too). Zero tracks give a valid
 * SDP without m-lines or BUNDLE group. Returns VEJ_SDP_EINVAL (with a
 * reason) for bad params: duplicate or malformed mids, a codec not fitting
 * the kind, PT outside 96-127, bad ICE credentials or fingerprint. */
enum vej_sdp_status vej_sdp_make_offer(const struct vej_sdp_offer *offer, char **sdp_out,
                                       const char **reason);

/* Parses the client's answer to `offer` into *out (zeroed first). Same
 * size/encoding limits as vej_sdp_parse_offer (limits may be NULL).
 * Requires: as many m-lines as the offer with the same mids in the same
 * order, ICE creds (the same on every accepted m-line), a fingerprint,
 * setup active or passive (missing: active, RFC 8842), rtcp-mux and the
 * BUNDLE group on accepted m-lines, and on each accepted m-line a PT the
 * offer had for it (the first one is the codec). `accepted` is port != 0;
 * extmap holds the answer's ids for extensions we offered (others are
 * ignored); rtcp_fb the feedback types kept among those offered; has_rtx
 * whether the answer kept the track's RTX PT (listed on the m= line,
 * rtx/90000 with apt = the track's PT). */
enum vej_sdp_status vej_sdp_parse_answer(const char *sdp, size_t len,
                                         const struct vej_sdp_limits *limits,
                                         const struct vej_sdp_offer *offer,
                                         struct vej_sdp_description *out, const char **reason);

/* A trickled or inline candidate, as understood by the pre-check. */
struct vej_sdp_candidate_info {
    char foundation[VEJ_SDP_FOUNDATION_LEN];
    uint32_t component;
    enum vej_sdp_transport transport;
    uint32_t priority;
    char address[VEJ_SDP_ADDRESS_LEN];
    uint16_t port;
    enum vej_sdp_candidate_type type;
    bool mdns; /* address ends in ".local": the caller must ignore it */
};

/* Pre-validates one candidate attribute value (len bytes: "candidate:..."
 * with or without a leading "a="; not the empty end-of-candidates
 * string) before nice_agent_parse_remote_candidate_sdp sees it: at most
 * VEJ_SDP_CANDIDATE_LEN - 1 bytes, UTF-8 without control characters,
 * foundation 1-32 chars, component 1 (rtcp-mux), transport udp (tcp when
 * allow_tcp, with a tcptype), priority 1-2^32-1, a port 1-65535, a type
 * host/srflx/prflx/relay. The address is an IP literal or a name ending
 * in ".local" (info->mdns set: still VEJ_SDP_OK, the caller drops it);
 * IPv6 zone ids ("%eth0") are refused.
 * info may be NULL. */
enum vej_sdp_status vej_sdp_candidate_check(const char *candidate, size_t len, bool allow_tcp,
                                            struct vej_sdp_candidate_info *info,
                                            const char **reason);

/* Formats a host or srflx candidate ("candidate:...", no "a=", no CRLF)
 * into buf. Returns its length, VEJ_SDP_EINVAL for a bad candidate (empty
 * or non ice-char foundation, port 0, address not a numeric IP, srflx over
 * TCP or without a numeric raddr, another type) or VEJ_SDP_ENOSPACE when
 * size is too small. */
int vej_sdp_candidate_format(const struct vej_sdp_host_candidate *c, char *buf, size_t size);

/* Adds to `local` the candidates a 1:1 NAT gives: for each UDP host
 * candidate whose family has a public address in `nat` (and that is not
 * already that address), one with the public address and the same port:
 * srflx with raddr/rport the host's (0.0.0.0 or :: and 0 with
 * hide_private), priority type preference 100 over the host's local
 * preference; with as_host, type host one local preference below. They
 * come first (the first candidate is the m-lines' default address); the
 * host candidates follow, except those of a mapped family with
 * hide_private. Candidates beyond VEJ_SDP_MAX_CANDIDATES are left out,
 * last first. Returns the number of public candidates added. */
size_t vej_sdp_local_apply_nat(struct vej_sdp_local *local, const struct vej_sdp_nat *nat);

/* Formats a fingerprint as upper-case hex pairs joined by ':' into buf
 * (VEJ_SDP_FINGERPRINT_TEXT is enough). Returns its length, VEJ_SDP_EINVAL
 * when len does not match alg, VEJ_SDP_ENOSPACE. */
int vej_sdp_fingerprint_format(enum vej_sdp_fingerprint_alg alg, const uint8_t *fp, size_t len,
                               char *buf, size_t size);

/* The index of the m-line with that mid, or -1. */
int vej_sdp_find_mid(const struct vej_sdp_description *desc, const char *mid);
