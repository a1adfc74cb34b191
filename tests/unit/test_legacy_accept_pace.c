/* A connection flood on a MOS 2.x port must not hold up an open lane
 * (issue 12 item 6; the hostile benchmark's flood phase): libuv accepts
 * until the backlog is empty in one go, so a flood that filled the backlog
 * while the loop waited for a CPU was accepted and refused whole before the
 * loop read a byte that came meanwhile on an open connection. The listener
 * now takes at most CG_ACCEPT_PER_TURN connections per turn of the loop
 * (core/accept.h).
 *
 * A real listener (cg__legacy_listen) on the test thread's loop; the clients
 * are plain blocking sockets: on loopback connect(2) completes from the
 * kernel's backlog while the loop is not running, so a whole flood is
 * waiting when the loop next polls. Counted per poll phase (a prepare handle
 * before it, a check handle after it): the connections the listener asked
 * its user about. No timings. */
#include "testutil.h"
#include "core/accept.h"
#include "legacy/legacy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define FLOOD 40 /* below the listener's backlog (64): every connect completes */

struct rig {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_legacy_listener *ln;
    struct cg_legacy_conn *honest; /* the one connection let in */
    unsigned asked;                /* connections the listener asked about, in all */
    unsigned in_poll;              /* ... in the current poll phase */
    unsigned max_in_poll;
    unsigned messages;
    unsigned asked_at_message;     /* how many had been asked when the message came */
    uv_prepare_t before_poll;
    uv_check_t after_poll;
    int lane; /* the user of the honest connection (any non-NULL pointer) */
};

static struct rig *g;

static void on_up(void *user, struct cg_legacy_conn *c)
{
    CG_UNUSED(user);
    g->honest = c;
}
static void on_lost(void *user, struct cg_legacy_conn *c, const char *why)
{
    CG_UNUSED(user);
    CG_UNUSED(why);
    if (c == g->honest)
        g->honest = NULL;
}
static void on_message(void *user, const uint8_t *data, size_t len, bool binary)
{
    CG_UNUSED(user);
    CG_UNUSED(data);
    CG_UNUSED(len);
    CG_UNUSED(binary);
    if (g->messages++ == 0)
        g->asked_at_message = g->asked;
}
static void on_refused_head(void *user, const uint8_t *data, size_t len, bool binary)
{
    CG_UNUSED(user);
    CG_UNUSED(data);
    CG_UNUSED(len);
    CG_UNUSED(binary);
}
static void on_too_big(void *user) { CG_UNUSED(user); }

/* The first connection is let in (the honest peer), every later one is
 * refused as an address outside legacy_allow would be. */
static void *on_accept(void *listen_user, const struct sockaddr *sa, const char **why)
{
    CG_UNUSED(sa);
    g->asked++;
    g->in_poll++;
    if (g->asked == 1)
        return listen_user;
    *why = "address not in legacy_allow";
    return NULL;
}

static const struct cg_legacy_ops ops = {
    .up = on_up,
    .lost = on_lost,
    .message = on_message,
    .refused_head = on_refused_head,
    .too_big = on_too_big,
    .accept = on_accept,
};

static void on_before_poll(uv_prepare_t *h)
{
    CG_UNUSED(h);
    g->in_poll = 0;
}
static void on_after_poll(uv_check_t *h)
{
    CG_UNUSED(h);
    if (g->in_poll > g->max_in_poll)
        g->max_in_poll = g->in_poll;
    g->in_poll = 0;
}

