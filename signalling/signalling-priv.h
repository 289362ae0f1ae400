/* signalling-priv.h - internals shared by the files of signalling/.
 *
 * Every structure here belongs to the signalling thread. Sockets, sessions
 * and hearings refer to each other by pointer only on that thread; other
 * threads post closures through vej__post().
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "signalling/jsonrpc.h"
#include "signalling/policy.h"
#include "signalling/server.h"
#include "store/audit.h"
#include "store/store.h"

struct vej_session;
struct vej_live_hearing;
struct vej_relay;
struct vej_relay_callbacks;
struct vej_live_participant;

/* Counters served on /metrics. */
struct vej_metrics {
    uint64_t ws_connections_total;
    uint64_t ws_refused_total;
    uint64_t rpc_requests_total;
    uint64_t rpc_errors_total;
    uint64_t rpc_notifications_dropped_total; /* client notifications not allowed */
    uint64_t rpc_rate_limited_total;
    uint64_t rpc_too_large_total;
    uint64_t ws_queue_overflow_total;
    uint64_t http_requests_total;
    uint64_t http_errors_total;
    uint64_t logins_total;
    uint64_t login_failures_total;
    uint64_t login_rate_limited_total;
    uint64_t hearing_participant_limit_total;
    uint64_t audit_write_failures_total;  /* vej__audit_sync entries not committed */
    uint64_t address_limit_total;         /* connections refused: too many from one address */
    uint64_t connection_limit_total;      /* connections refused: max_connections + 64 open */
    uint64_t unauthenticated_limit_total; /* sockets refused: no slot without a session */
    uint64_t hash_queue_full_total;       /* logins refused: the hashing queue was full */
};

/* How many shared message texts are kept (vej__conn_share). */
#define VEJ_SHARED_TEXTS 16
/* How late at most an lws timer (timeouts, pings, ours) runs, in seconds. */
#define VEJ_LWS_TICK_S 0.05
/* TCP connections of every kind (HTTP, WebSocket, TLS handshakes) beyond
 * [server] max_connections that the server accepts. */
#define VEJ_EXTRA_CONNECTIONS 64

struct vej_signalling {
    const struct vej_config *config;
    vej_store *store;
    vej_audit_writer *audit;
    char *db_path;
    GBytes *token_key;     /* the configured secret: only keys are derived from it */
    GBytes *join_key;      /* HKDF(token_key, VEJ_KEY_INFO_JOIN): signs join tokens */
    GBytes *pseudonym_key; /* HKDF(token_key, VEJ_KEY_INFO_PSEUDONYM): anon_ ids */
    GBytes *totp_key;      /* HKDF(token_key, VEJ_KEY_INFO_TOTP): seals TOTP secrets */
    /* The texts of the last messages shared by many sockets
     * (vej__conn_share), by message: a ring, each entry holding a ref. */
    struct vej_shared_text {
        json_t *msg;
        char *text;
        size_t len;
    } shared[VEJ_SHARED_TEXTS];
    unsigned shared_next;
    char token_kid[16];
    char public_url[256];
    char *web_root;

    struct ev_loop *loop; /* epoll, by libev: one wakeup costs what is ready, not what is open */
    ev_timer lws_tick;    /* VEJ_LWS_TICK_S: bounds how late an lws timer runs (server.c) */
    struct lws_context *lws;
    struct lws_vhost *vhost;
    int port;

    volatile sig_atomic_t stop_requested;
    bool stopping;
    bool stopped;
    lws_sorted_usec_list_t sul_stop;
    lws_sorted_usec_list_t sul_audit_head;
    lws_sorted_usec_list_t sul_retention;

    GMutex post_lock;
    GQueue posts; /* struct vej_post * */

    GThreadPool *hash_pool;
    struct vej_relay *relay;       /* the media relay (owned) */
    struct vej_recorder *recorder; /* the recorder (owned), fed by the relay's tap */
    struct vej_finisher *finisher; /* archives and seals finished recordings (owned) */
    GHashTable *archive_progress;  /* recording id -> double *: archiving now */
    struct vej_signer *signer;     /* evidence signing key (borrowed; set by main) */
    char *turn_secret;             /* shared secret for TURN credentials, or NULL */

