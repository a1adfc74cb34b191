/* fsync = interval (src/mos4/journal.c, "the fsync policy"): syncfs syncs
 * one filesystem, so one syncfs is shared only by the endpoints whose state
 * directories are on that filesystem. It was shared by every endpoint of the
 * process: with two state directories on two filesystems (two endpoints, or
 * two contexts, of one program) the first one's syncfs marked the other's
 * writes synced, and they never were. Here /tmp and /dev/shm (tmpfs); exits
 * 77 where they are one filesystem or /dev/shm cannot be written. */
// CG_WRAP: syncfs
// CG_LINK: syncfsrig.c
#include "syncfsrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_A "/tmp/cg-test-syncfs-XXXXXX"
#define DIR_B "/dev/shm/cg-test-syncfs-XXXXXX"

static bool both_clean(void *arg)
{
    struct cg_mos_endpoint **ep = arg;
    return sfr_clean(ep[0]) && sfr_clean(ep[1]);
}

static void test_each_filesystem_is_synced(void **state)
{
    (void)state;
    char da[] = DIR_A, db[] = DIR_B;
    assert_non_null(mkdtemp(da));
    assert_non_null(mkdtemp(db));
    struct stat sa, sb;
    assert_int_equal(stat(da, &sa), 0);
    assert_int_equal(stat(db, &sb), 0);
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct cg_mos_endpoint *ep[2] = {sfr_endpoint(ctx, da), sfr_endpoint(ctx, db)};
    cg__mos4_state_written(ep[0], -1); /* a record in each, at once */
    cg__mos4_state_written(ep[1], -1);
    assert_true(sfr_run_until(ctx, both_clean, ep));
    bool a = sfr_synced(sa.st_dev), b = sfr_synced(sb.st_dev);
    if (!a || !b)
        fprintf(stderr, "%u syncfs; %s synced: %s; %s synced: %s\n", sfr_syncs(), da,
                a ? "yes" : "NO", db, b ? "yes" : "NO");
    assert_true(a);
    assert_true(b);
    cg_mos_endpoint_free(ep[0]);
    cg_mos_endpoint_free(ep[1]);
    cg_ctx_free(ctx);
    rmdir(da);
    rmdir(db);
}

int main(void)
{
    struct stat a, b;
    if (stat("/tmp", &a) != 0 || stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev ||
        access("/dev/shm", W_OK) != 0) {
        fprintf(stderr, "SKIP: /tmp and /dev/shm are not two writable filesystems here\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_filesystem_is_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
