/* bench_wsload: the load generator of the handshake, scale and echo
 * benchmarks (bench/handshake.sh, scale.sh, echo.sh). One thread, epoll,
 * non-blocking sockets, OpenSSL on the socket directly, so that the client
 * costs as little as it can; its own CPU use is reported so a run can tell
 * whether the client, not the server, was the limit.
 *
 *   bench_wsload handshake --port P --what tls|http|ws [--concurrency C]
 *   bench_wsload hold      --port P --conns N [--auth USER:PASS] [--hold S]
 *   bench_wsload echo      --port P --conns N [--size B] [--depth D]
 *   common: [--tls 1.2|1.3] [--path PATH] [--seconds S] [--warmup S]
 *           [--pid PID[,PID...]]  server processes: CPU (/proc/PID/stat), RSS
 *
 * handshake: new connections, each a full handshake (no session reuse, no
 * tickets): tls = handshake, close_notify, wait for the server's EOF; http =
 * handshake + GET PATH answered (Content-Length read), then RST; ws =
 * handshake + upgrade answered 101, then RST (no TIME_WAIT on either side).
 * hold: N authenticated WebSocket connections opened (at most --concurrency
 * at once) and held idle (pings answered); RSS of the server processes before
 * and after gives the memory per idle connection.
 * echo: N connections, each with D binary messages of B bytes in flight
 * (D = 1: ping-pong); latency = time from the write of a message to the end
 * of its echo.
 *
 * Prints one JSON object on stdout. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The BCP-003-01 suites (src/tls/profile.c), so every contender negotiates
 * what castgate would. */
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char tls12_suites[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256:"
    "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256";

enum mode { M_HANDSHAKE, M_HOLD, M_ECHO };
enum what { W_TLS, W_HTTP, W_WS };
enum cstate { C_CONNECTING, C_TLS, C_RESP, C_OPEN, C_SHUTDOWN, C_DEAD };

#define MAX_PIDS 4
#define MAX_DEPTH 64

struct opts {
    enum mode mode;
    enum what what;
    const char *host;
    int port;
    int tls_version; /* 0: any of 1.2/1.3 */
    const char *path;
    const char *auth; /* "user:pass" */
    int concurrency;
    int conns;
    size_t size;
    int depth;
    double seconds, warmup, hold;
    pid_t pids[MAX_PIDS];
    int npids;
};

struct conn {
    int fd;
    SSL *ssl;
    enum cstate st;
    uint32_t events;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out; /* plaintext waiting for SSL_write */
    size_t out_off, out_len, out_cap;
    uint64_t t0;
    uint64_t ts[MAX_DEPTH]; /* send times of the messages in flight (ring) */
    unsigned ts_head, ts_n;
    size_t slot; /* in open_list, once open */
};

struct lat {
    uint64_t *v;
    size_t n, cap;
};

static struct opts o = {.host = "127.0.0.1", .path = "/", .concurrency = 32, .conns = 1,
                        .size = 2048, .depth = 1, .seconds = 5, .warmup = 1, .hold = 5};
static int ep;
static SSL_CTX *sslctx;
static char request[2048];
static size_t request_len;
static uint8_t *frame; /* one masked binary frame of o.size bytes, sent again and again */
static size_t frame_len;
static volatile sig_atomic_t stop_flag;

/* counters */
static unsigned long started, completed, failed, open_now, closed_unexpectedly;
static unsigned long window_done;
/* Upgrades (or requests) answered with a refusal, by status: a 503 from a
 * server shedding load is a different failure from a crash or a reset. */
static unsigned long refused_by_status[600];
static struct lat lat;
static uint64_t win_start, win_end; /* ns; 0: not set yet */
static struct conn **open_list; /* open WebSocket connections (hold, echo); NULL: gone */
static size_t nopen_list;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_wsload: %s\n", what);
    exit(2);
}

