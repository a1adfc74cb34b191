/* Protocols (B-01, B-02), suites and their order (B-03, B-04, B-05) and the
 * session features (B-06), by hand-built ClientHellos one connection each. */
#include "check/check.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static const uint16_t versions[5] = {CG_SSL3, CG_TLS10, CG_TLS11, CG_TLS12, CG_TLS13};
static const char *const vnames[5] = {"SSLv3", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};

/* Every suite we know for that protocol family, BCP ones first. */
static size_t all_suites(bool tls13, uint16_t *out)
{
    size_t n = 0;
    const uint16_t *bcp = tls13 ? cg__check_bcp13 : cg__check_bcp12;
    size_t nb = tls13 ? 3 : 12;
    for (size_t i = 0; i < nb; i++)
        out[n++] = bcp[i];
    return n + cg__check_other_suites(tls13, out + n, CG_CHECK_MAX_SUITES - n);
}

/* A probe that got no answer at all (timeout, connect failure): the finding
 * it was for becomes a warning saying so, and the run goes on. */
static bool io_error(enum cg_err rc) { return rc == CG_ETIMEDOUT || rc == CG_ENET; }

/* Offers suites under version v; *chosen is the suite picked, 0 when refused. */
static enum cg_err pick(const struct cg_check_target *t, uint16_t v, const uint16_t *s, size_t n,
                        uint16_t *chosen, struct cg_server_hello *out)
{
    struct cg_hello_opts o = {.version = v, .suites = s, .nsuites = n};
    struct cg_server_hello sh;
    *chosen = 0;
    enum cg_err rc = cg__check_hello(t, &o, &sh);
    if (out)
        *out = sh;
    if (rc == CG_ECLOSED || rc == CG_EPROTO)
        return CG_OK; /* refused without an alert */
    CG_GUARD(rc);
    if (!sh.is_alert && sh.version == v)
        *chosen = sh.suite;
    return CG_OK;
}

static const char *alert_name(uint8_t d)
{
    switch (d) { /* RFC 8446 6 */
    case 10: return "unexpected_message";
    case 40: return "handshake_failure";
    case 47: return "illegal_parameter";
    case 50: return "decode_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 109: return "missing_extension";
    case 112: return "unrecognized_name";
    default: return "alert";
    }
}

static void describe(enum cg_err rc, const struct cg_server_hello *sh, char *dst, size_t n)
{
    char name[64];
    if (rc != CG_OK)
        snprintf(dst, n, "no ServerHello (%s)", rc == CG_ECLOSED ? "connection closed"
                                               : rc == CG_EPROTO ? "not a TLS answer"
                                                                 : cg_strerror(rc));
    else if (sh->is_alert)
        snprintf(dst, n, "alert %s (%u/%u)", alert_name(sh->alert_desc), sh->alert_level,
                 sh->alert_desc);
    else {
        cg__check_suite_name(sh->suite, name, sizeof(name));
        snprintf(dst, n, "ServerHello version 0x%04x, %s", sh->version, name);
    }
}

enum cg_err cg__check_run_protocols(const struct cg_check_target *t, struct cg_check_report *r,
                                    bool offered[5])
{
    uint16_t s[CG_CHECK_MAX_SUITES];
    for (int i = 0; i < 5; i++) {
        size_t n = all_suites(versions[i] == CG_TLS13, s);
        struct cg_hello_opts o = {.version = versions[i], .suites = s, .nsuites = n};
        struct cg_server_hello sh;
        enum cg_err rc = cg__check_hello(t, &o, &sh);
        CG_CHECK(rc == CG_OK || rc == CG_ECLOSED || rc == CG_EPROTO || io_error(rc), rc);
        offered[i] = rc == CG_OK && !sh.is_alert && sh.version == versions[i];
        char ev[200], what[64];
        describe(rc, &sh, ev, sizeof(ev));
        if (i < 3) {
            snprintf(what, sizeof(what), "%s not offered", vnames[i]);
            enum cg_check_verdict v = offered[i] ? CG_CHECK_FAIL
                                      : io_error(rc) ? CG_CHECK_WARN /* no answer at all */
                                                     : CG_CHECK_PASS;
            CG_GUARD(cg__check_add(r, "B-02", v, what, "%s", ev));
        } else {
            snprintf(what, sizeof(what), "%s offered", vnames[i]);
            enum cg_check_verdict v = offered[i] ? CG_CHECK_PASS
                                      : i == 3   ? CG_CHECK_FAIL /* SHALL */
                                                 : CG_CHECK_WARN; /* SHOULD */
            CG_GUARD(cg__check_add(r, "B-01", v, what, "%s", ev));
        }
    }
    return CG_OK;
}

