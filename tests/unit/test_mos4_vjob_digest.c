/* A large request's digest is made on the loop while the thread pool checks
 * it (mos4/flow.c validated/vjob_after, issue 13), a small one's after its
 * check on the loop (take). Both must be the digest of the same element
 * (M-22: a repeat is recognised by messageID and digest): a request sent
 * small (checked on the loop), then again with the same messageID and
 * element but spaces after the element that carry the message past the
 * async threshold (checked on the pool), is a repeat, answered from memory
 * and not delivered again; the same messageID with another element after
 * it is delivered as a new request (the reused-ID default). In UTF-8 and
 * UCS-2BE from a MOS 2.x port (M-21). */
#define _GNU_SOURCE /* memmem */
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

#define ASYNC 4096

struct rig {
    struct cg_ctx *ctx;
    struct cg_mos_endpoint *ep;
    uint16_t port;
    enum cg_mos_encoding enc;
    pthread_t sender;
    char delivered[8][16]; /* each delivery's roID */
    int ndelivered;
    int answers; /* read by the sender */
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct rig *r = user;
    const char *id = "?";
    if (m->len > 0 && memmem(m->xml, m->len, "A1", 2) != NULL)
        id = "A1";
    else if (m->len > 0 && memmem(m->xml, m->len, "\0A\0" "2", 4) != NULL)
        id = "A2";
    else if (m->len > 0 && memmem(m->xml, m->len, "\0A\0" "1", 4) != NULL)
        id = "A1";
    else if (m->len > 0 && memmem(m->xml, m->len, "A2", 2) != NULL)
        id = "A2";
    if (r->ndelivered < 8)
        snprintf(r->delivered[r->ndelivered], sizeof(r->delivered[0]), "%s", id);
    r->ndelivered++;
    cg_mos_reply_ack(req, true, NULL);
    if (strcmp(id, "A2") == 0)
        cg_ctx_stop(r->ctx); /* the last one */
}

/* msg in UTF-8 to the wire in r->enc */
static void send_msg(int fd, enum cg_mos_encoding enc, const char *msg, size_t n)
{
    uint8_t *w = NULL;
    size_t wn = n;
    if (enc == CG_MOS_UCS2BE)
        assert_int_equal(cg_mos_convert(CG_MOS_UTF8, msg, n, &w, &wn, NULL), CG_OK);
    const uint8_t *p = w != NULL ? w : (const uint8_t *)msg;
    for (size_t off = 0; off < wn;) {
        ssize_t k = write(fd, p + off, wn - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    cg_mos_free(w);
}

/* Reads until the answer's end ("</mos>" in the port's encoding). */
static bool read_answer(int fd, enum cg_mos_encoding enc)
{
    static const char end8[] = "</mos>";
    static const char end16[] = "\0<\0/\0m\0o\0s\0>";
    const char *end = enc == CG_MOS_UTF8 ? end8 : end16;
    size_t endn = enc == CG_MOS_UTF8 ? 6 : 12, n = 0;
    char buf[4096];
    while (n < sizeof(buf)) {
        ssize_t k = read(fd, buf + n, sizeof(buf) - n);
        if (k <= 0)
            return false;
        n += (size_t)k;
        if (n >= endn && memmem(buf, n, end, endn) != NULL)
            return true;
    }
    return false;
}

static void *sender(void *arg)
{
    struct rig *r = arg;
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(r->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(fd);
            fd = -1;
            usleep(50000);
        }
    }
    if (fd < 0)
        return NULL;
    static const char head[] = "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>5</messageID>";
    char *msg = malloc(3 * ASYNC);
    assert_non_null(msg);
    /* 1: small (checked on the loop) */
    int n = snprintf(msg, 3 * ASYNC, "%s<roReq><roID>A1</roID></roReq></mos>", head);
    send_msg(fd, r->enc, msg, (size_t)n);
    r->answers += read_answer(fd, r->enc);
    /* 2: the same element, past the threshold by spaces after it (the pool);
     * 3: another element, same messageID, large too */
    static const char *const ro[] = {"A1", "A2"};
    for (int k = 0; k < 2; k++) {
        n = snprintf(msg, 3 * ASYNC, "%s<roReq><roID>%s</roID></roReq>", head, ro[k]);
        memset(msg + n, ' ', ASYNC);
        n += ASYNC;
        n += snprintf(msg + n, 3 * ASYNC - (size_t)n, "</mos>");
        send_msg(fd, r->enc, msg, (size_t)n);
        r->answers += read_answer(fd, r->enc);
    }
    free(msg);
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) /* until the endpoint goes */
        ;
    close(fd);
    return NULL;
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(t->data); }

static void run(enum cg_mos_encoding enc)
{
    struct rig r = {.enc = enc};
    assert_int_equal(cg_ctx_new(&r.ctx), CG_OK);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(ec, 0, 0, ASYNC), CG_OK);
    static const struct cg_mos_handlers h = {.on_request = on_request};
    assert_int_equal(cg_mos_endpoint_new(r.ctx, ec, &h, &r, &r.ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new("NCS", &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, enc), CG_OK);
    r.port = tu_free_port();
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "127.0.0.1", 0, r.port, 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_add_peer(r.ep, pc), CG_OK);
    cg_mos_peer_config_free(pc);
    assert_int_equal(cg_mos_endpoint_start(r.ep), CG_OK);
    assert_int_equal(pthread_create(&r.sender, NULL, sender, &r), 0);
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(r.ctx), &dog);
    dog.data = r.ctx;
    uv_timer_start(&dog, watchdog, 60000, 0);
    cg_ctx_run(r.ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_mos_endpoint_free(r.ep);
    cg_ctx_free(r.ctx);
    pthread_join(r.sender, NULL);
    if (r.ndelivered != 2 || strcmp(r.delivered[0], "A1") != 0 ||
        strcmp(r.delivered[1], "A2") != 0)
        fail_msg("%s: %d deliveries (%s, %s, %s), want A1 then A2 (the repeat answered from "
                 "memory)", enc == CG_MOS_UTF8 ? "utf-8" : "ucs-2be", r.ndelivered,
                 r.ndelivered > 0 ? r.delivered[0] : "-", r.ndelivered > 1 ? r.delivered[1] : "-",
                 r.ndelivered > 2 ? r.delivered[2] : "-");
    assert_int_equal(r.answers, 3);
}

static void test_utf8(void **unused)
{
    (void)unused;
    run(CG_MOS_UTF8);
}

static void test_ucs2be(void **unused)
{
    (void)unused;
    run(CG_MOS_UCS2BE);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_ucs2be),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