    /* The generation of the last vej_relay_set_policy, over all hearings. */
    uint64_t policy_generation;
    uint64_t next_id;
    GHashTable *conns;        /* conn id (uint64 *) -> struct vej_conn * */
    GHashTable *http_reqs;    /* request id (uint64 *) -> struct vej_http_req * */
    GHashTable *sessions;     /* session id -> struct vej_session * */
    GHashTable *resume_index; /* resume token hash (hex) -> struct vej_session * */
    GHashTable *hearings;     /* hearing id -> struct vej_live_hearing * */
    GHashTable *per_address;  /* client address -> GINT open TCP connections (limits.c) */
    GHashTable *net_conns;    /* struct lws * -> its address (char *), for the release */
    GHashTable *throttles;    /* login throttle key -> struct throttle * (limits.c) */
    GQueue throttle_lru;      /* struct throttle *, least recently used first */
    GHashTable *media_queues; /* participant id -> webrtc.* requests in the relay (media.c) */
    bool hsts;                /* a configured, not self-signed, certificate: send HSTS */

    struct vej_metrics metrics;
    int64_t started_at;
};

/* One WebSocket connection. */
struct vej_conn {
    uint64_t id;
    struct lws *wsi;
    struct vej_signalling *s;
    GByteArray *rx;
    bool rx_overflow;
    bool rx_binary;
    GQueue outq; /* GBytes: LWS_PRE bytes of room, then the text */
    struct vej_session *session;
    double bucket;
    int64_t bucket_at_us;
    bool closing;
    /* While a request is handled its notifications are held back, so that
     * the result goes first (PROTOCOL.md); a close waits for them too. */
    bool holding;
    GQueue held; /* json_t * */
    bool close_pending;
    /* Messages held back until a hearing's relay enforces the policy
     * change they announce (struct vej_gated, in order; docs/architecture.md
     * "enforce before announce"); everything after the first waits too. */
    GQueue deferred;
    struct vej_live_hearing *waiting_on; /* listed in its policy_waiters */
    int close_code;
    char close_reason[64];
    char peer[64];
};

enum vej_identity_kind { VEJ_IDENTITY_STAFF, VEJ_IDENTITY_PARTICIPANT };

/* A signalling session: outlives its socket for the grace period. */
struct vej_session {
    char id[48];
    struct vej_signalling *s;
    struct vej_conn *conn; /* NULL while waiting for a resume */
    uint8_t resume_hash[32];
    bool has_resume;
    enum vej_identity_kind kind;
    /* staff */
    char *user_id;
    char *user_role; /* clerk, judge, evidential, admin */
    uint8_t staff_token_hash[32];
    int64_t staff_expires_at; /* the staff token's expiry: checked per request */
    /* participant identity (join token), or the participant a staff
     * account joined as */
    char *participant_id;
    char *hearing_id;
    char *display_name;
    char *role;
    struct vej_live_participant *participant; /* set while joined */
    lws_sorted_usec_list_t grace_sul;
    bool grace_armed;
};

struct vej_live_participant {
    char *id;
    char alias[32]; /* pseudonym shown to those it is screened from */
    enum vej_role role;
    char *display_name;
    char *user_id;
    char place[VEJ_PLACE_MAX];
    int64_t last_request_us; /* monotonic time of the last hearing.request */
    bool admitted;
    bool muted[VEJ_MEDIA_N];
    bool audio_only;
    bool anonymous;
    uint32_t media_index;     /* the relay's policy index (1..): unique among the joined */
    bool media_bound;         /* the relay was given media_index for this participant */
    GPtrArray *screened_from; /* char * */
    struct vej_session *session;
    struct vej_live_hearing *hearing;
    GHashTable *view; /* other participant (pointer) -> GINT (enum vej_visibility + 1) */
};

