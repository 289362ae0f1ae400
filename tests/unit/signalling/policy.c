/* Unit tests for signalling/policy.c: an exhaustive comparison with an
 * oracle written independently here, then one named case per court rule. */
#include "signalling/policy.h"

#include <glib.h>
#include <string.h>

/* ---- the oracle --------------------------------------------------------
 * Written from the rules in the issue, not from policy.c: places are an
 * enum, the states each place carries media in are a bit mask, screening is
 * a choice of the configuration. */

enum place { P_LOBBY, P_MAIN, P_CONS_A, P_CONS_B, P_N };
static const char *const place_text[P_N] = {"lobby", "main", "consultation:a", "consultation:b"};

#define BIT(s) (1u << (s))
static const unsigned place_carries[P_N] = {
    [P_LOBBY] = 0,
    [P_MAIN] = BIT(VEJ_HEARING_IN_SESSION),
    [P_CONS_A] = BIT(VEJ_HEARING_OPEN) | BIT(VEJ_HEARING_IN_SESSION) | BIT(VEJ_HEARING_ADJOURNED),
    [P_CONS_B] = BIT(VEJ_HEARING_OPEN) | BIT(VEJ_HEARING_IN_SESSION) | BIT(VEJ_HEARING_ADJOURNED),
};

/* Whom a party's screened_from names. */
enum screen {
    SCREEN_NONE,
    SCREEN_PEER_ROLE, /* the other party's role name */
    SCREEN_PEER_ID,   /* the other party's participant id */
    SCREEN_OTHERS,    /* a role and an id that are not the other party's */
    SCREEN_N
};

struct config {
    enum place place;
    bool admitted;
    enum vej_role role;
    unsigned mute; /* bit per kind */
    bool audio_only;
    bool anonymous;
    enum screen screen;
};

static bool
oracle_screened(const struct config *s)
{
    return s->screen == SCREEN_PEER_ROLE || s->screen == SCREEN_PEER_ID;
}

static bool
oracle_media(enum vej_hearing_state st, const struct config *r, const struct config *s,
             enum vej_media_kind kind)
{
    bool video = kind == VEJ_MEDIA_VIDEO;

    return r->admitted && s->admitted && r->place == s->place &&
           (place_carries[s->place] & BIT(st)) != 0 && s->role != VEJ_ROLE_OBSERVER &&
           (s->mute & (1u << kind)) == 0 && !(video && s->audio_only) &&
           !(video && oracle_screened(s));
}

static bool
oracle_recorded(enum vej_hearing_state st, const struct config *s, enum vej_media_kind kind)
{
    return st == VEJ_HEARING_IN_SESSION && s->place == P_MAIN && s->admitted &&
           s->role != VEJ_ROLE_OBSERVER && (s->mute & (1u << kind)) == 0 &&
           !(kind == VEJ_MEDIA_VIDEO && s->audio_only);
}

static enum vej_visibility
oracle_visibility(const struct config *r, const struct config *s)
{
    bool presiding = r->role == VEJ_ROLE_JUDGE || r->role == VEJ_ROLE_CLERK;

    if (!r->admitted)
        return VEJ_VISIBILITY_HIDDEN;
    if (!s->admitted)
        return presiding ? VEJ_VISIBILITY_FULL : VEJ_VISIBILITY_HIDDEN;
    if (oracle_screened(s))
        return s->anonymous ? VEJ_VISIBILITY_HIDDEN : VEJ_VISIBILITY_ROLE_ONLY;
    if (s->anonymous && !presiding)
        return VEJ_VISIBILITY_ROLE_ONLY;
    return VEJ_VISIBILITY_FULL;
}

/* A party built from a configuration; `peer` is the other side, whose role
 * and id the screening refers to. */
struct built {
    struct vej_policy_party party;
    const char *screened[2];
};

