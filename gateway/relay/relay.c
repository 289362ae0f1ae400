/* relay.c - the relay's public API: hearings pinned to workers, calls
 * carried onto the hearing's worker.
 *
 * Each vej_relay_* call from the signalling thread becomes a closure posted
 * to the hearing's worker (struct call: it owns copies of its strings) and
 * the call returns at once; the closure's outcome goes back through
 * callbacks->done when the caller gave a call id. Nothing here waits for a
 * worker but vej_relay_free. A worker runs what was posted to it in order,
 * so a hearing's calls, policy updates and close run in the order they were
 * made, and a closure posted before vej_relay_close_hearing still finds its
 * hearing (freed by the close's closure). The only state the signalling
 * thread touches is the hearing map, under `lock`, and a hearing's queued
 * policy, under its `policy_lock`: set_policy writes the cells into the
 * hearing's desired table and posts one closure, which takes every change
 * queued by the time it runs (so updates coalesce) and reports the
 * generation it enforced.
 */
#include "gateway/relay/relay-priv.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(vej-relay-error-quark, vej_relay_error)
/* clang-format on */

/* ---- hearings ---- */

static struct vej_rhearing *
hearing_lookup(struct vej_relay *r, const char *id, bool create)
{
    g_mutex_lock(&r->lock);
    struct vej_rhearing *h = g_hash_table_lookup(r->hearings, id);
    if (!h && create) {
        h = g_new0(struct vej_rhearing, 1);
        h->relay = r;
        h->id = g_strdup(id);
        h->rw = &r->workers[r->next_worker++ % r->n_workers];
        h->parts = g_hash_table_new(g_str_hash, g_str_equal);
        g_mutex_init(&h->policy_lock);
        vej_policy_table_init(&h->desired, true);
        vej_policy_table_init(&h->applied, false);
        h->bindings_in = g_array_new(FALSE, FALSE, sizeof(struct vej_rbinding));
        g_hash_table_insert(r->hearings, h->id, h);
    }
    g_mutex_unlock(&r->lock);
    return h;
}

static struct vej_rpart *
part_get(struct vej_rhearing *h, const char *pid, bool create)
{
    struct vej_rpart *part = g_hash_table_lookup(h->parts, pid);
    if (!part && create) {
        part = g_new0(struct vej_rpart, 1);
        part->id = g_strdup(pid);
        part->h = h;
        g_hash_table_insert(h->parts, part->id, part);
        vej__router_part_bound(part);
        if (!h->rtcp_timer)
            vej__router_start_timer(h);
    }
    return part;
}

static void
peer_close(struct vej_peer *p)
{
    if (!p)
        return;
    vej__router_detach(p);
    vej__peer_free(p);
}

static void
part_free(struct vej_rpart *part)
{
    peer_close(part->pub);
    peer_close(part->sub);
    vej__router_part_unbound(part);
    g_free(part->id);
    g_free(part);
}

/* ---- calls onto the worker ---- */

/* One posted call; freed on the worker once done was called. */
struct call {
    struct vej_relay *relay;
    struct vej_rhearing *h;
    char *participant_id;
    char *sdp;
    char *candidate;
    enum vej_relay_pc pc;
    uint64_t revision;
    unsigned flags;
    uint64_t call_id; /* 0: nobody waits for the outcome */
    void (*fn)(struct call *c);
    char *result; /* publish: the answer */
    GError *error;
};

static void
sdp_limits(struct vej_relay *r, struct vej_sdp_limits *l)
{
    vej_sdp_limits_init(l);
    if (r->config.max_sdp_bytes)
        l->max_sdp_bytes = r->config.max_sdp_bytes;
    if (r->config.max_media_per_offer)
        l->max_mlines = r->config.max_media_per_offer;
}

