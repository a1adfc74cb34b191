/* The plain-TCP side of `check tls`: the target's URL, blocking connects
 * with a timeout, one hand-built ClientHello per connection. */
#include "check/check.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum cg_err copy(char *dst, size_t dstsz, const char *p, size_t n)
{
    CG_CHECK(n > 0 && n < dstsz, CG_EINVAL);
    memcpy(dst, p, n);
    dst[n] = '\0';
    return CG_OK;
}

enum cg_err cg__check_parse_url(const char *url, struct cg_check_target *t)
{
    CG_CHECK(url, CG_EINVAL);
    const char *p;
    if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "wss://", 6) == 0)
        p = url + 6;
    else
        return CG_EINVAL;
    const char *slash = strchr(p, '/');
    const char *hend = slash ? slash : p + strlen(p);
    const char *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(hend - p));
        CG_CHECK(rb, CG_EINVAL);
        CG_GUARD(copy(t->host, sizeof(t->host), p + 1, (size_t)(rb - p - 1)));
        CG_CHECK(rb + 1 == hend || rb[1] == ':', CG_EINVAL);
        port = rb + 1 < hend ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(p, ':', (size_t)(hend - p));
        CG_GUARD(copy(t->host, sizeof(t->host), p, (size_t)((colon ? colon : hend) - p)));
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        CG_GUARD(copy(t->port, sizeof(t->port), port, (size_t)(hend - port)));
        for (const char *d = t->port; *d; d++)
            CG_CHECK(*d >= '0' && *d <= '9', CG_EINVAL);
    } else {
        snprintf(t->port, sizeof(t->port), "443");
    }
    CG_GUARD(copy(t->path, sizeof(t->path), slash ? slash : "/", strlen(slash ? slash : "/")));
    for (const char *d = t->path; *d; d++)
        CG_CHECK(*d > ' ' && *d < 0x7f, CG_EINVAL); /* goes into a request line */
    t->sni_ok = !cg__check_is_ip(t->host);
    return CG_OK;
}

static unsigned tmo(const struct cg_check_target *t) { return t->timeout_ms ? t->timeout_ms : 3000; }

static enum cg_err wait_fd(int fd, short ev, unsigned ms)
{
    struct pollfd pfd = {.fd = fd, .events = ev};
    int n;
    do
        n = poll(&pfd, 1, (int)ms);
    while (n < 0 && errno == EINTR);
    CG_CHECK(n > 0, n == 0 ? CG_ETIMEDOUT : CG_ENET);
    return CG_OK;
}

static enum cg_err try_addr(const struct addrinfo *ai, unsigned ms, int *fd)
{
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    CG_CHECK(s >= 0, CG_ENET);
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    enum cg_err rc = CG_OK;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
        CG_ENSURE(errno == EINPROGRESS, CG_ENET);
        CG_TRY(wait_fd(s, POLLOUT, ms));
        int err = 0;
        socklen_t el = sizeof(err);
        CG_ENSURE(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0, CG_ENET);
    }
    fcntl(s, F_SETFL, fl);
    *fd = s;
    return CG_OK;
out:
    close(s);
    return rc;
}

enum cg_err cg__check_connect(const struct cg_check_target *t, int *fd)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    CG_CHECK(getaddrinfo(t->host, t->port, &hints, &res) == 0, CG_ENET);
    enum cg_err rc = CG_ENET;
    for (struct addrinfo *ai = res; ai && rc != CG_OK; ai = ai->ai_next)
        rc = try_addr(ai, tmo(t), fd);
    freeaddrinfo(res);
    return rc;
}

static enum cg_err send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        CG_CHECK(w > 0, CG_ENET);
        p += w, n -= (size_t)w;
    }
    return CG_OK;
}

/* Reads into ans until `done` says so, the peer closes, cap or timeout. */
static enum cg_err read_some(int fd, unsigned ms, uint8_t *ans, size_t cap, size_t *len)
{
    CG_GUARD(wait_fd(fd, POLLIN, ms));
    ssize_t r;
    do
        r = recv(fd, ans + *len, cap - *len, 0);
    while (r < 0 && errno == EINTR);
    CG_CHECK(r >= 0, CG_ECLOSED); /* a reset counts as "closed" */
    CG_CHECK(r > 0, CG_ECLOSED);
    *len += (size_t)r;
    return CG_OK;
}

enum cg_err cg__check_hello(const struct cg_check_target *t, const struct cg_hello_opts *o,
                            struct cg_server_hello *sh)
{
    enum cg_err rc = CG_OK;
    int fd = -1;
    uint8_t rnd[32], ans[8192];
    size_t len = 0, used = 0;
    struct cg_buf b;
    cg__buf_init(&b, 8192);
    struct cg_hello_opts oo = *o;
    CG_ENSURE(RAND_bytes(rnd, sizeof(rnd)) == 1, CG_ETLS);
    oo.random = rnd;
    oo.sni = t->sni_ok ? t->host : NULL;
    CG_TRY(cg__check_hello_build(&b, &oo));
    CG_TRY(cg__check_connect(t, &fd));
    CG_TRY(send_all(fd, b.data, b.len));
    for (;;) {
        CG_TRY(read_some(fd, tmo(t), ans, sizeof(ans), &len));
        rc = cg__check_server_hello_parse(ans, len, sh, &used);
        if (rc != CG_EAGAIN || len == sizeof(ans))
            break;
    }
    if (rc == CG_EAGAIN)
        rc = CG_EPROTO;
out:
    if (fd >= 0)
        close(fd);
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg__check_raw(const struct cg_check_target *t, const void *req, size_t reqlen,
                          uint8_t *ans, size_t cap, size_t *anslen)
{
    enum cg_err rc = CG_OK;
    int fd = -1;
    *anslen = 0;
    CG_TRY(cg__check_connect(t, &fd));
    CG_TRY(send_all(fd, req, reqlen));
    while (*anslen < cap && *anslen < 64) { /* enough to tell HTTP/1.x from TLS */
        enum cg_err r = read_some(fd, tmo(t), ans, cap, anslen);
        if (r != CG_OK)
            break; /* closed or quiet: what we have is the answer */
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
