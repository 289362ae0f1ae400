/* tools/vej-loadgen/pc.c - one PeerConnection of the load generator:
 * a libnice agent (one stream, one component: BUNDLE and rtcp-mux), a DTLS
 * client (gateway/transport/dtls.c: the gateway answers a=setup:passive on the
 * publish PC, and the load generator answers a=setup:active on the
 * subscribe PC) and the SRTP sessions it keys (gateway/transport/srtp.c).
 * A subscribe PC behaves as a browser's receiver does: a receiver report
 * and REMB every second (a timer on the PC's context), generic NACK for
 * the gaps it sees (media.c) and RTX taken back; --loss drops that share
 * of the RTP it receives before decryption, as a lossy network would. */
#include "loadgen.h"

#include "gateway/wire/demux.h"
#include "gateway/wire/rtcp.h"

#include <stdio.h>
#include <string.h>

static void pc_arm_dtls_timer(struct lg_pc *pc);
static void pc_start_rtcp_timer(struct lg_pc *pc);

/* ---- DTLS ---- */

static void
dtls_send(void *user, const uint8_t *data, size_t len)
{
    struct lg_pc *pc = user;
    nice_agent_send(pc->agent, pc->stream, 1, (guint)len, (const gchar *)data);
}

static void
dtls_connected(void *user, const struct vej_srtp_keys *keys)
{
    struct lg_pc *pc = user;
    g_autoptr(GError) err = NULL;
    pc->srtp = vej_srtp_new(keys, &err);
    if (!pc->srtp) {
        fprintf(stderr, "vej-loadgen: SRTP: %s\n", err->message);
        pc->failed = true;
        return;
    }
    pc->profile = keys->profile;
    if (pc->dir == LG_PC_SUBSCRIBE)
        pc_start_rtcp_timer(pc);
    lg_run_pc_ready(pc->run, pc);
}

static void
dtls_failed(void *user, enum vej_dtls_failure reason, const char *detail)
{
    struct lg_pc *pc = user;
    pc->failed = true;
    fprintf(stderr, "vej-loadgen: %s PC %d: DTLS failed (%s): %s\n",
            pc->dir == LG_PC_PUBLISH ? "publish" : "subscribe", pc->index,
            vej_dtls_failure_name(reason), detail);
}

static const struct vej_dtls_callbacks dtls_callbacks = {
    .send = dtls_send,
    .connected = dtls_connected,
    .failed = dtls_failed,
};

static gboolean
dtls_timer_fired(gpointer user)
{
    struct lg_pc *pc = user;
    g_source_unref(pc->dtls_timer);
    pc->dtls_timer = NULL;
    vej_dtls_handle_timeout(pc->dtls, g_get_monotonic_time());
    pc_arm_dtls_timer(pc);
    return G_SOURCE_REMOVE;
}

static void
pc_arm_dtls_timer(struct lg_pc *pc)
{
    if (pc->dtls_timer) {
        g_source_destroy(pc->dtls_timer);
        g_source_unref(pc->dtls_timer);
        pc->dtls_timer = NULL;
    }
    int64_t at = vej_dtls_next_timeout_us(pc->dtls);
    if (at < 0)
        return;
    int64_t ms = (at - g_get_monotonic_time() + 999) / 1000;
    pc->dtls_timer = g_timeout_source_new((guint)CLAMP(ms, 0, 60000));
    g_source_set_callback(pc->dtls_timer, dtls_timer_fired, pc, NULL);
    g_source_attach(pc->dtls_timer, pc->ctx);
}

/* ---- RTCP from a subscriber ---- */

static gboolean
rtcp_timer_fired(gpointer user)
{
    lg_media_send_report(user);
    return G_SOURCE_CONTINUE;
}

static void
pc_start_rtcp_timer(struct lg_pc *pc)
{
    if (pc->rtcp_timer)
        return;
    /* The first report a second after SRTP is up, as browsers do. */
    pc->rtcp_timer = g_timeout_source_new(1000);
    g_source_set_callback(pc->rtcp_timer, rtcp_timer_fired, pc, NULL);
    g_source_attach(pc->rtcp_timer, pc->ctx);
}

