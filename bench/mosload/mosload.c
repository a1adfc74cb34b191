/* MOS 2.x load generator and responder for the relay benchmark (bench/relay.sh;
 * not a test). Plain TCP, UCS-2BE (M-21), stop-and-wait (M-22).
 *
 *   bench_mosload client --port P[,P...] [--host ADDR] --channels N
 *                        (--size BYTES | --file MOS-FILE) [--kind ro|mom|alt]
 *                        --duration S [--warmup S] [--id-base N]
 *                        [--mos-id ID] [--ncs-id ID]    ("%d" in an ID: the channel's index)
 *                        [--count N]
 *   bench_mosload respond --port P[,P...] [--host ADDR]
 *
 * client: N channels, channel k a TCP connection to port k % (number of ports).
 * Each sends one whole <mos> message, waits for the answer, checks it is a
 * positive mosAck/roAck carrying the request's messageID, and sends the next;
 * messageIDs are unique (id-base + k + n*N). --kind picks roCreate (ro,
 * answered by roAck), mosObjCreate (mom, mosAck) or alternates by channel;
 * --size pads the message with story text to that many UCS-2BE bytes; --file
 * sends a UCS-2BE MOS message (its envelope replaced by ours). After --warmup
 * seconds it records every round trip that ends within the next --duration
 * seconds in a log-linear histogram (1/1024 relative precision) and prints
 * one JSON line: messages/s,
 * p50/p90/p99/p99.9/max in microseconds, errors (wrong, negative or missing
 * answers, lost connections) and how many channels had an answer in the
 * window. Exit status 1 when no message was answered. --count N stops after
 * N answered messages (bench/relay_why.sh counts system calls and
 * instructions per message over an exact number of them; use with
 * --warmup 0 and a --duration long enough).
 *
 * respond: a MOS device listening on every port; answers each request with a
 * positive roAck (ro* messages, mosItemReplace) or mosAck (others), carrying
 * the request's messageID, mosID and ncsID; heartbeat with heartbeat. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 4096
#define HEAD_CHARS 2048 /* the envelope and message name lie within this */

static const char END_TAG[] = "</mos>";

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "bench_mosload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_mosload client --port P[,P...] [--host ADDR] --channels N\n"
                    "                     (--size BYTES | --file MOS-FILE) [--kind ro|mom|alt]\n"
                    "                     --duration S [--warmup S] [--id-base N] [--mos-id ID] [--ncs-id ID]\n"
                    "                     [--count N]\n"
                    "       bench_mosload respond --port P[,P...] [--host ADDR]\n");
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- UCS-2BE helpers (the benchmark's text is ASCII) ---- */

static uint8_t *ucs2(const char *s, size_t n)
{
    uint8_t *p = malloc(2 * n + 1);
    if (p == NULL)
        die("malloc");
    for (size_t i = 0; i < n; i++)
        p[2 * i] = 0, p[2 * i + 1] = (uint8_t)s[i];
    return p;
}

/* The ASCII view of up to max characters of UCS-2BE (other characters become '?'). */
static size_t ascii_of(const uint8_t *p, size_t n, char *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i + 1 < n && k < max; i += 2)
        out[k++] = p[i] == 0 && p[i + 1] < 0x80 && p[i + 1] != 0 ? (char)p[i + 1] : '?';
    out[k] = '\0';
    return k;
}

/* End of the first </mos> at an even offset at or after from, or 0. */
static size_t find_end(const uint8_t *p, size_t n, size_t from)
{
    static uint8_t pat[12];
    if (pat[1] == 0)
        for (int i = 0; i < 6; i++)
            pat[2 * i + 1] = (uint8_t)END_TAG[i];
    from &= ~(size_t)1;
    while (from + sizeof(pat) <= n) {
        const uint8_t *q = memmem(p + from, n - from, pat, sizeof(pat));
        if (q == NULL)
            return 0;
        size_t off = (size_t)(q - p);
        if (off % 2 == 0)
            return off + sizeof(pat);
        from = off + 1;
    }
    return 0;
}

