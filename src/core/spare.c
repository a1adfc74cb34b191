/* Large blocks kept for the next large message (issue 13): a big message
 * through a gateway needs a few blocks of its size (the framer's buffer, the
 * thread pool's copy for the check, the forwarded message held until its
 * answer). castgate run has glibc map every block from 256 KiB up on its own
 * and unmap it when freed (tools/cmd_run.c tune_malloc, issue 19), and
 * smaller ones come from the top of the heap, trimmed when freed: either
 * way each such block's pages are faulted in and cleared again for every
 * message, which was about a fifth of a gateway's CPU per 2 MB message and
 * a few percent at 64 KB. A block given back here is kept (mapped) for the
 * next one instead.
 *
 * What is kept is bounded whatever the number of lanes, endpoints or
 * contexts (the memory rule of issue 19 holds): SPARE_SLOTS blocks per
 * process, each of SPARE_MIN..SPARE_MAX bytes (a 2 MB roCreate's framer
 * buffer, 8 MiB, fits), the largest ones given back kept. A mutex guards the
 * slots: any loop thread may take or give. */
#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>

#define SPARE_SLOTS 3
#define SPARE_MIN ((size_t)64 << 10)
#define SPARE_MAX ((size_t)8 << 20)

static struct {
    void *p;
    size_t cap;
} slots[SPARE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void *cg__spare_take(size_t need, size_t *cap)
{
    void *p = NULL;
    *cap = 0;
    if (need < SPARE_MIN || need > SPARE_MAX)
        return NULL;
    pthread_mutex_lock(&lock);
    int best = -1; /* the smallest that fits: a big block stays for a big need */
    for (int i = 0; i < SPARE_SLOTS; i++)
        if (slots[i].p != NULL && slots[i].cap >= need && (best < 0 || slots[i].cap < slots[best].cap))
            best = i;
    if (best >= 0) {
        p = slots[best].p;
        *cap = slots[best].cap;
        slots[best].p = NULL;
        slots[best].cap = 0;
    }
    pthread_mutex_unlock(&lock);
    return p;
}

void cg__spare_give(void *p, size_t cap)
{
    if (p == NULL)
        return;
    if (cap < SPARE_MIN || cap > SPARE_MAX) {
        free(p);
        return;
    }
    pthread_mutex_lock(&lock);
    int at = 0; /* an empty slot, else the smallest block (freed if smaller than p) */
    for (int i = 0; i < SPARE_SLOTS; i++) {
        if (slots[i].p == NULL) {
            at = i;
            break;
        }
        if (slots[i].cap < slots[at].cap)
            at = i;
    }
    void *out = NULL;
    if (slots[at].p == NULL || slots[at].cap < cap) {
        out = slots[at].p;
        slots[at].p = p;
        slots[at].cap = cap;
    } else {
        out = p;
    }
    pthread_mutex_unlock(&lock);
    free(out);
}
