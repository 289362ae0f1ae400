/* peer.c - one PeerConnection's transport: ICE (libnice), DTLS, SRTP.
 *
 * Everything here runs on the peer's worker: libnice emits its signals and
 * calls the receive callback on the context the agent was made with, which
 * is the worker's. Publish PC: the gateway is ICE-controlled and the DTLS
 * server. Subscribe PC: ICE-controlling with regular nomination; DTLS
 * server or client as the answer's a=setup says.
 *
 * The receive path copies each datagram into the worker's scratch buffer,
 * unprotects it in place and hands it to the router: no allocation, no
 * lock of ours, no thread hop (libnice allocates an address per datagram).
 *
 * The send path protects in place and, once ICE has selected a UDP pair,
 * sends with sendto() on that pair's socket (p->path, send-path.h) instead
 * of nice_agent_send(). The path is re-read from libnice whenever the
 * selected pair or the component state changes (and after an ICE restart),
 * so it goes wherever libnice itself would send; it is cleared on FAILED
 * (which is also how libnice reports lost consent, RFC 7675, whether timed
 * out or revoked with a 403) and before the agent is closed. Whenever it is
 * unusable (no pair, relayed or TCP pair, closed socket) the packet goes
 * through nice_agent_send(), which is always correct; libnice keeps
 * sending its own checks and consent requests either way. DTLS goes
 * through libnice too: a few datagrams per connection.
 *
 * Periodic RTCP (the router's reports each second) is sent as one SRTCP
 * compound per PC, not a datagram per stream: between
 * vej__peer_rtcp_hold and vej__peer_rtcp_release the PC's RTCP is
 * appended to a per-thread buffer (a new datagram when 1,200 bytes would
 * be passed) and protected and sent once on release. Anything else (NACK,
 * PLI, RTX) goes out at once.
 */
#include "gateway/relay/relay-priv.h"

#include <interfaces.h>
#include <netinet/in.h>
#include <string.h>

#include "gateway/wire/demux.h"

static struct vej_relay *
relay_of(struct vej_peer *p)
{
    return p->part->h->relay;
}

static struct vej_relay_stats *
stats_of(struct vej_peer *p)
{
    return &p->part->h->rw->stats;
}

void
vej__peer_report_state(struct vej_peer *p, const char *state, const char *reason)
{
    struct vej_relay *r = relay_of(p);
    if (r->cb.state)
        r->cb.state(r->cb.user, p->part->h->id, p->part->id, p->pc, state, reason);
}

static void
peer_fail(struct vej_peer *p, const char *reason)
{
    if (p->state == PEER_FAILED || p->state == PEER_CLOSED)
        return;
    p->state = PEER_FAILED;
    g_message("hearing %s participant %s %s PC failed: %s", p->part->h->id, p->part->id,
              p->pc == VEJ_RELAY_PUBLISH ? "publish" : "subscribe", reason);
    vej__peer_report_state(p, "failed", reason);
}

