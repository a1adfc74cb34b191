/* Endpoints with fsync = interval and the syncfs calls they make, for the
 * tests of the fsync policy (src/mos4/journal.c): test_mos4_syncfs_last_write.c,
 * test_mos4_syncfs_filesystems.c.
 *
 * A test links it with a "// CG_LINK: syncfsrig.c" line and lists syncfs in
 * its "// CG_WRAP:" line: every syncfs the library makes (on the thread pool
 * or on the loop) is then counted here, with the filesystem it synced. Writes
 * to the state directory are told to the endpoint as the journal does
 * (cg__mos4_state_written); nothing else writes there. */
#ifndef CG_SYNCFSRIG_H
#define CG_SYNCFSRIG_H

#include "testutil.h"
#include "mos4/mos4.h"

#include <stdbool.h>
#include <sys/types.h>

int __real_syncfs(int fd);
int __wrap_syncfs(int fd);

/* An endpoint (device "dev", no peers) whose state directory is dir,
 * fsync = interval every 20 ms. */
struct cg_mos_endpoint *sfr_endpoint(struct cg_ctx *ctx, const char *dir);
/* Runs ctx's loop until done(arg) is true (true) or 30 s have passed (false). */
bool sfr_run_until(struct cg_ctx *ctx, bool (*done)(void *), void *arg);
unsigned sfr_syncs(void);     /* syncfs calls so far */
bool sfr_synced(dev_t dev);   /* one of them synced the filesystem dev */
bool sfr_clean(void *ep);     /* a struct cg_mos_endpoint * with nothing left to sync */

#endif
