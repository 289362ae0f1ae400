/* policy.c - the court's media policy as a pure function.
 *
 * These are the court's rules. tests/unit/signalling/policy.c checks them
 * against an independently written oracle over every combination, and
 * docs/protocol.md ("Media policy") states them for clients.
 *
 * Media (vej_policy_media_allowed): sender's media of a kind reaches
 * receiver only when all of these hold:
 *   M1  nothing flows to oneself (same party, or the same participant id);
 *   M2  nothing flows while the hearing is `scheduled` or `closed`;
 *   M3  sender and receiver are both admitted;
 *   M4  they share a routing domain that carries media in this state:
 *       "main" only while `in_session`; a "consultation:NAME" while `open`,
 *       `in_session` or `adjourned`; "lobby" never. A domain that is not a
 *       valid place (vej_place_valid) is no domain at all;
 *   M5  the sender is not an observer (observers never send);
 *   M6  the kind is not muted for the sender;
 *   M7  an `audio_only` sender sends no video;
 *   M8  video does not flow to a receiver the sender screens (a
 *       `screened_from` entry equal to the receiver's role name or
 *       participant id); audio still does.
 *
 * Recording (vej_policy_recorded): the sender is admitted, in "main", the
 * hearing is `in_session`, the sender is not an observer, the kind is not
 * muted and not (video and audio_only). Consultation media is never
 * recorded. Screening does not stop recording: the court records everything
 * said in the main room.
 *
 * Visibility (vej_policy_visibility), for the roster and notifications; the
 * first rule that applies wins:
 *   V1  oneself: FULL;
 *   V2  a receiver that is not admitted (in the lobby) sees nobody: HIDDEN;
 *   V3  a sender that is not admitted is FULL to admitted clerks and judges,
 *       HIDDEN to everyone else;
 *   V4  a sender that screens the receiver is HIDDEN when anonymous, else
 *       ROLE_ONLY;
 *   V5  an anonymous sender is FULL to clerks and judges, ROLE_ONLY to
 *       everyone else;
 *   V6  otherwise FULL.
 *   The hearing state does not change visibility.
 *
 * Deny by default: a NULL party, or a state, role or kind outside its enum,
 * allows no media, no recording and is HIDDEN.
 */
#include "signalling/policy.h"

#include <string.h>

#define CONSULTATION_PREFIX "consultation:"
#define CONSULTATION_PREFIX_LEN (sizeof CONSULTATION_PREFIX - 1)
#define PLACE_NAME_MAX 32

static const char *const state_names[VEJ_HEARING_N_STATES] = {
    [VEJ_HEARING_SCHEDULED] = "scheduled",   [VEJ_HEARING_OPEN] = "open",
    [VEJ_HEARING_IN_SESSION] = "in_session", [VEJ_HEARING_ADJOURNED] = "adjourned",
    [VEJ_HEARING_CLOSED] = "closed",
};

static const char *const role_names[VEJ_ROLE_N] = {
    [VEJ_ROLE_JUDGE] = "judge",
    [VEJ_ROLE_CLERK] = "clerk",
    [VEJ_ROLE_DEFENDANT] = "defendant",
    [VEJ_ROLE_CUSTODY_OFFICER] = "custody_officer",
    [VEJ_ROLE_PROSECUTION] = "prosecution",
    [VEJ_ROLE_DEFENCE] = "defence",
    [VEJ_ROLE_WITNESS] = "witness",
    [VEJ_ROLE_INTERPRETER] = "interpreter",
    [VEJ_ROLE_PROBATION] = "probation",
    [VEJ_ROLE_OBSERVER] = "observer",
};

/* transitions[from][to] */
static const bool transitions[VEJ_HEARING_N_STATES][VEJ_HEARING_N_STATES] = {
    [VEJ_HEARING_SCHEDULED] = {[VEJ_HEARING_OPEN] = true, [VEJ_HEARING_CLOSED] = true},
    [VEJ_HEARING_OPEN] = {[VEJ_HEARING_IN_SESSION] = true, [VEJ_HEARING_CLOSED] = true},
    [VEJ_HEARING_IN_SESSION] = {[VEJ_HEARING_ADJOURNED] = true, [VEJ_HEARING_CLOSED] = true},
    [VEJ_HEARING_ADJOURNED] = {[VEJ_HEARING_IN_SESSION] = true, [VEJ_HEARING_CLOSED] = true},
};

const char *
vej_hearing_state_name(enum vej_hearing_state s)
{
    return (unsigned)s < VEJ_HEARING_N_STATES ? state_names[s] : NULL;
}

bool
vej_hearing_state_parse(const char *name, enum vej_hearing_state *out)
{
    if (!name)
        return false;
    for (unsigned i = 0; i < VEJ_HEARING_N_STATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            if (out)
                *out = (enum vej_hearing_state)i;
            return true;
        }
    }
    return false;
}

const char *
vej_role_name(enum vej_role r)
{
    return (unsigned)r < VEJ_ROLE_N ? role_names[r] : NULL;
}

bool
vej_role_parse(const char *name, enum vej_role *out)
{
    if (!name)
        return false;
    for (unsigned i = 0; i < VEJ_ROLE_N; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            if (out)
                *out = (enum vej_role)i;
            return true;
        }
    }
    return false;
}

bool
vej_hearing_transition_allowed(enum vej_hearing_state from, enum vej_hearing_state to)
{
    if ((unsigned)from >= VEJ_HEARING_N_STATES || (unsigned)to >= VEJ_HEARING_N_STATES)
        return false;
    return transitions[from][to];
}

