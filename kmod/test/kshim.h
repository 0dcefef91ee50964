/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim.h - the few kernel types ept.c needs, for the userspace test build.
 * Included by ept.h only when __KERNEL__ is not defined.
 */
#ifndef _UAAF_KSHIM_H
#define _UAAF_KSHIM_H

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

#endif /* _UAAF_KSHIM_H */
