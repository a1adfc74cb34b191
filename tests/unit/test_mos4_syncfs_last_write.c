/* fsync = interval (src/mos4/journal.c, "the fsync policy"): a syncfs on the
 * thread pool covers an endpoint's writes only if it began after the last of
 * them. It was compared with the endpoint's FIRST write not yet synced, so a
 * write made after a syncfs began, while the endpoint still waited for it,
 * counted as synced when that syncfs completed, and no syncfs ever followed
 * for it: what a power loss may cost with fsync = interval was no longer the
 * last interval (castgate/mos4.h, enum cg_mos_fsync) but whatever the kernel
 * had not yet written back on its own (about 30 s by default). */
// CG_WRAP: syncfs
// CG_LINK: syncfsrig.c
#include "syncfsrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool synced_once(void *arg)
{
    (void)arg;
    return sfr_syncs() >= 1;
}

static void test_a_write_after_a_sync_began_is_synced(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-syncfs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct cg_mos_endpoint *ep = sfr_endpoint(ctx, dir);
    cg__mos4_state_written(ep, -1); /* a record: dirty, the policy's timer armed */
    assert_true(sfr_run_until(ctx, synced_once, NULL));
    /* the next record comes after that syncfs began (it has even returned):
     * the syncfs cannot have covered it */
    cg__mos4_state_written(ep, -1);
    assert_true(sfr_run_until(ctx, sfr_clean, ep));
    unsigned n = sfr_syncs();
    if (n != 2)
        fprintf(stderr, "syncfs ran %u time(s), want 2: the record written after the first "
                "syncfs began was %s\n", n, n < 2 ? "never synced" : "synced twice");
    assert_int_equal(n, 2);
    cg_mos_endpoint_free(ep); /* clean: no syncfs of its own at the end */
    cg_ctx_free(ctx);
    assert_int_equal(sfr_syncs(), 2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_write_after_a_sync_began_is_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
