/* limits.c - limits per client address and login throttling.
 *
 * What one address may hold: open TCP connections (counted when lws
 * instantiates them, released when it destroys them: server.c), at most
 * [server] max_connections_per_address, unless the
 * address is in [server] address_allowlist (court buildings and custody
 * suites behind one NAT address). Sockets without a session may use at
 * most max_connections - reserved_authenticated_connections slots, so a
 * flood of idle sockets never takes the last slots from people who log in.
 *
 * Login throttling: attempts are counted per username, per (username,
 * address) and per address in one-minute windows; going over a limit
 * blocks that key for a time that doubles with each further strike (one
 * minute, then two, ... at most fifteen). The table is bounded: the least
 * recently used key is evicted, never the whole table.
 *
 * Everything here runs on the signalling thread.
 */
#include "signalling/signalling-priv.h"

#include <arpa/inet.h>
#include <string.h>

#define THROTTLE_MAX_KEYS 100000
#define BACKOFF_MAX_S 900

/* ---- addresses ---- */

/* The address as text without an IPv4-mapped prefix ("::ffff:1.2.3.4"). */
static const char *
plain_address(const char *peer)
{
    return g_str_has_prefix(peer, "::ffff:") && strchr(peer, '.') ? peer + 7 : peer;
}

struct cidr {
    int family;
    uint8_t addr[16];
    int bits;
};

static bool
parse_cidr(const char *text, struct cidr *out)
{
    char buf[64];
    g_strlcpy(buf, text, sizeof buf);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->family = AF_INET6;
    else
        return false;
    int max = out->family == AF_INET ? 32 : 128;
    gint64 bits = max;
    if (slash && !g_ascii_string_to_signed(slash + 1, 10, 0, max, &bits, NULL))
        return false;
    out->bits = (int)bits;
    return true;
}

static bool
cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
    if (family != c->family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(addr, c->addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == (c->addr[full] & mask);
}

bool
vej__address_allowlist_valid(const char *list, const char **bad)
{
    g_auto(GStrv) parts = g_strsplit(list ? list : "", ",", -1);
    for (guint i = 0; parts[i]; i++) {
        struct cidr c;
        const char *item = g_strstrip(parts[i]);
        if (*item && !parse_cidr(item, &c)) {
            *bad = list;
            return false;
        }
    }
    return true;
}

bool
vej__address_allowlisted(struct vej_signalling *s, const char *peer)
{
    const char *list = s->config->address_allowlist;
    if (!list || !*list || !peer)
        return false;
    const char *addr = plain_address(peer);
    uint8_t bytes[16];
    int family = inet_pton(AF_INET, addr, bytes) == 1    ? AF_INET
                 : inet_pton(AF_INET6, addr, bytes) == 1 ? AF_INET6
                                                         : 0;
    if (!family)
        return false;
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        struct cidr c;
        if (parse_cidr(g_strstrip(parts[i]), &c) && cidr_contains(&c, family, bytes))
            return true;
    }
    return false;
}

bool
vej__address_full(struct vej_signalling *s, const char *peer)
{
    const char *addr = plain_address(peer ? peer : "");
    int n = GPOINTER_TO_INT(g_hash_table_lookup(s->per_address, addr));
    if (n < s->config->max_connections_per_address || vej__address_allowlisted(s, peer))
        return false;
    s->metrics.address_limit_total++;
    return true;
}

bool
vej__address_take(struct vej_signalling *s, const char *peer, bool force)
{
    if (!force && vej__address_full(s, peer))
        return false;
    const char *addr = plain_address(peer ? peer : "");
    int n = GPOINTER_TO_INT(g_hash_table_lookup(s->per_address, addr));
    g_hash_table_insert(s->per_address, g_strdup(addr), GINT_TO_POINTER(n + 1));
    return true;
}