/* The text between <tag> and </tag> in s, copied to out; false when absent. */
static bool element(const char *s, const char *tag, char *out, size_t max)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(s, open);
    const char *b = a != NULL ? strstr(a, close) : NULL;
    if (b == NULL)
        return false;
    a += strlen(open);
    size_t n = (size_t)(b - a);
    if (n >= max)
        return false;
    memcpy(out, a, n);
    out[n] = '\0';
    return true;
}

/* The name of the message element: the first element after the envelope. */
static bool message_name(const char *s, char *out, size_t max)
{
    const char *p = strstr(s, "</messageID>");
    p = p != NULL ? p + 12 : strstr(s, "</ncsID>");
    if (p == NULL)
        return false;
    while ((p = strchr(p, '<')) != NULL) {
        size_t n = strcspn(p + 1, " />\t\r\n");
        if (p[1] != '/' && strncmp(p + 1, "mosID>", 6) && strncmp(p + 1, "ncsID>", 6) &&
            strncmp(p + 1, "messageID>", 10) && n > 0 && n < max) {
            memcpy(out, p + 1, n);
            out[n] = '\0';
            return true;
        }
        p++;
    }
    return false;
}

/* ---- ports, sockets ---- */

static int parse_ports(const char *s, uint16_t *ports)
{
    int n = 0;
    while (*s && n < MAX_PORTS) {
        char *e;
        long v = strtol(s, &e, 10);
        if (e == s || v <= 0 || v > 65535 || (*e != ',' && *e != '\0'))
            usage();
        ports[n++] = (uint16_t)v;
        s = *e == ',' ? e + 1 : e;
    }
    return n;
}

static struct sockaddr_in addr_of(const char *host, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "bench_mosload: %s is not an IPv4 address\n", host);
        exit(2);
    }
    return a;
}

static void epoll_set(int ep, int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(ep, op, fd, &ev) != 0)
        die("epoll_ctl");
}

/* Changes what epoll watches on fd only when it differs from *mask. */
static void epoll_want(int ep, int fd, uint32_t *mask, uint32_t events, void *ptr)
{
    if (*mask != events)
        epoll_set(ep, EPOLL_CTL_MOD, fd, events, ptr);
    *mask = events;
}

/* ---- the histogram: exact below 2048 ns, then 1024 sub-buckets per power of two ---- */

#define H_SUB 1024
#define H_BUCKETS (2 * H_SUB + 40 * H_SUB)
struct hist {
    uint64_t count[H_BUCKETS];
    uint64_t total, max;
};

static size_t h_index(uint64_t v)
{
    if (v < 2 * H_SUB)
        return (size_t)v;
    int shift = 63 - __builtin_clzll(v) - 10; /* v >> shift in [1024, 2047] */
    size_t i = 2 * H_SUB + (size_t)(shift - 1) * H_SUB + (size_t)((v >> shift) - H_SUB);
    return i < H_BUCKETS ? i : H_BUCKETS - 1;
}

static uint64_t h_value(size_t i) /* the middle of bucket i */
{
    if (i < 2 * H_SUB)
        return i;
    size_t shift = (i - 2 * H_SUB) / H_SUB + 1;
    uint64_t low = (uint64_t)(H_SUB + (i - 2 * H_SUB) % H_SUB) << shift;
    return low + ((uint64_t)1 << shift) / 2;
}