static void
build(struct built *b, const char *id, const struct config *c, const struct config *peer,
      const char *peer_id)
{
    memset(b, 0, sizeof *b);
    b->party.participant_id = id;
    b->party.role = c->role;
    b->party.domains[0] = place_text[c->place];
    b->party.n_domains = 1;
    b->party.admitted = c->admitted;
    b->party.muted[VEJ_MEDIA_AUDIO] = (c->mute & 1u) != 0;
    b->party.muted[VEJ_MEDIA_VIDEO] = (c->mute & 2u) != 0;
    b->party.audio_only = c->audio_only;
    b->party.anonymous = c->anonymous;
    switch (c->screen) {
    case SCREEN_NONE:
        break;
    case SCREEN_PEER_ROLE:
        b->screened[0] = vej_role_name(peer->role);
        b->party.n_screened_from = 1;
        break;
    case SCREEN_PEER_ID:
        b->screened[0] = peer_id;
        b->party.n_screened_from = 1;
        break;
    case SCREEN_OTHERS:
        b->screened[0] = vej_role_name((enum vej_role)((peer->role + 1) % VEJ_ROLE_N));
        b->screened[1] = "ptc_somebodyelse";
        b->party.n_screened_from = 2;
        break;
    case SCREEN_N:
        g_assert_not_reached();
    }
    b->party.screened_from = b->screened;
}

/* Splits a counter into mixed-radix digits, least significant first. */
static unsigned
digit(guint64 *k, unsigned radix)
{
    unsigned d = (unsigned)(*k % radix);

    *k /= radix;
    return d;
}

/* Every state x place pair x admission pair x role pair x sender mute x
 * audio_only x anonymous x screening, for both kinds, against the oracle.
 * The receiver's own special measures and mutes vary with the counter: they
 * must never change what it receives or sees. */
static void
test_exhaustive(void)
{
    const guint64 total =
        1ull * VEJ_HEARING_N_STATES * P_N * P_N * 4 * VEJ_ROLE_N * VEJ_ROLE_N * 4 * 4 * SCREEN_N;
    guint64 flowing = 0;

    g_assert_cmpuint(total, ==, 2048000);
    for (guint64 n = 0; n < total; n++) {
        guint64 k = n;
        /* One digit per statement: initializers are not sequenced. */
        enum vej_hearing_state state = digit(&k, VEJ_HEARING_N_STATES);
        unsigned adm = digit(&k, 4);
        unsigned mute = digit(&k, 4);
        unsigned flags = digit(&k, 4);
        enum place sp = digit(&k, P_N);
        enum place rp = digit(&k, P_N);
        enum vej_role sr = digit(&k, VEJ_ROLE_N);
        enum vej_role rr = digit(&k, VEJ_ROLE_N);
        enum screen scr = digit(&k, SCREEN_N);
        struct config s = {sp, adm & 1, sr, mute, flags & 1, flags >> 1, scr};
        struct config r = {rp,           adm >> 1,           rr, n % 4, (n >> 2) & 1,
                           (n >> 3) & 1, (n >> 4) % SCREEN_N};
        struct built sb, rb;

        build(&sb, "ptc_sender", &s, &r, "ptc_receiver");
        build(&rb, "ptc_receiver", &r, &s, "ptc_sender");
        for (unsigned kind = 0; kind < VEJ_MEDIA_N; kind++) {
            bool want = oracle_media(state, &r, &s, kind);
            bool got = vej_policy_media_allowed(state, &rb.party, &sb.party, kind);
            if (want != got)
                g_error("media case %" G_GUINT64_FORMAT " kind %u: want %d got %d", n, kind, want,
                        got);
            flowing += got;
            g_assert_cmpint(vej_policy_recorded(state, &sb.party, kind), ==,
                            oracle_recorded(state, &s, kind));
        }
        if (vej_policy_visibility(state, &rb.party, &sb.party) != oracle_visibility(&r, &s))
            g_error("visibility case %" G_GUINT64_FORMAT ": want %d got %d", n,
                    oracle_visibility(&r, &s), vej_policy_visibility(state, &rb.party, &sb.party));
        g_assert_cmpint(vej_policy_screens(&sb.party, &rb.party), ==, oracle_screened(&s));
    }
    g_assert_cmpuint(flowing, >, 0);
}

