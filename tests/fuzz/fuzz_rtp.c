/* fuzz_rtp.c - RTP header and RFC 8285 extension parsing, and the writers.
 *
 * Parses the input, walks every extension element (and looks each id up),
 * then rebuilds the block from the parsed elements and writes the packet
 * out again, both copied and in place, and parses the result. Invariants:
 * a parsed view stays inside the input and accounts for every byte; a
 * rebuilt packet parses, keeps header fields and payload, and carries
 * exactly the elements the builder accepted; header rewrites read back.
 * Then the relay's per-hop block over the packet (vej_rtp_ext_build_hop,
 * the packet's id 1 read as a publisher's audio level): the output carries
 * exactly mid, abs-send-time and, when the input's was well-formed, that
 * level; nothing else of the input's block. */
#include "gateway/wire/rtp.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define OUT_MAX 2048

/* Walks the block; returns how many elements it yielded. */
static size_t
walk_extensions(const struct vej_rtp_view *v, struct vej_rtp_ext_builder *b)
{
    struct vej_rtp_ext_iter it;
    struct vej_rtp_ext_element e, found;
    size_t n = 0;
    int r;

    vej_rtp_ext_iter_init(&it, v);
    while ((r = vej_rtp_ext_next(&it, &e)) > 0) {
        CHECK(e.id != 0);
        CHECK(e.data >= v->ext && e.data + e.len <= v->ext + v->ext_len);
        CHECK(vej_rtp_ext_find(v, e.id, &found) == VEJ_RTP_OK);
        CHECK(found.id == e.id);
        (void)vej_rtp_ext_add(b, e.id, e.data, e.len);
        n++;
    }
    CHECK(r == 0 || r == VEJ_RTP_EEXTENSION);
    CHECK(vej_rtp_ext_next(&it, &e) == 0);
    return n;
}

/* Every element of the builder is found in the parsed packet. */
static void
check_elements(const struct vej_rtp_view *v, const struct vej_rtp_ext_builder *b)
{
    for (size_t i = 0; i < b->n_elements; i++) {
        struct vej_rtp_ext_element e;
        CHECK(vej_rtp_ext_find(v, b->elements[i].id, &e) == VEJ_RTP_OK);
        CHECK(e.len == b->elements[i].len);
        CHECK(memcmp(e.data, b->bytes + b->elements[i].off, e.len) == 0);
    }
}

static void
check_rewritten(const struct vej_rtp_view *in, const uint8_t *pkt, long n,
                const struct vej_rtp_ext_builder *b)
{
    struct vej_rtp_view out;

    CHECK(n > 0 && (size_t)n <= OUT_MAX);
    CHECK(vej_rtp_parse(pkt, (size_t)n, &out) == VEJ_RTP_OK);
    CHECK(out.ssrc == in->ssrc && out.seq == in->seq && out.timestamp == in->timestamp);
    CHECK(out.payload_type == in->payload_type && out.marker == in->marker);
    CHECK(out.csrc_count == in->csrc_count);
    CHECK(out.payload_len == in->payload_len && out.padding_len == in->padding_len);
    CHECK(memcmp(out.payload, in->payload, in->payload_len) == 0);
    CHECK(out.ext_form == vej_rtp_ext_builder_form(b));
    check_elements(&out, b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_rtp_view v;
    struct vej_rtp_ext_builder b;
    static const char mid[] = "fuzz-mid";
    uint8_t out[OUT_MAX], copy[OUT_MAX];
    enum vej_rtp_status st = vej_rtp_parse(data, size, &v);
    long n;

    (void)vej_rtp_mux_is_rtcp(data, size);
    CHECK(vej_rtp_status_name(st) != NULL);
    if (st != VEJ_RTP_OK)
        return 0;
    CHECK(v.packet == data && v.packet_len == size);
    CHECK(v.header_len + v.payload_len + v.padding_len == size);
    CHECK(v.payload == data + v.header_len);
    for (unsigned i = 0; i <= v.csrc_count; i++)
        (void)vej_rtp_view_csrc(&v, i);

    vej_rtp_ext_builder_init(&b);
    walk_extensions(&v, &b);
    /* The gateway's own elements, on top of whatever fitted. */
    (void)vej_rtp_ext_add_mid(&b, 200, mid, sizeof mid - 1);
    (void)vej_rtp_ext_add_abs_send_time(&b, 201, (uint64_t)v.timestamp * 1000);
    (void)vej_rtp_ext_add_transport_seq(&b, 202, v.seq);
    (void)vej_rtp_ext_add_audio_level(&b, 203, v.marker, v.payload_type);

    n = vej_rtp_ext_write(&b, out, sizeof out);
    CHECK(n == (long)vej_rtp_ext_block_size(&b));
    n = vej_rtp_write_packet(&v, &b, out, sizeof out);
    if (n == VEJ_RTP_ENOSPACE)
        return 0; /* input near OUT_MAX */
    check_rewritten(&v, out, n, &b);
    CHECK(vej_rtp_write_packet(&v, &b, out, (size_t)n - 1) == VEJ_RTP_ENOSPACE);

    if (size <= sizeof copy) {
        memcpy(copy, data, size);
        n = vej_rtp_replace_extensions(copy, size, sizeof copy, &b);
        if (n != VEJ_RTP_ENOSPACE)
            check_rewritten(&v, copy, n, &b);
    }

    {
        const struct vej_rtp_hop_ext ids = {.mid = 2, .abs_send_time = 3, .audio_level = 1};
        struct vej_rtp_ext_element level, e;
        struct vej_rtp_view hop;
        struct vej_rtp_ext_iter it;
        bool has_level = vej_rtp_ext_find(&v, 1, &level) == VEJ_RTP_OK;
        size_t n_el = 0;
        CHECK(vej_rtp_ext_build_hop(&b, &ids, "7", 1, v.timestamp & 0xFFFFFF,
                                    has_level ? &level : NULL) == VEJ_RTP_OK);
        n = vej_rtp_write_packet(&v, &b, out, sizeof out);
        if (n > 0) {
            check_rewritten(&v, out, n, &b);
            CHECK(vej_rtp_parse(out, (size_t)n, &hop) == VEJ_RTP_OK);
            CHECK(hop.ext_form == VEJ_RTP_EXT_ONE_BYTE);
            vej_rtp_ext_iter_init(&it, &hop);
            while (vej_rtp_ext_next(&it, &e) > 0) {
                CHECK(e.id == 1 || e.id == 2 || e.id == 3);
                n_el++;
            }
            CHECK(n_el == (has_level && level.len == 1 ? 3u : 2u));
        }
    }

    CHECK(vej_rtp_set_ssrc(out, v.header_len, ~v.ssrc) == VEJ_RTP_OK);
    CHECK(vej_rtp_set_seq(out, v.header_len, (uint16_t)(v.seq + 1)) == VEJ_RTP_OK);
    CHECK(vej_rtp_set_timestamp(out, v.header_len, v.timestamp + 960) == VEJ_RTP_OK);
    CHECK(vej_rtp_set_payload_type(out, v.header_len, (uint8_t)(v.payload_type ^ 1)) == VEJ_RTP_OK);
    CHECK(vej_rtp_set_marker(out, v.header_len, !v.marker) == VEJ_RTP_OK);
    return 0;
}
