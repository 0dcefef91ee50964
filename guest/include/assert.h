/*
 * assert.h: assert() for guest programs. A failed assertion prints a line
 * containing "ABORT" with the file, line and expression, then halts with
 * SOLO5_EXIT_ABORT (255). NDEBUG is deliberately not honoured: guests are
 * small and a silent wrong answer is worse than the check.
 */
#ifndef UAAF_ASSERT_H
#define UAAF_ASSERT_H

void uaaf_assert_fail(const char *file, int line, const char *expr)
    __attribute__((noreturn));

#define assert(e)                                                              \
    ((e) ? (void)0 : uaaf_assert_fail(__FILE__, __LINE__, #e))

#endif /* UAAF_ASSERT_H */
