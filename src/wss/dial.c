/* The client side of a wss connection: resolve, connect, TLS (checked before
 * any data, B-31), the RFC 6455 upgrade, then WebSocket frames. */
#include "wss/client.h"
#include "ws/ws.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESPONSE_HEAD 16384

struct cg_dial {
    struct cg_wconn wc; /* first: a struct cg_wconn * is a struct cg_dial * */
    struct cg_ws_client *cli;
    char host[256];      /* as in the URL, without brackets */
    char hostport[300];  /* Host header */
    char *target;        /* path and query */
    uint16_t port;
    char key[32];        /* Sec-WebSocket-Key */
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    bool gai_pending;
    bool gai_retried;
    bool handles_closed;
    http_parser rp;
    struct cg_buf field, value;
    bool in_value, head_done, upgrade_ok, connection_ok, accept_ok;
    long retry_after; /* a refusal's Retry-After in seconds, -1 if none */
    size_t head_bytes;
    struct cg_dial *prev, *next;
    uint8_t readbuf[16384];
};

/* ---- the URL (wss only, B-30) ---- */

static enum cg_err parse_url(struct cg_dial *d, const char *url)
{
    CG_CHECK(strncmp(url, "wss://", 6) == 0, CG_EINVAL); /* never ws: or http: */
    const char *a = url + 6, *end = a + strcspn(a, "/?#");
    CG_CHECK(memchr(a, '@', (size_t)(end - a)) == NULL, CG_EINVAL); /* no credentials in URLs */
    const char *h = a, *hend, *colon;
    if (*a == '[') {
        h = a + 1;
        hend = memchr(h, ']', (size_t)(end - h));
        CG_CHECK(hend != NULL, CG_EINVAL);
        colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        hend = colon != NULL ? colon : end;
    }
    CG_CHECK(hend > h && (size_t)(hend - h) < sizeof(d->host), CG_EINVAL);
    memcpy(d->host, h, (size_t)(hend - h));
    d->host[hend - h] = '\0';
    long port = 443;
    if (colon != NULL) {
        char *e;
        port = strtol(colon + 1, &e, 10);
        CG_CHECK(e == end && port > 0 && port <= 65535, CG_EINVAL);
    }
    d->port = (uint16_t)port;
    snprintf(d->hostport, sizeof(d->hostport), "%.*s", (int)(end - a), a);
    const char *frag = strchr(end, '#');
    size_t tl = frag != NULL ? (size_t)(frag - end) : strlen(end);
    d->target = tl == 0 ? cg__strdup("/") : cg__strndup(end, tl);
    CG_CHECK(d->target != NULL, CG_ENOMEM);
    CG_CHECK(d->target[0] == '/' || d->target[0] == '?', CG_EINVAL);
    for (const char *p = d->target; *p != '\0'; p++)
        CG_CHECK((unsigned char)*p > ' ' && (unsigned char)*p < 0x7f, CG_EINVAL);
    return CG_OK;
}

/* ---- failure and close ---- */

/* r: how the set-up ended, for cg_ws_client_handshake_stats. */
static void fail(struct cg_dial *d, enum cg_wss_result r, enum cg_err err, int status,
                 const char *why)
{
    cg__wconn_count(&d->wc, r);
    /* A peer dialed again and again (a reconnecting lane) fails the same way
     * each time: the line once, then at DEBUG until something changes. */
    char line[400];
    snprintf(line, sizeof(line), "wss://%.300s: %.60s (%s)", d->hostport, why, cg_strerror(err));
    bool repeat = strcmp(line, d->cli->last_fail) == 0;
    cg__log(d->wc.conn.ctx, repeat ? CG_LOG_DEBUG : CG_LOG_WARN, "ws", "%s", line);
    memcpy(d->cli->last_fail, line, sizeof(line));
    if (d->wc.ws != NULL) {
        cg__ws_set_failure(d->wc.ws, err, status);
        cg__ws_set_retry_after(d->wc.ws, d->retry_after);
    }
    cg__conn_close(&d->wc.conn, why);
}

static void free_client(struct cg_ws_client *cli)
{
    cg__tls_client_free(cli->tls); /* after every SSL made from it */
    free(cli->cert_name);
    if (cli->auth != NULL)
        cg__wipe_free(cli->auth, strlen(cli->auth));
    free(cli);
}