struct vej_live_hearing {
    struct vej_signalling *s;
    char *id;
    char *courtroom_id;
    char *case_reference;
    char *title;
    int64_t starts_at;
    int64_t ends_at;
    enum vej_hearing_state state;
    GPtrArray *participants; /* joined: struct vej_live_participant * */
    bool media;              /* someone published or subscribed: keep the relay's policy */
    char *recording_state;   /* the last recording.state, NULL before any */
    GHashTable *mutes;       /* participant id -> GINT (1 audio | 2 video): kept across rejoins */
    /* The relay's policy: the generation last handed to it and the last it
     * reported enforced; sockets whose messages wait for it (conn ids). */
    uint64_t policy_posted, policy_applied;
    bool policy_synced;     /* the relay has every binding and cell of the hearing */
    GArray *policy_waiters; /* uint64_t */
    GQueue policy_http;     /* struct vej_gated_http: REST answers waiting likewise */
};

struct vej_http_req;

/* server.c */
typedef void (*vej_post_fn)(struct vej_signalling *s, void *data);
/* Thread-safe: runs fn(s, data) on the signalling thread. */
void vej__post(struct vej_signalling *s, vej_post_fn fn, void *data);
/* Queues a message on a socket (transfer none of msg). */
void vej__conn_send(struct vej_conn *c, json_t *msg);
/* msg (never changed after this call) is about to be sent to many sockets:
 * it is serialised once, now, and its text reused by every send of the same
 * json_t while it is among the last VEJ_SHARED_TEXTS shared. */
void vej__conn_share(struct vej_signalling *s, json_t *msg);
/* Closes a socket after its queued messages with a WebSocket close code. */
void vej__conn_close(struct vej_conn *c, int code, const char *reason);
/* Queues a message after the hearing's relay enforces the policy handed
 * to it so far (h NULL: after what is already held back only); the
 * socket's messages keep their order. vej__conn_send() gates by the
 * session's hearing. */
void vej__conn_send_gated(struct vej_conn *c, json_t *msg, struct vej_live_hearing *h);
/* The relay reported h's policy enforced up to h->policy_applied: the
 * messages that waited for it go. */
void vej__conn_policy_applied(struct vej_signalling *s, struct vej_live_hearing *h);
/* A REST answer (body stolen) sent once h's relay enforces the policy
 * handed to it so far, at once when nothing waits (h may be NULL). */
void vej__http_respond_json_gated(struct vej_http_req *r, struct vej_live_hearing *h, int status,
                                  json_t *body);
/* Frees what a hearing's gate still holds (shutdown). */
void vej__policy_gate_clear(struct vej_live_hearing *h);
/* Holds back messages (see vej_conn.holding) until vej__conn_release(),
 * which sends `first` (transfer none, may be NULL) then what was held. */
void vej__conn_hold(struct vej_conn *c);
void vej__conn_release(struct vej_conn *c, json_t *first);
void vej__audit(struct vej_signalling *s, const char *actor, const char *action, const char *target,
                json_t *detail /* stolen, may be NULL */);
/* Audits a change of exposure and waits until the entry is committed:
 * true when it is. A change that widens exposure is made only after a
 * true answer; a protective change is made anyway, and on false the
 * hearing's clerks get an alert (docs/protocol.md "Audit"). detail stolen. */
bool vej__audit_sync(struct vej_signalling *s, const char *actor, const char *action,
                     const char *target, json_t *detail);
/* The asynchronous form: fn(s, ok, data) runs on this thread once the
 * entry is committed (ok) or failed; always exactly once. detail stolen. */
typedef void (*vej_audit_then_fn)(struct vej_signalling *s, bool ok, void *data);
void vej__audit_then(struct vej_signalling *s, const char *actor, const char *action,
                     const char *target, json_t *detail, vej_audit_then_fn fn, void *data);
char *vej__correlation_id(void);
/* Runs work(data) on the hashing pool, then done(s, data) on this thread.
 * False (nothing queued, nothing called) when [auth] max_hash_queue jobs
 * are already waiting: the caller answers 429. */
bool vej__hash_submit(struct vej_signalling *s, void (*work)(void *data),
                      void (*done)(struct vej_signalling *s, void *data), void *data);
char *vej__rfc3339(int64_t unix_s);
bool vej__parse_rfc3339(const char *text, int64_t *out);

