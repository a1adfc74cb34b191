/* castgate check — audit an endpoint: `check tls` against BCP-003-01,
 * `check mos4` against the MOS 4.0 rules (M-xx). Prints
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
        "Exit status: 0 nothing fails, 1 a finding fails, 2 usage error or endpoint unreachable.\n"
        "\n"
        "usage: castgate check mos4 wss://HOST:PORT/PATH --as ncs|device --mos-id ID --ncs-id ID\n"
        "                           [OPTIONS]\n"
        "Plays the NCS (--as ncs: the peer is a MOS device) or the device (--as device) against a\n"
        "MOS 4.0 endpoint; every finding names its M-xx rule. Read-only unless --write.\n"
        "  --user U           HTTP Basic user (M-05); the password is read from --password-file\n"
        "                     or the environment variable CASTGATE_CHECK_PASSWORD, never argv\n"
        "  --password-file F  first line of F is the password\n"
        "  --ca FILE          PEM root(s) the peer's chain must reach (default: system roots)\n"
        "  --profiles LIST    profiles to exchange, e.g. 0,1,2 (default; 0..4 known)\n"
        "  --channels LIST    mom,ro,aux (default mom,ro, plus aux for profile 3)\n"
        "  --passive          also dial passive=true per channel (M-08); the peer must be\n"
        "                     configured for passive mode\n"
        "  --write            also create, retry and delete a test running order\n"
        "                     (roID castgate-check-RO) on the peer\n"
        "  --listen ADDR:PORT --cert CHAIN --key KEY [--accept-wait MS]\n"
        "                     M-08 the other way, for a peer configured passive-inside: listen\n"
        "                     (wss, on the URL's path; URL is the one the peer dials) until it\n"
        "                     dials passive=true, then originate heartbeat/reqMachInfo on it\n"
        "                     (waits 10000 ms by default); only these findings are made\n"
        "  --timeout MS       per answer awaited (default 5000)\n"
        "  --quiet MS         silence that proves a keepAlive unanswered (default 1500)\n"
        "  --json             one JSON object instead of the table\n");
}

static void print_json(const char *what, const char *url, const struct cg_check_report *r, size_t fails)
{
    printf("{\"check\":\"%s\",\"url\":", what);
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

static void print_table(const char *what, const char *url, const struct cg_check_report *r,
                        size_t fails)
{
    bool tty = isatty(STDOUT_FILENO) == 1 && !getenv("NO_COLOR");
    static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m"};
    size_t n = cg_check_report_count(r), warns = 0;
    printf("castgate check %s %s\n\n%-5s %-4s  %-52s %s\n", what, url, "rule", "", "check",
           "evidence");
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

/* Prints and frees r; the exit status. */
static int report(struct cg_check_report *r, const char *what, const char *url, bool json)
{
    size_t fails = 0;
    for (size_t i = 0; i < cg_check_report_count(r); i++)
        fails += cg_check_report_get(r, i)->verdict == CG_CHECK_FAIL;
    if (json)
        print_json(what, url, r, fails);
    else
        print_table(what, url, r, fails);
    cg_check_report_free(r);
    return fails ? 1 : 0;
}

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
    return report(r, "tls", o.url, json);
}

/* The first line of a file, or NULL. */
static char *read_line(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[512];
    if (!f)
        return NULL;
    char *l = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!l)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    char *p = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return p;
}

/* "0,1,2" -> bits; "mom,ro" -> channel bits. 0 on a bad list. */
static unsigned parse_list(const char *s, bool chans)
{
    unsigned bits = 0;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s", s);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (chans) {
            unsigned b = strcmp(t, "mom") == 0 ? 1u : strcmp(t, "ro") == 0 ? 2u
                       : strcmp(t, "aux") == 0 ? 4u : 0u;
            if (!b)
                return 0;
            bits |= b;
        } else {
            if (t[0] < '0' || t[0] > '4' || t[1])
                return 0;
            bits |= 1u << (t[0] - '0');
        }
    }
    return bits;
}

