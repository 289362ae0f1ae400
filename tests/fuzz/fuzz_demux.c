/* fuzz_demux.c - RFC 7983 classification, then the parser it selects.
 *
 * Invariants: the class agrees with the first byte's range, a drop always
 * has a reason and an accepted datagram none, every label is non-NULL;
 * RTP and RTCP datagrams go on to their parsers as the relay would. */
#include "gateway/wire/demux.h"
#include "gateway/wire/rtcp.h"
#include "gateway/wire/rtp.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum vej_demux_drop_reason why = VEJ_DEMUX_DROP_N_REASONS;
    enum vej_demux_class c = vej_demux_classify(data, size, &why);

    CHECK(vej_demux_class_name(c) != NULL && vej_demux_drop_reason_name(why) != NULL);
    CHECK((c == VEJ_DEMUX_DROP) == (why != VEJ_DEMUX_DROP_NONE));
    CHECK(why < VEJ_DEMUX_DROP_N_REASONS);
    CHECK(vej_demux_classify(data, size, NULL) == c);
    if (size == 0) {
        CHECK(why == VEJ_DEMUX_DROP_TOO_SHORT);
        return 0;
    }
    switch (c) {
    case VEJ_DEMUX_STUN:
        CHECK(data[0] <= 3 && size >= VEJ_DEMUX_MIN_STUN);
        break;
    case VEJ_DEMUX_DTLS:
        CHECK(data[0] >= 20 && data[0] <= 63 && size >= VEJ_DEMUX_MIN_DTLS);
        break;
    case VEJ_DEMUX_RTP: {
        struct vej_rtp_view v;
        struct vej_rtp_ext_iter it;
        struct vej_rtp_ext_element e;
        CHECK(data[0] >= 128 && data[0] <= 191 && !vej_rtp_mux_is_rtcp(data, size));
        if (vej_rtp_parse(data, size, &v) == VEJ_RTP_OK) {
            vej_rtp_ext_iter_init(&it, &v);
            while (vej_rtp_ext_next(&it, &e) > 0)
                ;
        } else {
            /* The demultiplexer guarantees version 2 and a fixed header. */
            CHECK(vej_rtp_parse(data, size, &v) != VEJ_RTP_EVERSION);
        }
        break;
    }
    case VEJ_DEMUX_RTCP: {
        struct vej_rtcp_iter it;
        struct vej_rtcp_packet p;
        CHECK(data[0] >= 128 && data[0] <= 191 && vej_rtp_mux_is_rtcp(data, size));
        vej_rtcp_iter_init(&it, data, size);
        while (vej_rtcp_next(&it, &p) > 0)
            ;
        break;
    }
    default:
        CHECK(c == VEJ_DEMUX_DROP);
        break;
    }
    return 0;
}
