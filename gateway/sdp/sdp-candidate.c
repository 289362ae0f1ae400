/* sdp-candidate.c - pre-validation of remote ICE candidates (RFC 8839
 * section 5.1) before libnice parses them, and the gateway's own host
 * candidates. */
#include "gateway/sdp/sdp-priv.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define CANDIDATE_PREFIX "candidate:"

static enum vej_sdp_status
bad(const char **reason, const char *why)
{
    return vej__sdp_fail(reason, VEJ_SDP_ECANDIDATE, why);
}

/* An mDNS name (RFC 8839 / draft-ietf-mmusic-mdns-ice-candidates):
 * letters, digits, '-' and '.', ending in ".local". */
static bool
is_mdns_name(const char *s)
{
    size_t n = strlen(s);

    if (n <= strlen(".local") || n > 253 || !g_str_has_suffix(s, ".local"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    }
    return true;
}

static bool
candidate_type(const char *s, enum vej_sdp_candidate_type *out)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum vej_sdp_candidate_type)i;
            return true;
        }
    }
    return false;
}

/* The pairs after "typ TYPE": raddr, rport and tcptype are checked;
 * other extension attributes (generation, ufrag, network-id, ...) pass. */
static enum vej_sdp_status
check_extensions(char **f, bool tcp, const char **reason)
{
    bool have_tcptype = false;
    uint64_t n;

    for (size_t i = 0; f[i]; i += 2) {
        if (!f[i + 1])
            return bad(reason, "a candidate extension attribute has no value");
        if (strcmp(f[i], "raddr") == 0 && !g_hostname_is_ip_address(f[i + 1]) &&
            !is_mdns_name(f[i + 1]))
            return bad(reason, "a candidate's raddr is not an address");
        if (strcmp(f[i], "rport") == 0 && !vej__sdp_parse_uint(f[i + 1], 65535, &n))
            return bad(reason, "a candidate's rport is not a port");
        if (strcmp(f[i], "tcptype") == 0) {
            if (strcmp(f[i + 1], "active") != 0 && strcmp(f[i + 1], "passive") != 0 &&
                strcmp(f[i + 1], "so") != 0)
                return bad(reason, "a candidate's tcptype is unknown");
            have_tcptype = true;
        }
    }
    if (tcp && !have_tcptype)
        return bad(reason, "a TCP candidate has no tcptype");
    return VEJ_SDP_OK;
}

/* foundation component transport priority address port "typ" type ... */
static enum vej_sdp_status
check_fields(char **f, bool allow_tcp, struct vej_sdp_candidate_info *info, const char **reason)
{
    uint64_t component, priority, port;
    bool tcp;

    if (g_strv_length(f) < 8)
        return bad(reason, "a candidate has fewer than 8 fields");
    for (size_t i = 0; f[i]; i++) {
        if (!f[i][0])
            return bad(reason, "a candidate has an empty field");
    }
    if (!vej__sdp_is_ice_chars(f[0], 1, VEJ_SDP_FOUNDATION_LEN - 1))
        return bad(reason, "a candidate's foundation is malformed");
    if (!vej__sdp_parse_uint(f[1], 256, &component) || component != 1)
        return bad(reason, "a candidate is not for component 1 (rtcp-mux)");
    tcp = g_ascii_strcasecmp(f[2], "tcp") == 0;
    if (g_ascii_strcasecmp(f[2], "udp") != 0 && !(tcp && allow_tcp))
        return bad(reason, "a candidate's transport is not UDP");
    if (!vej__sdp_parse_uint(f[3], UINT32_MAX, &priority) || priority == 0)
        return bad(reason, "a candidate's priority is not 1 to 2^32-1");
    info->mdns = is_mdns_name(f[4]);
    if (!info->mdns && (!g_hostname_is_ip_address(f[4]) || strchr(f[4], '%')))
        return bad(reason, "a candidate's address is neither an IP address nor an mDNS name");
    if (!vej__sdp_parse_uint(f[5], 65535, &port) || (port == 0 && !tcp))
        return bad(reason, "a candidate's port is not 1 to 65535");
    if (strcmp(f[6], "typ") != 0 || !candidate_type(f[7], &info->type))
        return bad(reason, "a candidate has no valid typ");
    vej__sdp_copy(info->foundation, sizeof info->foundation, f[0]);
    vej__sdp_copy(info->address, sizeof info->address, f[4]);
    info->component = (uint32_t)component;
    info->transport = tcp ? VEJ_SDP_TRANSPORT_TCP : VEJ_SDP_TRANSPORT_UDP;
    info->priority = (uint32_t)priority;
    info->port = (uint16_t)port;
    return check_extensions(f + 8, tcp, reason);
}