static void h_add(struct hist *h, uint64_t v)
{
    h->count[h_index(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

static double h_pct_us(const struct hist *h, double pct)
{
    if (h->total == 0)
        return 0;
    uint64_t want = (uint64_t)((double)h->total * pct / 100.0 + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < H_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) {
            uint64_t v = h_value(i);
            return (double)(v < h->max ? v : h->max) / 1000.0;
        }
    }
    return (double)h->max / 1000.0;
}

/* ---- client ---- */

struct msg_template {
    uint8_t *tail; /* UCS-2BE from </messageID> to the end */
    size_t tail_len;
};

struct channel {
    int fd, idx;
    const struct msg_template *tpl;
    uint8_t *head; /* UCS-2BE: the envelope up to <messageID> (this channel's IDs) */
    size_t head_len;
    uint32_t seq;
    char id[16];
    uint8_t id_wire[32];
    struct iovec iov[3];
    size_t sent, total;
    uint64_t t_send;
    uint8_t *rbuf;
    size_t rlen, rcap, scanned;
    bool waiting, connected;
    uint64_t retry_at;
    uint32_t mask; /* what epoll watches */
    uint64_t answered; /* good answers inside the window */
};

static struct {
    const char *host, *file, *kind, *mos_id, *ncs_id;
    uint16_t ports[MAX_PORTS];
    int nports, channels;
    long size;
    double duration, warmup;
    uint64_t id_base, count;
} opt = {.host = "127.0.0.1", .kind = "ro", .mos_id = "bench.device", .ncs_id = "bench.ncs",
         .duration = 10, .warmup = 2, .id_base = 1};

static struct {
    struct hist h;
    uint64_t done, errors, mismatches, nacks, lost, bytes;
    uint64_t t_start, t_end;
} st;

static char *padded_body(const char *kind, long size, size_t head_chars)
{
    /* Everything after </messageID>; the padding is chosen so the whole
     * message is about size UCS-2BE bytes. */
    const char *pre, *post;
    if (strcmp(kind, "mom") == 0) {
        pre = "<mosObjCreate><objSlug>castgate bench object</objSlug><objType>VIDEO</objType>"
              "<objTB>59940</objTB><objDur>0</objDur><description>";
        post = "</description></mosObjCreate></mos>";
    } else {
        pre = "<roCreate><roID>BENCH-RO</roID><roSlug>castgate bench running order</roSlug>"
              "<story><storyID>BENCH-STORY</storyID><storySlug>padding</storySlug>"
              "<mosExternalMetadata><mosScope>PLAYLIST</mosScope><mosSchema>"
              "http://castgate.invalid/bench</mosSchema><mosPayload><text>";
        post = "</text></mosPayload></mosExternalMetadata></story></roCreate></mos>";
    }
    size_t fixed = head_chars + 10 + strlen(pre) + strlen(post);
    size_t want = size > 0 ? (size_t)size / 2 : 0;
    size_t pad = want > fixed ? want - fixed : 0;
    static const char words[] = "The quick brown fox jumps over the lazy dog in the studio. ";
    char *body = malloc(strlen(pre) + pad + strlen(post) + 1);
    if (body == NULL)
        die("malloc");
    char *p = stpcpy(body, pre);
    for (size_t i = 0; i < pad; i++)
        *p++ = words[i % (sizeof(words) - 1)];
    strcpy(p, post);
    return body;
}

/* id with its first "%d" replaced by k. */
static void with_index(const char *id, int k, char *out, size_t max)
{
    const char *p = strstr(id, "%d");
    if (p == NULL)
        snprintf(out, max, "%s", id);
    else
        snprintf(out, max, "%.*s%d%s", (int)(p - id), id, k, p + 2);
}

/* The envelope up to <messageID> with channel k's IDs ("%d" in an ID is k). */
static void make_head(struct channel *c)
{
    char mos[300], ncs[300], head[700];
    with_index(opt.mos_id, c->idx, mos, sizeof(mos));
    with_index(opt.ncs_id, c->idx, ncs, sizeof(ncs));
    int hn = snprintf(head, sizeof(head), "<mos><mosID>%s</mosID><ncsID>%s</ncsID><messageID>", mos, ncs);
    c->head = ucs2(head, (size_t)hn);
    c->head_len = 2 * (size_t)hn;
}

static void make_template(struct msg_template *t, const char *kind)
{
    size_t hn = 40 + strlen(opt.mos_id) + strlen(opt.ncs_id);
    if (opt.file != NULL) { /* the file's message from </messageID> on, bytes untouched */
        FILE *f = fopen(opt.file, "rb");
        if (f == NULL)
            die(opt.file);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *p = malloc((size_t)n);
        if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
            die(opt.file);
        fclose(f);
        char view[2 * HEAD_CHARS + 1];
        ascii_of(p, (size_t)n, view, 2 * HEAD_CHARS);
        const char *e = strstr(view, "</messageID>");
        if (e == NULL || (p[0] != 0 && p[0] != 0xFE)) {
            fprintf(stderr, "bench_mosload: %s: not a UCS-2BE MOS message with a messageID\n", opt.file);
            exit(2);
        }
        size_t off = 2 * (size_t)(e - view);
        t->tail = p + off;
        t->tail_len = (size_t)n - off;
        return;
    }
    char *body = padded_body(kind, opt.size, hn + 12);
    char *tail = malloc(strlen(body) + 13);
    if (tail == NULL)
        die("malloc");
    strcpy(stpcpy(tail, "</messageID>"), body);
    t->tail = ucs2(tail, strlen(tail));
    t->tail_len = 2 * strlen(tail);
    free(body);
    free(tail);
}

static int ep_fd;

static void ch_connect(struct channel *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = addr_of(opt.host, opt.ports[c->idx % opt.nports]);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
        die("connect");
    c->connected = false;
    c->rlen = c->scanned = 0;
    c->mask = EPOLLOUT;
    epoll_set(ep_fd, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
}

static void ch_prepare(struct channel *c)
{
    uint64_t id = opt.id_base + (uint64_t)c->idx + (uint64_t)c->seq * (uint64_t)opt.channels;
    if (id > 2147483647u) {
        fprintf(stderr, "bench_mosload: messageIDs exhausted (lower --id-base)\n");
        exit(2);
    }
    int n = snprintf(c->id, sizeof(c->id), "%llu", (unsigned long long)id);
    for (int i = 0; i < n; i++)
        c->id_wire[2 * i] = 0, c->id_wire[2 * i + 1] = (uint8_t)c->id[i];
    c->iov[0] = (struct iovec){c->head, c->head_len};
    c->iov[1] = (struct iovec){c->id_wire, 2 * (size_t)n};
    c->iov[2] = (struct iovec){c->tpl->tail, c->tpl->tail_len};
    c->sent = 0;
    c->total = c->head_len + 2 * (size_t)n + c->tpl->tail_len;
}

/* Writes what the socket takes; true when the whole message is out. */
static bool ch_write(struct channel *c)
{
    while (c->sent < c->total) {
        struct iovec v[3];
        int nv = 0;
        size_t skip = c->sent;
        for (int i = 0; i < 3; i++) {
            if (skip >= c->iov[i].iov_len) {
                skip -= c->iov[i].iov_len;
                continue;
            }
            v[nv++] = (struct iovec){(uint8_t *)c->iov[i].iov_base + skip, c->iov[i].iov_len - skip};
            skip = 0;
        }
        ssize_t w = writev(c->fd, v, nv);
        if (w < 0)
            return errno == EAGAIN ? false : (errno = EPIPE, false);
        c->sent += (size_t)w;
    }
    return true;
}

static void ch_lost(struct channel *c, const char *why)
{
    if (c->waiting)
        st.lost++;
    st.errors++;
    if (st.errors <= 5)
        fprintf(stderr, "bench_mosload: channel %d: %s\n", c->idx, why);
    epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->waiting = false;
    c->retry_at = now_ns() + 100000000u;
}

static void ch_send(struct channel *c, uint64_t t)
{
    ch_prepare(c);
    c->t_send = t;
    c->waiting = true;
    c->rlen = c->scanned = 0;
    if (ch_write(c)) {
        epoll_want(ep_fd, c->fd, &c->mask, EPOLLIN, c);
    } else if (errno == EAGAIN) {
        epoll_want(ep_fd, c->fd, &c->mask, EPOLLIN | EPOLLOUT, c);
    } else {
        ch_lost(c, "write failed");
    }
}

/* One whole answer in rbuf[0..n): checks it; true when it is the right one. */
static bool check_answer(struct channel *c, size_t n)
{
    char view[HEAD_CHARS + 1], mid[64] = "", name[64];
    ascii_of(c->rbuf, n, view, HEAD_CHARS);
    if (!message_name(view, name, sizeof(name)) ||
        (strcmp(name, "roAck") != 0 && strcmp(name, "mosAck") != 0)) {
        st.errors++;
        return false;
    }
    if (!element(view, "messageID", mid, sizeof(mid)) || strcmp(mid, c->id) != 0) {
        st.mismatches++;
        st.errors++;
        if (st.mismatches <= 5)
            fprintf(stderr, "bench_mosload: channel %d: answer for messageID %s, expected %s\n", c->idx,
                    mid, c->id);
        return false;
    }
    char status[300];
    bool ok = strcmp(name, "roAck") == 0 ? element(view, "roStatus", status, sizeof(status)) &&
                                               strcmp(status, "OK") == 0
                                         : element(view, "status", status, sizeof(status)) &&
                                               strcmp(status, "ACK") == 0;
    if (!ok) {
        st.nacks++;
        st.errors++;
        if (st.nacks <= 5)
            fprintf(stderr, "bench_mosload: channel %d: negative answer: %.300s\n", c->idx, view);
    }
    return ok;
}

static void ch_read(struct channel *c, uint64_t *t)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            c->rcap = c->rcap ? 2 * c->rcap : 65536;
            if (c->rcap > (64u << 20)) {
                ch_lost(c, "answer larger than 64 MB");
                return;
            }
            c->rbuf = realloc(c->rbuf, c->rcap);
            if (c->rbuf == NULL)
                die("realloc");
        }
        ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            ch_lost(c, r == 0 ? "connection closed" : strerror(errno));
            return;
        }
        if (r < 0)
            return;
        c->rlen += (size_t)r;
        size_t end = find_end(c->rbuf, c->rlen, c->scanned > 11 ? c->scanned - 11 : 0);
        c->scanned = c->rlen;
        if (end == 0)
            continue;
        if (!c->waiting || end != c->rlen) { /* unasked-for or more than one answer */
            st.errors++;
            c->rlen = 0;
            c->scanned = 0;
            if (!c->waiting)
                continue;
        }
        *t = now_ns();
        bool good = check_answer(c, end);
        c->waiting = false;
        if (good && *t >= st.t_start && *t <= st.t_end) { /* answered inside the window */
            h_add(&st.h, *t - c->t_send);
            st.done++;
            c->answered++;
            st.bytes += c->total;
            if (opt.count > 0 && st.done >= opt.count)
                st.t_end = *t; /* no request after this one */
        }
        c->seq++;
        return;
    }
}

