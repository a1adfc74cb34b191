/* Two contexts on two threads at once (issue 12 item 20): cg_ctx allows it,
 * so nothing process-wide may hold a connection's bytes. Each thread runs
 * its own context with a wss echo (server and client, large messages, many
 * TLS records: the write path) and a MOS 2.x port with a raw TCP sender
 * (the legacy read path); every byte that comes back is checked against
 * what its thread sent. Before the fix both paths shared one static buffer
 * per process (net/conn.c flush, legacy/conn.c on_alloc). */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define NTHREADS 2
#define WS_MESSAGES 40
#define WS_SIZE (256u << 10)  /* many TLS records per message */
#define MOS_MESSAGES 200
#define MOS_PAD 30000         /* bytes of filler per MOS 2.x message */



struct side {
    int id;
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_ws_client *cli;
    struct cg_mos_endpoint *ep;
    uint16_t mos_port;
    long ws_got, ws_bad, mos_got, mos_bad;
    bool ws_done, mos_done;
    uint8_t *expect; /* the message pattern of this thread */
};

static void fill(uint8_t *p, size_t n, int id, long seq)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(id * 101 + seq * 7 + i * 13 + (i >> 9));
}

static void maybe_stop(struct side *s)
{
    if (s->ws_done && s->mos_done)
        cg_ctx_stop(s->ctx);
}

/* ---- the wss echo ---- */

static void srv_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    (void)user;
    cg_ws_send(ws, binary, d, n);
}

static void send_next(struct side *s, struct cg_ws *ws)
{
    fill(s->expect, WS_SIZE, s->id, s->ws_got);
    cg_ws_send(ws, true, s->expect, WS_SIZE);
}

static void cli_open(void *user, struct cg_ws *ws)
{
    send_next(user, ws);
}

static void cli_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    struct side *s = user;
    (void)binary;
    if (n != WS_SIZE || memcmp(d, s->expect, n) != 0)
        s->ws_bad++;
    if (++s->ws_got < WS_MESSAGES) {
        send_next(s, ws);
        return;
    }
    cg_ws_close(ws, 1000, "done");
}

static void cli_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct side *s = user;
    (void)ws;
    (void)code;
    s->ws_done = true;
    maybe_stop(s);
}

static void start_ws(struct side *s)
{
    struct cg_server_config *sc = NULL;
    assert_int_equal(cg_server_config_new(&sc), CG_OK);
    assert_int_equal(cg_server_config_add_listen(sc, "127.0.0.1", 0), CG_OK);
    assert_int_equal(cg_server_config_add_cert(sc, tu_in("server-ecdsa.chain.pem"), tu_in("server-ecdsa.key")), CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(sc, false, NULL), CG_OK);
    assert_int_equal(cg_server_config_set_limit(sc, CG_LIMIT_MAX_WS_MESSAGE, 1u << 20), CG_OK);
    assert_int_equal(cg_server_new(s->ctx, sc, &s->srv), CG_OK);
    cg_server_config_free(sc);
    static const struct cg_ws_handlers sh = {.on_message = srv_message};
    assert_int_equal(cg_server_add_ws_route(s->srv, "/echo", &sh, s), CG_OK);
    assert_int_equal(cg_server_start(s->srv), CG_OK);
    struct cg_ws_client_config *cc = NULL;
    assert_int_equal(cg_ws_client_config_new(&cc), CG_OK);
    assert_int_equal(cg_ws_client_config_set_trust(cc, tu_in("root-ca.pem"), NULL), CG_OK);
    assert_int_equal(cg_ws_client_config_set_limit(cc, CG_LIMIT_MAX_WS_MESSAGE, 1u << 20), CG_OK);
    assert_int_equal(cg_ws_client_new(s->ctx, cc, &s->cli), CG_OK);
    cg_ws_client_config_free(cc);
    char url[96];
    snprintf(url, sizeof(url), "wss://localhost:%u/echo", (unsigned)cg_server_port(s->srv, 0));
    static const struct cg_ws_handlers ch = {.on_open = cli_open, .on_message = cli_message,
                                             .on_close = cli_close};
    struct cg_ws *ws = NULL;
    assert_int_equal(cg_ws_connect(s->cli, url, &ch, s, &ws), CG_OK);
}

