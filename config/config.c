/* config.c - the configuration file loader and the command line.
 *
 * Every option is one row of `keys` below: its group, its key, how its text
 * is checked and where it goes. The documented file config/vej-gateway.conf
 * lists the same options with the same ranges; tests/unit/config checks that
 * the two agree.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
G_DEFINE_QUARK(vej-config-error-quark, vej_config_error)
/* clang-format on */

enum key_type {
    KEY_STRING,   /* any text, possibly empty */
    KEY_NONEMPTY, /* text, not empty */
    KEY_ISSUER,   /* printable ASCII, 1..255 bytes */
    KEY_URL,      /* empty, or an https URL without path, query or fragment */
    KEY_INT,      /* int field, [min, max] */
    KEY_SIZE,     /* size_t field, [min, max] */
    KEY_LISTEN,   /* HOST:PORT into listen_host, listen_port */
    KEY_BACKEND,  /* store backend name */
    KEY_LOG_LEVEL,
    KEY_BOOL,        /* true or false, into a bool field */
    KEY_CODECS,      /* comma-separated media codec names */
    KEY_PUBLIC_IPV4, /* empty, or a unicast IPv4 address other hosts can reach */
    KEY_PUBLIC_IPV6, /* empty, or a global unicast IPv6 address */
    KEY_STAFF_ROLES, /* comma-separated staff roles, possibly none */
    KEY_CIDRS,       /* comma-separated networks ADDR[/BITS], possibly none */
};

struct key_spec {
    const char *group;
    const char *key;
    enum key_type type;
    size_t offset;
    int64_t min, max;
};

#define FIELD(f) offsetof(struct vej_config, f)