/* limits.c: per-address limits and login throttling (signalling thread). */
bool vej__address_allowlist_valid(const char *list, const char **bad);
bool vej__address_allowlisted(struct vej_signalling *s, const char *peer);
/* The address holds max_connections_per_address already (and is not
 * allowlisted); counted in vej_address_limit_total. */
bool vej__address_full(struct vej_signalling *s, const char *peer);
/* Counts one more connection of the address; false (nothing counted)
 * when full, unless `force`. */
bool vej__address_take(struct vej_signalling *s, const char *peer, bool force);
void vej__address_release(struct vej_signalling *s, const char *peer);
void vej__throttle_init(struct vej_signalling *s);
void vej__throttle_clear(struct vej_signalling *s);
/* Counts a login attempt; true when it must be refused (429). */
bool vej__login_throttled(struct vej_signalling *s, const char *username, const char *peer);
/* A good login clears the backoff of its (username, address). */
void vej__login_succeeded(struct vej_signalling *s, const char *username, const char *peer);

/* http.c (REST and static files) */
struct vej_http_req *vej__http_req_new(struct vej_signalling *s, struct lws *wsi);
void vej__http_req_free(struct vej_http_req *r);
int vej__http_on_request(struct vej_http_req *r, const char *uri);
int vej__http_on_body(struct vej_http_req *r, const void *in, size_t len);
int vej__http_on_body_done(struct vej_http_req *r);
int vej__http_on_writeable(struct vej_http_req *r);
/* Responses; json bodies are stolen. Safe after an async wait. */
void vej__http_respond_json(struct vej_http_req *r, int status, json_t *body);
void vej__http_respond_error(struct vej_http_req *r, int code, const char *message);
/* A streamed response body (large files, bundles): read() fills up to cap
 * bytes and returns how many (-1: abandon the response and close the
 * socket); free(ctx) runs once, when the response ends or the socket goes. */
struct vej_http_stream {
    gssize (*read)(void *ctx, uint8_t *buf, size_t cap);
    void (*free)(void *ctx);
    void *ctx;
};
/* Answers with exactly `length` bytes from `stream` (transfer full), a
 * chunk per writeable turn, never the whole body in memory. `headers` are
 * extra "name:", "value" pairs, NULL-terminated (copied). */
void vej__http_respond_stream(struct vej_http_req *r, int status, const char *ctype,
                              uint64_t length, const char *const *headers,
                              struct vej_http_stream stream);
uint64_t vej__http_req_id(struct vej_http_req *r);
struct vej_signalling *vej__http_server(struct vej_http_req *r);
/* Copies a request header (an lws WSI_TOKEN_*); its length or -1. */
int vej__http_header(struct vej_http_req *r, int token, char *out, size_t cap);
struct vej_http_req *vej__http_req_lookup(struct vej_signalling *s, uint64_t id);
const char *vej__http_peer(struct vej_http_req *r);

/* auth.c */
/* REST staff authentication: returns the user (transfer full) or NULL after
 * responding with the error. `allowed_roles` is a bitmask of
 * VEJ_STAFF_* (0: any role); must_change_password accounts are refused
 * unless allow_password_change. */
enum {
    VEJ_STAFF_CLERK = 1 << 0,
    VEJ_STAFF_JUDGE = 1 << 1,
    VEJ_STAFF_EVIDENTIAL = 1 << 2,
    VEJ_STAFF_ADMIN = 1 << 3,
};
unsigned vej__staff_role_bit(const char *role);
struct vej_user *vej__http_auth_staff(struct vej_http_req *r, unsigned allowed_roles,
                                      bool allow_password_change);
/* Looks a staff bearer token up: 0 and *user on success, else an error code
 * (4001, 4003) and a static message. */
int vej__staff_token_check(struct vej_signalling *s, const char *token, struct vej_user **user,
                           uint8_t hash_out[32], const char **why);
void vej__http_login(struct vej_http_req *r, json_t *body);
/* rest-totp.c: a recovery code as stored (hashed): upper case, no '-' or
 * spaces (transfer full). */
