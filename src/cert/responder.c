/* The OCSP responder over plain HTTP (RFC 6960 appendix A) on the context's
 * loop. OCSP responses are signed, so plain HTTP is the norm and what every
 * client's AIA fetch expects. One request per connection (Connection:
 * close); the libuv callbacks only move bytes: ocsp.c makes the answers. */
#include "cert/cert.h"
#include "http/http.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define RESPONDER_MAX_CONNS 256
#define RESPONDER_TIMEOUT_MS 10000

struct ocsp_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    struct cg_ocsp_responder *r;
    struct cg_http_parser hp;
    struct cg_buf out;
    uint8_t rbuf[4096];
    int open_handles;
    bool answered;
    struct ocsp_conn *prev, *next;
};

struct cg_ocsp_responder {
    struct cg_ctx *ctx;
    struct cg_ca *ca;
    X509 *delegate;          /* delegated signer, or NULL */
    EVP_PKEY *delegate_key;
    struct cg_ocsp_signer signer;
    struct cg_db db;
    char db_path[600];
    struct timespec db_mtime;
    off_t db_size;
    uv_tcp_t listener;
    uint16_t port;
    struct ocsp_conn *conns;
    size_t nconns;
    bool listener_open;
    bool freeing;
};

static void maybe_free_responder(struct cg_ocsp_responder *r)
{
    if (!r->freeing || r->listener_open || r->conns != NULL)
        return;
    cg__db_free(&r->db);
    cg_ca_free(r->ca);
    X509_free(r->delegate);
    EVP_PKEY_free(r->delegate_key);
    free(r);
}

/* Re-reads index.txt when it changed (revocations show up in the next
 * answer); a broken file keeps the last good database and is logged. */
static void refresh_db(struct cg_ocsp_responder *r)
{
    struct stat st;
    if (stat(r->db_path, &st) != 0) {
        cg__log(r->ctx, CG_LOG_WARN, CG_CERT_COMPONENT, "%s: cannot stat", r->db_path);
        return;
    }
    if (st.st_mtim.tv_sec == r->db_mtime.tv_sec && st.st_mtim.tv_nsec == r->db_mtime.tv_nsec &&
        st.st_size == r->db_size)
        return;
    struct cg_db fresh;
    size_t bad = 0;
    enum cg_err rc = cg__db_load(r->db_path, &fresh, &bad);
    if (rc != CG_OK) {
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s: %s at line %zu; answering from the last good copy", r->db_path,
                cg_strerror(rc), bad);
        return;
    }
    cg__db_free(&r->db);
    r->db = fresh;
    r->db_mtime = st.st_mtim;
    r->db_size = st.st_size;
    cg__log(r->ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "OCSP database loaded: %zu certificates",
            r->db.n);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ocsp_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct cg_ocsp_responder *r = c->r;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    r->nconns--;
    cg__http_parser_free(&c->hp);
    cg__buf_free(&c->out);
    free(c);
    maybe_free_responder(r);
}

