/*
 * net.c: NET_BASIC devices over the NET_READ/NET_WRITE hypercalls.
 * uaaf never offers the shared-ring path (host_features bit 0), so this
 * runtime does not implement it.
 */
#include "internal.h"
#include <string.h>

solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info)
{
    solo5_handle_t h;
    const struct mft_entry *e = rt_mft_find(name, MFT_DEV_NET_BASIC, &h);

    if (e == NULL || handle == NULL || info == NULL)
        return SOLO5_R_EINVAL;
    *handle = h;
    memcpy(info->mac_address, e->u.net_basic.mac, SOLO5_NET_ALEN);
    info->mtu = e->u.net_basic.mtu;
    return SOLO5_R_OK;
}

solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf,
                               size_t size)
{
    volatile struct hvt_hc_net_io arg;

    if (rt_mft_get(handle, MFT_DEV_NET_BASIC) == NULL)
        return SOLO5_R_EINVAL;
    arg.handle = handle;
    arg.data = (uint64_t)(uintptr_t)buf;
    arg.len = size;
    arg.ret = SOLO5_R_EUNSPEC;
    hvt_hypercall(HVT_HC_NET_WRITE, &arg);
    return (solo5_result_t)arg.ret;
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
                              size_t size, size_t *read_size)
{
    volatile struct hvt_hc_net_io arg;

    if (rt_mft_get(handle, MFT_DEV_NET_BASIC) == NULL || read_size == NULL)
        return SOLO5_R_EINVAL;
    arg.handle = handle;
    arg.data = (uint64_t)(uintptr_t)buf;
    arg.len = size;
    arg.ret = SOLO5_R_EUNSPEC;
    hvt_hypercall(HVT_HC_NET_READ, &arg);
    if (arg.ret == SOLO5_R_OK)
        *read_size = arg.len;
    return (solo5_result_t)arg.ret;
}