/* The ranges here are the ones documented in config/vej-gateway.conf. */
static const struct key_spec keys[] = {
    {"server", "listen", KEY_LISTEN, 0, 0, 0},
    {"server", "tls_cert", KEY_STRING, FIELD(tls_cert), 0, 0},
    {"server", "tls_key", KEY_STRING, FIELD(tls_key), 0, 0},
    {"server", "public_url", KEY_URL, FIELD(public_url), 0, 0},
    {"server", "web_root", KEY_STRING, FIELD(web_root), 0, 0},
    {"server", "max_message_bytes", KEY_SIZE, FIELD(max_message_bytes), 1024, 16777216},
    {"server", "unauthenticated_timeout_s", KEY_INT, FIELD(unauthenticated_timeout_s), 1, 600},
    {"server", "ws_queue_max", KEY_SIZE, FIELD(ws_queue_max), 16, 1048576},
    {"server", "rpc_rate_per_s", KEY_INT, FIELD(rpc_rate_per_s), 1, 100000},
    {"server", "rpc_burst", KEY_INT, FIELD(rpc_burst), 1, 100000},
    {"server", "max_connections", KEY_INT, FIELD(max_connections), 1, 1000000},
    {"server", "max_connections_per_address", KEY_INT, FIELD(max_connections_per_address), 1,
     1000000},
    {"server", "address_allowlist", KEY_CIDRS, FIELD(address_allowlist), 0, 0},
    {"server", "max_unauthenticated_message_bytes", KEY_SIZE,
     FIELD(max_unauthenticated_message_bytes), 256, 16777216},
    {"server", "reserved_authenticated_connections", KEY_INT,
     FIELD(reserved_authenticated_connections), 0, 1000000},
    {"store", "data_dir", KEY_NONEMPTY, FIELD(data_dir), 0, 0},
    {"store", "backend", KEY_BACKEND, FIELD(store_backend), 0, 0},
    {"store", "audit_head_interval_s", KEY_INT, FIELD(audit_head_interval_s), 10, 86400},
    {"store", "signing_key", KEY_STRING, FIELD(signing_key), 0, 0},
    {"auth", "token_issuer", KEY_ISSUER, FIELD(token_issuer), 0, 0},
    {"auth", "staff_session_ttl_s", KEY_INT, FIELD(staff_session_ttl_s), 60, 2592000},
    {"auth", "join_token_ttl_s", KEY_INT, FIELD(join_token_ttl_s), 60, 31536000},
    {"auth", "login_attempts_per_minute", KEY_INT, FIELD(login_attempts_per_minute), 1, 1000},
    {"auth", "require_totp_roles", KEY_STAFF_ROLES, FIELD(require_totp_roles), 0, 0},
    {"auth", "max_hash_queue", KEY_INT, FIELD(max_hash_queue), 1, 100000},
    {"auth", "resume_grace_s", KEY_INT, FIELD(resume_grace_s), 1, 600},
    {"auth", "scrypt_threads", KEY_INT, FIELD(scrypt_threads), 1, 64},
    {"hearing", "max_participants", KEY_INT, FIELD(max_participants), 2, 1000},
    {"media", "workers", KEY_INT, FIELD(media_workers), 0, 256},
    {"media", "addresses", KEY_STRING, FIELD(media_addresses), 0, 0},
    {"media", "port_min", KEY_INT, FIELD(media_port_min), 0, 65535},
    {"media", "port_max", KEY_INT, FIELD(media_port_max), 0, 65535},
    {"media", "ipv6", KEY_BOOL, FIELD(media_ipv6), 0, 1},
    {"media", "ice_tcp", KEY_BOOL, FIELD(media_ice_tcp), 0, 1},
    {"media", "ice_lite", KEY_BOOL, FIELD(media_ice_lite), 0, 1},
    {"media", "public_ipv4", KEY_PUBLIC_IPV4, FIELD(media_public_ipv4), 0, 0},
    {"media", "public_ipv6", KEY_PUBLIC_IPV6, FIELD(media_public_ipv6), 0, 0},
    {"media", "advertise_private", KEY_BOOL, FIELD(media_advertise_private), 0, 1},
    {"media", "max_remote_candidates", KEY_INT, FIELD(media_max_remote_candidates), 1, 1000},
    {"media", "max_media_per_offer", KEY_INT, FIELD(media_max_media_per_offer), 1, 128},
    {"media", "max_media_per_subscribe", KEY_INT, FIELD(media_max_media_per_subscribe), 4, 128},
    {"media", "codecs", KEY_CODECS, FIELD(media_codecs), 0, 0},
    {"media", "max_publish_audio_tracks", KEY_INT, FIELD(media_max_publish_audio_tracks), 1, 16},
    {"media", "max_publish_video_tracks", KEY_INT, FIELD(media_max_publish_video_tracks), 1, 16},
    {"media", "max_publish_audio_kbps", KEY_INT, FIELD(media_max_publish_audio_kbps), 0, 1000000},
    {"media", "max_publish_video_kbps", KEY_INT, FIELD(media_max_publish_video_kbps), 0, 1000000},
    {"media", "max_publish_audio_pps", KEY_INT, FIELD(media_max_publish_audio_pps), 0, 1000000},
    {"media", "max_publish_video_pps", KEY_INT, FIELD(media_max_publish_video_pps), 0, 1000000},
    {"media", "dtls_cert", KEY_STRING, FIELD(media_dtls_cert), 0, 0},
    {"media", "dtls_key", KEY_STRING, FIELD(media_dtls_key), 0, 0},
    {"recording", "segment_seconds", KEY_INT, FIELD(recording_segment_seconds), 10, 3600},
    {"recording", "ring_kib", KEY_INT, FIELD(recording_ring_kib), 16, 262144},
    {"recording", "drain_ms", KEY_INT, FIELD(recording_drain_ms), 10, 1000},
    {"ice", "stun_urls", KEY_STRING, FIELD(ice_stun_urls), 0, 0},
    {"ice", "turn_urls", KEY_STRING, FIELD(ice_turn_urls), 0, 0},
    {"ice", "turn_secret_file", KEY_STRING, FIELD(ice_turn_secret_file), 0, 0},
    {"ice", "turn_credential_ttl_s", KEY_INT, FIELD(ice_turn_ttl_s), 60, 86400},
    {"log", "level", KEY_LOG_LEVEL, FIELD(log_level), 0, 0},
};

