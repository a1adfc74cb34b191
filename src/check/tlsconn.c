/* OpenSSL client connections for `check tls` (certificates, staples, HTTP). */
#include "check/check.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void timeouts(int fd, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static SSL_CTX *new_ctx(const struct cg_check_target *t, const char *sigalgs, const char *ciphers)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c)
        return NULL;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    bool ok = t->ca_file ? SSL_CTX_load_verify_locations(c, t->ca_file, NULL) == 1
                         : SSL_CTX_set_default_verify_paths(c) == 1;
    if (ok && sigalgs)
        ok = SSL_CTX_set1_sigalgs_list(c, sigalgs) == 1;
    if (ok && ciphers)
        ok = SSL_CTX_set_cipher_list(c, ciphers) == 1;
    if (!ok) {
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL); /* the result is read, not enforced */
    return c;
}

static enum cg_err open_tls(const struct cg_check_target *t, const char *sigalgs,
                            const char *cipher_list, int max_version, SSL **out, int *fdp,
                            char *err, size_t errsz)
{
    enum cg_err rc = CG_OK;
    int fd = -1;
    SSL *ssl = NULL;
    SSL_CTX *c = new_ctx(t, sigalgs, cipher_list);
    snprintf(err, errsz, "client set-up failed");
    CG_ENSURE(c, t->ca_file ? CG_EFILE : CG_ETLS);
    CG_TRY(cg__check_connect(t, &fd));
    timeouts(fd, t->timeout_ms ? t->timeout_ms : 3000);
    ssl = SSL_new(c);
    CG_ENSURE(ssl && SSL_set_fd(ssl, fd) == 1, CG_ETLS);
    if (max_version)
        SSL_set_max_proto_version(ssl, max_version);
    if (t->sni_ok)
        SSL_set_tlsext_host_name(ssl, t->host);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    ERR_clear_error();
    errno = 0;
    if (SSL_connect(ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *why = e ? ERR_reason_error_string(e) : NULL;
        if (!e) /* no TLS error: the socket said why (SO_RCVTIMEO gives EAGAIN) */
            why = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
                  : errno ? strerror(errno) : "connection closed";
        snprintf(err, errsz, "handshake failed: %s", why ? why : "?");
        ERR_clear_error();
        rc = CG_EHANDSHAKE;
        goto out;
    }
    *out = ssl, *fdp = fd;
    ssl = NULL, fd = -1;
    err[0] = '\0';
out:
    SSL_free(ssl);
    SSL_CTX_free(c); /* the SSL keeps its own reference */
    if (fd >= 0)
        close(fd);
    return rc;
}

enum cg_err cg__check_tls_open(const struct cg_check_target *t, const char *sigalgs,
                               const char *cipher_list, SSL **out, int *fd, char *err,
                               size_t errsz)
{
    return open_tls(t, sigalgs, cipher_list, 0, out, fd, err, errsz);
}

enum cg_err cg__check_tls12_open(const struct cg_check_target *t, const char *cipher_list,
                                 SSL **out, int *fd, char *err, size_t errsz)
{
    return open_tls(t, NULL, cipher_list, TLS1_2_VERSION, out, fd, err, errsz);
}

void cg__check_tls_close(SSL *ssl, int fd)
{
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
}
