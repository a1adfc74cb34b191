/* The dev PKI and a TLS client for the unit tests that run a real HTTPS/WSS
 * server on a loop (test_frontdoor.c, test_server.c, test_server_defer.c,
 * test_ws_bigsend.c and test_ws_percall.c through wsecho.c).
 *
 * A test links it with a "// CG_LINK: tlsrig.c" line. tr_pki_make puts the
 * dev PKI (scripts/dev-pki.sh: root, intermediate, RSA and ECDSA leaves,
 * negatives) into a new temporary directory once per group; tr_pki names its
 * files. tr_setup adds what a test that talks to a server on the test
 * thread's loop needs: one context (tr_ctx, its loop tr_loop) and an OpenSSL
 * client context (tr_cli) that trusts the dev root only and verifies the
 * server; tr_client_start and tr_client_finish run a client on a thread of
 * its own while the test thread runs the loop. Group setups and teardowns
 * return 0 or -1, as cmocka wants. */
#ifndef CG_TLSRIG_H
#define CG_TLSRIG_H

#include "testutil.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* ---- the dev PKI ---- */

/* SIGPIPE ignored (a peer that went away is an error, not a signal), then
 * a new directory /tmp/cg-test-<what>-XXXXXX holding the dev PKI. */
int tr_pki_make(const char *what);
/* Removes the directory. */
int tr_pki_remove(void);
/* The path of the dev PKI's file called name; eight static buffers used in turn. */
const char *tr_pki(const char *name);

/* ---- a context and a TLS client ---- */

extern struct cg_ctx *tr_ctx;
extern uv_loop_t *tr_loop; /* tr_ctx's */
extern SSL_CTX *tr_cli;    /* trusts root-ca.pem only; SSL_VERIFY_PEER */
extern struct tu_log tr_log;

/* tr_pki_make(what), then tr_cli and tr_ctx. */
int tr_setup(const char *what);
/* Frees tr_cli and tr_ctx (which joins the context's threads), then
 * tr_pki_remove. */
int tr_teardown(void);
/* tr_log emptied and tr_ctx logging into it from CG_LOG_DEBUG up
 * (CG_TEST_VERBOSE in the environment: to stderr instead). */
void tr_log_reset(void);

/* A server configuration to start from: 127.0.0.1, any port, the ECDSA
 * leaf (with rsa, the RSA leaf before it), no OCSP fetches. */
struct cg_server_config *tr_server_config(bool rsa);

/* Runs tr_loop without blocking until libuv has released closed handles. */
void tr_drain(void);
/* Runs tr_loop until pred() holds or ms pass; returns pred(). */
bool tr_settle(bool (*pred)(void), uint64_t ms);

/* ---- a client on a thread of its own ---- */

/* fn(arg) runs on the client thread and never calls cmocka (the test thread
 * checks what it did after the join); when it returns, the loop is woken
 * and tr_ctx stopped. */
struct tr_client {
    void (*fn)(void *arg);
    void *arg;
    pthread_t th;
    uv_async_t done;
    uv_timer_t dog;
    bool finished; /* fn returned: set on the loop thread when done fires */
};

/* Starts fn(arg) on a new thread. */
void tr_client_start(struct tr_client *c, void (*fn)(void *arg), void *arg);
/* Runs tr_ctx until the client has finished (it may have already, while the
 * test ran the loop) or ms have passed (a hung test), joins the thread and
 * closes c's handles: c must stay until the loop has released them
 * (tr_drain). */
void tr_client_finish(struct tr_client *c, uint64_t ms);

/* ---- a blocking TLS connection, for a client thread (never calls cmocka) ---- */

struct tr_conn {
    int fd;
    SSL *ssl;
};

/* TCP to 127.0.0.1:port, reads timing out after timeout_s, then a TLS
 * handshake through tr_cli that verifies the name "localhost". false when
 * either fails (c is cleaned up then: fd -1, ssl NULL). */
bool tr_conn_open(struct tr_conn *c, uint16_t port, int timeout_s);
/* Closes: with close_notify when polite, else the TCP connection just
 * drops. fd -1, ssl NULL after (closing again does nothing). */
void tr_conn_close(struct tr_conn *c, bool polite);
/* Writes all n bytes; false if it could not. */
bool tr_conn_send(struct tr_conn *c, const void *p, size_t n);
/* Reads until needle (NULL: none) appears, EOF or an error; returns the
 * length, the text NUL-terminated in buf. */
size_t tr_conn_read(struct tr_conn *c, char *buf, size_t cap, const char *needle);

#endif
