/* rtcp.c - RTCP compound iteration, per-type parsers and writers.
 *
 * Lengths come from 16-bit fields and 5-bit counts, so every size below
 * is computed in size_t without overflow; each one is compared with what
 * remains before the bytes are touched. */
#include "gateway/wire/rtcp.h"
#include "gateway/wire/wire-priv.h"

#include <string.h>

/* Sign-extends a 24-bit two's complement value. */
static int32_t
sext24(uint32_t v)
{
    return (v & 0x800000u) ? (int32_t)(v | 0xFF000000u) : (int32_t)v;
}

const char *
vej_rtcp_status_name(int status)
{
    switch (status) {
    case VEJ_RTCP_OK:
        return "ok";
    case VEJ_RTCP_ETRUNCATED:
        return "truncated";
    case VEJ_RTCP_EVERSION:
        return "bad_version";
    case VEJ_RTCP_ELENGTH:
        return "bad_length";
    case VEJ_RTCP_EALIGN:
        return "unaligned";
    case VEJ_RTCP_EPADDING:
        return "bad_padding";
    case VEJ_RTCP_ETYPE:
        return "wrong_type";
    case VEJ_RTCP_EMALFORMED:
        return "malformed";
    case VEJ_RTCP_ENOSPACE:
        return "no_space";
    case VEJ_RTCP_EINVAL:
        return "invalid_argument";
    case VEJ_RTCP_EFIRST:
        return "not_sr_or_rr_first";
    default:
        return "unknown";
    }
}

/* --- Compound iteration --------------------------------------------------- */

void
vej_rtcp_iter_init(struct vej_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->off = 0;
    it->status = (it->len == 0 || it->len % 4 != 0) ? VEJ_RTCP_EALIGN : VEJ_RTCP_OK;
}

int
vej_rtcp_next(struct vej_rtcp_iter *it, struct vej_rtcp_packet *out)
{
    const uint8_t *p;
    size_t left, size;

    if (it->status != VEJ_RTCP_OK)
        return it->status;
    if (it->off == it->len)
        return 0;
    p = it->buf + it->off;
    left = it->len - it->off;
    if (left < VEJ_RTCP_HEADER_LEN)
        return it->status = VEJ_RTCP_ETRUNCATED;
    if (p[0] >> 6 != VEJ_RTCP_VERSION)
        return it->status = VEJ_RTCP_EVERSION;
    size = 4u * ((size_t)rd16(p + 2) + 1);
    if (size > left)
        return it->status = VEJ_RTCP_ELENGTH;
    out->padding = (p[0] & 0x20) != 0;
    out->count = p[0] & 0x1F;
    out->type = p[1];
    out->raw = p;
    out->raw_len = size;
    out->body = p + VEJ_RTCP_HEADER_LEN;
    out->body_len = size - VEJ_RTCP_HEADER_LEN;
    if (out->padding) {
        uint8_t pad = p[size - 1];
        /* RFC 3550 6.4.1 / A.2: only the last packet may be padded. */
        if (size != left || pad == 0 || pad > out->body_len)
            return it->status = VEJ_RTCP_EPADDING;
        out->body_len -= pad;
    }
    it->off += size;
    return 1;
}

enum vej_rtcp_status
vej_rtcp_validate_compound(const uint8_t *buf, size_t len, bool reduced_size)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    bool first = true;
    int r;

    vej_rtcp_iter_init(&it, buf, len);
    while ((r = vej_rtcp_next(&it, &p)) > 0) {
        if (first && !reduced_size && p.type != VEJ_RTCP_SR && p.type != VEJ_RTCP_RR)
            return VEJ_RTCP_EFIRST;
        first = false;
    }
    return (enum vej_rtcp_status)r;
}

/* --- Parsers -------------------------------------------------------------- */