static void remove_id(uint16_t *s, size_t *n, uint16_t id)
{
    for (size_t i = 0; i < *n; i++)
        if (s[i] == id) {
            memmove(s + i, s + i + 1, (*n - i - 1) * sizeof(*s));
            (*n)--;
            return;
        }
}

/* Full preference probing: offer the set, note the pick, remove it, repeat.
 * seen receives the server's order; returns the count. */
static enum cg_err elimination(const struct cg_check_target *t, uint16_t v, const uint16_t *set,
                               size_t n, uint16_t *seen, size_t *nseen)
{
    uint16_t left[CG_CHECK_MAX_SUITES];
    memcpy(left, set, n * sizeof(*set));
    *nseen = 0;
    while (n > 0) {
        uint16_t c;
        CG_GUARD(pick(t, v, left, n, &c, NULL));
        if (c == 0)
            break;
        seen[(*nseen)++] = c;
        size_t before = n;
        remove_id(left, &n, c);
        CG_CHECK(n < before, CG_EPROTO); /* picked a suite it was not offered */
    }
    return CG_OK;
}

static void list_names(const uint16_t *s, size_t n, char *dst, size_t dstsz)
{
    size_t at = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && at < dstsz; i++) {
        char name[64];
        cg__check_suite_name(s[i], name, sizeof(name));
        at += (size_t)snprintf(dst + at, dstsz - at, "%s%s", i ? " > " : "",
                               strncmp(name, "TLS_", 4) == 0 ? name + 4 : name);
    }
    if (n == 0)
        snprintf(dst, dstsz, "none");
}

/* One suite at a time: each BCP suite offered or not. */
static enum cg_err each_bcp(const struct cg_check_target *t, struct cg_check_report *r,
                            bool tls13, uint16_t *sup, size_t *nsup)
{
    const uint16_t *bcp = tls13 ? cg__check_bcp13 : cg__check_bcp12;
    size_t nb = tls13 ? 3 : 12;
    for (size_t i = 0; i < nb; i++) {
        uint16_t c;
        struct cg_server_hello sh;
        enum cg_err rc = pick(t, tls13 ? CG_TLS13 : CG_TLS12, &bcp[i], 1, &c, &sh);
        char name[64], what[96];
        cg__check_suite_name(bcp[i], name, sizeof(name));
        snprintf(what, sizeof(what), "%s offered", name);
        if (io_error(rc)) {
            CG_GUARD(cg__check_add(r, tls13 ? "B-03" : "B-04", CG_CHECK_WARN, what,
                                   "not testable: %s", cg_strerror(rc)));
            continue;
        }
        CG_GUARD(rc);
        if (c == bcp[i])
            sup[(*nsup)++] = c;
        enum cg_check_verdict v = cg__check_suite_verdict(bcp[i], c == bcp[i]);
        CG_GUARD(cg__check_add(r, tls13 ? "B-03" : "B-04", v, what, "%s",
                               c == bcp[i] ? "accepted alone" : "refused when offered alone"));
    }
    return CG_OK;
}

static enum cg_err others(const struct cg_check_target *t, struct cg_check_report *r, bool tls13,
                          uint16_t *sup, size_t *nsup)
{
    uint16_t o[CG_CHECK_MAX_SUITES], seen[CG_CHECK_MAX_SUITES];
    size_t n = cg__check_other_suites(tls13, o, CG_CHECK_MAX_SUITES), ns = 0;
    enum cg_err rc = elimination(t, tls13 ? CG_TLS13 : CG_TLS12, o, n, seen, &ns);
    if (io_error(rc))
        return cg__check_add(r, tls13 ? "B-03" : "B-04", CG_CHECK_WARN,
                             tls13 ? "no TLS 1.3 suite outside the list" : "no TLS 1.2 suite outside the list",
                             "not testable: %s after %zu found", cg_strerror(rc), ns);
    CG_GUARD(rc);
    for (size_t i = 0; i < ns; i++)
        sup[(*nsup)++] = seen[i];
    char ev[1024];
    list_names(seen, ns, ev, sizeof(ev));
    return cg__check_add(r, tls13 ? "B-03" : "B-04", cg__check_others_verdict(seen, ns),
                         tls13 ? "no TLS 1.3 suite outside the list" : "no TLS 1.2 suite outside the list",
                         "%s", ev);
}