static const size_t string_fields[] = {
    FIELD(listen_host),        FIELD(tls_cert),          FIELD(tls_key),
    FIELD(public_url),         FIELD(web_root),          FIELD(data_dir),
    FIELD(store_backend),      FIELD(token_issuer),      FIELD(log_level),
    FIELD(media_addresses),    FIELD(media_public_ipv4), FIELD(media_public_ipv6),
    FIELD(ice_stun_urls),      FIELD(ice_turn_urls),     FIELD(ice_turn_secret_file),
    FIELD(media_codecs),       FIELD(media_dtls_cert),   FIELD(media_dtls_key),
    FIELD(require_totp_roles), FIELD(address_allowlist), FIELD(signing_key),
};

static char **
string_field(struct vej_config *c, size_t offset)
{
    return (char **)((char *)c + offset);
}

struct vej_config *
vej_config_new(void)
{
    struct vej_config *c = g_new0(struct vej_config, 1);
    c->listen_host = g_strdup("127.0.0.1");
    c->listen_port = 8443;
    c->tls_cert = g_strdup("");
    c->tls_key = g_strdup("");
    c->public_url = g_strdup("");
    c->web_root = g_strdup("");
    c->max_message_bytes = 262144;
    c->unauthenticated_timeout_s = 10;
    c->ws_queue_max = 1024;
    c->rpc_rate_per_s = 50;
    c->rpc_burst = 100;
    c->max_connections = 10000;
    c->max_connections_per_address = 200;
    c->address_allowlist = g_strdup("");
    c->max_unauthenticated_message_bytes = 8192;
    c->reserved_authenticated_connections = 100;
    c->max_hash_queue = 64;
    c->data_dir = g_strdup("./data");
    c->store_backend = g_strdup("sqlite");
    c->audit_head_interval_s = 300;
    c->recording_segment_seconds = 300;
    c->recording_ring_kib = 8192;
    c->recording_drain_ms = 50;
    c->signing_key = g_strdup("");
    c->token_issuer = g_strdup("vej-gateway");
    c->staff_session_ttl_s = 43200;
    c->join_token_ttl_s = 604800;
    c->login_attempts_per_minute = 10;
    c->require_totp_roles = g_strdup("");
    c->resume_grace_s = 30;
    c->scrypt_threads = 2;
    c->max_participants = 64;
    c->media_workers = 0;
    c->media_addresses = g_strdup("");
    c->media_port_min = 0;
    c->media_port_max = 0;
    c->media_ipv6 = false;
    c->media_ice_tcp = false;
    c->media_ice_lite = false;
    c->media_public_ipv4 = g_strdup("");
    c->media_public_ipv6 = g_strdup("");
    c->media_advertise_private = true;
    c->media_max_remote_candidates = 64;
    c->media_max_media_per_offer = 16;
    c->media_max_media_per_subscribe = 64;
    c->media_codecs = g_strdup("opus,vp8,h264");
    c->media_max_publish_audio_tracks = 2;
    c->media_max_publish_video_tracks = 3;
    c->media_max_publish_audio_kbps = 512;
    c->media_max_publish_video_kbps = 20000;
    c->media_max_publish_audio_pps = 300;
    c->media_max_publish_video_pps = 5000;
    c->media_dtls_cert = g_strdup("");
    c->media_dtls_key = g_strdup("");
    c->ice_stun_urls = g_strdup("");
    c->ice_turn_urls = g_strdup("");
    c->ice_turn_secret_file = g_strdup("");
    c->ice_turn_ttl_s = 3600;
    c->log_level = g_strdup("info");
    return c;
}

void
vej_config_free(struct vej_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(string_fields); i++)
        g_free(*string_field(c, string_fields[i]));
    g_free(c);
}