/* The SSRC of an RTP header (at least 12 bytes), in host order. */
static uint32_t
plain_ssrc(const uint8_t *pkt)
{
    return (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
}

/* ---- DTLS ---- */

static void dtls_rearm(struct vej_peer *p);

static gboolean
dtls_timer_fired(gpointer user)
{
    struct vej_peer *p = user;
    g_source_unref(p->dtls_timer);
    p->dtls_timer = NULL;
    if (p->dtls) {
        vej_dtls_handle_timeout(p->dtls, g_get_monotonic_time());
        dtls_rearm(p);
    }
    return G_SOURCE_REMOVE;
}

/* Keeps one timer for the next DTLS retransmission or deadline. */
static void
dtls_rearm(struct vej_peer *p)
{
    if (p->dtls_timer) {
        g_source_destroy(p->dtls_timer);
        g_source_unref(p->dtls_timer);
        p->dtls_timer = NULL;
    }
    if (!p->dtls)
        return;
    int64_t at = vej_dtls_next_timeout_us(p->dtls);
    if (at < 0)
        return;
    int64_t ms = (at - g_get_monotonic_time()) / 1000;
    p->dtls_timer = g_timeout_source_new((guint)CLAMP(ms, 1, 60000));
    g_source_set_callback(p->dtls_timer, dtls_timer_fired, p, NULL);
    g_source_attach(p->dtls_timer, vej_worker_context(p->part->h->rw->worker));
}

static void
dtls_send(void *user, const uint8_t *data, size_t len)
{
    struct vej_peer *p = user;
    if (p->agent && p->ice_connected)
        nice_agent_send(p->agent, p->stream, 1, (guint)len, (const gchar *)data);
}

static void
dtls_connected(void *user, const struct vej_srtp_keys *keys)
{
    struct vej_peer *p = user;
    g_autoptr(GError) error = NULL;
    p->srtp = vej_srtp_new(keys, &error);
    if (!p->srtp) {
        peer_fail(p, error->message);
        return;
    }
    p->profile = keys->profile;
    p->state = PEER_CONNECTED;
    vej__peer_report_state(p, "connected", vej_srtp_profile_name(keys->profile));
    if (p->pc == VEJ_RELAY_SUBSCRIBE)
        vej__router_apply_part(p->part);
    else
        for (guint i = 0; p->tracks && i < p->tracks->len; i++)
            vej__router_request_keyframe(p->tracks->pdata[i]);
}

static void
dtls_failed(void *user, enum vej_dtls_failure reason, const char *detail)
{
    struct vej_peer *p = user;
    VEJ_STAT_ADD(stats_of(p), dtls_failures, 1);
    g_autofree char *why =
        g_strdup_printf("DTLS %s: %s", vej_dtls_failure_name(reason), detail ? detail : "");
    peer_fail(p, why);
}

static void
dtls_closed(void *user)
{
    struct vej_peer *p = user;
    if (p->state != PEER_CLOSED) {
        p->state = PEER_CLOSED;
        vej__peer_report_state(p, "closed", "DTLS close_notify");
    }
}

static const struct vej_dtls_callbacks dtls_callbacks = {
    .send = dtls_send,
    .connected = dtls_connected,
    .failed = dtls_failed,
    .closed = dtls_closed,
};

/* ---- receive path ---- */

static void
on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer user)
{
    struct vej_peer *p = user;
    struct vej_rworker *rw = p->part->h->rw;
    enum vej_demux_drop_reason why;
    switch (vej_demux_classify((const uint8_t *)buf, len, &why)) {
    case VEJ_DEMUX_DTLS:
        if (p->dtls) {
            vej_dtls_input(p->dtls, (const uint8_t *)buf, len);
            dtls_rearm(p);
        }
        return;
    case VEJ_DEMUX_RTP:
    case VEJ_DEMUX_RTCP:
        break;
    default:
        VEJ_STAT_ADD(&rw->stats, dropped_malformed, 1);
        return;
    }
    if (!p->srtp || p->state != PEER_CONNECTED || len > sizeof rw->in) {
        VEJ_STAT_ADD(&rw->stats, dropped_not_ready, 1);
        return;
    }
    memcpy(rw->in, buf, len);
    size_t n = len;
    bool rtcp = vej_rtp_mux_is_rtcp(rw->in, n);
    /* The SSRC is plaintext: a stream we do not expect costs no crypto
     * and creates no SRTP state. */
    if (!rtcp && (n < 12 || !vej__router_ssrc_admissible(p, plain_ssrc(rw->in)))) {
        VEJ_STAT_ADD(&rw->stats, dropped_unknown_ssrc, 1);
        return;
    }
    int rc = rtcp ? vej_srtp_unprotect_rtcp(p->srtp, rw->in, &n)
                  : vej_srtp_unprotect_rtp(p->srtp, rw->in, &n);
    if (rc != VEJ_SRTP_OK) {
        VEJ_STAT_ADD(&rw->stats, dropped_srtp, 1);
        return;
    }
    VEJ_STAT_ADD(&rw->stats, bytes_in, len);
    if (rtcp) {
        VEJ_STAT_ADD(&rw->stats, rtcp_in, 1);
        vej__router_on_rtcp(p, rw->in, n);
    } else {
        VEJ_STAT_ADD(&rw->stats, rtp_in, 1);
        vej__router_on_rtp(p, rw->in, n);
    }
}