void
vej__address_release(struct vej_signalling *s, const char *peer)
{
    const char *addr = plain_address(peer ? peer : "");
    int n = GPOINTER_TO_INT(g_hash_table_lookup(s->per_address, addr));
    if (n <= 1)
        g_hash_table_remove(s->per_address, addr);
    else
        g_hash_table_insert(s->per_address, g_strdup(addr), GINT_TO_POINTER(n - 1));
}

/* ---- login throttling ---- */

struct throttle {
    char *key;
    GList *link; /* in s->throttle_lru; head = least recently used */
    int64_t window_start_s;
    int count;
    int strikes;
    int64_t blocked_until_s;
};

static void
throttle_free(gpointer data)
{
    struct throttle *t = data;
    g_free(t->key);
    g_free(t);
}

void
vej__throttle_init(struct vej_signalling *s)
{
    s->throttles = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, throttle_free);
    g_queue_init(&s->throttle_lru);
}

void
vej__throttle_clear(struct vej_signalling *s)
{
    g_queue_clear(&s->throttle_lru);
    g_hash_table_unref(s->throttles);
}

static struct throttle *
throttle_get(struct vej_signalling *s, const char *key)
{
    struct throttle *t = g_hash_table_lookup(s->throttles, key);
    if (t) {
        g_queue_unlink(&s->throttle_lru, t->link);
        g_queue_push_tail_link(&s->throttle_lru, t->link);
        return t;
    }
    while (g_hash_table_size(s->throttles) >= THROTTLE_MAX_KEYS) {
        struct throttle *old = g_queue_pop_head(&s->throttle_lru);
        g_hash_table_remove(s->throttles, old->key);
    }
    t = g_new0(struct throttle, 1);
    t->key = g_strdup(key);
    g_queue_push_tail(&s->throttle_lru, t);
    t->link = s->throttle_lru.tail;
    g_hash_table_insert(s->throttles, t->key, t);
    return t;
}

/* One attempt on `key` with `limit` per minute: true when it is over. */
static bool
throttle_hit(struct vej_signalling *s, const char *key, int limit, int64_t now)
{
    struct throttle *t = throttle_get(s, key);
    if (now < t->blocked_until_s)
        return true;
    if (now - t->window_start_s >= 60) {
        t->window_start_s = now;
        t->count = 0;
    }
    if (++t->count <= limit)
        return false;
    /* Over: blocked for 1, 2, 4 ... minutes, at most BACKOFF_MAX_S. */
    int64_t backoff = MIN((int64_t)60 << MIN(t->strikes, 4), BACKOFF_MAX_S);
    t->strikes++;
    t->blocked_until_s = now + backoff;
    return true;
}

bool
vej__login_throttled(struct vej_signalling *s, const char *username, const char *peer)
{
    int64_t now = g_get_monotonic_time() / G_USEC_PER_SEC;
    int limit = s->config->login_attempts_per_minute;
    const char *addr = plain_address(peer ? peer : "");
    g_autofree char *ua = g_strdup_printf("ua:%s\n%s", username, addr);
    g_autofree char *u = g_strdup_printf("u:%s", username);
    g_autofree char *a = g_strdup_printf("a:%s", addr);
    /* Every key counts the attempt; any one over the limit refuses it. The
     * username alone gets more room than a (username, address) pair, so
     * that one address cannot lock the account's owner out elsewhere; and
     * it is not applied from the allowlisted networks (court buildings,
     * custody suites), so that guesses from anywhere else cannot lock the
     * owner out there. */
    bool limited = throttle_hit(s, ua, limit, now);
    if (!vej__address_allowlisted(s, peer))
        limited = throttle_hit(s, u, limit * 5, now) || limited;
    limited = throttle_hit(s, a, limit * 10, now) || limited;
    return limited;
}

void
vej__login_succeeded(struct vej_signalling *s, const char *username, const char *peer)
{
    g_autofree char *ua = g_strdup_printf("ua:%s\n%s", username, plain_address(peer ? peer : ""));
    struct throttle *t = g_hash_table_lookup(s->throttles, ua);
    if (t)
        t->strikes = 0;
}
