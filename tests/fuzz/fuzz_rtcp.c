/* fuzz_rtcp.c - RTCP compound iteration, every parser, and the writers.
 *
 * Walks the compound, runs every parser on every sub-packet (the wrong
 * ones must refuse it cleanly), and feeds what parsed back through the
 * matching writer and parser. Invariants: sub-packets stay inside the
 * input and tile it; validate_compound agrees with the iterator; a
 * written packet parses to the values it was written from. */
#include "gateway/wire/rtcp.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Big enough for any sub-packet rebuilt from parsed values except very
 * long NACK and FIR lists, which are cut to fit. */
#define OUT_MAX 4096

/* The only packet of out[0..n). */
static struct vej_rtcp_packet
reparse(const uint8_t *out, long n)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;

    CHECK(n > 0 && n % 4 == 0 && n <= OUT_MAX);
    vej_rtcp_iter_init(&it, out, (size_t)n);
    CHECK(vej_rtcp_next(&it, &p) == 1);
    CHECK(vej_rtcp_next(&it, &p) == 0);
    return p;
}

static void
same_blocks(const struct vej_rtcp_report_block *a, const struct vej_rtcp_report_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(a[i].ssrc == b[i].ssrc && a[i].fraction_lost == b[i].fraction_lost &&
              a[i].cumulative_lost == b[i].cumulative_lost &&
              a[i].highest_seq == b[i].highest_seq && a[i].jitter == b[i].jitter &&
              a[i].lsr == b[i].lsr && a[i].dlsr == b[i].dlsr);
}

static void
reports(const struct vej_rtcp_packet *p, uint8_t *out)
{
    struct vej_rtcp_sr sr, sr2;
    struct vej_rtcp_rr rr, rr2;
    struct vej_rtcp_packet q;

    if (vej_rtcp_parse_sr(p, &sr) == VEJ_RTCP_OK) {
        q = reparse(out, vej_rtcp_write_sr(out, OUT_MAX, &sr));
        CHECK(vej_rtcp_parse_sr(&q, &sr2) == VEJ_RTCP_OK);
        CHECK(sr2.ssrc == sr.ssrc && sr2.ntp_time == sr.ntp_time && sr2.rtp_time == sr.rtp_time);
        CHECK(sr2.n_reports == sr.n_reports);
        same_blocks(sr.reports, sr2.reports, sr.n_reports);
    }
    if (vej_rtcp_parse_rr(p, &rr) == VEJ_RTCP_OK) {
        q = reparse(out, vej_rtcp_write_rr(out, OUT_MAX, &rr));
        CHECK(vej_rtcp_parse_rr(&q, &rr2) == VEJ_RTCP_OK);
        CHECK(rr2.ssrc == rr.ssrc && rr2.n_reports == rr.n_reports);
        same_blocks(rr.reports, rr2.reports, rr.n_reports);
    }
}

static void
sdes_bye(const struct vej_rtcp_packet *p, uint8_t *out)
{
    struct vej_rtcp_sdes sdes, sdes2;
    struct vej_rtcp_bye bye, bye2;
    struct vej_rtcp_packet q;

    if (vej_rtcp_parse_sdes(p, &sdes) == VEJ_RTCP_OK) {
        for (size_t i = 0; i < sdes.n_chunks; i++) {
            const struct vej_rtcp_sdes_chunk *c = &sdes.chunks[i];
            CHECK(c->cname_len == 0 ||
                  (c->cname >= (const char *)p->body &&
                   c->cname + c->cname_len <= (const char *)p->body + p->body_len));
            if (!c->cname || c->cname_len == 0)
                continue;
            q = reparse(out,
                        vej_rtcp_write_sdes_cname(out, OUT_MAX, c->ssrc, c->cname, c->cname_len));
            CHECK(vej_rtcp_parse_sdes(&q, &sdes2) == VEJ_RTCP_OK && sdes2.n_chunks == 1);
            CHECK(sdes2.chunks[0].cname_len == c->cname_len);
            CHECK(memcmp(sdes2.chunks[0].cname, c->cname, c->cname_len) == 0);
        }
    }
    if (vej_rtcp_parse_bye(p, &bye) == VEJ_RTCP_OK && bye.n_ssrcs > 0) {
        q = reparse(out, vej_rtcp_write_bye(out, OUT_MAX, bye.ssrcs, bye.n_ssrcs, bye.reason,
                                            bye.reason_len));
        CHECK(vej_rtcp_parse_bye(&q, &bye2) == VEJ_RTCP_OK && bye2.n_ssrcs == bye.n_ssrcs);
        CHECK(memcmp(bye2.ssrcs, bye.ssrcs, bye.n_ssrcs * sizeof bye.ssrcs[0]) == 0);
        CHECK(bye2.reason_len == bye.reason_len);
    }
}

