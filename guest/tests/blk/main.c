/*
 * blk: write patterned blocks to device "storage", read them back and
 * compare; requests outside the device or not one aligned block must fail
 * with SOLO5_R_EINVAL.
 */
#include "common.h"

#define MAX_BLOCK 4096
#define NBLOCKS 8

static uint8_t wbuf[MAX_BLOCK] __attribute__((aligned(4096)));
static uint8_t rbuf[MAX_BLOCK] __attribute__((aligned(4096)));

static void fill(uint8_t *buf, size_t n, uint64_t block)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(block * 31 + i);
}

static int check_block(solo5_handle_t h, uint64_t block, size_t bs)
{
    fill(wbuf, bs, block);
    if (solo5_block_write(h, block * bs, wbuf, bs) != SOLO5_R_OK)
        return fail("block write");
    memset(rbuf, 0, bs);
    if (solo5_block_read(h, block * bs, rbuf, bs) != SOLO5_R_OK)
        return fail("block read");
    if (memcmp(wbuf, rbuf, bs) != 0)
        return fail("read back data differs");
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_handle_t h;
    struct solo5_block_info bi;

    (void)si;
    if (solo5_block_acquire("storage", &h, &bi) != SOLO5_R_OK)
        return fail("acquire 'storage'");
    if (solo5_block_acquire("nosuchdevice", &h, &bi) == SOLO5_R_OK)
        return fail("acquired an undeclared device");
    if (solo5_block_acquire("storage", &h, &bi) != SOLO5_R_OK)
        return fail("re-acquire 'storage'");
    uaaf_printf("storage: capacity %lu, block size %lu\n",
                (unsigned long)bi.capacity, (unsigned long)bi.block_size);
    size_t bs = bi.block_size;
    if (bs == 0 || bs > MAX_BLOCK || bi.capacity < bs)
        return fail("unexpected block geometry");
    uint64_t nblocks = bi.capacity / bs;

    for (uint64_t b = 0; b < NBLOCKS && b < nblocks; b++)
        if (check_block(h, b, bs))
            return SOLO5_EXIT_FAILURE;
    if (check_block(h, nblocks - 1, bs))
        return SOLO5_EXIT_FAILURE;

    if (solo5_block_write(h, bi.capacity, wbuf, bs) != SOLO5_R_EINVAL ||
        solo5_block_read(h, bi.capacity, rbuf, bs) != SOLO5_R_EINVAL)
        return fail("offset at capacity not rejected");
    if (solo5_block_read(h, bi.capacity + 16 * bs, rbuf, bs) != SOLO5_R_EINVAL)
        return fail("offset beyond capacity not rejected");
    if (solo5_block_read(h, 1, rbuf, bs) != SOLO5_R_EINVAL)
        return fail("misaligned offset not rejected");
    if (solo5_block_read(h, 0, rbuf, bs - 1) != SOLO5_R_EINVAL ||
        (bs * 2 <= MAX_BLOCK &&
         solo5_block_read(h, 0, rbuf, bs * 2) != SOLO5_R_EINVAL))
        return fail("size other than one block not rejected");
    if (solo5_block_read(h + 1, 0, rbuf, bs) != SOLO5_R_EINVAL)
        return fail("invalid handle not rejected");
    return success();
}
