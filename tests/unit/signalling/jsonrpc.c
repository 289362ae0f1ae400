/* Unit tests for signalling/jsonrpc.c: every bad input of PROTOCOL.md
 * "Conventions", ids echoed exactly, and the builders' exact bytes. */
#include "signalling/jsonrpc.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* A message and its length (messages may hold NUL bytes). */
#define MSG(s) s, sizeof(s) - 1

/* The compact JSON text of any value, or "absent" for NULL. */
static char *
value_text(const json_t *v)
{
    char *raw, *copy;

    if (!v)
        return g_strdup("absent");
    raw = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    g_assert_nonnull(raw);
    copy = g_strdup(raw);
    free(raw);
    return copy;
}

/* Parses and expects an error `code` with the reply id `id_text` (the JSON
 * text of the id to echo, or NULL when the reply carries id null). */
static void
expect_error(const char *buf, size_t len, int code, const char *id_text)
{
    struct vej_rpc_request req;
    json_t *id = (json_t *)0x1;
    const char *why = NULL;
    int rc = vej_rpc_parse(buf, len, &req, &id, &why);
    g_autofree char *got_id = value_text(id);

    if (rc != code)
        g_error("input %.*s: expected %d, got %d (%s)", (int)MIN(len, 200), buf, code, rc,
                why ? why : "");
    g_assert_nonnull(why);
    g_assert_null(req.root);
    g_assert_null(req.method);
    if (id_text)
        g_assert_cmpstr(got_id, ==, id_text);
    else
        g_assert_null(id);
    json_decref(id);
}

/* Parses and expects success; returns the request for further checks. */
static void
expect_ok(const char *buf, size_t len, struct vej_rpc_request *req)
{
    json_t *id = (json_t *)0x1;
    const char *why = NULL;
    int rc = vej_rpc_parse(buf, len, req, &id, &why);

    if (rc != 0)
        g_error("input %.*s: expected success, got %d (%s)", (int)MIN(len, 200), buf, rc,
                why ? why : "");
    g_assert_null(id);
    g_assert_nonnull(req->root);
    g_assert_nonnull(req->method);
    g_assert_true(json_is_object(req->params));
}