char *vej__recovery_code_normalise(const char *code);
/* [auth] require_totp_roles names the role. */
bool vej__totp_required(struct vej_signalling *s, const char *role);
/* The account has a confirmed second factor. */
bool vej__totp_enabled(struct vej_signalling *s, const char *user_id);
/* An account's TOTP state with its secret in the clear, and setting one:
 * the store keeps secrets sealed (totp.h) under totp_key. A secret that
 * does not open is VEJ_STORE_ERROR_CORRUPT. */
gboolean vej__totp_get(struct vej_signalling *s, const char *user_id, struct vej_totp_state *st,
                       GError **error);
gboolean vej__totp_set(struct vej_signalling *s, const char *user_id, const char *secret,
                       bool enabled, GError **error);
/* Seals every secret the store still holds in the clear (start-up). */
gboolean vej__totp_seal_all(struct vej_signalling *s, GError **error);
/* The account must first change its password or enrol a second factor
 * (*why says which); it may then use only the account routes. */
bool vej__account_setup_pending(struct vej_signalling *s, const struct vej_user *user,
                                const char **why);
/* Deny by default: may the account act in the courtroom (assigned, or an
 * admin; vej_store_user_may_act)? A store failure answers false. */
bool vej__staff_may_act(struct vej_signalling *s, const char *user_id, const char *courtroom_id);
/* Ends the WebSocket sessions of a staff account (user_id) or of one staff
 * token (token_hash); either may be NULL. */
void vej__end_staff_sessions(struct vej_signalling *s, const char *user_id,
                             const uint8_t *token_hash, const char *reason);
void vej__http_logout(struct vej_http_req *r);
void vej__http_change_password(struct vej_http_req *r, json_t *body);
/* A join token's participant: 0 and the row on success, else 4001 and why. */
int vej__join_token_check(struct vej_signalling *s, const char *token,
                          struct vej_participant_row **row, const char **why);
/* Signs a fresh join token for a participant row; (transfer full). */
char *vej__join_token_issue(struct vej_signalling *s, const struct vej_participant_row *row,
                            const struct vej_hearing_row *hearing);
char *vej__join_url(struct vej_signalling *s, const char *token);

/* rpc.c (WebSocket methods) */
void vej__rpc_on_message(struct vej_conn *c, const char *buf, size_t len);
void vej__rpc_on_close(struct vej_conn *c);

/* session.c */
struct vej_session *vej__session_new(struct vej_signalling *s, enum vej_identity_kind kind);
/* Issues a fresh single-use resume token into out (44 bytes). */
bool vej__session_rotate_resume(struct vej_session *sess, char out[44]);
struct vej_session *vej__session_by_resume(struct vej_signalling *s, const char *token);
/* The session (staff or join link) holding participant `pid`, or NULL. */
struct vej_session *vej__session_of_participant(struct vej_signalling *s, const char *pid);
/* The join-link session of participant `pid` (never a staff session). */
struct vej_session *vej__session_of_link(struct vej_signalling *s, const char *pid);
/* Binds a session to a socket, closing any other socket it had (4009). */
void vej__session_attach(struct vej_session *sess, struct vej_conn *c);
/* Socket gone: the session waits resume_grace_s for a resume. */
void vej__session_detach(struct vej_session *sess);
/* Ends a session: leaves its hearing with `reason` and frees it. */
void vej__session_end(struct vej_session *sess, const char *reason);
void vej__session_send(struct vej_session *sess, json_t *msg /* transfer none */);

/* hearing.c (live hearings) */
struct vej_live_hearing *vej__hearing_get(struct vej_signalling *s, const char *id, int *code,
                                          const char **why);
struct vej_live_participant *vej__hearing_find(struct vej_live_hearing *h, const char *pid);
/* A participant as the policy function sees it (borrowing its strings);
 * ignore_mutes answers "were nobody muted". */
void vej__participant_party(const struct vej_live_participant *p, bool ignore_mutes,
                            struct vej_policy_party *out);
/* Joins a session's participant (idempotent); fills *result (transfer full). */
int vej__hearing_join(struct vej_live_hearing *h, struct vej_session *sess,
                      const struct vej_participant_row *row, json_t **result, const char **why);
