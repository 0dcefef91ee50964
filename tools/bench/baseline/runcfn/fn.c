/*
 * fn: the container baseline of uaaf's benchmarks. A static Linux program
 * doing what the demo session (guest/sessions/demo) does through four
 * library functions: base64-decode a built-in message, SHA-256 it, CRC-32
 * it, sort eight numbers; print each result in the demo's format, check it
 * against the known answer, print SUCCESS and exit 0 (1 with FAILURE: ...
 * on a wrong result).
 *
 * "fn --wait" does the same, then prints READY and sleeps in pause() until
 * it is killed: the long-running variant for memory measurements.
 *
 * Built by baseline.BuildFunction with gcc -static -O2; libc is used only
 * for write(2), pause(2), memcmp and strcmp.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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

/* The demo session's report, line for line: printed once every result has
 * been checked (the "view" numbers are the session's binding of its four
 * imports, which a container does not have, kept so one expectation fits
 * both). */
static const char report[] =
    "demo: one session, four library functions, each in a view of its own\n"
    "  view 1  base64.b64decode  104 bytes -> 78: \"Unikernel as a Function: one copy of the code, private data for each session.\"\n"
    "  view 2  sha256.sha256     78 bytes -> 15a34b79...3d76e6fa (as expected)\n"
    "  view 3  crc32.crc32       78 bytes -> 0x37f49e71 (as expected)\n"
    "  view 4  sort.sort_u32     [42 7 65535 19 0 1000 7 3] -> [0 3 7 7 19 42 1000 65535]\n"
    "SUCCESS\n";
static const uint32_t unsorted[8] = {42, 7, 65535, 19, 0, 1000, 7, 3};
static const uint32_t sorted_want[8] = {0, 3, 7, 7, 19, 42, 1000, 65535};

static void out(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w <= 0)
            _exit(2);
        s += w;
        n -= (size_t)w;
    }
}

static void outs(const char *s) { out(s, strlen(s)); }

static int b64value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes padded base64 src[0..n) into dst; returns the length or -1. */
static long b64decode(const char *src, size_t n, unsigned char *dst, size_t cap)
{
    size_t o = 0;

    if (n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (src[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else if ((v[j] = b64value(src[i + j])) < 0 || pad) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                              (unsigned char)w};
        for (int j = 0; j < 3 - pad; j++) {
            if (o == cap)
                return -1;
            dst[o++] = b[j];
        }
    }
    return (long)o;
}

/* SHA-256 (FIPS 180-4) of a message that fits in memory. */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha256_block(uint32_t h[8], const unsigned char *blk)
{
    uint32_t w[64], s[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | (uint32_t)blk[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, h, sizeof(s));
    for (int i = 0; i < 64; i++) {
        uint32_t e = s[4], a = s[0];
        uint32_t t1 = s[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
                      ((e & s[5]) ^ (~e & s[6])) + K256[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
                      ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
        memmove(&s[1], &s[0], 7 * sizeof(s[0]));
        s[4] += t1;
        s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += s[i];
}

static void sha256(const unsigned char *p, size_t n, unsigned char digest[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char last[128];
    size_t full = n / 64 * 64, rest = n - full, tail;
    uint64_t bits = (uint64_t)n * 8;

    for (size_t i = 0; i < full; i += 64)
        sha256_block(h, p + i);
    memset(last, 0, sizeof(last));
    memcpy(last, p + full, rest);
    last[rest] = 0x80;
    tail = rest + 9 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        last[tail - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tail; i += 64)
        sha256_block(h, last + i);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (unsigned char)(h[i] >> 24);
        digest[4 * i + 1] = (unsigned char)(h[i] >> 16);
        digest[4 * i + 2] = (unsigned char)(h[i] >> 8);
        digest[4 * i + 3] = (unsigned char)h[i];
    }
}

/* CRC-32 as in zlib and IEEE 802.3 (reflected, polynomial 0xEDB88320). */
static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffff;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? c >> 1 ^ 0xedb88320 : c >> 1;
    }
    return ~c;
}

static void sort_u32(uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static int fail(const char *what)
{
    outs("FAILURE: ");
    outs(what);
    outs(": wrong result\n");
    return 1;
}

int main(int argc, char **argv)
{
    unsigned char decoded[128], digest[32];
    uint32_t sorted[8];
    int wait = argc == 2 && strcmp(argv[1], "--wait") == 0;

    if (argc > 1 && !wait) {
        outs("usage: fn [--wait]\n");
        return 2;
    }
    long n = b64decode(message_b64, sizeof(message_b64) - 1, decoded,
                       sizeof(decoded));
    if (n != (long)sizeof(message) - 1 || memcmp(decoded, message, (size_t)n) != 0)
        return fail("base64.b64decode");
    sha256(decoded, (size_t)n, digest);
    if (memcmp(digest, sha256_want, 32) != 0)
        return fail("sha256.sha256");
    if (crc32(decoded, (size_t)n) != crc32_want)
        return fail("crc32.crc32");
    memcpy(sorted, unsorted, sizeof(sorted));
    sort_u32(sorted, 8);
    if (memcmp(sorted, sorted_want, sizeof(sorted)) != 0)
        return fail("sort.sort_u32");
    outs(report);
    if (!wait)
        return 0;
    outs("READY\n");
    for (;;)
        pause();
}