static void
test_not_json(void)
{
    expect_error(MSG(""), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG(" "), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("{"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}}"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1} x"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    expect_error(MSG("{'jsonrpc':'2.0'}"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("{\"id\":01}"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("{\"id\":NaN}"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("hello"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(MSG("1 2"), VEJ_RPC_PARSE_ERROR, NULL);
    /* Invalid UTF-8 (the socket closes with 1007 before this, but still). */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"\xff\"}"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"\xc3\"}"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    /* A raw NUL byte is never JSON: inside a string, after the object, alone. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\0\",\"id\":1}"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\0"), VEJ_RPC_PARSE_ERROR,
                 NULL);
    expect_error(MSG("\0"), VEJ_RPC_PARSE_ERROR, NULL);
    expect_error(NULL, 0, VEJ_RPC_PARSE_ERROR, NULL);
    /* The length is honoured: the tail after len is not read. */
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\"}", 10, VEJ_RPC_PARSE_ERROR, NULL);
}

static void
test_not_an_object(void)
{
    expect_error(MSG("[]"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("[ ]"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}]"), VEJ_RPC_INVALID_REQUEST,
                 NULL);
    expect_error(MSG("[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1},"
                     "{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":2}]"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("[1,2,3]"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("1"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("-1.5e3"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG(" 42 "), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("\"a string\""), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("true"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("null"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("99999999999999999999999"), VEJ_RPC_INVALID_REQUEST, NULL);
}

static void
test_bad_id(void)
{
    static const char *const bad[] = {
        "null", "1.5", "1.0", "-0.0", "1e3", "true", "false", "{}", "{\"a\":1}", "[]", "[1]",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *msg =
            g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"a.b\",\"id\":%s}", bad[i]);
        expect_error(msg, strlen(msg), VEJ_RPC_INVALID_REQUEST, NULL);
    }
    /* A bad id wins over every other fault: the reply carries id null. */
    expect_error(MSG("{\"id\":null,\"params\":[]}"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"id\":1.0,\"method\":7,\"jsonrpc\":\"1.0\"}"), VEJ_RPC_INVALID_REQUEST,
                 NULL);
    /* Integers beyond 64 bits cannot be echoed exactly: refused, id null. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":9223372036854775808}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":-9223372036854775809}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1e400}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
}

static void
test_id_length(void)
{
    g_autofree char *s128 = g_strnfill(128, 'x');
    g_autofree char *s129 = g_strnfill(129, 'x');
    g_autofree char *ok =
        g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"%s\"}", s128);
    g_autofree char *bad =
        g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"%s\"}", s129);
    /* 43 two-byte characters = 86 bytes; 65 of them = 130 bytes: bytes count. */
    GString *multi = g_string_new("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"");
    struct vej_rpc_request req;

    expect_ok(ok, strlen(ok), &req);
    g_assert_cmpuint(json_string_length(req.id), ==, 128);
    vej_rpc_request_clear(&req);
    expect_error(bad, strlen(bad), VEJ_RPC_INVALID_REQUEST, NULL);
    for (int i = 0; i < 65; i++)
        g_string_append(multi, "\xc3\xa9");
    g_string_append(multi, "\"}");
    expect_error(multi->str, multi->len, VEJ_RPC_INVALID_REQUEST, NULL);
    g_string_free(multi, TRUE);
    /* An empty string is a string. */
    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"\"}"), &req);
    g_assert_cmpstr(json_string_value(req.id), ==, "");
    vej_rpc_request_clear(&req);
}

/* Parses `msg`, builds a result for its id and checks the reply's bytes. */
static void
check_echo(const char *msg, size_t len, const char *reply)
{
    struct vej_rpc_request req;
    json_t *out;
    char *text;
    size_t n;

    expect_ok(msg, len, &req);
    out = vej_rpc_result(req.id, NULL);
    vej_rpc_request_clear(&req);
    text = vej_rpc_dump(out, &n);
    g_assert_cmpstr(text, ==, reply);
    g_assert_cmpuint(n, ==, strlen(reply));
    free(text);
    json_decref(out);
}

static void
test_id_echo(void)
{
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":0}"),
               "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":-17}"),
               "{\"jsonrpc\":\"2.0\",\"id\":-17,\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":9223372036854775807}"),
               "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":-9223372036854775808}"),
               "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"req-1\"}"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"1\"}"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{}}");
    /* Unicode, raw and escaped: the same string comes back as UTF-8. */
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"caf\xc3\xa9 \xe2\x9c\x93 "
                   "\xf0\x9f\x98\x80\"}"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\","
               "\"result\":{}}");
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"caf\\u00e9 \\ud83d\\ude00\"}"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"result\":{}}");
    /* Escapes that JSON needs survive the round trip. */
    check_echo(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"q\\\"b\\\\n\\n/\"}"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"q\\\"b\\\\n\\n/\",\"result\":{}}");
}

/* Faults found after the id was read: the id is echoed. */
static void
test_envelope_faults(void)
{
    /* jsonrpc */
    expect_error(MSG("{\"method\":\"a\",\"id\":1}"), VEJ_RPC_INVALID_REQUEST, "1");
    expect_error(MSG("{\"jsonrpc\":\"1.0\",\"method\":\"a\",\"id\":1}"), VEJ_RPC_INVALID_REQUEST,
                 "1");
    expect_error(MSG("{\"jsonrpc\":2.0,\"method\":\"a\",\"id\":1}"), VEJ_RPC_INVALID_REQUEST, "1");
    expect_error(MSG("{\"jsonrpc\":\"2.0 \",\"method\":\"a\",\"id\":1}"), VEJ_RPC_INVALID_REQUEST,
                 "1");
    expect_error(MSG("{\"jsonrpc\":\"2.00\",\"method\":\"a\",\"id\":\"x\"}"),
                 VEJ_RPC_INVALID_REQUEST, "\"x\"");
    expect_error(MSG("{\"jsonrpc\":null,\"method\":\"a\",\"id\":\"x\"}"), VEJ_RPC_INVALID_REQUEST,
                 "\"x\"");
    /* method */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"id\":2}"), VEJ_RPC_INVALID_REQUEST, "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":2}"), VEJ_RPC_INVALID_REQUEST, "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":null,\"id\":2}"), VEJ_RPC_INVALID_REQUEST,
                 "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":[\"a\"],\"id\":2}"), VEJ_RPC_INVALID_REQUEST,
                 "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":2}"), VEJ_RPC_INVALID_REQUEST,
                 "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"Session.hello\",\"id\":2}"),
                 VEJ_RPC_INVALID_REQUEST, "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a b\",\"id\":2}"), VEJ_RPC_INVALID_REQUEST,
                 "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"rpc/x\",\"id\":2}"),
                 VEJ_RPC_INVALID_REQUEST, "2");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"caf\xc3\xa9\",\"id\":2}"),
                 VEJ_RPC_INVALID_REQUEST, "2");
    /* unknown members, including a response sent back to us */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":3,\"extra\":1}"),
                 VEJ_RPC_INVALID_REQUEST, "3");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":3}"), VEJ_RPC_INVALID_REQUEST, "3");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"ID\":3}"), VEJ_RPC_INVALID_REQUEST,
                 NULL);
    expect_error(MSG("{}"), VEJ_RPC_INVALID_REQUEST, NULL);
}

