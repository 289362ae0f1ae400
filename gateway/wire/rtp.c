/* rtp.c - RTP header and RFC 8285 extension parsing and writing.
 *
 * Every length read from the wire is checked against what remains before
 * it is used; sizes are computed in size_t from at most 16-bit fields, so
 * no sum here can overflow. */
#include "gateway/wire/rtp.h"
#include "gateway/wire/wire-priv.h"

#include <string.h>

const char *
vej_rtp_status_name(int status)
{
    switch (status) {
    case VEJ_RTP_OK:
        return "ok";
    case VEJ_RTP_ETRUNCATED:
        return "truncated";
    case VEJ_RTP_EVERSION:
        return "bad_version";
    case VEJ_RTP_EPADDING:
        return "bad_padding";
    case VEJ_RTP_EEXTENSION:
        return "bad_extension";
    case VEJ_RTP_ENOSPACE:
        return "no_space";
    case VEJ_RTP_EINVAL:
        return "invalid_argument";
    case VEJ_RTP_ENOTFOUND:
        return "not_found";
    default:
        return "unknown";
    }
}

/* The RFC 8285 form an extension profile field announces. */
static enum vej_rtp_ext_form
form_of_profile(uint16_t profile)
{
    if (profile == VEJ_RTP_EXT_PROFILE_ONE_BYTE)
        return VEJ_RTP_EXT_ONE_BYTE;
    if ((profile & 0xFFF0u) == VEJ_RTP_EXT_PROFILE_TWO_BYTE)
        return VEJ_RTP_EXT_TWO_BYTE;
    return VEJ_RTP_EXT_OTHER;
}