/* NACK: expanding, re-packing and expanding again gives the same set. */
static void
nack(const struct vej_rtcp_packet *p, uint8_t *out)
{
    struct vej_rtcp_nack n, n2;
    struct vej_rtcp_packet q;
    uint16_t seqs[1000], again[1000]; /* 12 + 4 * 1000 < OUT_MAX */
    uint8_t seen[65536 / 8];
    size_t count, count2;

    if (vej_rtcp_parse_nack(p, &n) != VEJ_RTCP_OK)
        return;
    CHECK(n.n_items > 0);
    count = vej_rtcp_nack_expand(&n, seqs, sizeof seqs / sizeof seqs[0]);
    CHECK(count >= (n.n_items < 1000 ? n.n_items : 1000));
    q = reparse(out, vej_rtcp_write_nack(out, OUT_MAX, n.sender_ssrc, n.media_ssrc, seqs, count));
    CHECK(vej_rtcp_parse_nack(&q, &n2) == VEJ_RTCP_OK);
    CHECK(n2.sender_ssrc == n.sender_ssrc && n2.media_ssrc == n.media_ssrc);
    count2 = vej_rtcp_nack_expand(&n2, again, sizeof again / sizeof again[0]);
    CHECK(count2 <= count);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < count; i++)
        seen[seqs[i] / 8] |= (uint8_t)(1u << (seqs[i] % 8));
    for (size_t i = 0; i < count2; i++)
        CHECK(seen[again[i] / 8] & (1u << (again[i] % 8)));
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < count2; i++)
        seen[again[i] / 8] |= (uint8_t)(1u << (again[i] % 8));
    for (size_t i = 0; i < count; i++)
        CHECK(seen[seqs[i] / 8] & (1u << (seqs[i] % 8)));
}

static void
psfb(const struct vej_rtcp_packet *p, uint8_t *out)
{
    struct vej_rtcp_fb fb;
    struct vej_rtcp_fir fir, fir2;
    struct vej_rtcp_remb remb, remb2;
    struct vej_rtcp_tcc tcc;
    struct vej_rtcp_packet q;
    struct vej_rtcp_fir_entry entries[64];
    uint32_t ssrcs[255];

    if (vej_rtcp_parse_fb(p, &fb) == VEJ_RTCP_OK)
        CHECK(fb.fci + fb.fci_len == p->body + p->body_len);
    (void)vej_rtcp_parse_tcc(p, &tcc);
    if (vej_rtcp_parse_pli(p, &fb) == VEJ_RTCP_OK) {
        q = reparse(out, vej_rtcp_write_pli(out, OUT_MAX, fb.sender_ssrc, fb.media_ssrc));
        CHECK(vej_rtcp_parse_pli(&q, &fb) == VEJ_RTCP_OK);
    }
    if (vej_rtcp_parse_fir(p, &fir) == VEJ_RTCP_OK) {
        size_t n = fir.n_entries < 64 ? fir.n_entries : 64;
        CHECK(fir.n_entries > 0);
        for (size_t i = 0; i < n; i++)
            entries[i] = vej_rtcp_fir_entry_at(&fir, i);
        q = reparse(out, vej_rtcp_write_fir(out, OUT_MAX, fir.sender_ssrc, entries, n));
        CHECK(vej_rtcp_parse_fir(&q, &fir2) == VEJ_RTCP_OK && fir2.n_entries == n);
        for (size_t i = 0; i < n; i++)
            CHECK(vej_rtcp_fir_entry_at(&fir2, i).ssrc == entries[i].ssrc &&
                  vej_rtcp_fir_entry_at(&fir2, i).seq == entries[i].seq);
    }
    if (vej_rtcp_parse_remb(p, &remb) == VEJ_RTCP_OK) {
        for (size_t i = 0; i < remb.n_ssrcs; i++)
            ssrcs[i] = vej_rtcp_remb_ssrc(&remb, i);
        q = reparse(out, vej_rtcp_write_remb(out, OUT_MAX, remb.sender_ssrc, remb.bitrate, ssrcs,
                                             remb.n_ssrcs));
        CHECK(vej_rtcp_parse_remb(&q, &remb2) == VEJ_RTCP_OK);
        CHECK(remb2.n_ssrcs == remb.n_ssrcs);
        CHECK(remb2.bitrate <= remb.bitrate);
        /* Any mantissa << exp that fits 64 bits survives re-encoding. */
        if (remb.bitrate != UINT64_MAX)
            CHECK(remb2.bitrate == remb.bitrate);
        for (size_t i = 0; i < remb.n_ssrcs; i++)
            CHECK(vej_rtcp_remb_ssrc(&remb2, i) == ssrcs[i]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_rtcp_iter it;
    struct vej_rtcp_packet p;
    uint8_t out[OUT_MAX];
    size_t covered = 0;
    int r, first_type = -1;
    enum vej_rtcp_status strict, relaxed;

    vej_rtcp_iter_init(&it, data, size);
    while ((r = vej_rtcp_next(&it, &p)) > 0) {
        CHECK(p.raw == data + covered && p.raw_len >= 4 && p.raw_len % 4 == 0);
        CHECK(p.body == p.raw + 4 && p.body + p.body_len <= p.raw + p.raw_len);
        covered += p.raw_len;
        CHECK(covered <= size);
        if (first_type < 0)
            first_type = p.type;
        reports(&p, out);
        sdes_bye(&p, out);
        nack(&p, out);
        psfb(&p, out);
    }
    CHECK(vej_rtcp_status_name(r) != NULL);
    CHECK(r < 0 || covered == size);
    strict = vej_rtcp_validate_compound(data, size, false);
    relaxed = vej_rtcp_validate_compound(data, size, true);
    CHECK((int)relaxed == r);
    if (r == 0)
        CHECK(strict == (first_type == VEJ_RTCP_SR || first_type == VEJ_RTCP_RR ? VEJ_RTCP_OK
                                                                                : VEJ_RTCP_EFIRST));
    return 0;
}
