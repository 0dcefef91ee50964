/*
 * hvt_abi.h: the Solo5 "hvt" guest/monitor ABI as seen from the guest.
 *
 * Written for uaaf from the facts in docs (ports, layouts, note formats);
 * every offset below is pinned with a static assertion so a layout change
 * fails the build instead of silently breaking the ABI.
 */
#ifndef UAAF_HVT_ABI_H
#define UAAF_HVT_ABI_H

#define HVT_ABI_TARGET 1  /* abi_target value for hvt in the ABI1 note */
#define HVT_ABI_VERSION 2 /* abi_version in the ABI1 note */

/* Hypercall n is an `outl` to port HVT_HYPERCALL_PIO_BASE + n. */
#define HVT_HYPERCALL_PIO_BASE 0x500
#define HVT_HC_WALLTIME 1
#define HVT_HC_PUTS 2
#define HVT_HC_POLL 3
#define HVT_HC_BLOCK_WRITE 4
#define HVT_HC_BLOCK_READ 5
#define HVT_HC_NET_WRITE 6
#define HVT_HC_NET_READ 7
#define HVT_HC_HALT 8
#define HVT_HC_MAX 9

/* GPA of struct hvt_boot_info, also passed in RDI to _start. */
#define HVT_BOOT_INFO_GPA 0x10000
/* Lowest address an image may be loaded at. */
#define HVT_GUEST_MIN_BASE 0x100000
/* host_features bit: shared-ring net I/O (uaaf never offers it). */
#define HVT_FEATURE_RING_IO (1U << 0)

/* ELF note identification (owner "Solo5", namesz 6 incl. NUL). */
#define SOLO5_NOTE_NAME "Solo5"
#define SOLO5_NOTE_NAMESZ 6
#define SOLO5_NOTE_TYPE_ABI 0x31494241 /* "ABI1" little endian */
#define SOLO5_NOTE_TYPE_MFT 0x3154464d /* "MFT1" little endian */

/* Manifest limits and entry types. */
#define MFT_VERSION 1
#define MFT_MAX_ENTRIES 64 /* including the reserved entry 0 */
#define MFT_NAME_SIZE 68   /* 67 characters + NUL */
#define MFT_NAME_MAX (MFT_NAME_SIZE - 1)
#define MFT_DEV_BLOCK_BASIC 1
#define MFT_DEV_NET_BASIC 2
#define MFT_RESERVED_FIRST 0x40000000

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Boot information written by the monitor at HVT_BOOT_INFO_GPA (56 bytes). */
struct hvt_boot_info {
    uint64_t mem_size;       /* 0: usable guest RAM in bytes */
    uint64_t kernel_end;     /* 8: end of the loaded (non-BSS-only) image */
    uint64_t cpu_cycle_freq; /* 16: TSC frequency in Hz */
    uint64_t cmdline;        /* 24: GPA of the NUL-terminated command line */
    uint64_t mft;            /* 32: GPA of the monitor's copy of struct mft */
    uint32_t host_features;  /* 40: HVT_FEATURE_* offered by the monitor */
    uint32_t guest_features; /* 44: unused, 0 */
    uint64_t net_ring;       /* 48: ring GPA when RING_IO is offered, else 0 */
};

/*
 * Hypercall argument structures. Pointers travel as 64-bit GPAs; the guest
 * is identity mapped so a guest pointer is its own GPA.
 */
struct hvt_hc_walltime {
    uint64_t nsecs; /* 0 OUT: CLOCK_REALTIME in ns */
};

struct hvt_hc_puts {
    uint64_t data; /* 0 IN */
    uint64_t len;  /* 8 IN */
};

struct hvt_hc_poll {
    uint64_t timeout_nsecs; /* 0 IN: relative timeout */
    uint64_t ready_set;     /* 8 OUT: bit n = manifest entry n is readable */
    int32_t ret;            /* 16 OUT: number of ready devices */
};

/* BLOCK_WRITE and BLOCK_READ share one layout. */
struct hvt_hc_block_io {
    uint64_t handle; /* 0 IN: manifest index */
    uint64_t offset; /* 8 IN: byte offset */
    uint64_t data;   /* 16 IN */
    uint64_t len;    /* 24 IN (IN/OUT for read) */
    int32_t ret;     /* 32 OUT: SOLO5_R_* */
};

/* NET_WRITE and NET_READ share one layout. */
struct hvt_hc_net_io {
    uint64_t handle; /* 0 IN: manifest index */
    uint64_t data;   /* 8 IN */
    uint64_t len;    /* 16 IN (IN/OUT for read) */
    int32_t ret;     /* 24 OUT: SOLO5_R_* */
};

