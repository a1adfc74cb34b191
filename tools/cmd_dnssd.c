/* castgate discover / castgate dnssd {register,zone}: DNS-SD from the command
 * line, on the public API (include/castgate/dnssd.h). */
#include "commands.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <castgate/dnssd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_LIST 32

struct reg_args {
    struct cg_dnssd_opts o;
    const char *txt[MAX_LIST], *sub[MAX_LIST], *ifs[MAX_LIST];
    int once, verbose;
};

static const char reg_usage[] =
    "usage: castgate dnssd register|zone --domain D --instance NAME --type _mos._tcp\n"
    "                --host H --port P [--server IP[:PORT] | --resolver IP[:PORT]]\n"
    "                [--txt k=v]... [--subtype _x]...\n"
    "                [--tsig-key FILE] [--cert PEM] [--ttl S] [--refresh S] [--priority N]\n"
    "                [--weight N] [--mdns-interface IF]... [--timeout MS] [--once] [-v]\n"
    "\n"
    "register  adds the DNS-SD records (PTR, SRV, TXT) to --server by DNS UPDATE (RFC 2136),\n"
    "          signed with the TSIG key in FILE (BIND key file, mode 0600) if given, keeps\n"
    "          them fresh (SIGHUP: re-register now), and withdraws them on SIGINT/SIGTERM.\n"
    "          --cert refuses a host name the certificate does not carry (BCP-003-01\n"
    "          B-42). Without --server, the zone's\n"
    "          primary (SOA MNAME) is found through --resolver (or /etc/resolv.conf) and\n"
    "          updated on the resolver's port. Only with no DNS server configured at all is\n"
    "          multicast DNS (Avahi) used, on the --mdns-interface interfaces only (B-41). --once\n"
    "          exits after the first outcome (0 registered, 1 failed), leaving the records.\n"
    "zone      prints the same records as zone-file lines, for a static zone.\n";

static const char discover_usage[] =
    "usage: castgate discover TYPE --domain D [--server IP[:PORT]] [--instance NAME]\n"
    "                [--timeout MS] [-v]\n"
    "\n"
    "Lists the instances of TYPE (e.g. _mos._tcp) in domain D by unicast DNS queries\n"
    "(PTR, SRV, TXT, A/AAAA) and prints them as JSON. Without --server, the first\n"
    "nameserver in /etc/resolv.conf is asked. Host names keep their trailing dot.\n";

static int add_list(const char **list, size_t *n, const char *v)
{
    if (*n >= MAX_LIST) {
        fprintf(stderr, "castgate: too many values (at most %d)\n", MAX_LIST);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

static int num(const char *s, unsigned long max, unsigned long *out)
{
    char *e = NULL;
    unsigned long v = strtoul(s, &e, 10);
    if (s[0] < '0' || s[0] > '9' || *e != '\0' || v > max) {
        fprintf(stderr, "castgate: '%s' is not a number up to %lu\n", s, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* One option with a value; returns 1 if consumed, 0 if unknown, -1 on error. */
static int reg_opt(struct reg_args *a, const char *k, const char *v)
{
    struct cg_dnssd_opts *o = &a->o;
    unsigned long n = 0;
    const char **strs[] = {&o->server, &o->domain, &o->instance, &o->type,
                           &o->host, &o->tsig_key_file, &o->cert_file, &o->resolver};
    static const char *const names[] = {"--server", "--domain", "--instance", "--type",
                                        "--host", "--tsig-key", "--cert", "--resolver"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(k, names[i]) == 0) {
            *strs[i] = v;
            return 1;
        }
    if (strcmp(k, "--txt") == 0)
        return add_list(a->txt, &o->ntxt, v) == 0 ? 1 : -1;
    if (strcmp(k, "--subtype") == 0)
        return add_list(a->sub, &o->nsubtypes, v) == 0 ? 1 : -1;
    if (strcmp(k, "--mdns-interface") == 0)
        return add_list(a->ifs, &o->nmdns_interfaces, v) == 0 ? 1 : -1;
    static const char *const nums[] = {"--port", "--ttl", "--refresh", "--priority", "--weight",
                                       "--timeout"};
    static const unsigned long max[] = {65535, 86400 * 7, 86400, 65535, 65535, 60000};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(k, nums[i]) != 0)
            continue;
        if (num(v, max[i], &n) != 0)
            return -1;
        switch (i) {
        case 0: o->port = (uint16_t)n; break;
        case 1: o->ttl = (uint32_t)n; break;
        case 2: o->refresh_s = (uint32_t)n; break;
        case 3: o->priority = (uint16_t)n; break;
        case 4: o->weight = (uint16_t)n; break;
        default: o->timeout_ms = (uint32_t)n; break;
        }
        return 1;
    }
    return 0;
}

static int parse_reg(int argc, char **argv, struct reg_args *a)
{
    memset(a, 0, sizeof(*a));
    a->o.txt = a->txt;
    a->o.subtypes = a->sub;
    a->o.mdns_interfaces = a->ifs;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            a->once = 1;
            continue;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            a->verbose = 1;
            continue;
        }
        int r = i + 1 < argc ? reg_opt(a, argv[i], argv[i + 1]) : 0;
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "castgate: unknown or incomplete option '%s'\n%s", argv[i],
                    reg_usage);
            return 2;
        }
        i++;
    }
    if (a->o.domain == NULL || a->o.instance == NULL || a->o.type == NULL ||
        a->o.host == NULL || a->o.port == 0) {
        fprintf(stderr, "castgate: --domain, --instance, --type, --host and --port are needed\n%s",
                reg_usage);
        return 2;
    }
    return 0;
}

