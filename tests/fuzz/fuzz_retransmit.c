/* fuzz_retransmit.c - the retransmission logic: RFC 4588 unwrap/rewrap,
 * the stream history, subscribers' sequence maps, missing-packet
 * tracking (gateway/wire/rtx.c, history.c, seqmap.c, nack.c).
 *
 * The whole input is first an RTP packet: an RTX packet that unwraps
 * must rewrap (vej_rtx_write) to the same OSN and payload. Then the input
 * is read as operations, 3 bytes each (op, 16-bit value): a source packet
 * arrives (number near the highest, far away, or anywhere), a subscriber
 * is paused (withheld), time passes, NACKs fall due, a subscriber NACKs a
 * number. Invariants, as the router relies on them:
 *  - no subscriber number (extended to an SRTP index) is given to two
 *    source packets, and every number sent maps back to its source;
 *  - a NACK is answered only with a packet of the subscriber's current
 *    run, whose bytes are the ones stored for it;
 *  - the missing list stays bounded and holds only numbers asked for
 *    within the retry limits. */
#include "gateway/wire/history.h"
#include "gateway/wire/nack.h"
#include "gateway/wire/rtx.h"
#include "gateway/wire/seqmap.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define N_SUBS 2
#define MAX_OPS 8192
#define SET_SIZE (1u << 15) /* > MAX_OPS packets per subscriber, open addressing */
#define ARENA 8192

struct sub {
    struct vej_seqmap map;
    uint64_t out_index; /* extended index of map.out_max */
    uint64_t used[SET_SIZE];
    uint32_t owner[SET_SIZE]; /* arrival number of the source packet sent under it */
};

static struct vej_history history;
static uint8_t arena[ARENA];
static struct vej_nack nack;
static struct sub subs[N_SUBS];

/* Marks an extended index used (by arrival a); aborts if it already was. */
static void
use_index(struct sub *s, uint64_t idx, uint32_t a)
{
    uint64_t key = idx + 1; /* 0: empty slot */
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 49) & (SET_SIZE - 1);

    while (s->used[i]) {
        CHECK(s->used[i] != key);
        i = (i + 1) & (SET_SIZE - 1);
    }
    s->used[i] = key;
    s->owner[i] = a;
}

static void
fill(uint8_t *p, size_t len, uint32_t arrival)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(arrival * 31 + i);
}

static void
rewrap(const uint8_t *data, size_t size)
{
    struct vej_rtp_view v, w;
    const uint8_t *payload, *payload2;
    size_t len, len2;
    uint16_t osn, osn2;
    static uint8_t out[70000];

    if (vej_rtp_parse(data, size, &v) != VEJ_RTP_OK)
        return;
    if (vej_rtx_unwrap(&v, &osn, &payload, &len) != VEJ_RTP_OK) {
        CHECK(v.payload_len < VEJ_RTX_OSN_LEN);
        return;
    }
    CHECK(payload >= data && payload + len <= data + size);
    struct vej_rtx_header h = {v.payload_type, v.marker, v.seq, v.timestamp, v.ssrc, NULL};
    long n = vej_rtx_write(out, sizeof out, &h, osn, payload, len);
    CHECK(n == (long)(12 + 2 + len));
    CHECK(vej_rtp_parse(out, (size_t)n, &w) == VEJ_RTP_OK);
    CHECK(w.seq == v.seq && w.ssrc == v.ssrc && w.payload_type == v.payload_type &&
          w.marker == v.marker && w.timestamp == v.timestamp);
    CHECK(vej_rtx_unwrap(&w, &osn2, &payload2, &len2) == VEJ_RTP_OK);
    CHECK(osn2 == osn && len2 == len && memcmp(payload, payload2, len) == 0);
    CHECK(vej_rtx_write(out, (size_t)n - 1, &h, osn, payload, len) == VEJ_RTP_ENOSPACE);
    /* With the hop's own extensions (mid, abs-send-time), as the relay
     * writes RTX: the same OSN and payload come back. */
    struct vej_rtp_ext_builder b;
    struct vej_rtp_hop_ext ids = {.mid = 2, .abs_send_time = 3};
    CHECK(vej_rtp_ext_build_hop(&b, &ids, "1", 1, v.timestamp & 0xFFFFFF, NULL) == VEJ_RTP_OK);
    h.extensions = &b;
    n = vej_rtx_write(out, sizeof out, &h, osn, payload, len);
    CHECK(n == (long)(12 + 12 + 2 + len));
    CHECK(vej_rtp_parse(out, (size_t)n, &w) == VEJ_RTP_OK);
    CHECK(w.ext_form == VEJ_RTP_EXT_ONE_BYTE && w.ssrc == v.ssrc);
    CHECK(vej_rtx_unwrap(&w, &osn2, &payload2, &len2) == VEJ_RTP_OK);
    CHECK(osn2 == osn && len2 == len && memcmp(payload, payload2, len) == 0);
}

