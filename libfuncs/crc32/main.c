/*
 * crc32: library function `crc32`: CRC-32/IEEE 802.3 of the input
 * (reflected, polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF; the same value as Go's hash/crc32.ChecksumIEEE), 4 bytes
 * little-endian.
 *
 * The byte table is computed once by uaaf_lib_init() at preload, so it is
 * part of the library's pristine image and every session starts with it.
 */
#include "uaaf.h"

static uint32_t table[256];

int uaaf_lib_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320U : c >> 1;
        table[i] = c;
    }
    /* Known answer for "1": a broken table stops the preload. */
    return table[1] == 0x77073096U ? 0 : -1;
}

long crc32(const void *in, size_t in_len, void *out, size_t out_cap)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    uint32_t c = 0xFFFFFFFFU;

    if (out_cap < 4)
        return 4; /* more than out_cap: the caller gets UAAF_E2BIG */
    for (size_t i = 0; i < in_len; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    c ^= 0xFFFFFFFFU;
    o[0] = (unsigned char)c;
    o[1] = (unsigned char)(c >> 8);
    o[2] = (unsigned char)(c >> 16);
    o[3] = (unsigned char)(c >> 24);
    return 4;
}
UAAF_EXPORT(crc32);
