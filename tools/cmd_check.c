/* castgate check — audit an endpoint: `check tls` against BCP-003-01. Prints
 * a table (coloured only on a terminal) or --json; exit 0 only when nothing
 * fails, 1 when something fails, 2 on usage or when the check cannot run. */
#include "commands.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <castgate/check.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: castgate check tls https://HOST[:PORT][/PATH] [OPTIONS]\n"
        "Audits an HTTPS/wss endpoint against BCP-003-01; every finding names its B-xx rule.\n"
        "  --ca FILE          PEM root(s) the server's chain must reach (default: system roots)\n"
        "  --json             one JSON object instead of the table\n"
        "  --timeout MS       per connection step (default 3000)\n"
        "  --allow-wildcard   a wildcard name in the certificate warns instead of failing (B-11)\n"
        "  --allow-ip         an IP address in the certificate warns instead of failing (B-11)\n"
        "  --no-http          leave out the HTTP rules (B-20..B-25)\n"
        "  --dnssd INSTANCE   the SRV target of this DNS-SD instance must be a name in every\n"
        "                     certificate (B-40, B-42), e.g. gw._mos._tcp.example.com\n"
        "  --dns-server IP[:PORT]  unicast DNS server for --dnssd (default: /etc/resolv.conf)\n"
        "Exit status: 0 nothing fails, 1 a finding fails, 2 usage error or endpoint unreachable.\n");
}

static void print_json(const char *url, const struct cg_check_report *r, size_t fails)
{
    printf("{\"url\":");
    tool_json_string(url);
    printf(",\"ms\":%lu,\"fail\":%zu,\"findings\":[", cg_check_report_ms(r), fails);
    for (size_t i = 0; i < cg_check_report_count(r); i++) {
        const struct cg_check_finding *f = cg_check_report_get(r, i);
        printf("%s{\"id\":", i ? "," : "");
        tool_json_string(f->id);
        printf(",\"verdict\":\"%s\",\"what\":", cg_check_verdict_name(f->verdict));
        tool_json_string(f->what);
        printf(",\"evidence\":");
        tool_json_string(f->evidence);
        printf("}");
    }
    printf("]}\n");
}

static void print_table(const char *url, const struct cg_check_report *r, size_t fails)
{
    bool tty = isatty(STDOUT_FILENO) == 1 && !getenv("NO_COLOR");
    static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m"};
    size_t n = cg_check_report_count(r), warns = 0;
    printf("castgate check tls %s\n\n%-5s %-4s  %-52s %s\n", url, "rule", "", "check", "evidence");
    for (size_t i = 0; i < n; i++) {
        const struct cg_check_finding *f = cg_check_report_get(r, i);
        warns += f->verdict == CG_CHECK_WARN;
        printf("%-5s %s%-4s%s  %-52s %s\n", f->id, tty ? col[f->verdict] : "",
               cg_check_verdict_name(f->verdict), tty ? "\033[0m" : "", f->what, f->evidence);
    }
    printf("\n%zu checks: %zu pass, %zu warn, %zu fail (%lu ms)\n", n, n - warns - fails, warns,
           fails, cg_check_report_ms(r));
}

enum { O_CA = 1, O_JSON, O_TIMEOUT, O_WILD, O_IP, O_NOHTTP, O_DNSSD, O_DNS };
static const struct option longopts[] = {
    {"ca", required_argument, 0, O_CA},         {"json", no_argument, 0, O_JSON},
    {"timeout", required_argument, 0, O_TIMEOUT}, {"allow-wildcard", no_argument, 0, O_WILD},
    {"allow-ip", no_argument, 0, O_IP},         {"no-http", no_argument, 0, O_NOHTTP},
    {"dnssd", required_argument, 0, O_DNSSD},   {"dns-server", required_argument, 0, O_DNS},
    {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
};

static int check_tls(int argc, char **argv)
{
    struct cg_check_tls_opts o = {0};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_CA: o.ca_file = optarg; break;
        case O_JSON: json = true; break;
        case O_TIMEOUT: o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_WILD: o.allow_wildcard = true; break;
        case O_IP: o.allow_ip = true; break;
        case O_NOHTTP: o.skip_http = true; break;
        case O_DNSSD: o.dnssd_instance = optarg; break;
        case O_DNS: o.dns_server = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o.url = argv[optind];
    struct cg_check_report *r = NULL;
    enum cg_err rc = cg_check_tls(NULL, &o, &r);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate check tls %s: %s\n", o.url, cg_strerror(rc));
        return 2;
    }
    size_t fails = 0;
    for (size_t i = 0; i < cg_check_report_count(r); i++)
        fails += cg_check_report_get(r, i)->verdict == CG_CHECK_FAIL;
    if (json)
        print_json(o.url, r, fails);
    else
        print_table(o.url, r, fails);
    cg_check_report_free(r);
    return fails ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "tls") == 0)
        return check_tls(argc - 1, argv + 1);
    fprintf(stderr, "castgate check: unknown check '%s' (tls)\n", argv[1]);
    return 2;
}
