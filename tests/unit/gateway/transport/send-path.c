/* Unit tests for gateway/transport/send-path.c: datagrams on loopback sockets, the
 * closed-socket guard, refused sockets and addresses. */
#include "gateway/transport/send-path.h"

#include <netinet/in.h>
#include <string.h>

static GSocket *
udp_socket(GSocketFamily family, const char *address)
{
    g_autoptr(GError) error = NULL;
    GSocket *s = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
    g_assert_no_error(error);
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(address);
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, 0);
    g_assert_true(g_socket_bind(s, sa, FALSE, &error));
    g_assert_no_error(error);
    g_socket_set_blocking(s, FALSE);
    return s;
}

/* The socket's own address as a sockaddr. */
static socklen_t
native_address(GSocket *s, struct sockaddr_storage *out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketAddress) sa = g_socket_get_local_address(s, &error);
    g_assert_no_error(error);
    gssize n = g_socket_address_get_native_size(sa);
    g_assert_true(g_socket_address_to_native(sa, out, sizeof *out, &error));
    return (socklen_t)n;
}

static void
test_send(void)
{
    g_autoptr(GSocket) from = udp_socket(G_SOCKET_FAMILY_IPV4, "127.0.0.1");
    g_autoptr(GSocket) to = udp_socket(G_SOCKET_FAMILY_IPV4, "127.0.0.1");
    struct sockaddr_storage dst;
    socklen_t len = native_address(to, &dst);
    struct vej_send_path path;
    memset(&path, 0, sizeof path);
    vej_send_path_clear(&path);
    g_assert_false(vej_send_path_usable(&path));
    g_assert_cmpint(vej_send_path_send(&path, (const uint8_t *)"x", 1), ==, VEJ_SEND_NO_PATH);

    g_assert_true(vej_send_path_set(&path, from, (struct sockaddr *)&dst, len));
    g_assert_true(vej_send_path_usable(&path));
    for (int i = 0; i < 3; i++) {
        uint8_t pkt[1200];
        memset(pkt, 0x80 + i, sizeof pkt);
        g_assert_cmpint(vej_send_path_send(&path, pkt, sizeof pkt), ==, VEJ_SEND_OK);
        uint8_t got[1500];
        g_autoptr(GError) error = NULL;
        g_assert_true(g_socket_condition_timed_wait(to, G_IO_IN, 2 * G_USEC_PER_SEC, NULL, NULL));
        gssize n = g_socket_receive(to, (gchar *)got, sizeof got, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(n, ==, sizeof pkt);
        g_assert_cmpmem(got, (gsize)n, pkt, sizeof pkt);
    }

    /* libnice closes its sockets explicitly: the path notices, clears
     * itself and sends nothing (the fd may belong to someone else now). */
    g_socket_close(from, NULL);
    g_assert_cmpint(vej_send_path_send(&path, (const uint8_t *)"x", 1), ==, VEJ_SEND_NO_PATH);
    g_assert_false(vej_send_path_usable(&path));
    vej_send_path_clear(&path);
    g_assert_false(vej_send_path_set(&path, from, (struct sockaddr *)&dst, len));
}

static void
test_refused(void)
{
    g_autoptr(GSocket) v4 = udp_socket(G_SOCKET_FAMILY_IPV4, "127.0.0.1");
    struct sockaddr_storage dst;
    socklen_t len = native_address(v4, &dst);
    struct vej_send_path path;
    memset(&path, 0, sizeof path);

    /* family mismatch, short address, no socket or address */
    struct sockaddr_in6 six;
    memset(&six, 0, sizeof six);
    six.sin6_family = AF_INET6;
    six.sin6_addr = in6addr_loopback;
    six.sin6_port = htons(9);
    g_assert_false(vej_send_path_set(&path, v4, (struct sockaddr *)&six, sizeof six));
    g_assert_false(vej_send_path_set(&path, v4, (struct sockaddr *)&dst, 4));
    g_assert_false(vej_send_path_set(&path, NULL, (struct sockaddr *)&dst, len));
    g_assert_false(vej_send_path_set(&path, v4, NULL, len));
    g_assert_false(vej_send_path_usable(&path));

    /* a stream socket is not a path */
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) tcp =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    g_assert_false(vej_send_path_set(&path, tcp, (struct sockaddr *)&dst, len));

    /* a set path is replaced, and its reference dropped, by the next one */
    g_assert_true(vej_send_path_set(&path, v4, (struct sockaddr *)&dst, len));
    g_assert_true(vej_send_path_set(&path, v4, (struct sockaddr *)&dst, len));
    vej_send_path_clear(&path);
    vej_send_path_clear(&path);
    g_assert_cmpstr(vej_send_result_name(VEJ_SEND_EAGAIN), ==, "eagain");
}

static void
test_ipv6(void)
{
    g_autoptr(GError) error = NULL;
    GSocket *probe =
        g_socket_new(G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
    if (!probe) {
        g_test_skip("no IPv6 here");
        return;
    }
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV6);
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(lo, 0);
    gboolean bound = g_socket_bind(probe, sa, FALSE, NULL);
    g_object_unref(probe);
    if (!bound) {
        g_test_skip("no ::1 here");
        return;
    }
    g_autoptr(GSocket) from = udp_socket(G_SOCKET_FAMILY_IPV6, "::1");
    g_autoptr(GSocket) to = udp_socket(G_SOCKET_FAMILY_IPV6, "::1");
    struct sockaddr_storage dst;
    socklen_t len = native_address(to, &dst);
    struct vej_send_path path;
    memset(&path, 0, sizeof path);
    g_assert_true(vej_send_path_set(&path, from, (struct sockaddr *)&dst, len));
    g_assert_cmpint(vej_send_path_send(&path, (const uint8_t *)"six", 3), ==, VEJ_SEND_OK);
    g_assert_true(g_socket_condition_timed_wait(to, G_IO_IN, 2 * G_USEC_PER_SEC, NULL, NULL));
    char got[8];
    g_assert_cmpint(g_socket_receive(to, got, sizeof got, NULL, NULL), ==, 3);
    vej_send_path_clear(&path);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/send-path/send", test_send);
    g_test_add_func("/send-path/refused", test_refused);
    g_test_add_func("/send-path/ipv6", test_ipv6);
    return g_test_run();
}
