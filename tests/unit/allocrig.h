/* The allocator watched, for the unit tests that count what a path
 * allocates (test_front_resp_reuse.c, test_http_reuse.c,
 * test_mos4_wrap_alloc.c) or make allocations fail on purpose
 * (test_flow_deliver_nomem.c, test_flow_refuse_journal.c). A test links it
 * with a "// CG_LINK: allocrig.c" line and lists malloc calloc realloc in
 * its "// CG_WRAP:" line: every call of the three by the test and the
 * library then passes through here. One thread: plain counters. */
#ifndef CG_ALLOCRIG_H
#define CG_ALLOCRIG_H

#include <stddef.h>

/* ---- counted ---- */

/* Counts from 0 the allocations (malloc, calloc, realloc) made from now on. */
void ac_begin(void);
/* Stops counting; how many were made since ac_begin. */
unsigned ac_end(void);

/* ---- failed on purpose ---- */

/* The next `times` allocations of exactly `size` bytes after `skip` more of
 * that size fail (NULL); failed counts those that did. */
struct ac_fail {
    size_t size;
    unsigned skip, times, failed;
};
/* For calloc(1, size) (a struct: calloc of any other count is never
 * failed), two sizes at once; and for malloc. Zeroed: nothing fails. */
extern struct ac_fail ac_fail_calloc[2], ac_fail_malloc;
/* Zeroes the three. */
void ac_fail_reset(void);
/* The allocator's own malloc, past the rig: for what must never fail. */
void *__real_malloc(size_t n);

#endif