json_t *vej__hearing_snapshot(struct vej_live_hearing *h, struct vej_live_participant *viewer);
void vej__hearing_leave(struct vej_live_participant *p, const char *reason);
/* Sends a notification (params stolen; hearing_id added) to a joined
 * participant's socket, if it has one. */
void vej__hearing_notify(struct vej_live_participant *to, const char *method, json_t *params);
/* The id `viewer` may be shown for participant `pid`, by the roster's
 * rule: the real one when seen in full, the roster's pseudonym when seen
 * by role only, and an opaque id of this receiver's own when hidden from
 * it. False when `pid` is not joined. Used for media.tracks and alerts. */
#define VEJ_SHOWN_ID_MAX 32
bool vej__hearing_shown_id(struct vej_live_hearing *h, struct vej_live_participant *viewer,
                           const char *pid, char out[VEJ_SHOWN_ID_MAX]);
int vej__hearing_admit(struct vej_live_hearing *h, struct vej_live_participant *target,
                       const char **why);
int vej__hearing_move(struct vej_live_hearing *h, struct vej_live_participant *target,
                      const char *place, const char **why);
/* A join link was used again while its participant is joined: the
 * participant goes back to the lobby, and admitted clerks and judges get
 * lobby.waiting and an alert (code link_reused). */
void vej__hearing_takeover(struct vej_live_hearing *h, struct vej_live_participant *target);
/* Minimum seconds between two hearing.request of one participant. */
#define VEJ_REQUEST_INTERVAL_S 30
/* A participant's request (kind "consultation"): an `alert`
 * consultation_requested to the admitted clerks, naming the participant
 * as each clerk may see them. */
void vej__hearing_request(struct vej_live_hearing *h, struct vej_live_participant *from,
                          const char *kind);
/* Sends an `alert` to the hearing's admitted clerks (message names nobody). */
void vej__hearing_alert_clerks(struct vej_live_hearing *h, const char *code, const char *severity,
                               const char *message);
/* The protective change was made but its audit entry was not written. */
void vej__hearing_audit_failed(struct vej_signalling *s, const char *hearing_id);
void vej__hearing_mute(struct vej_live_hearing *h, struct vej_live_participant *target,
                       enum vej_media_kind kind, bool muted);
/* Applies a new state already stored; notifies and ends sessions on close. */
void vej__hearing_apply_state(struct vej_live_hearing *h, enum vej_hearing_state state);
/* Re-reads a participant's display name / special measures (after PATCH). */
void vej__hearing_apply_participant(struct vej_signalling *s, const char *hearing_id,
                                    const struct vej_participant_row *row);
/* A participant was removed (its link revoked): ends its session. */
void vej__hearing_removed(struct vej_signalling *s, const char *hearing_id, const char *pid);
/* Validates and normalises special_measures; (transfer full) JSON text. */
char *vej__special_measures_normalise(json_t *sm, const char **why, const char **field);
json_t *vej__hearing_row_json(const struct vej_hearing_row *h);
json_t *vej__participant_row_json(const struct vej_participant_row *p);
/* Shared state change used by REST and JSON-RPC: 0 or an error code. */
int vej__hearing_set_state(struct vej_signalling *s, const char *hearing_id, const char *state,
                           const char *actor, json_t **hearing_out, const char **why);
/* Shared special-measures change used by REST and JSON-RPC. */
int vej__participant_update(struct vej_signalling *s, const char *hearing_id, const char *pid,
                            json_t *display_name, json_t *special_measures, const char *actor,
                            json_t **out, const char **why, const char **field);

/* media.c (webrtc.* and the relay bridge) */
enum vej_relay_pc;
void vej__media_callbacks(struct vej_signalling *s, struct vej_relay_callbacks *cb);
/* Makes sure the relay has the hearing's whole policy (the first time it
 * has media, or after it was closed there). */
