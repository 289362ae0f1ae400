/* fuzz_jsonrpc.c - vej_rpc_parse on arbitrary bytes.
 *
 * Besides "no crash, no leak, no undefined behaviour", checks the parser's
 * promises: a success has a valid method, an object params and a string or
 * integer id (or none); it survives a dump (the same bytes as json_dumps)
 * and a second parse unchanged and its reply can be built and dumped. A failure has a known code, a reason,
 * and an id to echo only when one was readable (string or integer). */
#include "signalling/jsonrpc.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static bool
id_ok(const json_t *id)
{
    return json_is_integer(id) || (json_is_string(id) && json_string_length(id) <= 128);
}

static void
check_reply(json_t *reply)
{
    size_t len = 0;
    char *text;

    CHECK(reply != NULL);
    text = vej_rpc_dump(reply, &len);
    CHECK(text != NULL && len == strlen(text));
    free(text);
    json_decref(reply);
}

static void
check_success(const struct vej_rpc_request *req, const char *why)
{
    struct vej_rpc_request again;
    size_t len = 0, mlen;
    char *text;

    CHECK(why == NULL && req->root && req->method && json_is_object(req->params));
    CHECK(req->id == NULL || id_ok(req->id));
    mlen = strlen(req->method);
    CHECK(mlen >= 1 && mlen <= 64 &&
          strspn(req->method, "abcdefghijklmnopqrstuvwxyz0123456789._") == mlen);
    check_reply(vej_rpc_result(req->id, json_deep_copy(req->params)));

    /* What we accepted, written back out, is accepted again unchanged,
     * and written as jansson writes it (signalling/jsonout.c). */
    text = vej_rpc_dump(req->root, &len);
    CHECK(text != NULL);
    char *theirs = json_dumps(req->root, JSON_COMPACT);
    CHECK(theirs != NULL && strcmp(theirs, text) == 0);
    free(theirs);
    CHECK(vej_rpc_parse(text, len, &again, NULL, NULL) == 0);
    CHECK(json_equal(again.root, req->root));
    vej_rpc_request_clear(&again);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_rpc_request req;
    json_t *id = NULL;
    const char *why = NULL;
    int rc = vej_rpc_parse((const char *)data, size, &req, &id, &why);

    if (rc == 0) {
        CHECK(id == NULL);
        check_success(&req, why);
        vej_rpc_request_clear(&req);
        return 0;
    }
    CHECK(req.root == NULL && why != NULL);
    CHECK(rc == VEJ_RPC_PARSE_ERROR || rc == VEJ_RPC_INVALID_REQUEST ||
          rc == VEJ_RPC_INVALID_PARAMS || rc == VEJ_RPC_INTERNAL);
    CHECK(id == NULL || id_ok(id));
    CHECK(rc != VEJ_RPC_PARSE_ERROR || id == NULL);
    check_reply(vej_rpc_error(id, rc, why, NULL, NULL));
    json_decref(id);
    return 0;
}