bool
vej_place_valid(const char *place)
{
    size_t n;

    if (!place)
        return false;
    if (strcmp(place, "lobby") == 0 || strcmp(place, "main") == 0)
        return true;
    if (strncmp(place, CONSULTATION_PREFIX, CONSULTATION_PREFIX_LEN) != 0)
        return false;
    place += CONSULTATION_PREFIX_LEN;
    for (n = 0; place[n] != '\0'; n++) {
        char c = place[n];
        if (n >= PLACE_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return n >= 1;
}

/* ---- the policy ------------------------------------------------------- */

static bool
party_valid(const struct vej_policy_party *p)
{
    return p && (unsigned)p->role < VEJ_ROLE_N;
}

static bool
same_party(const struct vej_policy_party *a, const struct vej_policy_party *b)
{
    return a == b || (a->participant_id && b->participant_id &&
                      strcmp(a->participant_id, b->participant_id) == 0);
}

static size_t
n_domains(const struct vej_policy_party *p)
{
    return p->n_domains < VEJ_POLICY_MAX_DOMAINS ? p->n_domains : VEJ_POLICY_MAX_DOMAINS;
}

static bool
in_domain(const struct vej_policy_party *p, const char *domain)
{
    for (size_t i = 0; i < n_domains(p); i++)
        if (p->domains[i] && strcmp(p->domains[i], domain) == 0)
            return true;
    return false;
}

/* Rule M4 for one domain. */
static bool
domain_carries_media(const char *domain, enum vej_hearing_state state)
{
    if (!vej_place_valid(domain))
        return false;
    if (strcmp(domain, "main") == 0)
        return state == VEJ_HEARING_IN_SESSION;
    if (strncmp(domain, CONSULTATION_PREFIX, CONSULTATION_PREFIX_LEN) == 0)
        return state == VEJ_HEARING_OPEN || state == VEJ_HEARING_IN_SESSION ||
               state == VEJ_HEARING_ADJOURNED;
    return false; /* "lobby" */
}

static bool
share_media_domain(const struct vej_policy_party *a, const struct vej_policy_party *b,
                   enum vej_hearing_state state)
{
    for (size_t i = 0; i < n_domains(a); i++) {
        const char *d = a->domains[i];
        if (d && domain_carries_media(d, state) && in_domain(b, d))
            return true;
    }
    return false;
}

bool
vej_policy_screens(const struct vej_policy_party *sender, const struct vej_policy_party *receiver)
{
    const char *role;

    if (!sender || !receiver || !sender->screened_from)
        return false;
    role = vej_role_name(receiver->role);
    for (size_t i = 0; i < sender->n_screened_from; i++) {
        const char *entry = sender->screened_from[i];
        if (!entry)
            continue;
        if ((role && strcmp(entry, role) == 0) ||
            (receiver->participant_id && strcmp(entry, receiver->participant_id) == 0))
            return true;
    }
    return false;
}

/* Rules M5-M7 and their recording twins: may the sender publish this kind at
 * all? */
static bool
sender_sends(const struct vej_policy_party *sender, enum vej_media_kind kind)
{
    if (sender->role == VEJ_ROLE_OBSERVER || sender->muted[kind])
        return false;
    return !(kind == VEJ_MEDIA_VIDEO && sender->audio_only);
}

bool
vej_policy_media_allowed(enum vej_hearing_state state, const struct vej_policy_party *receiver,
                         const struct vej_policy_party *sender, enum vej_media_kind kind)
{
    if (!party_valid(receiver) || !party_valid(sender) || (unsigned)kind >= VEJ_MEDIA_N ||
        (unsigned)state >= VEJ_HEARING_N_STATES)
        return false;
    if (same_party(receiver, sender)) /* M1 */
        return false;
    if (state == VEJ_HEARING_SCHEDULED || state == VEJ_HEARING_CLOSED) /* M2 */
        return false;
    if (!sender->admitted || !receiver->admitted) /* M3 */
        return false;
    if (!share_media_domain(sender, receiver, state)) /* M4 */
        return false;
    if (!sender_sends(sender, kind)) /* M5-M7 */
        return false;
    return !(kind == VEJ_MEDIA_VIDEO && vej_policy_screens(sender, receiver)); /* M8 */
}

bool
vej_policy_recorded(enum vej_hearing_state state, const struct vej_policy_party *sender,
                    enum vej_media_kind kind)
{
    if (!party_valid(sender) || (unsigned)kind >= VEJ_MEDIA_N)
        return false;
    return state == VEJ_HEARING_IN_SESSION && sender->admitted && in_domain(sender, "main") &&
           sender_sends(sender, kind);
}

static bool
presides(const struct vej_policy_party *p)
{
    return p->role == VEJ_ROLE_CLERK || p->role == VEJ_ROLE_JUDGE;
}

enum vej_visibility
vej_policy_visibility(enum vej_hearing_state state, const struct vej_policy_party *receiver,
                      const struct vej_policy_party *sender)
{
    if (!party_valid(receiver) || !party_valid(sender) || (unsigned)state >= VEJ_HEARING_N_STATES)
        return VEJ_VISIBILITY_HIDDEN;
    if (same_party(receiver, sender)) /* V1 */
        return VEJ_VISIBILITY_FULL;
    if (!receiver->admitted) /* V2 */
        return VEJ_VISIBILITY_HIDDEN;
    if (!sender->admitted) /* V3 */
        return presides(receiver) ? VEJ_VISIBILITY_FULL : VEJ_VISIBILITY_HIDDEN;
    if (vej_policy_screens(sender, receiver)) /* V4 */
        return sender->anonymous ? VEJ_VISIBILITY_HIDDEN : VEJ_VISIBILITY_ROLE_ONLY;
    if (sender->anonymous) /* V5 */
        return presides(receiver) ? VEJ_VISIBILITY_FULL : VEJ_VISIBILITY_ROLE_ONLY;
    return VEJ_VISIBILITY_FULL; /* V6 */
}