/* Oneself, by pointer or by participant id: no media, FULL, in every case. */
static void
test_exhaustive_self(void)
{
    const guint64 total = 1ull * VEJ_HEARING_N_STATES * P_N * 2 * VEJ_ROLE_N * SCREEN_N;

    for (guint64 n = 0; n < total; n++) {
        guint64 k = n;
        enum vej_hearing_state state = digit(&k, VEJ_HEARING_N_STATES);
        enum place place = digit(&k, P_N);
        bool admitted = digit(&k, 2);
        enum vej_role role = digit(&k, VEJ_ROLE_N);
        enum screen scr = digit(&k, SCREEN_N);
        struct config c = {place, admitted, role, 0, false, scr & 1, scr};
        struct built a, b;

        build(&a, "ptc_me", &c, &c, "ptc_me");
        build(&b, "ptc_me", &c, &c, "ptc_me");
        for (unsigned kind = 0; kind < VEJ_MEDIA_N; kind++) {
            g_assert_false(vej_policy_media_allowed(state, &a.party, &a.party, kind));
            g_assert_false(vej_policy_media_allowed(state, &a.party, &b.party, kind));
        }
        g_assert_cmpint(vej_policy_visibility(state, &a.party, &a.party), ==, VEJ_VISIBILITY_FULL);
        g_assert_cmpint(vej_policy_visibility(state, &b.party, &a.party), ==, VEJ_VISIBILITY_FULL);
    }
}

/* ---- named cases ------------------------------------------------------ */

static struct vej_policy_party
party(const char *id, enum vej_role role, const char *place)
{
    struct vej_policy_party p;

    memset(&p, 0, sizeof p);
    p.participant_id = id;
    p.role = role;
    p.domains[0] = place;
    p.n_domains = 1;
    p.admitted = strcmp(place, "lobby") != 0;
    return p;
}

static bool
audio(enum vej_hearing_state st, const struct vej_policy_party *to,
      const struct vej_policy_party *from)
{
    return vej_policy_media_allowed(st, to, from, VEJ_MEDIA_AUDIO);
}

static bool
video(enum vej_hearing_state st, const struct vej_policy_party *to,
      const struct vej_policy_party *from)
{
    return vej_policy_media_allowed(st, to, from, VEJ_MEDIA_VIDEO);
}

static void
test_screened_witness_video_never_reaches_defendant_but_audio_does(void)
{
    static const char *const by_role[] = {"defendant"};
    struct vej_policy_party witness = party("ptc_w", VEJ_ROLE_WITNESS, "main");
    struct vej_policy_party defendant = party("ptc_d", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    witness.screened_from = by_role;
    witness.n_screened_from = 1;
    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++)
        g_assert_false(video(st, &defendant, &witness));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &defendant, &witness));
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &judge, &witness));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &judge, &witness));
    /* The defendant's own media still reaches the witness. */
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &witness, &defendant));
    g_assert_true(vej_policy_screens(&witness, &defendant));
    g_assert_false(vej_policy_screens(&defendant, &witness));
    g_assert_false(vej_policy_screens(&witness, &judge));
}

static void
test_screening_by_participant_id(void)
{
    static const char *const by_id[] = {"ptc_d1"};
    struct vej_policy_party witness = party("ptc_w", VEJ_ROLE_WITNESS, "main");
    struct vej_policy_party d1 = party("ptc_d1", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party d2 = party("ptc_d2", VEJ_ROLE_DEFENDANT, "main");

    witness.screened_from = by_id;
    witness.n_screened_from = 1;
    g_assert_false(video(VEJ_HEARING_IN_SESSION, &d1, &witness));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &d1, &witness));
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &d2, &witness));
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_IN_SESSION, &d1, &witness), ==,
                    VEJ_VISIBILITY_ROLE_ONLY);
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_IN_SESSION, &d2, &witness), ==,
                    VEJ_VISIBILITY_FULL);
}

