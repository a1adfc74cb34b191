/* The [pair] section of the gateway file (issue 18, docs/redundancy.md "The
 * gateway pair"; tools/mos_config.c): read through the option table like
 * every other section, its defaults, paths taken from the file's folder,
 * one file for both machines but for node, and every rule of the check with
 * the file and line it names. The tool's sources are compiled in here, as
 * test_options.c does (they are not part of the library). */
/* first: cmocka's fail() macro would rename the reader's fail() */
#include "../../tools/mos_config.c"
#include "../../tools/mos_config_doc.c"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A gateway that journals, has a certificate and one link: what a pair
 * needs besides [pair]. */
static const char GATEWAY[] = "[gateway]\n"
                              "state_dir = state\n"
                              "journal = yes\n"
                              "cert = chain.pem key.pem\n"
                              "[link studio]\n"
                              "legacy = ncs\n"
                              "ncs_id = NCS.MAIN\n"
                              "mos_id = GFX.A\n"
                              "legacy_listen = 127.0.0.1:10540,10541\n"
                              "url = wss://127.0.0.1:1/mos/Communication\n";

/* The [pair] of both machines: node 0 reads peer and what goes with it,
 * node 1 listen and credentials. */
static const char BOTH[] = "listen = 127.0.0.1:8444\n"
                           "credentials = pair.htpasswd\n"
                           "peer = wss://gw-n2.example:8444/castgate/pair\n"
                           "pin = 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                           "user = pair\n"
                           "password_file = private/pair.pw\n";

static char g_dir[] = "/tmp/cg_test_pair_config_XXXXXX";

/* Loads text as a gateway file in g_dir; returns gwconf_load's result and
 * what it printed on stderr. */
static int load(const char *text, struct gwconf *c, char *err, size_t size)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/gw.conf", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct tu_stderr cap;
    tu_stderr_begin(&cap);
    int rc = gwconf_load(path, c);
    tu_stderr_end(&cap, err, size);
    unlink(path);
    return rc;
}

/* GATEWAY, then "[pair]" and pair_lines, then more (a section after). */
static char *compose(const char *gateway, const char *pair_lines, const char *more)
{
    size_t n = strlen(gateway) + strlen(pair_lines) + strlen(more) + 16;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s[pair]\n%s%s", gateway, pair_lines, more);
    return s;
}

/* The line (from 1) of the first line of text that starts with start. */
static int line_of(const char *text, const char *start)
{
    int line = 1;
    for (const char *p = text; *p != '\0'; line++) {
        if (strncmp(p, start, strlen(start)) == 0)
            return line;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    fail_msg("no line starts with %s", start);
    return -1;
}

/* Loads text and wants it refused with "gw.conf:LINE: why" (LINE: the line
 * that starts with at). */
static void refused(const char *text, const char *at, const char *why)
{
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024], want[512];
    assert_non_null(c);
    snprintf(want, sizeof(want), "gw.conf:%d: %s", line_of(text, at), why);
    int rc = load(text, c, err, sizeof(err));
    if (rc == 0 || strstr(err, want) == NULL)
        fail_msg("wanted \"%s\", got rc %d and \"%s\"\nfile:\n%s", want, rc, err, text);
    gwconf_free(c);
    free(c);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(g_dir);
}

/* Without [pair] a gateway is on its own; the pair's defaults are set all
 * the same (so a file that adds [pair] later gets them). */
static void test_no_pair(void **state)
{
    (void)state;
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024];
    assert_int_equal(load(GATEWAY, c, err, sizeof(err)), 0);
    assert_int_equal(c->pair.present, 0);
    assert_int_equal(c->pair.node, -1);
    assert_int_equal(c->pair.heartbeat_ms, 200);
    gwconf_free(c);
    free(c);
}

/* One file for both machines but for node: each loads it; the values,
 * defaults and paths from the file's folder. */
