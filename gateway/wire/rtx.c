/* rtx.c - RFC 4588 packets and the retransmission byte budget. */
#include "gateway/wire/rtx.h"
#include "gateway/wire/wire-priv.h"

#include <string.h>

#define US_PER_S 1000000u
/* Refill is computed over at most this long a pause, so that the product
 * below stays far from overflow; a longer pause fills the bucket anyway
 * whenever burst <= rate * 10 s. */
#define MAX_REFILL_US (10 * (int64_t)US_PER_S)

long
vej_rtx_write(uint8_t *out, size_t cap, const struct vej_rtx_header *h, uint16_t osn,
              const uint8_t *payload, size_t len)
{
    size_t block = h->extensions ? vej_rtp_ext_block_size(h->extensions) : 0;
    size_t header = VEJ_RTP_HEADER_MIN + block, total = header + VEJ_RTX_OSN_LEN;

    if (h->payload_type > 127 || (!payload && len > 0))
        return VEJ_RTP_EINVAL;
    if (!out || cap < total || cap - total < len)
        return VEJ_RTP_ENOSPACE;
    out[0] = (uint8_t)(VEJ_RTP_VERSION << 6 | (block ? 0x10 : 0));
    out[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->payload_type);
    wr16(out + 2, h->seq);
    wr32(out + 4, h->timestamp);
    wr32(out + 8, h->ssrc);
    if (block)
        vej_rtp_ext_write(h->extensions, out + VEJ_RTP_HEADER_MIN, block);
    wr16(out + header, osn);
    if (len)
        memcpy(out + total, payload, len);
    return (long)(total + len);
}

enum vej_rtp_status
vej_rtx_unwrap(const struct vej_rtp_view *rtx, uint16_t *osn, const uint8_t **payload,
               size_t *payload_len)
{
    if (!rtx->payload || rtx->payload_len < VEJ_RTX_OSN_LEN)
        return VEJ_RTP_ETRUNCATED;
    *osn = rd16(rtx->payload);
    *payload = rtx->payload + VEJ_RTX_OSN_LEN;
    *payload_len = rtx->payload_len - VEJ_RTX_OSN_LEN;
    return VEJ_RTP_OK;
}

void
vej_rtx_budget_init(struct vej_rtx_budget *b, uint32_t bytes_per_s, uint32_t burst_bytes)
{
    b->rate = bytes_per_s;
    b->burst = burst_bytes;
    b->tokens = (uint64_t)burst_bytes * US_PER_S;
    b->last_us = 0;
    b->started = false;
}

bool
vej_rtx_budget_take(struct vej_rtx_budget *b, size_t bytes, int64_t now_us)
{
    uint64_t cap = (uint64_t)b->burst * US_PER_S;
    uint64_t need;

    if (!b->started) {
        b->started = true;
        b->last_us = now_us;
    } else if (now_us > b->last_us) {
        int64_t dt = now_us - b->last_us;
        if (dt > MAX_REFILL_US)
            dt = MAX_REFILL_US;
        b->tokens += (uint64_t)dt * b->rate;
        if (b->tokens > cap)
            b->tokens = cap;
        b->last_us = now_us;
    }
    if (bytes > b->burst)
        return false;
    need = (uint64_t)bytes * US_PER_S;
    if (b->tokens < need)
        return false;
    b->tokens -= need;
    return true;
}
