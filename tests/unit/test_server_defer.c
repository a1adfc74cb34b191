/* Unit tests for upgrades answered later (cg_upgrade_defer / cg_upgrade_finish,
 * include/castgate/server.h) on a real loop, with a blocking OpenSSL client in
 * a second thread: while an upgrade waits the loop serves other connections;
 * a deferred 101 opens the WebSocket and the bytes the client sent early are
 * not lost; a deferred refusal carries the headers added later; a client that
 * goes away before the answer, and the header time limit, are handled with no
 * use after free (ASan); misuse is refused. No timing assertions: the loop
 * decides when to answer from what it has seen. */
// CG_LINK: tlsrig.c
#include "tlsrig.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

/* ---- fixture (tlsrig.h: tr_ctx, tr_loop, tr_cli, tr_log, tr_pki) ---- */

static int group_setup(void **state)
{
    (void)state;
    if (tr_setup("defer") != 0)
        return -1;
    tr_log_reset();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tr_teardown();
}

/* ---- the server side: what the handlers saw, and the waiting upgrade ---- */

static struct {
    struct cg_upgrade *up;
    bool defer_without_token;     /* return CG_UPGRADE_DEFER without cg_upgrade_defer */
    bool second_defer_null;       /* cg_upgrade_defer twice: the second is NULL */
    int hello_served, opens, messages, closes;
} s;

static int on_upgrade(void *user, const struct cg_http_request *req, struct cg_http_response *res,
                      void **conn_user)
{
    (void)user;
    (void)conn_user;
    if (s.defer_without_token)
        return CG_UPGRADE_DEFER;
    cg_http_response_add_header(res, "X-Early", "added in on_upgrade");
    s.up = cg_upgrade_defer(req);
    s.second_defer_null = cg_upgrade_defer(req) == NULL;
    return s.up != NULL ? CG_UPGRADE_DEFER : 500;
}

static void on_open(void *user, struct cg_ws *ws)
{
    (void)user;
    (void)ws;
    s.opens++;
}

static void on_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *data, size_t len)
{
    (void)user;
    s.messages++;
    cg_ws_send(ws, binary, data, len);
}

static void on_close(void *user, struct cg_ws *ws, uint16_t code)
{
    (void)user;
    (void)ws;
    (void)code;
    s.closes++;
}

static const struct cg_ws_handlers handlers = {
    .on_upgrade = on_upgrade, .on_open = on_open, .on_message = on_message, .on_close = on_close};

static void hello(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    (void)user;
    (void)req;
    s.hello_served++;
    cg_http_response_set(res, 200, "text/plain", "hello\n", 6);
}

static struct cg_server *start_server(uint64_t header_ms)
{
    memset(&s, 0, sizeof(s));
    memset(&tr_log, 0, sizeof(tr_log));
    struct cg_server_config *cfg = tr_server_config(false);
    if (header_ms != 0)
        assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_HEADER_MS, header_ms), CG_OK);
    struct cg_server *srv = NULL;
    assert_int_equal(cg_server_new(tr_ctx, cfg, &srv), CG_OK);
    cg_server_config_free(cfg);
    assert_int_equal(cg_server_add_ws_route(srv, "/ws", &handlers, NULL), CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "/hello", CG_HTTP_GET, hello, NULL), CG_OK);
    assert_int_equal(cg_server_start(srv), CG_OK);
    return srv;
}

static void free_server(struct cg_server *srv)
{
    cg_server_free(srv);
    tr_drain();
}

/* Runs the loop until pred() holds (20 s at most: a hung test, not a timing check). */
static bool run_until(bool (*pred)(void)) { return tr_settle(pred, 20000); }

/* ---- the client thread ---- */

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
/* A masked binary frame "early" (RFC 6455 §5.3), sent before the answer. */
static const uint8_t early_frame[] = {0x82, 0x85, 1, 2, 3, 4, 'e' ^ 1, 'a' ^ 2, 'r' ^ 3, 'l' ^ 4,
                                      'y' ^ 1};

struct job {
    uint16_t port;
    int script;
    volatile bool done;
    char head[2048];   /* the answer to the upgrade */
    char hello[1024];  /* GET /hello on another connection while it waited */
    uint8_t echo[64];
    size_t echo_len;
};

enum { SCRIPT_ACCEPT, SCRIPT_REFUSE, SCRIPT_VANISH, SCRIPT_WAIT };

static void *client_main(void *arg)
{
    struct job *j = arg;
    struct tr_conn a = {.fd = -1}, b = {.fd = -1};
    if (!tr_conn_open(&a, j->port, 20) || !tr_conn_send(&a, upgrade_req, strlen(upgrade_req)))
        goto out;
    if (j->script == SCRIPT_ACCEPT) {
        tr_conn_send(&a, early_frame, sizeof(early_frame)); /* too early, but must not be lost */
        static const char get[] = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if (tr_conn_open(&b, j->port, 20) && tr_conn_send(&b, get, strlen(get)))
            tr_conn_read(&b, j->hello, sizeof(j->hello), NULL);
    }
    if (j->script == SCRIPT_VANISH)
        goto out; /* gone before the answer */
    size_t n = tr_conn_read(&a, j->head, sizeof(j->head), "\r\n\r\n");
    char *end = strstr(j->head, "\r\n\r\n");
    if (j->script == SCRIPT_ACCEPT && end != NULL) {
        size_t have = n - (size_t)(end + 4 - j->head);
        memcpy(j->echo, end + 4, have < sizeof(j->echo) ? have : sizeof(j->echo));
        j->echo_len = have;
        while (j->echo_len < 7) {
            int r = SSL_read(a.ssl, j->echo + j->echo_len, (int)(sizeof(j->echo) - j->echo_len));
            if (r <= 0)
                break;
            j->echo_len += (size_t)r;
        }
    }
out:
    tr_conn_close(&a, false);
    tr_conn_close(&b, false);
    ERR_clear_error();
    j->done = true;
    return NULL;
}