static void lat_add(uint64_t ns)
{
    if (lat.n == lat.cap) {
        lat.cap = lat.cap ? lat.cap * 2 : 1 << 16;
        lat.v = realloc(lat.v, lat.cap * sizeof(*lat.v));
        if (lat.v == NULL)
            die("out of memory");
    }
    lat.v[lat.n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(double p)
{
    if (lat.n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(lat.n - 1) + 0.5);
    return (double)lat.v[i] / 1000.0;
}

/* ---- /proc: server CPU seconds and RSS ---- */

/* CPU seconds of a process: the sum over its threads of the run time the
 * scheduler accounts in nanoseconds (/proc/PID/task/TID/schedstat), finer
 * than the 10 ms ticks of /proc/PID/stat; -1 if it is gone. */
static double proc_wait_s_acc;
static double proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    double total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p2[300];
        snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p2, "r");
        unsigned long long ns = 0, wait = 0;
        if (f != NULL) {
            if (fscanf(f, "%llu %llu", &ns, &wait) == 2) {
                total += (double)ns / 1e9;
                proc_wait_s_acc += (double)wait / 1e9; /* runnable but not running */
            }
            fclose(f);
        }
    }
    closedir(d);
    return total;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- connections ---- */

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
        die("epoll_ctl");
    c->events = ev;
}

static void conn_free(struct conn *c, bool abortive)
{
    if (c->st == C_OPEN) {
        open_now--;
        open_list[c->slot] = NULL;
    }
    if (abortive) { /* RST: no TIME_WAIT, nothing left for the server to do */
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    SSL_free(c->ssl);
    free(c->in);
    free(c->out);
    free(c);
}

static void conn_fail(struct conn *c, const char *why)
{
    static unsigned reported;
    if (reported++ < 5)
        fprintf(stderr, "bench_wsload: connection failed: %s\n", why);
    failed++;
    if (c->st == C_OPEN)
        closed_unexpectedly++;
    conn_free(c, true);
}

static struct conn *conn_new(void)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        die("out of memory");
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket (raise ulimit -n?)");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    inet_pton(AF_INET, o.host, &sa.sin_addr);
    c->t0 = now_ns();
    c->st = C_CONNECTING;
    started++;
    int r = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
    if (r != 0 && errno != EINPROGRESS)
        die("connect");
    c->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
        die("epoll_ctl add");
    return c;
}

static void queue_out(struct conn *c, const void *p, size_t n)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (c->out == NULL)
            die("out of memory");
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* Writes what is queued; false when the connection failed. */
static bool flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        int n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return true;
        }
        if (e == SSL_ERROR_WANT_READ)
            return true;
        conn_fail(c, "write");
        return false;
    }
    set_events(c, EPOLLIN);
    return true;
}

static void send_frame(struct conn *c)
{
    c->ts[(c->ts_head + c->ts_n) % MAX_DEPTH] = now_ns();
    c->ts_n++;
    queue_out(c, frame, frame_len);
}

static bool in_window(uint64_t t) { return win_start != 0 && t >= win_start && t < win_end; }

/* A connection finished its job (handshake mode). */
static void handshake_done(struct conn *c, bool abortive)
{
    uint64_t t = now_ns();
    completed++;
    if (in_window(t)) {
        window_done++;
        lat_add(t - c->t0);
    }
    conn_free(c, abortive);
}