static void
do_publish(struct call *c)
{
    struct vej_relay *r = c->relay;
    struct vej_sdp_limits limits;
    sdp_limits(r, &limits);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    const char *why = NULL;
    const struct vej_sdp_options options = {
        .allowed_codecs = r->config.allowed_codecs,
        .allow_tcp_candidates = r->config.ice_tcp,
    };
    int status = vej_sdp_parse_offer(c->sdp, strlen(c->sdp), &limits, &options, d, &why);
    if (status == VEJ_SDP_ETOOMANY)
        VEJ_STAT_ADD(&c->h->rw->stats, limit_mlines, 1);
    if (status != VEJ_SDP_OK) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "sdp: %s", why);
        return;
    }
    if (c->flags & VEJ_RELAY_PUBLISH_AUDIO_ONLY) {
        bool any = false;
        for (size_t i = 0; i < d->n_media; i++) {
            if (d->media[i].kind == VEJ_SDP_KIND_VIDEO && d->media[i].accepted) {
                d->media[i].accepted = false;
                d->media[i].reject_reason = "audio only (special measure)";
            }
            any = any || d->media[i].accepted;
        }
        if (!any) {
            g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID,
                        "sdp: this participant publishes audio only, and the offer has none");
            return;
        }
    }
    vej__ingress_cap_tracks(r, c->h->rw, d);
    if (d->setup != VEJ_SDP_SETUP_ACTPASS) {
        /* RFC 5763: an offerer says actpass; anything else is an answer
         * or a munged offer. */
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID,
                    "sdp: a publish offer must say a=setup:actpass");
        return;
    }
    struct vej_rpart *part = part_get(c->h, c->participant_id, true);
    bool created = false;
    if (part->pub && !vej__peer_same_connection(part->pub, d)) {
        /* Another certificate or o= session: the client made a new
         * PeerConnection (after a failure, say). The old one cannot carry
         * it: start afresh. */
        g_clear_pointer(&part->pub, peer_close);
    }
    if (!part->pub) {
        part->pub = vej__peer_new(part, VEJ_RELAY_PUBLISH, &c->error);
        if (!part->pub)
            return;
        created = true;
    }
    if (!vej__peer_set_remote(part->pub, d, &c->error)) {
        if (created)
            g_clear_pointer(&part->pub, peer_close);
        return;
    }
    vej__router_set_tracks(part->pub, d);
    struct vej_sdp_local local;
    vej__peer_local_sdp(part->pub, &local);
    if (vej_sdp_make_answer(d, &local, &c->result, &why) != VEJ_SDP_OK) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "sdp: %s", why);
        return;
    }
    vej__router_apply_part(part);
}

static void withdraw_offer(struct vej_peer *sub);

static void
do_subscribe(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, true);
    uint64_t revision = 0;
    if (part->sub && (part->sub->state == PEER_FAILED || part->sub->state == PEER_CLOSED)) {
        /* webrtc.subscribe again after a failure, or after the client
         * closed it (DTLS close_notify: a reloaded page): a new
         * PeerConnection (webrtc.restart_ice is the way to keep the old
         * one). Revisions go on increasing. */
        revision = part->sub->revision;
        g_clear_pointer(&part->sub, peer_close);
    }
    if (!part->sub) {
        part->sub = vej__peer_new(part, VEJ_RELAY_SUBSCRIBE, &c->error);
        if (!part->sub)
            return;
        part->sub->revision = revision;
    }
    /* The first offer always has an m-line: an inactive audio one when
     * there is nothing to receive yet, so that the transport (BUNDLE, ICE,
     * DTLS) is up before media arrive and clients that require a BUNDLE
     * group (max-bundle) accept it. It stays inactive: tracks get m-lines
     * of their own (router.c). */
    if (part->sub->outs->len == 0)
        vej__router_add_placeholder(part->sub);
    withdraw_offer(part->sub);
    part->sub->renegotiate = true;
    vej__router_apply_part(part); /* and offers part->sub */
}

/* The client asks again (webrtc.subscribe) or came back (session.resume):
 * it may never have seen the offer in flight. That offer is withdrawn (an
 * answer to it is now stale: CONFLICT) and the next one, with a new
 * revision, carries the PC's whole present state. */
static void
withdraw_offer(struct vej_peer *sub)
{
    if (!sub->offer_in_flight)
        return;
    sub->offer_in_flight = false;
    sub->renegotiate = true;
}

static void
do_resend_offer(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, false);
    struct vej_peer *sub = part ? part->sub : NULL;
    if (!sub || !sub->offer_in_flight || sub->state == PEER_CLOSED ||
        (sub->state == PEER_FAILED && !sub->local_restart))
        return;
    withdraw_offer(sub);
    vej__router_maybe_offer(sub);
}

/* The header extensions an answered m-line lets us write, with its ids
 * (vej_sdp_parse_answer keeps only those we offered, audio-level on audio
 * m-lines only). An id the answer gives two of them is dropped for the
 * later ones: one id names one extension (RFC 8285). */
