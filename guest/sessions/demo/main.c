/*
 * demo: a session that chains four library functions. It base64-decodes
 * a built-in message (base64.b64decode), hashes it (sha256.sha256), takes
 * its CRC-32 (crc32.crc32), sorts a small array (sort.sort_u32), prints
 * each result in hex, checks it against the known answer and prints
 * SUCCESS.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"
#include <string.h>

UAAF_IMPORT(base64, b64decode);
UAAF_IMPORT(sha256, sha256);
UAAF_IMPORT(crc32, crc32);
UAAF_IMPORT(sort, sort_u32);

static const char message_b64[] =
    "VW5pa2VybmVsIGFzIGEgRnVuY3Rpb246IG9uZSBjYWxsLCB0d28gdmlld3MuCg==";
static const char message[] = "Unikernel as a Function: one call, two views.\n";
static const unsigned char sha256_want[32] = {
    0x75, 0x55, 0x63, 0x5a, 0x71, 0x79, 0xae, 0x9b, 0x6d, 0x2c, 0x25,
    0xd9, 0x77, 0x52, 0xb3, 0xed, 0x72, 0x5c, 0x12, 0x16, 0x9b, 0x96,
    0x4f, 0x20, 0x93, 0x23, 0x1c, 0x01, 0x17, 0x94, 0x7b, 0x06,
};
static const uint32_t crc32_want = 0x90343339;
static const uint32_t unsorted[8] = {42, 7, 65535, 19, 0, 1000, 7, 3};
static const uint32_t sorted_want[8] = {0, 3, 7, 7, 19, 42, 1000, 65535};

static void print_hex(const char *label, const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char line[128];
    const unsigned char *b = p;
    size_t k = 0;

    while (*label && k < 32)
        line[k++] = *label++;
    line[k++] = ':';
    line[k++] = ' ';
    for (size_t i = 0; i < n && k + 3 < sizeof(line); i++) {
        line[k++] = digits[b[i] >> 4];
        line[k++] = digits[b[i] & 15];
    }
    line[k++] = '\n';
    solo5_console_write(line, k);
}

static int fail(const char *what, long rc)
{
    if (rc < 0)
        uaaf_printf("FAILURE: %s: %ld (%s)\n", what, rc, uaaf_strerror(rc));
    else
        uaaf_printf("FAILURE: %s: wrong result\n", what);
    return SOLO5_EXIT_FAILURE;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    unsigned char decoded[64], digest[32], crc[4];
    uint32_t sorted[8];
    long n;

    (void)si;
    n = uaaf_call(UAAF_FN(base64, b64decode), message_b64,
                  sizeof(message_b64) - 1, decoded, sizeof(decoded));
    if (n != (long)sizeof(message) - 1 || memcmp(decoded, message, n) != 0)
        return fail("base64.b64decode", n);
    print_hex("decoded", decoded, (size_t)n);
    solo5_console_write((const char *)decoded, (size_t)n);

    long rc = uaaf_call(UAAF_FN(sha256, sha256), decoded, (size_t)n, digest,
                        sizeof(digest));
    if (rc != 32 || memcmp(digest, sha256_want, 32) != 0)
        return fail("sha256.sha256", rc);
    print_hex("sha256", digest, 32);

    rc = uaaf_call(UAAF_FN(crc32, crc32), decoded, (size_t)n, crc,
                   sizeof(crc));
    uint32_t c = (uint32_t)crc[0] | (uint32_t)crc[1] << 8 |
                 (uint32_t)crc[2] << 16 | (uint32_t)crc[3] << 24;
    if (rc != 4 || c != crc32_want)
        return fail("crc32.crc32", rc);
    uaaf_printf("crc32: %08x\n", c);

    rc = uaaf_call(UAAF_FN(sort, sort_u32), unsorted, sizeof(unsorted),
                   sorted, sizeof(sorted));
    if (rc != (long)sizeof(sorted) ||
        memcmp(sorted, sorted_want, sizeof(sorted)) != 0)
        return fail("sort.sort_u32", rc);
    uaaf_printf("sorted: %x %x %x %x %x %x %x %x\n", sorted[0], sorted[1],
                sorted[2], sorted[3], sorted[4], sorted[5], sorted[6],
                sorted[7]);

    solo5_console_write("SUCCESS\n", 8);
    return SOLO5_EXIT_SUCCESS;
}
