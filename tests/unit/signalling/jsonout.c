/* Unit tests for signalling/jsonout.c: the same bytes as json_dumps
 * (JSON_COMPACT | JSON_ENCODE_ANY) over generated values (every escape,
 * control characters, embedded NULs, multi-byte UTF-8, deep and wide
 * nesting, integers at their limits, reals), and NULL for values nested
 * deeper than jansson's parser accepts. */
#include "signalling/jsonout.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
expect_same(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = vej_json_dump_compact(v, &len);
    g_assert_nonnull(want);
    g_assert_nonnull(got);
    g_assert_cmpstr(got, ==, want);
    g_assert_cmpuint(len, ==, strlen(want));
    free(want);
    free(got);
}

/* A string of random bytes from a set that covers every escape class. */
static json_t *
random_string(GRand *rng)
{
    static const char *const pieces[] = {
        "a",       "Z",  "0",  " ",    "\"",   "\\",       "/",      "\b", "\f",
        "\n",      "\r", "\t", "\x01", "\x1f", "\x7f",     "é",      "€",  "😀",
        "ptc_abc", "{}", "[",  ":",    ",",    "\xc2\xa0", "\u2028",
    };
    GString *s = g_string_new(NULL);
    int n = g_rand_int_range(rng, 0, 24);
    for (int i = 0; i < n; i++)
        g_string_append(s, pieces[g_rand_int_range(rng, 0, G_N_ELEMENTS(pieces))]);
    json_t *v;
    if (g_rand_int_range(rng, 0, 8) == 0) /* an embedded NUL */
        g_string_append_len(s, "x\0y", 3);
    v = json_stringn(s->str, s->len);
    g_string_free(s, TRUE);
    g_assert_nonnull(v);
    return v;
}

static json_t *
random_value(GRand *rng, int depth)
{
    int kind = g_rand_int_range(rng, 0, depth > 5 ? 7 : 9);
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_true();
    case 2:
        return json_false();
    case 3: {
        static const json_int_t edge[] = {0, 1, -1, 9007199254740993LL, INT64_MAX, INT64_MIN};
        return json_integer(g_rand_boolean(rng) ? edge[g_rand_int_range(rng, 0, 6)]
                                                : (json_int_t)g_rand_int(rng) - G_MAXINT32);
    }
    case 4:
        return json_real(g_rand_double_range(rng, -1e12, 1e12));
    case 5:
    case 6:
        return random_string(rng);
    case 7: {
        json_t *a = json_array();
        int n = g_rand_int_range(rng, 0, 6);
        for (int i = 0; i < n; i++)
            json_array_append_new(a, random_value(rng, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = g_rand_int_range(rng, 0, 6);
        for (int i = 0; i < n; i++) {
            json_t *k = random_string(rng);
            /* object keys cannot hold NUL in json_object_set */
            if (!memchr(json_string_value(k), '\0', json_string_length(k)))
                json_object_set_new(o, json_string_value(k), random_value(rng, depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

static void
test_generated(void)
{
    GRand *rng = g_rand_new_with_seed(20261207);
    for (int i = 0; i < 20000; i++) {
        json_t *v = random_value(rng, 0);
        expect_same(v);
        json_decref(v);
    }
    g_rand_free(rng);
}

static void
test_examples(void)
{
    json_t *v = json_pack("{s:s,s:i,s:{s:b,s:n},s:[s,s]}", "jsonrpc", "2.0", "id", 7, "params",
                          "muted", 1, "x", "a", "é\"\\\n", "\x01");
    expect_same(v);
    json_decref(v);
    json_t *empty[] = {json_object(), json_array(), json_string(""), json_real(0.5)};
    for (size_t i = 0; i < G_N_ELEMENTS(empty); i++) {
        expect_same(empty[i]);
        json_decref(empty[i]);
    }
    size_t len = 99;
    g_assert_null(vej_json_dump_compact(NULL, &len));
    g_assert_cmpuint(len, ==, 0);
}

static json_t *
nested(int levels)
{
    json_t *root = json_array(), *at = root;
    for (int i = 1; i < levels; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    return root;
}

static void
test_depth(void)
{
    /* As deep as jansson's parser accepts: the same text. Deeper (nothing
     * the gateway builds): NULL rather than an unbounded recursion. */
    json_t *deep = nested(2048);
    expect_same(deep);
    json_decref(deep);
    json_t *deeper = nested(2100);
    g_assert_null(vej_json_dump_compact(deeper, NULL));
    json_decref(deeper);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jsonout/examples", test_examples);
    g_test_add_func("/jsonout/generated", test_generated);
    g_test_add_func("/jsonout/depth", test_depth);
    return g_test_run();
}