/* One protected datagram to the peer: on the cached path when there is
 * one, else through libnice. Failures are counted by reason. */
static bool
send_datagram(struct vej_peer *p, const uint8_t *buf, size_t len)
{
    struct vej_relay_stats *st = stats_of(p);
    switch (vej_send_path_send(&p->path, buf, len)) {
    case VEJ_SEND_OK:
        return true;
    case VEJ_SEND_EAGAIN:
        VEJ_STAT_ADD(st, dropped_send_eagain, 1);
        return false;
    case VEJ_SEND_ENOBUFS:
        VEJ_STAT_ADD(st, dropped_send_nobufs, 1);
        return false;
    case VEJ_SEND_ERROR:
        VEJ_STAT_ADD(st, dropped_send_error, 1);
        return false;
    case VEJ_SEND_NO_PATH:
        break;
    }
    VEJ_STAT_ADD(st, sent_via_libnice, 1);
    if (nice_agent_send(p->agent, p->stream, 1, (guint)len, (const gchar *)buf) > 0)
        return true;
    VEJ_STAT_ADD(st, dropped_send_error, 1);
    return false;
}

void
vej__peer_send_rtp(struct vej_peer *p, uint8_t *buf, size_t len, size_t cap)
{
    if (!p->srtp || p->state != PEER_CONNECTED)
        return;
    if (vej_srtp_protect_rtp(p->srtp, buf, &len, cap) != VEJ_SRTP_OK) {
        VEJ_STAT_ADD(stats_of(p), dropped_srtp, 1);
        return;
    }
    if (send_datagram(p, buf, len)) {
        VEJ_STAT_ADD(stats_of(p), rtp_out, 1);
        VEJ_STAT_ADD(stats_of(p), bytes_out, len);
    }
}

/* The compound of one PC's periodic reports being built (see
 * vej__peer_rtcp_hold): at most one at a time per worker thread. */
#define RTCP_COMPOUND_MAX 1200 /* plaintext bytes: with SRTCP's overhead under any MTU */
static _Thread_local struct {
    struct vej_peer *p; /* NULL: not holding */
    size_t len;
    uint8_t buf[RTCP_COMPOUND_MAX + VEJ_SRTP_MAX_OVERHEAD];
} held;

static void
send_rtcp_now(struct vej_peer *p, uint8_t *buf, size_t len, size_t cap)
{
    if (vej_srtp_protect_rtcp(p->srtp, buf, &len, cap) != VEJ_SRTP_OK)
        return;
    if (send_datagram(p, buf, len))
        VEJ_STAT_ADD(stats_of(p), rtcp_out, 1);
}

void
vej__peer_send_rtcp(struct vej_peer *p, uint8_t *buf, size_t len, size_t cap)
{
    if (!p->srtp || p->state != PEER_CONNECTED)
        return;
    if (held.p != p || len > RTCP_COMPOUND_MAX) {
        send_rtcp_now(p, buf, len, cap);
        return;
    }
    /* Each piece starts with an SR or RR: appended, the compound still
     * does (RFC 3550 6.1). */
    if (held.len + len > RTCP_COMPOUND_MAX) {
        send_rtcp_now(p, held.buf, held.len, sizeof held.buf);
        held.len = 0;
    }
    memcpy(held.buf + held.len, buf, len);
    held.len += len;
}

void
vej__peer_rtcp_hold(struct vej_peer *p)
{
    held.p = p;
    held.len = 0;
}

void
vej__peer_rtcp_release(struct vej_peer *p)
{
    if (held.p != p)
        return;
    held.p = NULL;
    if (held.len && p->srtp && p->state == PEER_CONNECTED)
        send_rtcp_now(p, held.buf, held.len, sizeof held.buf);
    held.len = 0;
}

/* ---- the direct send path ---- */

/* Re-reads the selected pair from libnice, so that the path goes where
 * nice_agent_send() would: libnice sends on its selected pair in any state
 * but FAILED (lost consent included), also while an ICE restart is under
 * way (RFC 8445 9: media stays on the previous pair until a new one is
 * selected). Leaves the path empty (libnice sends) when there is no pair,
 * in FAILED or DISCONNECTED, and unless the pair is UDP with a local
 * socket of ours: nice_agent_get_selected_socket() gives none for a
 * relayed local candidate (TURN framing) and TCP needs RFC 4571 framing.
 * Never on the per-packet path: on signals and state changes. */