static unsigned count(const struct tu_log *log, const char *needle)
{
    unsigned n = 0;
    for (const char *at = strstr(log->text, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* Turns of the loop (never blocking) until cond or 10000 turns. */
#define RUN_UNTIL(cond)                                                              \
    do {                                                                             \
        for (int turn_ = 0; turn_ < 10000 && !(cond); turn_++)                       \
            uv_run(cg_ctx_loop(g->ctx), UV_RUN_NOWAIT);                              \
    } while (0)

static void rig_up(struct rig *r, uint16_t *port)
{
    memset(r, 0, sizeof(*r));
    g = r;
    assert_int_equal(cg_ctx_new(&r->ctx), CG_OK);
    cg_ctx_set_log(r->ctx, tu_log_fn, &r->log, CG_LOG_DEBUG);
    struct cg_legacy_params p = {.ctx = r->ctx, .ops = &ops, .enc = CG_MOS_UTF8,
                                 .max_message = 1 << 20, .peer_id = "NCS", .ch_name = "ro"};
    *port = tu_free_port();
    assert_int_equal(cg__legacy_listen(&p, "127.0.0.1", *port, false, &r->lane, &r->ln), CG_OK);
    uv_loop_t *loop = cg_ctx_loop(r->ctx);
    uv_prepare_init(loop, &r->before_poll);
    uv_prepare_start(&r->before_poll, on_before_poll);
    uv_check_init(loop, &r->after_poll);
    uv_check_start(&r->after_poll, on_after_poll);
}

static void rig_down(struct rig *r, int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    if (r->honest != NULL)
        cg__legacy_close(r->honest);
    cg__legacy_unlisten(r->ln);
    uv_close((uv_handle_t *)&r->before_poll, NULL);
    uv_close((uv_handle_t *)&r->after_poll, NULL);
    uv_run(cg_ctx_loop(r->ctx), UV_RUN_DEFAULT); /* every handle closes */
    cg_ctx_free(r->ctx);
}

/* 40 connections in the backlog at once: at most CG_ACCEPT_PER_TURN of
 * them per poll phase (all 40 in one before), every one still asked about,
 * refused, and the refusal logged once (one address, one reason). */
static void test_flood_taken_a_few_per_turn(void **state)
{
    CG_UNUSED(state);
    struct rig r;
    uint16_t port;
    rig_up(&r, &port);
    int fds[FLOOD + 1];
    fds[0] = tu_dial(port);
    RUN_UNTIL(r.honest != NULL);
    assert_non_null(r.honest);
    r.max_in_poll = 0;
    for (int i = 1; i <= FLOOD; i++)
        fds[i] = tu_dial(port);
    RUN_UNTIL(r.asked == FLOOD + 1);
    printf("flood: %u of %d connections asked about, at most %u in one poll phase\n",
           r.asked - 1, FLOOD, r.max_in_poll);
    assert_int_equal(r.asked, FLOOD + 1);
    assert_true(r.max_in_poll <= CG_ACCEPT_PER_TURN);
    assert_int_equal(count(&r.log, "refused a connection from"), 1);
    assert_true(tu_log_has(&r.log, "refused a connection from 127.0.0.1: address not in "
                                   "legacy_allow"));
    assert_non_null(r.honest); /* the lane's connection is still there */
    rig_down(&r, fds, FLOOD + 1);
}

/* A message on the open connection, sent after the flood filled the
 * backlog, is read before the flood is all taken (before: after all 40). */
static void test_open_lane_read_between_turns(void **state)
{
    CG_UNUSED(state);
    struct rig r;
    uint16_t port;
    rig_up(&r, &port);
    int fds[FLOOD + 1];
    fds[0] = tu_dial(port);
    RUN_UNTIL(r.honest != NULL);
    assert_non_null(r.honest);
    for (int i = 1; i <= FLOOD; i++)
        fds[i] = tu_dial(port);
    static const char msg[] = "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID>"
                              "<heartbeat><time>2026-12-07T12:00:00</time></heartbeat></mos>";
    assert_int_equal(write(fds[0], msg, sizeof(msg) - 1), (ssize_t)(sizeof(msg) - 1));
    RUN_UNTIL(r.messages > 0 && r.asked == FLOOD + 1);
    printf("the open lane's message came after %u of %d flood connections\n",
           r.asked_at_message - 1, FLOOD);
    assert_int_equal(r.messages, 1);
    assert_int_equal(r.asked, FLOOD + 1);
    assert_true(r.asked_at_message - 1 <= CG_ACCEPT_PER_TURN);
    rig_down(&r, fds, FLOOD + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_taken_a_few_per_turn),
        cmocka_unit_test(test_open_lane_read_between_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