static void on_event(struct channel *c, uint32_t ev, uint64_t t)
{
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
            ch_lost(c, err ? strerror(err) : "connect failed");
            return;
        }
        c->connected = true;
        if (t < st.t_end)
            ch_send(c, now_ns());
        return;
    }
    if (ev & EPOLLOUT) {
        if (ch_write(c))
            epoll_want(ep_fd, c->fd, &c->mask, EPOLLIN, c);
        else if (errno != EAGAIN) {
            ch_lost(c, "write failed");
            return;
        }
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        uint64_t ta = t;
        ch_read(c, &ta);
        if (c->fd >= 0 && !c->waiting && ta < st.t_end)
            ch_send(c, ta);
    }
}

static int client(void)
{
    static struct msg_template tpl[2];
    make_template(&tpl[0], strcmp(opt.kind, "mom") == 0 ? "mom" : "ro");
    if (strcmp(opt.kind, "alt") == 0)
        make_template(&tpl[1], "mom");
    struct channel *ch = calloc((size_t)opt.channels, sizeof(*ch));
    if (ch == NULL)
        die("calloc");
    ep_fd = epoll_create1(EPOLL_CLOEXEC);
    if (ep_fd < 0)
        die("epoll_create1");
    uint64_t t0 = now_ns();
    st.t_start = t0 + (uint64_t)(opt.warmup * 1e9);
    st.t_end = st.t_start + (uint64_t)(opt.duration * 1e9);
    for (int i = 0; i < opt.channels; i++) {
        ch[i].idx = i;
        ch[i].tpl = strcmp(opt.kind, "alt") == 0 && i % 2 ? &tpl[1] : &tpl[0];
        make_head(&ch[i]);
        ch_connect(&ch[i]);
    }
    struct epoll_event evs[256];
    uint64_t drain_until = st.t_end + 30000000000u; /* answers still due after the window */
    for (;;) {
        uint64_t t = now_ns();
        int busy = 0;
        for (int i = 0; i < opt.channels; i++) {
            if (ch[i].fd < 0 && t < st.t_end && t >= ch[i].retry_at)
                ch_connect(&ch[i]);
            busy += ch[i].waiting || (ch[i].fd >= 0 && !ch[i].connected);
        }
        if ((t >= st.t_end && busy == 0) || t >= drain_until)
            break;
        int n = epoll_wait(ep_fd, evs, 256, 50);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        t = now_ns();
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events, t);
    }
    uint64_t outstanding = 0;
    int answered = 0;
    for (int i = 0; i < opt.channels; i++)
        outstanding += ch[i].waiting, answered += ch[i].answered > 0;
    double secs = opt.duration;
    printf("{\"channels\":%d,\"ports\":%d,\"bytes_per_msg\":%.0f,\"seconds\":%.3f,\"messages\":%llu,"
           "\"msgs_per_s\":%.1f,\"MB_per_s\":%.2f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
           "\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%llu,\"mismatches\":%llu,\"nacks\":%llu,"
           "\"lost\":%llu,\"unanswered_at_end\":%llu,\"channels_answered\":%d}\n",
           opt.channels, opt.nports, st.done ? (double)st.bytes / (double)st.done : 0.0, secs,
           (unsigned long long)st.done, (double)st.done / secs, (double)st.bytes / secs / 1e6,
           h_pct_us(&st.h, 50), h_pct_us(&st.h, 90), h_pct_us(&st.h, 99), h_pct_us(&st.h, 99.9),
           (double)st.h.max / 1000.0, (unsigned long long)st.errors, (unsigned long long)st.mismatches,
           (unsigned long long)st.nacks, (unsigned long long)st.lost, (unsigned long long)outstanding,
           answered);
    return st.done > 0 ? 0 : 1;
}