static void
test_screening_does_not_stop_recording(void)
{
    static const char *const by_role[] = {"defendant", "ptc_x"};
    struct vej_policy_party witness = party("ptc_w", VEJ_ROLE_WITNESS, "main");

    witness.screened_from = by_role;
    witness.n_screened_from = 2;
    g_assert_true(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &witness, VEJ_MEDIA_VIDEO));
    g_assert_true(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &witness, VEJ_MEDIA_AUDIO));
}

static void
test_consultation_isolated_from_main_and_from_other_consultation(void)
{
    struct vej_policy_party defendant = party("ptc_d", VEJ_ROLE_DEFENDANT, "consultation:a");
    struct vej_policy_party defence = party("ptc_f", VEJ_ROLE_DEFENCE, "consultation:a");
    struct vej_policy_party prosecution = party("ptc_p", VEJ_ROLE_PROSECUTION, "consultation:b");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");
    struct vej_policy_party clerk = party("ptc_c", VEJ_ROLE_CLERK, "main");

    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++) {
        bool works =
            st == VEJ_HEARING_OPEN || st == VEJ_HEARING_IN_SESSION || st == VEJ_HEARING_ADJOURNED;
        g_assert_cmpint(audio(st, &defence, &defendant), ==, works);
        g_assert_cmpint(video(st, &defendant, &defence), ==, works);
        g_assert_false(audio(st, &judge, &defendant));
        g_assert_false(audio(st, &defendant, &judge));
        g_assert_false(audio(st, &clerk, &defence));
        g_assert_false(audio(st, &prosecution, &defendant));
        g_assert_false(video(st, &defence, &prosecution));
        for (unsigned k = 0; k < VEJ_MEDIA_N; k++) {
            g_assert_false(vej_policy_recorded(st, &defendant, k));
            g_assert_false(vej_policy_recorded(st, &defence, k));
        }
    }
}

static void
test_main_room_only_in_session(void)
{
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");
    struct vej_policy_party defence = party("ptc_f", VEJ_ROLE_DEFENCE, "main");

    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++) {
        bool on = st == VEJ_HEARING_IN_SESSION;
        g_assert_cmpint(audio(st, &defence, &judge), ==, on);
        g_assert_cmpint(video(st, &judge, &defence), ==, on);
        g_assert_cmpint(vej_policy_recorded(st, &judge, VEJ_MEDIA_AUDIO), ==, on);
        g_assert_cmpint(vej_policy_recorded(st, &defence, VEJ_MEDIA_VIDEO), ==, on);
    }
}

static void
test_observer_never_sends(void)
{
    struct vej_policy_party observer = party("ptc_o", VEJ_ROLE_OBSERVER, "main");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++) {
        for (unsigned k = 0; k < VEJ_MEDIA_N; k++) {
            g_assert_false(vej_policy_media_allowed(st, &judge, &observer, k));
            g_assert_false(vej_policy_recorded(st, &observer, k));
        }
    }
    /* but receives */
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &observer, &judge));
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &observer, &judge));
}

/* In `state`, no pair of admitted parties in any places exchanges media. */
static void
assert_nothing_flows(enum vej_hearing_state state)
{
    for (guint64 n = 0; n < P_N * P_N * VEJ_ROLE_N; n++) {
        guint64 k = n;
        const char *a = place_text[digit(&k, P_N)];
        const char *b = place_text[digit(&k, P_N)];
        struct vej_policy_party x = party("ptc_x", digit(&k, VEJ_ROLE_N), a);
        struct vej_policy_party y = party("ptc_y", VEJ_ROLE_JUDGE, b);
        x.admitted = y.admitted = true;
        for (unsigned kind = 0; kind < VEJ_MEDIA_N; kind++) {
            g_assert_false(vej_policy_media_allowed(state, &x, &y, kind));
            g_assert_false(vej_policy_media_allowed(state, &y, &x, kind));
            g_assert_false(vej_policy_recorded(state, &x, kind));
        }
    }
}

