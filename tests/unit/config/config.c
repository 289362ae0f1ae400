/* Unit tests for config/: the loader, the command line, secrets, the
 * self-signed certificate and the log line format. */
#include "config/config.h"
#include "config/config-priv.h"

#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every option of config.h, as "group.key". */
static const char *const all_keys[] = {
    "server.listen",
    "server.tls_cert",
    "server.tls_key",
    "server.public_url",
    "server.web_root",
    "server.max_message_bytes",
    "server.unauthenticated_timeout_s",
    "server.ws_queue_max",
    "server.rpc_rate_per_s",
    "server.rpc_burst",
    "server.max_connections",
    "store.data_dir",
    "store.backend",
    "store.audit_head_interval_s",
    "auth.token_issuer",
    "auth.staff_session_ttl_s",
    "auth.join_token_ttl_s",
    "auth.login_attempts_per_minute",
    "auth.resume_grace_s",
    "auth.scrypt_threads",
    "hearing.max_participants",
    "media.workers",
    "media.addresses",
    "media.port_min",
    "media.port_max",
    "media.ipv6",
    "media.ice_tcp",
    "media.ice_lite",
    "media.public_ipv4",
    "media.public_ipv6",
    "media.advertise_private",
    "media.max_remote_candidates",
    "media.max_media_per_offer",
    "media.max_media_per_subscribe",
    "media.codecs",
    "media.max_publish_audio_tracks",
    "media.max_publish_video_tracks",
    "media.max_publish_audio_kbps",
    "media.max_publish_video_kbps",
    "media.max_publish_audio_pps",
    "media.max_publish_video_pps",
    "media.dtls_cert",
    "media.dtls_key",
    "log.level",
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
make_tmpdir(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("vej-config-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

/* Writes `text` to a fresh file in `dir` and returns its path. */
static char *
write_conf(const char *dir, const char *text)
{
    char *path = g_build_filename(dir, "test.conf", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
    return path;
}

static void
assert_same_config(const struct vej_config *a, const struct vej_config *b)
{
    g_assert_cmpstr(a->listen_host, ==, b->listen_host);
    g_assert_cmpint(a->listen_port, ==, b->listen_port);
    g_assert_cmpstr(a->tls_cert, ==, b->tls_cert);
    g_assert_cmpstr(a->tls_key, ==, b->tls_key);
    g_assert_cmpstr(a->public_url, ==, b->public_url);
    g_assert_cmpstr(a->web_root, ==, b->web_root);
    g_assert_cmpuint(a->max_message_bytes, ==, b->max_message_bytes);
    g_assert_cmpint(a->unauthenticated_timeout_s, ==, b->unauthenticated_timeout_s);
    g_assert_cmpuint(a->ws_queue_max, ==, b->ws_queue_max);
    g_assert_cmpint(a->rpc_rate_per_s, ==, b->rpc_rate_per_s);
    g_assert_cmpint(a->rpc_burst, ==, b->rpc_burst);
    g_assert_cmpint(a->max_connections, ==, b->max_connections);
    g_assert_cmpstr(a->data_dir, ==, b->data_dir);
    g_assert_cmpstr(a->store_backend, ==, b->store_backend);
    g_assert_cmpint(a->audit_head_interval_s, ==, b->audit_head_interval_s);
    g_assert_cmpstr(a->token_issuer, ==, b->token_issuer);
    g_assert_cmpint(a->staff_session_ttl_s, ==, b->staff_session_ttl_s);
    g_assert_cmpint(a->join_token_ttl_s, ==, b->join_token_ttl_s);
    g_assert_cmpint(a->login_attempts_per_minute, ==, b->login_attempts_per_minute);
    g_assert_cmpint(a->resume_grace_s, ==, b->resume_grace_s);
    g_assert_cmpint(a->scrypt_threads, ==, b->scrypt_threads);
    g_assert_cmpint(a->max_participants, ==, b->max_participants);
    g_assert_cmpint(a->media_workers, ==, b->media_workers);
    g_assert_cmpstr(a->media_public_ipv4, ==, b->media_public_ipv4);
    g_assert_cmpstr(a->media_public_ipv6, ==, b->media_public_ipv6);
    g_assert_cmpint(a->media_ipv6, ==, b->media_ipv6);
    g_assert_cmpint(a->media_advertise_private, ==, b->media_advertise_private);
    g_assert_cmpstr(a->media_codecs, ==, b->media_codecs);
    g_assert_cmpint(a->media_max_publish_audio_tracks, ==, b->media_max_publish_audio_tracks);
    g_assert_cmpint(a->media_max_publish_video_tracks, ==, b->media_max_publish_video_tracks);
    g_assert_cmpint(a->media_max_publish_audio_kbps, ==, b->media_max_publish_audio_kbps);
    g_assert_cmpint(a->media_max_publish_video_kbps, ==, b->media_max_publish_video_kbps);
    g_assert_cmpint(a->media_max_publish_audio_pps, ==, b->media_max_publish_audio_pps);
    g_assert_cmpint(a->media_max_publish_video_pps, ==, b->media_max_publish_video_pps);
    g_assert_cmpstr(a->media_dtls_cert, ==, b->media_dtls_cert);
    g_assert_cmpstr(a->media_dtls_key, ==, b->media_dtls_key);
    g_assert_cmpstr(a->log_level, ==, b->log_level);
}

static void
test_defaults(void)
{
    g_autoptr(vej_config) c = vej_config_new();
    g_assert_cmpstr(c->listen_host, ==, "127.0.0.1");
    g_assert_cmpint(c->listen_port, ==, 8443);
    g_assert_cmpuint(c->max_message_bytes, ==, 262144);
    g_assert_cmpstr(c->data_dir, ==, "./data");
    g_assert_cmpstr(c->store_backend, ==, "sqlite");
    g_assert_cmpstr(c->token_issuer, ==, "vej-gateway");
    g_assert_cmpint(c->staff_session_ttl_s, ==, 43200);
    g_assert_cmpint(c->join_token_ttl_s, ==, 604800);
    g_assert_cmpint(c->max_participants, ==, 64);
    g_assert_cmpstr(c->log_level, ==, "info");
    g_assert_cmpstr(c->media_codecs, ==, "opus,vp8,h264");
    g_assert_cmpstr(c->media_dtls_cert, ==, "");
    vej_config_free(NULL);
}

/* The documented file gives exactly the defaults and lists every option. */
static void
test_default_file(void)
{
    const char *path = g_getenv("VEJ_DEFAULT_CONF");
    g_assert_nonnull(path);
    g_autoptr(vej_config) defaults = vej_config_new();
    g_autoptr(vej_config) loaded = vej_config_new();
    /* Start from other values so that every option must come from the file. */
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = make_tmpdir();
    g_autofree char *other =
        write_conf(dir, "[server]\nlisten=[::1]:1\ntls_cert=/a\ntls_key=/b\npublic_url=https://x\n"
                        "web_root=/w\nmax_message_bytes=2048\nunauthenticated_timeout_s=2\n"
                        "ws_queue_max=17\nrpc_rate_per_s=2\nrpc_burst=3\nmax_connections=4\n"
                        "[store]\ndata_dir=/d\naudit_head_interval_s=11\n"
                        "[auth]\ntoken_issuer=i\nstaff_session_ttl_s=61\njoin_token_ttl_s=62\n"
                        "login_attempts_per_minute=2\nresume_grace_s=2\nscrypt_threads=3\n"
                        "[hearing]\nmax_participants=3\n[media]\nworkers=3\nipv6=true\n"
                        "public_ipv4=198.51.100.1\npublic_ipv6=2001:db8::1\n"
                        "advertise_private=false\n[log]\nlevel=debug\n");
    g_assert_true(vej_config_load_file(loaded, other, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(loaded->listen_host, ==, "::1");
    g_assert_cmpint(loaded->rpc_burst, ==, 3);

    g_assert_true(vej_config_load_file(loaded, path, &error));
    g_assert_no_error(error);
    assert_same_config(loaded, defaults);

    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_assert_true(g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error));
    g_assert_no_error(error);
    for (size_t i = 0; i < G_N_ELEMENTS(all_keys); i++) {
        g_auto(GStrv) parts = g_strsplit(all_keys[i], ".", 2);
        if (!g_key_file_has_key(kf, parts[0], parts[1], NULL))
            g_error("%s: %s is missing", path, all_keys[i]);
    }
    rm_rf(dir);
}

/* Loads `text`; expects failure with exactly `message` (FILE: replaced by
 * the file's path) and the configuration unchanged. */
static void
expect_refused(const char *text, const char *message)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = write_conf(dir, text);
    g_autoptr(vej_config) c = vej_config_new();
    g_autoptr(vej_config) defaults = vej_config_new();
    g_autoptr(GError) error = NULL;
    g_assert_false(vej_config_load_file(c, path, &error));
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
    g_autofree char *expected = g_strdup_printf("%s: %s", path, message);
    g_assert_cmpstr(error->message, ==, expected);
    assert_same_config(c, defaults);
    rm_rf(dir);
}

static void
test_unknown(void)
{
    expect_refused("[server]\nlisten = 127.0.0.1:1\n[servr]\nlisten = 1\n",
                   "[servr]: unknown group");
    expect_refused("[server]\nlisten = 127.0.0.1:1\nport = 1\n", "[server] port: unknown key");
    expect_refused("[log]\nworkers = 1\n", "[log] workers: unknown key");
    expect_refused("[media]\nmax_publish_kbps = 100\n",
                   "[media] max_publish_kbps: replaced by max_publish_audio_kbps and "
                   "max_publish_video_kbps (a budget per kind)");
    expect_refused("[server]\nrpc_burst = 1\nrpc_burst = 2\n",
                   "[server] rpc_burst: given more than once");
    expect_refused("[log]\nlevel = info\nlevel[de] = debug\n",
                   "[log] level[de]: localized keys are not supported");
}

static void
test_bad_values(void)
{
    /* integers: range, syntax, overflow */
    expect_refused("[server]\nmax_message_bytes = 12\n",
                   "[server] max_message_bytes: must be between 1024 and 16777216, got 12");
    expect_refused("[server]\nmax_message_bytes = 16777217\n",
                   "[server] max_message_bytes: must be between 1024 and 16777216, got 16777217");
    expect_refused("[media]\nworkers = -1\n", "[media] workers: must be between 0 and 256, got -1");
    expect_refused("[media]\nworkers = 99999999999999999999999\n",
                   "[media] workers: must be between 0 and 256, got 99999999999999999999999");
    expect_refused("[auth]\nresume_grace_s = 30s\n",
                   "[auth] resume_grace_s: must be an integer, got \"30s\"");
    expect_refused("[auth]\nresume_grace_s = 0x10\n",
                   "[auth] resume_grace_s: must be an integer, got \"0x10\"");
    expect_refused("[auth]\nresume_grace_s = +5\n",
                   "[auth] resume_grace_s: must be an integer, got \"+5\"");
    expect_refused("[auth]\nresume_grace_s =\n",
                   "[auth] resume_grace_s: must be an integer, got \"\"");
    expect_refused("[hearing]\nmax_participants = 1\n",
                   "[hearing] max_participants: must be between 2 and 1000, got 1");
    /* choices */
    expect_refused("[store]\nbackend = postgresql\n",
                   "[store] backend: the PostgreSQL backend is not built into this vej-gateway; "
                   "only \"sqlite\" is available");
    expect_refused("[store]\nbackend = mysql\n",
                   "[store] backend: must be \"sqlite\", got \"mysql\"");
    expect_refused("[log]\nlevel = verbose\n",
                   "[log] level: must be one of error, warning, info, debug, got \"verbose\"");
    /* strings */
    expect_refused("[store]\ndata_dir =\n", "[store] data_dir: must not be empty");
    expect_refused("[auth]\ntoken_issuer =\n",
                   "[auth] token_issuer: must be 1 to 255 printable ASCII characters");
    expect_refused("[server]\npublic_url = ftp://x\n",
                   "[server] public_url: must be an https:// URL, got \"ftp://x\"");
    expect_refused("[server]\npublic_url = https://x/join?a=1\n",
                   "[server] public_url: must be https://HOST[:PORT] without path, query or "
                   "fragment, got \"https://x/join?a=1\"");
    expect_refused("[server]\npublic_url = http://court.example\n",
                   "[server] public_url: must be an https:// URL, got \"http://court.example\"");
    expect_refused("[server]\npublic_url = http://court.example\n",
                   "[server] public_url: must be an https:// URL, got \"http://court.example\"");
    expect_refused("[server]\npublic_url = court\n", "[server] public_url: \"court\" is not a URL");
    expect_refused("[server]\nlisten = 127.0.0.1:99999\n",
                   "[server] listen: port must be between 0 and 65535, got \"99999\"");
    expect_refused("[server]\ntls_cert = /etc/cert.pem\n",
                   "[server] tls_key: tls_cert and tls_key are set together or both left empty");
    /* 1:1 NAT addresses */
    expect_refused("[media]\npublic_ipv4 = 203.0.113\n",
                   "[media] public_ipv4: must be a numeric IPv4 address such as 203.0.113.7, got "
                   "\"203.0.113\"");
    expect_refused("[media]\npublic_ipv4 = 127.0.0.2\n",
                   "[media] public_ipv4: \"127.0.0.2\" cannot be reached from other hosts "
                   "(unspecified, loopback, link-local, multicast or reserved)");
    expect_refused("[media]\npublic_ipv4 = 255.255.255.255\n",
                   "[media] public_ipv4: \"255.255.255.255\" cannot be reached from other hosts "
                   "(unspecified, loopback, link-local, multicast or reserved)");
    expect_refused("[media]\nipv6 = true\npublic_ipv6 = fe80::1%eth0\n",
                   "[media] public_ipv6: must be a numeric IPv6 address such as 2001:db8::7 (no "
                   "brackets, no zone), got \"fe80::1%eth0\"");
    expect_refused("[media]\nipv6 = true\npublic_ipv6 = ff02::1\n",
                   "[media] public_ipv6: \"ff02::1\" cannot be reached from other hosts "
                   "(unspecified, loopback, link-local, multicast or IPv4-mapped)");
    expect_refused("[media]\npublic_ipv6 = 2001:db8::7\n",
                   "[media] public_ipv6: set, but ipv6 = false offers no IPv6 candidate to map: "
                   "set ipv6 = true or leave public_ipv6 empty");
    {
        g_autofree char *d = make_tmpdir();
        g_autofree char *p = write_conf(d, "[media]\nipv6 = true\npublic_ipv4 = 10.1.2.3\n"
                                           "public_ipv6 = 2001:db8::7\n");
        g_autoptr(vej_config) ok = vej_config_new();
        g_autoptr(GError) e = NULL;
        g_assert_true(vej_config_load_file(ok, p, &e)); /* private ranges are fine */
        g_assert_no_error(e);
        g_assert_cmpstr(ok->media_public_ipv4, ==, "10.1.2.3");
        g_assert_cmpstr(ok->media_public_ipv6, ==, "2001:db8::7");
        g_assert_true(ok->media_advertise_private);
        rm_rf(d);
    }
    expect_refused("[media]\ndtls_key = /etc/key.pem\n",
                   "[media] dtls_cert: dtls_cert and dtls_key are set together or both left empty");
    expect_refused("[media]\ncodecs = opus,vp9\n",
                   "[media] codecs: unknown codec \"vp9\" (known: opus, vp8, h264)");
    expect_refused("[media]\ncodecs = vp8, opus ,vp8\n",
                   "[media] codecs: codec \"vp8\" is listed twice");
    expect_refused("[media]\ncodecs =\n", "[media] codecs: must name at least one codec");
    expect_refused("[media]\ncodecs = ,\n",
                   "[media] codecs: unknown codec \"\" (known: opus, vp8, h264)");
    /* syntax */
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = write_conf(dir, "listen = 1\n");
    g_autoptr(vej_config) c = vej_config_new();
    g_autoptr(GError) error = NULL;
    g_assert_false(vej_config_load_file(c, path, &error));
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
    g_assert_true(g_str_has_prefix(error->message, path));
    g_clear_error(&error);
    g_autofree char *missing = g_build_filename(dir, "missing.conf", NULL);
    g_assert_false(vej_config_load_file(c, missing, &error));
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_IO);
    g_assert_true(g_str_has_prefix(error->message, missing));
    rm_rf(dir);
}

static void
test_good_values(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path =
        write_conf(dir, "# comment\n[server]\nlisten = [::]:0\npublic_url = https://court.example:"
                        "8443/\ntls_cert = c.pem\ntls_key = k.pem\nweb_root = /srv/web dir \n"
                        "[store]\nbackend = sqlite\n[log]\nlevel = debug\n[media]\nworkers=0\n");
    g_autoptr(vej_config) c = vej_config_new();
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_config_load_file(c, path, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->listen_host, ==, "::");
    g_assert_cmpint(c->listen_port, ==, 0);
    g_assert_cmpstr(c->public_url, ==, "https://court.example:8443");
    g_assert_cmpstr(c->tls_cert, ==, "c.pem");
    g_assert_cmpstr(c->web_root, ==, "/srv/web dir");
    g_assert_cmpstr(c->log_level, ==, "debug");
    rm_rf(dir);
}

static void
test_listen(void)
{
    static const struct {
        const char *text;
        const char *host;
        int port;
    } good[] = {
        {"127.0.0.1:8443", "127.0.0.1", 8443},
        {"0.0.0.0:0", "0.0.0.0", 0},
        {"localhost:65535", "localhost", 65535},
        {"[::1]:8443", "::1", 8443},
        {"[::]:443", "::", 443},
        {"[2001:db8::5]:1", "2001:db8::5", 1},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *host = NULL;
        int port = -1;
        g_autoptr(GError) error = NULL;
        g_assert_true(vej_config_parse_listen(good[i].text, &host, &port, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(host, ==, good[i].host);
        g_assert_cmpint(port, ==, good[i].port);
    }
    static const char *const bad[] = {
        "",
        "8443",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1: 80",
        "127.0.0.1:65536",
        "127.0.0.1:8443x",
        ":8443",
        "::1:8443",
        "[::1]8443",
        "[::1]:",
        "[::1:8443",
        "[nothost]:80",
        "[]:80",
        "host name:80",
        "[::1]:99999999999999999999",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *host = NULL;
        int port = -1;
        g_autoptr(GError) error = NULL;
        if (vej_config_parse_listen(bad[i], &host, &port, &error))
            g_error("\"%s\" was accepted", bad[i]);
        g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
        g_assert_null(host);
        g_assert_cmpint(port, ==, -1);
    }
    g_autoptr(GError) error = NULL;
    char *host = NULL;
    int port = 0;
    g_assert_false(vej_config_parse_listen("::1:8443", &host, &port, &error));
    g_assert_nonnull(strstr(error->message, "[::1]:8443"));
}

/* Runs vej_config_from_args on a copy of `args` (NULL-terminated). */
static gboolean
run_args(struct vej_config *c, const char *const *args, gboolean *exit_now, GError **error)
{
    g_auto(GStrv) copy = g_strdupv((char **)args);
    /* GOption may drop elements from argv: keep our own pointer array. */
    int argc = (int)g_strv_length(copy);
    g_autofree char **argv = g_memdup2(copy, sizeof(char *) * ((size_t)argc + 1));
    char **p = argv;
    return vej_config_from_args(c, &argc, &p, exit_now, error);
}

static void
test_args(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = write_conf(
        dir, "[server]\nlisten = 10.0.0.1:9000\nrpc_burst = 7\n[store]\ndata_dir = /file\n");
    g_autoptr(vej_config) c = vej_config_new();
    g_autoptr(GError) error = NULL;
    gboolean exit_now = TRUE;
    const char *const args[] = {"vej-gateway", "--config", path,      "--data-dir",
                                "/flag",       "--listen", "[::1]:7", NULL};
    g_assert_true(run_args(c, args, &exit_now, &error));
    g_assert_no_error(error);
    g_assert_false(exit_now);
    g_assert_cmpstr(c->data_dir, ==, "/flag");
    g_assert_cmpstr(c->listen_host, ==, "::1");
    g_assert_cmpint(c->listen_port, ==, 7);
    g_assert_cmpint(c->rpc_burst, ==, 7);

    /* The file alone. */
    g_autoptr(vej_config) f = vej_config_new();
    const char *const file_only[] = {"vej-gateway", "-c", path, NULL};
    g_assert_true(run_args(f, file_only, &exit_now, &error));
    g_assert_cmpstr(f->listen_host, ==, "10.0.0.1");
    g_assert_cmpstr(f->data_dir, ==, "/file");

    static const struct {
        const char *args[4];
        const char *needle;
    } bad[] = {
        {{"vej-gateway", "--listen", "nope", NULL}, "--listen: "},
        {{"vej-gateway", "--listen", NULL}, "--listen"},
        {{"vej-gateway", "--bogus", NULL}, "--bogus"},
        {{"vej-gateway", "--data-dir=", NULL}, "--data-dir: must not be empty"},
        {{"vej-gateway", "extra", NULL}, "unexpected argument \"extra\""},
        {{"vej-gateway", "--config", "/nonexistent/vej.conf", NULL}, "/nonexistent/vej.conf: "},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(vej_config) b = vej_config_new();
        g_autoptr(vej_config) defaults = vej_config_new();
        g_autoptr(GError) e = NULL;
        g_assert_false(run_args(b, bad[i].args, &exit_now, &e));
        g_assert_nonnull(e);
        if (strstr(e->message, bad[i].needle) == NULL)
            g_error("\"%s\" does not name \"%s\"", e->message, bad[i].needle);
        assert_same_config(b, defaults);
    }
    rm_rf(dir);
}

/* --version and --help print and ask the caller to exit. */
static void
test_args_exit(void)
{
    static const char *const version[] = {"vej-gateway", "--version", "--listen", "bad", NULL};
    static const char *const help[] = {"vej-gateway", "-h", NULL};
    const char *const *args = g_str_has_suffix(g_test_get_path(), "version") ? version : help;
    if (g_test_subprocess()) {
        g_autoptr(vej_config) c = vej_config_new();
        g_autoptr(GError) error = NULL;
        gboolean exit_now = FALSE;
        g_assert_true(run_args(c, args, &exit_now, &error));
        g_assert_no_error(error);
        g_assert_true(exit_now);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    if (args == version)
        g_test_trap_assert_stdout("vej-gateway " VEJ_VERSION "\n");
    else
        g_test_trap_assert_stdout("*--config=FILE*--data-dir=DIR*--listen=HOST:PORT*");
}

static mode_t
file_mode(const char *path)
{
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_mode & 07777;
}

static void
test_secret_file(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *data_dir = g_build_filename(dir, "data", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_data_dir_ensure(data_dir, &error));
    g_assert_cmpuint(file_mode(data_dir), ==, 0700);
    g_assert_true(vej_data_dir_ensure(data_dir, &error));

    g_unsetenv("VEJ_TEST_SECRET");
    g_autoptr(GBytes) a = vej_secret_load(data_dir, "join-key", "VEJ_TEST_SECRET", 32, &error);
    g_assert_no_error(error);
    g_assert_nonnull(a);
    g_assert_cmpuint(g_bytes_get_size(a), ==, 32);
    g_autofree char *path = g_build_filename(data_dir, "secrets", "join-key", NULL);
    g_assert_cmpuint(file_mode(path), ==, 0600);
    g_autofree char *secrets_dir = g_build_filename(data_dir, "secrets", NULL);
    g_assert_cmpuint(file_mode(secrets_dir), ==, 0700);

    g_autoptr(GBytes) b = vej_secret_load(data_dir, "join-key", NULL, 32, &error);
    g_assert_no_error(error);
    g_assert_true(g_bytes_equal(a, b));
    g_autoptr(GBytes) other = vej_secret_load(data_dir, "other-key", NULL, 32, &error);
    g_assert_no_error(error);
    g_assert_false(g_bytes_equal(a, other));
    /* Asking for more than the file holds. */
    g_autoptr(GBytes) longer = vej_secret_load(data_dir, "join-key", NULL, 64, &error);
    g_assert_null(longer);
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "too short"));
    g_clear_error(&error);

    g_assert_cmpint(chmod(path, 0640), ==, 0);
    g_autoptr(GBytes) loose = vej_secret_load(data_dir, "join-key", NULL, 32, &error);
    g_assert_null(loose);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "chmod 600"));
    g_clear_error(&error);
    g_assert_cmpint(chmod(path, 0600), ==, 0);

    g_autofree char *short_path = g_build_filename(secrets_dir, "short", NULL);
    g_assert_true(g_file_set_contents(short_path, "AAAA\n", -1, &error));
    g_assert_cmpint(chmod(short_path, 0600), ==, 0);
    g_autoptr(GBytes) too_short = vej_secret_load(data_dir, "short", NULL, 32, &error);
    g_assert_null(too_short);
    g_assert_nonnull(strstr(error->message, "too short"));
    g_clear_error(&error);

    g_autoptr(GBytes) bad_name = vej_secret_load(data_dir, "../x", NULL, 32, &error);
    g_assert_null(bad_name);
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
    g_clear_error(&error);
    g_autoptr(GBytes) bad_len = vej_secret_load(data_dir, "join-key", NULL, 0, &error);
    g_assert_null(bad_len);
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
    g_clear_error(&error);

    /* No temporary file is left behind. */
    g_autoptr(GDir) d = g_dir_open(secrets_dir, 0, &error);
    g_assert_no_error(error);
    for (const char *name; (name = g_dir_read_name(d)) != NULL;)
        g_assert_false(g_str_has_prefix(name, "."));
    rm_rf(dir);
}

static void
test_secret_env(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autoptr(GError) error = NULL;
    uint8_t raw[40];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(0xf0 + i * 7);
    g_autofree char *url = vej__base64url_encode(raw, sizeof raw);
    g_autofree char *std = g_base64_encode(raw, sizeof raw);
    g_assert_nonnull(strpbrk(url, "-_")); /* the sample exercises both alphabets */
    g_assert_nonnull(strpbrk(std, "+/"));

    const char *const texts[] = {url, std};
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_setenv("VEJ_TEST_SECRET", texts[i], TRUE);
        g_autoptr(GBytes) s = vej_secret_load(dir, "env-key", "VEJ_TEST_SECRET", 32, &error);
        g_assert_no_error(error);
        g_assert_cmpmem(g_bytes_get_data(s, NULL), g_bytes_get_size(s), raw, 32);
    }
    g_autofree char *file = g_build_filename(dir, "secrets", "env-key", NULL);
    g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));

    const char *const bad[] = {"AAAA", "not base64!", "ab+c-d", "A", "AA==="};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_setenv("VEJ_TEST_SECRET", bad[i], TRUE);
        g_autoptr(GBytes) s = vej_secret_load(dir, "env-key", "VEJ_TEST_SECRET", 3, &error);
        if (i == 0) { /* 3 bytes: enough */
            g_assert_no_error(error);
            continue;
        }
        g_assert_null(s);
        g_assert_error(error, VEJ_CONFIG_ERROR, VEJ_CONFIG_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, "VEJ_TEST_SECRET"));
        g_assert_null(strstr(error->message, bad[i]));
        g_clear_error(&error);
    }
    g_setenv("VEJ_TEST_SECRET", "AAAA", TRUE);
    g_autoptr(GBytes) s = vej_secret_load(dir, "env-key", "VEJ_TEST_SECRET", 32, &error);
    g_assert_null(s);
    g_assert_nonnull(strstr(error->message, "too short"));
    g_unsetenv("VEJ_TEST_SECRET");
    rm_rf(dir);
}

