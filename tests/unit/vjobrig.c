/* A MOS 4.0 device fed one large message over MOS 2.x: see vjobrig.h. */
#define _GNU_SOURCE
#include "vjobrig.h"
#include "mos/mos.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the large message's check ---- */

struct vj_check vj_big;
static pthread_t g_loop_thread;

enum cg_err __real_cg__mos_check_fresh(enum cg_mos_encoding enc, const void *msg, size_t len,
                                       const struct cg_mos_scan_limits *limits, bool prescan,
                                       struct cg__mos_verdict *v);
enum cg_err __wrap_cg__mos_check_fresh(enum cg_mos_encoding enc, const void *msg, size_t len,
                                       const struct cg_mos_scan_limits *limits, bool prescan,
                                       struct cg__mos_verdict *v);
enum cg_err __wrap_cg__mos_check_fresh(enum cg_mos_encoding enc, const void *msg, size_t len,
                                       const struct cg_mos_scan_limits *limits, bool prescan,
                                       struct cg__mos_verdict *v)
{
    if (len > 100000) { /* the large one */
        vj_big.seen = true;
        vj_big.on_loop = pthread_equal(pthread_self(), g_loop_thread);
        vj_big.policy = sched_getscheduler(0);
        vj_big.nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    }
    return __real_cg__mos_check_fresh(enc, msg, len, limits, prescan, v);
}

/* ---- the endpoint and its sender ---- */

static void *sender(void *arg)
{
    struct vj_rig *r = arg;
    tu_send_big_roreq(r->port, r->items);
    return NULL;
}

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct vj_rig *r = user;
    (void)m;
    r->requests++;
    cg_mos_reply_ack(req, true, NULL);
    cg_ctx_stop(r->ctx);
}

void vj_start(struct vj_rig *r, size_t async_bytes, const struct cg_mos_handlers *h, void *user,
              int items)
{
    vj_big = (struct vj_check){.policy = -1, .nice = -100};
    g_loop_thread = pthread_self();
    assert_int_equal(cg_ctx_new(&r->ctx), CG_OK);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    if (async_bytes != 0)
        assert_int_equal(cg_mos_endpoint_config_set_xml_limits(ec, 0, 0, async_bytes), CG_OK);
    static const struct cg_mos_handlers answer = {.on_request = on_request};
    if (h == NULL) {
        h = &answer;
        user = r;
    }
    assert_int_equal(cg_mos_endpoint_new(r->ctx, ec, h, user, &r->ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    r->port = tu_mos2_listen_peer(r->ep, "NCS");
    assert_int_equal(cg_mos_endpoint_start(r->ep), CG_OK);
    r->items = items;
    assert_int_equal(pthread_create(&r->sender, NULL, sender, r), 0);
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(t->data); }

void vj_run(struct vj_rig *r, uint64_t ms)
{
    uv_timer_init(cg_ctx_loop(r->ctx), &r->dog);
    r->dog.data = r->ctx;
    uv_timer_start(&r->dog, watchdog, ms, 0);
    cg_ctx_run(r->ctx);
    uv_close((uv_handle_t *)&r->dog, NULL);
}

void vj_free(struct vj_rig *r)
{
    cg_mos_endpoint_free(r->ep);
    cg_ctx_free(r->ctx);
    pthread_join(r->sender, NULL);
}

void vj_feed(struct vj_rig *r, size_t async_bytes, int items)
{
    vj_start(r, async_bytes, NULL, NULL, items);
    vj_run(r, 120000);
    vj_free(r);
}
