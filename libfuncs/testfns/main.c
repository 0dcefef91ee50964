/*
 * testfns: library functions for the monitor's tests, one per behaviour a
 * caller must survive or observe. Exported names (see the table in
 * guest/README.md): nop echo counter poke crash abort hang oob wtext
 * bigout badret puts forge.
 *
 * Some export names are C library names (abort, puts): the C functions
 * have other names and take the export name as their symbol (asm label),
 * which is what UAAF_EXPORT refers to.
 */
#include "solo5.h"
#include "uaaf.h"
#include <string.h>

#define T_EINVAL (-16)

#define FN(cname, sym)                                                     \
    long cname(const void *in, size_t in_len, void *out, size_t out_cap)   \
        __asm__(#sym);                                                     \
    long cname(const void *in, size_t in_len, void *out, size_t out_cap)

static void put_u64(void *out, uint64_t v)
{
    unsigned char *o = out;
    for (int i = 0; i < 8; i++)
        o[i] = (unsigned char)(v >> (8 * i));
}

/* nop: nothing in, nothing out. */
FN(t_nop, nop)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    return 0;
}
UAAF_EXPORT(nop);

/* echo: the input, unchanged. */
FN(t_echo, echo)
{
    if (in_len > out_cap)
        return (long)in_len; /* UAAF_E2BIG */
    memcpy(out, in, in_len);
    return (long)in_len;
}
UAAF_EXPORT(echo);

/* counter: a global incremented per call, 8 bytes LE. Each session has a
 * private copy of the library's data, so each sees 1, 2, 3, ... */
static uint64_t count;

FN(t_counter, counter)
{
    (void)in, (void)in_len;
    if (out_cap < 8)
        return 8; /* UAAF_E2BIG, not counted */
    put_u64(out, ++count);
    return 8;
}
UAAF_EXPORT(counter);

/* poke: store the input at the start of a 4 KiB global buffer and return
 * the buffer's first 8 bytes: what this session (only) wrote last. */
static unsigned char pokebuf[4096];

FN(t_poke, poke)
{
    if (in_len > sizeof(pokebuf))
        return T_EINVAL;
    if (out_cap < 8)
        return 8; /* UAAF_E2BIG */
    memcpy(pokebuf, in, in_len);
    memcpy(out, pokebuf, 8);
    return 8;
}
UAAF_EXPORT(poke);

/* crash: invalid opcode. */
FN(t_crash, crash)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    __asm__ __volatile__("ud2");
    __builtin_unreachable();
}
UAAF_EXPORT(crash);

/* abort: solo5_abort() from inside a call. */
FN(t_abort, abort)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    solo5_abort();
}
UAAF_EXPORT(abort);

/* hang: never returns (the call deadline must end it). */
FN(t_hang, hang)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    for (;;)
        __asm__ __volatile__("" ::: "memory");
}
UAAF_EXPORT(hang);

/* oob: read a GPA far outside this view's memory. */
#define OOB_GPA 0x7ff00000UL

FN(t_oob, oob)
{
    (void)in, (void)in_len;
    uint64_t v = *(volatile uint64_t *)OOB_GPA;
    if (out_cap < 8)
        return 8;
    put_u64(out, v);
    return 8;
}
UAAF_EXPORT(oob);

/* wtext: write into this library's own (shared, read-only) text. */
FN(t_wtext, wtext)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    volatile unsigned char *text = (volatile unsigned char *)(uintptr_t)t_nop;
    *text = 0xc3; /* ret: harmless if it ever succeeded */
    return 0;
}
UAAF_EXPORT(wtext);

/* bigout: claims one byte more than the caller allowed (writes nothing);
 * the runtime must turn that into UAAF_E2BIG. */
FN(t_bigout, bigout)
{
    (void)in, (void)in_len, (void)out;
    return (long)out_cap + 1;
}
UAAF_EXPORT(bigout);

/* badret: returns a value reserved for uaaf (UAAF_E2BIG's number); the
 * runtime must turn that into UAAF_EBADRET. */
FN(t_badret, badret)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    return -3;
}
UAAF_EXPORT(badret);

/* puts: write the input to the console. */
FN(t_puts, puts)
{
    (void)out, (void)out_cap;
    solo5_console_write(in, in_len);
    return 0;
}
UAAF_EXPORT(puts);

/* forge: a hostile function that bypasses its dispatcher: it writes uaaf's
 * own timeout code as the call's status and switches home itself. The
 * session must not take that for the monitor's verdict. */
FN(t_forge, forge)
{
    volatile struct uaaf_call_hdr *h = (volatile struct uaaf_call_hdr *)UAAF_CALL_GPA;

    (void)in, (void)in_len, (void)out, (void)out_cap;
    h->status = UAAF_ETIMEDOUT;
    __asm__ __volatile__("outl %0, %1" : : "a"(0u), "Nd"((uint16_t)UAAF_SWITCH_PORT) : "memory");
    return 0;
}
UAAF_EXPORT(forge);