static gboolean
san_has(GENERAL_NAMES *names, int type, const void *value, int len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != type)
            continue;
        const ASN1_STRING *s = type == GEN_DNS ? gn->d.dNSName : gn->d.iPAddress;
        if (ASN1_STRING_length(s) == len && memcmp(ASN1_STRING_get0_data(s), value, len) == 0)
            return TRUE;
    }
    return FALSE;
}

static void
check_certificate(const char *cert_path, const char *key_path)
{
    FILE *f = fopen(cert_path, "r");
    g_assert_nonnull(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    g_assert_nonnull(cert);
    f = fopen(key_path, "r");
    g_assert_nonnull(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    g_assert_nonnull(key);
    g_assert_true(EVP_PKEY_is_a(key, "EC"));
    g_assert_cmpint(EVP_PKEY_get_bits(key), ==, 256);
    g_assert_cmpint(X509_check_private_key(cert, key), ==, 1);
    g_assert_cmpint(X509_get_version(cert), ==, X509_VERSION_3);
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    g_assert_cmpint(X509_verify(cert, pub), ==, 1);

    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    g_assert_nonnull(names);
    static const uint8_t v4[4] = {127, 0, 0, 1};
    static const uint8_t v6[16] = {[15] = 1};
    g_assert_true(san_has(names, GEN_DNS, "localhost", 9));
    g_assert_true(san_has(names, GEN_IPADD, v4, 4));
    g_assert_true(san_has(names, GEN_IPADD, v6, 16));
    GENERAL_NAMES_free(names);

    g_assert_cmpint(X509_check_host(cert, "localhost", 0, 0, NULL), ==, 1);
    g_assert_cmpint(X509_check_ip_asc(cert, "::1", 0), ==, 1);
    /* About a year of validity from now. */
    int days = 0, secs = 0;
    g_assert_cmpint(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)), ==, 1);
    g_assert_cmpint(days, >=, 364);
    g_assert_cmpint(days, <=, 366);
    g_assert_cmpint(X509_cmp_current_time(X509_get0_notBefore(cert)), <, 0);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    g_assert_cmpint(ASN1_STRING_length(serial), >=, 8);
    EVP_PKEY_free(key);
    X509_free(cert);
}