static void conn_close(struct ocsp_conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

static void send_reply(struct ocsp_conn *c, int status, const char *type, const uint8_t *body,
                       size_t len, const char *extra)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    char date[CG_HTTP_DATE_LEN]; /* RFC 9110 §6.6.1 */
    cg__http_date((int64_t)time(NULL), date);
    enum cg_err rc = cg__buf_printf(&c->out,
                                    "HTTP/1.0 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n"
                                    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                                    "%sConnection: close\r\n\r\n",
                                    status, cg__http_status_text(status), date, type, len, extra);
    if (rc == CG_OK && len > 0)
        rc = cg__buf_append(&c->out, body, len);
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    c->wr.data = c;
    if (rc != CG_OK || uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

/* The CRL distribution point recorded by ca init defaults to this server
 * (http://HOST:PORT/crl.pem): serve the last `castgate cert crl` output as
 * DER (RFC 5280 §4.2.1.13: application/pkix-crl). Base64 has no '.', so this
 * path never collides with a GET request. */
static void send_crl(struct ocsp_conn *c)
{
    char path[600];
    unsigned char *der = NULL;
    int n = -1;
    if (cg__cert_path(path, sizeof(path), c->r->ca->dir, "crl.pem") == CG_OK) {
        BIO *bio = BIO_new_file(path, "r");
        X509_CRL *crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        if (crl != NULL)
            n = i2d_X509_CRL(crl, &der);
        X509_CRL_free(crl);
        BIO_free(bio);
        ERR_clear_error();
    }
    if (n <= 0)
        send_reply(c, 404, "text/plain", (const uint8_t *)"no CRL yet: castgate cert crl\n", 30,
                   "");
    else
        send_reply(c, 200, "application/pkix-crl", der, (size_t)n, "");
    OPENSSL_free(der);
}

static void answer(struct ocsp_conn *c)
{
    struct cg_ocsp_responder *r = c->r;
    const struct cg_http_request *req = &c->hp.req;
    uint8_t *der = NULL, *resp = NULL;
    size_t len = 0, rlen = 0;
    if (strcmp(req->method, "POST") == 0) {
        der = c->hp.req.body.data;
        len = c->hp.req.body.len;
    } else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/crl.pem") == 0) {
        send_crl(c);
        return;
    } else if (strcmp(req->method, "GET") == 0) {
        if (cg__ocsp_decode_get(req->path, &der, &len) != CG_OK) {
            send_reply(c, 400, "text/plain", (const uint8_t *)"bad OCSP GET request\n", 21, "");
            return;
        }
    } else {
        send_reply(c, 405, "text/plain", (const uint8_t *)"GET or POST\n", 12,
                   "Allow: GET, POST\r\n");
        return;
    }
    refresh_db(r);
    enum cg_err rc = cg__ocsp_answer(&r->signer, &r->db, der, len, time(NULL), &resp, &rlen);
    if (der != c->hp.req.body.data)
        free(der);
    if (rc != CG_OK) {
        send_reply(c, 500, "text/plain", (const uint8_t *)"internal error\n", 15, "");
        return;
    }
    cg__log(r->ctx, CG_LOG_DEBUG, CG_CERT_COMPONENT, "OCSP %s answered (%zu bytes)",
            req->method, rlen);
    send_reply(c, 200, "application/ocsp-response", resp, rlen, "");
    OPENSSL_free(resp);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct ocsp_conn *c = h->data;
    (void)hint;
    *b = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ocsp_conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0 || c->answered)
        return;
    cg__http_parser_feed(&c->hp, (const uint8_t *)b->base, (size_t)n);
    if (c->hp.error_status != 0) {
        int st = c->hp.error_status;
        const char *why = c->hp.error_reason != NULL ? c->hp.error_reason : "bad request";
        send_reply(c, st, "text/plain", (const uint8_t *)why, strlen(why), "");
    } else if (c->hp.complete) {
        answer(c);
    }
}

static void on_timeout(uv_timer_t *t) { conn_close(t->data); }

static void on_connection(uv_stream_t *l, int status)
{
    struct cg_ocsp_responder *r = l->data;
    if (status < 0)
        return;
    struct ocsp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->r = r;
    uv_tcp_init((uv_loop_t *)cg_ctx_loop(r->ctx), &c->tcp);
    uv_timer_init((uv_loop_t *)cg_ctx_loop(r->ctx), &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    cg__http_parser_init(&c->hp, 8192, 16384);
    c->hp.plain = true; /* OCSP over plain HTTP: an absolute-form target is http: */
    cg__buf_init(&c->out, 0);
    c->next = r->conns;
    if (r->conns != NULL)
        r->conns->prev = c;
    r->conns = c;
    r->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || r->nconns > RESPONDER_MAX_CONNS) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, RESPONDER_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static enum cg_err listen_on(struct cg_ocsp_responder *r, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    bool v6 = strchr(addr, ':') != NULL;
    int e = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss)
               : uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
    CG_CHECK(e == 0, CG_EINVAL);
    uv_tcp_init((uv_loop_t *)cg_ctx_loop(r->ctx), &r->listener);
    r->listener.data = r;
    r->listener_open = true;
    e = uv_tcp_bind(&r->listener, (struct sockaddr *)&ss, 0);
    if (e == 0)
        e = uv_listen((uv_stream_t *)&r->listener, 128, on_connection);
    struct sockaddr_storage got;
    int len = sizeof(got);
    if (e == 0)
        e = uv_tcp_getsockname(&r->listener, (struct sockaddr *)&got, &len);
    if (e != 0) {
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "OCSP responder: cannot listen on %s "
                "port %u: %s", addr, (unsigned)port, uv_strerror(e));
        return CG_ENET;
    }
    r->port = ntohs(v6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                       : ((struct sockaddr_in *)&got)->sin_port);
    return CG_OK;
}