static const uint8_t *find_head_end(const uint8_t *p, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            return p + i + 1;
    return NULL;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

static bool process_frames(struct conn *c);

/* The value of header name (with its ':', any case) in the head, or "". */
static void head_value(const uint8_t *p, size_t head, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (size_t i = 0; i + 2 + nl <= head; i++) {
        if (p[i] != '\r' || p[i + 1] != '\n' || strncasecmp((const char *)p + i + 2, name, nl) != 0)
            continue;
        size_t v = i + 2 + nl, k = 0;
        while (v < head && p[v] == ' ')
            v++;
        while (v < head && p[v] != '\r' && k + 1 < outsz && p[v] >= 0x20 && p[v] < 0x7f)
            out[k++] = (char)p[v++];
        out[k] = '\0';
        return;
    }
}

/* The status of a complete response head in c->in (0: none yet), and a
 * description for a refusal: "upgrade answered 503 (Retry-After: 1):
 * <first line of the body>". */
static int response_status(const struct conn *c, char *why, size_t whysz)
{
    const uint8_t *end = find_head_end(c->in, c->in_len);
    int status = 0;
    if (end == NULL || sscanf((const char *)c->in, "HTTP/1.%*c %d", &status) != 1)
        return 0;
    size_t head = (size_t)(end - c->in);
    char retry[32], body[96];
    head_value(c->in, head, "Retry-After:", retry, sizeof(retry));
    size_t k = 0;
    for (const uint8_t *b = end; b < c->in + c->in_len && *b != '\n' && k + 1 < sizeof(body); b++)
        body[k++] = *b >= 0x20 && *b < 0x7f ? (char)*b : '?';
    body[k] = '\0';
    snprintf(why, whysz, "%s answered %d%s%s%s%s%s", o.what == W_HTTP ? "request" : "upgrade",
             status, retry[0] ? " (Retry-After: " : "", retry, retry[0] ? ")" : "",
             body[0] ? ": " : "", body);
    return status;
}

/* A refusal: counted by status, then the connection fails with why. */
static void conn_refused(struct conn *c, int status, const char *why)
{
    if (status > 0 && status < 600)
        refused_by_status[status]++;
    conn_fail(c, why);
}

static void print_refused(void)
{
    printf("\"refused_by_status\":{");
    for (int s = 0, n = 0; s < 600; s++)
        if (refused_by_status[s] > 0)
            printf("%s\"%d\":%lu", n++ ? "," : "", s, refused_by_status[s]);
    printf("},");
}

/* The HTTP answer: 200 + body for http, 101 for ws. false: c is gone. */
static bool process_response(struct conn *c)
{
    const uint8_t *end = find_head_end(c->in, c->in_len);
    if (end == NULL)
        return true;
    size_t head = (size_t)(end - c->in);
    int status = 0;
    if (sscanf((const char *)c->in, "HTTP/1.%*c %d", &status) != 1)
        status = 0;
    if (o.what == W_HTTP) {
        const char *cl = memmem(c->in, head, "\r\nContent-Length:", 17);
        if (cl == NULL)
            cl = memmem(c->in, head, "\r\ncontent-length:", 17);
        size_t body = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
        if (c->in_len < head + body)
            return true;
        if (status != 200) {
            char why[200];
            conn_refused(c, response_status(c, why, sizeof(why)), why);
            return false;
        }
        handshake_done(c, true);
        return false;
    }
    if (status != 101) {
        char why[200];
        conn_refused(c, response_status(c, why, sizeof(why)), why);
        return false;
    }
    consume(c, head);
    if (o.mode == M_HANDSHAKE) {
        handshake_done(c, true);
        return false;
    }
    c->st = C_OPEN;
    open_now++;
    completed++;
    c->slot = nopen_list;
    open_list[nopen_list++] = c;
    return process_frames(c) && flush_out(c);
}

/* Server frames (never masked). Echoes complete a message; pings get a pong. */
static bool process_frames(struct conn *c)
{
    size_t off = 0;
    while (c->in_len - off >= 2) {
        const uint8_t *p = c->in + off;
        unsigned op = p[0] & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (c->in_len - off < 4)
                break;
            len = ((uint64_t)p[2] << 8) | p[3];
            hl = 4;
        } else if (len == 127) {
            if (c->in_len - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            hl = 10;
        }
        if (c->in_len - off < hl + len)
            break;
        if (op == 0x9) { /* ping: pong with the same payload, masked (zero mask) */
            uint8_t h[8] = {0x8a, (uint8_t)(0x80 | len), 0, 0, 0, 0};
            if (len > 125) {
                conn_fail(c, "ping too long");
                return false;
            }
            queue_out(c, h, 6);
            queue_out(c, p + hl, (size_t)len);
        } else if (op == 0x8) {
            conn_fail(c, "server sent close");
            return false;
        } else if (op == 0x2 && o.mode == M_ECHO) {
            if (len != o.size || c->ts_n == 0) {
                conn_fail(c, "unexpected echo");
                return false;
            }
            uint64_t t = now_ns();
            if (in_window(t)) {
                window_done++;
                lat_add(t - c->ts[c->ts_head]);
            }
            c->ts_head = (c->ts_head + 1) % MAX_DEPTH;
            c->ts_n--;
            if (win_end == 0 || t < win_end)
                send_frame(c);
        }
        off += hl + (size_t)len;
    }
    if (off > 0)
        consume(c, off);
    return true;
}

/* Reads all the plaintext there is. false: c is gone. */
static bool read_in(struct conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 32768;
            c->in = realloc(c->in, c->in_cap);
            if (c->in == NULL)
                die("out of memory");
        }
        int n = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return true;
        if (e == SSL_ERROR_WANT_WRITE) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return true;
        }
        if (c->st == C_SHUTDOWN) { /* the server's close_notify or EOF */
            handshake_done(c, true); /* both FINs seen: RST only drops TIME_WAIT */
            return false;
        }
        /* A refusal and the close often come in one read: report the
         * refusal (its status, Retry-After and reason), not the close. */
        char why[200];
        int status = c->st == C_RESP ? response_status(c, why, sizeof(why)) : 0;
        if (status != 0 && status != 101 && status != 200)
            conn_refused(c, status, why);
        else
            conn_fail(c, e == SSL_ERROR_ZERO_RETURN ? "server closed" : "read");
        return false;
    }
}

