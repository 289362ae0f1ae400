/* main.c - vej-gateway: start-up, wiring, signals, graceful shutdown.
 *
 * The only file that knows every part. Start-up order: configuration, data
 * directory, TLS certificate, store (migrations), first admin account,
 * secrets, audit writer, signalling server. SIGTERM or SIGINT begins the
 * graceful shutdown: new joins are refused, every socket is sent
 * session.closing and closed, the audit log is flushed and its head signed
 * into DATA_DIR/audit-heads.log, and the process exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "recording/audit-heads.h"
#include "recording/sign.h"
#include "signalling/server.h"
#include "signalling/token.h"
#include "store/audit.h"
#include "store/password.h"
#include "store/store.h"

#ifndef VEJ_WEB_DIR
#define VEJ_WEB_DIR ""
#endif

static struct vej_signalling *the_server; /* for the signal handler only */

static void
on_signal(int sig)
{
    (void)sig;
    if (the_server)
        vej_signalling_request_stop(the_server);
}

static void
install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Writes the first admin's password to DATA_DIR/initial-admin-password with
 * mode 0600; the password itself is never logged. */
static gboolean
create_initial_admin(vej_store *store, const char *data_dir, const char *db_path, GError **error)
{
    int64_t n = vej_store_user_count(store, error);
    if (n < 0)
        return FALSE;
    if (n > 0)
        return TRUE;
    char password[44];
    if (!vej_opaque_token_new(password)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "no randomness for the admin password");
        return FALSE;
    }
    password[24] = 0;
    g_autofree char *hash = vej_password_hash(password, error);
    if (!hash)
        return FALSE;
    g_autofree char *path = g_build_filename(data_dir, "initial-admin-password", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, password, strlen(password)) < 0 ||
        write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
        return FALSE;
    }
    close(fd);
    g_autoptr(vej_user) admin = vej_store_user_create(store, "admin", "admin", hash, true, error);
    memset(password, 0, sizeof password);
    if (!admin)
        return FALSE;
    if (!vej_audit_append_sync(db_path, "system", "user.create", admin->id,
                               "{\"role\":\"admin\",\"username\":\"admin\",\"initial\":true}",
                               error))
        return FALSE;
    fprintf(stderr,
            "vej-gateway: initial admin password written to %s (user admin; it must be changed "
            "at first login)\n",
            path);
    return TRUE;
}

static gboolean
resolve_paths(struct vej_config *cfg, GError **error)
{
    if (!vej_data_dir_ensure(cfg->data_dir, error))
        return FALSE;
    if (!cfg->tls_cert || !*cfg->tls_cert || !cfg->tls_key || !*cfg->tls_key) {
        g_autofree char *tls_dir = g_build_filename(cfg->data_dir, "tls", NULL);
        if (g_mkdir_with_parents(tls_dir, 0700) != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", tls_dir,
                        g_strerror(errno));
            return FALSE;
        }
        g_free(cfg->tls_cert);
        g_free(cfg->tls_key);
        cfg->tls_cert = g_build_filename(tls_dir, "cert.pem", NULL);
        cfg->tls_key = g_build_filename(tls_dir, "key.pem", NULL);
        if (!vej_tls_ensure_self_signed(cfg->tls_cert, cfg->tls_key, error))
            return FALSE;
    }
    if (!cfg->web_root || !*cfg->web_root) {
        g_free(cfg->web_root);
        cfg->web_root = g_strdup(VEJ_WEB_DIR);
    }
    return TRUE;
}

static int
run(struct vej_config *cfg)
{
    g_autoptr(GError) error = NULL;
    if (!resolve_paths(cfg, &error)) {
        g_printerr("vej-gateway: %s\n", error->message);
        return 1;
    }
    g_autofree char *db_path = g_build_filename(cfg->data_dir, "vej.db", NULL);
    g_autoptr(vej_store) store = vej_store_open(db_path, &error);
    if (!store) {
        g_printerr("vej-gateway: store %s: %s\n", db_path, error->message);
        return 1;
    }
    if (!create_initial_admin(store, cfg->data_dir, db_path, &error)) {
        g_printerr("vej-gateway: initial admin: %s\n", error->message);
        return 1;
    }
    g_autoptr(GBytes) token_key =
        vej_secret_load(cfg->data_dir, "token-key", "VEJ_TOKEN_KEY", 32, &error);
    if (!token_key) {
        g_printerr("vej-gateway: token key: %s\n", error->message);
        return 1;
    }
    g_autofree char *key_path = cfg->signing_key && *cfg->signing_key
                                    ? g_strdup(cfg->signing_key)
                                    : vej_signer_default_path(cfg->data_dir);
    g_autoptr(vej_signer) signer = vej_signer_load(key_path, TRUE, &error);
    if (!signer) {
        g_printerr("vej-gateway: signing key: %s\n", error->message);
        return 1;
    }
    vej_audit_writer *audit = vej_audit_writer_new(db_path, &error);
    if (!audit) {
        g_printerr("vej-gateway: audit log: %s\n", error->message);
        return 1;
    }
    struct vej_signalling *server =
        vej_signalling_new(cfg, store, audit, db_path, token_key, &error);
    if (!server) {
        g_printerr("vej-gateway: %s\n", error->message);
        vej_audit_writer_free(audit);
        return 1;
    }
    vej_signalling_set_signer(server, signer);
    vej_audit_append(audit, "system", "server.start", "", "{\"version\":\"" VEJ_VERSION "\"}");
    the_server = server;
    install_signals();
    const char *host = cfg->listen_host;
    fprintf(stderr, "vej-gateway %s: listening on https://%s%s%s:%d (data in %s)\n", VEJ_VERSION,
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
            vej_signalling_port(server), cfg->data_dir);
    vej_signalling_run(server);
    the_server = NULL;
    vej_signalling_free(server);

    gboolean flushed = vej_audit_writer_flush(audit);
    vej_audit_writer_free(audit);
    /* The last head is always signed, even when unchanged since the last
     * interval: the heads file then shows a clean shutdown. */
    g_autofree char *heads_path = vej_audit_heads_path(cfg->data_dir);
    struct vej_signed_head head;
    if (vej_audit_heads_sign(db_path, heads_path, signer, TRUE, &head, &error)) {
        g_autofree char *hex = vej_hex(head.hash, 32);
        g_message("audit head at shutdown (signed): seq %" G_GINT64_FORMAT " hash %s", head.seq,
                  hex);
    } else {
        g_warning("audit head at shutdown: %s", error->message);
        flushed = FALSE;
    }
    fprintf(stderr, "vej-gateway: stopped\n");
    return flushed ? 0 : 1;
}

int
main(int argc, char **argv)
{
    /* Court data: nothing we create is readable by others. */
    umask(0077);
    g_autoptr(vej_config) cfg = vej_config_new();
    g_autoptr(GError) error = NULL;
    gboolean exit_now = FALSE;
    if (!vej_config_from_args(cfg, &argc, &argv, &exit_now, &error)) {
        g_printerr("vej-gateway: %s\n", error->message);
        return 2;
    }
    if (exit_now)
        return 0;
    vej_log_init(cfg->log_level);
    return run(cfg);
}
