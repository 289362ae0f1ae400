/* bench/srtp.c - ns per SRTP protect and unprotect (gateway/transport/srtp.c over
 * libsrtp2) of a 1,200-byte RTP packet, for each DTLS-SRTP profile.
 *
 * Not a test: prints figures. Usage: bench-srtp [PACKETS] (default
 * 1,000,000 per profile). Packets go in batches of 1,000 (1.2 MB, as a
 * worker's pool would hold): the batch is filled with plaintext packets
 * of consecutive sequence numbers (untimed), protected by one session
 * (timed), then unprotected by the other (timed), so every packet is new
 * to the replay check. Each figure is the batch time over the batch size,
 * with CLOCK_MONOTONIC; the CPU, libsrtp2 version and profile are printed
 * with it. Build with --buildtype=release for figures worth quoting.
 *
 * Keys are random (the key schedule does not depend on where they come
 * from); the sessions are the ones a PeerConnection gets from
 * vej_srtp_new, a 1024-packet replay window and repeat-tx included.
 *
 * Heap allocations per packet are printed too when the process runs under
 * the allocation counter of bench/run-relay --allocs:
 *   VEJ_MALLOC_COUNT_FILE=/tmp/bench-srtp.counts \
 *   LD_PRELOAD=build-bench/bench/relay/malloc-count.so build-bench/bench/bench-srtp
 * (the shim's file starts with the process's allocation total; see
 * bench/relay/malloc-count.c). */
#include "gateway/transport/srtp.h"

#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PACKET_LEN 1200
#define BATCH 1000
#define SLOT (PACKET_LEN + VEJ_SRTP_MAX_OVERHEAD)

/* The allocation total kept by bench/relay/malloc-count.so, or NULL. */
static const uint64_t *alloc_total;