static void
test_method_length(void)
{
    g_autofree char *m64 = g_strnfill(64, 'm');
    g_autofree char *m65 = g_strnfill(65, 'm');
    g_autofree char *ok = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", m64);
    g_autofree char *bad = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", m65);
    struct vej_rpc_request req;

    expect_ok(ok, strlen(ok), &req);
    g_assert_cmpstr(req.method, ==, m64);
    vej_rpc_request_clear(&req);
    expect_error(bad, strlen(bad), VEJ_RPC_INVALID_REQUEST, "1");
    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"webrtc.restart_ice\",\"id\":1}"), &req);
    g_assert_cmpstr(req.method, ==, "webrtc.restart_ice");
    vej_rpc_request_clear(&req);
    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a9._\",\"id\":1}"), &req);
    vej_rpc_request_clear(&req);
}

static void
test_params(void)
{
    struct vej_rpc_request req;

    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":4,\"params\":[]}"),
                 VEJ_RPC_INVALID_PARAMS, "4");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":4,\"params\":[1,2]}"),
                 VEJ_RPC_INVALID_PARAMS, "4");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"p\",\"params\":\"x\"}"),
                 VEJ_RPC_INVALID_PARAMS, "\"p\"");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":4,\"params\":null}"),
                 VEJ_RPC_INVALID_PARAMS, "4");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":4,\"params\":7}"),
                 VEJ_RPC_INVALID_PARAMS, "4");
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":4,\"params\":false}"),
                 VEJ_RPC_INVALID_PARAMS, "4");
    /* An id-less message with bad params is no notification: id null. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"webrtc.candidate\",\"params\":[]}"),
                 VEJ_RPC_INVALID_PARAMS, NULL);
    /* Envelope faults come before params faults. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"id\":4,\"params\":[]}"), VEJ_RPC_INVALID_REQUEST, "4");

    /* Absent params read as {}; present ones come through. */
    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"hearing.leave\",\"id\":5}"), &req);
    g_assert_cmpuint(json_object_size(req.params), ==, 0);
    g_assert_true(json_object_get(req.root, "params") == req.params);
    vej_rpc_request_clear(&req);
    g_assert_null(req.root);
    expect_ok(MSG("{\"params\":{\"hearing_id\":\"hrg_1\",\"n\":[1,{}]},\"id\":5,"
                  "\"method\":\"hearing.join\",\"jsonrpc\":\"2.0\"}"),
              &req);
    g_assert_cmpstr(req.method, ==, "hearing.join");
    g_assert_cmpint(json_integer_value(req.id), ==, 5);
    g_assert_cmpstr(json_string_value(json_object_get(req.params, "hearing_id")), ==, "hrg_1");
    vej_rpc_request_clear(&req);
    vej_rpc_request_clear(&req); /* idempotent */
    vej_rpc_request_clear(NULL);
}

