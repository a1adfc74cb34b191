/* bench_frontload — HTTPS keep-alive request load for bench/front.sh: C
 * connections (TLS 1.3 or 1.2, no verification: the bench's own PKI), each
 * sending GET PATH and reading the answer (Content-Length or chunked) before
 * the next, for S seconds after W of warm-up. One thread, poll(). Prints one
 * JSON line: requests/s, latency percentiles, server CPU (per PID) and client
 * CPU.
 *
 *   bench_frontload --port P [--path PATH] [--concurrency C] [--seconds S]
 *                   [--warmup W] [--tls 1.2|1.3] [--pid PID[,PID...]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAXC 1024
#define MAXPID 4

struct conn {
    int fd;
    SSL *ssl;
    bool connected; /* handshake done */
    bool waiting;   /* a request is out */
    uint64_t sent_ns;
    char buf[65536];
    size_t len;
};

static struct {
    int port, conc, tls;
    double secs, warm;
    const char *path;
    pid_t pids[MAXPID];
    int npids;
} o = {.conc = 32, .secs = 5, .warm = 1, .tls = 13, .path = "/x-nmos/node/v1.3/self"};

static uint64_t *lat;
static size_t nlat, caplat;
static uint64_t failed;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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
        unsigned long long ns = 0;
        if (f != NULL) {
            if (fscanf(f, "%llu", &ns) == 1)
                total += (double)ns / 1e9;
            fclose(f);
        }
    }
    closedir(d);
    return total;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1));
    return (double)lat[i] / 1000.0;
}

static void record(uint64_t ns)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof(*lat));
        if (lat == NULL)
            exit(1);
    }
    lat[nlat++] = ns;
}

static void conn_open(SSL_CTX *ctx, struct conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set_connect_state(c->ssl);
}

static void conn_close(struct conn *c)
{
    SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static bool send_req(struct conn *c)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", o.path);
    c->sent_ns = now_ns();
    c->waiting = true;
    c->len = 0;
    return SSL_write(c->ssl, req, n) == n; /* small: one record, the socket takes it */
}

/* The response in c->buf is complete: returns its length, 0 if not yet,
 * -1 if unreadable. Content-Length or chunked bodies. */
static long complete(const struct conn *c)
{
    const char *b = c->buf;
    const char *end = NULL;
    for (size_t i = 3; i < c->len; i++)
        if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n') {
            end = b + i + 1;
            break;
        }
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - b);
    const char *cl = NULL;
    bool chunked = false;
    for (const char *p = b; p < end; p = strchr(p, '\n') + 1) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            cl = p + 15;
        if (strncasecmp(p, "Transfer-Encoding: chunked", 26) == 0)
            chunked = true;
        if (strchr(p, '\n') == NULL || strchr(p, '\n') >= end - 1)
            break;
    }
    if (cl != NULL) {
        size_t need = head + strtoul(cl, NULL, 10);
        return c->len >= need ? (long)need : 0;
    }
    if (!chunked)
        return (long)head;
    size_t i = head;
    for (;;) { /* walk the chunks */
        const char *nl = memchr(b + i, '\n', c->len - i);
        if (nl == NULL)
            return 0;
        size_t sz = strtoul(b + i, NULL, 16);
        i = (size_t)(nl - b) + 1 + sz + 2;
        if (sz == 0)
            return c->len >= i ? (long)i : 0;
        if (i > c->len)
            return 0;
    }
}