static void start_request(struct conn *c)
{
    if (o.what == W_TLS) { /* close_notify, then wait for the server's end */
        SSL_shutdown(c->ssl);
        shutdown(c->fd, SHUT_WR);
        c->st = C_SHUTDOWN;
        set_events(c, EPOLLIN);
        return;
    }
    c->st = C_RESP;
    queue_out(c, request, request_len);
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
            conn_fail(c, strerror(err ? err : ECONNREFUSED));
            return;
        }
        c->ssl = SSL_new(sslctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        c->st = C_TLS;
    }
    if (c->st == C_TLS) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                set_events(c, EPOLLIN);
            else if (e == SSL_ERROR_WANT_WRITE)
                set_events(c, EPOLLOUT);
            else {
                unsigned long err = ERR_get_error();
                char buf[256];
                ERR_error_string_n(err, buf, sizeof(buf));
                ERR_clear_error();
                conn_fail(c, buf);
            }
            return;
        }
        start_request(c);
        if (c->st == C_SHUTDOWN)
            return;
    }
    if (c->st == C_SHUTDOWN) {
        read_in(c);
        return;
    }
    if ((ev & EPOLLIN) || c->st == C_RESP) {
        if (!read_in(c))
            return;
        if (c->st == C_RESP && !process_response(c))
            return;
        if (c->st == C_OPEN && !process_frames(c))
            return;
    }
    flush_out(c);
}

/* ---- runs ---- */