void
lg_pc_note_offer(struct lg_pc *pc, const struct vej_sdp_description *d)
{
    for (size_t i = 0; i < d->n_media; i++) {
        const struct vej_sdp_media *m = &d->media[i];
        if (m->kind == VEJ_SDP_KIND_AUDIO && m->extmap.audio_level)
            __atomic_store_n(&pc->audio_level_id, m->extmap.audio_level, __ATOMIC_RELAXED);
        if (!m->has_rtx_ssrc || !m->has_ssrc)
            continue;
        bool known = false;
        int n = pc->n_rtx_map; /* only this (signalling) thread writes it */
        for (int k = 0; k < n && !known; k++)
            known = pc->rtx_map[k].rtx == m->rtx_ssrc;
        if (!known && n < LG_MAX_RTX_MAP) {
            pc->rtx_map[n].rtx = m->rtx_ssrc;
            pc->rtx_map[n].media = m->ssrc;
            /* the entry is complete before the media thread can see it */
            __atomic_store_n(&pc->n_rtx_map, n + 1, __ATOMIC_RELEASE);
        }
    }
}

/* ---- ICE ---- */

static void
on_component_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer user)
{
    struct lg_pc *pc = user;
    if (state == NICE_COMPONENT_STATE_FAILED) {
        fprintf(stderr, "vej-loadgen: %s PC %d: ICE failed\n",
                pc->dir == LG_PC_PUBLISH ? "publish" : "subscribe", pc->index);
        pc->failed = true;
        return;
    }
    if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
        !pc->dtls_started) {
        pc->ice_ok = true;
        pc->dtls_started = true;
        g_autoptr(GError) err = NULL;
        if (!vej_dtls_start(pc->dtls, &err))
            fprintf(stderr, "vej-loadgen: DTLS start: %s\n", err->message);
        pc_arm_dtls_timer(pc);
    }
}

/* The sender reports in one compound a subscribe PC received. */
static void
count_sender_reports(struct lg_run *run, const uint8_t *buf, size_t n)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet pk;
    uint64_t srs = 0;
    vej_rtcp_iter_init(&it, buf, n);
    while (vej_rtcp_next(&it, &pk) == 1)
        if (pk.type == VEJ_RTCP_SR)
            srs++;
    if (srs) {
        LG_ADD(run->rx_sr_compounds, 1);
        LG_ADD(run->rx_srs, srs);
    }
}

static void
on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *data, gpointer user)
{
    struct lg_pc *pc = user;
    uint8_t buf[LG_PKT_MAX + 64];
    if (len > sizeof buf)
        return;
    memcpy(buf, data, len);
    size_t n = len;
    switch (vej_demux_classify(buf, n, NULL)) {
    case VEJ_DEMUX_DTLS:
        vej_dtls_input(pc->dtls, buf, n);
        pc_arm_dtls_timer(pc);
        break;
    case VEJ_DEMUX_RTP:
        if (!pc->srtp)
            break;
        if (pc->dir == LG_PC_SUBSCRIBE && lg_fb_drop(&pc->dropper)) {
            LG_ADD(pc->run->rx_dropped, 1);
            break;
        }
        if (vej_srtp_unprotect_rtp(pc->srtp, buf, &n) != VEJ_SRTP_OK) {
            LG_ADD(pc->run->rx_srtp_fail, 1);
            break;
        }
        lg_run_rx(pc->run, pc, buf, n);
        break;
    case VEJ_DEMUX_RTCP:
        if (pc->srtp && vej_srtp_unprotect_rtcp(pc->srtp, buf, &n) == VEJ_SRTP_OK) {
            LG_ADD(pc->run->rx_rtcp, 1);
            if (pc->dir == LG_PC_SUBSCRIBE) {
                lg_hostile_rx_rtcp(pc->run, pc, buf, n);
                count_sender_reports(pc->run, buf, n);
            }
            /* A PLI or FIR to a publisher: send the next frame as a keyframe. */
            if (pc->dir == LG_PC_PUBLISH && n >= 2 && buf[1] == 206 &&
                ((buf[0] & 0x1f) == 1 || (buf[0] & 0x1f) == 4)) {
                pc->force_keyframe = true;
                LG_ADD(pc->run->pli_seen, 1);
            }
        }
        break;
    default:
        break;
    }
}