static void
test_closed_carries_nothing(void)
{
    assert_nothing_flows(VEJ_HEARING_CLOSED);
}

static void
test_scheduled_carries_nothing(void)
{
    assert_nothing_flows(VEJ_HEARING_SCHEDULED);
}

static void
test_lobby_never_carries_media(void)
{
    struct vej_policy_party a = party("ptc_a", VEJ_ROLE_DEFENDANT, "lobby");
    struct vej_policy_party b = party("ptc_b", VEJ_ROLE_JUDGE, "lobby");

    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++) {
        a.admitted = b.admitted = false;
        g_assert_false(audio(st, &a, &b));
        a.admitted = b.admitted = true; /* even if the flags say otherwise */
        g_assert_false(audio(st, &a, &b));
        g_assert_false(video(st, &b, &a));
    }
}

static void
test_not_admitted_neither_sends_nor_receives(void)
{
    struct vej_policy_party waiting = party("ptc_w", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    waiting.admitted = false;
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &judge, &waiting));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &waiting, &judge));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &waiting, VEJ_MEDIA_AUDIO));
}

static void
test_nothing_flows_to_oneself(void)
{
    struct vej_policy_party me = party("ptc_me", VEJ_ROLE_JUDGE, "main");
    struct vej_policy_party me_again = party("ptc_me", VEJ_ROLE_JUDGE, "main");

    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &me, &me));
    g_assert_false(video(VEJ_HEARING_IN_SESSION, &me, &me_again));
    /* Two parties without ids are two parties. */
    me.participant_id = me_again.participant_id = NULL;
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &me, &me_again));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &me, &me));
}

static void
test_muted_kind_does_not_flow(void)
{
    struct vej_policy_party defendant = party("ptc_d", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    defendant.muted[VEJ_MEDIA_AUDIO] = true;
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &judge, &defendant));
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &judge, &defendant));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &defendant, VEJ_MEDIA_AUDIO));
    g_assert_true(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &defendant, VEJ_MEDIA_VIDEO));
    /* A muted receiver still receives. */
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &defendant, &judge));
}

static void
test_audio_only_sends_no_video(void)
{
    struct vej_policy_party witness = party("ptc_w", VEJ_ROLE_WITNESS, "main");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    witness.audio_only = true;
    g_assert_false(video(VEJ_HEARING_IN_SESSION, &judge, &witness));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &judge, &witness));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &witness, VEJ_MEDIA_VIDEO));
    g_assert_true(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &witness, VEJ_MEDIA_AUDIO));
    /* and still sees the judge */
    g_assert_true(video(VEJ_HEARING_IN_SESSION, &witness, &judge));
}

