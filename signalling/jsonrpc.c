/* jsonrpc.c - the JSON-RPC 2.0 envelope of PROTOCOL.md "Conventions".
 *
 * How a message is classified (the first rule that applies wins):
 *
 *   -32700  not JSON at all (RFC 8259 syntax error, invalid UTF-8, empty).
 *   -32600  valid JSON that is not an acceptable request object: a top
 *           level that is not an object (a batch, empty or not, a number, a
 *           string...), duplicate keys anywhere, "\u0000" in a string,
 *           nesting deeper than jansson's limit (JSON_PARSER_MAX_DEPTH), a
 *           number jansson cannot hold. The id cannot be trusted: id null.
 *   -32600  a bad "id" (null, a real - even 1.0 -, a boolean, an object, an
 *           array, a string over 128 bytes): id null in the reply.
 *   -32600  an unknown top-level member, "jsonrpc" other than the string
 *           "2.0", "method" missing, not a string or not 1..64 characters
 *           of [a-z0-9._]: the id is echoed.
 *   -32602  "params" present but not an object: the id is echoed.
 *
 * A well-formed message without "id" is a notification: parse succeeds with
 * req->id == NULL and the caller never answers it. A message without "id"
 * that is not a well-formed request is not a notification: as in the
 * JSON-RPC 2.0 specification's own examples, it is answered with id null
 * (parse fails with *id_out == NULL).
 */
#include "signalling/jsonrpc.h"

#include "signalling/jsonout.h"

#include <stdlib.h>
#include <string.h>

#define VEJ_RPC_ID_MAX 128
#define VEJ_RPC_METHOD_MAX 64

int
vej_rpc_http_status(int code)
{
    switch (code) {
    case VEJ_RPC_PARSE_ERROR:
    case VEJ_RPC_INVALID_REQUEST:
    case VEJ_RPC_INVALID_PARAMS:
        return 400;
    case VEJ_RPC_METHOD_NOT_FOUND:
    case VEJ_RPC_NOT_FOUND:
        return 404;
    case VEJ_RPC_INTERNAL:
        return 500;
    case VEJ_RPC_UNAUTHENTICATED:
        return 401;
    case VEJ_RPC_FORBIDDEN:
        return 403;
    case VEJ_RPC_CONFLICT:
        return 409;
    case VEJ_RPC_TOO_LARGE:
        return 413;
    case VEJ_RPC_RATE_LIMITED:
        return 429;
    default:
        return 500;
    }
}

/* Classifies a json_loadb failure. jansson reports a scalar top level
 * (refused without JSON_DECODE_ANY) as a plain syntax error, so such a
 * failure is parsed again with JSON_DECODE_ANY only to tell "valid JSON but
 * not an object" (-32600) from "not JSON" (-32700). That second parse runs
 * only for messages that are already refused. */
static int
load_error(const char *buf, size_t len, const json_error_t *err, const char **why)
{
    json_t *any;

    switch (json_error_code(err)) {
    case json_error_out_of_memory:
        *why = "out of memory";
        return VEJ_RPC_INTERNAL;
    case json_error_duplicate_key:
        *why = "duplicate object key";
        return VEJ_RPC_INVALID_REQUEST;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        *why = "\\u0000 in a string";
        return VEJ_RPC_INVALID_REQUEST;
    case json_error_stack_overflow:
        *why = "JSON nested too deeply";
        return VEJ_RPC_INVALID_REQUEST;
    case json_error_numeric_overflow:
        *why = "number out of range";
        return VEJ_RPC_INVALID_REQUEST;
    case json_error_invalid_syntax:
        any = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        if (any) {
            json_decref(any);
            *why = "not a JSON-RPC request object";
            return VEJ_RPC_INVALID_REQUEST;
        }
        break;
    default:
        break;
    }
    *why = "not JSON";
    return VEJ_RPC_PARSE_ERROR;
}

static bool
id_valid(const json_t *id)
{
    if (json_is_integer(id))
        return true;
    return json_is_string(id) && json_string_length(id) <= VEJ_RPC_ID_MAX;
}

static bool
method_valid(const json_t *method)
{
    const char *s;
    size_t n;

    if (!json_is_string(method))
        return false;
    s = json_string_value(method);
    n = json_string_length(method);
    if (n < 1 || n > VEJ_RPC_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
            return false;
    }
    return true;
}

static bool
member_known(const char *key)
{
    static const char *const known[] = {"jsonrpc", "method", "params", "id"};

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

/* Checks an object's envelope; the id has already been checked. Returns 0
 * or an error code with *why set. Ensures root has an object "params". */
static int
check_envelope(json_t *root, const char **why)
{
    json_t *version, *params;

    for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
        if (!member_known(json_object_iter_key(it))) {
            *why = "unknown top-level member";
            return VEJ_RPC_INVALID_REQUEST;
        }
    }
    version = json_object_get(root, "jsonrpc");
    if (!json_is_string(version) || json_string_length(version) != 3 ||
        memcmp(json_string_value(version), "2.0", 3) != 0) {
        *why = "\"jsonrpc\" must be \"2.0\"";
        return VEJ_RPC_INVALID_REQUEST;
    }
    if (!method_valid(json_object_get(root, "method"))) {
        *why = "\"method\" must be a string of 1..64 characters [a-z0-9._]";
        return VEJ_RPC_INVALID_REQUEST;
    }
    params = json_object_get(root, "params");
    if (!params) {
        if (json_object_set_new(root, "params", json_object()) != 0) {
            *why = "out of memory";
            return VEJ_RPC_INTERNAL;
        }
    } else if (!json_is_object(params)) {
        *why = "\"params\" must be an object";
        return VEJ_RPC_INVALID_PARAMS;
    }
    return 0;
}