enum vej_rtp_status
vej_rtp_parse(const uint8_t *buf, size_t len, struct vej_rtp_view *out)
{
    struct vej_rtp_view v;
    size_t off;

    memset(out, 0, sizeof *out);
    if (!buf || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    if (buf[0] >> 6 != VEJ_RTP_VERSION)
        return VEJ_RTP_EVERSION;
    memset(&v, 0, sizeof v);
    v.packet = buf;
    v.packet_len = len;
    v.padding = (buf[0] & 0x20) != 0;
    v.csrc_count = buf[0] & 0x0F;
    v.marker = (buf[1] & 0x80) != 0;
    v.payload_type = buf[1] & 0x7F;
    v.seq = rd16(buf + 2);
    v.timestamp = rd32(buf + 4);
    v.ssrc = rd32(buf + 8);
    off = VEJ_RTP_HEADER_MIN + 4u * v.csrc_count;
    if (off > len)
        return VEJ_RTP_ETRUNCATED;
    if (buf[0] & 0x10) {
        size_t ext_len;
        if (len - off < 4)
            return VEJ_RTP_ETRUNCATED;
        v.ext_profile = rd16(buf + off);
        ext_len = 4u * rd16(buf + off + 2);
        if (len - off - 4 < ext_len)
            return VEJ_RTP_ETRUNCATED;
        v.ext_form = form_of_profile(v.ext_profile);
        v.ext = buf + off + 4;
        v.ext_len = ext_len;
        off += 4 + ext_len;
    }
    v.header_len = off;
    if (v.padding) {
        v.padding_len = buf[len - 1];
        if (v.padding_len == 0 || v.padding_len > len - off)
            return VEJ_RTP_EPADDING;
    }
    v.payload = buf + off;
    v.payload_len = len - off - v.padding_len;
    *out = v;
    return VEJ_RTP_OK;
}

uint32_t
vej_rtp_view_csrc(const struct vej_rtp_view *view, unsigned i)
{
    if (i >= view->csrc_count)
        return 0;
    return rd32(view->packet + VEJ_RTP_HEADER_MIN + 4u * i);
}

bool
vej_rtp_mux_is_rtcp(const uint8_t *buf, size_t len)
{
    uint8_t pt;

    if (!buf || len < 2)
        return false;
    pt = buf[1] & 0x7F;
    return pt >= 64 && pt <= 95;
}

/* --- Extension elements -------------------------------------------------- */

void
vej_rtp_ext_iter_init(struct vej_rtp_ext_iter *it, const struct vej_rtp_view *view)
{
    it->data = view->ext;
    it->len = view->ext ? view->ext_len : 0;
    it->off = 0;
    it->form = view->ext_form;
    if (it->form != VEJ_RTP_EXT_ONE_BYTE && it->form != VEJ_RTP_EXT_TWO_BYTE)
        it->len = 0;
}

int
vej_rtp_ext_next(struct vej_rtp_ext_iter *it, struct vej_rtp_ext_element *out)
{
    while (it->off < it->len) {
        const uint8_t *p = it->data + it->off;
        size_t left = it->len - it->off;
        uint8_t id;
        size_t n, hdr;

        if (p[0] == 0) { /* padding, in either form */
            it->off++;
            continue;
        }
        if (it->form == VEJ_RTP_EXT_ONE_BYTE) {
            id = p[0] >> 4;
            n = (size_t)(p[0] & 0x0F) + 1;
            hdr = 1;
            /* Id 15 stops processing (RFC 8285 4.2); so does id 0 with a
             * length, which is not padding, as libwebrtc does. */
            if (id == 15 || id == 0) {
                it->off = it->len;
                return 0;
            }
        } else {
            if (left < 2) {
                it->off = it->len;
                return VEJ_RTP_EEXTENSION;
            }
            id = p[0];
            n = p[1];
            hdr = 2;
        }
        if (left - hdr < n) {
            it->off = it->len;
            return VEJ_RTP_EEXTENSION;
        }
        out->id = id;
        out->len = (uint8_t)n;
        out->data = p + hdr;
        it->off += hdr + n;
        return 1;
    }
    return 0;
}

enum vej_rtp_status
vej_rtp_ext_find(const struct vej_rtp_view *view, uint8_t id, struct vej_rtp_ext_element *out)
{
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e;
    int r;

    vej_rtp_ext_iter_init(&it, view);
    while ((r = vej_rtp_ext_next(&it, &e)) > 0) {
        if (e.id == id) {
            *out = e;
            return VEJ_RTP_OK;
        }
    }
    return r < 0 ? VEJ_RTP_EEXTENSION : VEJ_RTP_ENOTFOUND;
}

enum vej_rtp_status
vej_rtp_ext_read_abs_send_time(const struct vej_rtp_ext_element *e, uint32_t *abs_send_time_24)
{
    if (e->len != 3)
        return VEJ_RTP_EINVAL;
    *abs_send_time_24 = (uint32_t)e->data[0] << 16 | (uint32_t)e->data[1] << 8 | e->data[2];
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_ext_read_transport_seq(const struct vej_rtp_ext_element *e, uint16_t *seq)
{
    if (e->len != 2)
        return VEJ_RTP_EINVAL;
    *seq = rd16(e->data);
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_ext_read_audio_level(const struct vej_rtp_ext_element *e, bool *voice, uint8_t *level)
{
    if (e->len != 1)
        return VEJ_RTP_EINVAL;
    *voice = (e->data[0] & 0x80) != 0;
    *level = e->data[0] & 0x7F;
    return VEJ_RTP_OK;
}

uint32_t
vej_rtp_abs_send_time_from_us(uint64_t us)
{
    /* Only seconds mod 64 survive in 6 integer bits; reducing first keeps
     * the shift far from overflow. Rounding as libwebrtc does. */
    uint64_t r = us % UINT64_C(64000000);

    return (uint32_t)((((r << 18) + 500000) / 1000000) & 0xFFFFFFu);
}

/* --- Builder and writers -------------------------------------------------- */

void
vej_rtp_ext_builder_init(struct vej_rtp_ext_builder *b)
{
    b->n_elements = 0;
    b->n_bytes = 0;
}

enum vej_rtp_status
vej_rtp_ext_add(struct vej_rtp_ext_builder *b, uint8_t id, const void *data, size_t len)
{
    if (id == 0 || len > 255 || (!data && len > 0))
        return VEJ_RTP_EINVAL;
    for (size_t i = 0; i < b->n_elements; i++)
        if (b->elements[i].id == id)
            return VEJ_RTP_EINVAL;
    if (b->n_elements == VEJ_RTP_EXT_BUILDER_MAX_ELEMENTS ||
        VEJ_RTP_EXT_BUILDER_MAX_BYTES - b->n_bytes < len)
        return VEJ_RTP_ENOSPACE;
    b->elements[b->n_elements].id = id;
    b->elements[b->n_elements].len = (uint8_t)len;
    b->elements[b->n_elements].off = (uint16_t)b->n_bytes;
    if (len)
        memcpy(b->bytes + b->n_bytes, data, len);
    b->n_elements++;
    b->n_bytes += len;
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_ext_add_mid(struct vej_rtp_ext_builder *b, uint8_t id, const char *mid, size_t mid_len)
{
    if (!mid || mid_len == 0)
        return VEJ_RTP_EINVAL;
    return vej_rtp_ext_add(b, id, mid, mid_len);
}

enum vej_rtp_status
vej_rtp_ext_add_abs_send_time(struct vej_rtp_ext_builder *b, uint8_t id, uint64_t now_us)
{
    uint32_t t = vej_rtp_abs_send_time_from_us(now_us);
    uint8_t d[3] = {(uint8_t)(t >> 16), (uint8_t)(t >> 8), (uint8_t)t};

    return vej_rtp_ext_add(b, id, d, sizeof d);
}

enum vej_rtp_status
vej_rtp_ext_add_transport_seq(struct vej_rtp_ext_builder *b, uint8_t id, uint16_t seq)
{
    uint8_t d[2];

    wr16(d, seq);
    return vej_rtp_ext_add(b, id, d, sizeof d);
}

enum vej_rtp_status
vej_rtp_ext_add_audio_level(struct vej_rtp_ext_builder *b, uint8_t id, bool voice, uint8_t level)
{
    uint8_t d;

    if (level > 127)
        return VEJ_RTP_EINVAL;
    d = (uint8_t)((voice ? 0x80 : 0) | level);
    return vej_rtp_ext_add(b, id, &d, 1);
}

enum vej_rtp_status
vej_rtp_ext_build_hop(struct vej_rtp_ext_builder *b, const struct vej_rtp_hop_ext *ids,
                      const char *mid, size_t mid_len, uint32_t abs_send_time_24,
                      const struct vej_rtp_ext_element *level)
{
    enum vej_rtp_status first = VEJ_RTP_OK, st;
    bool voice;
    uint8_t lvl;

    vej_rtp_ext_builder_init(b);
    if (ids->mid) {
        st = vej_rtp_ext_add_mid(b, ids->mid, mid, mid_len);
        first = st;
    }
    if (ids->abs_send_time) {
        uint8_t d[3] = {(uint8_t)(abs_send_time_24 >> 16), (uint8_t)(abs_send_time_24 >> 8),
                        (uint8_t)abs_send_time_24};
        st = vej_rtp_ext_add(b, ids->abs_send_time, d, sizeof d);
        if (first == VEJ_RTP_OK)
            first = st;
    }
    /* Only a well-formed level passes: its byte is copied, not its length. */
    if (ids->audio_level && level &&
        vej_rtp_ext_read_audio_level(level, &voice, &lvl) == VEJ_RTP_OK) {
        st = vej_rtp_ext_add(b, ids->audio_level, level->data, 1);
        if (first == VEJ_RTP_OK)
            first = st;
    }
    return first;
}

enum vej_rtp_ext_form
vej_rtp_ext_builder_form(const struct vej_rtp_ext_builder *b)
{
    if (b->n_elements == 0)
        return VEJ_RTP_EXT_NONE;
    for (size_t i = 0; i < b->n_elements; i++) {
        if (b->elements[i].id > VEJ_RTP_EXT_ONE_BYTE_MAX_ID || b->elements[i].len == 0 ||
            b->elements[i].len > VEJ_RTP_EXT_ONE_BYTE_MAX_LEN)
            return VEJ_RTP_EXT_TWO_BYTE;
    }
    return VEJ_RTP_EXT_ONE_BYTE;
}

size_t
vej_rtp_ext_block_size(const struct vej_rtp_ext_builder *b)
{
    enum vej_rtp_ext_form form = vej_rtp_ext_builder_form(b);
    size_t per = form == VEJ_RTP_EXT_ONE_BYTE ? 1 : 2;
    size_t n;

    if (form == VEJ_RTP_EXT_NONE)
        return 0;
    n = b->n_bytes + per * b->n_elements;
    return 4 + (n + 3) / 4 * 4;
}

long
vej_rtp_ext_write(const struct vej_rtp_ext_builder *b, uint8_t *out, size_t cap)
{
    enum vej_rtp_ext_form form = vej_rtp_ext_builder_form(b);
    size_t size = vej_rtp_ext_block_size(b);
    size_t off = 4;

    if (size == 0)
        return 0;
    if (!out || cap < size)
        return VEJ_RTP_ENOSPACE;
    wr16(out, form == VEJ_RTP_EXT_ONE_BYTE ? VEJ_RTP_EXT_PROFILE_ONE_BYTE
                                           : VEJ_RTP_EXT_PROFILE_TWO_BYTE);
    wr16(out + 2, (uint16_t)((size - 4) / 4));
    for (size_t i = 0; i < b->n_elements; i++) {
        uint8_t id = b->elements[i].id, len = b->elements[i].len;
        if (form == VEJ_RTP_EXT_ONE_BYTE) {
            out[off++] = (uint8_t)(id << 4 | (len - 1));
        } else {
            out[off++] = id;
            out[off++] = len;
        }
        memcpy(out + off, b->bytes + b->elements[i].off, len);
        off += len;
    }
    memset(out + off, 0, size - off);
    return (long)size;
}

long
vej_rtp_write_packet(const struct vej_rtp_view *in, const struct vej_rtp_ext_builder *b,
                     uint8_t *out, size_t cap)
{
    size_t fixed = VEJ_RTP_HEADER_MIN + 4u * in->csrc_count;
    size_t block = vej_rtp_ext_block_size(b);
    size_t tail = in->payload_len + in->padding_len;

    if (!out || cap < fixed || cap - fixed < block || cap - fixed - block < tail)
        return VEJ_RTP_ENOSPACE;
    memcpy(out, in->packet, fixed);
    if (block) {
        out[0] |= 0x10;
        vej_rtp_ext_write(b, out + fixed, block);
    } else {
        out[0] &= (uint8_t)~0x10u;
    }
    if (tail)
        memcpy(out + fixed + block, in->payload, tail);
    return (long)(fixed + block + tail);
}

long
vej_rtp_replace_extensions(uint8_t *pkt, size_t len, size_t cap,
                           const struct vej_rtp_ext_builder *b)
{
    struct vej_rtp_view v;
    enum vej_rtp_status st = vej_rtp_parse(pkt, len, &v);
    size_t fixed, block, tail;

    if (st != VEJ_RTP_OK)
        return st;
    if (cap < len)
        return VEJ_RTP_EINVAL;
    fixed = VEJ_RTP_HEADER_MIN + 4u * v.csrc_count;
    block = vej_rtp_ext_block_size(b);
    tail = v.payload_len + v.padding_len;
    if (cap - fixed < block || cap - fixed - block < tail)
        return VEJ_RTP_ENOSPACE;
    memmove(pkt + fixed + block, pkt + v.header_len, tail);
    if (block) {
        pkt[0] |= 0x10;
        vej_rtp_ext_write(b, pkt + fixed, block);
    } else {
        pkt[0] &= (uint8_t)~0x10u;
    }
    return (long)(fixed + block + tail);
}

/* --- Header rewriting ----------------------------------------------------- */

enum vej_rtp_status
vej_rtp_set_ssrc(uint8_t *pkt, size_t len, uint32_t ssrc)
{
    if (!pkt || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    wr32(pkt + 8, ssrc);
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_set_payload_type(uint8_t *pkt, size_t len, uint8_t pt)
{
    if (!pkt || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    if (pt > 127)
        return VEJ_RTP_EINVAL;
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | pt);
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_set_seq(uint8_t *pkt, size_t len, uint16_t seq)
{
    if (!pkt || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    wr16(pkt + 2, seq);
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_set_timestamp(uint8_t *pkt, size_t len, uint32_t timestamp)
{
    if (!pkt || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    wr32(pkt + 4, timestamp);
    return VEJ_RTP_OK;
}

enum vej_rtp_status
vej_rtp_set_marker(uint8_t *pkt, size_t len, bool marker)
{
    if (!pkt || len < VEJ_RTP_HEADER_MIN)
        return VEJ_RTP_ETRUNCATED;
    pkt[1] = (uint8_t)((pkt[1] & 0x7F) | (marker ? 0x80 : 0));
    return VEJ_RTP_OK;
}
