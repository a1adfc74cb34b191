/* Shared helpers for the cmocka unit tests. */
#ifndef CG_TESTUTIL_H
#define CG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <castgate/castgate.h>

/* A log sink that keeps every line, for asserting on what was logged. */
struct tu_log {
    char text[65536];
    size_t len;
    unsigned lines;
};
void tu_log_fn(void *user, enum cg_log_level level, const char *component, const char *message);
int tu_log_has(const struct tu_log *log, const char *needle);

/* "Basic " + base64(user_pass): an Authorization header value; two static
 * buffers used in turn (two may be live at once). */
const char *tu_basic(const char *user_pass);

/* Path of a file in the source tree or in ../shared (from the environment
 * ctest sets); returns a static buffer. */
const char *tu_src_path(const char *rel);
const char *tu_shared_path(const char *rel);

/* crypt(3): the hash of pw with a new salt of the method prefix ("$y$",
 * "$6$", "$2b$"; count its cost, 0 the default) in out; fails the test
 * without one. tu_users_file writes a credentials file (mode 0600) of one
 * line, user:that hash. Through crypt_r and crypt_gensalt_rn: a test that
 * wraps them sees these calls too. */
void tu_hash(const char *prefix, unsigned long count, const char *pw, char *out, size_t size);
void tu_users_file(const char *path, const char *prefix, const char *user, const char *pw);

/* Reads a whole file; fails the test if it cannot. Caller frees. */
uint8_t *tu_read(const char *path, size_t *len);

/* A free TCP port on 127.0.0.1 (bound, read, closed). */
uint16_t tu_free_port(void);

/* Adds to ep the peer peer_id on ro whose MOS 2.x side (M-21) listens on a
 * free port of 127.0.0.1 and never dials; returns the port. */
uint16_t tu_mos2_listen_peer(struct cg_mos_endpoint *ep, const char *peer_id);

/* On a thread of its own: connects to 127.0.0.1:port (retrying for 5 s),
 * writes one well-formed MOS 2.x roReq whose mosPayload holds items
 * <i>x</i> elements (UTF-8), then reads until the endpoint closes. */
void tu_send_big_roreq(uint16_t port, int items);

/* Connects to 127.0.0.1:port, retrying for 5 s (the port opens when a
 * context runs); the socket, or -1. */
int tu_connect_loopback(uint16_t port);

/* Connects to 127.0.0.1:port once, which must succeed (a port that
 * listens already: the kernel completes it, accepted or not); the socket. */
int tu_dial(uint16_t port);

/* What a call prints on stderr (a configuration reader's refusals): begin
 * sends stderr to a temporary file, end puts it back and copies what was
 * printed into out (NUL-terminated, cut at size - 1). */
struct tu_stderr {
    FILE *tmp;
    int saved;
};
void tu_stderr_begin(struct tu_stderr *cap);
void tu_stderr_end(struct tu_stderr *cap, char *out, size_t size);

/* What fn writes to a FILE (a --help, a page), NUL-terminated; fails the
 * test if it writes nothing. Caller frees. */
char *tu_printed(void (*fn)(FILE *));

/* A group's temporary folder, for cmocka's group setup and teardown:
 * tu_group_pki makes it ("/tmp/cg-PROGRAM-XXXXXX", unique) with the dev PKI
 * in it, tu_group_tmp makes it empty, tu_group_rm removes it and all in it.
 * tu_group_dir is its path; tu_in(name) the path of name in it (16 buffers
 * per thread, used in turn). tu_rm_rf makes what is in it writable first. */
extern char tu_group_dir[256];
int tu_group_pki(void **state);
int tu_group_tmp(void **state);
int tu_group_rm(void **state);
const char *tu_in(const char *name);

/* A group's temporary folder and a context, as cmocka's group setup and
 * teardown: tu_group_ctx is tu_group_tmp, then tu_ctx, a new context
 * logging from CG_LOG_DEBUG up into tu_ctx_log; tu_group_ctx_rm frees
 * tu_ctx, then tu_group_rm. tu_ctx_log_reset, as a test's setup, empties
 * tu_ctx_log and OpenSSL's error queue. */
extern struct cg_ctx *tu_ctx;
extern struct tu_log tu_ctx_log;
int tu_group_ctx(void **state);
int tu_group_ctx_rm(void **state);
int tu_ctx_log_reset(void **state);

/* Any temporary folder: dir is a mkdtemp template ("/tmp/cg-x-XXXXXX"),
 * filled with the dev PKI (scripts/dev-pki.sh) by tu_dev_pki_dir; tu_rm_rf
 * removes it and all in it. Both return 0, or -1 (for a group setup or
 * teardown). */
int tu_dev_pki_dir(char *dir);
int tu_rm_rf(const char *dir);

#endif