enum vej_sdp_status
vej_sdp_candidate_check(const char *candidate, size_t len, bool allow_tcp,
                        struct vej_sdp_candidate_info *info, const char **reason)
{
    struct vej_sdp_candidate_info scratch;
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *p = candidate;

    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (!candidate)
        return bad(reason, "no candidate given");
    if (len >= VEJ_SDP_CANDIDATE_LEN)
        return bad(reason, "a candidate is longer than the limit");
    if (len >= 2 && p[0] == 'a' && p[1] == '=') {
        p += 2;
        len -= 2;
    }
    if (len <= strlen(CANDIDATE_PREFIX) || strncmp(p, CANDIDATE_PREFIX, strlen(CANDIDATE_PREFIX)))
        return bad(reason, "a candidate does not start with \"candidate:\"");
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
            return bad(reason, "a candidate contains a control character");
    }
    if (!g_utf8_validate_len(p, len, NULL))
        return bad(reason, "a candidate is not valid UTF-8");
    text = g_strndup(p + strlen(CANDIDATE_PREFIX), len - strlen(CANDIDATE_PREFIX));
    fields = g_strsplit(text, " ", 64);
    return check_fields(fields, allow_tcp, info, reason);
}

static bool
is_numeric_ip(const char *s, size_t size)
{
    return memchr(s, '\0', size) && g_hostname_is_ip_address(s) && !strchr(s, '%');
}

int
vej_sdp_candidate_format(const struct vej_sdp_host_candidate *c, char *buf, size_t size)
{
    int n;

    if (!c || !buf || !vej__sdp_is_ice_chars(c->foundation, 1, VEJ_SDP_FOUNDATION_LEN - 1) ||
        c->port == 0 || !is_numeric_ip(c->address, sizeof c->address) ||
        (c->transport != VEJ_SDP_TRANSPORT_UDP && c->transport != VEJ_SDP_TRANSPORT_TCP))
        return VEJ_SDP_EINVAL;
    if (c->type == VEJ_SDP_CAND_SRFLX) {
        if (c->transport != VEJ_SDP_TRANSPORT_UDP ||
            !is_numeric_ip(c->related_address, sizeof c->related_address))
            return VEJ_SDP_EINVAL;
        n = snprintf(
            buf, size,
            CANDIDATE_PREFIX "%s 1 udp %" G_GUINT32_FORMAT " %s %u typ srflx raddr %s rport %u",
            c->foundation, c->priority, c->address, c->port, c->related_address, c->related_port);
    } else if (c->type != VEJ_SDP_CAND_HOST)
        return VEJ_SDP_EINVAL;
    else if (c->transport == VEJ_SDP_TRANSPORT_TCP)
        n = snprintf(buf, size,
                     CANDIDATE_PREFIX "%s 1 tcp %" G_GUINT32_FORMAT
                                      " %s %u typ host tcptype passive",
                     c->foundation, c->priority, c->address, c->port);
    else
        n = snprintf(buf, size, CANDIDATE_PREFIX "%s 1 udp %" G_GUINT32_FORMAT " %s %u typ host",
                     c->foundation, c->priority, c->address, c->port);
    if (n < 0 || (size_t)n >= size)
        return VEJ_SDP_ENOSPACE;
    return n;
}