/* ---- responder ---- */

struct conn {
    int fd;
    bool listener;
    uint8_t *buf;
    size_t len, cap, scanned;
    uint8_t *out;
    size_t out_len, out_sent;
    uint32_t mask; /* what epoll watches */
};

static size_t answer_for(const uint8_t *msg, size_t n, uint8_t **wire)
{
    char view[HEAD_CHARS + 1], mos[200] = "", ncs[200] = "", mid[64], name[64] = "", ans[800];
    ascii_of(msg, n, view, HEAD_CHARS);
    element(view, "mosID", mos, sizeof(mos));
    element(view, "ncsID", ncs, sizeof(ncs));
    bool has_id = element(view, "messageID", mid, sizeof(mid));
    message_name(view, name, sizeof(name));
    char idpart[100] = "";
    if (has_id)
        snprintf(idpart, sizeof(idpart), "<messageID>%s</messageID>", mid);
    const char *body;
    if (strcmp(name, "heartbeat") == 0)
        body = "<heartbeat><time>2026-01-01T00:00:00</time></heartbeat>";
    else if (strncmp(name, "ro", 2) == 0 || strcmp(name, "mosItemReplace") == 0)
        body = "<roAck><roID>BENCH-RO</roID><roStatus>OK</roStatus></roAck>";
    else
        body = "<mosAck><objID>BENCH-OBJ</objID><objRev>1</objRev><status>ACK</status>"
               "<statusDescription/></mosAck>";
    int k = snprintf(ans, sizeof(ans), "<mos><mosID>%s</mosID><ncsID>%s</ncsID>%s%s</mos>", mos, ncs, idpart,
                     body);
    *wire = ucs2(ans, (size_t)k);
    return 2 * (size_t)k;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->buf);
    free(c->out);
    free(c);
}