static struct vej_config *
config_copy(const struct vej_config *c)
{
    struct vej_config *copy = g_new(struct vej_config, 1);
    *copy = *c;
    for (size_t i = 0; i < G_N_ELEMENTS(string_fields); i++) {
        char **field = string_field(copy, string_fields[i]);
        *field = g_strdup(*field);
    }
    return copy;
}

/* Moves the contents of `from` into `to`; `from` keeps the old ones. */
static void
config_swap(struct vej_config *to, struct vej_config *from)
{
    struct vej_config old = *to;
    *to = *from;
    *from = old;
}

static gboolean invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID, message);
    return FALSE;
}

/* A decimal integer, optionally negative, nothing else around it. */
static gboolean
parse_int(const char *text, int64_t min, int64_t max, int64_t *out, GError **error)
{
    const char *p = text[0] == '-' ? text + 1 : text;
    if (!g_ascii_isdigit(p[0]))
        return invalid(error, "must be an integer, got \"%s\"", text);
    char *end = NULL;
    errno = 0;
    gint64 v = g_ascii_strtoll(text, &end, 10);
    if (*end != '\0')
        return invalid(error, "must be an integer, got \"%s\"", text);
    if (errno == ERANGE || v < min || v > max)
        return invalid(error,
                       "must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT ", got %s",
                       (gint64)min, (gint64)max, text);
    *out = v;
    return TRUE;
}

static gboolean
host_is_valid(const char *host)
{
    if (host[0] == '\0' || strlen(host) > 253)
        return FALSE;
    for (const char *p = host; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
            return FALSE;
    }
    return TRUE;
}

gboolean
vej_config_parse_listen(const char *text, char **host, int *port, GError **error)
{
    g_autofree char *h = NULL;
    const char *port_text;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return invalid(error, "must be HOST:PORT or [IPV6]:PORT, got \"%s\"", text);
        h = g_strndup(text + 1, (gsize)(close - text - 1));
        struct in6_addr a6;
        if (inet_pton(AF_INET6, h, &a6) != 1)
            return invalid(error, "\"%s\" is not an IPv6 address", h);
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL)
            return invalid(error, "must be HOST:PORT or [IPV6]:PORT, got \"%s\"", text);
        h = g_strndup(text, (gsize)(colon - text));
        if (strchr(h, ':') != NULL)
            return invalid(error,
                           "an IPv6 address is written in brackets, as [::1]:8443, got "
                           "\"%s\"",
                           text);
        if (!host_is_valid(h))
            return invalid(error, "\"%s\" is not a host name or IPv4 address", h);
        port_text = colon + 1;
    }
    int64_t p = 0;
    if (!g_ascii_isdigit(port_text[0]) || !parse_int(port_text, 0, 65535, &p, NULL))
        return invalid(error, "port must be between 0 and 65535, got \"%s\"", port_text);
    *host = g_steal_pointer(&h);
    *port = (int)p;
    return TRUE;
}

static gboolean
check_url(const char *value, GError **error)
{
    if (value[0] == '\0')
        return TRUE;
    g_autoptr(GUri) uri = g_uri_parse(value, G_URI_FLAGS_NONE, NULL);
    if (uri == NULL)
        return invalid(error, "\"%s\" is not a URL", value);
    const char *scheme = g_uri_get_scheme(uri);
    const char *path = g_uri_get_path(uri);
    /* Join links carry a credential: never over plain http. */
    if (g_strcmp0(scheme, "https") != 0)
        return invalid(error, "must be an https:// URL, got \"%s\"", value);
    if (g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0' ||
        g_uri_get_query(uri) != NULL || g_uri_get_fragment(uri) != NULL ||
        g_uri_get_userinfo(uri) != NULL || (path[0] != '\0' && strcmp(path, "/") != 0))
        return invalid(error,
                       "must be https://HOST[:PORT] without path, query or fragment, "
                       "got \"%s\"",
                       value);
    return TRUE;
}

