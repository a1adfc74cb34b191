/* The front door (issue 12 item 4): a server connection's TLS handshake
 * steps run on the context's front-door threads, so the loop thread, which
 * carries every open lane, spends no time on a newcomer's key exchange and
 * signature (about 1 ms each with RSA; the same again per password guess or
 * flood connection).
 *
 * The loop keeps the socket: it reads ciphertext into the SSL's memory BIO
 * and asks the line (hsq.c) for a turn; a thread runs SSL_do_handshake over
 * it (OpenSSL's callbacks too: the OCSP staple and ticket keys, which tls/
 * guards for that) and the loop, told through the pool's eventfd, writes
 * what SSL wrote and carries on as a loop handshake would: tls_done, or
 * tls_failed with OpenSSL's errors moved back onto the loop thread's queue.
 * While a step runs the thread owns the SSL and both BIOs: bytes that come
 * meanwhile wait in `early`, and the connection is not freed before the
 * step is done (it is a hold, like an open handle). */
#include "net/net.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_ERRORS 4
/* While a step runs or waits, reading is held: what came before the hold
 * took effect (a read or two of at most 64 KB) waits in `early`. */
#define HS_EARLY_MAX (256u * 1024u)

struct hs_error {
    unsigned long code;
    /* Copies: OpenSSL 3 keeps its own copies of these in the thread's error
     * queue and frees them at that thread's next ERR_clear_error, which the
     * pool thread's next step runs while the loop may still be restoring
     * these (heap-use-after-free, test_frontdoor_errors.sh). */
    char file[64], func[64];
    int line;
    char data[160];
};

struct cg_conn_hs {
    struct cg_bgjob bg;
    struct cg_hsq_entry q;
    struct cg_conn *conn;
    struct cg_hsq *hsq;
    struct cg_tls_server *tls; /* held until the handshake ends; NULL after */
    SSL *ssl;                  /* the thread's while busy */
    struct cg_buf early;       /* ciphertext that came while a step ran or waited */
    bool busy;                 /* a step runs on a thread */
    bool holding;              /* reading held until the step is done */
    bool eof;                  /* the peer's EOF came while a step ran or waited */
    /* A step's result, written by the thread, read by the loop after done. */
    int r, err;
    struct hs_error errors[HS_ERRORS];
    unsigned nerrors;
};

static struct cg_conn_hs *hs_of_entry(struct cg_hsq_entry *e)
{
    return (struct cg_conn_hs *)((char *)e - offsetof(struct cg_conn_hs, q));
}

bool cg__conn_hs_busy(const struct cg_conn *c) { return c->hs != NULL && c->hs->busy; }

/* ---- on a front-door thread ---- */

/* OpenSSL's error queue is per thread: the step's errors are taken off this
 * thread's and carried to the loop's (restore_errors). */
static void take_errors(struct cg_conn_hs *hs)
{
    hs->nerrors = 0;
    const char *file, *func, *data;
    int line, flags;
    unsigned long e;
    while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        if (hs->nerrors == HS_ERRORS)
            continue; /* keep draining */
        struct hs_error *x = &hs->errors[hs->nerrors++];
        x->code = e;
        snprintf(x->file, sizeof(x->file), "%s", file != NULL ? file : "");
        snprintf(x->func, sizeof(x->func), "%s", func != NULL ? func : "");
        x->line = line;
        x->data[0] = '\0';
        if ((flags & ERR_TXT_STRING) && data != NULL)
            snprintf(x->data, sizeof(x->data), "%s", data);
    }
}

static void step_work(struct cg_bgjob *j)
{
    struct cg_conn_hs *hs = (struct cg_conn_hs *)j;
    ERR_clear_error();
    hs->r = SSL_do_handshake(hs->ssl);
    hs->err = hs->r == 1 ? SSL_ERROR_NONE : SSL_get_error(hs->ssl, hs->r);
    take_errors(hs);
}

/* ---- on the loop thread ---- */

static void restore_errors(const struct cg_conn_hs *hs)
{
    ERR_clear_error();
    for (unsigned i = 0; i < hs->nerrors; i++) {
        const struct hs_error *x = &hs->errors[i];
        ERR_new();
        ERR_set_debug(x->file, x->line, x->func);
        if (x->data[0] != '\0')
            ERR_set_error(ERR_GET_LIB(x->code), ERR_GET_REASON(x->code), "%s", x->data);
        else
            ERR_set_error(ERR_GET_LIB(x->code), ERR_GET_REASON(x->code), NULL);
    }
}

static void release_tls(struct cg_conn_hs *hs)
{
    if (hs->tls != NULL)
        cg__tls_server_release(hs->tls);
    hs->tls = NULL;
}

/* The handshake is over (done or failed): it leaves the line. */
static void ended(struct cg_conn_hs *hs)
{
    cg__hsq_leave(hs->hsq, &hs->q);
    release_tls(hs);
}

static void step_done(struct cg_bgjob *j, enum cg_err rc);

/* Loop thread, no step running: what waited in `early` goes to the SSL.
 * Returns whether there was any; false with c closed if it could not. */
static bool feed_early(struct cg_conn *c)
{
    struct cg_conn_hs *hs = c->hs;
    if (hs->early.len == 0)
        return false;
    int n = BIO_write(c->net_in, hs->early.data, (int)hs->early.len);
    cg__buf_reset(&hs->early);
    if (n <= 0)
        cg__conn_close(c, "out of memory");
    return n > 0;
}