static void
path_refresh(struct vej_peer *p)
{
    vej_send_path_clear(&p->path);
    if (!p->agent || !p->stream)
        return;
    NiceComponentState st = nice_agent_get_component_state(p->agent, p->stream, 1);
    if (st == NICE_COMPONENT_STATE_FAILED || st == NICE_COMPONENT_STATE_DISCONNECTED)
        return;
    NiceCandidate *local = NULL, *remote = NULL; /* (transfer none) */
    if (!nice_agent_get_selected_pair(p->agent, p->stream, 1, &local, &remote) || !local ||
        !remote || local->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
        local->type == NICE_CANDIDATE_TYPE_RELAYED)
        return;
    GSocket *socket = nice_agent_get_selected_socket(p->agent, p->stream, 1);
    if (!socket)
        return;
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&to);
    socklen_t to_len = to.ss_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                                : (socklen_t)sizeof(struct sockaddr_in);
    if (!vej_send_path_set(&p->path, socket, (struct sockaddr *)&to, to_len))
        g_debug("hearing %s participant %s: selected pair not usable directly; libnice sends",
                p->part->h->id, p->part->id);
    g_object_unref(socket);
}

static void
on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
                 NiceCandidate *remote, gpointer user)
{
    path_refresh(user);
}

/* ---- ICE ---- */

/* ICE failing within this long of a restart is held back this long: the
 * peer may still be switching to the new generation (a client whose new
 * offer reached us after its first checks nominates late). */
#define RESTART_GRACE_US (10 * G_USEC_PER_SEC)
#define FAIL_HOLD_MS 4000

static void
cancel_fail_timer(struct vej_peer *p)
{
    if (p->fail_timer) {
        g_source_destroy(p->fail_timer);
        g_source_unref(p->fail_timer);
        p->fail_timer = NULL;
    }
}

static gboolean
fail_timer_fired(gpointer user)
{
    struct vej_peer *p = user;
    g_source_unref(p->fail_timer);
    p->fail_timer = NULL;
    if (!p->ice_connected)
        peer_fail(p, "ICE failed or consent lost");
    return G_SOURCE_REMOVE;
}

/* Media resume on a PC whose ICE came back: every video stream starts
 * again on a keyframe (what was lost meanwhile left decoders broken). */
static void
media_resumed(struct vej_peer *p)
{
    if (p->pc == VEJ_RELAY_PUBLISH) {
        for (guint i = 0; p->tracks && i < p->tracks->len; i++)
            vej__router_request_keyframe(p->tracks->pdata[i]);
        return;
    }
    for (guint i = 0; p->outs && i < p->outs->len; i++) {
        struct vej_out *o = p->outs->pdata[i];
        if (o->track && o->negotiated && o->kind == VEJ_SDP_KIND_VIDEO) {
            o->need_keyframe = true;
            vej__router_request_keyframe(o->track);
        }
    }
}

static void
on_component_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer user)
{
    struct vej_peer *p = user;
    /* Any change may move the selected pair or make it unusable. */
    path_refresh(p);
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        cancel_fail_timer(p);
        if (p->ice_connected)
            return;
        p->ice_connected = true;
        if (p->state == PEER_NEW)
            p->state = PEER_CONNECTING;
        if (p->srtp && vej_dtls_get_state(p->dtls) == VEJ_DTLS_STATE_CONNECTED &&
            (p->state == PEER_FAILED || p->state == PEER_CONNECTED)) {
            /* ICE is connected again after a failure (lost consent) or a
             * held-back one: restarted, or renominated by the peer. The
             * DTLS association and its SRTP keys survived: media resume. */
            if (p->state == PEER_FAILED) {
                p->state = PEER_CONNECTED;
                vej__peer_report_state(p, "connected", vej_srtp_profile_name(p->profile));
            }
            media_resumed(p);
            return;
        }
        vej__peer_report_state(p, "connecting", "ICE connected");
        g_autoptr(GError) error = NULL;
        if (p->dtls && vej_dtls_get_state(p->dtls) == VEJ_DTLS_STATE_NEW &&
            !vej_dtls_start(p->dtls, &error))
            peer_fail(p, error->message);
        dtls_rearm(p);
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        /* Also how libnice reports lost consent (RFC 7675): stop sending
         * (path_refresh above dropped the send path). */
        p->ice_connected = false;
        if (p->restarted_us && g_get_monotonic_time() - p->restarted_us < RESTART_GRACE_US &&
            p->state == PEER_CONNECTED) {
            if (!p->fail_timer) {
                p->fail_timer = g_timeout_source_new(FAIL_HOLD_MS);
                g_source_set_callback(p->fail_timer, fail_timer_fired, p, NULL);
                g_source_attach(p->fail_timer, vej_worker_context(p->part->h->rw->worker));
            }
            return;
        }
        peer_fail(p, "ICE failed or consent lost");
    }
}