static void
test_tls(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *cert = g_build_filename(dir, "tls", "cert.pem", NULL);
    g_autofree char *key = g_build_filename(dir, "tls", "key.pem", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(vej_tls_ensure_self_signed(cert, key, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(file_mode(key), ==, 0600);
    check_certificate(cert, key);

    /* Present: left alone. */
    g_autofree char *before = NULL;
    g_assert_true(g_file_get_contents(cert, &before, NULL, NULL));
    g_assert_true(vej_tls_ensure_self_signed(cert, key, &error));
    g_autofree char *after = NULL;
    g_assert_true(g_file_get_contents(cert, &after, NULL, NULL));
    g_assert_cmpstr(before, ==, after);

    /* Half a pair is refused, not overwritten. */
    g_assert_cmpint(unlink(cert), ==, 0);
    g_assert_false(vej_tls_ensure_self_signed(cert, key, &error));
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, key));
    g_assert_false(g_file_test(cert, G_FILE_TEST_EXISTS));
    rm_rf(dir);
}

static void
test_log_format(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    /* 2026-11-24T12:00:00.123Z */
    int64_t t = (int64_t)1795521600 * G_USEC_PER_SEC + 123456;
    vej__log_format(out, t, G_LOG_LEVEL_WARNING, "vej-store", "disk\nfull");
    g_assert_cmpstr(out->str, ==, "2026-11-24T12:00:00.123Z WARNING vej-store: disk\\x0afull\n");
    g_string_truncate(out, 0);
    vej__log_format(out, 0, G_LOG_LEVEL_MESSAGE, NULL, "up");
    g_assert_cmpstr(out->str, ==, "1970-01-01T00:00:00.000Z INFO vej: up\n");

    g_assert_cmpint(vej__log_threshold("error"), ==, G_LOG_LEVEL_CRITICAL);
    g_assert_cmpint(vej__log_threshold("debug"), ==, G_LOG_LEVEL_DEBUG);
    g_assert_cmpint(vej__log_threshold("loud"), ==, 0);
}

/* The installed writer, in a child process: its standard error is read. */
static void
test_log_writer(void)
{
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        vej_log_init("info");
        /* Installing twice must not abort (GLib refuses a second writer). */
        vej_log_init("warning");
        g_info("hidden info");
        g_warning("shown %s", "warning");
        g_log_structured("vej-test", G_LOG_LEVEL_CRITICAL, "MESSAGE", "shown critical");
        vej_log_init("debug");
        g_debug("shown debug");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr_unmatched("*hidden*");
    g_test_trap_assert_stderr("*Z WARNING vej: shown warning\n*");
    g_test_trap_assert_stderr("*Z ERROR vej-test: shown critical\n*");
    g_test_trap_assert_stderr("*Z DEBUG vej: shown debug\n*");
}

static void
test_write_file_new(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(vej__write_file_new(path, "one", 3, 0640, &error));
    g_assert_cmpuint(file_mode(path), ==, 0640);
    g_assert_false(vej__write_file_new(path, "two", 3, 0600, &error));
    g_assert_error(error, VEJ_CONFIG_ERROR, VEJ__CONFIG_ERROR_EXISTS);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "one");
    rm_rf(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/config/defaults", test_defaults);
    g_test_add_func("/config/default-file", test_default_file);
    g_test_add_func("/config/unknown", test_unknown);
    g_test_add_func("/config/bad-values", test_bad_values);
    g_test_add_func("/config/good-values", test_good_values);
    g_test_add_func("/config/listen", test_listen);
    g_test_add_func("/config/args", test_args);
    g_test_add_func("/config/args/version", test_args_exit);
    g_test_add_func("/config/args/help", test_args_exit);
    g_test_add_func("/config/secret-file", test_secret_file);
    g_test_add_func("/config/secret-env", test_secret_env);
    g_test_add_func("/config/tls", test_tls);
    g_test_add_func("/config/write-file-new", test_write_file_new);
    g_test_add_func("/config/log-format", test_log_format);
    g_test_add_func("/config/log-writer", test_log_writer);
    return g_test_run();
}