static void
test_duplicates_and_nul(void)
{
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,\"id\":2}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\",\"id\":1}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,"
                     "\"params\":{\"x\":1,\"x\":1}}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,"
                     "\"params\":{\"x\":[{\"y\":1,\"z\":2,\"y\":3}]}}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("[{\"a\":1,\"a\":2}]"), VEJ_RPC_INVALID_REQUEST, NULL);
    /* \u0000 escapes: in a value, a key, the method, the id. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,"
                     "\"params\":{\"x\":\"a\\u0000b\"}}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,"
                     "\"params\":{\"x\\u0000\":1}}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000\",\"id\":1}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"\\u0000\"}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
}

/* `depth` nested arrays inside params. */
static GString *
nested(unsigned depth)
{
    GString *s = g_string_new("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,\"params\":{\"x\":");

    for (unsigned i = 0; i < depth; i++)
        g_string_append_c(s, '[');
    for (unsigned i = 0; i < depth; i++)
        g_string_append_c(s, ']');
    g_string_append(s, "}}");
    return s;
}

static void
test_deep_nesting(void)
{
    struct vej_rpc_request req;
    GString *s;

    s = nested(100);
    expect_ok(s->str, s->len, &req);
    vej_rpc_request_clear(&req);
    g_string_free(s, TRUE);
    /* jansson refuses more than JSON_PARSER_MAX_DEPTH (2048) levels before
     * recursing further: a clean -32600, no stack exhaustion. */
    s = nested(100000);
    expect_error(s->str, s->len, VEJ_RPC_INVALID_REQUEST, NULL);
    g_string_free(s, TRUE);
    /* Unbalanced and deep: still a clean error. */
    s = g_string_new(NULL);
    for (int i = 0; i < 100000; i++)
        g_string_append_c(s, '[');
    expect_error(s->str, s->len, VEJ_RPC_INVALID_REQUEST, NULL);
    g_string_truncate(s, 1000);
    expect_error(s->str, s->len, VEJ_RPC_PARSE_ERROR, NULL);
    g_string_free(s, TRUE);
}

static void
test_notifications(void)
{
    struct vej_rpc_request req;

    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"webrtc.candidate\","
                  "\"params\":{\"pc\":\"publish\",\"candidate\":\"\"}}"),
              &req);
    g_assert_null(req.id);
    g_assert_cmpstr(req.method, ==, "webrtc.candidate");
    vej_rpc_request_clear(&req);
    /* Anything may arrive as a notification; dropping it is the caller's. */
    expect_ok(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"hearing.leave\"}"), &req);
    g_assert_null(req.id);
    vej_rpc_request_clear(&req);
    /* A faulty id-less message: no id to echo. */
    expect_error(MSG("{\"jsonrpc\":\"2.0\"}"), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(MSG("{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}"),
                 VEJ_RPC_INVALID_REQUEST, NULL);
}

static void
test_huge_strings(void)
{
    const size_t big = 1024 * 1024;
    g_autofree char *fill = g_strnfill(big, 'z');
    g_autofree char *in_params = g_strdup_printf(
        "{\"jsonrpc\":\"2.0\",\"method\":\"webrtc.publish\",\"id\":1,\"params\":{\"sdp\":\"%s\"}}",
        fill);
    g_autofree char *as_method =
        g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", fill);
    g_autofree char *as_id =
        g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"%s\"}", fill);
    g_autofree char *as_key =
        g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,\"%s\":1}", fill);
    struct vej_rpc_request req;

    /* The size cap is the server's (4013), not the parser's. */
    expect_ok(in_params, strlen(in_params), &req);
    g_assert_cmpuint(json_string_length(json_object_get(req.params, "sdp")), ==, big);
    vej_rpc_request_clear(&req);
    expect_error(as_method, strlen(as_method), VEJ_RPC_INVALID_REQUEST, "1");
    expect_error(as_id, strlen(as_id), VEJ_RPC_INVALID_REQUEST, NULL);
    expect_error(as_key, strlen(as_key), VEJ_RPC_INVALID_REQUEST, "1");
}

static void
test_null_out_params(void)
{
    struct vej_rpc_request req;

    /* id_out and why are optional. */
    g_assert_cmpint(vej_rpc_parse(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,\"x\":0}"),
                                  &req, NULL, NULL),
                    ==, VEJ_RPC_INVALID_REQUEST);
    g_assert_cmpint(
        vej_rpc_parse(MSG("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}"), &req, NULL, NULL), ==,
        0);
    vej_rpc_request_clear(&req);
    g_assert_cmpint(vej_rpc_parse(MSG("{}"), NULL, NULL, NULL), ==, VEJ_RPC_INTERNAL);
}

static void
check_dump(json_t *msg, const char *expected)
{
    size_t n = 1234;
    char *text = vej_rpc_dump(msg, &n);

    g_assert_nonnull(msg);
    g_assert_cmpstr(text, ==, expected);
    g_assert_cmpuint(n, ==, strlen(expected));
    free(text);
    json_decref(msg);
}