static void
test_visibility_rules(void)
{
    static const char *const from_defendant[] = {"defendant"};
    static const char *const from_judge[] = {"judge"};
    struct vej_policy_party waiting = party("ptc_l", VEJ_ROLE_DEFENDANT, "lobby");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");
    struct vej_policy_party clerk = party("ptc_c", VEJ_ROLE_CLERK, "main");
    struct vej_policy_party prosecution = party("ptc_p", VEJ_ROLE_PROSECUTION, "main");
    struct vej_policy_party defendant = party("ptc_d", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party witness = party("ptc_w", VEJ_ROLE_WITNESS, "main");

    for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++) {
        /* The lobby sees nobody but itself. */
        g_assert_cmpint(vej_policy_visibility(st, &waiting, &judge), ==, VEJ_VISIBILITY_HIDDEN);
        g_assert_cmpint(vej_policy_visibility(st, &waiting, &waiting), ==, VEJ_VISIBILITY_FULL);
        /* Clerks and judges see who waits; nobody else does. */
        g_assert_cmpint(vej_policy_visibility(st, &clerk, &waiting), ==, VEJ_VISIBILITY_FULL);
        g_assert_cmpint(vej_policy_visibility(st, &judge, &waiting), ==, VEJ_VISIBILITY_FULL);
        g_assert_cmpint(vej_policy_visibility(st, &prosecution, &waiting), ==,
                        VEJ_VISIBILITY_HIDDEN);
        /* Screened: by role only; screened and anonymous: hidden. */
        witness.screened_from = from_defendant;
        witness.n_screened_from = 1;
        witness.anonymous = false;
        g_assert_cmpint(vej_policy_visibility(st, &defendant, &witness), ==,
                        VEJ_VISIBILITY_ROLE_ONLY);
        g_assert_cmpint(vej_policy_visibility(st, &prosecution, &witness), ==, VEJ_VISIBILITY_FULL);
        witness.anonymous = true;
        g_assert_cmpint(vej_policy_visibility(st, &defendant, &witness), ==, VEJ_VISIBILITY_HIDDEN);
        /* Anonymous: role only, except to clerks and judges. */
        g_assert_cmpint(vej_policy_visibility(st, &prosecution, &witness), ==,
                        VEJ_VISIBILITY_ROLE_ONLY);
        g_assert_cmpint(vej_policy_visibility(st, &judge, &witness), ==, VEJ_VISIBILITY_FULL);
        g_assert_cmpint(vej_policy_visibility(st, &clerk, &witness), ==, VEJ_VISIBILITY_FULL);
        /* Screening comes before the clerk-and-judge exception. */
        witness.screened_from = from_judge;
        g_assert_cmpint(vej_policy_visibility(st, &judge, &witness), ==, VEJ_VISIBILITY_HIDDEN);
        g_assert_cmpint(vej_policy_visibility(st, &clerk, &witness), ==, VEJ_VISIBILITY_FULL);
        /* Everyone else is seen in full, whatever the room. */
        g_assert_cmpint(vej_policy_visibility(st, &defendant, &judge), ==, VEJ_VISIBILITY_FULL);
    }
}

static void
test_domain_sets(void)
{
    struct vej_policy_party interpreter = party("ptc_i", VEJ_ROLE_INTERPRETER, "main");
    struct vej_policy_party defendant = party("ptc_d", VEJ_ROLE_DEFENDANT, "consultation:a");
    struct vej_policy_party judge = party("ptc_j", VEJ_ROLE_JUDGE, "main");

    interpreter.domains[1] = "consultation:a";
    interpreter.n_domains = 2;
    /* The shared consultation carries media while the main room is idle. */
    g_assert_true(audio(VEJ_HEARING_OPEN, &defendant, &interpreter));
    g_assert_false(audio(VEJ_HEARING_OPEN, &judge, &interpreter));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &judge, &interpreter));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &interpreter, &defendant));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &judge, &defendant));
    g_assert_true(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &interpreter, VEJ_MEDIA_AUDIO));
    /* n_domains past the array is clamped; NULL entries are skipped. */
    interpreter.domains[1] = NULL;
    interpreter.n_domains = 99;
    g_assert_false(audio(VEJ_HEARING_OPEN, &defendant, &interpreter));
    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &judge, &interpreter));
}

static void
test_invalid_domains_carry_nothing(void)
{
    static const char *const bad[] = {
        "consultation:",   "MAIN", "Main", "consultation:A", "consultation:a/b", "main ", "",
        "consultation:..", "room"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct vej_policy_party a = party("ptc_a", VEJ_ROLE_DEFENDANT, bad[i]);
        struct vej_policy_party b = party("ptc_b", VEJ_ROLE_DEFENCE, bad[i]);
        a.admitted = b.admitted = true;
        for (unsigned st = 0; st < VEJ_HEARING_N_STATES; st++)
            g_assert_false(audio(st, &a, &b));
    }
}