/* c's step may run now (the line counted it): hand it to a thread. */
static void start_step(struct cg_conn *c)
{
    struct cg_conn_hs *hs = c->hs;
    feed_early(c); /* it waited in line: the thread sees all of it */
    if (c->state == CG_CONN_CLOSED) {
        struct cg_hsq_entry *next = cg__hsq_step_done(hs->hsq, &hs->q);
        if (next != NULL)
            start_step(hs_of_entry(next)->conn);
        return;
    }
    hs->busy = true;
    c->open_handles++; /* the step holds c until done */
    if (cg__bg_queue_front(c->ctx, &hs->bg, step_work, step_done) == CG_OK)
        return;
    hs->busy = false;
    c->open_handles--;
    struct cg_hsq_entry *next = cg__hsq_step_done(hs->hsq, &hs->q);
    cg__log(c->ctx, CG_LOG_ERROR, "tls", "%s: no front-door thread for the TLS handshake", c->peer);
    cg__conn_close(c, "no handshake thread");
    if (next != NULL)
        start_step(hs_of_entry(next)->conn);
}

static void want_step(struct cg_conn *c)
{
    if (cg__hsq_want(c->hs->hsq, &c->hs->q))
        start_step(c);
}

/* What a loop handshake does after SSL_do_handshake (conn.c handshake()). */
static void apply(struct cg_conn *c)
{
    struct cg_conn_hs *hs = c->hs;
    bool fed = feed_early(c), eof = hs->eof;
    if (c->state == CG_CONN_CLOSED)
        return;
    if (hs->holding) {
        hs->holding = false;
        cg__conn_hold_reading(c, false);
    }
    if (hs->r == 1) {
        ended(hs);
        cg__conn_hs_free(c); /* no need for it on an open connection */
        cg__log(c->ctx, CG_LOG_DEBUG, "tls", "%s: %s %s (front door)", c->peer,
                SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
        c->ops->tls_done(c); /* sets the next state, or closes */
        if (cg__conn_open(c))
            cg__conn_pump(c); /* application data that came with the Finished */
        if (eof && c->state != CG_CONN_CLOSED)
            cg__conn_close(c, "peer closed"); /* as on_read would have, after that data */
        return;
    }
    if (hs->err == SSL_ERROR_WANT_READ) {
        if (cg__conn_flush(c) != CG_OK)
            cg__conn_close(c, "write failed");
        else if (eof)
            cg__conn_close(c, "peer closed"); /* gone before the handshake ended */
        else if (fed)
            want_step(c); /* bytes came while it ran (a partial record alone waits for more) */
        return;
    }
    restore_errors(hs);
    ended(hs);
    cg__conn_hs_free(c);
    cg__conn_flush(c); /* the alert */
    c->ops->tls_failed(c); /* B-31: no going on after a failed handshake */
}

static void step_done(struct cg_bgjob *j, enum cg_err rc)
{
    struct cg_conn_hs *hs = (struct cg_conn_hs *)j;
    struct cg_conn *c = hs->conn;
    hs->busy = false;
    /* A connection that closed meanwhile has left the line; its q may have
     * been let go too (the server freed): then step_done frees it. */
    struct cg_hsq_entry *next = cg__hsq_step_done(hs->hsq, &hs->q);
    if (next != NULL)
        start_step(hs_of_entry(next)->conn);
    if (c->state == CG_CONN_CLOSED) {
        cg__conn_release(c); /* maybe the last hold */
        return;
    }
    c->open_handles--; /* its handles are open: not the last */
    if (rc != CG_OK) {
        cg__conn_close(c, "handshake thread stopped");
        return;
    }
    apply(c);
}

void cg__conn_hs_input(struct cg_conn *c, const uint8_t *p, size_t n)
{
    struct cg_conn_hs *hs = c->hs;
    if (hs->busy || hs->q.waiting) {
        if (cg__buf_append(&hs->early, p, n) != CG_OK) {
            cg__conn_close(c, "too many bytes during the TLS handshake");
            return;
        }
        if (!hs->holding) { /* the rest stays in the socket until the step is done */
            hs->holding = true;
            cg__conn_hold_reading(c, true);
        }
        return;
    }
    if (BIO_write(c->net_in, p, (int)n) != (int)n) {
        cg__conn_close(c, "out of memory");
        return;
    }
    want_step(c);
}

bool cg__conn_hs_eof(struct cg_conn *c)
{
    struct cg_conn_hs *hs = c->hs;
    if (hs == NULL || !(hs->busy || hs->q.waiting))
        return false;
    hs->eof = true;
    return true;
}

void cg__conn_hs_closing(struct cg_conn *c)
{
    if (c->hs == NULL)
        return;
    cg__hsq_leave(c->hs->hsq, &c->hs->q);
    if (!c->hs->busy)
        release_tls(c->hs);
}

void cg__conn_hs_free(struct cg_conn *c)
{
    struct cg_conn_hs *hs = c->hs;
    if (hs == NULL)
        return;
    release_tls(hs);
    cg__buf_free(&hs->early);
    free(hs);
    c->hs = NULL;
}

enum cg_err cg__conn_offload_handshake(struct cg_conn *c, struct cg_hsq *q,
                                       struct cg_tls_server *tls)
{
    CG_CHECK(c != NULL && q != NULL && tls != NULL && c->ssl != NULL && c->hs == NULL, CG_EINVAL);
    struct cg_conn_hs *hs = calloc(1, sizeof(*hs));
    CG_CHECK(hs != NULL, CG_ENOMEM);
    if (!cg__hsq_admit(q, &hs->q, c->peer_addr)) {
        free(hs);
        return CG_EFULL;
    }
    hs->conn = c;
    hs->hsq = q;
    hs->ssl = c->ssl;
    hs->tls = tls;
    cg__tls_server_hold(tls);
    cg__buf_init(&hs->early, HS_EARLY_MAX);
    c->hs = hs;
    return CG_OK;
}