static void
test_builders(void)
{
    json_t *id_int = json_integer(7), *id_str = json_string("r-\xc3\xa9");
    size_t n = 99;

    check_dump(vej_rpc_result(id_int, json_pack("{s:i,s:[s]}", "a", 1, "b", "c")),
               "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":1,\"b\":[\"c\"]}}");
    check_dump(vej_rpc_result(id_str, NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":\"r-\xc3\xa9\",\"result\":{}}");
    check_dump(vej_rpc_result(NULL, json_true()),
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":true}");
    check_dump(vej_rpc_error(NULL, VEJ_RPC_PARSE_ERROR, "not JSON", NULL, NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
               "\"message\":\"not JSON\"}}");
    check_dump(vej_rpc_error(id_int, VEJ_RPC_INVALID_PARAMS, "bad role", "role", "c0ffee"),
               "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32602,\"message\":\"bad role\","
               "\"data\":{\"correlation_id\":\"c0ffee\",\"field\":\"role\"}}}");
    check_dump(vej_rpc_error(id_str, VEJ_RPC_INTERNAL, "internal error", NULL, "abc"),
               "{\"jsonrpc\":\"2.0\",\"id\":\"r-\xc3\xa9\",\"error\":{\"code\":-32603,"
               "\"message\":\"internal error\",\"data\":{\"correlation_id\":\"abc\"}}}");
    check_dump(vej_rpc_error(id_int, VEJ_RPC_CONFLICT, NULL, "state", NULL),
               "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":4009,\"message\":\"Conflict\","
               "\"data\":{\"field\":\"state\"}}}");
    check_dump(vej_rpc_notification("hearing.state",
                                    json_pack("{s:s,s:s}", "hearing_id", "hrg_1", "state", "open")),
               "{\"jsonrpc\":\"2.0\",\"method\":\"hearing.state\","
               "\"params\":{\"hearing_id\":\"hrg_1\",\"state\":\"open\"}}");
    check_dump(vej_rpc_notification("session.closing", NULL),
               "{\"jsonrpc\":\"2.0\",\"method\":\"session.closing\",\"params\":{}}");
    /* The id is copied: the caller still owns its reference. */
    g_assert_cmpint(id_int->refcount, ==, 1);
    json_decref(id_int);
    json_decref(id_str);
    g_assert_null(vej_rpc_notification(NULL, json_object()));
    g_assert_null(vej_rpc_dump(NULL, &n));
    g_assert_cmpuint(n, ==, 0);
    /* Invalid UTF-8 in a message cannot be built. */
    g_assert_null(vej_rpc_error(NULL, VEJ_RPC_INTERNAL, "\xff", NULL, NULL));
}

static void
test_http_status(void)
{
    static const int table[][2] = {
        {VEJ_RPC_PARSE_ERROR, 400},
        {VEJ_RPC_INVALID_REQUEST, 400},
        {VEJ_RPC_METHOD_NOT_FOUND, 404},
        {VEJ_RPC_INVALID_PARAMS, 400},
        {VEJ_RPC_INTERNAL, 500},
        {VEJ_RPC_UNAUTHENTICATED, 401},
        {VEJ_RPC_FORBIDDEN, 403},
        {VEJ_RPC_NOT_FOUND, 404},
        {VEJ_RPC_CONFLICT, 409},
        {VEJ_RPC_TOO_LARGE, 413},
        {VEJ_RPC_RATE_LIMITED, 429},
        {0, 500},
        {4000, 500},
        {-32000, 500},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
        g_assert_cmpint(vej_rpc_http_status(table[i][0]), ==, table[i][1]);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/signalling/jsonrpc/not-json", test_not_json);
    g_test_add_func("/signalling/jsonrpc/not-an-object", test_not_an_object);
    g_test_add_func("/signalling/jsonrpc/bad-id", test_bad_id);
    g_test_add_func("/signalling/jsonrpc/id-length", test_id_length);
    g_test_add_func("/signalling/jsonrpc/id-echo", test_id_echo);
    g_test_add_func("/signalling/jsonrpc/envelope-faults", test_envelope_faults);
    g_test_add_func("/signalling/jsonrpc/method-length", test_method_length);
    g_test_add_func("/signalling/jsonrpc/params", test_params);
    g_test_add_func("/signalling/jsonrpc/duplicates-and-nul", test_duplicates_and_nul);
    g_test_add_func("/signalling/jsonrpc/deep-nesting", test_deep_nesting);
    g_test_add_func("/signalling/jsonrpc/notifications", test_notifications);
    g_test_add_func("/signalling/jsonrpc/huge-strings", test_huge_strings);
    g_test_add_func("/signalling/jsonrpc/null-out-params", test_null_out_params);
    g_test_add_func("/signalling/jsonrpc/builders", test_builders);
    g_test_add_func("/signalling/jsonrpc/http-status", test_http_status);
    return g_test_run();
}