static void free_dial(struct cg_dial *d)
{
    struct cg_ws_client *cli = d->cli;
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        cli->dials = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    cli->ndials--;
    cg__buf_free(&d->field);
    cg__buf_free(&d->value);
    free(d->target);
    free(d);
    if (cli->freeing && cli->ndials == 0)
        free_client(cli);
}

static void d_freed(struct cg_conn *conn)
{
    struct cg_dial *d = conn->user;
    cg__wconn_release(&d->wc);
    d->handles_closed = true;
    if (!d->gai_pending) /* else the resolver's callback frees it */
        free_dial(d);
}

/* ---- resolve and connect ---- */

static void on_connect(uv_connect_t *req, int status)
{
    struct cg_dial *d = req->data;
    if (status == UV_ECANCELED || d->wc.conn.state == CG_CONN_CLOSED)
        return;
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof(why), "connect failed: %s", uv_strerror(status));
        fail(d, CG_WSS_CONNECT, CG_ENET, 0, why);
        return;
    }
    cg__conn_peer_name(&d->wc.conn);
    cg__conn_start(&d->wc.conn); /* the ClientHello */
}

static enum cg_err resolve(struct cg_dial *d, bool strip_dot);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct cg_dial *d = req->data;
    d->gai_pending = false;
    if (d->wc.conn.state == CG_CONN_CLOSED) {
        uv_freeaddrinfo(res);
        if (d->handles_closed)
            free_dial(d);
        return;
    }
    size_t hl = strlen(d->host);
    if ((status < 0 || res == NULL) && hl > 1 && d->host[hl - 1] == '.' && !d->gai_retried) {
        uv_freeaddrinfo(res); /* B-32: "name." as DNS-SD gives it; hosts files know "name" */
        d->gai_retried = true;
        if (resolve(d, true) != CG_OK)
            fail(d, CG_WSS_CONNECT, CG_ENET, 0, "cannot resolve the host name");
        return;
    }
    if (status < 0 || res == NULL) {
        uv_freeaddrinfo(res);
        fail(d, CG_WSS_CONNECT, CG_ENET, 0, "cannot resolve the host name");
        return;
    }
    d->creq.data = d;
    int r = uv_tcp_connect(&d->creq, &d->wc.conn.tcp, res->ai_addr, on_connect);
    uv_freeaddrinfo(res);
    if (r != 0)
        fail(d, CG_WSS_CONNECT, CG_ENET, 0, "connect failed");
}

/* ---- TLS done: check the peer, then ask for the upgrade ---- */

static void d_tls_failed(struct cg_conn *conn)
{
    struct cg_dial *d = conn->user;
    unsigned long e = ERR_peek_error(); /* before the check or the log take it */
    enum cg_wss_result r = cg_wss_result_of_tls(ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0);
    enum cg_err rc = cg__tls_client_check(d->cli->tls, conn->ssl, d->host);
    fail(d, rc != CG_OK ? CG_WSS_TLS_CERT : r, rc != CG_OK ? rc : CG_EHANDSHAKE, 0,
         "TLS handshake failed");
}

/* The Host header: the URL's authority; but with cert_name a DNS name (sent
 * as SNI) and the URL naming the host by another name (an alias), cert_name
 * with the URL's port, so Host and SNI name one host, as a server may
 * require (RFC 9110 §15.5.20, 421; castgate's does). */
static void host_header(const struct cg_dial *d, char *out, size_t outsz)
{
    const char *name = d->cli->cert_name;
    struct in6_addr ip;
    bool dns = name != NULL && inet_pton(AF_INET, name, &ip) != 1 &&
               inet_pton(AF_INET6, name, &ip) != 1;
    const char *port = strchr(d->hostport, ':'); /* after a DNS name: the port */
    if (dns && cg__http_misdirected(d->hostport, name))
        snprintf(out, outsz, "%s%s", name, port != NULL ? port : "");
    else
        snprintf(out, outsz, "%s", d->hostport);
}