static struct vej_rtp_hop_ext
answered_extensions(const struct vej_sdp_media *m)
{
    struct vej_rtp_hop_ext e = {
        .mid = m->extmap.mid,
        .abs_send_time = m->extmap.abs_send_time,
        .audio_level = m->kind == VEJ_SDP_KIND_AUDIO ? m->extmap.audio_level : 0,
    };
    if (e.abs_send_time == e.mid)
        e.abs_send_time = 0;
    if (e.audio_level == e.mid || e.audio_level == e.abs_send_time)
        e.audio_level = 0;
    return e;
}

static void
mark_negotiated(struct vej_peer *sub, const struct vej_sdp_description *answer)
{
    for (guint i = 0; i < sub->outs->len; i++) {
        struct vej_out *o = sub->outs->pdata[i];
        int idx = vej_sdp_find_mid(answer, o->mid);
        /* The stream is enabled only when this very offer carried it, as
         * sending with its SSRC: an m-line the answer names but the offer
         * had inactive or with another stream enables nothing. */
        const struct vej_sdp_track *offered = idx >= 0 && (size_t)idx < sub->last_offer->n_tracks
                                                  ? &sub->last_offer->tracks[idx]
                                                  : NULL;
        bool ok = o->track && offered && answer->media[idx].accepted &&
                  offered->direction == VEJ_SDP_DIR_SENDONLY && offered->ssrc == o->ssrc &&
                  strcmp(offered->mid, o->mid) == 0;
        if (idx >= 0)
            o->ext = answered_extensions(&answer->media[idx]);
        if (!ok)
            offered = NULL;
        /* Retransmission needs both RTX, kept as offered to this very
         * stream (the out may have changed since that offer), and generic
         * NACK. */
        o->rtx = offered && o->rtx_pt && offered->ssrc == o->ssrc && offered->rtx_pt == o->rtx_pt &&
                 offered->rtx_ssrc == o->rtx_ssrc && answer->media[idx].has_rtx &&
                 answer->media[idx].rtx_pt == o->rtx_pt &&
                 (answer->media[idx].rtcp_fb & VEJ_SDP_FB_NACK);
        if (ok && !o->negotiated) {
            o->negotiated = true;
            if (o->kind == VEJ_SDP_KIND_VIDEO) {
                o->need_keyframe = true;
                vej__router_request_keyframe(o->track);
            }
        }
    }
}

static void
do_answer(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, false);
    struct vej_peer *sub = part ? part->sub : NULL;
    if (!sub) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_NOT_FOUND,
                    "no subscribe connection: call webrtc.subscribe first");
        return;
    }
    if (!sub->offer_in_flight || sub->revision != c->revision || !sub->last_offer) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_CONFLICT,
                    "stale revision: the current offer is %" G_GUINT64_FORMAT, sub->revision);
        return;
    }
    if (sub->last_offer->n_tracks == 0) {
        /* An offer with nothing to receive yet has no transport to
         * answer: the next offer (with tracks) carries it. */
        sub->offer_in_flight = false;
        vej__router_maybe_offer(sub);
        return;
    }
    struct vej_sdp_limits limits;
    sdp_limits(c->relay, &limits);
    g_autofree struct vej_sdp_description *d = g_new0(struct vej_sdp_description, 1);
    const char *why = NULL;
    if (vej_sdp_parse_answer(c->sdp, strlen(c->sdp), &limits, sub->last_offer, d, &why) !=
        VEJ_SDP_OK) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID, "sdp: %s", why);
        return;
    }
    if (!sub->answered_once && sub->dtls) {
        enum vej_dtls_role role =
            d->setup == VEJ_SDP_SETUP_PASSIVE ? VEJ_DTLS_CLIENT : VEJ_DTLS_SERVER;
        if (!vej_dtls_set_role(sub->dtls, role, &c->error))
            return;
    }
    /* RFC 8839 4.4.1.1.2: the answer to an ICE restart brings new
     * credentials; one that keeps the old ones would leave ICE dead. (An
     * answer to an earlier offer, still open when the restart was asked
     * for, keeps them rightly: the restart offer follows it.) */
    if (sub->local_restart && c->revision == sub->restart_revision &&
        strcmp(d->ice_ufrag, sub->remote_ufrag) == 0) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_INVALID,
                    "sdp: the answer to an ICE restart must carry new ICE credentials");
        return;
    }
    if (!vej__peer_set_remote(sub, d, &c->error))
        return;
    sub->answered_once = true;
    sub->offer_in_flight = false;
    mark_negotiated(sub, d);
    /* Answered: the offer (tens of KiB) is not needed any more; an answer
     * to it again is stale (offer_in_flight). */
    g_clear_pointer(&sub->last_offer, g_free);
    vej__router_maybe_offer(sub);
}