/* A delegated signer must be issued by the intermediate for OCSPSigning
 * (RFC 6960 §4.2.2.2), or clients reject every answer it signs. */
static enum cg_err load_delegate(struct cg_ocsp_responder *r,
                                 const struct cg_ocsp_responder_opts *o)
{
    const char *f = o->signer_cert;
    if (o->signer_key == NULL) {
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "OCSP signer %s: no key given", f);
        return CG_EINVAL;
    }
    r->delegate = cg__cert_read_one(f);
    if (r->delegate == NULL) {
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: not a PEM certificate", f);
        return CG_EFILE;
    }
    if (X509_check_issued(r->ca->inter, r->delegate) != X509_V_OK ||
        (X509_get_extended_key_usage(r->delegate) & XKU_OCSP_SIGN) == 0) {
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s: not an OCSP signer of this CA (issued by the intermediate, "
                "extendedKeyUsage OCSPSigning)", f);
        return CG_ECERT;
    }
    CG_GUARD(cg__cert_read_key(r->ctx, o->signer_key, o->passphrase, &r->delegate_key));
    if (X509_check_private_key(r->delegate, r->delegate_key) != 1) {
        ERR_clear_error();
        cg__log(r->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "key %s does not match %s",
                o->signer_key, f);
        return CG_EKEYMISMATCH;
    }
    r->signer.signer = r->delegate;
    r->signer.key = r->delegate_key;
    return CG_OK;
}

enum cg_err cg_ocsp_responder_new(struct cg_ctx *ctx, const struct cg_ocsp_responder_opts *o,
                                  struct cg_ocsp_responder **out)
{
    enum cg_err rc = CG_OK;
    CG_CHECK(ctx != NULL && o != NULL && o->ca_dir != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    struct cg_ocsp_responder *r = calloc(1, sizeof(*r));
    CG_CHECK(r != NULL, CG_ENOMEM);
    r->ctx = ctx;
    CG_TRY(cg_ca_open(ctx, o->ca_dir, o->passphrase, &r->ca));
    r->signer = (struct cg_ocsp_signer){.issuer = r->ca->inter, .signer = r->ca->inter,
                                        .key = r->ca->inter_key, .validity_s = o->validity_s};
    if (o->signer_cert != NULL)
        CG_TRY(load_delegate(r, o));
    CG_TRY(cg__ca_db_path(r->ca, r->db_path, sizeof(r->db_path)));
    refresh_db(r);
    CG_TRY(listen_on(r, o->addr != NULL ? o->addr : "127.0.0.1", o->port));
    cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "OCSP responder for %s on port %u, signing "
            "as %s", r->ca->name, (unsigned)r->port,
            r->delegate != NULL ? "the delegated signer" : "the intermediate");
    *out = r;
    r = NULL;
out:
    cg_ocsp_responder_free(r);
    return rc;
}

uint16_t cg_ocsp_responder_port(const struct cg_ocsp_responder *r)
{
    return r != NULL ? r->port : 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct cg_ocsp_responder *r = h->data;
    r->listener_open = false;
    maybe_free_responder(r);
}

void cg_ocsp_responder_free(struct cg_ocsp_responder *r)
{
    if (r == NULL || r->freeing)
        return;
    r->freeing = true;
    for (struct ocsp_conn *c = r->conns; c != NULL; c = c->next)
        conn_close(c);
    if (r->listener_open)
        uv_close((uv_handle_t *)&r->listener, on_listener_closed);
    else
        maybe_free_responder(r);
}