struct lg_pc *
lg_pc_new(struct lg_run *run, struct lg_rpc *rpc, enum lg_pc_dir dir, int index,
          const char *address, GMainContext *ctx)
{
    /* Declared before the first goto: the error path frees it, so it must
     * be initialised on every path that reaches `fail`. */
    g_autoptr(GError) err = NULL;
    struct lg_pc *pc = g_new0(struct lg_pc, 1);
    pc->run = run;
    pc->rpc = rpc;
    pc->dir = dir;
    pc->index = index;
    pc->ctx = ctx;
    pc->agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245, 0);
    g_object_set(pc->agent, "controlling-mode", dir == LG_PC_PUBLISH, "ice-tcp", FALSE, "ice-udp",
                 TRUE, "upnp", FALSE, NULL);
    NiceAddress a;
    nice_address_init(&a);
    if (!nice_address_set_from_string(&a, address) ||
        !nice_agent_add_local_address(pc->agent, &a)) {
        fprintf(stderr, "vej-loadgen: address %s is not usable\n", address);
        goto fail;
    }
    pc->stream = nice_agent_add_stream(pc->agent, 1);
    if (!pc->stream)
        goto fail;
    g_signal_connect(pc->agent, "component-state-changed", G_CALLBACK(on_component_state), pc);
    nice_agent_attach_recv(pc->agent, pc->stream, 1, ctx, on_recv, pc);
    if (!nice_agent_gather_candidates(pc->agent, pc->stream)) {
        fprintf(stderr, "vej-loadgen: cannot gather candidates (open files?)\n");
        goto fail;
    }
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(pc->agent, pc->stream, &ufrag, &pwd))
        goto fail;
    g_strlcpy(pc->ufrag, ufrag, sizeof pc->ufrag);
    g_strlcpy(pc->pwd, pwd, sizeof pc->pwd);
    g_free(ufrag);
    g_free(pwd);
    pc->dtls = vej_dtls_new(run->cert, VEJ_DTLS_CLIENT, &dtls_callbacks, pc, &err);
    if (!pc->dtls) {
        fprintf(stderr, "vej-loadgen: DTLS: %s\n", err->message);
        goto fail;
    }
    static const enum vej_srtp_profile aes_cm_only[] = {VEJ_SRTP_AES128_CM_SHA1_80};
    if (run->o.aes_cm &&
        !vej_dtls_set_srtp_profiles(pc->dtls, aes_cm_only, G_N_ELEMENTS(aes_cm_only), &err)) {
        fprintf(stderr, "vej-loadgen: DTLS: %s\n", err->message);
        goto fail;
    }
    if (dir == LG_PC_PUBLISH)
        lg_media_publisher_init(pc);
    pc->local_ssrc = g_random_int() | 1;
    lg_fb_dropper_init(&pc->dropper, ((uint64_t)g_random_int() << 32) | g_random_int(),
                       run->o.loss);
    return pc;
fail:
    lg_pc_free(pc);
    return NULL;
}