static gboolean
check_issuer(const char *value, GError **error)
{
    size_t n = strlen(value);
    if (n == 0 || n > 255)
        return invalid(error, "must be 1 to 255 printable ASCII characters");
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isprint(value[i]) || value[i] == '"' || value[i] == '\\')
            return invalid(error,
                           "must be printable ASCII without quotes or backslashes, "
                           "got \"%s\"",
                           value);
    }
    return TRUE;
}

static gboolean
check_choice(const char *value, GError **error)
{
    static const char *const levels[] = {"error", "warning", "info", "debug"};
    for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
        if (strcmp(value, levels[i]) == 0)
            return TRUE;
    }
    return invalid(error, "must be one of error, warning, info, debug, got \"%s\"", value);
}

/* The codecs the relay forwards: at least one, each known, none twice. */
static gboolean
check_codecs(const char *value, GError **error)
{
    static const char *const known[] = {"opus", "vp8", "h264"};
    g_auto(GStrv) names = g_strsplit(value, ",", -1);
    guint seen = 0;
    for (guint i = 0; names[i]; i++) {
        const char *name = g_strstrip(names[i]);
        size_t j = 0;
        while (j < G_N_ELEMENTS(known) && strcmp(name, known[j]) != 0)
            j++;
        if (j == G_N_ELEMENTS(known))
            return invalid(error, "unknown codec \"%s\" (known: opus, vp8, h264)", name);
        if (seen & (1u << j))
            return invalid(error, "codec \"%s\" is listed twice", name);
        seen |= 1u << j;
    }
    if (!seen)
        return invalid(error, "must name at least one codec");
    return TRUE;
}

/* Networks, comma-separated: ADDR or ADDR/BITS, IPv4 or IPv6. */
static gboolean
check_cidrs(const char *value, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        char *item = g_strstrip(parts[i]);
        if (!*item && !parts[1])
            break; /* empty: none */
        char addr[64];
        uint8_t bytes[16];
        g_strlcpy(addr, item, sizeof addr);
        char *slash = strchr(addr, '/');
        if (slash)
            *slash = '\0';
        int family = inet_pton(AF_INET, addr, bytes) == 1    ? AF_INET
                     : inet_pton(AF_INET6, addr, bytes) == 1 ? AF_INET6
                                                             : 0;
        gint64 bits = 0;
        if (!family || strlen(item) >= sizeof addr ||
            (slash && !g_ascii_string_to_signed(slash + 1, 10, 0, family == AF_INET ? 32 : 128,
                                                &bits, NULL)))
            return invalid(error, "\"%s\" is not a network such as 10.1.0.0/16 or 2001:db8::/32",
                           item);
    }
    return TRUE;
}

/* Staff roles, comma-separated, each known, none twice; empty is none. */
static gboolean
check_staff_roles(const char *value, GError **error)
{
    static const char *const known[] = {"clerk", "judge", "evidential", "admin"};
    if (*value == '\0')
        return TRUE;
    g_auto(GStrv) names = g_strsplit(value, ",", -1);
    guint seen = 0;
    for (guint i = 0; names[i]; i++) {
        const char *name = g_strstrip(names[i]);
        size_t j = 0;
        while (j < G_N_ELEMENTS(known) && strcmp(name, known[j]) != 0)
            j++;
        if (j == G_N_ELEMENTS(known))
            return invalid(error,
                           "unknown staff role \"%s\" (known: clerk, judge, evidential, "
                           "admin)",
                           name);
        if (seen & (1u << j))
            return invalid(error, "role \"%s\" is listed twice", name);
        seen |= 1u << j;
    }
    return TRUE;
}

static gboolean
check_backend(const char *value, GError **error)
{
    if (strcmp(value, "sqlite") == 0)
        return TRUE;
    if (strcmp(value, "postgresql") == 0)
        return invalid(error, "the PostgreSQL backend is not built into this vej-gateway; "
                              "only \"sqlite\" is available");
    return invalid(error, "must be \"sqlite\", got \"%s\"", value);
}