static void
arrive(uint16_t seq, size_t len, int64_t now)
{
    static uint8_t payload[600];
    uint32_t arrival = history.arrivals;

    fill(payload, len, arrival);
    enum vej_history_verdict v =
        vej_history_add(&history, seq, seq * 3000u, seq & 1, payload, len, now, &arrival);
    if (v == VEJ_HISTORY_DUPLICATE || v == VEJ_HISTORY_TOO_OLD)
        return;
    CHECK(v <= VEJ_HISTORY_RESTART);
    if (v == VEJ_HISTORY_RESTART) {
        vej_nack_reset(&nack);
        for (int k = 0; k < N_SUBS; k++)
            vej_seqmap_pause(&subs[k].map);
    }
    vej_nack_on_packet(&nack, seq, now);
    CHECK(nack.n_missing <= VEJ_NACK_MAX_MISSING);
    for (int k = 0; k < N_SUBS; k++) {
        struct sub *s = &subs[k];
        uint16_t out, prev = s->map.out_max, back;
        bool was = s->map.started;

        if (!vej_seqmap_forward(&s->map, seq, arrival, (uint16_t)(k * 20000 + 65000), &out))
            continue;
        if (!was)
            s->out_index = out;
        else if (out == s->map.out_max)
            s->out_index += (uint16_t)(s->map.out_max - prev);
        use_index(s, s->out_index - (uint16_t)(s->map.out_max - out), arrival);
        CHECK(vej_seqmap_source(&s->map, out, &back) && back == seq);
        CHECK(vej_seqmap_arrived_in_run(&s->map, arrival));
    }
}

/* A subscriber NACKs its number `out`: what the router would send. */
static void
nacked(struct sub *s, uint16_t out, int64_t now)
{
    struct vej_history_packet p;
    uint16_t src;

    if (!vej_seqmap_source(&s->map, out, &src))
        return;
    CHECK((uint16_t)(src + s->map.offset) == out);
    if (!vej_history_get(&history, src, now, VEJ_NACK_MAX_AGE_US, &p))
        return;
    CHECK(p.seq == src && p.len <= 600);
    CHECK(p.payload >= arena && p.payload + p.len <= arena + ARENA);
    for (size_t i = 0; i < p.len; i++)
        CHECK(p.payload[i] == (uint8_t)(p.arrival * 31 + i));
    if (!vej_seqmap_arrived_in_run(&s->map, p.arrival))
        return;
    /* Answerable: it must be the packet sent under `out` in this run. */
    uint64_t idx = s->out_index - (uint16_t)(s->map.out_max - out) + 1;
    size_t i = (size_t)(idx * 0x9E3779B97F4A7C15ull >> 49) & (SET_SIZE - 1);
    while (s->used[i] && s->used[i] != idx)
        i = (i + 1) & (SET_SIZE - 1);
    CHECK(s->used[i] == idx && s->owner[i] == p.arrival);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now = 1000000;
    uint16_t seqs[64];

    rewrap(data, size);
    vej_history_init(&history, arena, sizeof arena);
    vej_nack_init(&nack);
    for (int k = 0; k < N_SUBS; k++) {
        memset(&subs[k], 0, sizeof subs[k]);
        vej_seqmap_init(&subs[k].map);
    }
    for (size_t off = 0, ops = 0; off + 3 <= size && ops < MAX_OPS; off += 3, ops++) {
        uint8_t op = data[off];
        uint16_t val = (uint16_t)(data[off + 1] << 8 | data[off + 2]);
        struct sub *s = &subs[op >> 7];

        switch (op & 7) {
        case 0: /* the next packets, with small gaps */
        case 1:
            for (unsigned i = 0; i <= (val & 7u); i++)
                arrive((uint16_t)(history.max_seq + 1 + ((val >> 3) & 3u) * (i == 0)),
                       (size_t)(val >> 6) % 600, now);
            break;
        case 2: /* near the highest: late, duplicate or ahead */
            arrive((uint16_t)(history.max_seq + (int16_t)((int16_t)val >> 6)), val % 600, now);
            break;
        case 3: /* anywhere */
            arrive(val, (size_t)(op >> 3) * 17, now);
            break;
        case 4:
            vej_seqmap_pause(&s->map);
            break;
        case 5: {
            size_t gave_up, n = vej_nack_due(&nack, now, seqs, (size_t)(val & 63), &gave_up);
            CHECK(n <= (size_t)(val & 63) && nack.n_missing <= VEJ_NACK_MAX_MISSING);
            for (size_t i = 0; i < nack.n_missing; i++)
                CHECK(nack.missing[i].sent <= VEJ_NACK_MAX_RETRIES);
            /* what is asked for is missing, young enough, counted */
            for (size_t j = 0; j < n; j++) {
                size_t i = 0;
                while (i < nack.n_missing && nack.missing[i].seq != seqs[j])
                    i++;
                CHECK(i < nack.n_missing && nack.missing[i].sent >= 1 &&
                      nack.missing[i].last_sent_us == now &&
                      now - nack.missing[i].since_us <= VEJ_NACK_MAX_AGE_US);
            }
            break;
        }
        case 6:
            now += (int64_t)(val & 0x3ff) * 1000;
            break;
        case 7:
            nacked(s, (uint16_t)(s->map.out_max - (val & 0x3ff)), now);
            nacked(s, val, now);
            break;
        }
    }
    return 0;
}