/* libnice's current local ICE credentials into the peer (they change at
 * every restart). */
static gboolean
read_local_credentials(struct vej_peer *p)
{
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(p->agent, p->stream, &ufrag, &pwd))
        return FALSE;
    g_strlcpy(p->local_ufrag, ufrag, sizeof p->local_ufrag);
    g_strlcpy(p->local_pwd, pwd, sizeof p->local_pwd);
    g_free(ufrag);
    g_free(pwd);
    return TRUE;
}

gboolean
vej__peer_restart_ice(struct vej_peer *p, GError **error)
{
    if (!nice_agent_restart_stream(p->agent, p->stream)) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED, "ICE restart failed");
        return FALSE;
    }
    read_local_credentials(p);
    p->restarted_us = g_get_monotonic_time();
    return TRUE;
}

bool
vej__peer_same_connection(const struct vej_peer *p, const struct vej_sdp_description *d)
{
    if (!p->remote_fp_len)
        return true;
    return d->fingerprint_alg == p->remote_fp_alg && d->fingerprint_len == p->remote_fp_len &&
           memcmp(d->fingerprint, p->remote_fp, p->remote_fp_len) == 0 &&
           (d->session_id == 0 || p->remote_session_id == 0 ||
            d->session_id == p->remote_session_id);
}

/* With no [media] addresses, the addresses libnice would pick itself
 * (every interface but loopback), without IPv6 unless it is on and never
 * link-local: libnice would otherwise gather (and answer checks on) IPv6
 * while it is off. Nothing added: libnice's own choice. */
static void
add_default_addresses(NiceAgent *agent, bool ipv6)
{
    GList *ips = nice_interfaces_get_local_ips(FALSE);
    for (GList *l = ips; l; l = l->next) {
        NiceAddress a;
        nice_address_init(&a);
        if (!nice_address_set_from_string(&a, l->data))
            continue;
        if (nice_address_ip_version(&a) == 6 &&
            (!ipv6 || IN6_IS_ADDR_LINKLOCAL(&a.s.ip6.sin6_addr)))
            continue;
        nice_agent_add_local_address(agent, &a);
    }
    g_list_free_full(ips, g_free);
}

static gboolean
add_local_addresses(NiceAgent *agent, const char *list, bool ipv6, GError **error)
{
    if (!list || !*list) {
        add_default_addresses(agent, ipv6);
        return TRUE;
    }
    g_auto(GStrv) addrs = g_strsplit(list, ",", -1);
    for (guint i = 0; addrs[i]; i++) {
        g_strstrip(addrs[i]);
        if (!*addrs[i])
            continue;
        NiceAddress a;
        nice_address_init(&a);
        if (!nice_address_set_from_string(&a, addrs[i]) ||
            !nice_agent_add_local_address(agent, &a)) {
            g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED,
                        "media address %s is not usable", addrs[i]);
            return FALSE;
        }
    }
    return TRUE;
}

