/* Allocations counted through --wrap of malloc, calloc and realloc (allocount.h). */
#include "allocount.h"

#include <stdbool.h>
#include <stddef.h>

static bool counting;
static unsigned n_alloc;

void ac_begin(void)
{
    n_alloc = 0;
    counting = true;
}

unsigned ac_end(void)
{
    counting = false;
    return n_alloc;
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    n_alloc += counting;
    return __real_malloc(n);
}

void *__real_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n)
{
    n_alloc += counting;
    return __real_calloc(k, n);
}

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    n_alloc += counting;
    return __real_realloc(p, n);
}
