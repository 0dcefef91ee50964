/*
 * mft.c: device lookup in the monitor's copy of the manifest
 * (boot_info->mft). A handle is the device's manifest index, the same
 * number the monitor uses in POLL's ready_set.
 */
#include "internal.h"
#include <string.h>

static const struct mft *mft;

/* Accept the manifest only if its header is sane; a bad one means no
 * devices rather than out-of-bounds reads later. */
void rt_mft_init(void)
{
    const struct mft *m = (const struct mft *)(uintptr_t)rt_boot_info->mft;

    if (m == NULL || m->version != MFT_VERSION || m->entries < 1 ||
        m->entries > MFT_MAX_ENTRIES) {
        rt_log(LOG_WARN, "no valid manifest in boot info\n");
        return;
    }
    mft = m;
    for (uint32_t i = 1; i < m->entries; i++)
        rt_log(LOG_DEBUG, "device %u: %s type %u%s\n", i, m->e[i].name,
               m->e[i].type, m->e[i].attached ? "" : " (not attached)");
}

const struct mft_entry *rt_mft_get(solo5_handle_t h, uint32_t type)
{
    if (mft == NULL || h == 0 || h >= mft->entries)
        return NULL;
    const struct mft_entry *e = &mft->e[h];
    if (e->type != type || !e->attached)
        return NULL;
    return e;
}

const struct mft_entry *rt_mft_find(const char *name, uint32_t type,
                                    solo5_handle_t *h)
{
    if (mft == NULL || name == NULL)
        return NULL;
    for (uint32_t i = 1; i < mft->entries; i++) {
        const struct mft_entry *e = &mft->e[i];
        /* Compare bounded: the monitor's copy is untrusted input too. */
        if (strncmp(e->name, name, MFT_NAME_SIZE) == 0 &&
            e->name[MFT_NAME_MAX] == '\0') {
            if (e->type != type || !e->attached)
                return NULL;
            *h = i;
            return e;
        }
    }
    return NULL;
}