static void test_both_nodes_one_file(void **state)
{
    (void)state;
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024], want[400];
    for (int node = 0; node < 2; node++) {
        char lines[1024];
        snprintf(lines, sizeof(lines), "node = %d\n%sactive_file = run/studio.active\n", node, BOTH);
        char *text = compose(GATEWAY, lines, "");
        if (load(text, c, err, sizeof(err)) != 0)
            fail_msg("node %d refused: %s", node, err);
        assert_int_equal(c->pair.present, 1);
        assert_int_equal(c->pair.node, node);
        assert_int_equal(c->pair.line, line_of(text, "[pair]"));
        assert_string_equal(c->pair.listen, "127.0.0.1:8444");
        assert_string_equal(c->pair.path, "/castgate/pair");
        assert_string_equal(c->pair.peer, "wss://gw-n2.example:8444/castgate/pair");
        assert_string_equal(c->pair.user, "pair");
        snprintf(want, sizeof(want), "%s/private/pair.pw", g_dir);
        assert_string_equal(c->pair.password_file, want);
        snprintf(want, sizeof(want), "%s/pair.htpasswd", g_dir);
        assert_string_equal(c->pair.credentials, want);
        snprintf(want, sizeof(want), "%s/run/studio.active", g_dir);
        assert_string_equal(c->pair.active_file, want);
        assert_int_equal(c->pair.heartbeat_ms, 200);
        assert_int_equal(c->pair.takeover_after_ms, 1000);
        assert_int_equal(c->pair.strict, 0);
        assert_int_equal(c->nlinks, 1); /* the link is still read */
        gwconf_free(c);
        free(text);
    }
    free(c);
}

/* Each node needs only its own keys; the timing and strict are read. */
static void test_each_node_its_own_keys(void **state)
{
    (void)state;
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024];
    char *n0 = compose(GATEWAY, "node = 0\npeer = wss://10.1.0.12:8444/castgate/pair\n"
                                "user = pair\npassword_file = /etc/castgate/pair.pw\n"
                                "heartbeat_ms = 50\ntakeover_after_ms = 101\nstrict = yes\n", "");
    if (load(n0, c, err, sizeof(err)) != 0)
        fail_msg("node 0 refused: %s", err);
    assert_int_equal(c->pair.heartbeat_ms, 50);
    assert_int_equal(c->pair.takeover_after_ms, 101);
    assert_int_equal(c->pair.strict, 1);
    assert_string_equal(c->pair.listen, "");
    gwconf_free(c);
    /* node 1 needs no peer; a [link] after [pair] is still a link */
    char *n1 = compose(GATEWAY, "node = 1\nlisten = [::1]:8444\ncredentials = /etc/castgate/p\n",
                       "[link second]\nlegacy = ncs\nncs_id = NCS.MAIN\nmos_id = GFX.B\n"
                       "legacy_dial = 127.0.0.1:10540,10541\nurl = wss://127.0.0.1:1/mos\n");
    if (load(n1, c, err, sizeof(err)) != 0)
        fail_msg("node 1 refused: %s", err);
    assert_int_equal(c->pair.node, 1);
    assert_string_equal(c->pair.listen, "[::1]:8444");
    assert_int_equal(c->nlinks, 2);
    gwconf_free(c);
    free(n0);
    free(n1);
    free(c);
}

/* Every rule, with the line it names: the value's line for a value, the
 * [pair] header's for what the section lacks. */
