/* bench/recording.c - ns per captured packet of the recorder, both sides
 * of its ring, on the real code (no timed test: it prints figures).
 *
 *   tap-push      what a media worker pays per captured packet: the arrival
 *                 time (CLOCK_REALTIME) and vej_ring_push of the packet;
 *   drain-record  what the recorder's thread pays: peek, the pcap record
 *                 (synthetic IPv4/UDP) into the segment buffer, pop;
 *   write+sha256  the segment buffer hashed (SHA-256) and written to a file
 *                 in the given folder, per packet (written every 50 ms);
 *
 * then, for a load of P captured packets/s (default 1,750: 10 publishers
 * of ~175 packets/s, the 10 x 10 case of bench/run-relay), the share of a
 * core the recorder takes, to compare with the gateway's CPU at that load
 * (docs/performance.md).
 *
 * Usage: bench-recording [DIR] [PACKETS_PER_S]   (DIR default: /tmp)
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recording/pcap-write.h"
#include "recording/ring.h"

#define PACKET 1200
#define N (1u << 20)

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t
realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double pps = argc > 2 ? atof(argv[2]) : 1750.0;
    static uint8_t ring_mem[8u << 20] __attribute__((aligned(8)));
    static uint8_t out[64 * (PACKET + 64)];
    uint8_t packet[PACKET];
    memset(packet, 0x5a, sizeof packet);
    packet[0] = 0x80;
    struct vej_ring ring;
    vej_ring_init(&ring, ring_mem, sizeof ring_mem);
    struct vej_pcap_endpoint src, dst, rs, rd;
    vej_pcap_track_endpoints(1, &src, &dst, &rs, &rd);

    /* Both sides in batches of 64, as a worker fills and the recorder drains. */
    uint64_t push = 0, drain = 0;
    size_t used = 0;
    for (unsigned done = 0; done < N; done += 64) {
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < 64; i++) {
            if (!vej_ring_push(&ring, 3, 1, realtime_ns(), packet, sizeof packet, NULL, 0)) {
                fprintf(stderr, "bench-recording: ring full\n");
                return 1;
            }
        }
        uint64_t t1 = now_ns();
        struct vej_ring_record rec;
        used = 0;
        while (vej_ring_peek(&ring, &rec)) {
            used += vej_pcap_record(out + used, sizeof out - used, rec.time, &src, &dst, rec.data,
                                    rec.len);
            vej_ring_pop(&ring);
        }
        uint64_t t2 = now_ns();
        push += t1 - t0;
        drain += t2 - t1;
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/bench-recording-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("bench-recording: mkstemp");
        return 1;
    }
    unlink(path);
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    const unsigned rounds = 2048; /* 64 packets each: 128 MiB in all */
    uint64_t t0 = now_ns();
    for (unsigned r = 0; r < rounds; r++) {
        EVP_DigestUpdate(sha, out, used);
        if (write(fd, out, used) != (ssize_t)used) {
            perror("bench-recording: write");
            return 1;
        }
    }
    fdatasync(fd);
    uint64_t t1 = now_ns();
    EVP_MD_CTX_free(sha);
    close(fd);
    double per_push = (double)push / N, per_drain = (double)drain / N;
    double per_write = (double)(t1 - t0) / (rounds * 64.0);
    double total = per_push + per_drain + per_write;
    printf("recorder, per captured %u-byte packet:\n", PACKET);
    printf("  tap-push      %8.1f ns  (media worker)\n", per_push);
    printf("  drain-record  %8.1f ns  (recorder thread)\n", per_drain);
    printf("  write+sha256  %8.1f ns  (recorder thread, %s)\n", per_write, dir);
    printf("  total         %8.1f ns\n", total);
    printf("at %.0f captured packets/s: %.3f%% of a core (worker side %.3f%%)\n", pps,
           total * pps / 1e7, per_push * pps / 1e7);
    return 0;
}