/* Sends what is pending; false when the connection is gone. */
static bool conn_flush(struct conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (w < 0) {
            if (errno == EAGAIN) {
                epoll_want(ep_fd, c->fd, &c->mask, EPOLLIN | EPOLLOUT, c);
                return true;
            }
            return false;
        }
        c->out_sent += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_sent = 0;
    epoll_want(ep_fd, c->fd, &c->mask, EPOLLIN, c);
    return true;
}

static bool conn_read(struct conn *c)
{
    for (;;) {
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? 2 * c->cap : 131072;
            if (c->cap > (256u << 20))
                return false;
            c->buf = realloc(c->buf, c->cap);
            if (c->buf == NULL)
                die("realloc");
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return false;
        if (r < 0)
            return true;
        c->len += (size_t)r;
        size_t end;
        while ((end = find_end(c->buf, c->len, c->scanned > 11 ? c->scanned - 11 : 0)) != 0) {
            uint8_t *wire;
            size_t wn = answer_for(c->buf, end, &wire);
            memmove(c->buf, c->buf + end, c->len - end);
            c->len -= end;
            c->scanned = 0;
            if (c->out != NULL) { /* a pipelining peer: queue behind what is pending */
                c->out = realloc(c->out, c->out_len + wn);
                if (c->out == NULL)
                    die("realloc");
                memcpy(c->out + c->out_len, wire, wn);
                c->out_len += wn;
                free(wire);
            } else {
                c->out = wire, c->out_len = wn, c->out_sent = 0;
            }
            if (!conn_flush(c))
                return false;
        }
        c->scanned = c->len;
    }
}

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig, stopping = 1; }