/* ---- register ---- */

struct reg_run {
    struct cg_ctx *ctx;
    struct cg_dnssd *d;
    uv_signal_t sigint, sigterm, sighup;
    int once, status, withdrawing;
};

static void close_signals(struct reg_run *r)
{
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->sighup, NULL);
}

static void on_withdrawn(void *user, enum cg_err err)
{
    struct reg_run *r = user;
    r->status = err == CG_OK ? 0 : 1;
    close_signals(r);
    cg_ctx_stop(r->ctx);
}

static void on_state(void *user, enum cg_dnssd_state st, enum cg_err err)
{
    struct reg_run *r = user;
    if (!r->once || r->withdrawing)
        return;
    if (st == CG_DNSSD_REGISTERED || st == CG_DNSSD_RETRYING) {
        r->status = st == CG_DNSSD_REGISTERED ? 0 : 1;
        if (err != CG_OK)
            fprintf(stderr, "castgate: registration failed: %s\n", cg_strerror(err));
        close_signals(r);
        cg_ctx_stop(r->ctx);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct reg_run *r = s->data;
    (void)signum;
    if (r->withdrawing)
        return;
    r->withdrawing = 1;
    if (cg_dnssd_withdraw(r->d, on_withdrawn, r) != CG_OK)
        on_withdrawn(r, CG_ESTATE);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    struct reg_run *r = s->data;
    (void)signum;
    if (!r->withdrawing)
        (void)cg_dnssd_refresh(r->d); /* re-register now */
}

static int run_register(struct reg_args *a)
{
    struct reg_run r = {.once = a->once, .status = 1};
    a->o.keep_on_free = a->once;
    if (cg_ctx_new(&r.ctx) != CG_OK)
        return 1;
    cg_ctx_set_log(r.ctx, cg_log_stderr, NULL, a->verbose ? CG_LOG_DEBUG : CG_LOG_INFO);
    enum cg_err rc = cg_dnssd_new(r.ctx, &a->o, on_state, &r, &r.d);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate: cannot register: %s\n", cg_strerror(rc));
        cg_ctx_free(r.ctx);
        return 1;
    }
    uv_loop_t *loop = cg_ctx_loop(r.ctx);
    uv_signal_init(loop, &r.sigint);
    uv_signal_init(loop, &r.sigterm);
    uv_signal_init(loop, &r.sighup);
    r.sigint.data = r.sigterm.data = r.sighup.data = &r;
    uv_signal_start(&r.sigint, on_signal, SIGINT);
    uv_signal_start(&r.sigterm, on_signal, SIGTERM);
    uv_signal_start(&r.sighup, on_sighup, SIGHUP);
    cg_ctx_run(r.ctx);
    cg_dnssd_free(r.d);
    cg_ctx_free(r.ctx);
    return r.status;
}

static int run_zone(struct reg_args *a)
{
    char *text = NULL;
    if (a->o.cert_file != NULL && cg_dnssd_check_host(NULL, a->o.host, a->o.cert_file) != CG_OK) {
        fprintf(stderr, "castgate: host '%s' is not a name in %s (BCP-003-01 B-42)\n", a->o.host,
                a->o.cert_file);
        return 1;
    }
    enum cg_err rc = cg_dnssd_zone_text(&a->o, &text);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate: %s\n", cg_strerror(rc));
        return 1;
    }
    fputs(text, stdout);
    cg_dnssd_text_free(text);
    return 0;
}