/* B-05: whether the server's order wins at all. Offered forwards and
 * backwards, a server that follows the client picks the first suite both times. */
static enum cg_err server_wins(const struct cg_check_target *t, struct cg_check_report *r,
                               bool tls13, const uint16_t *sup, const uint16_t *rev, size_t nsup,
                               bool *client)
{
    const char *what = tls13 ? "TLS 1.3 server order wins" : "TLS 1.2 server order wins";
    *client = false;
    if (nsup < 2)
        return cg__check_add(r, "B-05", CG_CHECK_WARN, what, "not testable: fewer than two suites");
    uint16_t v = tls13 ? CG_TLS13 : CG_TLS12, fwd_pick, rev_pick;
    enum cg_err rc = pick(t, v, sup, nsup, &fwd_pick, NULL);
    if (rc == CG_OK)
        rc = pick(t, v, rev, nsup, &rev_pick, NULL);
    if (io_error(rc)) {
        *client = true; /* the order below is not judged either */
        return cg__check_add(r, "B-05", CG_CHECK_WARN, what, "not testable: %s", cg_strerror(rc));
    }
    CG_GUARD(rc);
    *client = cg__check_follows_client(sup, rev, nsup, fwd_pick, rev_pick);
    char a[64], b[64];
    cg__check_suite_name(fwd_pick, a, sizeof(a));
    cg__check_suite_name(rev_pick, b, sizeof(b));
    return cg__check_add(r, "B-05", *client ? CG_CHECK_FAIL : CG_CHECK_PASS, what,
                         "offered in one order: %s chosen; reversed: %s", a, b);
}

/* The server's order against the BCP's (B-03/B-04), by full preference
 * probing from the reversed set (a server that ignores its own order shows
 * up in B-05 instead: its order is then the client's and not judged here). */
static enum cg_err order(const struct cg_check_target *t, struct cg_check_report *r, bool tls13,
                         const uint16_t *sup, size_t nsup)
{
    uint16_t v = tls13 ? CG_TLS13 : CG_TLS12, rev[CG_CHECK_MAX_SUITES], seen[CG_CHECK_MAX_SUITES];
    for (size_t i = 0; i < nsup; i++)
        rev[i] = sup[nsup - 1 - i];
    bool client;
    CG_GUARD(server_wins(t, r, tls13, sup, rev, nsup, &client));
    const char *id = tls13 ? "B-03" : "B-04";
    const char *what = tls13 ? "TLS 1.3 server order as listed" : "TLS 1.2 server order as listed";
    if (client)
        return cg__check_add(r, id, CG_CHECK_WARN, what, "not judged: see B-05");
    size_t ns = 0;
    enum cg_err rc = elimination(t, v, rev, nsup, seen, &ns);
    if (io_error(rc))
        return cg__check_add(r, id, CG_CHECK_WARN, what, "not testable: %s", cg_strerror(rc));
    CG_GUARD(rc);
    bool ok = cg__check_order_ok(tls13 ? cg__check_bcp13 : cg__check_bcp12, tls13 ? 3 : 12, seen, ns);
    char ev[1024];
    list_names(seen, ns, ev, sizeof(ev));
    return cg__check_add(r, id, ok ? CG_CHECK_PASS : CG_CHECK_FAIL, what, "server order: %s", ev);
}

/* B-04: DHE suites come with DH parameters; their group must be >= 2048
 * bits. SECLEVEL 0 so a weak group is seen rather than refused. */