enum { M_AS = 1, M_MOS, M_NCS, M_USER, M_PWF, M_CA, M_PROF, M_CHAN, M_PASSIVE, M_WRITE,
       M_TIMEOUT, M_QUIET, M_JSON, M_LISTEN, M_CERT, M_KEY, M_ACCEPT };
static const struct option mos4opts[] = {
    {"as", required_argument, 0, M_AS},          {"mos-id", required_argument, 0, M_MOS},
    {"ncs-id", required_argument, 0, M_NCS},     {"user", required_argument, 0, M_USER},
    {"password-file", required_argument, 0, M_PWF}, {"ca", required_argument, 0, M_CA},
    {"profiles", required_argument, 0, M_PROF},  {"channels", required_argument, 0, M_CHAN},
    {"passive", no_argument, 0, M_PASSIVE},      {"write", no_argument, 0, M_WRITE},
    {"timeout", required_argument, 0, M_TIMEOUT}, {"quiet", required_argument, 0, M_QUIET},
    {"json", no_argument, 0, M_JSON},            {"listen", required_argument, 0, M_LISTEN},
    {"cert", required_argument, 0, M_CERT},      {"key", required_argument, 0, M_KEY},
    {"accept-wait", required_argument, 0, M_ACCEPT}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int check_mos4(int argc, char **argv)
{
    struct cg_check_mos4_opts o = {.as = -1};
    const char *pwfile = NULL;
    bool json = false, bad = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", mos4opts, NULL)) != -1) {
        switch (c) {
        case M_AS:
            o.as = strcmp(optarg, "ncs") == 0 ? CG_CHECK_AS_NCS
                 : strcmp(optarg, "device") == 0 ? CG_CHECK_AS_DEVICE : (bad = true, 0);
            break;
        case M_MOS: o.mos_id = optarg; break;
        case M_NCS: o.ncs_id = optarg; break;
        case M_USER: o.user = optarg; break;
        case M_PWF: pwfile = optarg; break;
        case M_CA: o.ca_file = optarg; break;
        case M_PROF: bad |= (o.profiles = parse_list(optarg, false)) == 0; break;
        case M_CHAN: bad |= (o.channels = parse_list(optarg, true)) == 0; break;
        case M_PASSIVE: o.passive = true; break;
        case M_WRITE: o.write = true; break;
        case M_TIMEOUT: o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case M_QUIET: o.quiet_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case M_JSON: json = true; break;
        case M_LISTEN: o.listen = optarg; break;
        case M_CERT: o.cert_chain = optarg; break;
        case M_KEY: o.cert_key = optarg; break;
        case M_ACCEPT: o.accept_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    bad |= o.listen && (!o.cert_chain || !o.cert_key);
    if (bad || optind != argc - 1 || (int)o.as < 0 || !o.mos_id || !o.ncs_id) {
        usage(stderr);
        return 2;
    }
    o.url = argv[optind];
    char *pw = NULL;
    if (o.user) { /* M-05: never from argv, where ps would show it */
        const char *env = getenv("CASTGATE_CHECK_PASSWORD");
        pw = pwfile ? read_line(pwfile) : env ? strdup(env) : NULL;
        if (!pw) {
            fprintf(stderr, "castgate check mos4: --user needs --password-file or "
                            "CASTGATE_CHECK_PASSWORD\n");
            return 2;
        }
        o.password = pw;
    }
    struct cg_check_report *r = NULL;
    enum cg_err rc = cg_check_mos4(NULL, &o, &r);
    if (pw) {
        memset(pw, 0, strlen(pw));
        free(pw);
    }
    if (rc != CG_OK) {
        fprintf(stderr, "castgate check mos4 %s: %s\n", o.url, cg_strerror(rc));
        return 2;
    }
    return report(r, "mos4", o.url, json);
}

int cmd_check(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "tls") == 0)
        return check_tls(argc - 1, argv + 1);
    if (strcmp(argv[1], "mos4") == 0)
        return check_mos4(argc - 1, argv + 1);
    fprintf(stderr, "castgate check: unknown check '%s' (tls, mos4)\n", argv[1]);
    return 2;
}