int cmd_dnssd(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(reg_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(reg_usage, stdout);
            return 0;
        }
    bool reg = strcmp(argv[1], "register") == 0;
    if (!reg && strcmp(argv[1], "zone") != 0) {
        fprintf(stderr, "castgate dnssd: unknown action '%s'\n%s", argv[1], reg_usage);
        return 2;
    }
    struct reg_args a;
    int st = parse_reg(argc - 2, argv + 2, &a);
    if (st != 0)
        return st;
    return reg ? run_register(&a) : run_zone(&a);
}

/* ---- discover ---- */

static void print_txt(const struct cg_dnssd_instance *in)
{
    printf("\"txt\":{");
    for (size_t j = 0; j < in->ntxt; j++) {
        const char *eq = strchr(in->txt[j], '=');
        char key[256];
        size_t kl = eq != NULL ? (size_t)(eq - in->txt[j]) : strlen(in->txt[j]);
        snprintf(key, sizeof(key), "%.*s", (int)kl, in->txt[j]);
        printf(j ? "," : "");
        tool_json_string(key);
        if (eq != NULL) {
            putchar(':');
            tool_json_string(eq + 1);
        } else {
            printf(":true");
        }
    }
    printf("}");
}

struct disc_run {
    struct cg_ctx *ctx;
    const char *type, *domain;
    int status;
};

static void on_found(void *user, enum cg_err err, const struct cg_dnssd_instance *v, size_t n)
{
    struct disc_run *r = user;
    cg_ctx_stop(r->ctx);
    if (err != CG_OK) {
        fprintf(stderr, "castgate: discover failed: %s\n", cg_strerror(err));
        return;
    }
    r->status = 0;
    printf("{\"type\":");
    tool_json_string(r->type);
    printf(",\"domain\":");
    tool_json_string(r->domain);
    printf(",\"instances\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"name\":", i ? "," : "");
        tool_json_string(v[i].name);
        printf(",\"host\":");
        tool_json_string(v[i].host);
        printf(",\"port\":%u,\"priority\":%u,\"weight\":%u,", v[i].port, v[i].priority,
               v[i].weight);
        print_txt(&v[i]);
        printf(",\"addresses\":[");
        for (size_t j = 0; j < v[i].naddrs; j++) {
            printf(j ? "," : "");
            tool_json_string(v[i].addrs[j]);
        }
        printf("]}");
    }
    printf("]}\n");
}

int cmd_discover(int argc, char **argv)
{
    struct cg_dnssd_browse_opts o = {0};
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n = 0;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            fputs(discover_usage, stdout);
            return 0;
        } else if (strcmp(k, "-v") == 0 || strcmp(k, "--verbose") == 0) {
            verbose = 1;
            continue;
        } else if (k[0] != '-' && o.type == NULL) {
            o.type = k;
            continue;
        } else if (v != NULL && strcmp(k, "--domain") == 0) {
            o.domain = v;
        } else if (v != NULL && strcmp(k, "--server") == 0) {
            o.server = v;
        } else if (v != NULL && strcmp(k, "--instance") == 0) {
            o.instance = v;
        } else if (v != NULL && strcmp(k, "--timeout") == 0 && num(v, 60000, &n) == 0) {
            o.timeout_ms = (uint32_t)n;
        } else {
            fprintf(stderr, "castgate: bad option '%s'\n%s", k, discover_usage);
            return 2;
        }
        i++;
    }
    if (o.type == NULL || o.domain == NULL) {
        fprintf(stderr, "castgate: TYPE and --domain are needed\n%s", discover_usage);
        return 2;
    }
    struct disc_run r = {.type = o.type, .domain = o.domain, .status = 1};
    struct cg_dnssd_browse *b = NULL;
    if (cg_ctx_new(&r.ctx) != CG_OK)
        return 1;
    cg_ctx_set_log(r.ctx, cg_log_stderr, NULL, verbose ? CG_LOG_DEBUG : CG_LOG_WARN);
    enum cg_err rc = cg_dnssd_browse_new(r.ctx, &o, on_found, &r, &b);
    if (rc != CG_OK)
        fprintf(stderr, "castgate: discover: %s\n", cg_strerror(rc));
    else
        cg_ctx_run(r.ctx);
    cg_dnssd_browse_free(b);
    cg_ctx_free(r.ctx);
    return r.status;
}
