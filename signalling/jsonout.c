/* jsonout.c - compact JSON text of a jansson value, fast.
 *
 * Every notification and REST answer is serialised once per receiver, and
 * json_dumps() spends about a hundred instructions per byte (a callback
 * per token, a UTF-8 decode per character). This writer produces the same
 * bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (the unit test
 * compares them over generated values) in a few instructions per byte:
 * runs of characters that need no escape are copied whole.
 *
 * Invariants: output identical to jansson's compact form (object members
 * in jansson's iteration order, strings escaped as jansson does: '"', '\\'
 * and the control characters below 0x20, nothing else; reals formatted by
 * jansson itself); plain C, no GLib, no globals; the recursion is bounded:
 * values nested deeper than jansson's parser accepts (2048) give NULL.
 */
#include "signalling/jsonout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 2048

struct out {
    char *p;
    size_t len, cap;
    int failed;
};

static int
reserve(struct out *o, size_t n)
{
    if (o->failed)
        return 0;
    if (o->len + n + 1 <= o->cap)
        return 1;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n + 1) {
        if (cap > ((size_t)-1) / 2) {
            o->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    char *p = realloc(o->p, cap);
    if (!p) {
        o->failed = 1;
        return 0;
    }
    o->p = p;
    o->cap = cap;
    return 1;
}

static void
put(struct out *o, const char *s, size_t n)
{
    if (!reserve(o, n))
        return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
put_char(struct out *o, char c)
{
    if (!reserve(o, 1))
        return;
    o->p[o->len++] = c;
}

/* The escape of a byte, or NULL when it is copied as it is. */
static const char *
escape_of(unsigned char c, char buf[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        snprintf(buf, 8, "\\u%04X", c);
        return buf;
    }
}

static void
put_string(struct out *o, const char *s, size_t n)
{
    put_char(o, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char buf[8];
        const char *e = escape_of(c, buf);
        put(o, s + run, i - run);
        put(o, e, strlen(e));
        run = i + 1;
    }
    put(o, s + run, n - run);
    put_char(o, '"');
}

static void
put_scalar_by_jansson(struct out *o, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        o->failed = 1;
        return;
    }
    put(o, text, strlen(text));
    free(text);
}

static void
put_value(struct out *o, const json_t *v, int depth)
{
    if (o->failed)
        return;
    if (depth >= JSON_MAX_DEPTH) {
        o->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put_char(o, '{');
        const char *key;
        json_t *member;
        int first = 1;
        /* const: iteration does not change the object */
        json_object_foreach((json_t *)v, key, member)
        {
            if (!first)
                put_char(o, ',');
            first = 0;
            put_string(o, key, strlen(key));
            put_char(o, ':');
            put_value(o, member, depth + 1);
        }
        put_char(o, '}');
        return;
    }
    case JSON_ARRAY: {
        put_char(o, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put_char(o, ',');
            put_value(o, json_array_get(v, i), depth + 1);
        }
        put_char(o, ']');
        return;
    }
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(o, buf, (size_t)n);
        return;
    }
    case JSON_TRUE:
        put(o, "true", 4);
        return;
    case JSON_FALSE:
        put(o, "false", 5);
        return;
    case JSON_NULL:
        put(o, "null", 4);
        return;
    case JSON_REAL:
    default:
        put_scalar_by_jansson(o, v);
        return;
    }
}

char *
vej_json_dump_compact(const json_t *v, size_t *len)
{
    if (len)
        *len = 0;
    if (!v)
        return NULL;
    struct out o = {0};
    put_value(&o, v, 0);
    if (!reserve(&o, 0)) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.p;
}
