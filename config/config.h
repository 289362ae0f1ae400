/* config.h - the configuration read at start-up, and the data directory.
 *
 * The documented default file is config/vej-gateway.conf (every option,
 * in place, with its default). The loader refuses unknown groups and keys
 * and bad values, naming the file, the key and the reason. Command-line
 * flags override the file. After start-up the configuration is read-only and
 * may be read from any thread.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

#define VEJ_CONFIG_ERROR (vej_config_error_quark())
GQuark vej_config_error_quark(void);
enum { VEJ_CONFIG_ERROR_INVALID, VEJ_CONFIG_ERROR_IO };

struct vej_config {
    /* [server] */
    char *listen_host;               /* "127.0.0.1" */
    int listen_port;                 /* 8443; 0 picks an ephemeral port */
    char *tls_cert;                  /* PEM path; empty: DATA_DIR/tls/cert.pem, self-signed */
    char *tls_key;                   /* PEM path; empty: DATA_DIR/tls/key.pem */
    char *public_url;                /* base of join_url; empty: https://HOST:PORT */
    char *web_root;                  /* static files; empty: the built-in web/ folder */
    size_t max_message_bytes;        /* 262144: WebSocket messages and HTTP bodies */
    int unauthenticated_timeout_s;   /* 10: socket closed without session.hello */
    size_t ws_queue_max;             /* 1024 outbound messages per socket */
    int rpc_rate_per_s;              /* 50 requests/s per socket (token bucket) */
    int rpc_burst;                   /* 100 */
    int max_connections;             /* 10000 */
    int max_connections_per_address; /* 200 open TCP connections */
    char *address_allowlist;         /* CIDRs exempt from the per-address limit: "" */
    size_t max_unauthenticated_message_bytes; /* 8192: before session.hello */
    int reserved_authenticated_connections;   /* 100 slots only sessions may hold */
    int max_hash_queue;                       /* 64 password hashes waiting at most */
    /* [store] */
    char *data_dir;            /* "./data" */
    char *store_backend;       /* "sqlite" */
    int audit_head_interval_s; /* 300 */
    char *signing_key;         /* "": DATA_DIR/secrets/signing-key.pem (Ed25519, PKCS#8 PEM) */
    /* [auth] */
    char *token_issuer;            /* "vej-gateway" */
    int staff_session_ttl_s;       /* 43200 */
    int join_token_ttl_s;          /* 604800: validity after the hearing's end */
    int login_attempts_per_minute; /* 10 per username and per client address */
    char *require_totp_roles;      /* staff roles that must use a second factor: "" */
    int resume_grace_s;            /* 30 */
    int scrypt_threads;            /* 2 */
    /* [hearing] */
    int max_participants; /* 64 per hearing */
    /* [media] */
    int recording_segment_seconds; /* a capture segment is cut at least this often */
    int recording_ring_kib;        /* the recorder's ring per media worker */
    int recording_drain_ms;        /* the recorder drains its rings this often */
    int media_workers;             /* 0: number of cores */
    char *media_addresses;         /* "": every interface; else comma-separated IPs */
    int media_port_min;            /* 0: any UDP port */
    int media_port_max;
    bool media_ipv6;                 /* false */
    bool media_ice_tcp;              /* false */
    bool media_ice_lite;             /* false */
    char *media_public_ipv4;         /* "": none; a 1:1 NAT address to advertise */
    char *media_public_ipv6;         /* "": none; the same for IPv6 (needs media_ipv6) */
    bool media_advertise_private;    /* true: keep the private candidates beside the public */
    int media_max_remote_candidates; /* 64 per PeerConnection */
    int media_max_media_per_offer;   /* 16 m-lines per publish offer */
    int media_max_media_per_subscribe; /* 64 m-lines per subscribe PC, then a fresh one */
    char *media_codecs;              /* "opus,vp8,h264": the codecs forwarded */
    /* Per publish PC and kind (0: no limit, except tracks): sending
     * m-lines 2 audio / 3 video, 512 / 20000 kbit/s, 300 / 5000 packets/s. */
    int media_max_publish_audio_tracks, media_max_publish_video_tracks;
    int media_max_publish_audio_kbps, media_max_publish_video_kbps;
    int media_max_publish_audio_pps, media_max_publish_video_pps;
    char *media_dtls_cert;           /* "": one fresh ECDSA P-256 certificate per run */
    char *media_dtls_key;            /* PEM key of media_dtls_cert */
    /* [ice]: servers handed to clients in session.hello */
    char *ice_stun_urls;        /* "": none; comma-separated stun: URLs */
    char *ice_turn_urls;        /* "": none; comma-separated turn:/turns: URLs */
    char *ice_turn_secret_file; /* coturn's static-auth-secret (or VEJ_TURN_SECRET) */
    int ice_turn_ttl_s;         /* 3600: lifetime of a TURN credential */
    /* [log] */
    char *log_level; /* "info": error, warning, info, debug */
};

/* Defaults, as documented in config/vej-gateway.conf. */
typedef struct vej_config vej_config; /* for g_autoptr(vej_config) */
struct vej_config *vej_config_new(void);
void vej_config_free(struct vej_config *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vej_config, vej_config_free)

/* Reads `path` over the current values. Unknown group or key, bad value:
 * FALSE with a message "FILE: [group] key: reason". */
gboolean vej_config_load_file(struct vej_config *c, const char *path, GError **error);

/* Parses argv (--config FILE, --data-dir DIR, --listen HOST:PORT, --version,
 * --help), loading the file given by --config (or none) first and then
 * applying the flags. On --version/--help prints and sets *exit_now to
 * TRUE. */
gboolean vej_config_from_args(struct vej_config *c, int *argc, char ***argv, gboolean *exit_now,
                              GError **error);

/* Parses "HOST:PORT" or "[V6]:PORT". */
gboolean vej_config_parse_listen(const char *text, char **host, int *port, GError **error);

/* The data directory: created 0700 if missing. */
gboolean vej_data_dir_ensure(const char *data_dir, GError **error);

/* A secret of `len` random bytes: from environment variable `env_name`
 * (base64url or standard base64; at least `len` bytes after decoding) when
 * set, else DATA_DIR/secrets/NAME, created with mode 0600 on first use.
 * Never logged. Returns (transfer full) bytes. */
GBytes *vej_secret_load(const char *data_dir, const char *name, const char *env_name, size_t len,
                        GError **error);

/* Ensures a certificate and key exist at the paths; if both are missing,
 * makes a self-signed ECDSA P-256 certificate for "localhost" and
 * 127.0.0.1, ::1 (key 0600). */
gboolean vej_tls_ensure_self_signed(const char *cert_path, const char *key_path, GError **error);

/* Installs the process-wide log writer (timestamps, level filter; messages
 * at or above `level`). */
void vej_log_init(const char *level);

G_END_DECLS
