/* fuzz_pcap.c - recording/pcap-read.c over any bytes.
 *
 * Promises checked: every record returned lies inside the input, its
 * payload ends where the record ends, records are contiguous from byte 24,
 * the index counts up from 0, and an error or the end repeats forever. */
#include "recording/pcap-read.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vej_pcap_reader r;
    struct vej_pcap_record rec;
    int st = vej_pcap_reader_init(&r, data, size);
    if (st != VEJ_PCAP_OK) {
        if (vej_pcap_reader_next(&r, &rec) != st)
            abort();
        return 0;
    }
    uint64_t expect_offset = 24, expect_index = 0;
    while ((st = vej_pcap_reader_next(&r, &rec)) == VEJ_PCAP_OK) {
        if (rec.offset != expect_offset || rec.index != expect_index)
            abort();
        if (rec.payload < data || rec.payload + rec.payload_len > data + size)
            abort();
        if (rec.tuple.protocol != 17)
            abort();
        /* record = 16-byte header + IP + UDP + payload, ending at the payload's end */
        expect_offset = (uint64_t)(rec.payload + rec.payload_len - data);
        if (expect_offset != r.pos)
            abort();
        expect_index++;
        (void)vej_pcap_strerror(st);
    }
    if (st != VEJ_PCAP_END && st >= 0)
        abort();
    if (vej_pcap_reader_next(&r, &rec) != st || r.status != st)
        abort();
    (void)vej_pcap_strerror(st);
    return 0;
}