static void run_loop_until(bool (*done)(uint64_t now), uint64_t (*tick)(uint64_t now))
{
    struct epoll_event evs[512];
    for (;;) {
        uint64_t t = now_ns();
        if (done(t) || stop_flag)
            return;
        uint64_t next = tick != NULL ? tick(t) : t + 10000000u;
        int ms = next > t ? (int)((next - t + 999999) / 1000000) : 0;
        if (ms > 100)
            ms = 100;
        int n = epoll_wait(ep, evs, 512, ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }
}

static double srv_cpu0[MAX_PIDS], srv_cpu1[MAX_PIDS], cli_cpu0, cli_cpu1, srv_wait0, srv_wait1;
static bool window_sampled_start, window_sampled_end;

/* Server CPU and run-queue wait, client CPU: at the start (0) or end (1) of the window. */
static void sample(int end)
{
    proc_wait_s_acc = 0;
    for (int i = 0; i < o.npids; i++)
        (end ? srv_cpu1 : srv_cpu0)[i] = proc_cpu_s(o.pids[i]);
    *(end ? &srv_wait1 : &srv_wait0) = proc_wait_s_acc;
    *(end ? &cli_cpu1 : &cli_cpu0) = self_cpu_s();
    *(end ? &window_sampled_end : &window_sampled_start) = true;
}

/* handshake: keep o.concurrency connections in progress */
static unsigned long in_progress(void) { return started - completed - failed; }

static uint64_t hs_tick(uint64_t t)
{
    if (!window_sampled_start && t >= win_start)
        sample(0);
    if (!window_sampled_end && t >= win_end)
        sample(1);
    if (t < win_end)
        while (in_progress() < (unsigned long)o.concurrency)
            conn_new();
    return t + 5000000u;
}

static bool hs_done(uint64_t t) { return t >= win_end && window_sampled_end; }

static uint64_t echo_tick(uint64_t t)
{
    if (!window_sampled_start && t >= win_start)
        sample(0);
    if (!window_sampled_end && t >= win_end)
        sample(1);
    return t + 5000000u;
}

static unsigned long want_open;
static uint64_t open_deadline;
static bool opened_all(uint64_t t)
{
    return completed + failed >= want_open || t >= open_deadline;
}
static uint64_t open_tick(uint64_t t)
{
    while (started < want_open && in_progress() < (unsigned long)o.concurrency)
        conn_new();
    return t + 5000000u;
}

static uint64_t until;
static bool until_done(uint64_t t) { return t >= until; }

static void print_cpu(double window_s, const char *rate_key, double rate)
{
    double srv = 0;
    printf("\"server_cpu_s_by_pid\":[");
    for (int i = 0; i < o.npids; i++) {
        double d = srv_cpu1[i] - srv_cpu0[i];
        srv += d;
        printf("%s%.3f", i ? "," : "", d);
    }
    /* time the server was runnable but waited for a CPU: other load on the machine */
    printf("],\"server_cpu_s\":%.3f,\"server_cpu_util\":%.3f,\"server_runq_wait_s\":%.3f,", srv,
           srv / window_s, srv_wait1 - srv_wait0);
    if (srv > 0)
        printf("\"%s_per_server_cpu_s\":%.1f,", rate_key, rate * window_s / srv);
    printf("\"client_cpu_s\":%.3f,\"client_cpu_util\":%.3f,", cli_cpu1 - cli_cpu0,
           (cli_cpu1 - cli_cpu0) / window_s);
}

static void print_latency(void)
{
    qsort(lat.v, lat.n, sizeof(*lat.v), cmp_u64);
    printf("\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,",
           pct_us(50), pct_us(90), pct_us(99), pct_us(99.9),
           lat.n ? (double)lat.v[lat.n - 1] / 1000.0 : 0);
}

static void build_request(void)
{
    char auth[700] = "";
    if (o.auth != NULL) {
        unsigned char b64[600];
        if (strlen(o.auth) > 400)
            die("--auth too long");
        EVP_EncodeBlock(b64, (const unsigned char *)o.auth, (int)strlen(o.auth));
        snprintf(auth, sizeof(auth), "Authorization: Basic %s\r\n", b64);
    }
    if (o.what == W_HTTP)
        request_len = (size_t)snprintf(request, sizeof(request),
                                       "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", o.path,
                                       auth);
    else
        request_len = (size_t)snprintf(
            request, sizeof(request),
            "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n",
            o.path, auth);
}

static void build_frame(void)
{
    frame_len = o.size + 14;
    frame = malloc(frame_len);
    if (frame == NULL)
        die("out of memory");
    size_t h = 0;
    frame[h++] = 0x82;
    if (o.size < 126) {
        frame[h++] = (uint8_t)(0x80 | o.size);
    } else if (o.size < 65536) {
        frame[h++] = 0x80 | 126;
        frame[h++] = (uint8_t)(o.size >> 8);
        frame[h++] = (uint8_t)o.size;
    } else {
        frame[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            frame[h++] = (uint8_t)((uint64_t)o.size >> (8 * i));
    }
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < o.size; i++)
        frame[h + i] = (uint8_t)(i * 131 + 7) ^ mask[i & 3];
    frame_len = h + o.size;
}

static void setup_tls(void)
{
    sslctx = SSL_CTX_new(TLS_client_method());
    if (sslctx == NULL)
        die("SSL_CTX_new");
    int v = o.tls_version == 12 ? TLS1_2_VERSION : o.tls_version == 13 ? TLS1_3_VERSION : 0;
    SSL_CTX_set_min_proto_version(sslctx, v ? v : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(sslctx, v);
    if (SSL_CTX_set_ciphersuites(sslctx, tls13_suites) != 1 ||
        SSL_CTX_set_cipher_list(sslctx, tls12_suites) != 1)
        die("cipher lists");
    SSL_CTX_set_session_cache_mode(sslctx, SSL_SESS_CACHE_OFF); /* every handshake full */
    SSL_CTX_set_options(sslctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(sslctx, SSL_VERIFY_NONE, NULL); /* server work is what is measured */
    SSL_CTX_set_mode(sslctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void parse_pids(const char *s)
{
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && o.npids < MAX_PIDS;
         t = strtok_r(NULL, ",", &save))
        o.pids[o.npids++] = (pid_t)atoi(t);
    free(copy);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_wsload handshake|hold|echo --port P [--host ADDR] [--tls 1.2|1.3]\n"
            "  [--what tls|http|ws] [--path PATH] [--auth USER:PASS] [--concurrency C]\n"
            "  [--conns N] [--size BYTES] [--depth D] [--seconds S] [--warmup S] [--hold S]\n"
            "  [--pid PID[,PID...]]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "handshake") == 0)
        o.mode = M_HANDSHAKE;
    else if (strcmp(argv[1], "hold") == 0)
        o.mode = M_HOLD;
    else if (strcmp(argv[1], "echo") == 0)
        o.mode = M_ECHO;
    else
        usage();
    o.what = W_WS;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--port") == 0)
            o.port = atoi(v);
        else if (strcmp(a, "--host") == 0)
            o.host = v;
        else if (strcmp(a, "--tls") == 0)
            o.tls_version = strcmp(v, "1.2") == 0 ? 12 : strcmp(v, "1.3") == 0 ? 13 : -1;
        else if (strcmp(a, "--what") == 0)
            o.what = strcmp(v, "tls") == 0 ? W_TLS : strcmp(v, "http") == 0 ? W_HTTP : W_WS;
        else if (strcmp(a, "--path") == 0)
            o.path = v;
        else if (strcmp(a, "--auth") == 0)
            o.auth = v;
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            o.conns = atoi(v);
        else if (strcmp(a, "--size") == 0)
            o.size = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--depth") == 0)
            o.depth = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = atof(v);
        else if (strcmp(a, "--warmup") == 0)
            o.warmup = atof(v);
        else if (strcmp(a, "--hold") == 0)
            o.hold = atof(v);
        else if (strcmp(a, "--pid") == 0)
            parse_pids(v);
        else
            usage();
    }
    if (o.port <= 0 || o.port > 65535 || o.tls_version < 0 || o.concurrency < 1 || o.conns < 1 ||
        o.depth < 1 || o.depth > MAX_DEPTH || o.size < 1 || o.size > (16u << 20) ||
        o.seconds <= 0)
        usage();
}

static void on_sig(int s)
{
    (void)s;
    stop_flag = 1;
}

static uint64_t secs_ns(double s) { return (uint64_t)(s * 1e9); }

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    setup_tls();
    build_request();
    build_frame();
    open_list = calloc((size_t)o.conns, sizeof(*open_list));
    if (open_list == NULL)
        die("out of memory");
    const char *mode = o.mode == M_HANDSHAKE ? "handshake" : o.mode == M_HOLD ? "hold" : "echo";
    if (o.mode == M_HANDSHAKE) {
        uint64_t t = now_ns();
        win_start = t + secs_ns(o.warmup);
        win_end = win_start + secs_ns(o.seconds);
        run_loop_until(hs_done, hs_tick);
        printf("{\"mode\":\"%s\",\"what\":\"%s\",\"tls\":\"%s\",\"concurrency\":%d,", mode,
               o.what == W_TLS ? "tls" : o.what == W_HTTP ? "http" : "ws",
               o.tls_version == 12 ? "1.2" : o.tls_version == 13 ? "1.3" : "any", o.concurrency);
        double rate = (double)window_done / o.seconds;
        printf("\"seconds\":%.2f,\"conns\":%lu,\"conns_per_s\":%.1f,\"failed\":%lu,", o.seconds,
               window_done, rate, failed);
        print_refused();
        print_cpu(o.seconds, "conns", rate);
        print_latency();
        printf("\"ok\":%s}\n", window_done > 0 && failed == 0 ? "true" : "false");
        return window_done > 0 ? 0 : 1;
    }
    /* hold and echo: open o.conns WebSocket connections first */
    long rss0[MAX_PIDS];
    for (int i = 0; i < o.npids; i++)
        rss0[i] = proc_rss_kb(o.pids[i]);
    double cpu_open0[MAX_PIDS];
    for (int i = 0; i < o.npids; i++)
        cpu_open0[i] = proc_cpu_s(o.pids[i]);
    uint64_t t_open = now_ns();
    want_open = (unsigned long)o.conns;
    open_deadline = t_open + secs_ns(o.mode == M_HOLD ? 600 : 60);
    run_loop_until(opened_all, open_tick);
    double open_s = (double)(now_ns() - t_open) / 1e9;
    unsigned long opened = open_now;
    if (o.mode == M_HOLD) {
        double open_cpu = 0;
        for (int i = 0; i < o.npids; i++)
            open_cpu += proc_cpu_s(o.pids[i]) - cpu_open0[i];
        until = now_ns() + secs_ns(o.warmup); /* settle */
        run_loop_until(until_done, NULL);
        long rss1[MAX_PIDS];
        for (int i = 0; i < o.npids; i++)
            rss1[i] = proc_rss_kb(o.pids[i]);
        until = now_ns() + secs_ns(o.hold); /* held idle: pings answered */
        run_loop_until(until_done, NULL);
        long rss2[MAX_PIDS], delta = 0;
        printf("{\"mode\":\"hold\",\"tls\":\"%s\",\"conns_wanted\":%d,\"conns_open\":%lu,"
               "\"conns_still_open\":%lu,\"failed\":%lu,\"closed_while_held\":%lu,"
               "\"open_s\":%.2f,\"open_server_cpu_s\":%.2f,",
               o.tls_version == 12 ? "1.2" : o.tls_version == 13 ? "1.3" : "any", o.conns,
               opened, open_now, failed, closed_unexpectedly, open_s, open_cpu);
        print_refused();
        printf("\"rss_kb_before\":[");
        for (int i = 0; i < o.npids; i++)
            printf("%s%ld", i ? "," : "", rss0[i]);
        printf("],\"rss_kb_open\":[");
        for (int i = 0; i < o.npids; i++)
            printf("%s%ld", i ? "," : "", rss1[i]);
        printf("],\"rss_kb_held\":[");
        for (int i = 0; i < o.npids; i++) {
            rss2[i] = proc_rss_kb(o.pids[i]);
            long hi = rss2[i] > rss1[i] ? rss2[i] : rss1[i];
            delta += hi - rss0[i];
            printf("%s%ld", i ? "," : "", rss2[i]);
        }
        printf("],\"rss_kb_delta\":%ld,\"bytes_per_conn\":%.0f,\"ok\":%s}\n", delta,
               opened ? (double)delta * 1024.0 / (double)opened : 0,
               opened == (unsigned long)o.conns && open_now == opened ? "true" : "false");
        return opened == (unsigned long)o.conns ? 0 : 1;
    }
    /* echo */
    uint64_t t = now_ns();
    win_start = t + secs_ns(o.warmup);
    win_end = win_start + secs_ns(o.seconds);
    for (size_t i = 0; i < nopen_list; i++) {
        struct conn *c = open_list[i];
        if (c == NULL)
            continue;
        for (int k = 0; k < o.depth; k++)
            send_frame(c);
        flush_out(c);
    }
    run_loop_until(hs_done, echo_tick);
    double rate = (double)window_done / o.seconds;
    printf("{\"mode\":\"echo\",\"tls\":\"%s\",\"conns\":%d,\"conns_open\":%lu,\"size\":%zu,"
           "\"depth\":%d,\"seconds\":%.2f,\"msgs\":%lu,\"msgs_per_s\":%.1f,\"failed\":%lu,",
           o.tls_version == 12 ? "1.2" : o.tls_version == 13 ? "1.3" : "any", o.conns, opened,
           o.size, o.depth, o.seconds, window_done, rate, failed);
    print_cpu(o.seconds, "msgs", rate);
    print_latency();
    printf("\"ok\":%s}\n", opened == (unsigned long)o.conns && failed == 0 ? "true" : "false");
    return window_done > 0 ? 0 : 1;
}
