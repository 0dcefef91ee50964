/*
 * demo: a session that chains four library functions, each in a view of
 * its own: it base64-decodes a built-in message (base64.b64decode), hashes
 * it (sha256.sha256), takes its CRC-32 (crc32.crc32) and sorts a small
 * array (sort.sort_u32). It prints one readable line per call — the view
 * (EPTP index) that served it, what went in and what came out — checks
 * each result against the known answer, and prints SUCCESS.
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
    "VW5pa2VybmVsIGFzIGEgRnVuY3Rpb246IG9uZSBjb3B5IG9mIHRoZSBjb2RlLCBwcml2YXRl"
    "IGRhdGEgZm9yIGVhY2ggc2Vzc2lvbi4K";
static const char message[] =
    "Unikernel as a Function: one copy of the code, private data for each session.\n";
static const unsigned char sha256_want[32] = {
    0x15, 0xa3, 0x4b, 0x79, 0xce, 0x0c, 0x34, 0xc6, 0x05, 0x76, 0x8b,
    0x48, 0xd5, 0x97, 0x52, 0xbd, 0xda, 0x82, 0x5f, 0x1e, 0xb1, 0xbc,
    0xa8, 0x93, 0xbb, 0x14, 0x00, 0xf9, 0x3d, 0x76, 0xe6, 0xfa,
};
static const uint32_t crc32_want = 0x37f49e71;
static const uint32_t unsorted[8] = {42, 7, 65535, 19, 0, 1000, 7, 3};
static const uint32_t sorted_want[8] = {0, 3, 7, 7, 19, 42, 1000, 65535};

static int fail(const char *what, long rc)
{
    if (rc < 0)
        uaaf_printf("FAILURE: %s: %ld (%s)\n", what, rc, uaaf_strerror(rc));
    else
        uaaf_printf("FAILURE: %s: wrong result\n", what);
    return SOLO5_EXIT_FAILURE;
}

static void print_u32s(const uint32_t *v, size_t n)
{
    uaaf_puts("[");
    for (size_t i = 0; i < n; i++)
        uaaf_printf(i ? " %u" : "%u", (unsigned)v[i]);
    uaaf_puts("]");
}

int solo5_app_main(const struct solo5_start_info *si)
{
    unsigned char decoded[128], digest[32], crc[4];
    uint32_t sorted[8];
    long n, rc;

    (void)si;
    uaaf_puts("demo: one session, four library functions, each in a view of its own\n");

    n = uaaf_call(UAAF_FN(base64, b64decode), message_b64,
                  sizeof(message_b64) - 1, decoded, sizeof(decoded));
    if (n != (long)sizeof(message) - 1 || memcmp(decoded, message, (size_t)n) != 0)
        return fail("base64.b64decode", n);
    uaaf_printf("  view %u  base64.b64decode  %u bytes -> %ld: \"",
                (unsigned)uaaf_view_of(UAAF_FN(base64, b64decode)),
                (unsigned)(sizeof(message_b64) - 1), n);
    solo5_console_write((const char *)decoded, (size_t)n - 1);
    uaaf_puts("\"\n");

    rc = uaaf_call(UAAF_FN(sha256, sha256), decoded, (size_t)n, digest, sizeof(digest));
    if (rc != 32 || memcmp(digest, sha256_want, 32) != 0)
        return fail("sha256.sha256", rc);
    uaaf_printf("  view %u  sha256.sha256     %ld bytes -> %02x%02x%02x%02x...%02x%02x%02x%02x (as expected)\n",
                (unsigned)uaaf_view_of(UAAF_FN(sha256, sha256)), n,
                digest[0], digest[1], digest[2], digest[3], digest[28], digest[29], digest[30], digest[31]);

    rc = uaaf_call(UAAF_FN(crc32, crc32), decoded, (size_t)n, crc, sizeof(crc));
    uint32_t c = (uint32_t)crc[0] | (uint32_t)crc[1] << 8 |
                 (uint32_t)crc[2] << 16 | (uint32_t)crc[3] << 24;
    if (rc != 4 || c != crc32_want)
        return fail("crc32.crc32", rc);
    uaaf_printf("  view %u  crc32.crc32       %ld bytes -> 0x%08x (as expected)\n",
                (unsigned)uaaf_view_of(UAAF_FN(crc32, crc32)), n, c);

    rc = uaaf_call(UAAF_FN(sort, sort_u32), unsorted, sizeof(unsorted),
                   sorted, sizeof(sorted));
    if (rc != (long)sizeof(sorted) ||
        memcmp(sorted, sorted_want, sizeof(sorted)) != 0)
        return fail("sort.sort_u32", rc);
    uaaf_printf("  view %u  sort.sort_u32     ", (unsigned)uaaf_view_of(UAAF_FN(sort, sort_u32)));
    print_u32s(unsorted, 8);
    uaaf_puts(" -> ");
    print_u32s(sorted, 8);
    uaaf_puts("\n");

    solo5_console_write("SUCCESS\n", 8);
    return SOLO5_EXIT_SUCCESS;
}