int
vej_rpc_parse(const char *buf, size_t len, struct vej_rpc_request *req, json_t **id_out,
              const char **why)
{
    const char *why_unused;
    json_error_t err;
    json_t *root, *id;
    int rc;

    if (!why)
        why = &why_unused;
    if (id_out)
        *id_out = NULL;
    if (!req) {
        *why = "no request to fill";
        return VEJ_RPC_INTERNAL;
    }
    memset(req, 0, sizeof *req);
    if (!buf) {
        *why = "not JSON";
        return VEJ_RPC_PARSE_ERROR;
    }
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return load_error(buf, len, &err, why);
    if (!json_is_object(root)) {
        *why = json_is_array(root) ? "batches are not supported" : "not a JSON-RPC request object";
        json_decref(root);
        return VEJ_RPC_INVALID_REQUEST;
    }
    id = json_object_get(root, "id");
    if (id && !id_valid(id)) {
        *why = "\"id\" must be a string of at most 128 bytes or an integer";
        json_decref(root);
        return VEJ_RPC_INVALID_REQUEST;
    }
    rc = check_envelope(root, why);
    if (rc != 0) {
        if (id_out && id)
            *id_out = json_incref(id);
        json_decref(root);
        return rc;
    }
    req->root = root;
    req->id = id;
    req->method = json_string_value(json_object_get(root, "method"));
    req->params = json_object_get(root, "params");
    *why = NULL;
    return 0;
}

void
vej_rpc_request_clear(struct vej_rpc_request *req)
{
    if (!req)
        return;
    json_decref(req->root);
    memset(req, 0, sizeof *req);
}

/* Default human message for a code when the caller gives none. */
static const char *
default_message(int code)
{
    switch (code) {
    case VEJ_RPC_PARSE_ERROR:
        return "Parse error";
    case VEJ_RPC_INVALID_REQUEST:
        return "Invalid request";
    case VEJ_RPC_METHOD_NOT_FOUND:
        return "Method not found";
    case VEJ_RPC_INVALID_PARAMS:
        return "Invalid params";
    case VEJ_RPC_UNAUTHENTICATED:
        return "Unauthenticated";
    case VEJ_RPC_FORBIDDEN:
        return "Forbidden";
    case VEJ_RPC_NOT_FOUND:
        return "Not found";
    case VEJ_RPC_CONFLICT:
        return "Conflict";
    case VEJ_RPC_TOO_LARGE:
        return "Message too large";
    case VEJ_RPC_RATE_LIMITED:
        return "Rate limited";
    default:
        return "Internal error";
    }
}

/* json_object_set_new() consumes `value` in every case, even when `object`
 * is NULL or the insertion fails; the builders below rely on that to run
 * every insertion unconditionally and check once. */

/* {"jsonrpc":"2.0","id":<copy of id or null>} (transfer full), NULL on
 * allocation failure. */
static json_t *
envelope_new(json_t *id)
{
    json_t *msg = json_object();
    int rc = 0;

    rc |= json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    rc |= json_object_set_new(msg, "id", id ? json_deep_copy(id) : json_null());
    if (rc != 0) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

/* A NULL result becomes {}: every result in PROTOCOL.md is an object. */
json_t *
vej_rpc_result(json_t *id, json_t *result)
{
    json_t *msg = envelope_new(id);

    if (json_object_set_new(msg, "result", result ? result : json_object()) != 0) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

/* {"code":...,"message":...[,"data":{...}]} (transfer full). */
static json_t *
error_object_new(int code, const char *message, const char *field, const char *correlation_id)
{
    json_t *error = json_object();
    json_t *data = NULL;
    int rc = 0;

    rc |= json_object_set_new(error, "code", json_integer(code));
    rc |= json_object_set_new(error, "message",
                              json_string(message ? message : default_message(code)));
    if (field || correlation_id) {
        data = json_object();
        if (correlation_id)
            rc |= json_object_set_new(data, "correlation_id", json_string(correlation_id));
        if (field)
            rc |= json_object_set_new(data, "field", json_string(field));
        rc |= json_object_set_new(error, "data", data);
    }
    if (rc != 0) {
        json_decref(error);
        return NULL;
    }
    return error;
}

json_t *
vej_rpc_error(json_t *id, int code, const char *message, const char *field,
              const char *correlation_id)
{
    json_t *msg = envelope_new(id);

    if (json_object_set_new(msg, "error", error_object_new(code, message, field, correlation_id)) !=
        0) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

/* A NULL params becomes {}. */
json_t *
vej_rpc_notification(const char *method, json_t *params)
{
    json_t *msg = method ? json_object() : NULL;
    int rc = 0;

    rc |= json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    rc |= json_object_set_new(msg, "method", method ? json_string(method) : NULL);
    rc |= json_object_set_new(msg, "params", params ? params : json_object());
    if (rc != 0) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

char *
vej_rpc_dump(const json_t *msg, size_t *len)
{
    return vej_json_dump_compact(msg, len);
}
