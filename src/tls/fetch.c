/* Fetching OCSP responses for stapling (BCP B-12).
 *
 * The HTTP exchange blocks, so it runs on libuv's thread pool; the worker
 * touches only its own struct cg_tls_fetch (URL and request in, response
 * bytes and an error text out). Everything else — checking the response,
 * replacing the staple, logging, scheduling the next fetch — happens in the
 * completion callback on the loop thread. A server freed while a fetch is out
 * detaches it (fetch->leaf = NULL) and the completion just frees it. */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <stdlib.h>
#include <string.h>

#define CG_OCSP_MAX_RESPONSE (64u * 1024u)
#define CG_OCSP_MAX_BACKOFF_S 3600u

struct cg_tls_fetch {
    uv_work_t work;
    struct cg_tls_leaf *leaf; /* NULL once the server is gone */
    char *url;
    int timeout_s;
    uint8_t *req;
    size_t req_len;
    uint8_t *resp;
    size_t resp_len;
    char err[512];
};

static void fetch_free(struct cg_tls_fetch *f)
{
    free(f->url);
    OPENSSL_free(f->req);
    free(f->resp);
    free(f);
}

/* Worker thread: OpenSSL's error queue is per thread, so drain it here. */
static void fetch_fail(struct cg_tls_fetch *f, const char *what)
{
    size_t off = (size_t)snprintf(f->err, sizeof(f->err), "%s", what);
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (off + 8 < sizeof(f->err)) {
            off += (size_t)snprintf(f->err + off, sizeof(f->err) - off, "; ");
            ERR_error_string_n(e, f->err + off, sizeof(f->err) - off);
            off += strlen(f->err + off);
        }
    }
}

static void read_all(struct cg_tls_fetch *f, BIO *rsp)
{
    char *p = NULL;
    long n = BIO_get_mem_data(rsp, &p);
    if (n <= 0 || p == NULL) {
        fetch_fail(f, "empty response");
        return;
    }
    f->resp = malloc((size_t)n);
    if (f->resp == NULL) {
        fetch_fail(f, "out of memory");
        return;
    }
    memcpy(f->resp, p, (size_t)n);
    f->resp_len = (size_t)n;
}

static void fetch_work(uv_work_t *w)
{
    struct cg_tls_fetch *f = w->data;
    char *host = NULL, *port = NULL, *path = NULL;
    int tls = 0;
    BIO *req = NULL, *rsp = NULL;
    if (OSSL_HTTP_parse_url(f->url, &tls, NULL, &host, &port, NULL, &path, NULL, NULL) != 1) {
        fetch_fail(f, "bad responder URL");
    } else if (tls) {
        fetch_fail(f, "https responder URLs are not supported (OCSP is signed; use http)");
    } else if ((req = BIO_new_mem_buf(f->req, (int)f->req_len)) == NULL) {
        fetch_fail(f, "out of memory");
    } else {
        rsp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL,
                                 0, NULL, "application/ocsp-request", req,
                                 "application/ocsp-response", 1, CG_OCSP_MAX_RESPONSE,
                                 f->timeout_s, 0);
        if (rsp == NULL)
            fetch_fail(f, "HTTP exchange failed");
        else
            read_all(f, rsp);
    }
    BIO_free(rsp);
    BIO_free(req);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    /* A libuv pool thread outlives OPENSSL_cleanup at exit, so its OpenSSL
     * thread state (the error queue OSSL_HTTP_open creates) would leak. */
    OPENSSL_thread_stop();
}

static void on_timer(uv_timer_t *t)
{
    struct cg_tls_leaf *leaf = t->data;
    if (cg__tls_fetch_start(leaf) != CG_OK)
        cg__tls_fetch_schedule(leaf, (uint64_t)leaf->srv->ocsp_min_refresh_s * 1000u);
}

void cg__tls_fetch_schedule(struct cg_tls_leaf *leaf, uint64_t delay_ms)
{
    if (leaf->timer == NULL) {
        leaf->timer = malloc(sizeof(*leaf->timer));
        if (leaf->timer == NULL)
            return; /* no refresh; the staple lapses and that is logged then */
        uv_timer_init(cg_ctx_loop(leaf->srv->ctx), leaf->timer);
        leaf->timer->data = leaf;
        uv_unref((uv_handle_t *)leaf->timer);
    }
    uv_timer_start(leaf->timer, on_timer, delay_ms, 0);
}

