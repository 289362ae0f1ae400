/* jsonrpc.h - the JSON-RPC 2.0 envelope of PROTOCOL.md "Conventions".
 *
 * Plain C over jansson: no main loop, no globals. Parsing refuses duplicate
 * keys, NUL in strings, batches (arrays), ids that are null, fractions,
 * objects, arrays or booleans, a missing or non-string method, a "jsonrpc"
 * other than "2.0", non-object params and unknown top-level members.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum vej_rpc_code {
    VEJ_RPC_PARSE_ERROR = -32700,
    VEJ_RPC_INVALID_REQUEST = -32600,
    VEJ_RPC_METHOD_NOT_FOUND = -32601,
    VEJ_RPC_INVALID_PARAMS = -32602,
    VEJ_RPC_INTERNAL = -32603,
    VEJ_RPC_UNAUTHENTICATED = 4001,
    VEJ_RPC_FORBIDDEN = 4003,
    VEJ_RPC_NOT_FOUND = 4004,
    VEJ_RPC_CONFLICT = 4009,
    VEJ_RPC_TOO_LARGE = 4013,
    VEJ_RPC_RATE_LIMITED = 4029,
};

/* HTTP status for an error code (PROTOCOL.md table); 500 for unknown codes. */
int vej_rpc_http_status(int code);

struct vej_rpc_request {
    json_t *root;       /* (owned) the whole message */
    json_t *id;         /* (borrowed from root) NULL for a notification */
    const char *method; /* (borrowed from root) */
    json_t *params;     /* (borrowed from root) an object; an empty one if absent */
};

/* Parses one message. Returns 0 and fills *req (free with
 * vej_rpc_request_clear) or a negative vej_rpc_code with a static message in
 * *why; *id_out then receives the request id when it could be read
 * (transfer full), else NULL. */
int vej_rpc_parse(const char *buf, size_t len, struct vej_rpc_request *req, json_t **id_out,
                  const char **why);
void vej_rpc_request_clear(struct vej_rpc_request *req);

/* Builders, each (transfer full). `id` is borrowed (copied in); NULL makes
 * "id": null. `result` and `params` are stolen. `field` and
 * `correlation_id` may be NULL (then error.data is omitted). */
json_t *vej_rpc_result(json_t *id, json_t *result);
json_t *vej_rpc_error(json_t *id, int code, const char *message, const char *field,
                      const char *correlation_id);
json_t *vej_rpc_notification(const char *method, json_t *params);

/* Serializes compactly (transfer full, g_free / free). */
char *vej_rpc_dump(const json_t *msg, size_t *len);
