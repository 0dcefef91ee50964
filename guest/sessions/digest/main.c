/*
 * digest: a session that reads its invocation input (uaaf_input) and
 * prints its length, SHA-256 (sha256.sha256) and CRC-32 (crc32.crc32) —
 * what `uaaf invoke --input FILE digest` shows. Without input it digests
 * the empty string. Exit status 1 if the input cannot be read or a call
 * fails.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"

UAAF_IMPORT(sha256, sha256);
UAAF_IMPORT(crc32, crc32);

/* What one call can carry in (the call area's payload). */
static unsigned char input[UAAF_CALL_DATA_MAX];

static void hex(char *out, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    unsigned char digest[32], crc[4];
    char text[65];

    (void)si;
    long n = uaaf_input(input, sizeof(input));
    if (n < 0) {
        uaaf_printf("digest: no input device, or input larger than %u bytes\n",
                    (unsigned)sizeof(input));
        return SOLO5_EXIT_FAILURE;
    }
    long rc = uaaf_call(UAAF_FN(sha256, sha256), input, (size_t)n, digest, sizeof(digest));
    if (rc != 32) {
        uaaf_printf("digest: sha256.sha256: %ld (%s)\n", rc, uaaf_strerror(rc));
        return SOLO5_EXIT_FAILURE;
    }
    hex(text, digest, 32);
    uaaf_printf("bytes: %ld\nsha256: %s\n", n, text);
    rc = uaaf_call(UAAF_FN(crc32, crc32), input, (size_t)n, crc, sizeof(crc));
    if (rc != 4) {
        uaaf_printf("digest: crc32.crc32: %ld (%s)\n", rc, uaaf_strerror(rc));
        return SOLO5_EXIT_FAILURE;
    }
    uaaf_printf("crc32: %08x\n", (unsigned)crc[0] | (unsigned)crc[1] << 8 |
                                      (unsigned)crc[2] << 16 | (unsigned)crc[3] << 24);
    return SOLO5_EXIT_SUCCESS;
}
