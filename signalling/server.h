/* server.h - the signalling server: one libwebsockets context serving
 * JSON-RPC over wss://HOST:PORT/ws, REST under /api/v1, static web/ files,
 * /healthz and /metrics.
 *
 * Everything runs on the thread that calls vej_signalling_run(), except
 * password hashing (a thread pool) and audit commits (the audit writer's
 * thread). Other threads reach the server only through
 * vej_signalling_request_stop() and the internal post queue.
 */
#pragma once

#include <glib.h>

#include "config/config.h"
#include "store/audit.h"
#include "store/store.h"

G_BEGIN_DECLS

struct vej_signalling;

/* Creates the server and binds its listening socket. Borrows config, store
 * and audit writer, which must outlive it. `token_key` is the join-token
 * HMAC key (transfer none). */
struct vej_signalling *vej_signalling_new(const struct vej_config *config, vej_store *store,
                                          vej_audit_writer *audit, const char *db_path,
                                          GBytes *token_key, GError **error);

/* The bound TCP port (useful with port 0). */
int vej_signalling_port(struct vej_signalling *s);

/* Serves until a stop is requested and the shutdown has completed. */
void vej_signalling_run(struct vej_signalling *s);

/* Async-signal-safe and thread-safe: begins the graceful shutdown (refuse
 * new joins, session.closing to everyone, close sockets). */
void vej_signalling_request_stop(struct vej_signalling *s);

void vej_signalling_free(struct vej_signalling *s);

struct vej_signer;
/* Hands the server the evidence signing key (recording/sign.h), borrowed:
 * it must outlive the server. Signs audit heads and serves GET /keys. */
void vej_signalling_set_signer(struct vej_signalling *s, struct vej_signer *signer);

G_END_DECLS