struct hvt_hc_halt {
    uint64_t cookie;     /* 0 IN: GPA of a trap frame or 0 */
    int32_t exit_status; /* 8 IN: process exit status (& 0xff) */
};

/* Manifest entry (104 bytes). The monitor fills u, b and attached. */
struct mft_entry {
    char name[MFT_NAME_SIZE]; /* 0 */
    uint32_t type;            /* 68: MFT_DEV_* or MFT_RESERVED_FIRST */
    union {
        struct {
            uint64_t capacity;   /* 72 */
            uint16_t block_size; /* 80 */
        } block_basic;
        struct {
            uint8_t mac[6]; /* 72 */
            uint16_t mtu;   /* 78 */
        } net_basic;
    } u;
    union {
        int hostfd;
        void *data;
    } b;           /* 88: host-private */
    bool attached; /* 96 */
};

struct mft {
    uint32_t version; /* 0: MFT_VERSION */
    uint32_t entries; /* 4: including entry 0 */
    struct mft_entry e[];
};

/*
 * The MFT1 note as it sits in the ELF file: 12-byte header, "Solo5" padded
 * to 8 bytes, then 4 bytes of padding because the descriptor is 8-aligned.
 * n_descsz counts the 4 pad bytes plus the struct mft.
 */
struct mft_note_header {
    uint32_t namesz; /* 0: 6 */
    uint32_t descsz; /* 4: 4 + 8 + 104 * entries */
    uint32_t type;   /* 8: SOLO5_NOTE_TYPE_MFT */
    char name[8];    /* 12: "Solo5" */
    uint32_t pad;    /* 20 */
};

#define HVT_CHECK_OFF(t, f, o)                                                 \
    _Static_assert(offsetof(struct t, f) == (o), #t "." #f " offset")
#define HVT_CHECK_SIZE(t, s)                                                   \
    _Static_assert(sizeof(struct t) == (s), #t " size")

HVT_CHECK_SIZE(hvt_boot_info, 56);
HVT_CHECK_OFF(hvt_boot_info, kernel_end, 8);
HVT_CHECK_OFF(hvt_boot_info, cpu_cycle_freq, 16);
HVT_CHECK_OFF(hvt_boot_info, cmdline, 24);
HVT_CHECK_OFF(hvt_boot_info, mft, 32);
HVT_CHECK_OFF(hvt_boot_info, host_features, 40);
HVT_CHECK_OFF(hvt_boot_info, net_ring, 48);
HVT_CHECK_SIZE(hvt_hc_walltime, 8);
HVT_CHECK_SIZE(hvt_hc_puts, 16);
HVT_CHECK_SIZE(hvt_hc_poll, 24);
HVT_CHECK_OFF(hvt_hc_poll, ret, 16);
HVT_CHECK_SIZE(hvt_hc_block_io, 40);
HVT_CHECK_OFF(hvt_hc_block_io, ret, 32);
HVT_CHECK_SIZE(hvt_hc_net_io, 32);
HVT_CHECK_OFF(hvt_hc_net_io, ret, 24);
HVT_CHECK_SIZE(hvt_hc_halt, 16);
HVT_CHECK_OFF(hvt_hc_halt, exit_status, 8);
HVT_CHECK_SIZE(mft_entry, 104);
HVT_CHECK_OFF(mft_entry, type, 68);
HVT_CHECK_OFF(mft_entry, u.block_basic.capacity, 72);
HVT_CHECK_OFF(mft_entry, u.block_basic.block_size, 80);
HVT_CHECK_OFF(mft_entry, u.net_basic.mtu, 78);
HVT_CHECK_OFF(mft_entry, b, 88);
HVT_CHECK_OFF(mft_entry, attached, 96);
HVT_CHECK_SIZE(mft, 8);
HVT_CHECK_SIZE(mft_note_header, 24);

/*
 * Issue hypercall nr with argument block arg. The monitor takes the 32-bit
 * GPA from EAX (guest RAM is at most 4 GiB, so it fits). The "memory"
 * clobber makes the compiler flush stores to *arg before the exit and
 * re-read the monitor's results after it; no CPU barrier is needed.
 */
static inline void hvt_hypercall(unsigned nr, volatile void *arg)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)arg),
                           "d"((uint16_t)(HVT_HYPERCALL_PIO_BASE + nr))
                         : "memory");
}

#endif /* !__ASSEMBLER__ */
#endif /* UAAF_HVT_ABI_H */
