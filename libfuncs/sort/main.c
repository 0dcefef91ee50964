/*
 * sort: library function `sort_u32`: the input is an array of
 * little-endian uint32; the output is the same values in ascending order.
 * Heap sort: O(n log n) in the worst case, no recursion, no extra memory.
 */
#include "uaaf.h"
#include <string.h>

#define SORT_EINVAL (-16)

/* Restore the max-heap property below root in a[0..n). */
static void sift_down(uint32_t *a, size_t root, size_t n)
{
    uint32_t v = a[root];

    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            break;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[child] <= v)
            break;
        a[root] = a[child];
        root = child;
    }
    a[root] = v;
}

long sort_u32(const void *in, size_t in_len, void *out, size_t out_cap)
{
    uint32_t *a = out; /* the runtime's buffers are 64-byte aligned */
    size_t n = in_len / 4;

    if (in_len % 4 != 0)
        return SORT_EINVAL;
    if (in_len > out_cap)
        return (long)in_len; /* the caller gets UAAF_E2BIG */
    memcpy(a, in, in_len); /* x86 is little-endian: no conversion */
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end > 1; end--) {
        uint32_t t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift_down(a, 0, end - 1);
    }
    return (long)in_len;
}
UAAF_EXPORT(sort_u32);