/* A 1:1 NAT's public address: numeric, of the family, and one that other
 * hosts can send to (not unspecified, loopback, link-local, multicast or
 * broadcast; IPv6 neither IPv4-mapped). Private ranges are allowed: the
 * "public" side of a NAT may be another private network. */
static gboolean
check_public_address(const char *value, int family, GError **error)
{
    if (value[0] == '\0')
        return TRUE;
    if (family == AF_INET) {
        struct in_addr a;
        if (inet_pton(AF_INET, value, &a) != 1)
            return invalid(error, "must be a numeric IPv4 address such as 203.0.113.7, got \"%s\"",
                           value);
        uint32_t h = ntohl(a.s_addr);
        if (h == 0 || (h >> 24) == 127 || (h >> 16) == 0xa9fe || (h >> 28) == 0xe ||
            (h >> 28) == 0xf)
            return invalid(error,
                           "\"%s\" cannot be reached from other hosts (unspecified, loopback, "
                           "link-local, multicast or reserved)",
                           value);
        return TRUE;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, value, &a6) != 1)
        return invalid(error,
                       "must be a numeric IPv6 address such as 2001:db8::7 (no brackets, no "
                       "zone), got \"%s\"",
                       value);
    if (IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
        IN6_IS_ADDR_MULTICAST(&a6) || IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_V4COMPAT(&a6))
        return invalid(error,
                       "\"%s\" cannot be reached from other hosts (unspecified, loopback, "
                       "link-local, multicast or IPv4-mapped)",
                       value);
    return TRUE;
}

/* Checks `value` for `k` and stores it into `c`. The error message is the
 * reason alone; the caller adds the file, group and key. */
static gboolean
apply_value(struct vej_config *c, const struct key_spec *k, const char *value, GError **error)
{
    int64_t n = 0;
    switch (k->type) {
    case KEY_LISTEN: {
        char *host = NULL;
        int port = 0;
        if (!vej_config_parse_listen(value, &host, &port, error))
            return FALSE;
        g_free(c->listen_host);
        c->listen_host = host;
        c->listen_port = port;
        return TRUE;
    }
    case KEY_INT:
        if (!parse_int(value, k->min, k->max, &n, error))
            return FALSE;
        *(int *)((char *)c + k->offset) = (int)n;
        return TRUE;
    case KEY_SIZE:
        if (!parse_int(value, k->min, k->max, &n, error))
            return FALSE;
        *(size_t *)((char *)c + k->offset) = (size_t)n;
        return TRUE;
    case KEY_NONEMPTY:
        if (value[0] == '\0')
            return invalid(error, "must not be empty");
        break;
    case KEY_ISSUER:
        if (!check_issuer(value, error))
            return FALSE;
        break;
    case KEY_URL:
        if (!check_url(value, error))
            return FALSE;
        break;
    case KEY_BACKEND:
        if (!check_backend(value, error))
            return FALSE;
        break;
    case KEY_LOG_LEVEL:
        if (!check_choice(value, error))
            return FALSE;
        break;
    case KEY_CODECS:
        if (!check_codecs(value, error))
            return FALSE;
        break;
    case KEY_STAFF_ROLES:
        if (!check_staff_roles(value, error))
            return FALSE;
        break;
    case KEY_CIDRS:
        if (!check_cidrs(value, error))
            return FALSE;
        break;
    case KEY_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return invalid(error, "must be true or false, got \"%s\"", value);
        *(bool *)((char *)c + k->offset) = value[0] == 't';
        return TRUE;
    case KEY_PUBLIC_IPV4:
    case KEY_PUBLIC_IPV6:
        if (!check_public_address(value, k->type == KEY_PUBLIC_IPV4 ? AF_INET : AF_INET6, error))
            return FALSE;
        break;
    case KEY_STRING:
        break;
    }
    char **field = string_field(c, k->offset);
    g_free(*field);
    *field = g_strdup(value);
    if (k->type == KEY_URL) {
        size_t len = strlen(*field);
        while (len > 0 && (*field)[len - 1] == '/')
            (*field)[--len] = '\0';
    }
    return TRUE;
}

