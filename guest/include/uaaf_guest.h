/*
 * uaaf_guest.h: uaaf extensions for guest programs beyond the Solo5 API.
 */
#ifndef UAAF_GUEST_H
#define UAAF_GUEST_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Minimal printf to the console: %s %c %d %i %u %x %p %%, with the length
 * modifiers l/ll/z, optional '0' flag and field width. No floating point.
 */
int uaaf_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int uaaf_vprintf(const char *fmt, va_list ap);
/* Write a NUL-terminated string to the console. */
void uaaf_puts(const char *s);
/* Print "ABORT" plus msg with file and line, then halt with status 255. */
void uaaf_panic(const char *file, int line, const char *msg)
    __attribute__((noreturn));

#define UAAF_PANIC(msg) uaaf_panic(__FILE__, __LINE__, (msg))

/*
 * Read the invocation's input payload (`uaaf invoke --input`, the "input"
 * field of POST /v1/invoke) into buf: its length, or -1 when the image has
 * no "input" block device in its manifest, the device is not an input
 * device, or the payload is larger than cap. Declare the device in
 * manifest.json: {"name": "input", "type": "BLOCK_BASIC"}.
 */
long uaaf_input(void *buf, size_t cap);

#endif /* UAAF_GUEST_H */