static struct job *g_job;
static struct cg_server *g_srv;
static bool waiting(void) { return s.up != NULL; }
static bool hello_done(void) { return s.hello_served > 0; }
static bool client_done(void) { return g_job->done; }
static bool no_connections(void) { return cg_server_connections(g_srv) == 0; }

static pthread_t client_start(struct job *j, struct cg_server *srv, int script)
{
    j->port = cg_server_port(srv, 0);
    j->script = script;
    g_job = j;
    g_srv = srv;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, j), 0);
    return th;
}

/* ---- tests ---- */

static void test_deferred_accept_serves_others_meanwhile(void **state)
{
    (void)state;
    struct cg_server *srv = start_server(0);
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_ACCEPT);
    assert_true(run_until(waiting));
    assert_true(s.second_defer_null);
    /* While the upgrade waits, another connection is served. */
    assert_true(run_until(hello_done));
    assert_non_null(cg_upgrade_request(s.up));
    assert_string_equal(cg_http_request_path(cg_upgrade_request(s.up)), "/ws");
    assert_int_equal(s.opens, 0);
    cg_upgrade_finish(s.up, 101, NULL);
    s.up = NULL;
    assert_int_equal(s.opens, 1);
    assert_true(run_until(client_done));
    pthread_join(th, NULL);
    assert_true(strncmp(j.hello, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_true(strncmp(j.head, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    assert_non_null(strstr(j.head, "\r\nX-Early: added in on_upgrade\r\n"));
    /* The frame sent before the answer was kept and echoed. */
    assert_int_equal(s.messages, 1);
    assert_true(j.echo_len >= 7);
    assert_memory_equal(j.echo, "\x82\x05" "early", 7);
    free_server(srv);
}

static void test_deferred_refusal_carries_late_headers(void **state)
{
    (void)state;
    struct cg_server *srv = start_server(0);
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_REFUSE);
    assert_true(run_until(waiting));
    struct cg_http_response *res = cg_upgrade_response(s.up);
    assert_non_null(res);
    cg_http_response_add_header(res, "WWW-Authenticate", "Basic realm=\"t\"");
    cg_http_response_set(res, 401, "text/plain", "no\n", 3);
    cg_http_response_set_log_reason(res, "decided later");
    cg_upgrade_finish(s.up, 401, NULL);
    s.up = NULL;
    assert_true(run_until(client_done));
    pthread_join(th, NULL);
    assert_true(strncmp(j.head, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
    assert_non_null(strstr(j.head, "\r\nWWW-Authenticate: Basic realm=\"t\"\r\n"));
    assert_non_null(strstr(j.head, "\r\nX-Early: added in on_upgrade\r\n"));
    assert_non_null(strstr(j.head, "\r\nConnection: close\r\n"));
    assert_int_equal(s.opens, 0);
    assert_true(tu_log_has(&tr_log, "rejected 401: GET /ws: decided later"));
    g_srv = srv;
    assert_true(run_until(no_connections));
    free_server(srv);
}

static void test_client_gone_before_the_answer(void **state)
{
    (void)state;
    struct cg_server *srv = start_server(0);
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_VANISH);
    assert_true(run_until(waiting));
    assert_true(run_until(client_done));
    pthread_join(th, NULL);
    assert_true(run_until(no_connections)); /* the server saw it go */
    assert_null(cg_upgrade_request(s.up));
    assert_non_null(cg_upgrade_response(s.up));
    cg_upgrade_finish(s.up, 101, NULL); /* only frees (ASan: no use after free) */
    s.up = NULL;
    assert_int_equal(s.opens, 0);
    free_server(srv);
}

static void test_header_time_limit_answers_503(void **state)
{
    (void)state;
    struct cg_server *srv = start_server(300);
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_WAIT);
    assert_true(run_until(waiting));
    assert_true(run_until(client_done)); /* nobody answers: the time limit does */
    pthread_join(th, NULL);
    assert_true(strncmp(j.head, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    assert_non_null(strstr(j.head, "\r\nRetry-After: 1\r\n"));
    assert_true(tu_log_has(&tr_log, "the upgrade was not decided in time"));
    assert_null(cg_upgrade_request(s.up));
    cg_upgrade_finish(s.up, 101, NULL);
    s.up = NULL;
    free_server(srv);
}

static void test_server_freed_while_waiting(void **state)
{
    (void)state;
    struct cg_server *srv = start_server(0);
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_WAIT);
    assert_true(run_until(waiting));
    free_server(srv);
    assert_true(run_until(client_done));
    pthread_join(th, NULL);
    assert_null(cg_upgrade_request(s.up));
    cg_upgrade_finish(s.up, 401, NULL);
    s.up = NULL;
}

static void test_misuse(void **state)
{
    (void)state;
    assert_null(cg_upgrade_defer(NULL));
    assert_null(cg_upgrade_request(NULL));
    assert_null(cg_upgrade_response(NULL));
    cg_upgrade_finish(NULL, 101, NULL);
    struct cg_server *srv = start_server(0);
    s.defer_without_token = true;
    struct job j = {0};
    pthread_t th = client_start(&j, srv, SCRIPT_WAIT);
    assert_true(run_until(client_done));
    pthread_join(th, NULL);
    assert_true(strncmp(j.head, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    free_server(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deferred_accept_serves_others_meanwhile),
        cmocka_unit_test(test_deferred_refusal_carries_late_headers),
        cmocka_unit_test(test_client_gone_before_the_answer),
        cmocka_unit_test(test_header_time_limit_answers_503),
        cmocka_unit_test(test_server_freed_while_waiting),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
