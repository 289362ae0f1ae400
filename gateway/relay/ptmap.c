/* ptmap.c - the payload types of one subscribe PC.
 *
 * Publishers number their codecs as they like (Chromium, Firefox and
 * webrtcbin differ, H.264 profiles take several numbers). A subscribe PC
 * is one BUNDLE group, where a payload type has one meaning across all
 * m-lines, so the gateway numbers codecs itself per subscribe PC and the
 * router rewrites the PT (and the RTX PT) of every copy.
 *
 * Invariants: within one map a codec with its fmtp has one PT, a PT one
 * codec with its fmtp, and an RTX PT belongs to one video entry and is
 * never a media PT. Entries are never removed or renumbered (the PC's
 * earlier offers stay true). 96 is kept for VP8 and 111 for Opus (the
 * numbers inactive m-lines offer); other codecs and variants take the
 * lowest free dynamic PTs. Plain C: no GLib, no globals.
 */
#include "gateway/relay/relay-priv.h"

#include <string.h>

#define PT_VP8 96
#define PT_VP8_RTX 97
#define PT_OPUS 111
#define PT_H264 102
#define PT_H264_RTX 103

static bool
pt_used(const struct vej_pt_map *m, unsigned pt)
{
    if (pt == PT_VP8 || pt == PT_OPUS || pt == PT_VP8_RTX)
        return true; /* reserved: see above */
    for (unsigned i = 0; i < m->n; i++)
        if (m->e[i].pt == pt || (m->e[i].rtx_pt && m->e[i].rtx_pt == pt))
            return true;
    return false;
}

static uint8_t
pt_free(const struct vej_pt_map *m, unsigned preferred)
{
    if (preferred && !pt_used(m, preferred))
        return (uint8_t)preferred;
    for (unsigned pt = 96; pt <= 127; pt++)
        if (!pt_used(m, pt))
            return (uint8_t)pt;
    return 0;
}

static bool
reserved_free(const struct vej_pt_map *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->e[i].pt == pt || m->e[i].rtx_pt == pt)
            return false;
    return true;
}

const struct vej_pt_entry *
vej__ptmap_get(struct vej_pt_map *m, enum vej_sdp_codec codec, const char *fmtp)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->e[i].codec == codec && strcmp(m->e[i].fmtp, fmtp) == 0)
            return &m->e[i];
    if (m->n >= VEJ_PT_MAP_MAX || strlen(fmtp) >= sizeof m->e[0].fmtp)
        return NULL;
    struct vej_pt_entry e = {.codec = codec};
    memcpy(e.fmtp, fmtp, strlen(fmtp) + 1);
    bool video = codec != VEJ_SDP_CODEC_OPUS;
    if (codec == VEJ_SDP_CODEC_VP8 && reserved_free(m, PT_VP8)) {
        e.pt = PT_VP8;
        e.rtx_pt = PT_VP8_RTX;
    } else if (codec == VEJ_SDP_CODEC_OPUS && reserved_free(m, PT_OPUS)) {
        e.pt = PT_OPUS;
    } else {
        e.pt = pt_free(m, codec == VEJ_SDP_CODEC_H264 ? PT_H264 : 0);
        if (!e.pt)
            return NULL;
        if (video) {
            m->e[m->n] = e; /* so that the RTX PT differs from it */
            m->n++;
            e.rtx_pt = pt_free(m, codec == VEJ_SDP_CODEC_H264 && e.pt == PT_H264 ? PT_H264_RTX : 0);
            m->n--;
        }
    }
    m->e[m->n] = e;
    return &m->e[m->n++];
}