static enum cg_err send_upgrade(struct cg_dial *d)
{
    char host[sizeof(d->hostport)];
    host_header(d, host, sizeof(host));
    uint8_t raw[16];
    CG_CHECK(RAND_bytes(raw, sizeof(raw)) == 1, CG_ETLS);
    EVP_EncodeBlock((unsigned char *)d->key, raw, sizeof(raw));
    struct cg_buf req;
    cg__buf_init(&req, 0);
    enum cg_err rc = cg__buf_printf(&req,
                                    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                    "Sec-WebSocket-Version: 13\r\n",
                                    d->target, host, d->key);
    if (rc == CG_OK && d->cli->auth != NULL) /* M-05: only ever over TLS */
        rc = cg__buf_printf(&req, "Authorization: %s\r\n", d->cli->auth);
    if (rc == CG_OK)
        rc = cg__buf_append(&req, "\r\n", 2);
    if (rc == CG_OK)
        rc = cg__conn_write(&d->wc.conn, req.data, req.len);
    OPENSSL_cleanse(req.data, req.len); /* it held the credentials */
    cg__buf_free(&req);
    return rc;
}

static void d_tls_done(struct cg_conn *c)
{
    struct cg_dial *d = c->user;
    enum cg_err rc = cg__tls_client_check(d->cli->tls, c->ssl, d->host);
    if (rc != CG_OK) { /* B-31: nothing is sent to a peer that failed the check */
        fail(d, CG_WSS_TLS_CERT, rc, 0, "peer certificate refused");
        return;
    }
    c->state = CG_CONN_UPGRADING;
    if ((rc = send_upgrade(d)) != CG_OK)
        fail(d, CG_WSS_CONNECT, rc, 0, "cannot send the upgrade request");
}

/* ---- the server's answer to the upgrade (RFC 6455 §4.1) ---- */

static struct cg_dial *dial_of(http_parser *p) { return p->data; }

static int head_bytes(struct cg_dial *d, size_t n)
{
    d->head_bytes += n;
    return d->head_bytes > MAX_RESPONSE_HEAD ? -1 : 0;
}

static void check_header(struct cg_dial *d)
{
    const char *name = (const char *)d->field.data, *value = (const char *)d->value.data;
    if (strcasecmp(name, "Upgrade") == 0)
        d->upgrade_ok = cg__http_header_has_token(value, "websocket");
    else if (strcasecmp(name, "Connection") == 0)
        d->connection_ok = cg__http_header_has_token(value, "upgrade");
    else if (strcasecmp(name, "Sec-WebSocket-Accept") == 0) {
        char want[64];
        d->accept_ok = cg__ws_accept_key(d->key, want, sizeof(want)) == CG_OK &&
                       strcmp(want, value) == 0;
    } else if (strcasecmp(name, "Retry-After") == 0) {
        d->retry_after = cg__http_retry_after(value);
    }
}

static int end_header(struct cg_dial *d)
{
    if (cg__buf_append(&d->field, "", 1) != CG_OK || cg__buf_append(&d->value, "", 1) != CG_OK)
        return -1;
    check_header(d);
    cg__buf_reset(&d->field);
    cg__buf_reset(&d->value);
    d->in_value = false;
    return 0;
}

static int on_hfield(http_parser *p, const char *at, size_t n)
{
    struct cg_dial *d = dial_of(p);
    if (head_bytes(d, n) != 0 || (d->in_value && end_header(d) != 0))
        return -1;
    return cg__buf_append(&d->field, at, n) == CG_OK ? 0 : -1;
}

static int on_hvalue(http_parser *p, const char *at, size_t n)
{
    struct cg_dial *d = dial_of(p);
    d->in_value = true;
    if (head_bytes(d, n) != 0)
        return -1;
    return cg__buf_append(&d->value, at, n) == CG_OK ? 0 : -1;
}

static int on_head_done(http_parser *p)
{
    struct cg_dial *d = dial_of(p);
    if (d->in_value && end_header(d) != 0)
        return -1;
    d->head_done = true;
    /* No pause here: paused in this callback, http-parser reports one byte
     * less than it used (the head's last LF). For a 101 it stops at the end
     * of the head by itself, and returns the exact offset of the frames. */
    return 0;
}

static const http_parser_settings response_settings = {
    .on_header_field = on_hfield,
    .on_header_value = on_hvalue,
    .on_headers_complete = on_head_done,
};