void vej__media_policy_update(struct vej_signalling *s, struct vej_live_hearing *h);
/* subject's place, mutes or measures changed (NULL: the hearing's state):
 * the policy cells that depend on it go to the relay, O(N) (O(N^2) for
 * NULL). Call before announcing the change: messages sent to the
 * hearing's sockets afterwards wait until the relay enforces it. */
void vej__media_policy_changed(struct vej_signalling *s, struct vej_live_hearing *h,
                               struct vej_live_participant *subject);
/* p leaves: its policy index is freed (nothing flows to or from it). */
void vej__media_policy_leave(struct vej_signalling *s, struct vej_live_hearing *h,
                             struct vej_live_participant *p);
/* The hearing's media state in the relay is gone (closed). */
void vej__media_policy_reset(struct vej_live_hearing *h);
void vej__media_alert(struct vej_signalling *s, struct vej_live_participant *about,
                      const char *code, const char *message);
/* Where a webrtc.* request is answered once the relay has run it. */
struct vej_media_reply {
    uint64_t conn_id;
    const char *session_id;
    json_t *id; /* the request's id (transfer none); NULL: a notification */
};
/* Each posts the request to the relay and returns 0: the answer (result or
 * error) goes to `to` when the relay's report comes back, in the order of
 * the participant's requests, and never to another socket or session. Or
 * a JSON-RPC code with *error set: refused at once, nothing posted. */
int vej__media_publish(struct vej_signalling *s, struct vej_live_participant *me,
                       const struct vej_media_reply *to, const char *sdp, GError **error);
int vej__media_subscribe(struct vej_signalling *s, struct vej_live_participant *me,
                         const struct vej_media_reply *to, GError **error);
int vej__media_answer(struct vej_signalling *s, struct vej_live_participant *me,
                      const struct vej_media_reply *to, const char *sdp, uint64_t revision,
                      GError **error);
int vej__media_candidate(struct vej_signalling *s, struct vej_live_participant *me,
                         const struct vej_media_reply *to, enum vej_relay_pc pc,
                         const char *candidate, GError **error);
int vej__media_restart_ice(struct vej_signalling *s, struct vej_live_participant *me,
                           const struct vej_media_reply *to, GError **error);
/* The participant's session was resumed: a subscribe offer it may have
 * missed is sent again (a new revision). */
void vej__media_resumed(struct vej_signalling *s, struct vej_live_participant *p);
/* Frees the requests still waiting for the relay (shutdown, after it). */
void vej__media_free(struct vej_signalling *s);
/* The ice_servers of session.hello for a session whose id (participant or
 * staff account) names the TURN username (transfer full). */
json_t *vej__media_ice_servers(struct vej_signalling *s, const char *id);
/* Reads the TURN secret when TURN servers are configured. */
gboolean vej__media_load_turn_secret(struct vej_signalling *s, GError **error);
/* Closes a leaving participant's PeerConnections. */
void vej__media_leave(struct vej_signalling *s, struct vej_live_participant *p);
/* The hearing closed: its media state in the relay goes. */
void vej__media_hearing_closed(struct vej_signalling *s, struct vej_live_hearing *h);

/* recording.c (the recorder's bridge) */
/* Starts the recorder and gives the relay its tap. */
gboolean vej__recording_start(struct vej_signalling *s, GError **error);
/* Tells the recorder the hearing's state and participants after a change. */
void vej__recording_sync(struct vej_signalling *s, struct vej_live_hearing *h);
/* The same for a hearing nobody has joined (a state change through REST). */
struct vej_hearing_row;
void vej__recording_sync_row(struct vej_signalling *s, const struct vej_hearing_row *row);
/* Runs the archiver again on a finished recording, then a new manifest
 * revision (POST /recordings/{id}/archive). false when it cannot start. */
bool vej__recording_rearchive(struct vej_signalling *s, const char *recording_id);
/* Queues recordings a restart left unarchived or unsealed (the signer set). */
void vej__recording_requeue_unfinished(struct vej_signalling *s);
/* rest-recordings.c: the retention sweep (at start, then hourly). */
void vej__recordings_sweep(struct vej_signalling *s);

/* metrics.c */
char *vej__metrics_text(struct vej_signalling *s, size_t *len);
