/* session.c - signalling sessions: identity, resume tokens, grace periods.
 *
 * A session is created by session.hello and survives its socket for
 * resume_grace_s, keeping the participant's place. A new socket reclaims it
 * with session.resume (single-use token, rotated on every hello and resume)
 * or, for a join-link participant, with a second session.hello using the
 * same join link (takeover, which sends the participant back to the lobby:
 * rpc.c): either way the previous socket is closed with 4009.
 *
 * Invariant: a join link reaches only a session of kind PARTICIPANT
 * (vej__session_of_link); a staff session is reached only through its own
 * staff token or its own resume token.
 */
#include "signalling/signalling-priv.h"

#include <string.h>

#include "signalling/token.h"

static void
hex32(const uint8_t in[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

struct vej_session *
vej__session_new(struct vej_signalling *s, enum vej_identity_kind kind)
{
    struct vej_session *sess = g_new0(struct vej_session, 1);
    char rnd[44];
    if (!vej_opaque_token_new(rnd)) {
        g_free(sess);
        return NULL;
    }
    /* The session id names a session in logs and replies; it grants nothing. */
    snprintf(sess->id, sizeof sess->id, "ses_%.22s", rnd);
    sess->s = s;
    sess->kind = kind;
    g_hash_table_insert(s->sessions, sess->id, sess);
    return sess;
}

static void
drop_resume(struct vej_session *sess)
{
    if (!sess->has_resume)
        return;
    char hex[65];
    hex32(sess->resume_hash, hex);
    g_hash_table_remove(sess->s->resume_index, hex);
    sess->has_resume = false;
}

bool
vej__session_rotate_resume(struct vej_session *sess, char out[44])
{
    drop_resume(sess);
    if (!vej_opaque_token_new(out))
        return false;
    vej_token_hash(out, strlen(out), sess->resume_hash);
    char hex[65];
    hex32(sess->resume_hash, hex);
    g_hash_table_insert(sess->s->resume_index, g_strdup(hex), sess);
    sess->has_resume = true;
    return true;
}

struct vej_session *
vej__session_by_resume(struct vej_signalling *s, const char *token)
{
    if (!token || strlen(token) != 43)
        return NULL;
    uint8_t hash[32];
    char hex[65];
    vej_token_hash(token, 43, hash);
    hex32(hash, hex);
    return g_hash_table_lookup(s->resume_index, hex);
}

struct vej_session *
vej__session_of_participant(struct vej_signalling *s, const char *pid)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, s->sessions);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct vej_session *sess = value;
        if (sess->participant_id && strcmp(sess->participant_id, pid) == 0)
            return sess;
    }
    return NULL;
}

struct vej_session *
vej__session_of_link(struct vej_signalling *s, const char *pid)
{
    struct vej_session *sess = vej__session_of_participant(s, pid);
    return sess && sess->kind == VEJ_IDENTITY_PARTICIPANT ? sess : NULL;
}

static void
grace_expired(lws_sorted_usec_list_t *sul)
{
    struct vej_session *sess = lws_container_of(sul, struct vej_session, grace_sul);
    sess->grace_armed = false;
    vej__session_end(sess, "timeout");
}

void
vej__session_attach(struct vej_session *sess, struct vej_conn *c)
{
    if (sess->grace_armed) {
        lws_sul_cancel(&sess->grace_sul);
        sess->grace_armed = false;
    }
    if (sess->conn && sess->conn != c) {
        struct vej_conn *old = sess->conn;
        old->session = NULL;
        vej__conn_close(old, 4009, "session taken over");
    }
    sess->conn = c;
    c->session = sess;
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
}

void
vej__session_detach(struct vej_session *sess)
{
    struct vej_signalling *s = sess->s;
    sess->conn = NULL;
    if (s->stopping) {
        vej__session_end(sess, NULL);
        return;
    }
    sess->grace_armed = true;
    lws_sul_schedule(s->lws, 0, &sess->grace_sul, grace_expired,
                     (lws_usec_t)s->config->resume_grace_s * LWS_US_PER_SEC);
}

void
vej__session_send(struct vej_session *sess, json_t *msg)
{
    if (sess && sess->conn)
        vej__conn_send(sess->conn, msg);
}

void
vej__session_end(struct vej_session *sess, const char *reason)
{
    struct vej_signalling *s = sess->s;
    if (sess->grace_armed) {
        lws_sul_cancel(&sess->grace_sul);
        sess->grace_armed = false;
    }
    /* The participant hears of its end (a removal, the hearing closed)
     * once the relay no longer forwards its media. */
    struct vej_live_hearing *h = sess->participant ? sess->participant->hearing : NULL;
    if (sess->participant)
        vej__hearing_leave(sess->participant, reason ? reason : "left");
    if (sess->conn) {
        struct vej_conn *c = sess->conn;
        if (reason) {
            json_t *params = json_pack("{s:s}", "reason", reason);
            if (sess->hearing_id)
                json_object_set_new(params, "hearing_id", json_string(sess->hearing_id));
            json_t *n = vej_rpc_notification("session.closing", params);
            vej__conn_send_gated(c, n, h);
            json_decref(n);
        }
        c->session = NULL;
        vej__conn_close(c, 1000, reason ? reason : "session ended");
    }
    drop_resume(sess);
    g_hash_table_remove(s->sessions, sess->id);
    g_free(sess->user_id);
    g_free(sess->user_role);
    g_free(sess->participant_id);
    g_free(sess->hearing_id);
    g_free(sess->display_name);
    g_free(sess->role);
    g_free(sess);
}
