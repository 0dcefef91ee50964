/*
 * string.h: the few C library string/memory functions the guest runtime
 * provides. gcc may emit calls to memcpy/memset/memmove/memcmp on its own,
 * so these exist even if a program never names them.
 */
#ifndef UAAF_STRING_H
#define UAAF_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *restrict dst, const char *restrict src);

#endif /* UAAF_STRING_H */