static void test_refusals(void **state)
{
    (void)state;
    static const char N0[] = "node = 0\npeer = wss://h:1/castgate/pair\nuser = u\npassword_file = /p\n";
    static const struct {
        const char *lines, *at, *why;
    } cases[] = {
        {"listen = 127.0.0.1:8444\n", "[pair]", "[pair] needs node = 0 or 1"},
        {"node = 2\n", "node", "node must be 0 or 1: 2"},
        {"node = zero\n", "node", "node must be 0 or 1: zero"},
        {"heartbeat_ms = 9\n", "heartbeat_ms", "heartbeat_ms must be 10..60000: 9"},
        {"takeover_after_ms = 600001\n", "takeover_after_ms",
         "takeover_after_ms must be 30..600000: 600001"},
        {"strict = maybe\n", "strict", "expected yes or no: maybe"},
        {"url = wss://h:1/x\n", "url = wss://h:1/x", "unknown option: url"},
        {"node = 0\nheartbeat_ms = 500\n", "[pair]",
         "[pair] takeover_after_ms must be more than 2 x heartbeat_ms"},
        {"node = 0\npath = castgate/pair\n", "[pair]", "[pair] path must start with /"},
        /* node 0 dials */
        {"node = 0\nuser = u\npassword_file = /p\n", "[pair]",
         "[pair] node 0 dials node 1: it needs peer"},
        {"node = 0\npeer = ws://h:1/castgate/pair\nuser = u\npassword_file = /p\n", "[pair]",
         "[pair] peer must be a wss:// URL"},
        {"node = 0\npeer = wss://u:secret@h:1/castgate/pair\nuser = u\npassword_file = /p\n",
         "[pair]", "[pair] peer must be a wss:// URL"},
        {"node = 0\npeer = wss://h:1/castgate/pair\npassword_file = /p\n", "[pair]",
         "[pair] node 0 needs user and password_file"},
        {"node = 0\npeer = wss://h:1/castgate/pair\nuser = u\n", "[pair]",
         "[pair] node 0 needs user and password_file"},
        {"pin = xyz\n", "[pair]", "[pair] pin must be"},
        {"cert_name = *.example\n", "[pair]", "[pair] cert_name must be"},
        /* node 1 accepts */
        {"node = 1\ncredentials = /c\n", "[pair]",
         "[pair] node 1 accepts node 0's connection: it needs listen"},
        {"node = 1\nlisten = 8444\ncredentials = /c\n", "[pair]", "[pair] listen must be ADDR:PORT"},
        {"node = 1\nlisten = 127.0.0.1:0\ncredentials = /c\n", "[pair]",
         "[pair] listen must be ADDR:PORT"},
        {"node = 1\nlisten = 127.0.0.1:8444\n", "[pair]", "[pair] node 1 needs credentials"},
    };
    char lines[1024];
    /* a password in the url is never printed back */
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024];
    char *leak = compose(GATEWAY, "node = 0\npeer = wss://u:secret@h:1/x\nuser = u\npassword_file = /p\n", "");
    assert_int_not_equal(load(leak, c, err, sizeof(err)), 0);
    assert_null(strstr(err, "secret"));
    gwconf_free(c);
    free(c);
    free(leak);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* a case about a [pair] rule that gives no node gets node 0's keys, so
         * that only its own rule fails (the first case is about node itself) */
        bool has_node = strstr(cases[i].lines, "node =") != NULL;
        bool top = strcmp(cases[i].at, "[pair]") != 0; /* a value refused as it is read */
        snprintf(lines, sizeof(lines), "%s%s", has_node || top || i == 0 ? "" : N0, cases[i].lines);
        char *text = compose(GATEWAY, lines, "");
        refused(text, cases[i].at, cases[i].why);
        free(text);
    }
}

/* What [pair] needs of the rest of the file. */
static void test_refusals_with_gateway(void **state)
{
    (void)state;
    static const char N1[] = "node = 1\nlisten = 127.0.0.1:8444\ncredentials = /c\n";
    char *text;
    /* the journal is what the pair replicates */
    text = compose("[gateway]\nstate_dir = s\ncert = c k\n[link a]\nlegacy = ncs\nncs_id = N\n"
                   "mos_id = M\nlegacy_dial = 127.0.0.1:1,2\nurl = wss://h:1/m\n", N1, "");
    refused(text, "[pair]", "[pair] needs journal = yes in [gateway]");
    free(text);
    /* node 1's listener speaks TLS with the [gateway] certificates */
    text = compose("[gateway]\nstate_dir = s\njournal = yes\n[link a]\nlegacy = ncs\nncs_id = N\n"
                   "mos_id = M\nlegacy_dial = 127.0.0.1:1,2\nurl = wss://h:1/m\n", N1, "");
    refused(text, "[pair]", "[pair] node 1's listener needs a [gateway] cert");
    free(text);
    /* its own port, not the gateway's nor the admin listener's */
    text = compose("[gateway]\nstate_dir = s\njournal = yes\ncert = c k\nlisten = 127.0.0.1:8444\n"
                   "credentials = /c\n[link a]\nlegacy = ncs\nncs_id = N\nmos_id = M\n"
                   "legacy_dial = 127.0.0.1:1,2\nurl = wss://h:1/m\n", N1, "");
    refused(text, "[pair]", "[pair] listen is another listener's address");
    free(text);
    text = compose("[gateway]\nstate_dir = s\njournal = yes\ncert = c k\n"
                   "admin_listen = 127.0.0.1:8444\nadmin_credentials = /a\n[link a]\nlegacy = ncs\n"
                   "ncs_id = N\nmos_id = M\nlegacy_dial = 127.0.0.1:1,2\nurl = wss://h:1/m\n", N1, "");
    refused(text, "[pair]", "[pair] listen is another listener's address");
    free(text);
    /* one [pair]: a machine is one node of one pair */
    text = compose(GATEWAY, N1, "[pair]\nnode = 0\n");
    char *second = strstr(text, "[pair]\nnode = 0");
    assert_non_null(second);
    struct gwconf *c = calloc(1, sizeof(*c));
    char err[1024], want[200];
    int line = 1;
    for (const char *p = text; p < second; p++)
        line += *p == '\n';
    snprintf(want, sizeof(want), "gw.conf:%d: a second [pair] section", line);
    assert_int_not_equal(load(text, c, err, sizeof(err)), 0);
    if (strstr(err, want) == NULL)
        fail_msg("wanted \"%s\", got \"%s\"", want, err);
    gwconf_free(c);
    free(c);
    free(text);
    /* [pair]'s listen is not the gateway's: the gateway's listener without
     * credentials is still named at its own line */
    text = compose("[gateway]\nstate_dir = s\njournal = yes\ncert = c k\nlisten = 127.0.0.1:9000\n"
                   "[link a]\nlegacy = ncs\nncs_id = N\nmos_id = M\nlegacy_dial = 127.0.0.1:1,2\n"
                   "url = wss://h:1/m\n", N1, "");
    refused(text, "listen = 127.0.0.1:9000", "a listener needs credentials (M-05)");
    free(text);
}

