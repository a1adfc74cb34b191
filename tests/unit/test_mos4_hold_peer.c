/* A peer held down and released (cg_mos_endpoint_hold_peer, issue 18,
 * leg_state = mirror, docs/redundancy.md "Mirroring a leg's state"), on a
 * real MOS 2.x port of 127.0.0.1: held, its connection is closed (the gear
 * reads the end of it) and its port refuses new connections, as a dead
 * server's machine does; released, the port accepts again and the lane
 * comes up. Holding twice changes nothing; an unknown peer is CG_ENOTFOUND.
 * The MOS 4.0 side's refusal (503 with Retry-After) and the relay's use of
 * it are tests/unit/test_relay_mirror_leg.c and tests/interop/
 * test_gateway_hotstandby.sh. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

/* One connect to 127.0.0.1:port, no retry: the socket, or -1 with errno. */
static int connect_once(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    struct timeval tv = {.tv_sec = 0, .tv_usec = 20000}; /* reads below poll the loop between */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Turns the loop until the IN lane of ro is up (want) or not, for up to 5 s. */
static void until_lane(struct cg_ctx *ctx, struct cg_mos_endpoint *ep, bool want)
{
    for (int i = 0; i < 5000 && cg_mos_lane_is_up(ep, "NCS", CG_MOS_CH_RO, CG_MOS_IN) != want; i++) {
        uv_sleep(1);
        uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
    }
    assert_int_equal(cg_mos_lane_is_up(ep, "NCS", CG_MOS_CH_RO, CG_MOS_IN), want);
}

/* Reads fd until its end (0 or a reset), turning the loop between reads,
 * for up to 5 s: true if the end came. */
static bool reads_end(struct cg_ctx *ctx, int fd)
{
    char b[64];
    for (int i = 0; i < 250; i++) {
        ssize_t n = read(fd, b, sizeof(b));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
        uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
    }
    return false;
}

static void test_held_peer_is_closed_and_refused_until_released(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct tu_log log = {0};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    struct cg_mos_endpoint *ep = NULL;
    assert_int_equal(cg_mos_endpoint_new(ctx, ec, NULL, NULL, &ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    uint16_t port = tu_mos2_listen_peer(ep, "NCS");
    assert_int_equal(cg_mos_endpoint_start(ep), CG_OK);

    int fd = connect_once(port);
    assert_true(fd >= 0);
    until_lane(ctx, ep, true);

    assert_int_equal(cg_mos_endpoint_hold_peer(ep, "NCS", true), CG_OK);
    assert_true(cg_mos_peer_is_held(ep, "NCS"));
    assert_false(cg_mos_lane_is_up(ep, "NCS", CG_MOS_CH_RO, CG_MOS_IN));
    assert_true(reads_end(ctx, fd)); /* the gear sees its connection go */
    close(fd);
    for (int i = 0; i < 20; i++) /* the listener's close completes */
        uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
    errno = 0;
    fd = connect_once(port);
    if (fd >= 0)
        fail_msg("a held peer's port accepted a connection");
    assert_int_equal(errno, ECONNREFUSED);
    assert_int_equal(cg_mos_endpoint_hold_peer(ep, "NCS", true), CG_OK); /* again: no change */
    size_t n = 99;
    assert_int_equal(cg_mos_endpoint_abandon_in(ep, "NCS", &n), CG_OK);
    assert_int_equal(n, 0); /* nothing was sent */
    assert_true(tu_log_has(&log, "held"));

    assert_int_equal(cg_mos_endpoint_hold_peer(ep, "NCS", false), CG_OK);
    assert_false(cg_mos_peer_is_held(ep, "NCS"));
    fd = connect_once(port);
    if (fd < 0)
        fail_msg("a released peer's port refused a connection: %s", strerror(errno));
    until_lane(ctx, ep, true);
    close(fd);

    assert_int_equal(cg_mos_endpoint_hold_peer(ep, "NOBODY", true), CG_ENOTFOUND);
    assert_int_equal(cg_mos_endpoint_abandon_in(ep, "NOBODY", &n), CG_ENOTFOUND);
    assert_int_equal(cg_mos_endpoint_hold_peer(NULL, "NCS", true), CG_EINVAL);
    assert_false(cg_mos_peer_is_held(NULL, "NCS"));
    cg_mos_endpoint_free(ep);
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT); /* the endpoint's handles close */
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_peer_is_closed_and_refused_until_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
