/* send-path.c - sendto() on the selected ICE pair's socket (see send-path.h). */
#include "gateway/transport/send-path.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

bool
vej_send_path_set(struct vej_send_path *path, GSocket *socket, const struct sockaddr *remote,
                  socklen_t len)
{
    vej_send_path_clear(path);
    if (!socket || !remote || g_socket_is_closed(socket) ||
        g_socket_get_socket_type(socket) != G_SOCKET_TYPE_DATAGRAM)
        return false;
    int family = g_socket_get_family(socket);
    bool ok = (remote->sa_family == AF_INET && family == G_SOCKET_FAMILY_IPV4 &&
               len >= (socklen_t)sizeof(struct sockaddr_in)) ||
              (remote->sa_family == AF_INET6 && family == G_SOCKET_FAMILY_IPV6 &&
               len >= (socklen_t)sizeof(struct sockaddr_in6));
    if (!ok || len > (socklen_t)sizeof path->remote)
        return false;
    path->socket = g_object_ref(socket);
    path->fd = g_socket_get_fd(socket);
    memcpy(&path->remote, remote, len);
    path->remote_len = len;
    return true;
}

void
vej_send_path_clear(struct vej_send_path *path)
{
    g_clear_object(&path->socket);
    path->fd = -1;
    path->remote_len = 0;
}

enum vej_send_result
vej_send_path_send(struct vej_send_path *path, const uint8_t *buf, size_t len)
{
    if (G_UNLIKELY(!path->socket))
        return VEJ_SEND_NO_PATH;
    if (G_UNLIKELY(g_socket_is_closed(path->socket))) {
        vej_send_path_clear(path);
        return VEJ_SEND_NO_PATH;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        ssize_t n = sendto(path->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                           (const struct sockaddr *)&path->remote, path->remote_len);
        if (n >= 0)
            return VEJ_SEND_OK;
        switch (errno) {
        case EINTR:
            continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return VEJ_SEND_EAGAIN;
        case ENOBUFS:
            return VEJ_SEND_ENOBUFS;
        default:
            return VEJ_SEND_ERROR;
        }
    }
    return VEJ_SEND_ERROR;
}

const char *
vej_send_result_name(enum vej_send_result r)
{
    switch (r) {
    case VEJ_SEND_OK:
        return "ok";
    case VEJ_SEND_NO_PATH:
        return "no path";
    case VEJ_SEND_EAGAIN:
        return "eagain";
    case VEJ_SEND_ENOBUFS:
        return "enobufs";
    case VEJ_SEND_ERROR:
        return "error";
    }
    return "?";
}
