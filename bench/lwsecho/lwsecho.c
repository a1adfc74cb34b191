/* bench_lwsecho: a minimal libwebsockets (Debian 4.1) WebSocket echo server,
 * the libwebsockets contender of bench/echo.sh and the plain backend behind
 * nginx in bench/handshake.sh, scale.sh and echo.sh. One thread, lws's own
 * poll loop; every message (any path, any size up to 16 MiB) is echoed with
 * its type; up to QMAX echoes wait per connection, then reading pauses.
 *
 *   bench_lwsecho --port P [--cert CHAIN --key KEY] [--tls12-ciphers LIST]
 *                 [--tls13-ciphers LIST]
 *
 * With --cert: TLS 1.2/1.3 only, server cipher order, no session tickets
 * (as castgate). Prints "bench_lwsecho: listening on port P" when ready. */
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QMAX 64
#define MAX_MSG (16u << 20)

struct msg {
    uint8_t *buf; /* LWS_PRE bytes of headroom, then the payload */
    size_t len;
    bool binary;
};

struct pss {
    struct msg q[QMAX];
    unsigned head, n;
    uint8_t *rx; /* message being reassembled (LWS_PRE headroom) */
    size_t rx_len, rx_cap;
    bool rx_binary;
    bool paused;
};

static volatile int interrupted;

static bool rx_append(struct pss *p, const void *in, size_t len)
{
    if (p->rx_len + len > MAX_MSG)
        return false;
    if (LWS_PRE + p->rx_len + len > p->rx_cap) {
        size_t cap = (LWS_PRE + p->rx_len + len) * 2;
        uint8_t *nb = realloc(p->rx, cap);
        if (nb == NULL)
            return false;
        p->rx = nb;
        p->rx_cap = cap;
    }
    memcpy(p->rx + LWS_PRE + p->rx_len, in, len);
    p->rx_len += len;
    return true;
}

static void pss_free(struct pss *p)
{
    for (unsigned i = 0; i < p->n; i++)
        free(p->q[(p->head + i) % QMAX].buf);
    p->n = 0;
    free(p->rx);
    p->rx = NULL;
    p->rx_len = p->rx_cap = 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        SSL_CTX_set_num_tickets(user, 0); /* user is the vhost's SSL_CTX: no TLS 1.3 tickets */
        break;
    case LWS_CALLBACK_ESTABLISHED:
        memset(p, 0, sizeof(*p));
        break;
    case LWS_CALLBACK_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            p->rx_len = 0;
            p->rx_binary = lws_frame_is_binary(wsi);
        }
        if (!rx_append(p, in, len))
            return -1;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            struct msg *m = &p->q[(p->head + p->n) % QMAX];
            m->buf = p->rx; /* the message's buffer moves to the queue */
            m->len = p->rx_len;
            m->binary = p->rx_binary;
            p->n++;
            p->rx = NULL;
            p->rx_len = p->rx_cap = 0;
            if (p->n == QMAX && !p->paused) {
                p->paused = true;
                lws_rx_flow_control(wsi, 0);
            }
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (p->n == 0)
            break;
        struct msg *m = &p->q[p->head];
        int w = lws_write(wsi, m->buf + LWS_PRE, m->len,
                          m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (w < (int)m->len)
            return -1;
        free(m->buf);
        p->head = (p->head + 1) % QMAX;
        p->n--;
        if (p->paused && p->n < QMAX / 2) {
            p->paused = false;
            lws_rx_flow_control(wsi, 1);
        }
        if (p->n > 0)
            lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLOSED:
        pss_free(p);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"echo", callback_echo, sizeof(struct pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_sig(int s)
{
    (void)s;
    interrupted = 1;
}

int main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    int port = 0;
    const char *cert = NULL, *key = NULL;
    const char *tls12 = NULL, *tls13 = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cert") == 0)
            cert = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else if (strcmp(argv[i], "--tls12-ciphers") == 0)
            tls12 = argv[i + 1];
        else if (strcmp(argv[i], "--tls13-ciphers") == 0)
            tls13 = argv[i + 1];
        else {
            fprintf(stderr, "bench_lwsecho: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || (cert == NULL) != (key == NULL)) {
        fprintf(stderr, "usage: bench_lwsecho --port P [--cert CHAIN --key KEY] "
                        "[--tls12-ciphers LIST] [--tls13-ciphers LIST]\n");
        return 2;
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.count_threads = 1;
    if (cert != NULL) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.ssl_cipher_list = tls12;
        info.tls1_3_plus_cipher_list = tls13;
        info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                               SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    }
    struct lws_context *ctx = lws_create_context(&info);
    if (ctx == NULL) {
        fprintf(stderr, "bench_lwsecho: cannot start\n");
        return 1;
    }
    printf("bench_lwsecho: listening on port %d%s\n", port, cert != NULL ? " (TLS)" : "");
    fflush(stdout);
    int n = 0;
    while (n >= 0 && !interrupted)
        n = lws_service(ctx, 0);
    lws_context_destroy(ctx);
    return 0;
}