static void
test_deny_by_default(void)
{
    struct vej_policy_party a = party("ptc_a", VEJ_ROLE_DEFENDANT, "main");
    struct vej_policy_party b = party("ptc_b", VEJ_ROLE_JUDGE, "main");

    g_assert_true(audio(VEJ_HEARING_IN_SESSION, &a, &b));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, NULL, &b));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &a, NULL));
    g_assert_false(vej_policy_media_allowed(VEJ_HEARING_N_STATES, &a, &b, VEJ_MEDIA_AUDIO));
    g_assert_false(vej_policy_media_allowed(VEJ_HEARING_IN_SESSION, &a, &b, VEJ_MEDIA_N));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, NULL, VEJ_MEDIA_AUDIO));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &b, VEJ_MEDIA_N));
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_OPEN, NULL, &b), ==, VEJ_VISIBILITY_HIDDEN);
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_OPEN, &a, NULL), ==, VEJ_VISIBILITY_HIDDEN);
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_N_STATES, &a, &b), ==, VEJ_VISIBILITY_HIDDEN);
    b.role = VEJ_ROLE_N;
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &a, &b));
    g_assert_false(audio(VEJ_HEARING_IN_SESSION, &b, &a));
    g_assert_false(vej_policy_recorded(VEJ_HEARING_IN_SESSION, &b, VEJ_MEDIA_AUDIO));
    g_assert_cmpint(vej_policy_visibility(VEJ_HEARING_OPEN, &a, &b), ==, VEJ_VISIBILITY_HIDDEN);
    g_assert_false(vej_policy_screens(NULL, &a));
    g_assert_false(vej_policy_screens(&a, NULL));
    /* screened_from NULL with a count, NULL entries: no screening. */
    a.n_screened_from = 3;
    g_assert_false(vej_policy_screens(&a, &b));
    {
        static const char *const holes[] = {NULL, "judge"};
        struct vej_policy_party j = party("ptc_j", VEJ_ROLE_JUDGE, "main");
        a.screened_from = holes;
        a.n_screened_from = 2;
        g_assert_true(vej_policy_screens(&a, &j));
    }
}

static void
test_transitions(void)
{
    /* rows: from; columns: to (scheduled, open, in_session, adjourned, closed) */
    static const bool table[VEJ_HEARING_N_STATES][VEJ_HEARING_N_STATES] = {
        {false, true, false, false, true},   /* scheduled */
        {false, false, true, false, true},   /* open */
        {false, false, false, true, true},   /* in_session */
        {false, false, true, false, true},   /* adjourned */
        {false, false, false, false, false}, /* closed */
    };
    for (unsigned f = 0; f < VEJ_HEARING_N_STATES; f++)
        for (unsigned t = 0; t < VEJ_HEARING_N_STATES; t++)
            g_assert_cmpint(vej_hearing_transition_allowed(f, t), ==, table[f][t]);
    g_assert_false(vej_hearing_transition_allowed(VEJ_HEARING_N_STATES, VEJ_HEARING_CLOSED));
    g_assert_false(vej_hearing_transition_allowed(VEJ_HEARING_OPEN, VEJ_HEARING_N_STATES));
}

static void
test_names(void)
{
    static const char *const states[] = {"scheduled", "open", "in_session", "adjourned", "closed"};
    static const char *const roles[] = {"judge",       "clerk",   "defendant", "custody_officer",
                                        "prosecution", "defence", "witness",   "interpreter",
                                        "probation",   "observer"};
    static const char *const unknown[] = {"",       "Judge", "in session", "IN_SESSION",
                                          "judge ", "admin", "evidential", "closed\n"};
    enum vej_hearing_state s;
    enum vej_role r;

    for (unsigned i = 0; i < VEJ_HEARING_N_STATES; i++) {
        g_assert_cmpstr(vej_hearing_state_name(i), ==, states[i]);
        g_assert_true(vej_hearing_state_parse(states[i], &s));
        g_assert_cmpint(s, ==, i);
    }
    for (unsigned i = 0; i < VEJ_ROLE_N; i++) {
        g_assert_cmpstr(vej_role_name(i), ==, roles[i]);
        g_assert_true(vej_role_parse(roles[i], &r));
        g_assert_cmpint(r, ==, i);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++) {
        g_assert_false(vej_hearing_state_parse(unknown[i], &s));
        g_assert_false(vej_role_parse(unknown[i], &r));
    }
    g_assert_false(vej_hearing_state_parse(NULL, &s));
    g_assert_false(vej_role_parse(NULL, &r));
    g_assert_null(vej_hearing_state_name(VEJ_HEARING_N_STATES));
    g_assert_null(vej_role_name(VEJ_ROLE_N));
    g_assert_null(vej_role_name((enum vej_role) - 1));
}