/* --help, castgate.conf(5) and docs/options.md have a [pair] part that
 * lists its rows (test_options checks every row is somewhere). */
static void man(FILE *f) { mosconf_man(f, "test"); }

static void test_documented(void **state)
{
    (void)state;
    char *help = tu_printed(gwconf_help), *ep = tu_printed(mosconf_help), *page = tu_printed(man),
         *md = tu_printed(mosconf_markdown);
    const char *h = strstr(help, "\n  [pair]"), *p = strstr(page, "\n.SS [pair]"),
               *m = strstr(md, "\n### [pair]");
    if (h == NULL || p == NULL || m == NULL)
        fail_msg("[pair] missing: --help %s, page %s, markdown %s", h ? "yes" : "no",
                 p ? "yes" : "no", m ? "yes" : "no");
    int rows = 0;
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *r = &mos_opt_rows[i];
        if (strcmp(r->section, "pair") != 0)
            continue;
        rows++;
        char line[80], bi[80], cell[80];
        snprintf(line, sizeof(line), "\n    %s ", r->name);
        snprintf(bi, sizeof(bi), ".BI \"%s = \"", r->name);
        snprintf(cell, sizeof(cell), "| `%s` |", r->name);
        if (strstr(h, line) == NULL || strstr(p, bi) == NULL || strstr(m, cell) == NULL)
            fail_msg("%s is not under [pair] everywhere", r->name);
        if (!(r->flags & OPT_RESTART))
            fail_msg("%s: a reload cannot change the pair (restart)", r->name);
    }
    assert_true(rows >= 10);
    assert_null(strstr(ep, "[pair]")); /* not an endpoint file's */
    free(help);
    free(ep);
    free(page);
    free(md);
}

/* A reload names the [pair] options that changed (the running ones stay). */
static void test_reload_names_pair_changes(void **state)
{
    (void)state;
    struct gwconf *a = calloc(2, sizeof(*a)), *b = a + 1;
    char what[512];
    assert_non_null(a);
    gwconf_pair_changes(a, a, what, sizeof(what));
    assert_string_equal(what, "");
    *b = *a;
    b->pair.node = 1;
    b->pair.heartbeat_ms = 100;
    gwconf_pair_changes(a, b, what, sizeof(what));
    assert_string_equal(what, "node, heartbeat_ms");
    *b = *a;
    snprintf(b->pair.peer, sizeof(b->pair.peer), "wss://other:1/castgate/pair");
    gwconf_pair_changes(a, b, what, sizeof(what));
    assert_string_equal(what, "peer");
    /* [gateway] changes are not [pair] ones */
    *b = *a;
    b->journal = 1;
    gwconf_pair_changes(a, b, what, sizeof(what));
    assert_string_equal(what, "");
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_pair),
        cmocka_unit_test(test_both_nodes_one_file),
        cmocka_unit_test(test_each_node_its_own_keys),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusals_with_gateway),
        cmocka_unit_test(test_documented),
        cmocka_unit_test(test_reload_names_pair_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