static enum cg_err dhe_group(const struct cg_check_target *t, struct cg_check_report *r,
                             const uint16_t *sup, size_t nsup)
{
    bool dhe = false;
    for (size_t i = 0; i < nsup; i++) {
        const struct cg_suite_info *s = cg__check_suite(sup[i]);
        dhe |= s && strncmp(s->name, "TLS_DHE_", 8) == 0;
    }
    if (!dhe)
        return CG_OK;
    SSL *ssl = NULL;
    int fd = -1, bits = 0;
    char err[256] = "";
    const char *what = "DHE group of at least 2048 bits";
    if (cg__check_tls12_open(t, "kDHE:!aNULL:@SECLEVEL=0", &ssl, &fd, err, sizeof(err)) != CG_OK)
        return cg__check_add(r, "B-04", CG_CHECK_WARN, what, "not testable: %s", err);
    EVP_PKEY *k = NULL;
    if (SSL_get_peer_tmp_key(ssl, &k) == 1 && k) {
        bits = EVP_PKEY_get_bits(k);
        EVP_PKEY_free(k);
    }
    const char *cipher = SSL_get_cipher_name(ssl);
    char ev[160];
    snprintf(ev, sizeof(ev), "%d-bit group with %s", bits, cipher ? cipher : "?");
    cg__check_tls_close(ssl, fd);
    return cg__check_add(r, "B-04", cg__check_dh_verdict(bits), what, "%s", ev);
}

/* TLS 1.3 tickets come after the handshake (RFC 8446 4.6.1): wait briefly for
 * them without sending anything. *issued -1 when TLS 1.3 did not happen. */
static void tls13_tickets(const struct cg_check_target *t, int *issued)
{
    SSL *ssl = NULL;
    int fd = -1;
    char err[256];
    *issued = -1;
    if (cg__check_tls_open(t, NULL, NULL, &ssl, &fd, err, sizeof(err)) != CG_OK)
        return;
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint8_t b[64];
        for (int i = 0; i < 3 && poll(&p, 1, 150) > 0; i++)
            if (SSL_read(ssl, b, sizeof(b)) <= 0 && SSL_get_error(ssl, 0) != SSL_ERROR_WANT_READ)
                break;
        SSL_SESSION *s = SSL_get1_session(ssl);
        *issued = s && SSL_SESSION_has_ticket(s);
        SSL_SESSION_free(s);
    }
    cg__check_tls_close(ssl, fd);
}

static enum cg_err tickets(const struct cg_check_target *t, struct cg_check_report *r, int tls12)
{
    int tls13;
    tls13_tickets(t, &tls13);
    static const char *const says[] = {"not tested", "not issued", "issued"};
    return cg__check_add(r, "B-06", CG_CHECK_PASS, "session tickets (a deliberate choice)",
                         "TLS 1.2: %s; TLS 1.3: %s", says[tls12 + 1], says[tls13 + 1]);
}

static enum cg_err features(const struct cg_check_target *t, struct cg_check_report *r)
{
    struct cg_hello_opts o = {.version = CG_TLS12, .suites = cg__check_bcp12, .nsuites = 12,
                              .offer_compression = true, .session_ticket = true};
    struct cg_server_hello sh;
    enum cg_err rc = cg__check_hello(t, &o, &sh);
    if (rc != CG_OK || sh.is_alert || sh.version != CG_TLS12) {
        char ev[200];
        describe(rc, &sh, ev, sizeof(ev));
        CG_GUARD(cg__check_add(r, "B-06", CG_CHECK_WARN, "TLS 1.2 session features",
                               "not testable: %s", ev));
        return tickets(t, r, -1);
    }
    CG_GUARD(cg__check_add(r, "B-06", sh.compression ? CG_CHECK_FAIL : CG_CHECK_PASS,
                           "no TLS compression", "DEFLATE offered, method %u chosen",
                           sh.compression));
    CG_GUARD(tickets(t, r, sh.has_ticket_ext));
    return cg__check_add(r, "B-06", sh.has_reneg_info ? CG_CHECK_PASS : CG_CHECK_FAIL,
                         "secure renegotiation (RFC 5746)", "%s",
                         sh.has_reneg_info ? "renegotiation_info answered"
                                           : "no renegotiation_info in the ServerHello");
}

enum cg_err cg__check_run_suites(const struct cg_check_target *t, struct cg_check_report *r,
                                 const bool offered[5])
{
    for (int tls13 = 1; tls13 >= 0; tls13--) {
        if (!offered[tls13 ? 4 : 3])
            continue;
        uint16_t sup[CG_CHECK_MAX_SUITES];
        size_t nsup = 0;
        CG_GUARD(each_bcp(t, r, tls13, sup, &nsup));
        CG_GUARD(others(t, r, tls13, sup, &nsup));
        CG_GUARD(order(t, r, tls13, sup, nsup));
        if (!tls13)
            CG_GUARD(dhe_group(t, r, sup, nsup));
    }
    return features(t, r);
}