void
lg_pc_free(struct lg_pc *pc)
{
    if (!pc)
        return;
    if (pc->dtls_timer) {
        g_source_destroy(pc->dtls_timer);
        g_source_unref(pc->dtls_timer);
    }
    if (pc->rtcp_timer) {
        g_source_destroy(pc->rtcp_timer);
        g_source_unref(pc->rtcp_timer);
    }
    for (size_t i = 0; i < pc->n_rx; i++)
        g_free(pc->rx[i].nack);
    if (pc->dtls) {
        vej_dtls_close(pc->dtls);
        vej_dtls_free(pc->dtls);
    }
    vej_srtp_free(pc->srtp);
    if (pc->agent) {
        if (pc->stream)
            nice_agent_attach_recv(pc->agent, pc->stream, 1, pc->ctx, NULL, NULL);
        g_signal_handlers_disconnect_by_data(pc->agent, pc);
        g_object_unref(pc->agent);
    }
    g_free(pc);
}

void
lg_pc_local_candidates(struct lg_pc *pc, GString *sdp)
{
    GSList *cands = nice_agent_get_local_candidates(pc->agent, pc->stream, 1);
    for (GSList *l = cands; l; l = l->next) {
        gchar *line = nice_agent_generate_local_candidate_sdp(pc->agent, l->data);
        if (line) {
            g_string_append_printf(sdp, "%s\r\n", line);
            g_free(line);
        }
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
}

void
lg_pc_add_candidate(struct lg_pc *pc, const char *candidate)
{
    if (!candidate || !*candidate || !pc->remote_set)
        return;
    g_autofree char *line = g_str_has_prefix(candidate, "a=") ? g_strdup(candidate)
                                                              : g_strconcat("a=", candidate, NULL);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(pc->agent, pc->stream, line);
    if (!c)
        return;
    GSList *list = g_slist_append(NULL, c);
    nice_agent_set_remote_candidates(pc->agent, pc->stream, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

static const char *
fingerprint_alg_name(enum vej_sdp_fingerprint_alg alg)
{
    switch (alg) {
    case VEJ_SDP_FP_SHA1:
        return "sha-1";
    case VEJ_SDP_FP_SHA256:
        return "sha-256";
    case VEJ_SDP_FP_SHA384:
        return "sha-384";
    case VEJ_SDP_FP_SHA512:
        return "sha-512";
    default:
        return NULL;
    }
}

bool
lg_pc_set_remote(struct lg_pc *pc, const struct vej_sdp_description *d)
{
    if (pc->remote_set)
        return true;
    char hex[VEJ_SDP_FINGERPRINT_TEXT];
    const char *alg = fingerprint_alg_name(d->fingerprint_alg);
    if (!alg || vej_sdp_fingerprint_format(d->fingerprint_alg, d->fingerprint, d->fingerprint_len,
                                           hex, sizeof hex) < 0) {
        fprintf(stderr, "vej-loadgen: unusable fingerprint from the gateway\n");
        return false;
    }
    g_autoptr(GError) err = NULL;
    if (!vej_dtls_set_remote_fingerprint(pc->dtls, alg, hex, &err)) {
        fprintf(stderr, "vej-loadgen: fingerprint: %s\n", err->message);
        return false;
    }
    if (!nice_agent_set_remote_credentials(pc->agent, pc->stream, d->ice_ufrag, d->ice_pwd))
        return false;
    pc->remote_set = true;
    for (size_t i = 0; i < d->n_candidates; i++)
        lg_pc_add_candidate(pc, d->candidates[i]);
    return true;
}

void
lg_pc_send_rtp(struct lg_pc *pc, uint8_t *buf, size_t len, size_t cap)
{
    if (!pc->srtp)
        return;
    if (vej_srtp_protect_rtp(pc->srtp, buf, &len, cap) != VEJ_SRTP_OK)
        return;
    nice_agent_send(pc->agent, pc->stream, 1, (guint)len, (const gchar *)buf);
}

void
lg_pc_send_rtcp(struct lg_pc *pc, uint8_t *buf, size_t len, size_t cap)
{
    if (!pc->srtp)
        return;
    if (vej_srtp_protect_rtcp(pc->srtp, buf, &len, cap) != VEJ_SRTP_OK)
        return;
    nice_agent_send(pc->agent, pc->stream, 1, (guint)len, (const gchar *)buf);
    LG_ADD(pc->run->tx_rtcp, 1);
}
