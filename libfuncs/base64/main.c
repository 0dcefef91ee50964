/*
 * base64: library functions `b64encode` and `b64decode`: the standard
 * base64 alphabet with '=' padding (RFC 4648 section 4), as Go's
 * base64.StdEncoding. The decoder skips '\r' and '\n' anywhere (as Go
 * does), accepts non-zero unused bits in the last quantum (Go's non-strict
 * mode) and rejects everything else that is not canonical with
 * B64_EINVAL: a character outside the alphabet, a missing or misplaced
 * '=', an incomplete quantum, anything but newlines after the padding.
 */
#include "uaaf.h"

#define B64_EINVAL (-16)

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long b64encode(const void *in, size_t in_len, void *out, size_t out_cap)
{
    const unsigned char *p = in;
    char *o = out;
    size_t need = (in_len + 2) / 3 * 4, i = 0;

    if (need > out_cap)
        return (long)need; /* the caller gets UAAF_E2BIG */
    for (; in_len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (in_len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (in_len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    return (long)need;
}
UAAF_EXPORT(b64encode);

/* Value of base64 character c, or -1. */
static int value(unsigned char c)
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

static int is_nl(unsigned char c)
{
    return c == '\n' || c == '\r';
}

/*
 * Decode into out (NULL: only count). Returns the decoded length or
 * B64_EINVAL; with out != NULL, never writes more than that length.
 */
static long decode(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t i = 0, len = 0;

    for (;;) {
        uint32_t v = 0;
        int q = 0; /* characters of the current quantum */

        while (q < 4) {
            if (i == n) {
                if (q == 0)
                    return (long)len; /* clean end between quanta */
                return B64_EINVAL;    /* incomplete quantum, no padding */
            }
            unsigned char c = p[i++];
            if (is_nl(c))
                continue;
            int d = value(c);
            if (d >= 0) {
                v = v << 6 | (uint32_t)d;
                q++;
                continue;
            }
            if (c != '=' || q < 2)
                return B64_EINVAL;
            if (q == 2) { /* "xx=" must be followed by a second '=' */
                while (i < n && is_nl(p[i]))
                    i++;
                if (i == n || p[i] != '=')
                    return B64_EINVAL;
                i++;
            }
            while (i < n && is_nl(p[i]))
                i++;
            if (i != n)
                return B64_EINVAL; /* data after the padding */
            v <<= 6 * (4 - q);
            if (out) {
                out[len] = (unsigned char)(v >> 16);
                if (q == 3)
                    out[len + 1] = (unsigned char)(v >> 8);
            }
            return (long)(len + (size_t)q - 1);
        }
        if (out) {
            out[len] = (unsigned char)(v >> 16);
            out[len + 1] = (unsigned char)(v >> 8);
            out[len + 2] = (unsigned char)v;
        }
        len += 3;
    }
}

long b64decode(const void *in, size_t in_len, void *out, size_t out_cap)
{
    long need;

    /* At most 3 bytes per 4 input characters; count first only if the
     * worst case might not fit, so the common case is one pass. */
    if (in_len / 4 * 3 > out_cap) {
        need = decode(in, in_len, NULL);
        if (need < 0 || (size_t)need > out_cap)
            return need; /* error, or more than out_cap: UAAF_E2BIG */
    }
    return decode(in, in_len, out);
}
UAAF_EXPORT(b64decode);
