/* A large message's libxml2 check (src/mos4/flow.c vjob) runs on the
 * context's low-priority threads (nice 10), off the loop thread,
 * so a peer sending large messages cannot take the CPU from the loop that
 * serves every other lane (issue 12, denial of service). A MOS 2.x port
 * (M-21) feeds a 1.2 MB valid message; the endpoint answers it. */
// CG_WRAP: cg__mos_validate_xml
#define _GNU_SOURCE
#include "testutil.h"
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#define ITEMS 150000

static pthread_t loop_thread;
static int big_policy = -1, big_nice = -100;
static bool big_on_loop, big_seen;

enum cg_err __real_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset);
enum cg_err __wrap_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset);
enum cg_err __wrap_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset)
{
    if (len > 100000) { /* the large one */
        big_seen = true;
        big_on_loop = pthread_equal(pthread_self(), loop_thread);
        big_policy = sched_getscheduler(0);
        big_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    }
    return __real_cg__mos_validate_xml(enc, xml, len, err_offset);
}

struct state {
    struct cg_ctx *ctx;
    uint16_t port;
    int requests;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct state *s = user;
    (void)m;
    s->requests++;
    cg_mos_reply_ack(req, true, NULL);
    cg_ctx_stop(s->ctx);
}

static void *sender(void *arg)
{
    tu_send_big_roreq(((struct state *)arg)->port, ITEMS);
    return NULL;
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(((struct state *)t->data)->ctx); }

static void test_large_message_validated_at_low_priority(void **unused)
{
    (void)unused;
    struct state s = {0};
    struct cg_mos_endpoint *ep = NULL;
    loop_thread = pthread_self();
    assert_int_equal(cg_ctx_new(&s.ctx), CG_OK);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(ec, 0, 0, 1024), CG_OK);
    struct cg_mos_handlers h = {.on_request = on_request};
    assert_int_equal(cg_mos_endpoint_new(s.ctx, ec, &h, &s, &ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new("NCS", &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, CG_MOS_UTF8), CG_OK);
    s.port = tu_free_port();
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "127.0.0.1", 0, s.port, 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_add_peer(ep, pc), CG_OK);
    cg_mos_peer_config_free(pc);
    assert_int_equal(cg_mos_endpoint_start(ep), CG_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sender, &s), 0);
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(s.ctx), &dog);
    dog.data = &s;
    uv_timer_start(&dog, watchdog, 120000, 0);
    cg_ctx_run(s.ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_mos_endpoint_free(ep);
    cg_ctx_free(s.ctx);
    pthread_join(t, NULL);
    assert_int_equal(s.requests, 1);
    assert_true(big_seen);
    assert_false(big_on_loop);
    if (big_policy != SCHED_OTHER || big_nice != 10)
        fail_msg("the large message was validated at policy %d nice %d; want SCHED_OTHER (%d) "
                 "and nice 10", big_policy, big_nice, SCHED_OTHER);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_message_validated_at_low_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