static void upgraded(struct cg_dial *d, const uint8_t *rest, size_t n)
{
    struct cg_wconn *c = &d->wc;
    c->conn.state = CG_CONN_WS;
    c->conn.last_rx_ms = cg__now_ms();
    cg__conn_arm_timer(&c->conn, cg__conn_lim(&c->conn, CG_LIMIT_WS_PING_MS));
    cg__log(c->conn.ctx, CG_LOG_INFO, "ws", "wss://%s%s: open", d->hostport, d->target);
    d->cli->last_fail[0] = '\0';
    cg__wconn_count(c, CG_WSS_OK);
    cg__ws_opened(c->ws);
    if (n > 0 && c->conn.state == CG_CONN_WS)
        cg__wconn_ws_data(c, rest, n);
}

static void refused(struct cg_dial *d, int status)
{
    char why[96];
    snprintf(why, sizeof(why), "upgrade refused with HTTP %d", status);
    fail(d, cg_wss_result_of_http(status), status == 401 || status == 403 ? CG_EAUTH : CG_EHTTP,
         status, why);
}

static void upgrade_answer(struct cg_dial *d, const uint8_t *data, size_t len)
{
    size_t used = http_parser_execute(&d->rp, &response_settings, (const char *)data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&d->rp);
    if (!d->head_done) {
        if (e != HPE_OK)
            fail(d, CG_WSS_PROTOCOL, CG_EHTTP, 0, "invalid HTTP answer to the upgrade");
        return;
    }
    if (d->rp.status_code != 101)
        refused(d, d->rp.status_code);
    else if (!d->upgrade_ok || !d->connection_ok || !d->accept_ok)
        fail(d, CG_WSS_PROTOCOL, CG_EWS, 101, "invalid WebSocket handshake answer");
    else
        upgraded(d, data + used, len - used);
}

/* ---- the dialer's connections: net/'s operations ---- */

static void d_data(struct cg_conn *conn, const uint8_t *p, size_t n)
{
    struct cg_dial *d = conn->user;
    if (conn->state == CG_CONN_UPGRADING)
        upgrade_answer(d, p, n);
    else if (conn->state == CG_CONN_WS)
        cg__wconn_ws_data(&d->wc, p, n);
}

static void d_timeout(struct cg_conn *conn)
{
    struct cg_dial *d = conn->user;
    if (conn->state == CG_CONN_WS)
        cg__wconn_ws_timeout(&d->wc);
    else
        cg__wconn_setup_timeout(&d->wc);
}

static void d_closing(struct cg_conn *conn)
{
    struct cg_dial *d = conn->user;
    if (d->wc.ws != NULL)
        cg__ws_on_transport_closed(d->wc.ws); /* the app hears of it once */
}

static const struct cg_conn_ops dial_ops = {
    .name = "wss dialer",
    .tls_done = d_tls_done,
    .tls_failed = d_tls_failed,
    .data = d_data,
    .writable = cg__wconn_writable,
    .timeout = d_timeout,
    .closing = d_closing,
    .freed = d_freed,
};

/* ---- the client and its connections ---- */

enum cg_err cg_ws_client_new(struct cg_ctx *ctx, const struct cg_ws_client_config *cfg,
                             struct cg_ws_client **out)
{
    CG_CHECK(ctx != NULL && cfg != NULL && out != NULL, CG_EINVAL);
    struct cg_ws_client *cli = calloc(1, sizeof(*cli));
    CG_CHECK(cli != NULL, CG_ENOMEM);
    cli->ctx = ctx;
    cli->lim = cfg->lim;
    struct cg_tls_client_opts o = {.ca_file = cfg->ca_file, .ca_dir = cfg->ca_dir,
                                   .pin_sha256 = cfg->has_pin ? cfg->pin : NULL,
                                   .allow_self_signed = cfg->allow_self_signed,
                                   .require_staple = cfg->require_staple,
                                   .insecure_no_verify = cfg->insecure};
    enum cg_err rc = cg__tls_client_new(ctx, &o, &cli->tls);
    if (rc == CG_OK && cfg->auth != NULL && (cli->auth = cg__strdup(cfg->auth)) == NULL)
        rc = CG_ENOMEM;
    if (rc == CG_OK && cfg->cert_name != NULL && (cli->cert_name = cg__strdup(cfg->cert_name)) == NULL)
        rc = CG_ENOMEM;
    if (rc != CG_OK) {
        cg__tls_client_free(cli->tls);
        if (cli->auth != NULL)
            cg__wipe_free(cli->auth, strlen(cli->auth));
        free(cli);
        return rc;
    }
    *out = cli;
    return CG_OK;
}