static void
do_candidate(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, false);
    struct vej_peer *p = part ? (c->pc == VEJ_RELAY_PUBLISH ? part->pub : part->sub) : NULL;
    if (!p) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_NOT_FOUND,
                    "no such connection yet");
        return;
    }
    vej__peer_add_candidate(p, c->candidate, &c->error);
}

static void
do_restart_ice(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, false);
    struct vej_peer *sub = part ? part->sub : NULL;
    if (!sub) {
        g_set_error(&c->error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_NOT_FOUND,
                    "no subscribe connection");
        return;
    }
    if (!vej__peer_restart_ice(sub, &c->error))
        return;
    sub->local_restart = true;
    sub->renegotiate = true;
    vej__router_maybe_offer(sub);
}

static void
do_close_participant(struct call *c)
{
    struct vej_rpart *part = part_get(c->h, c->participant_id, false);
    if (!part)
        return;
    g_hash_table_remove(c->h->parts, part->id);
    part_free(part);
    vej__router_offer_all(c->h);
}

static void
call_free(struct call *c)
{
    g_free(c->participant_id);
    g_free(c->sdp);
    g_free(c->candidate);
    g_free(c->result);
    g_clear_error(&c->error);
    g_free(c);
}

static void
run_call(void *data)
{
    struct call *c = data;
    c->fn(c);
    struct vej_relay *r = c->relay;
    if (c->call_id && r->cb.done)
        r->cb.done(r->cb.user, c->h->id, c->participant_id, c->call_id, c->result, c->error);
    call_free(c);
}

/* Posts fn with the call's arguments to the hearing's worker, or fails at
 * once (nothing posted) when the hearing has no media state and `create`
 * is not set. */
static gboolean
post_call(struct vej_relay *r, const char *hearing_id, bool create, void (*fn)(struct call *),
          const struct call *args, GError **error)
{
    struct vej_rhearing *h = hearing_lookup(r, hearing_id, create);
    if (!h) {
        g_set_error(error, VEJ_RELAY_ERROR, VEJ_RELAY_ERROR_NOT_FOUND, "no media for hearing");
        return FALSE;
    }
    struct call *c = g_new0(struct call, 1);
    *c = *args;
    c->relay = r;
    c->h = h;
    c->fn = fn;
    c->participant_id = g_strdup(args->participant_id);
    c->sdp = g_strdup(args->sdp);
    c->candidate = g_strdup(args->candidate);
    vej_worker_post(h->rw->worker, run_call, c);
    return TRUE;
}

gboolean
vej_relay_publish(struct vej_relay *r, const char *hearing_id, const char *participant_id,
                  const char *offer_sdp, unsigned flags, uint64_t call_id, GError **error)
{
    const struct call a = {.participant_id = (char *)participant_id,
                           .sdp = (char *)offer_sdp,
                           .flags = flags,
                           .call_id = call_id};
    return post_call(r, hearing_id, true, do_publish, &a, error);
}

gboolean
vej_relay_subscribe(struct vej_relay *r, const char *hearing_id, const char *participant_id,
                    uint64_t call_id, GError **error)
{
    const struct call a = {.participant_id = (char *)participant_id, .call_id = call_id};
    return post_call(r, hearing_id, true, do_subscribe, &a, error);
}

gboolean
vej_relay_subscribe_answer(struct vej_relay *r, const char *hearing_id, const char *participant_id,
                           uint64_t revision, const char *answer_sdp, uint64_t call_id,
                           GError **error)
{
    const struct call a = {.participant_id = (char *)participant_id,
                           .sdp = (char *)answer_sdp,
                           .revision = revision,
                           .call_id = call_id};
    return post_call(r, hearing_id, false, do_answer, &a, error);
}

