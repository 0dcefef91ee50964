/*
 * calltest: a session driven by its command line, for the monitor's tests.
 * It imports every function of every library in libfuncs/. Each word is
 *
 *   LIB.FN:HEX        call FN of LIB with the hex-decoded input
 *   LIB.FN:HEX@CAP    the same with out_cap = CAP (default UAAF_CALL_DATA_MAX)
 *   LIB.FN:*N[@CAP]   input = N bytes 00 01 02 ... (mod 256), for lengths the
 *                     command line cannot carry in hex
 *
 * (":" may be left out for an empty input). For each word it prints one line
 *
 *   RESULT LIB.FN STATUS HEX
 *
 * STATUS is uaaf_call's return value in decimal, HEX the output bytes in
 * lower-case hex when STATUS >= 0 (empty for no output), else "-". A LIB.FN
 * that is not imported gives "RESULT LIB.FN unknown -", a word that cannot
 * be parsed "RESULT WORD badarg -". Then "DONE", exit 0.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"
#include <string.h>

UAAF_IMPORT(sha256, sha256);
UAAF_IMPORT(crc32, crc32);
UAAF_IMPORT(base64, b64encode);
UAAF_IMPORT(base64, b64decode);
UAAF_IMPORT(sort, sort_u32);
UAAF_IMPORT(testfns, nop);
UAAF_IMPORT(testfns, echo);
UAAF_IMPORT(testfns, counter);
UAAF_IMPORT(testfns, poke);
UAAF_IMPORT(testfns, crash);
UAAF_IMPORT(testfns, abort);
UAAF_IMPORT(testfns, hang);
UAAF_IMPORT(testfns, oob);
UAAF_IMPORT(testfns, wtext);
UAAF_IMPORT(testfns, bigout);
UAAF_IMPORT(testfns, badret);
UAAF_IMPORT(testfns, puts);
UAAF_IMPORT(testfns, forge);

static unsigned char inbuf[UAAF_CALL_DATA_MAX];
static unsigned char outbuf[UAAF_CALL_DATA_MAX];
static char line[2 * UAAF_CALL_DATA_MAX + 256];
static size_t line_len;

static void put(const char *s, size_t n)
{
    if (n > sizeof(line) - line_len)
        n = sizeof(line) - line_len;
    memcpy(line + line_len, s, n);
    line_len += n;
}

static void put_str(const char *s)
{
    put(s, strlen(s));
}

static void put_long(long v)
{
    char tmp[24];
    int i = sizeof(tmp);
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    put(tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_hex(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n && line_len + 2 <= sizeof(line); i++) {
        line[line_len++] = digits[p[i] >> 4];
        line[line_len++] = digits[p[i] & 15];
    }
}

static void result(const char *name, size_t name_len, const char *status,
                   long rc, const unsigned char *out)
{
    line_len = 0;
    put_str("RESULT ");
    put(name, name_len);
    put_str(" ");
    if (status) {
        put_str(status);
        put_str(" -");
    } else {
        put_long(rc);
        put_str(" ");
        if (rc >= 0)
            put_hex(out, (size_t)rc);
        else
            put_str("-");
    }
    put_str("\n");
    solo5_console_write(line, line_len);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decimal s[0..n) into *v; false if empty, not digits or too large. */
static bool parse_dec(const char *s, size_t n, size_t *v)
{
    size_t x = 0;

    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (size_t)(s[i] - '0');
    }
    *v = x;
    return true;
}

/* Import whose names are exactly lib[0..ln) and fn[0..fnl), or -1. */
static long find_import(const char *lib, size_t ln, const char *fn, size_t fnl)
{
    for (uint32_t i = 0; i < uaaf_import_count(); i++) {
        const struct uaaf_import *im = uaaf_import_at(i);
        if (ln <= UAAF_LIB_NAME_MAX && memcmp(im->lib, lib, ln) == 0 &&
            (ln == UAAF_LIB_NAME_MAX || im->lib[ln] == '\0') &&
            fnl <= UAAF_FN_NAME_MAX && memcmp(im->fn, fn, fnl) == 0 &&
            (fnl == UAAF_FN_NAME_MAX || im->fn[fnl] == '\0'))
            return i;
    }
    return -1;
}

/* First c in s[0..n), or NULL (the SDK has no memchr). */
static const char *find_char(const char *s, int c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == c)
            return s + i;
    return NULL;
}

/* One word w[0..n). */
static void run_word(const char *w, size_t n)
{
    const char *colon = find_char(w, ':', n);
    size_t name_len = colon ? (size_t)(colon - w) : n;
    const char *dot = find_char(w, '.', name_len);
    const char *arg = colon ? colon + 1 : w + n;
    size_t arg_len = (size_t)(w + n - arg);
    const char *at = find_char(arg, '@', arg_len);
    size_t in_len = 0, cap = UAAF_CALL_DATA_MAX;

    if (dot == NULL)
        return result(w, n, "badarg", 0, NULL);
    if (at) {
        if (!parse_dec(at + 1, (size_t)(w + n - at - 1), &cap))
            return result(w, n, "badarg", 0, NULL);
        arg_len = (size_t)(at - arg);
    }
    if (arg_len > 0 && arg[0] == '*') {
        if (!parse_dec(arg + 1, arg_len - 1, &in_len) ||
            in_len > sizeof(inbuf))
            return result(w, n, "badarg", 0, NULL);
        for (size_t i = 0; i < in_len; i++)
            inbuf[i] = (unsigned char)i;
    } else {
        if (arg_len % 2 != 0 || arg_len / 2 > sizeof(inbuf))
            return result(w, n, "badarg", 0, NULL);
        for (size_t i = 0; i < arg_len; i += 2) {
            int hi = hexval(arg[i]), lo = hexval(arg[i + 1]);
            if (hi < 0 || lo < 0)
                return result(w, n, "badarg", 0, NULL);
            inbuf[in_len++] = (unsigned char)(hi << 4 | lo);
        }
    }
    long f = find_import(w, (size_t)(dot - w), dot + 1,
                         name_len - (size_t)(dot - w) - 1);
    if (f < 0)
        return result(w, name_len, "unknown", 0, NULL);
    /* cap > UAAF_CALL_DATA_MAX is passed on: uaaf_call must refuse it. */
    long rc = uaaf_call((uaaf_fn_t)f, inbuf, in_len, outbuf, cap);
    result(w, name_len, NULL, rc, outbuf);
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *p = si->cmdline;

    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p > w)
            run_word(w, (size_t)(p - w));
    }
    solo5_console_write("DONE\n", 5);
    return SOLO5_EXIT_SUCCESS;
}
