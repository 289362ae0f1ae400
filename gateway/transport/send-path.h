/* send-path.h - sending on the selected ICE pair's socket without libnice.
 *
 * Once ICE has selected a pair, a datagram for the peer is a sendto() on the
 * pair's local UDP socket to the pair's remote address: nice_agent_send()
 * adds the agent's global mutex, a candidate lookup and its socket layers to
 * every packet. The path caches the GSocket (a reference: the object stays
 * valid) and the remote address; whoever owns it refreshes it on every
 * change of the selected pair or of the ICE state (peer.c) and clears it
 * before the agent goes.
 *
 * libnice closes a GSocket explicitly (g_socket_close) when it frees a
 * candidate's socket, whatever references remain, and the fd number may be
 * reused at once by another socket. So every send first asks
 * g_socket_is_closed() (a field read, no lock): a closed socket clears the
 * path and the caller falls back to libnice. This is safe because a path
 * and its agent are used on one thread only (the worker), so nothing can
 * close the socket between that check and the sendto().
 *
 * No allocation, no lock, no GError on the send path: errors are errno
 * values mapped to a result for the caller's counters.
 */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

G_BEGIN_DECLS

struct vej_send_path {
    GSocket *socket; /* (owned) NULL: no path, send through libnice */
    int fd;
    struct sockaddr_storage remote;
    socklen_t remote_len;
};

enum vej_send_result {
    VEJ_SEND_OK,
    VEJ_SEND_NO_PATH, /* none cached, or its socket was closed: use libnice */
    VEJ_SEND_EAGAIN,  /* the socket's send buffer is full: dropped */
    VEJ_SEND_ENOBUFS, /* the kernel had no buffer (queue full): dropped */
    VEJ_SEND_ERROR,   /* any other errno (unreachable, refused by a firewall, ...) */
};

/* Caches `socket` (transfer none: a reference is taken) and the remote
 * address (AF_INET or AF_INET6, `len` bytes). Returns false, leaving the
 * path empty, when the socket is closed, is not a UDP datagram socket or
 * its family differs from the address's. */
bool vej_send_path_set(struct vej_send_path *path, GSocket *socket, const struct sockaddr *remote,
                       socklen_t len);

/* Drops the cached socket (its reference) and address; idempotent. */
void vej_send_path_clear(struct vej_send_path *path);

static inline bool
vej_send_path_usable(const struct vej_send_path *path)
{
    return path->socket != NULL;
}

/* One datagram, non-blocking. VEJ_SEND_NO_PATH (nothing was sent) when
 * there is no path or its socket was closed (the path is then cleared). */
enum vej_send_result vej_send_path_send(struct vej_send_path *path, const uint8_t *buf, size_t len);

/* "eagain", "enobufs", "error", ...: for logs. */
const char *vej_send_result_name(enum vej_send_result r);

G_END_DECLS
