/* A wss echo in one context, with OpenSSL's allocations watched, for the
 * unit tests that measure what a message costs (test_ws_bigsend.c,
 * test_ws_percall.c). A test links it with a
 * "// CG_LINK: tlsrig.c wsecho.c" line and returns we_main from its main.
 *
 * The server listens on 127.0.0.1 (any port) with the dev ECDSA leaf, no
 * OCSP, and sends every message at /echo back as it came; the client trusts
 * the dev root and connects to wss://localhost:PORT/echo with the test's
 * handlers. The test stops the context (cg_ctx_stop) when it is done. */
#ifndef CG_WSECHO_H
#define CG_WSECHO_H

#include "tlsrig.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct we_echo {
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_ws_client *cli;
    uv_timer_t dog; /* we_run's watchdog */
};

/* The test program's main: before OpenSSL allocates anything, each malloc
 * and realloc it makes is told to note with its size (1 if OpenSSL refuses);
 * then the n tests run as one group, with the dev PKI in
 * /tmp/cg-test-<what>-XXXXXX (tlsrig.h) made before and removed after. */
int we_main(const char *what, void (*note)(size_t n), const struct CMUnitTest *tests, size_t n);

/* A new context (e->ctx), the echo server started in it and the client
 * connecting with handlers ch and user. */
void we_start(struct we_echo *e, const struct cg_ws_handlers *ch, void *user);
/* Runs e->ctx until it is stopped, 60 s at the most. */
void we_run(struct we_echo *e);
/* Frees the client, the server and the context. */
void we_free(struct we_echo *e);

#endif