static int respond(void)
{
    ep_fd = epoll_create1(EPOLL_CLOEXEC);
    if (ep_fd < 0)
        die("epoll_create1");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    for (int i = 0; i < opt.nports; i++) {
        struct conn *l = calloc(1, sizeof(*l));
        if (l == NULL)
            die("calloc");
        l->listener = true;
        l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a = addr_of(opt.host, opt.ports[i]);
        if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l->fd, 1024) != 0)
            die("listen");
        epoll_set(ep_fd, EPOLL_CTL_ADD, l->fd, EPOLLIN, l);
    }
    printf("{\"event\":\"listening\",\"ports\":%d}\n", opt.nports);
    fflush(stdout);
    struct epoll_event evs[256];
    while (!stopping) {
        int n = epoll_wait(ep_fd, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->listener) {
                int fd;
                while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *k = calloc(1, sizeof(*k));
                    if (k == NULL)
                        die("calloc");
                    k->fd = fd;
                    k->mask = EPOLLIN;
                    epoll_set(ep_fd, EPOLL_CTL_ADD, fd, EPOLLIN, k);
                }
                continue;
            }
            bool alive = true;
            if (evs[i].events & EPOLLOUT)
                alive = conn_flush(c);
            if (alive && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                alive = conn_read(c);
            if (!alive) {
                epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
                conn_close(c);
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    bool is_client = strcmp(argv[1], "client") == 0;
    if (!is_client && strcmp(argv[1], "respond") != 0)
        usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        i++;
        if (!strcmp(a, "--port"))
            opt.nports = parse_ports(v, opt.ports);
        else if (!strcmp(a, "--host"))
            opt.host = v;
        else if (!strcmp(a, "--channels"))
            opt.channels = atoi(v);
        else if (!strcmp(a, "--size"))
            opt.size = atol(v);
        else if (!strcmp(a, "--file"))
            opt.file = v;
        else if (!strcmp(a, "--kind"))
            opt.kind = v;
        else if (!strcmp(a, "--duration"))
            opt.duration = atof(v);
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atof(v);
        else if (!strcmp(a, "--id-base"))
            opt.id_base = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--mos-id"))
            opt.mos_id = v;
        else if (!strcmp(a, "--ncs-id"))
            opt.ncs_id = v;
        else if (!strcmp(a, "--count"))
            opt.count = strtoull(v, NULL, 10);
        else
            usage();
    }
    if (opt.nports == 0)
        usage();
    if (!is_client)
        return respond();
    if (opt.channels < 1 || opt.duration <= 0 || opt.warmup < 0 || opt.id_base < 1 ||
        (opt.size <= 0) == (opt.file == NULL) ||
        (strcmp(opt.kind, "ro") && strcmp(opt.kind, "mom") && strcmp(opt.kind, "alt")))
        usage();
    return client();
}