/* Reads one 24-byte report block (RFC 3550 6.4.1) at p. */
static void
parse_report_block(const uint8_t *p, struct vej_rtcp_report_block *out)
{
    out->ssrc = rd32(p);
    out->fraction_lost = p[4];
    out->cumulative_lost = sext24(rd24(p + 5));
    out->highest_seq = rd32(p + 8);
    out->jitter = rd32(p + 12);
    out->lsr = rd32(p + 16);
    out->dlsr = rd32(p + 20);
}

/* Writes one 24-byte report block at p, clamping the cumulative loss to
 * the 24-bit signed range. */
static void
write_report_block(uint8_t *p, const struct vej_rtcp_report_block *b)
{
    int32_t lost = b->cumulative_lost;

    if (lost > 0x7FFFFF)
        lost = 0x7FFFFF;
    if (lost < -0x800000)
        lost = -0x800000;
    wr32(p, b->ssrc);
    wr32(p + 4, (uint32_t)b->fraction_lost << 24 | ((uint32_t)lost & 0xFFFFFFu));
    wr32(p + 8, b->highest_seq);
    wr32(p + 12, b->jitter);
    wr32(p + 16, b->lsr);
    wr32(p + 20, b->dlsr);
}

enum vej_rtcp_status
vej_rtcp_parse_sr(const struct vej_rtcp_packet *p, struct vej_rtcp_sr *out)
{
    const uint8_t *b = p->body;

    if (p->type != VEJ_RTCP_SR)
        return VEJ_RTCP_ETYPE;
    if (p->body_len < 24 + (size_t)VEJ_RTCP_REPORT_BLOCK_LEN * p->count)
        return VEJ_RTCP_ETRUNCATED;
    out->ssrc = rd32(b);
    out->ntp_time = (uint64_t)rd32(b + 4) << 32 | rd32(b + 8);
    out->rtp_time = rd32(b + 12);
    out->packet_count = rd32(b + 16);
    out->octet_count = rd32(b + 20);
    out->n_reports = p->count;
    for (size_t i = 0; i < out->n_reports; i++)
        parse_report_block(b + 24 + VEJ_RTCP_REPORT_BLOCK_LEN * i, &out->reports[i]);
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_rr(const struct vej_rtcp_packet *p, struct vej_rtcp_rr *out)
{
    if (p->type != VEJ_RTCP_RR)
        return VEJ_RTCP_ETYPE;
    if (p->body_len < 4 + (size_t)VEJ_RTCP_REPORT_BLOCK_LEN * p->count)
        return VEJ_RTCP_ETRUNCATED;
    out->ssrc = rd32(p->body);
    out->n_reports = p->count;
    for (size_t i = 0; i < out->n_reports; i++)
        parse_report_block(p->body + 4 + VEJ_RTCP_REPORT_BLOCK_LEN * i, &out->reports[i]);
    return VEJ_RTCP_OK;
}

/* Parses one SDES chunk at body[*off]; advances *off past its padding. */
static enum vej_rtcp_status
parse_sdes_chunk(const uint8_t *body, size_t len, size_t *off, struct vej_rtcp_sdes_chunk *out)
{
    size_t o = *off;

    if (len - o < 4)
        return VEJ_RTCP_ETRUNCATED;
    out->ssrc = rd32(body + o);
    out->cname = NULL;
    out->cname_len = 0;
    o += 4;
    for (;;) {
        size_t n;
        if (o >= len)
            return VEJ_RTCP_EMALFORMED; /* no null item */
        if (body[o] == VEJ_RTCP_SDES_END)
            break;
        if (len - o < 2 || len - o - 2 < body[o + 1])
            return VEJ_RTCP_ETRUNCATED;
        n = body[o + 1];
        if (body[o] == VEJ_RTCP_SDES_CNAME && !out->cname) {
            out->cname = (const char *)(body + o + 2);
            out->cname_len = n;
        }
        o += 2 + n;
    }
    /* The null item, then zeros to the next 32-bit boundary. */
    o = (o + 4) & ~(size_t)3;
    if (o > len)
        return VEJ_RTCP_EMALFORMED;
    *off = o;
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_sdes(const struct vej_rtcp_packet *p, struct vej_rtcp_sdes *out)
{
    size_t off = 0;

    if (p->type != VEJ_RTCP_SDES)
        return VEJ_RTCP_ETYPE;
    out->n_chunks = 0;
    for (size_t i = 0; i < p->count; i++) {
        enum vej_rtcp_status st = parse_sdes_chunk(p->body, p->body_len, &off, &out->chunks[i]);
        if (st != VEJ_RTCP_OK)
            return st;
        out->n_chunks++;
    }
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_bye(const struct vej_rtcp_packet *p, struct vej_rtcp_bye *out)
{
    size_t off = 4u * p->count;

    if (p->type != VEJ_RTCP_BYE)
        return VEJ_RTCP_ETYPE;
    if (p->body_len < off)
        return VEJ_RTCP_ETRUNCATED;
    out->n_ssrcs = p->count;
    for (size_t i = 0; i < out->n_ssrcs; i++)
        out->ssrcs[i] = rd32(p->body + 4 * i);
    out->reason = NULL;
    out->reason_len = 0;
    if (p->body_len > off) {
        size_t n = p->body[off];
        if (p->body_len - off - 1 < n)
            return VEJ_RTCP_ETRUNCATED;
        out->reason = (const char *)(p->body + off + 1);
        out->reason_len = n;
    }
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_fb(const struct vej_rtcp_packet *p, struct vej_rtcp_fb *out)
{
    if (p->type != VEJ_RTCP_RTPFB && p->type != VEJ_RTCP_PSFB)
        return VEJ_RTCP_ETYPE;
    if (p->body_len < 8)
        return VEJ_RTCP_ETRUNCATED;
    out->type = p->type;
    out->fmt = p->count;
    out->sender_ssrc = rd32(p->body);
    out->media_ssrc = rd32(p->body + 4);
    out->fci = p->body + 8;
    out->fci_len = p->body_len - 8;
    return VEJ_RTCP_OK;
}

/* vej_rtcp_parse_fb restricted to one (PT, FMT). */
static enum vej_rtcp_status
parse_fb_of(const struct vej_rtcp_packet *p, uint8_t type, uint8_t fmt, struct vej_rtcp_fb *out)
{
    if (p->type != type || p->count != fmt)
        return VEJ_RTCP_ETYPE;
    return vej_rtcp_parse_fb(p, out);
}

enum vej_rtcp_status
vej_rtcp_parse_nack(const struct vej_rtcp_packet *p, struct vej_rtcp_nack *out)
{
    struct vej_rtcp_fb fb;
    enum vej_rtcp_status st = parse_fb_of(p, VEJ_RTCP_RTPFB, VEJ_RTCP_RTPFB_NACK, &fb);

    if (st != VEJ_RTCP_OK)
        return st;
    if (fb.fci_len == 0 || fb.fci_len % 4 != 0)
        return VEJ_RTCP_EMALFORMED;
    out->sender_ssrc = fb.sender_ssrc;
    out->media_ssrc = fb.media_ssrc;
    out->items = fb.fci;
    out->n_items = fb.fci_len / 4;
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_tcc(const struct vej_rtcp_packet *p, struct vej_rtcp_tcc *out)
{
    struct vej_rtcp_fb fb;
    enum vej_rtcp_status st = parse_fb_of(p, VEJ_RTCP_RTPFB, VEJ_RTCP_RTPFB_TCC, &fb);

    if (st != VEJ_RTCP_OK)
        return st;
    if (fb.fci_len < 8)
        return VEJ_RTCP_ETRUNCATED;
    out->sender_ssrc = fb.sender_ssrc;
    out->media_ssrc = fb.media_ssrc;
    out->base_seq = rd16(fb.fci);
    out->status_count = rd16(fb.fci + 2);
    out->reference_time = sext24(rd24(fb.fci + 4));
    out->fb_count = fb.fci[7];
    out->chunks = fb.fci + 8;
    out->chunks_len = fb.fci_len - 8;
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_pli(const struct vej_rtcp_packet *p, struct vej_rtcp_fb *out)
{
    return parse_fb_of(p, VEJ_RTCP_PSFB, VEJ_RTCP_PSFB_PLI, out);
}

enum vej_rtcp_status
vej_rtcp_parse_fir(const struct vej_rtcp_packet *p, struct vej_rtcp_fir *out)
{
    struct vej_rtcp_fb fb;
    enum vej_rtcp_status st = parse_fb_of(p, VEJ_RTCP_PSFB, VEJ_RTCP_PSFB_FIR, &fb);

    if (st != VEJ_RTCP_OK)
        return st;
    if (fb.fci_len == 0 || fb.fci_len % 8 != 0)
        return VEJ_RTCP_EMALFORMED;
    out->sender_ssrc = fb.sender_ssrc;
    out->media_ssrc = fb.media_ssrc;
    out->entries = fb.fci;
    out->n_entries = fb.fci_len / 8;
    return VEJ_RTCP_OK;
}

enum vej_rtcp_status
vej_rtcp_parse_remb(const struct vej_rtcp_packet *p, struct vej_rtcp_remb *out)
{
    struct vej_rtcp_fb fb;
    enum vej_rtcp_status st = parse_fb_of(p, VEJ_RTCP_PSFB, VEJ_RTCP_PSFB_AFB, &fb);
    uint32_t v;

    if (st != VEJ_RTCP_OK)
        return st;
    if (fb.fci_len < 4 || memcmp(fb.fci, "REMB", 4) != 0)
        return VEJ_RTCP_ETYPE;
    if (fb.fci_len < 8)
        return VEJ_RTCP_ETRUNCATED;
    out->sender_ssrc = fb.sender_ssrc;
    out->n_ssrcs = fb.fci[4];
    if (fb.fci_len - 8 < 4 * out->n_ssrcs)
        return VEJ_RTCP_ETRUNCATED;
    v = rd24(fb.fci + 5);
    out->exp = (uint8_t)(v >> 18);
    out->mantissa = v & 0x3FFFFu;
    /* mantissa < 2^18: only exp > 46 can push bits out of 64. */
    if (out->exp > 46 && (out->mantissa >> (64 - out->exp)) != 0)
        out->bitrate = UINT64_MAX;
    else
        out->bitrate = (uint64_t)out->mantissa << out->exp;
    out->ssrcs = fb.fci + 8;
    return VEJ_RTCP_OK;
}

bool
vej_rtcp_nack_item(const struct vej_rtcp_nack *nack, size_t i, uint16_t *pid, uint16_t *blp)
{
    if (i >= nack->n_items)
        return false;
    *pid = rd16(nack->items + 4 * i);
    *blp = rd16(nack->items + 4 * i + 2);
    return true;
}

size_t
vej_rtcp_nack_expand(const struct vej_rtcp_nack *nack, uint16_t *seqs, size_t cap)
{
    size_t n = 0;
    uint16_t pid, blp;

    for (size_t i = 0; vej_rtcp_nack_item(nack, i, &pid, &blp); i++) {
        if (n == cap)
            return n;
        seqs[n++] = pid;
        for (unsigned bit = 0; bit < 16; bit++) {
            if (!(blp & (1u << bit)))
                continue;
            if (n == cap)
                return n;
            seqs[n++] = (uint16_t)(pid + bit + 1);
        }
    }
    return n;
}

struct vej_rtcp_fir_entry
vej_rtcp_fir_entry_at(const struct vej_rtcp_fir *fir, size_t i)
{
    struct vej_rtcp_fir_entry e = {0, 0};

    if (i < fir->n_entries) {
        e.ssrc = rd32(fir->entries + 8 * i);
        e.seq = fir->entries[8 * i + 4];
    }
    return e;
}

uint32_t
vej_rtcp_remb_ssrc(const struct vej_rtcp_remb *remb, size_t i)
{
    return i < remb->n_ssrcs ? rd32(remb->ssrcs + 4 * i) : 0;
}

/* --- Writers -------------------------------------------------------------- */

/* Checks that a sub-packet of `size` bytes fits out and the length field. */
static enum vej_rtcp_status
check_room(const uint8_t *out, size_t cap, size_t size)
{
    if (size > VEJ_RTCP_MAX_PACKET)
        return VEJ_RTCP_EINVAL;
    if (!out || cap < size)
        return VEJ_RTCP_ENOSPACE;
    return VEJ_RTCP_OK;
}

/* Writes a common header for a sub-packet of `size` bytes (multiple of 4). */
static void
write_header(uint8_t *out, uint8_t count, uint8_t type, size_t size)
{
    out[0] = (uint8_t)(VEJ_RTCP_VERSION << 6 | (count & 0x1F));
    out[1] = type;
    wr16(out + 2, (uint16_t)(size / 4 - 1));
}

long
vej_rtcp_write_sr(uint8_t *out, size_t cap, const struct vej_rtcp_sr *sr)
{
    size_t size;
    enum vej_rtcp_status st;

    if (sr->n_reports > VEJ_RTCP_MAX_COUNT)
        return VEJ_RTCP_EINVAL;
    size = 28 + VEJ_RTCP_REPORT_BLOCK_LEN * sr->n_reports;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    write_header(out, (uint8_t)sr->n_reports, VEJ_RTCP_SR, size);
    wr32(out + 4, sr->ssrc);
    wr32(out + 8, (uint32_t)(sr->ntp_time >> 32));
    wr32(out + 12, (uint32_t)sr->ntp_time);
    wr32(out + 16, sr->rtp_time);
    wr32(out + 20, sr->packet_count);
    wr32(out + 24, sr->octet_count);
    for (size_t i = 0; i < sr->n_reports; i++)
        write_report_block(out + 28 + VEJ_RTCP_REPORT_BLOCK_LEN * i, &sr->reports[i]);
    return (long)size;
}

long
vej_rtcp_write_rr(uint8_t *out, size_t cap, const struct vej_rtcp_rr *rr)
{
    size_t size;
    enum vej_rtcp_status st;

    if (rr->n_reports > VEJ_RTCP_MAX_COUNT)
        return VEJ_RTCP_EINVAL;
    size = 8 + VEJ_RTCP_REPORT_BLOCK_LEN * rr->n_reports;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    write_header(out, (uint8_t)rr->n_reports, VEJ_RTCP_RR, size);
    wr32(out + 4, rr->ssrc);
    for (size_t i = 0; i < rr->n_reports; i++)
        write_report_block(out + 8 + VEJ_RTCP_REPORT_BLOCK_LEN * i, &rr->reports[i]);
    return (long)size;
}

long
vej_rtcp_write_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                          size_t cname_len)
{
    /* header, SSRC, CNAME item, at least one null byte, padding */
    size_t used, size;
    enum vej_rtcp_status st;

    if (!cname || cname_len == 0 || cname_len > 255)
        return VEJ_RTCP_EINVAL;
    used = 4 + 4 + 2 + cname_len;
    size = (used + 4) & ~(size_t)3;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    write_header(out, 1, VEJ_RTCP_SDES, size);
    wr32(out + 4, ssrc);
    out[8] = VEJ_RTCP_SDES_CNAME;
    out[9] = (uint8_t)cname_len;
    memcpy(out + 10, cname, cname_len);
    memset(out + used, 0, size - used);
    return (long)size;
}

long
vej_rtcp_write_bye(uint8_t *out, size_t cap, const uint32_t *ssrcs, size_t n_ssrcs,
                   const char *reason, size_t reason_len)
{
    size_t used, size;
    enum vej_rtcp_status st;

    if (!ssrcs || n_ssrcs == 0 || n_ssrcs > VEJ_RTCP_MAX_COUNT || reason_len > 255 ||
        (!reason && reason_len > 0))
        return VEJ_RTCP_EINVAL;
    used = 4 + 4 * n_ssrcs + (reason ? 1 + reason_len : 0);
    size = (used + 3) & ~(size_t)3;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    write_header(out, (uint8_t)n_ssrcs, VEJ_RTCP_BYE, size);
    for (size_t i = 0; i < n_ssrcs; i++)
        wr32(out + 4 + 4 * i, ssrcs[i]);
    if (reason) {
        out[4 + 4 * n_ssrcs] = (uint8_t)reason_len;
        if (reason_len)
            memcpy(out + 5 + 4 * n_ssrcs, reason, reason_len);
    }
    memset(out + used, 0, size - used);
    return (long)size;
}

long
vej_rtcp_write_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    enum vej_rtcp_status st = check_room(out, cap, 12);

    if (st != VEJ_RTCP_OK)
        return st;
    write_header(out, VEJ_RTCP_PSFB_PLI, VEJ_RTCP_PSFB, 12);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, media_ssrc);
    return 12;
}

long
vej_rtcp_write_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                   const struct vej_rtcp_fir_entry *entries, size_t n_entries)
{
    size_t size;
    enum vej_rtcp_status st;

    if (!entries || n_entries == 0 || n_entries > (VEJ_RTCP_MAX_PACKET - 12) / 8)
        return VEJ_RTCP_EINVAL;
    size = 12 + 8 * n_entries;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    write_header(out, VEJ_RTCP_PSFB_FIR, VEJ_RTCP_PSFB, size);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, 0);
    for (size_t i = 0; i < n_entries; i++) {
        uint8_t *e = out + 12 + 8 * i;
        wr32(e, entries[i].ssrc);
        e[4] = entries[i].seq;
        e[5] = e[6] = e[7] = 0;
    }
    return (long)size;
}

long
vej_rtcp_write_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t n_seqs)
{
    size_t off = 12, item = 0;
    uint16_t pid = 0, blp = 0;

    if (!seqs || n_seqs == 0)
        return VEJ_RTCP_EINVAL;
    if (!out || cap < off)
        return VEJ_RTCP_ENOSPACE;
    for (size_t i = 0; i < n_seqs; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (item && d == 0)
            continue;
        if (item && d <= 16) {
            blp = (uint16_t)(blp | 1u << (d - 1));
            wr16(out + item + 2, blp);
            continue;
        }
        if (off + 4 > VEJ_RTCP_MAX_PACKET)
            return VEJ_RTCP_EINVAL;
        if (cap - off < 4)
            return VEJ_RTCP_ENOSPACE;
        item = off;
        pid = seqs[i];
        blp = 0;
        wr16(out + item, pid);
        wr16(out + item + 2, 0);
        off += 4;
    }
    write_header(out, VEJ_RTCP_RTPFB_NACK, VEJ_RTCP_RTPFB, off);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, media_ssrc);
    return (long)off;
}

long
vej_rtcp_write_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                    const uint32_t *ssrcs, size_t n_ssrcs)
{
    size_t size;
    unsigned exp = 0;
    enum vej_rtcp_status st;

    if (n_ssrcs > 255 || (!ssrcs && n_ssrcs > 0))
        return VEJ_RTCP_EINVAL;
    size = 20 + 4 * n_ssrcs;
    if ((st = check_room(out, cap, size)) != VEJ_RTCP_OK)
        return st;
    while (bitrate > 0x3FFFFu) {
        bitrate >>= 1;
        exp++;
    }
    write_header(out, VEJ_RTCP_PSFB_AFB, VEJ_RTCP_PSFB, size);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, 0);
    memcpy(out + 12, "REMB", 4);
    wr32(out + 16, (uint32_t)n_ssrcs << 24 | (uint32_t)exp << 18 | (uint32_t)bitrate);
    for (size_t i = 0; i < n_ssrcs; i++)
        wr32(out + 20 + 4 * i, ssrcs[i]);
    return (long)size;
}