struct vej_peer *
vej__peer_new(struct vej_rpart *part, enum vej_relay_pc pc, GError **error)
{
    struct vej_relay *r = part->h->relay;
    const struct vej_relay_config *cfg = &r->config;
    struct vej_peer *p = g_new0(struct vej_peer, 1);
    p->part = part;
    p->pc = pc;
    p->pending_candidates = g_ptr_array_new_with_free_func(g_free);
    p->rtcp_ssrc = g_random_int() | 1;
    vej_send_path_clear(&p->path);
    NiceAgentOption opts = NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS;
    bool controlling = pc == VEJ_RELAY_SUBSCRIBE && !cfg->ice_lite;
    if (controlling)
        opts |= NICE_AGENT_OPTION_REGULAR_NOMINATION;
    if (cfg->ice_lite)
        opts |= NICE_AGENT_OPTION_LITE_MODE;
    p->agent = nice_agent_new_full(vej_worker_context(part->h->rw->worker),
                                   NICE_COMPATIBILITY_RFC5245, opts);
    g_object_set(p->agent, "controlling-mode", controlling, "ice-tcp", cfg->ice_tcp, "ice-udp",
                 TRUE, "upnp", FALSE, NULL);
    if (!add_local_addresses(p->agent, cfg->bind_addresses, cfg->ipv6, error))
        goto fail;
    p->stream = nice_agent_add_stream(p->agent, 1);
    if (!p->stream) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED, "cannot add an ICE stream");
        goto fail;
    }
    if (cfg->port_min && cfg->port_max)
        nice_agent_set_port_range(p->agent, p->stream, 1, cfg->port_min, cfg->port_max);
    g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_component_state), p);
    g_signal_connect(p->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), p);
    nice_agent_attach_recv(p->agent, p->stream, 1, vej_worker_context(part->h->rw->worker), on_recv,
                           p);
    if (!nice_agent_gather_candidates(p->agent, p->stream)) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED,
                    "cannot gather ICE candidates (no usable address or port)");
        goto fail;
    }
    if (!read_local_credentials(p)) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_FAILED, "no ICE credentials");
        goto fail;
    }
    p->dtls = vej_dtls_new(r->cert, VEJ_DTLS_SERVER, &dtls_callbacks, p, error);
    if (!p->dtls)
        goto fail;
    if (pc == VEJ_RELAY_PUBLISH)
        p->tracks = g_ptr_array_new();
    else
        p->outs = g_ptr_array_new();
    p->sdp_session_id = ((uint64_t)g_random_int() << 31) ^ g_random_int();
    VEJ_STAT_ADD(stats_of(p), peers, 1);
    return p;
fail:
    vej__peer_free(p);
    return NULL;
}

static void
agent_closed(GObject *source, GAsyncResult *res, gpointer user)
{
    struct vej_rworker *rw = user;
    g_object_unref(source);
    g_atomic_int_dec_and_test(&rw->closing_agents);
}

void
vej__peer_free(struct vej_peer *p)
{
    if (!p)
        return;
    if (p->dtls_timer) {
        g_source_destroy(p->dtls_timer);
        g_source_unref(p->dtls_timer);
    }
    if (p->dtls) {
        vej_dtls_close(p->dtls);
        vej_dtls_free(p->dtls);
    }
    cancel_fail_timer(p);
    vej_srtp_free(p->srtp);
    vej_send_path_clear(&p->path); /* before libnice closes its sockets */
    if (p->agent) {
        nice_agent_attach_recv(p->agent, p->stream, 1, NULL, NULL, NULL);
        g_signal_handlers_disconnect_by_data(p->agent, p);
        if (p->stream)
            VEJ_STAT_SUB(stats_of(p), peers, 1);
        /* The agent goes when libnice has finished closing it. */
        g_atomic_int_inc(&p->part->h->rw->closing_agents);
        nice_agent_close_async(p->agent, agent_closed, p->part->h->rw);
    }
    g_ptr_array_unref(p->pending_candidates);
    if (p->tracks)
        g_ptr_array_unref(p->tracks);
    if (p->outs)
        g_ptr_array_unref(p->outs);
    g_free(p->last_offer);
    g_free(p);
}

/* ---- remote description and candidates ---- */