static void
test_place_valid(void)
{
    g_autofree char *n32 = g_strdup_printf("consultation:%s", "abcdefghijklmnopqrstuvwxyz012345");
    g_autofree char *n33 = g_strdup_printf("%s6", n32);
    static const char *const good[] = {"lobby",          "main",
                                       "consultation:a", "consultation:a-b_c9",
                                       "consultation:-", "consultation:_"};
    static const char *const bad[] = {
        "",
        "Lobby",
        "MAIN",
        "main ",
        " main",
        "consultation",
        "consultation:",
        "consultation:A",
        "consultation:a/b",
        "consultation:..",
        "consultation:../main",
        "consultation:a.b",
        "consultation:a\n",
        "consultation::a",
        "lobby:x",
        "Consultation:a",
        "consultation:caf\xc3\xa9",
        "consultation: a",
    };

    g_assert_cmpuint(strlen(n32), ==, VEJ_PLACE_MAX - 1);
    g_assert_true(vej_place_valid(n32));
    g_assert_false(vej_place_valid(n33));
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        g_assert_true(vej_place_valid(good[i]));
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        if (vej_place_valid(bad[i]))
            g_error("place \"%s\" accepted", bad[i]);
    g_assert_false(vej_place_valid(NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/signalling/policy/exhaustive", test_exhaustive);
    g_test_add_func("/signalling/policy/exhaustive-self", test_exhaustive_self);
    g_test_add_func(
        "/signalling/policy/screened-witness-video-never-reaches-defendant-but-audio-does",
        test_screened_witness_video_never_reaches_defendant_but_audio_does);
    g_test_add_func("/signalling/policy/screening-by-participant-id",
                    test_screening_by_participant_id);
    g_test_add_func("/signalling/policy/screening-does-not-stop-recording",
                    test_screening_does_not_stop_recording);
    g_test_add_func("/signalling/policy/consultation-isolated-from-main-and-other-consultation",
                    test_consultation_isolated_from_main_and_from_other_consultation);
    g_test_add_func("/signalling/policy/main-room-only-in-session", test_main_room_only_in_session);
    g_test_add_func("/signalling/policy/observer-never-sends", test_observer_never_sends);
    g_test_add_func("/signalling/policy/closed-carries-nothing", test_closed_carries_nothing);
    g_test_add_func("/signalling/policy/scheduled-carries-nothing", test_scheduled_carries_nothing);
    g_test_add_func("/signalling/policy/lobby-never-carries-media", test_lobby_never_carries_media);
    g_test_add_func("/signalling/policy/not-admitted-neither-sends-nor-receives",
                    test_not_admitted_neither_sends_nor_receives);
    g_test_add_func("/signalling/policy/nothing-flows-to-oneself", test_nothing_flows_to_oneself);
    g_test_add_func("/signalling/policy/muted-kind-does-not-flow", test_muted_kind_does_not_flow);
    g_test_add_func("/signalling/policy/audio-only-sends-no-video", test_audio_only_sends_no_video);
    g_test_add_func("/signalling/policy/visibility-rules", test_visibility_rules);
    g_test_add_func("/signalling/policy/domain-sets", test_domain_sets);
    g_test_add_func("/signalling/policy/invalid-domains-carry-nothing",
                    test_invalid_domains_carry_nothing);
    g_test_add_func("/signalling/policy/deny-by-default", test_deny_by_default);
    g_test_add_func("/signalling/policy/transitions", test_transitions);
    g_test_add_func("/signalling/policy/names", test_names);
    g_test_add_func("/signalling/policy/place-valid", test_place_valid);
    return g_test_run();
}