static void after_success(struct cg_tls_leaf *leaf, long valid_s)
{
    unsigned floor_s = leaf->srv->ocsp_min_refresh_s;
    /* Refresh half-way to nextUpdate, never more often than the floor. */
    long half = valid_s / 2;
    leaf->failures = 0;
    cg__tls_fetch_schedule(leaf, (uint64_t)(half > (long)floor_s ? half : (long)floor_s) * 1000u);
}

static void after_failure(struct cg_tls_leaf *leaf, const char *why)
{
    unsigned floor_s = leaf->srv->ocsp_min_refresh_s;
    uint64_t backoff = floor_s;
    for (unsigned i = 0; i < leaf->failures && backoff < CG_OCSP_MAX_BACKOFF_S; i++)
        backoff *= 2;
    if (backoff > CG_OCSP_MAX_BACKOFF_S && floor_s < CG_OCSP_MAX_BACKOFF_S)
        backoff = CG_OCSP_MAX_BACKOFF_S;
    leaf->failures++;
    bool live = leaf->staple != NULL && time(NULL) < leaf->staple_expires;
    cg__log(leaf->srv->ctx, live ? CG_LOG_WARN : CG_LOG_ERROR, CG_TLS_COMPONENT,
            "%s: OCSP fetch from %s failed (%s); %s; retry in %llus", leaf->name, leaf->ocsp_url,
            why, live ? "still stapling the last good response" : "NO OCSP response to staple",
            (unsigned long long)backoff);
    cg__tls_fetch_schedule(leaf, backoff * 1000u);
}

static void fetch_done(uv_work_t *w, int status)
{
    struct cg_tls_fetch *f = w->data;
    struct cg_tls_leaf *leaf = f->leaf;
    if (leaf == NULL || status != 0) {
        fetch_free(f);
        return;
    }
    leaf->fetch = NULL;
    long valid_s = 0;
    enum cg_err rc = CG_EOCSP;
    if (f->resp != NULL)
        rc = cg__tls_staple_accept(leaf, f->resp, f->resp_len, &valid_s);
    if (rc == CG_OK)
        after_success(leaf, valid_s);
    else
        after_failure(leaf, f->resp != NULL ? cg_strerror(rc) : f->err);
    fetch_free(f);
}

static enum cg_err build_request(struct cg_tls_leaf *leaf, struct cg_tls_fetch *f)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf->cert, leaf->issuer);
    int len = -1;
    if (req != NULL && id != NULL && OCSP_request_add0_id(req, id) != NULL) {
        id = NULL; /* owned by req now */
        unsigned char *der = NULL;
        len = i2d_OCSP_REQUEST(req, &der);
        f->req = der;
    }
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    CG_CHECK(len > 0, CG_ENOMEM);
    f->req_len = (size_t)len;
    return CG_OK;
}

enum cg_err cg__tls_fetch_start(struct cg_tls_leaf *leaf)
{
    if (leaf->fetch != NULL)
        return CG_OK;
    struct cg_tls_fetch *f = calloc(1, sizeof(*f));
    CG_CHECK(f != NULL, CG_ENOMEM);
    f->leaf = leaf;
    f->work.data = f;
    f->timeout_s = (int)leaf->srv->ocsp_timeout_s;
    f->url = cg__strdup(leaf->ocsp_url);
    if (f->url == NULL || build_request(leaf, f) != CG_OK) {
        fetch_free(f);
        return CG_ENOMEM;
    }
    if (uv_queue_work(cg_ctx_loop(leaf->srv->ctx), &f->work, fetch_work, fetch_done) != 0) {
        fetch_free(f);
        return CG_EINTERNAL;
    }
    leaf->fetch = f;
    cg__log(leaf->srv->ctx, CG_LOG_DEBUG, CG_TLS_COMPONENT, "%s: fetching OCSP from %s",
            leaf->name, leaf->ocsp_url);
    return CG_OK;
}

static void free_handle(uv_handle_t *h) { free(h); }

void cg__tls_fetch_stop(struct cg_tls_leaf *leaf)
{
    if (leaf->fetch != NULL) {
        leaf->fetch->leaf = NULL;
        uv_cancel((uv_req_t *)&leaf->fetch->work); /* fails harmlessly once running */
        leaf->fetch = NULL;
    }
    if (leaf->timer != NULL) {
        uv_close((uv_handle_t *)leaf->timer, free_handle);
        leaf->timer = NULL;
    }
}