static void
open_alloc_counter(void)
{
    const char *path = getenv("VEJ_MALLOC_COUNT_FILE");
    if (path == NULL || *path == '\0')
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    void *m = mmap(NULL, sizeof *alloc_total, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    alloc_total = m;
}

static uint64_t
allocs_now(void)
{
    return alloc_total != NULL ? __atomic_load_n(alloc_total, __ATOMIC_RELAXED) : 0;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Two mirrored key sets: what one end protects with, the other
 * unprotects with. */
static void
make_keys(enum vej_srtp_profile profile, struct vej_srtp_keys *a, struct vej_srtp_keys *b)
{
    memset(a, 0, sizeof *a);
    a->profile = profile;
    if (!vej_srtp_profile_lengths(profile, &a->key_len, &a->salt_len) ||
        RAND_bytes(a->local_key, sizeof a->local_key) != 1 ||
        RAND_bytes(a->local_salt, sizeof a->local_salt) != 1 ||
        RAND_bytes(a->remote_key, sizeof a->remote_key) != 1 ||
        RAND_bytes(a->remote_salt, sizeof a->remote_salt) != 1) {
        fprintf(stderr, "cannot make keys\n");
        exit(1);
    }
    *b = *a;
    memcpy(b->local_key, a->remote_key, sizeof b->local_key);
    memcpy(b->local_salt, a->remote_salt, sizeof b->local_salt);
    memcpy(b->remote_key, a->local_key, sizeof b->remote_key);
    memcpy(b->remote_salt, a->local_salt, sizeof b->remote_salt);
}

static void
fill(uint8_t *slot, uint32_t index)
{
    static const uint8_t header[12] = {0x80, 96, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
    memcpy(slot, header, sizeof header);
    slot[2] = (uint8_t)(index >> 8);
    slot[3] = (uint8_t)index;
    slot[4] = (uint8_t)(index >> 24); /* timestamp: anything */
    memset(slot + 12, (int)(index & 0xff), PACKET_LEN - 12);
}

static void
bench_profile(enum vej_srtp_profile profile, unsigned long packets, uint8_t *batch)
{
    struct vej_srtp_keys ka, kb;
    GError *error = NULL;
    make_keys(profile, &ka, &kb);
    struct vej_srtp *sender = vej_srtp_new(&ka, &error);
    struct vej_srtp *receiver = sender != NULL ? vej_srtp_new(&kb, &error) : NULL;
    vej_srtp_keys_clear(&ka);
    vej_srtp_keys_clear(&kb);
    if (receiver == NULL) {
        fprintf(stderr, "vej_srtp_new: %s\n", error->message);
        exit(1);
    }

    size_t lens[BATCH];
    uint64_t protect_ns = 0, unprotect_ns = 0, done = 0;
    uint64_t protect_allocs = 0, unprotect_allocs = 0;
    uint32_t index = 0;
    while (done < packets) {
        for (size_t i = 0; i < BATCH; i++) {
            fill(batch + i * SLOT, index++);
            lens[i] = PACKET_LEN;
        }
        uint64_t a0 = allocs_now();
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < BATCH; i++) {
            if (vej_srtp_protect_rtp(sender, batch + i * SLOT, &lens[i], SLOT) != VEJ_SRTP_OK) {
                fprintf(stderr, "protect failed\n");
                exit(1);
            }
        }
        uint64_t t1 = now_ns();
        uint64_t a1 = allocs_now();
        for (size_t i = 0; i < BATCH; i++) {
            int rc = vej_srtp_unprotect_rtp(receiver, batch + i * SLOT, &lens[i]);
            if (rc != VEJ_SRTP_OK || lens[i] != PACKET_LEN) {
                fprintf(stderr, "unprotect failed: %s\n", vej_srtp_status_name(rc));
                exit(1);
            }
        }
        uint64_t t2 = now_ns();
        protect_ns += t1 - t0;
        unprotect_ns += t2 - t1;
        protect_allocs += a1 - a0;
        unprotect_allocs += allocs_now() - a1;
        done += BATCH;
    }
    const char *name = vej_srtp_profile_name(profile);
    printf("%-24s protect   %8.1f ns/packet", name, (double)protect_ns / (double)done);
    if (alloc_total != NULL)
        printf("  %6.2f allocations/packet", (double)protect_allocs / (double)done);
    printf("\n%-24s unprotect %8.1f ns/packet", name, (double)unprotect_ns / (double)done);
    if (alloc_total != NULL)
        printf("  %6.2f allocations/packet", (double)unprotect_allocs / (double)done);
    printf("\n");
    vej_srtp_free(sender);
    vej_srtp_free(receiver);
}

static void
print_machine(void)
{
    char *cpuinfo = NULL;
    const char *model = "unknown CPU";
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
        char *line = strstr(cpuinfo, "model name");
        char *colon = line != NULL ? strchr(line, ':') : NULL;
        if (colon != NULL) {
            model = colon + 2;
            *strchrnul(model, '\n') = '\0';
        }
    }
    printf("# %s, %s (crypto: %s), %d-byte RTP packets, batches of %d\n", model,
           srtp_get_version_string(), vej_srtp_crypto_name(), PACKET_LEN, BATCH);
    g_free(cpuinfo);
}

int
main(int argc, char **argv)
{
    unsigned long packets = 1000000;
    if (argc > 1) {
        guint64 n = 0;
        if (!g_ascii_string_to_unsigned(argv[1], 10, BATCH, G_MAXUINT32, &n, NULL)) {
            fprintf(stderr, "usage: %s [PACKETS >= %d]\n", argv[0], BATCH);
            return 2;
        }
        packets = (unsigned long)n;
    }
    uint8_t *batch = g_malloc((size_t)BATCH * SLOT);
    open_alloc_counter();
    print_machine();
    bench_profile(VEJ_SRTP_AEAD_AES_128_GCM, packets, batch);
    bench_profile(VEJ_SRTP_AES128_CM_SHA1_80, packets, batch);
    g_free(batch);
    return 0;
}
