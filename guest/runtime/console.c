/*
 * console.c: console output (PUTS hypercall) and a small printf.
 *
 * Formatted output is collected in a stack buffer and written with as few
 * hypercalls as possible: each one is a VM exit.
 */
#include "internal.h"
#include <string.h>

enum log_level rt_log_level = LOG_INFO;

void solo5_console_write(const char *buf, size_t size)
{
    volatile struct hvt_hc_puts arg;

    arg.data = (uint64_t)(uintptr_t)buf;
    arg.len = size;
    hvt_hypercall(HVT_HC_PUTS, &arg);
}

void uaaf_puts(const char *s)
{
    solo5_console_write(s, strlen(s));
}

#define OUTBUF_SIZE 256

struct outbuf {
    char buf[OUTBUF_SIZE];
    size_t len;
    int total;
};

static void out_flush(struct outbuf *o)
{
    if (o->len) {
        solo5_console_write(o->buf, o->len);
        o->len = 0;
    }
}

static void out_char(struct outbuf *o, char c)
{
    if (o->len == OUTBUF_SIZE)
        out_flush(o);
    o->buf[o->len++] = c;
    o->total++;
}

static void out_str(struct outbuf *o, const char *s, int width, char pad)
{
    int n = (int)strlen(s);

    for (; width > n; width--)
        out_char(o, pad);
    while (*s)
        out_char(o, *s++);
}

/* Unsigned v in base 10 or 16 with optional sign and padding. */
static void out_num(struct outbuf *o, unsigned long long v, unsigned base,
                    bool neg, int width, char pad)
{
    char tmp[24];
    int i = 0;

    do {
        tmp[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg) {
        if (pad == '0') {
            out_char(o, '-');
            width--;
        } else {
            tmp[i++] = '-';
        }
    }
    for (; width > i; width--)
        out_char(o, pad);
    while (i)
        out_char(o, tmp[--i]);
}

/* Format into one buffer, optionally after prefix, and write it out. */
static int format(const char *prefix, const char *fmt, va_list ap)
{
    struct outbuf o;

    o.len = 0;
    o.total = 0;
    if (prefix)
        out_str(&o, prefix, 0, ' ');
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0;
        int longs = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = longs ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                         : (unsigned long long)v;
            out_num(&o, u, 10, v < 0, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = longs ? va_arg(ap, unsigned long)
                                         : va_arg(ap, unsigned int);
            out_num(&o, v, *fmt == 'u' ? 10 : 16, false, width, pad);
            break;
        }
        case 'p':
            out_str(&o, "0x", 0, ' ');
            out_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            out_str(&o, s ? s : "(null)", width, ' ');
            break;
        }
        case 'c':
            out_char(&o, (char)va_arg(ap, int));
            break;
        case '%':
            out_char(&o, '%');
            break;
        case '\0':
            fmt--; /* lone '%' at the end: stop at the NUL */
            break;
        default: /* unknown conversion: print it as-is */
            out_char(&o, '%');
            out_char(&o, *fmt);
            break;
        }
    }
    out_flush(&o);
    return o.total;
}

int uaaf_vprintf(const char *fmt, va_list ap)
{
    return format(NULL, fmt, ap);
}

int uaaf_printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = uaaf_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void rt_log(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (rt_log_level < lvl)
        return;
    va_start(ap, fmt);
    format("uaaf guest: ", fmt, ap);
    va_end(ap);
}
