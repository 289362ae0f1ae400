/* policy.h - the court's media policy as a pure function.
 *
 * Plain C, no globals, no allocation. Given the hearing state and two
 * participants, it answers whether `sender`'s audio or video may reach
 * `receiver`, how `receiver` may see `sender` in the roster, and whether the
 * recorder captures `sender`. The hearing logic calls it on every change;
 * the media relay enforces the answer per packet. The rules are listed in
 * docs/protocol.md ("Media policy") and tested exhaustively in
 * tests/unit/signalling/policy.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum vej_hearing_state {
    VEJ_HEARING_SCHEDULED,
    VEJ_HEARING_OPEN,
    VEJ_HEARING_IN_SESSION,
    VEJ_HEARING_ADJOURNED,
    VEJ_HEARING_CLOSED,
    VEJ_HEARING_N_STATES
};

enum vej_role {
    VEJ_ROLE_JUDGE,
    VEJ_ROLE_CLERK,
    VEJ_ROLE_DEFENDANT,
    VEJ_ROLE_CUSTODY_OFFICER,
    VEJ_ROLE_PROSECUTION,
    VEJ_ROLE_DEFENCE,
    VEJ_ROLE_WITNESS,
    VEJ_ROLE_INTERPRETER,
    VEJ_ROLE_PROBATION,
    VEJ_ROLE_OBSERVER,
    VEJ_ROLE_N
};

enum vej_media_kind { VEJ_MEDIA_AUDIO, VEJ_MEDIA_VIDEO, VEJ_MEDIA_N };

enum vej_visibility {
    VEJ_VISIBILITY_HIDDEN,    /* not in the roster, no notifications */
    VEJ_VISIBILITY_ROLE_ONLY, /* present with role, no name and no id */
    VEJ_VISIBILITY_FULL,
};

#define VEJ_POLICY_MAX_DOMAINS 4
/* "consultation:" + 32 characters + NUL */
#define VEJ_PLACE_MAX 46

/* One participant as the policy sees it. Every pointer is borrowed. */
struct vej_policy_party {
    const char *participant_id;
    enum vej_role role;
    /* Routing domains: "lobby", "main" or "consultation:NAME". Today a
     * participant is in exactly one; the set leaves room for an
     * interpreter's channel. */
    const char *domains[VEJ_POLICY_MAX_DOMAINS];
    size_t n_domains;
    bool admitted;                    /* false while waiting in the lobby */
    bool muted[VEJ_MEDIA_N];          /* by the clerk or judge */
    bool audio_only;                  /* special measure: publishes no video */
    bool anonymous;                   /* special measure: name withheld */
    const char *const *screened_from; /* role names or ptc_ ids */
    size_t n_screened_from;
};

/* Names <-> enums. Parsers return false for unknown names. */
const char *vej_hearing_state_name(enum vej_hearing_state s);
bool vej_hearing_state_parse(const char *name, enum vej_hearing_state *out);
const char *vej_role_name(enum vej_role r);
bool vej_role_parse(const char *name, enum vej_role *out);

/* PROTOCOL.md transitions: scheduled -> open | closed; open -> in_session |
 * closed; in_session -> adjourned | closed; adjourned -> in_session |
 * closed. Everything else (including to the same state) is refused. */
bool vej_hearing_transition_allowed(enum vej_hearing_state from, enum vej_hearing_state to);

/* True for "lobby", "main" and "consultation:NAME" with NAME matching
 * [a-z0-9_-]{1,32}. */
bool vej_place_valid(const char *place);

/* True when `sender` screens its video from `receiver` (a screened_from entry
 * names receiver's role or participant id). */
bool vej_policy_screens(const struct vej_policy_party *sender,
                        const struct vej_policy_party *receiver);

/* May `sender`'s media of `kind` reach `receiver` now? */
bool vej_policy_media_allowed(enum vej_hearing_state state, const struct vej_policy_party *receiver,
                              const struct vej_policy_party *sender, enum vej_media_kind kind);

/* How `receiver` sees `sender` in the roster and notifications. */
enum vej_visibility vej_policy_visibility(enum vej_hearing_state state,
                                          const struct vej_policy_party *receiver,
                                          const struct vej_policy_party *sender);

/* Does the recorder capture `sender`'s media of `kind` now? Exactly the
 * main-room media that may flow at all: consultations are never recorded. */
bool vej_policy_recorded(enum vej_hearing_state state, const struct vej_policy_party *sender,
                         enum vej_media_kind kind);
