/*
 * block.c: BLOCK_BASIC devices over the BLOCK_READ/BLOCK_WRITE hypercalls.
 *
 * The monitor only checks the byte range; Solo5's API additionally
 * promises whole, aligned blocks, so that is enforced here (and lets us
 * refuse bad requests without a VM exit).
 */
#include "internal.h"

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info)
{
    solo5_handle_t h;
    const struct mft_entry *e = rt_mft_find(name, MFT_DEV_BLOCK_BASIC, &h);

    if (e == NULL || handle == NULL || info == NULL)
        return SOLO5_R_EINVAL;
    *handle = h;
    info->capacity = e->u.block_basic.capacity;
    info->block_size = e->u.block_basic.block_size;
    return SOLO5_R_OK;
}

/* Validate one block-sized, block-aligned, in-range request. */
static const struct mft_entry *check_io(solo5_handle_t h, solo5_off_t off,
                                        size_t size)
{
    const struct mft_entry *e = rt_mft_get(h, MFT_DEV_BLOCK_BASIC);

    if (e == NULL)
        return NULL;
    uint64_t bs = e->u.block_basic.block_size;
    uint64_t cap = e->u.block_basic.capacity;
    if (bs == 0 || size != bs || off % bs != 0)
        return NULL;
    if (off >= cap || cap - off < size)
        return NULL;
    return e;
}

static solo5_result_t block_io(unsigned nr, solo5_handle_t h,
                               solo5_off_t off, const void *buf, size_t size)
{
    volatile struct hvt_hc_block_io arg;

    if (check_io(h, off, size) == NULL)
        return SOLO5_R_EINVAL;
    arg.handle = h;
    arg.offset = off;
    arg.data = (uint64_t)(uintptr_t)buf;
    arg.len = size;
    arg.ret = SOLO5_R_EUNSPEC;
    hvt_hypercall(nr, &arg);
    return (solo5_result_t)arg.ret;
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
                                 const uint8_t *buf, size_t size)
{
    return block_io(HVT_HC_BLOCK_WRITE, handle, offset, buf, size);
}

solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
                                uint8_t *buf, size_t size)
{
    return block_io(HVT_HC_BLOCK_READ, handle, offset, buf, size);
}