void cg_ws_client_free(struct cg_ws_client *cli)
{
    if (cli == NULL || cli->freeing)
        return;
    cli->freeing = true;
    for (struct cg_dial *d = cli->dials; d != NULL; d = d->next) {
        if (d->wc.conn.state == CG_CONN_WS)
            cg_ws_close(d->wc.ws, 1001, "client going away");
        cg__conn_close(&d->wc.conn, "client freed");
    }
    if (cli->ndials == 0)
        free_client(cli);
}

static enum cg_err start_dial(struct cg_dial *d, const struct cg_ws_handlers *h, void *user)
{
    struct cg_wconn *c = &d->wc;
    struct cg_ws_client *cli = d->cli;
    CG_GUARD(cg__ws_new(&c->conn, h, user, user, cg__conn_lim(&c->conn, CG_LIMIT_MAX_WS_MESSAGE), true, &c->ws));
    CG_GUARD(cg__conn_init_tls(&c->conn, cg__tls_client_ssl_ctx(cli->tls), false));
    /* the name the certificate must carry: cert_name, else the URL's host */
    CG_GUARD(cg__tls_client_prepare(cli->tls, c->conn.ssl, cli->cert_name != NULL ? cli->cert_name : d->host));
    snprintf(c->conn.peer, sizeof(c->conn.peer), "%.63s", d->hostport);
    CG_GUARD(resolve(d, false));
    cg__conn_arm_timer(&c->conn, cg__conn_lim(&c->conn, CG_LIMIT_HANDSHAKE_MS));
    return CG_OK;
}

static enum cg_err resolve(struct cg_dial *d, bool strip_dot)
{
    char port[8], name[sizeof(d->host)];
    snprintf(port, sizeof(port), "%u", (unsigned)d->port);
    snprintf(name, sizeof(name), "%s", d->host);
    if (strip_dot)
        name[strlen(name) - 1] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    d->gai.data = d;
    CG_CHECK(uv_getaddrinfo(cg_ctx_loop(d->cli->ctx), &d->gai, on_resolved, name, port, &hints) == 0,
             CG_ENET);
    d->gai_pending = true;
    return CG_OK;
}

enum cg_err cg_ws_client_handshake_stats(const struct cg_ws_client *cli, struct cg_wss_stats *out)
{
    CG_CHECK(cli != NULL && out != NULL, CG_EINVAL);
    *out = cli->hs;
    return CG_OK;
}

enum cg_err cg_ws_connect(struct cg_ws_client *cli, const char *url,
                          const struct cg_ws_handlers *h, void *user, struct cg_ws **out)
{
    CG_CHECK(cli != NULL && url != NULL && h != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(!cli->freeing, CG_ESTATE);
    struct cg_dial *d = calloc(1, sizeof(*d));
    CG_CHECK(d != NULL, CG_ENOMEM);
    enum cg_err rc = parse_url(d, url);
    if (rc != CG_OK) {
        cg__log(cli->ctx, CG_LOG_ERROR, "ws", "refusing URL (only wss://host[:port]/path, no "
                "credentials in it: B-30, M-05)");
        free(d->target);
        free(d);
        return rc;
    }
    d->cli = cli;
    d->next = cli->dials; /* listed from now on: free_dial unlinks */
    if (cli->dials != NULL)
        cli->dials->prev = d;
    cli->dials = d;
    cli->ndials++;
    d->retry_after = -1;
    cg__buf_init(&d->field, MAX_RESPONSE_HEAD);
    cg__buf_init(&d->value, MAX_RESPONSE_HEAD);
    http_parser_init(&d->rp, HTTP_RESPONSE);
    d->rp.data = d;
    d->wc.conn.state = CG_CONN_CONNECTING;
    cg__wconn_init(&d->wc, cli->ctx, &cli->lim, d->readbuf, sizeof(d->readbuf), &dial_ops);
    d->wc.conn.user = d;
    d->wc.stats = &cli->hs;
    if ((rc = start_dial(d, h, user)) != CG_OK) {
        struct cg_ws *ws = d->wc.ws;
        d->wc.ws = NULL; /* never reported: the caller gets the error */
        cg__ws_free(ws);
        cg__conn_close(&d->wc.conn, "set-up failed");
        return rc;
    }
    *out = d->wc.ws;
    return CG_OK;
}
