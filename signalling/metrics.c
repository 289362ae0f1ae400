/* metrics.c - /metrics in the Prometheus text exposition format. */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "gateway/relay.h"
#include "recording/recorder.h"

static void
counter(GString *out, const char *name, const char *help, uint64_t value)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" G_GUINT64_FORMAT "\n", name,
                           help, name, name, value);
}

static void
gauge(GString *out, const char *name, const char *help, uint64_t value)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %" G_GUINT64_FORMAT "\n", name,
                           help, name, name, value);
}

/* The media relay's counters (every worker's, summed). */
static void
relay_metrics(GString *out, struct vej_relay *relay)
{
    struct vej_relay_stats r;
    vej_relay_stats(relay, &r);
    gauge(out, "vej_media_hearings", "Hearings with media state in the relay.", r.hearings);
    gauge(out, "vej_media_peers", "PeerConnections.", r.peers);
    counter(out, "vej_media_rtp_received_total", "RTP packets received and decrypted.", r.rtp_in);
    counter(out, "vej_media_rtp_forwarded_total", "RTP packets sent to subscribers.", r.rtp_out);
    counter(out, "vej_media_rtcp_received_total", "RTCP packets received.", r.rtcp_in);
    counter(out, "vej_media_rtcp_sent_total", "RTCP packets sent.", r.rtcp_out);
    counter(out, "vej_media_bytes_received_total", "Media bytes received.", r.bytes_in);
    counter(out, "vej_media_bytes_sent_total", "Media bytes sent.", r.bytes_out);
    g_string_append(out, "# HELP vej_media_dropped_total Packets dropped, by reason.\n"
                         "# TYPE vej_media_dropped_total counter\n");
    g_string_append_printf(
        out,
        "vej_media_dropped_total{reason=\"policy\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"srtp\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"unknown_ssrc\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"malformed\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"not_ready\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"awaiting_keyframe\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"duplicate\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"late\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"padding\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"rate_limit\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"send_eagain\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"send_enobufs\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_dropped_total{reason=\"send_error\"} %" G_GUINT64_FORMAT "\n",
        r.dropped_policy, r.dropped_srtp, r.dropped_unknown_ssrc, r.dropped_malformed,
        r.dropped_not_ready, r.dropped_awaiting_keyframe, r.dropped_duplicate, r.dropped_late,
        r.dropped_padding, r.dropped_rate_limit, r.dropped_send_eagain, r.dropped_send_nobufs,
        r.dropped_send_error);
    counter(out, "vej_media_sent_via_libnice_total",
            "RTP and RTCP packets sent through libnice (no direct path to the selected "
            "pair: relayed or TCP pair, ICE not settled).",
            r.sent_via_libnice);
    g_string_append(out, "# HELP vej_media_limit_hit_total Requests refused by a configured "
                         "limit, by limit.\n"
                         "# TYPE vej_media_limit_hit_total counter\n");
    g_string_append_printf(
        out,
        "vej_media_limit_hit_total{limit=\"remote_candidates\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_limit_hit_total{limit=\"early_candidates\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_limit_hit_total{limit=\"media_per_offer\"} %" G_GUINT64_FORMAT "\n"
        "vej_media_limit_hit_total{limit=\"publish_tracks\"} %" G_GUINT64_FORMAT "\n",
        r.limit_remote_candidates, r.limit_early_candidates, r.limit_mlines,
        r.limit_publish_tracks);
    g_string_append(out, "# HELP vej_media_publish_limited_total RTP packets of publishers "
                         "dropped over their PeerConnection's budget, by kind and budget.\n"
                         "# TYPE vej_media_publish_limited_total counter\n");
    g_string_append_printf(out,
                           "vej_media_publish_limited_total{kind=\"audio\",limit=\"bitrate\"} "
                           "%" G_GUINT64_FORMAT "\n"
                           "vej_media_publish_limited_total{kind=\"audio\",limit=\"packet_rate\"} "
                           "%" G_GUINT64_FORMAT "\n"
                           "vej_media_publish_limited_total{kind=\"video\",limit=\"bitrate\"} "
                           "%" G_GUINT64_FORMAT "\n"
                           "vej_media_publish_limited_total{kind=\"video\",limit=\"packet_rate\"} "
                           "%" G_GUINT64_FORMAT "\n",
                           r.limited_audio_bitrate, r.limited_audio_packet_rate,
                           r.limited_video_bitrate, r.limited_video_packet_rate);
    counter(out, "vej_media_dtls_failures_total", "DTLS handshakes that failed.", r.dtls_failures);
    counter(out, "vej_media_keyframe_requests_total", "PLIs sent to publishers.",
            r.keyframe_requests);
    counter(out, "vej_media_keyframe_waits_total",
            "Video copies that lost packets their subscriber cannot NACK and wait for a "
            "keyframe.",
            r.keyframe_waits);
    counter(out, "vej_media_nack_received_total",
            "Sequence numbers subscribers asked for in generic NACKs.", r.nack_received);
    counter(out, "vej_media_rtx_sent_total", "Retransmissions (RTX) sent to subscribers.",
            r.rtx_sent);
    counter(out, "vej_media_nack_unanswerable_total",
            "Sequence numbers asked for that could not be retransmitted.", r.nack_unanswerable);
    counter(out, "vej_media_rtx_rate_limited_total",
            "Sequence numbers not retransmitted: over the subscriber's budget.",
            r.rtx_rate_limited);
    counter(out, "vej_media_nack_sent_total",
            "Sequence numbers asked of publishers in generic NACKs (each request).", r.nack_sent);
    counter(out, "vej_media_nack_recovered_total", "Packets asked of publishers that then arrived.",
            r.nack_recovered);
    counter(out, "vej_media_nack_given_up_total",
            "Missing publisher packets given up (retries or age exhausted).", r.nack_given_up);
    counter(out, "vej_media_rtx_received_total", "RTX packets received from publishers.",
            r.rtx_received);
    counter(out, "vej_media_tap_packets_total",
            "RTP and RTCP packets handed to the recorder's rings.", r.tap_packets);
    counter(out, "vej_media_tap_dropped_total",
            "Packets the recorder lost because its ring was full (participants unaffected).",
            r.tap_dropped);
    counter(out, "vej_media_policy_updates_total",
            "Media policy updates taken by the workers (updates queued together count once).",
            r.policy_takes);
    counter(out, "vej_media_policy_cells_applied_total",
            "Media policy cells (publisher, receiver) whose value a worker changed.",
            r.policy_cells_applied);
}

/* The recorder's counters. */
static void
recorder_metrics(GString *out, struct vej_recorder *recorder)
{
    struct vej_recorder_stats rs;
    vej_recorder_stats(recorder, &rs);
    gauge(out, "vej_recordings_open", "Recordings being written.", rs.recordings);
    counter(out, "vej_recording_packets_total", "Packets written to capture segments.", rs.packets);
    counter(out, "vej_recording_bytes_total", "Payload bytes written to capture segments.",
            rs.bytes);
    counter(out, "vej_recording_segments_total", "Capture segments closed.", rs.segments);
    counter(out, "vej_recording_write_errors_total",
            "Capture writes or segment creations that failed.", rs.write_errors);
    counter(out, "vej_recording_ring_overflows_total",
            "Packets lost to the recorder because a ring was full.", rs.ring_dropped);
}

char *
vej__metrics_text(struct vej_signalling *s, size_t *len)
{
    const struct vej_metrics *m = &s->metrics;
    GString *out = g_string_new(NULL);
    guint joined = 0;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, s->hearings);
    while (g_hash_table_iter_next(&it, NULL, &value))
        joined += ((struct vej_live_hearing *)value)->participants->len;
    gauge(out, "vej_websocket_connections", "Open WebSocket connections.",
          g_hash_table_size(s->conns));
    gauge(out, "vej_sessions", "Signalling sessions, including those in their grace period.",
          g_hash_table_size(s->sessions));
    gauge(out, "vej_hearings_loaded", "Hearings held in memory.", g_hash_table_size(s->hearings));
    gauge(out, "vej_participants_joined", "Participants joined to a hearing.", joined);
    counter(out, "vej_websocket_connections_total", "WebSocket connections accepted.",
            m->ws_connections_total);
    counter(out, "vej_websocket_refused_total", "WebSocket upgrades refused.", m->ws_refused_total);
    counter(out, "vej_websocket_queue_overflow_total",
            "Sockets closed because their outbound queue was full.", m->ws_queue_overflow_total);
    counter(out, "vej_rpc_requests_total", "JSON-RPC messages received.", m->rpc_requests_total);
    counter(out, "vej_rpc_errors_total", "JSON-RPC error replies.", m->rpc_errors_total);
    counter(out, "vej_rpc_notifications_dropped_total",
            "Client notifications dropped (only webrtc.candidate may be one).",
            m->rpc_notifications_dropped_total);
    counter(out, "vej_rpc_rate_limited_total", "Requests refused by the per-socket rate limit.",
            m->rpc_rate_limited_total);
    counter(out, "vej_rpc_too_large_total", "Messages refused as too large.",
            m->rpc_too_large_total);
    counter(out, "vej_http_requests_total", "HTTP requests.", m->http_requests_total);
    counter(out, "vej_http_errors_total", "HTTP error responses.", m->http_errors_total);
    counter(out, "vej_logins_total", "Successful staff logins.", m->logins_total);
    counter(out, "vej_login_failures_total", "Failed staff logins and password changes.",
            m->login_failures_total);
    counter(out, "vej_login_rate_limited_total", "Logins refused by the rate limit.",
            m->login_rate_limited_total);
    counter(out, "vej_hearing_participant_limit_total",
            "Joins refused because the hearing was full.", m->hearing_participant_limit_total);
    counter(out, "vej_address_limit_total",
            "Connections and requests refused: too many from one client address.",
            m->address_limit_total);
    counter(out, "vej_connection_limit_total",
            "Connections hung up at once: max_connections + 64 were open.",
            m->connection_limit_total);
    counter(out, "vej_unauthenticated_limit_total",
            "Sockets without a session closed to make room (their slots were all taken).",
            m->unauthenticated_limit_total);
    counter(out, "vej_hash_queue_full_total",
            "Logins refused at once: the password-hashing queue was full.",
            m->hash_queue_full_total);
    counter(out, "vej_audit_write_failures_total",
            "Changes of exposure whose audit entry could not be written.",
            m->audit_write_failures_total);
    uint64_t committed = 0, failed = 0;
    vej_audit_writer_stats(s->audit, &committed, &failed);
    counter(out, "vej_audit_entries_committed_total", "Audit entries committed.", committed);
    counter(out, "vej_audit_commit_failures_total", "Audit commits that failed.", failed);
    if (s->relay)
        relay_metrics(out, s->relay);
    if (s->recorder)
        recorder_metrics(out, s->recorder);
    *len = out->len;
    return g_string_free(out, FALSE);
}
