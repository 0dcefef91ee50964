/*
 * input.c: the invocation input of `uaaf serve` (guest/UAAF_ABI.md, "Input
 * payload"): a read-only block device "input" whose sector 0 holds the
 * magic "UAAFIN01" and the payload's length (little-endian uint64), the
 * payload following from byte 512. Plain Solo5 block reads, so a guest
 * built with Solo5's own toolchain can read it the same way.
 */
#include "solo5.h"
#include "uaaf_guest.h"
#include <string.h>

#define INPUT_SECTOR 512

long uaaf_input(void *buf, size_t cap)
{
    solo5_handle_t h;
    struct solo5_block_info bi;
    static uint8_t sector[INPUT_SECTOR] __attribute__((aligned(16)));

    if (solo5_block_acquire("input", &h, &bi) != SOLO5_R_OK)
        return -1;
    if (bi.block_size != INPUT_SECTOR || bi.capacity < INPUT_SECTOR ||
        solo5_block_read(h, 0, sector, INPUT_SECTOR) != SOLO5_R_OK ||
        memcmp(sector, "UAAFIN01", 8) != 0)
        return -1;
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | sector[8 + i];
    if (len > bi.capacity - INPUT_SECTOR || len > cap)
        return -1;
    uint8_t *out = buf;
    for (uint64_t off = 0; off < len; off += INPUT_SECTOR) {
        if (solo5_block_read(h, INPUT_SECTOR + off, sector, INPUT_SECTOR) != SOLO5_R_OK)
            return -1;
        size_t n = len - off < INPUT_SECTOR ? (size_t)(len - off) : INPUT_SECTOR;
        memcpy(out + off, sector, n);
    }
    return (long)len;
}