static gboolean
add_candidate_now(struct vej_peer *p, const char *candidate, GError **error)
{
    struct vej_relay *r = relay_of(p);
    if (p->n_remote_candidates >= r->config.max_remote_candidates) {
        VEJ_STAT_ADD(stats_of(p), limit_remote_candidates, 1);
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_LIMIT, "too many remote candidates");
        return FALSE;
    }
    /* libnice parses only the attribute form, "a=candidate:...". */
    char line[VEJ_SDP_CANDIDATE_LEN + 8];
    if (g_snprintf(line, sizeof line, "a=%s", candidate) >= (int)sizeof line) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "candidate too long");
        return FALSE;
    }
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(p->agent, p->stream, line);
    if (!c) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "unparsable candidate");
        return FALSE;
    }
    if (nice_address_ip_version(&c->addr) == 6 &&
        (!r->config.ipv6 || IN6_IS_ADDR_LINKLOCAL(&c->addr.s.ip6.sin6_addr))) {
        /* Ignored, not refused (browsers offer every family they have):
         * IPv6 while it is off, and link-local addresses always. */
        nice_candidate_free(c);
        return TRUE;
    }
    GSList *list = g_slist_append(NULL, c);
    int n = nice_agent_set_remote_candidates(p->agent, p->stream, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    if (n < 0) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "candidate refused");
        return FALSE;
    }
    p->n_remote_candidates++;
    return TRUE;
}

gboolean
vej__peer_add_candidate(struct vej_peer *p, const char *candidate, GError **error)
{
    if (!candidate || !*candidate) {
        if (p->remote_creds)
            nice_agent_peer_candidate_gathering_done(p->agent, p->stream);
        return TRUE;
    }
    struct vej_sdp_candidate_info info;
    const char *why = NULL;
    if (vej_sdp_candidate_check(candidate, strlen(candidate), true, &info, &why) != VEJ_SDP_OK) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "candidate: %s", why);
        return FALSE;
    }
    /* Ignored, not refused: .local names, and TCP while ice-tcp is off
     * (browsers trickle them whatever we offered). */
    if (info.mdns || (info.transport == VEJ_SDP_TRANSPORT_TCP && !relay_of(p)->config.ice_tcp))
        return TRUE;
    if (!p->remote_creds) {
        if (p->pending_candidates->len >= VEJ_MAX_PENDING_CANDIDATES) {
            VEJ_STAT_ADD(stats_of(p), limit_early_candidates, 1);
            g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_LIMIT,
                        "too many candidates before the description");
            return FALSE;
        }
        g_ptr_array_add(p->pending_candidates, g_strdup(candidate));
        return TRUE;
    }
    const char *c = g_str_has_prefix(candidate, "a=") ? candidate + 2 : candidate;
    return add_candidate_now(p, c, error);
}

gboolean
vej__peer_set_remote(struct vej_peer *p, const struct vej_sdp_description *d, GError **error)
{
    bool restart = p->remote_creds;
    if (restart) {
        if (strcmp(p->remote_ufrag, d->ice_ufrag) == 0 && strcmp(p->remote_pwd, d->ice_pwd) == 0)
            restart = false;
        if (!restart)
            return TRUE; /* renegotiation on the same transport */
        /* ICE restart: fresh local credentials (unless we made them when we
         * offered the restart), same DTLS association. */
        if (p->local_restart)
            p->restarted_us = g_get_monotonic_time(); /* our restart completes now */
        else if (!vej__peer_restart_ice(p, error))
            return FALSE;
        p->n_remote_candidates = 0;
        p->local_restart = false;
        path_refresh(p);
    }
    if (!nice_agent_set_remote_credentials(p->agent, p->stream, d->ice_ufrag, d->ice_pwd)) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "ICE credentials refused");
        return FALSE;
    }
    g_strlcpy(p->remote_ufrag, d->ice_ufrag, sizeof p->remote_ufrag);
    g_strlcpy(p->remote_pwd, d->ice_pwd, sizeof p->remote_pwd);
    if (!restart) {
        char hex[VEJ_SDP_FINGERPRINT_TEXT];
        static const char *const algs[] = {"", "sha-1", "sha-224", "sha-256", "sha-384", "sha-512"};
        g_autoptr(GError) fp_error = NULL;
        if (d->fingerprint_alg >= G_N_ELEMENTS(algs) ||
            vej_sdp_fingerprint_format(d->fingerprint_alg, d->fingerprint, d->fingerprint_len, hex,
                                       sizeof hex) < 0 ||
            !vej_dtls_set_remote_fingerprint(p->dtls, algs[d->fingerprint_alg], hex, &fp_error)) {
            g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "fingerprint: %s",
                        fp_error ? fp_error->message : "unusable");
            return FALSE;
        }
        p->remote_session_id = d->session_id;
        p->remote_fp_alg = d->fingerprint_alg;
        p->remote_fp_len = MIN(d->fingerprint_len, sizeof p->remote_fp);
        memcpy(p->remote_fp, d->fingerprint, p->remote_fp_len);
        dtls_rearm(p);
    }
    p->remote_creds = true;
    for (guint i = 0; i < p->pending_candidates->len; i++) {
        const char *c = p->pending_candidates->pdata[i];
        g_autoptr(GError) ignored = NULL;
        add_candidate_now(p, g_str_has_prefix(c, "a=") ? c + 2 : c, &ignored);
    }
    g_ptr_array_set_size(p->pending_candidates, 0);
    for (size_t i = 0; i < d->n_candidates; i++) {
        g_autoptr(GError) ignored = NULL;
        add_candidate_now(p, d->candidates[i], &ignored);
    }
    if (d->end_of_candidates)
        nice_agent_peer_candidate_gathering_done(p->agent, p->stream);
    return TRUE;
}