/* ---- a MOS 2.x port (M-21) and a raw sender on its own thread ---- */

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct side *s = user;
    char want[64];
    snprintf(want, sizeof(want), "<roID>T%d-%ld-", s->id, s->mos_got);
    const char *pad = m->xml != NULL ? strstr(m->xml, "<roSlug>") : NULL;
    bool ok = strstr(m->xml, want) != NULL && pad != NULL && strspn(pad + 8, s->id ? "b" : "a") == MOS_PAD;
    s->mos_bad += !ok;
    s->mos_got++;
    cg_mos_reply_ack(req, true, NULL);
    if (s->mos_got == MOS_MESSAGES) {
        s->mos_done = true;
        maybe_stop(s);
    }
}

static void start_mos(struct side *s)
{
    char id[16], peer[16];
    snprintf(id, sizeof(id), "DEV%d", s->id);
    snprintf(peer, sizeof(peer), "NCS%d", s->id);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, id, &ec), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_validate(ec, false), CG_OK);
    struct cg_mos_handlers h = {.on_request = on_request};
    assert_int_equal(cg_mos_endpoint_new(s->ctx, ec, &h, s, &s->ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    s->mos_port = tu_mos2_listen_peer(s->ep, peer);
    assert_int_equal(cg_mos_endpoint_start(s->ep), CG_OK);
}

/* Stop-and-wait, as MOS 2.x gear sends (M-22): one request, its answer, the next. */
static void *mos_sender(void *arg)
{
    struct side *s = arg;
    int fd = tu_connect_loopback(s->mos_port); /* the port opens when the context runs */
    if (fd < 0)
        return NULL;
    char *msg = malloc(MOS_PAD + 512), buf[4096];
    for (long seq = 0; seq < MOS_MESSAGES; seq++) {
        int n = snprintf(msg, 512, "<mos><mosID>DEV%d</mosID><ncsID>NCS%d</ncsID><messageID>%ld"
                         "</messageID><roReq><roID>T%d-%ld-x</roID><roSlug>", s->id, s->id,
                         seq + 1, s->id, seq);
        memset(msg + n, s->id ? 'b' : 'a', MOS_PAD);
        n += MOS_PAD;
        n += snprintf(msg + n, 64, "</roSlug></roReq></mos>");
        if (write(fd, msg, (size_t)n) != n)
            break;
        size_t got = 0; /* the answer ends with </mos> */
        for (;;) {
            ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
            if (r <= 0)
                goto out;
            got += (size_t)r;
            buf[got] = '\0';
            if (strstr(buf, "</mos>") != NULL)
                break;
            if (got >= sizeof(buf) - 1)
                goto out;
        }
    }
out:
    free(msg);
    close(fd);
    return NULL;
}

/* Damaged bytes can stall a connection instead of closing it: the run is
 * bounded, and the counts say what arrived. */
static void watchdog(uv_timer_t *t) { cg_ctx_stop(((struct side *)t->data)->ctx); }

static void *run_side(void *arg)
{
    struct side *s = arg;
    assert_int_equal(cg_ctx_new(&s->ctx), CG_OK);
    s->expect = malloc(WS_SIZE);
    start_ws(s);
    start_mos(s);
    pthread_t sender;
    pthread_create(&sender, NULL, mos_sender, s);
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(s->ctx), &dog);
    dog.data = s;
    uv_timer_start(&dog, watchdog, 90000, 0);
    cg_ctx_run(s->ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_ws_client_free(s->cli);
    cg_mos_endpoint_free(s->ep);
    cg_server_free(s->srv);
    cg_ctx_free(s->ctx); /* closes the sender's socket: it ends */
    pthread_join(sender, NULL);
    free(s->expect);
    return NULL;
}

static void test_two_contexts_two_threads(void **state)
{
    (void)state;
    struct side sides[NTHREADS];
    pthread_t t[NTHREADS];
    memset(sides, 0, sizeof(sides));
    for (int i = 0; i < NTHREADS; i++) {
        sides[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, run_side, &sides[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        fprintf(stderr, "thread %d: wss %ld echoed, %ld damaged; MOS 2.x %ld received, %ld damaged\n",
                i, sides[i].ws_got, sides[i].ws_bad, sides[i].mos_got, sides[i].mos_bad);
        assert_int_equal(sides[i].ws_got, WS_MESSAGES);
        assert_int_equal(sides[i].ws_bad, 0);
        assert_int_equal(sides[i].mos_got, MOS_MESSAGES);
        assert_int_equal(sides[i].mos_bad, 0);
    }
}

static int group_setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    return tu_group_pki(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_contexts_two_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, tu_group_rm);
}
