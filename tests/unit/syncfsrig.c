/* Endpoints with fsync = interval and their syncfs calls: see syncfsrig.h. */
#include "syncfsrig.h"

#include <pthread.h>
#include <sys/stat.h>
#include <uv.h>

#define SFR_MAX 64

static pthread_mutex_t sfr_mu = PTHREAD_MUTEX_INITIALIZER; /* the pool's threads sync too */
static unsigned sfr_n;
static dev_t sfr_dev[SFR_MAX];

int __wrap_syncfs(int fd)
{
    int r = __real_syncfs(fd);
    struct stat st;
    bool known = fstat(fd, &st) == 0;
    pthread_mutex_lock(&sfr_mu);
    if (known && sfr_n < SFR_MAX)
        sfr_dev[sfr_n] = st.st_dev;
    sfr_n++;
    pthread_mutex_unlock(&sfr_mu);
    return r;
}

unsigned sfr_syncs(void)
{
    pthread_mutex_lock(&sfr_mu);
    unsigned n = sfr_n;
    pthread_mutex_unlock(&sfr_mu);
    return n;
}

bool sfr_synced(dev_t dev)
{
    bool seen = false;
    pthread_mutex_lock(&sfr_mu);
    for (unsigned i = 0; i < sfr_n && i < SFR_MAX; i++)
        seen |= sfr_dev[i] == dev;
    pthread_mutex_unlock(&sfr_mu);
    return seen;
}

bool sfr_clean(void *ep) { return !((struct cg_mos_endpoint *)ep)->dirty; }

struct cg_mos_endpoint *sfr_endpoint(struct cg_ctx *ctx, const char *dir)
{
    struct cg_mos_endpoint_config *ec = NULL;
    struct cg_mos_endpoint *ep = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &ec), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_state_dir(ec, dir), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_fsync(ec, CG_MOS_FSYNC_INTERVAL, 20), CG_OK);
    assert_int_equal(cg_mos_endpoint_new(ctx, ec, NULL, NULL, &ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    assert_true(ep->sync_timer_on); /* the policy's timer, not fsync = always */
    return ep;
}

static void tick(uv_timer_t *t) { (void)t; }

bool sfr_run_until(struct cg_ctx *ctx, bool (*done)(void *), void *arg)
{
    uv_loop_t *loop = cg_ctx_loop(ctx);
    uv_timer_t t; /* the loop never waits long (a syncfs ends on another thread) */
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 5, 5);
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + 30000;
    bool ok;
    while (!(ok = done(arg)) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}