/* Progress on one connection; false: failed. */
static bool step(struct conn *c, uint64_t t_count)
{
    if (!c->connected) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
        }
        c->connected = true;
        return send_req(c);
    }
    for (;;) {
        if (c->len == sizeof(c->buf))
            return false;
        int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            return e == SSL_ERROR_WANT_READ;
        }
        c->len += (size_t)n;
        long done = complete(c);
        if (done < 0)
            return false;
        if (done == 0)
            continue;
        if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0) {
            if (failed++ == 0)
                fprintf(stderr, "first non-200 answer: %.*s\n", (int)(done < 200 ? done : 200), c->buf);
        }
        uint64_t t = now_ns();
        if (c->sent_ns >= t_count)
            record(t - c->sent_ns);
        if (!send_req(c))
            return false;
    }
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--port") == 0)
            o.port = atoi(v);
        else if (strcmp(k, "--path") == 0)
            o.path = v;
        else if (strcmp(k, "--concurrency") == 0)
            o.conc = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            o.secs = atof(v);
        else if (strcmp(k, "--warmup") == 0)
            o.warm = atof(v);
        else if (strcmp(k, "--tls") == 0)
            o.tls = strcmp(v, "1.2") == 0 ? 12 : 13;
        else if (strcmp(k, "--pid") == 0) {
            char *s = strdup(v), *save = NULL;
            for (char *t = strtok_r(s, ",", &save); t && o.npids < MAXPID; t = strtok_r(NULL, ",", &save))
                o.pids[o.npids++] = (pid_t)atoi(t);
            free(s);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            exit(2);
        }
    }
    if (o.port <= 0 || o.conc <= 0 || o.conc > MAXC) {
        fprintf(stderr, "usage: bench_frontload --port P [--path PATH] [--concurrency C<=%d] "
                        "[--seconds S] [--warmup W] [--tls 1.2|1.3] [--pid PID,...]\n", MAXC);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int v = o.tls == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    static struct conn cs[MAXC];
    static struct pollfd pf[MAXC];
    for (int i = 0; i < o.conc; i++)
        conn_open(ctx, &cs[i]);
    uint64_t t0 = now_ns(), t_count = t0 + (uint64_t)(o.warm * 1e9);
    uint64_t t_end = t_count + (uint64_t)(o.secs * 1e9);
    double cpu0[MAXPID] = {0}, self0 = 0;
    bool counting = false;
    while (now_ns() < t_end) {
        if (!counting && now_ns() >= t_count) {
            counting = true;
            for (int i = 0; i < o.npids; i++)
                cpu0[i] = proc_cpu_s(o.pids[i]);
            self0 = self_cpu_s();
        }
        for (int i = 0; i < o.conc; i++)
            pf[i] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
        if (poll(pf, (nfds_t)o.conc, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < o.conc; i++) {
            if (!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)) && cs[i].connected)
                continue;
            if (!step(&cs[i], t_count)) {
                if (failed++ == 0)
                    fprintf(stderr, "first failed connection: %s\n",
                            ERR_error_string(ERR_peek_last_error(), NULL));
                conn_close(&cs[i]);
                conn_open(ctx, &cs[i]);
            }
        }
    }
    double secs = o.secs, self = self_cpu_s() - self0, server = 0;
    printf("{\"ok\":%s,\"seconds\":%.3f,\"concurrency\":%d,\"requests\":%zu,"
           "\"requests_per_s\":%.1f,", nlat > 0 ? "true" : "false", secs, o.conc, nlat,
           (double)nlat / secs);
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    printf("\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"server_cpu_s_by_pid\":[", pct(0.5),
           pct(0.99), pct(0.999));
    for (int i = 0; i < o.npids; i++) {
        double s = proc_cpu_s(o.pids[i]) - cpu0[i];
        server += s;
        printf("%s%.3f", i ? "," : "", s);
    }
    printf("],\"server_cpu_s\":%.3f,\"requests_per_server_cpu_s\":%.1f,\"server_cpu_util\":%.3f,"
           "\"client_cpu_util\":%.3f,\"failed\":%llu}\n",
           server, server > 0 ? (double)nlat / server : 0, server / secs, self / secs,
           (unsigned long long)failed);
    for (int i = 0; i < o.conc; i++)
        conn_close(&cs[i]);
    SSL_CTX_free(ctx);
    free(lat);
    return nlat > 0 ? 0 : 1;
}
