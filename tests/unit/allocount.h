/* Allocations counted, for the tests that show a path allocates nothing, or
 * only so much (test_front_resp_reuse.c, test_http_reuse.c,
 * test_mos4_wrap_alloc.c). A test links it with a "// CG_LINK: allocount.c"
 * line and lists malloc calloc realloc in its "// CG_WRAP:" line: every
 * call of the three by the test and the library then passes through here.
 * One thread: the count is a plain counter. */
#ifndef CG_ALLOCOUNT_H
#define CG_ALLOCOUNT_H

/* Counts from 0 the allocations made from now on. */
void ac_begin(void);

/* Stops counting; how many were made since ac_begin. */
unsigned ac_end(void);

#endif