static const struct key_spec *
find_key(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    }
    return NULL;
}

static gboolean
group_is_known(const char *group)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (strcmp(keys[i].group, group) == 0)
            return TRUE;
    }
    return FALSE;
}

/* GKeyFile hides localized keys ("key[de]") from g_key_file_get_keys():
 * find them in the text so that they are refused rather than ignored. */
static gboolean
refuse_localized_keys(const char *path, const char *text, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = g_strdup("");
    for (size_t i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == '[') {
            char *close = strchr(line, ']');
            g_free(group);
            group = g_strndup(line + 1, close != NULL ? (gsize)(close - line - 1) : 0);
            continue;
        }
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        char *bracket = strchr(line, '[');
        if (eq != NULL && bracket != NULL && bracket < eq) {
            *eq = '\0';
            return invalid(error, "%s: [%s] %s: localized keys are not supported", path, group,
                           g_strstrip(line));
        }
    }
    return TRUE;
}

/* Keys an older version read: refused with what replaced them. */
static const struct {
    const char *group, *key, *why;
} retired_keys[] = {
    {"media", "max_publish_kbps",
     "replaced by max_publish_audio_kbps and max_publish_video_kbps (a budget per kind)"},
};

static const char *
retired_key(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(retired_keys); i++)
        if (strcmp(retired_keys[i].group, group) == 0 && strcmp(retired_keys[i].key, key) == 0)
            return retired_keys[i].why;
    return NULL;
}

static gboolean
apply_group(struct vej_config *c, const char *path, GKeyFile *kf, const char *group, GError **error)
{
    gsize n_keys = 0;
    g_auto(GStrv) names = g_key_file_get_keys(kf, group, &n_keys, NULL);
    for (gsize j = 0; j < n_keys; j++) {
        const struct key_spec *k = find_key(group, names[j]);
        if (k == NULL && retired_key(group, names[j]))
            return invalid(error, "%s: [%s] %s: %s", path, group, names[j],
                           retired_key(group, names[j]));
        if (k == NULL)
            return invalid(error, "%s: [%s] %s: unknown key", path, group, names[j]);
        for (gsize m = 0; m < j; m++) {
            if (strcmp(names[m], names[j]) == 0)
                return invalid(error, "%s: [%s] %s: given more than once", path, group, names[j]);
        }
        g_autoptr(GError) local = NULL;
        g_autofree char *value = g_key_file_get_string(kf, group, names[j], &local);
        /* Spaces around a value are never meant: a path ending in one is a
         * trap. */
        if (value != NULL)
            g_strstrip(value);
        if (value == NULL || !apply_value(c, k, value, &local))
            return invalid(error, "%s: [%s] %s: %s", path, group, names[j], local->message);
    }
    return TRUE;
}

/* Checks between options, after the file and the flags are applied. */
static gboolean
validate(const struct vej_config *c, const char *origin, GError **error)
{
    if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
        return invalid(error,
                       "%s: [server] %s: tls_cert and tls_key are set together or both "
                       "left empty",
                       origin, c->tls_cert[0] == '\0' ? "tls_cert" : "tls_key");
    if ((c->media_dtls_cert[0] == '\0') != (c->media_dtls_key[0] == '\0'))
        return invalid(error,
                       "%s: [media] %s: dtls_cert and dtls_key are set together or both "
                       "left empty",
                       origin, c->media_dtls_cert[0] == '\0' ? "dtls_cert" : "dtls_key");
    if (c->media_public_ipv6[0] != '\0' && !c->media_ipv6)
        return invalid(error,
                       "%s: [media] public_ipv6: set, but ipv6 = false offers no IPv6 "
                       "candidate to map: set ipv6 = true or leave public_ipv6 empty",
                       origin);
    return TRUE;
}

