/* The allocator watched through --wrap of malloc, calloc and realloc (allocrig.h). */
#include "allocrig.h"

#include <stdbool.h>
#include <string.h>

static bool counting;
static unsigned n_alloc;
struct ac_fail ac_fail_calloc[2], ac_fail_malloc;

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

void ac_fail_reset(void)
{
    memset(ac_fail_calloc, 0, sizeof(ac_fail_calloc));
    memset(&ac_fail_malloc, 0, sizeof(ac_fail_malloc));
}

static bool fails(struct ac_fail *f, size_t size)
{
    if (f->times == 0 || size != f->size)
        return false;
    if (f->skip > 0) {
        f->skip--;
        return false;
    }
    f->times--;
    f->failed++;
    return true;
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    n_alloc += counting;
    return fails(&ac_fail_malloc, n) ? NULL : __real_malloc(n);
}

void *__real_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n)
{
    n_alloc += counting;
    bool no = k == 1 && (fails(&ac_fail_calloc[0], n) || fails(&ac_fail_calloc[1], n));
    return no ? NULL : __real_calloc(k, n);
}

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    n_alloc += counting;
    return __real_realloc(p, n);
}
