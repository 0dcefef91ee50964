/*
 * solo5.h: the Solo5 public guest API, implemented by the uaaf guest SDK.
 *
 * Programs written against Solo5's API compile unchanged: the names, types,
 * result codes and semantics below follow Solo5's interface. The
 * implementation (guest/runtime) is uaaf's own.
 */
#ifndef UAAF_SOLO5_H
#define UAAF_SOLO5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result of an API call. */
typedef enum {
    SOLO5_R_OK = 0,      /* success */
    SOLO5_R_AGAIN = 1,   /* try again later (e.g. no packet available) */
    SOLO5_R_EINVAL = 2,  /* invalid argument */
    SOLO5_R_EUNSPEC = 3, /* unspecified error */
} solo5_result_t;

/* Exit statuses with special meaning. */
#define SOLO5_EXIT_SUCCESS 0
#define SOLO5_EXIT_FAILURE 1
#define SOLO5_EXIT_ABORT 255

/* A device handle is the device's index in the manifest. */
typedef uint64_t solo5_handle_t;
/* Bit n set = device with handle n. */
typedef uint64_t solo5_handle_set_t;
/* Nanoseconds. */
typedef uint64_t solo5_time_t;
/* Byte offset on a block device. */
typedef uint64_t solo5_off_t;

/* Passed to solo5_app_main(). */
struct solo5_start_info {
    const char *cmdline;  /* command line, --solo5: options removed */
    uintptr_t heap_start; /* first free byte after the image */
    size_t heap_size;     /* bytes usable from heap_start */
};

/* The application's entry point; its return value is the exit status. */
int solo5_app_main(const struct solo5_start_info *info);

/* Terminate with status (0..255). */
void solo5_exit(int status) __attribute__((noreturn));
/* Terminate abnormally (status SOLO5_EXIT_ABORT). */
void solo5_abort(void) __attribute__((noreturn));

/* Write size bytes to the console (monitor's stdout). */
void solo5_console_write(const char *buf, size_t size);

/* Monotonic time in ns since an arbitrary point. */
solo5_time_t solo5_clock_monotonic(void);
/* Wall clock time in ns since the Unix epoch. */
solo5_time_t solo5_clock_wall(void);

/*
 * Block until the monotonic clock reaches deadline or a network device has
 * input. If ready_set is not NULL it receives the set of readable devices
 * (0 on timeout).
 */
void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set);

/* Set the FS segment base (thread pointer) to base. */
solo5_result_t solo5_set_tls_base(uintptr_t base);

/*
 * Compiler-TLS helpers (x86_64 variant II layout): solo5_tls_size() bytes
 * at tls hold the .tdata/.tbss image plus the self pointer;
 * solo5_tls_init(tls) fills it and makes it current.
 */
size_t solo5_tls_size(void);
uintptr_t solo5_tls_tp_offset(uintptr_t tls);
solo5_result_t solo5_tls_init(uintptr_t tls);

/* Block devices. I/O must be exactly one block at a block-aligned offset. */
struct solo5_block_info {
    solo5_off_t capacity;   /* bytes */
    solo5_off_t block_size; /* bytes */
};

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info);
solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
                                 const uint8_t *buf, size_t size);
solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
                                uint8_t *buf, size_t size);

/* Network devices (Ethernet frames). */
#define SOLO5_NET_ALEN 6  /* MAC address length */
#define SOLO5_NET_HLEN 14 /* Ethernet header length */

struct solo5_net_info {
    uint8_t mac_address[SOLO5_NET_ALEN];
    size_t mtu; /* payload MTU, excluding the Ethernet header */
};

solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info);
solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf,
                               size_t size);
solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
                              size_t size, size_t *read_size);

#endif /* UAAF_SOLO5_H */