gboolean
vej_config_load_file(struct vej_config *c, const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    /* GLib's own message repeats the path: report errno's reason instead. */
    if (access(path, R_OK) != 0) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                    g_strerror(EISDIR));
        return FALSE;
    }
    if (!g_file_get_contents(path, &text, &len, &local)) {
        g_set_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO, "%s", local->message);
        return FALSE;
    }
    if (strlen(text) != len)
        return invalid(error, "%s: contains a NUL byte", path);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &local))
        return invalid(error, "%s: %s", path, local->message);
    if (!refuse_localized_keys(path, text, error))
        return FALSE;

    g_autoptr(vej_config) next = config_copy(c);
    gsize n_groups = 0;
    g_auto(GStrv) groups = g_key_file_get_groups(kf, &n_groups);
    for (gsize i = 0; i < n_groups; i++) {
        if (!group_is_known(groups[i]))
            return invalid(error, "%s: [%s]: unknown group", path, groups[i]);
        if (!apply_group(next, path, kf, groups[i], error))
            return FALSE;
    }
    if (!validate(next, path, error))
        return FALSE;
    config_swap(c, next);
    return TRUE;
}

static gboolean
apply_flags(struct vej_config *c, const char *config_path, const char *data_dir, const char *listen,
            GError **error)
{
    if (config_path != NULL && !vej_config_load_file(c, config_path, error))
        return FALSE;
    if (data_dir != NULL) {
        if (data_dir[0] == '\0')
            return invalid(error, "--data-dir: must not be empty");
        g_free(c->data_dir);
        c->data_dir = g_strdup(data_dir);
    }
    if (listen != NULL) {
        g_autoptr(GError) local = NULL;
        g_autofree char *host = NULL;
        int port = 0;
        if (!vej_config_parse_listen(listen, &host, &port, &local))
            return invalid(error, "--listen: %s", local->message);
        g_free(c->listen_host);
        c->listen_host = g_steal_pointer(&host);
        c->listen_port = port;
    }
    return validate(c, config_path != NULL ? config_path : "command line", error);
}

gboolean
vej_config_from_args(struct vej_config *c, int *argc, char ***argv, gboolean *exit_now,
                     GError **error)
{
    g_autofree char *config_path = NULL;
    g_autofree char *data_dir = NULL;
    g_autofree char *listen = NULL;
    gboolean version = FALSE;
    gboolean help = FALSE;
    const GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
         "Read the configuration file FILE (see vej-gateway.conf)", "FILE"},
        {"data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
         "Keep the database, secrets, certificates and recordings in DIR", "DIR"},
        {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
         "Listen on HOST:PORT or [IPV6]:PORT (port 0: any free port)", "HOST:PORT"},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
        {"help", 'h', 0, G_OPTION_ARG_NONE, &help, "Show this help and exit", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- video-enabled justice session gateway");
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Flags override the file given with --config. Without --config, built-in defaults "
             "are used (the same as the documented vej-gateway.conf).");
    *exit_now = FALSE;

    g_autoptr(GError) local = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &local))
        return invalid(error, "%s", local->message);
    if (help) {
        g_autofree char *text = g_option_context_get_help(ctx, TRUE, NULL);
        fputs(text, stdout);
        *exit_now = TRUE;
        return TRUE;
    }
    if (version) {
        printf("vej-gateway %s\n", VEJ_VERSION);
        *exit_now = TRUE;
        return TRUE;
    }
    if (*argc > 1)
        return invalid(error, "unexpected argument \"%s\" (see --help)", (*argv)[1]);

    g_autoptr(vej_config) next = config_copy(c);
    if (!apply_flags(next, config_path, data_dir, listen, error))
        return FALSE;
    config_swap(c, next);
    return TRUE;
}
