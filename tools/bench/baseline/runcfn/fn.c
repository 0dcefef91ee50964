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

static const char hexdigits[] = "0123456789abcdef";

/* label: then the bytes of p in hex, as the demo's print_hex. */
static void print_hex(const char *label, const unsigned char *p, size_t n)
{
    char line[160];
    size_t k = 0;

    while (*label && k < 32)
        line[k++] = *label++;
    line[k++] = ':';
    line[k++] = ' ';
    for (size_t i = 0; i < n && k + 3 < sizeof(line); i++) {
        line[k++] = hexdigits[p[i] >> 4];
        line[k++] = hexdigits[p[i] & 15];
    }
    line[k++] = '\n';
    out(line, k);
}

/* x in lower-case hex without leading zeros, or padded to width digits. */
static size_t fmt_hex(char *buf, uint32_t x, int width)
{
    char tmp[8];
    int n = 0;

    do {
        tmp[n++] = hexdigits[x & 15];
        x >>= 4;
    } while (x != 0);
    while (n < width)
        tmp[n++] = '0';
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return (size_t)n;
}

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
    unsigned char decoded[64], digest[32];
    uint32_t sorted[8];
    char line[96];
    size_t k;
    int wait = argc == 2 && strcmp(argv[1], "--wait") == 0;

    if (argc > 1 && !wait) {
        outs("usage: fn [--wait]\n");
        return 2;
    }
    long n = b64decode(message_b64, sizeof(message_b64) - 1, decoded,
                       sizeof(decoded));
    if (n != (long)sizeof(message) - 1 || memcmp(decoded, message, (size_t)n) != 0)
        return fail("base64.b64decode");
    print_hex("decoded", decoded, (size_t)n);
    out((const char *)decoded, (size_t)n);

    sha256(decoded, (size_t)n, digest);
    if (memcmp(digest, sha256_want, 32) != 0)
        return fail("sha256.sha256");
    print_hex("sha256", digest, 32);

    uint32_t c = crc32(decoded, (size_t)n);
    if (c != crc32_want)
        return fail("crc32.crc32");
    k = 0;
    memcpy(line, "crc32: ", 7);
    k = 7 + fmt_hex(line + 7, c, 8);
    line[k++] = '\n';
    out(line, k);

    memcpy(sorted, unsorted, sizeof(sorted));
    sort_u32(sorted, 8);
    if (memcmp(sorted, sorted_want, sizeof(sorted)) != 0)
        return fail("sort.sort_u32");
    memcpy(line, "sorted:", 7);
    k = 7;
    for (int i = 0; i < 8; i++) {
        line[k++] = ' ';
        k += fmt_hex(line + k, sorted[i], 0);
    }
    line[k++] = '\n';
    out(line, k);

    outs("SUCCESS\n");
    if (!wait)
        return 0;
    outs("READY\n");
    for (;;)
        pause();
}