gboolean
vej_relay_add_candidate(struct vej_relay *r, const char *hearing_id, const char *participant_id,
                        enum vej_relay_pc pc, const char *candidate, uint64_t call_id,
                        GError **error)
{
    const struct call a = {.participant_id = (char *)participant_id,
                           .pc = pc,
                           .candidate = (char *)candidate,
                           .call_id = call_id};
    return post_call(r, hearing_id, false, do_candidate, &a, error);
}

gboolean
vej_relay_restart_ice(struct vej_relay *r, const char *hearing_id, const char *participant_id,
                      uint64_t call_id, GError **error)
{
    const struct call a = {.participant_id = (char *)participant_id, .call_id = call_id};
    return post_call(r, hearing_id, false, do_restart_ice, &a, error);
}

void
vej_relay_resend_offer(struct vej_relay *r, const char *hearing_id, const char *participant_id)
{
    const struct call a = {.participant_id = (char *)participant_id};
    post_call(r, hearing_id, false, do_resend_offer, &a, NULL);
}

void
vej_relay_close_participant(struct vej_relay *r, const char *hearing_id, const char *participant_id)
{
    const struct call a = {.participant_id = (char *)participant_id};
    post_call(r, hearing_id, false, do_close_participant, &a, NULL);
}

/* ---- policy ---- */

G_STATIC_ASSERT(VEJ_RELAY_INDEX_MAX == VEJ_POLICY_INDEX_MAX);

static void
do_take_policy(void *data)
{
    vej__router_take_policy(data);
}

void
vej_relay_set_policy(struct vej_relay *r, const char *hearing_id, uint64_t generation,
                     const struct vej_relay_policy_update *u)
{
    struct vej_rhearing *h = hearing_lookup(r, hearing_id, true);
    g_mutex_lock(&h->policy_lock);
    for (size_t i = 0; i < u->n_bindings; i++) {
        const struct vej_relay_binding *b = &u->bindings[i];
        if (b->index == VEJ_RELAY_RECORDER || b->index >= VEJ_POLICY_INDEX_MAX) {
            g_warning("hearing %s: policy index %u out of range", h->id, b->index);
            continue;
        }
        /* A binding starts from nothing: the update's cells follow. */
        vej_policy_table_clear_index(&h->desired, b->index);
        struct vej_rbinding in = {.index = b->index, .id = g_strdup(b->participant_id)};
        g_array_append_val(h->bindings_in, in);
    }
    for (size_t i = 0; i < u->n_cells; i++) {
        const struct vej_relay_cell *c = &u->cells[i];
        if (vej_policy_table_set(&h->desired, c->subscriber, c->publisher, c->bits) < 0)
            g_warning("hearing %s: policy cell (%u, %u) refused", h->id, c->subscriber,
                      c->publisher);
    }
    h->generation_in = generation;
    bool post = !h->policy_queued;
    h->policy_queued = true;
    g_mutex_unlock(&h->policy_lock);
    /* One closure however many updates come before it runs. */
    if (post)
        vej_worker_post(h->rw->worker, do_take_policy, h);
}

unsigned
vej_relay_n_workers(struct vej_relay *r)
{
    return r->n_workers;
}

void
vej_relay_set_tap(struct vej_relay *r, const struct vej_tap *tap)
{
    if (tap)
        r->tap = *tap;
    else
        memset(&r->tap, 0, sizeof r->tap);
}

/* ---- life cycle ---- */

struct vej_relay *
vej_relay_new(const struct vej_relay_config *config, const struct vej_relay_callbacks *callbacks,
              GError **error)
{
    if (!vej_srtp_global_init(error))
        return NULL;
    /* The error quark is made here, before any worker exists: workers and
     * the signalling thread then only read it. */
    (void)vej_relay_error_quark();
    struct vej_relay *r = g_new0(struct vej_relay, 1);
    r->config = *config;
    r->config.bind_addresses = g_strdup(config->bind_addresses);
    r->config.public_ipv4 = g_strdup(config->public_ipv4);
    r->config.public_ipv6 = g_strdup(config->public_ipv6);
    r->config.cert_file = g_strdup(config->cert_file);
    r->config.key_file = g_strdup(config->key_file);
    if (!r->config.max_remote_candidates)
        r->config.max_remote_candidates = 64;
    r->cb = *callbacks;
    g_mutex_init(&r->lock);
    r->hearings = g_hash_table_new(g_str_hash, g_str_equal);
    r->cert = config->cert_file && *config->cert_file
                  ? vej_dtls_cert_new_from_pem(config->cert_file, config->key_file, error)
                  : vej_dtls_cert_new_self_signed(error);
    if (!r->cert) {
        vej_relay_free(r);
        return NULL;
    }
    const char *alg = NULL;
    const char *fp = vej_dtls_cert_fingerprint(r->cert, &alg);
    g_snprintf(r->fingerprint, sizeof r->fingerprint, "%s %s", alg, fp);
    r->n_workers = config->workers ? config->workers : g_get_num_processors();
    r->workers = g_new0(struct vej_rworker, r->n_workers);
    for (unsigned i = 0; i < r->n_workers; i++) {
        r->workers[i].worker = vej_worker_new(i, error);
        if (!r->workers[i].worker) {
            vej_relay_free(r);
            return NULL;
        }
    }
    return r;
}