/* The public address mapped to a host candidate's family, or NULL. */
static const char *
public_for(const struct vej_sdp_host_candidate *c, const struct vej_sdp_nat *nat)
{
    const char *pub = strchr(c->address, ':') ? nat->public_ipv6 : nat->public_ipv4;
    if (c->type != VEJ_SDP_CAND_HOST || c->transport != VEJ_SDP_TRANSPORT_UDP || !pub || !*pub)
        return NULL;
    return pub;
}

static void
make_public(const struct vej_sdp_host_candidate *host, const char *pub,
            const struct vej_sdp_nat *nat, struct vej_sdp_host_candidate *out)
{
    bool v6 = strchr(host->address, ':') != NULL;

    memset(out, 0, sizeof *out);
    /* Another foundation: another type or base (RFC 8445 5.1.1.3). libnice's
     * are decimal numbers, so a letter keeps them apart. */
    snprintf(out->foundation, sizeof out->foundation, "n%.*s", VEJ_SDP_FOUNDATION_LEN - 2,
             host->foundation);
    vej__sdp_copy(out->address, sizeof out->address, pub);
    out->port = host->port;
    out->transport = VEJ_SDP_TRANSPORT_UDP;
    if (nat->as_host) {
        /* one local preference below the private twin, same type */
        out->type = VEJ_SDP_CAND_HOST;
        out->priority = host->priority > 256 ? host->priority - 256 : 1;
        return;
    }
    /* RFC 8445 5.1.2.1: (2^24) type preference + (2^8) local preference +
     * (256 - component); 100 is libnice's own srflx type preference. */
    out->type = VEJ_SDP_CAND_SRFLX;
    out->priority = (100u << 24) | (host->priority & 0x00ffffffu);
    if (nat->hide_private) {
        vej__sdp_copy(out->related_address, sizeof out->related_address, v6 ? "::" : "0.0.0.0");
        out->related_port = 0;
    } else {
        vej__sdp_copy(out->related_address, sizeof out->related_address, host->address);
        out->related_port = host->port;
    }
}

size_t
vej_sdp_local_apply_nat(struct vej_sdp_local *local, const struct vej_sdp_nat *nat)
{
    struct vej_sdp_host_candidate out[VEJ_SDP_MAX_CANDIDATES];
    size_t n_in = MIN(local->n_candidates, (size_t)VEJ_SDP_MAX_CANDIDATES);
    size_t n = 0, added = 0;

    if (!nat)
        return 0;
    for (size_t i = 0; i < n_in && n < VEJ_SDP_MAX_CANDIDATES; i++) {
        const struct vej_sdp_host_candidate *c = &local->candidates[i];
        const char *pub = public_for(c, nat);
        if (pub && strcmp(pub, c->address) != 0) {
            make_public(c, pub, nat, &out[n++]);
            added++;
        }
    }
    for (size_t i = 0; i < n_in && n < VEJ_SDP_MAX_CANDIDATES; i++) {
        const struct vej_sdp_host_candidate *c = &local->candidates[i];
        const char *pub = public_for(c, nat);
        if (pub && nat->hide_private && strcmp(pub, c->address) != 0)
            continue;
        /* A TCP host candidate has no public twin: hidden too, or it would
         * tell the private address that hide_private keeps back. */
        const char *family_pub = strchr(c->address, ':') ? nat->public_ipv6 : nat->public_ipv4;
        if (!pub && nat->hide_private && c->transport == VEJ_SDP_TRANSPORT_TCP && family_pub &&
            *family_pub && strcmp(family_pub, c->address) != 0)
            continue;
        out[n++] = *c;
    }
    memcpy(local->candidates, out, n * sizeof out[0]);
    local->n_candidates = n;
    return added;
}