void
vej__peer_local_sdp(struct vej_peer *p, struct vej_sdp_local *local)
{
    memset(local, 0, sizeof *local);
    local->session_id = p->sdp_session_id & G_MAXINT64;
    local->session_version = ++p->sdp_version;
    g_strlcpy(local->ice_ufrag, p->local_ufrag, sizeof local->ice_ufrag);
    g_strlcpy(local->ice_pwd, p->local_pwd, sizeof local->ice_pwd);
    local->ice_lite = relay_of(p)->config.ice_lite;
    local->fingerprint_alg = VEJ_SDP_FP_SHA256;
    /* The certificate's fingerprint text back into bytes. */
    const char *fp = vej_dtls_cert_fingerprint(relay_of(p)->cert, NULL);
    size_t n = 0;
    for (const char *c = fp; c[0] && c[1] && n < sizeof local->fingerprint; c += 3)
        local->fingerprint[n++] =
            (uint8_t)(g_ascii_xdigit_value(c[0]) * 16 + g_ascii_xdigit_value(c[1]));
    local->fingerprint_len = n;
    GSList *cands = nice_agent_get_local_candidates(p->agent, p->stream, 1);
    for (GSList *l = cands; l && local->n_candidates < VEJ_SDP_MAX_CANDIDATES; l = l->next) {
        NiceCandidate *c = l->data;
        /* Our own host candidates only: a peer-reflexive local candidate
         * (learned from the peer's checks) is not ours to advertise. */
        bool tcp = c->transport == NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE;
        /* With ice-tcp, the passive TCP host candidates too (clients
         * connect to the gateway: active and simultaneous-open are not
         * advertised). */
        if ((c->transport != NICE_CANDIDATE_TRANSPORT_UDP &&
             !(tcp && relay_of(p)->config.ice_tcp)) ||
            c->type != NICE_CANDIDATE_TYPE_HOST)
            continue;
        struct vej_sdp_host_candidate *h = &local->candidates[local->n_candidates];
        g_strlcpy(h->foundation, c->foundation, sizeof h->foundation);
        h->priority = c->priority;
        nice_address_to_string(&c->addr, h->address);
        h->port = (uint16_t)nice_address_get_port(&c->addr);
        h->transport = tcp ? VEJ_SDP_TRANSPORT_TCP : VEJ_SDP_TRANSPORT_UDP;
        if (nice_address_ip_version(&c->addr) == 6 && !relay_of(p)->config.ipv6)
            continue;
        if (g_str_has_prefix(h->address, "fe80"))
            continue; /* no link-local */
        local->n_candidates++;
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    const struct vej_relay_config *cfg = &relay_of(p)->config;
    const struct vej_sdp_nat nat = {
        .public_ipv4 = cfg->public_ipv4,
        .public_ipv6 = cfg->public_ipv6,
        .hide_private = cfg->hide_private,
        .as_host = cfg->ice_lite,
    };
    vej_sdp_local_apply_nat(local, &nat);
    local->end_of_candidates = true;
}