static void
do_teardown(void *data)
{
    struct vej_rhearing *h = data;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, h->parts);
    while (g_hash_table_iter_next(&it, NULL, &value))
        part_free(value);
    g_hash_table_remove_all(h->parts);
    if (h->rtcp_timer) {
        g_source_destroy(h->rtcp_timer);
        g_source_unref(h->rtcp_timer);
        h->rtcp_timer = NULL;
    }
}

static void
hearing_free(struct vej_rhearing *h)
{
    g_hash_table_unref(h->parts);
    vej__router_policy_free(h);
    g_free(h->id);
    g_free(h);
}

static void
do_close_hearing(void *data)
{
    struct vej_rhearing *h = data;
    do_teardown(h);
    hearing_free(h);
}

void
vej_relay_close_hearing(struct vej_relay *r, const char *hearing_id)
{
    g_mutex_lock(&r->lock);
    struct vej_rhearing *h = g_hash_table_lookup(r->hearings, hearing_id);
    if (h)
        g_hash_table_remove(r->hearings, hearing_id);
    g_mutex_unlock(&r->lock);
    /* Closures already queued for it (calls, policy updates) run first:
     * the worker's queue is in order. Nothing waits for it. */
    if (h)
        vej_worker_post(h->rw->worker, do_close_hearing, h);
}

void
vej_relay_free(struct vej_relay *r)
{
    if (!r)
        return;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->hearings);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_rhearing *h = value;
        vej_worker_call(h->rw->worker, do_teardown, h);
    }
    /* Give libnice a moment to finish closing agents: 2 s in all, however
     * many workers (the daemon must be gone within 10 s of SIGTERM). */
    int64_t deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    for (unsigned i = 0; r->workers && i < r->n_workers; i++)
        while (r->workers[i].worker && g_atomic_int_get(&r->workers[i].closing_agents) > 0 &&
               g_get_monotonic_time() < deadline)
            g_usleep(10000);
    for (unsigned i = 0; r->workers && i < r->n_workers; i++)
        vej_worker_free(r->workers[i].worker);
    g_hash_table_iter_init(&it, r->hearings);
    while (g_hash_table_iter_next(&it, NULL, &value))
        hearing_free(value);
    g_hash_table_unref(r->hearings);
    g_free(r->workers);
    vej_dtls_cert_unref(r->cert);
    g_mutex_clear(&r->lock);
    g_free(r->config.bind_addresses);
    g_free(r->config.public_ipv4);
    g_free(r->config.public_ipv6);
    g_free(r->config.cert_file);
    g_free(r->config.key_file);
    g_free(r);
}

const char *
vej_relay_fingerprint(struct vej_relay *r)
{
    return r->fingerprint;
}

void
vej_relay_stats(struct vej_relay *r, struct vej_relay_stats *out)
{
    memset(out, 0, sizeof *out);
    /* Every field is a uint64_t counter (relay.h): summed as an array. */
    G_STATIC_ASSERT(sizeof(struct vej_relay_stats) % sizeof(uint64_t) == 0);
    uint64_t *sum = (uint64_t *)out;
    for (unsigned i = 0; i < r->n_workers; i++) {
        const uint64_t *w = (const uint64_t *)&r->workers[i].stats;
        for (size_t k = 0; k < sizeof *out / sizeof(uint64_t); k++)
            sum[k] += __atomic_load_n(&w[k], __ATOMIC_RELAXED); /* the worker writes them */
    }
    /* A worker does not count hearings: the map does. */
    g_mutex_lock(&r->lock);
    out->hearings = g_hash_table_size(r->hearings);
    g_mutex_unlock(&r->lock);
}
