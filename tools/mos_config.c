/* Table-driven reader for the MOS endpoint configuration (INI): one row per
 * option says its section, name, type, bounds and help. */
#include "mos_config.h"

#include <castgate/relay.h>

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_PATH, K_LONG, K_BOOL, K_CERT };

struct row {
    const char *section; /* "endpoint", "peer", "gateway" or "link" */
    const char *name;
    enum kind kind;
    size_t off, size; /* field in struct mosconf or struct mosconf_peer */
    long min, max;
    const char *help;
};

#define XSTR(x) STR(x)
#define STR(x) #x
#define E(f) offsetof(struct mosconf, f), sizeof(((struct mosconf *)0)->f)
#define P(f) offsetof(struct mosconf_peer, f), sizeof(((struct mosconf_peer *)0)->f)
#define G(f) offsetof(struct gwconf, f), sizeof(((struct gwconf *)0)->f)
#define L(f) offsetof(struct gwlink, f), sizeof(((struct gwlink *)0)->f)

static const struct row rows[] = {
    {"endpoint", "role", K_STR, E(role), 0, 0, "ncs or mos: which side of MOS this endpoint is"},
    {"endpoint", "id", K_STR, E(id), 0, 0, "our ncsID or mosID (1-128 characters)"},
    {"endpoint", "listen", K_STR, E(listen), 0, 0, "ADDR:PORT to serve our endpoint on (optional)"},
    {"endpoint", "path", K_STR, E(path), 0, 0, "endpoint path (default /mos/Communication, M-02)"},
    {"endpoint", "cert", K_CERT, 0, 0, 0, 0, "CHAIN KEY: a certificate for the listener (repeat: RSA and ECDSA)"},
    {"endpoint", "credentials", K_PATH, E(credentials), 0, 0, "htpasswd file peers log in with (M-05)"},
    {"endpoint", "auth", K_STR, E(auth), 0, 0,
     "basic (default: a listener needs credentials) or none (anyone may connect; logged loudly)"},
    {"endpoint", "state_dir", K_PATH, E(state_dir), 0, 0, "where messageIDs persist (M-11)"},
    {"endpoint", "keepalive_s", K_LONG, E(keepalive_s), 1, 86400, "idle seconds before a keepAlive (M-09: 30 or more; less is for tests, logged)"},
    {"endpoint", "ack_timeout_ms", K_LONG, E(ack_timeout_ms), 100, 3600000, "wait for an answer before sending again"},
    {"endpoint", "retries", K_LONG, E(retries), 0, 1000000, "times to send again (same messageID) before the sender gets a NACK (default 3; 0: sent once)"},
    {"endpoint", "silent_reset_s", K_LONG, E(silent_reset_s), 0, 86400,
     "reset a wss lane nothing arrived on for this long (0: never, default; for peers that send when idle)"},
    {"endpoint", "reconnect_max_ms", K_LONG, E(reconnect_max_ms), 100, 600000,
     "reconnect backoff cap while a peer is not there (default 1000)"},
    {"endpoint", "refused_backoff_max_ms", K_LONG, E(refused_backoff_max_ms), 1000, 3600000,
     "reconnect backoff cap while a peer refuses: HTTP 4xx, certificate, closes at once (default 60000)"},
    {"endpoint", "max_message", K_LONG, E(max_message), 256, 1073741824, "largest message in bytes"},
    {"endpoint", "ocsp", K_BOOL, E(ocsp), 0, 1, "staple OCSP responses (B-12, default yes)"},
    {"endpoint", "validate", K_BOOL, E(validate), 0, 1, "check every message is well-formed XML (default yes)"},
    {"endpoint", "heartbeat_time", K_STR, E(heartbeat_time), 0, 0,
     "full (default: 2026-12-06T10:00:00,123Z) or short (2026-12-06T10:00:00, as ENPS writes): the time in heartbeats we write (M-24)"},
    {"endpoint", "max_attributes", K_LONG, E(max_attributes), 1, 1000000,
     "validate: refuse more attributes on one element (default " XSTR(CG_MOS_DEFAULT_MAX_ATTRIBUTES) ")"},
    {"endpoint", "max_depth", K_LONG, E(max_depth), 1, 1000000,
     "validate: refuse elements nested deeper (default " XSTR(CG_MOS_DEFAULT_MAX_DEPTH) ")"},
    {"endpoint", "validate_async_bytes", K_LONG, E(validate_async_bytes), 1, 1073741824,
     "validate larger messages off the event loop (default " XSTR(CG_MOS_DEFAULT_ASYNC_VALIDATE) ")"},
    {"endpoint", "hsts", K_LONG, E(hsts), 0, 2147483647, "HSTS max-age (B-21, default 31536000)"},
    {"endpoint", "reused_id", K_STR, E(reused_id), 0, 0,
     "a known messageID with other content: deliver (default, as a new request) or nack"},
    {"endpoint", "removed_in_4", K_STR, E(removed_in_4), 0, 0,
     "castgate run, legacy side: pass (default) or reject messages MOS 4.0 removed (M-12)"},
    {"peer", "url", K_STR, P(url), 0, 0, "the peer's endpoint, wss://host:port/path"},
    {"peer", "mode", K_STR, P(mode), 0, 0, "standard, passive-inside or passive-outside (M-07, M-08)"},
    {"peer", "channels", K_STR, P(channels), 0, 0, "mom,ro,aux (default mom,ro)"},
    {"peer", "ca", K_PATH, P(ca), 0, 0, "trusted root(s) for the peer's certificate (B-14)"},
    {"peer", "ca_dir", K_PATH, P(ca_dir), 0, 0, "hashed directory of trusted roots"},
    {"peer", "pin", K_STR, P(pin), 0, 0, "SHA-256 of the peer's certificate (M-06)"},
    {"peer", "cert_name", K_STR, P(cert_name), 0, 0,
     "the name the peer's certificate must carry instead of the url's host (with ca or pin)"},
    {"peer", "self_signed", K_BOOL, P(self_signed), 0, 1, "accept a self-signed peer certificate (M-06)"},
    {"peer", "user", K_STR, P(user), 0, 0, "our user name at the peer (M-05)"},
    {"peer", "password_file", K_PATH, P(password_file), 0, 0, "file holding our password at the peer"},
    {"peer", "text_frames", K_BOOL, P(text_frames), 0, 1, "send UTF-8 text frames (M-04)"},
    {"peer", "legacy_dial", K_STR, P(legacy_dial), 0, 0,
     "a MOS 2.x peer over TCP: HOST:LOWER,UPPER[,QUERY] where we connect (M-21)"},
    {"peer", "legacy_listen", K_STR, P(legacy_listen), 0, 0,
     "a MOS 2.x peer: ADDR:LOWER,UPPER[,QUERY] where it connects to us"},
    {"peer", "legacy_encoding", K_STR, P(legacy_encoding), 0, 0, "ucs2be (default) or utf8"},
    {"peer", "legacy_allow", K_STR, P(legacy_allow), 0, 0,
     "a MOS 2.x peer: ADDR[/BITS], ... that may connect to legacy_listen (default: any)"},
    {"gateway", "journal", K_BOOL, G(journal), 0, 1,
     "keep accepted requests on disk until answered; after a restart they go on (default no)"},
    {"gateway", "fsync", K_STR, G(fsync), 0, 0,
     "interval (default), always or never: what a power loss may cost (a crash costs nothing)"},
    {"gateway", "fsync_interval_ms", K_LONG, G(fsync_interval_ms), 10, 60000,
     "with fsync = interval (default 100)"},
    {"gateway", "admin_listen", K_STR, G(admin_listen), 0, 0,
     "ADDR:PORT of the admin listener: /metrics (Prometheus), over TLS with the [gateway] certificates"},
    {"gateway", "admin_credentials", K_PATH, G(admin_credentials), 0, 0,
     "htpasswd file for the admin listener's Basic credentials (required with admin_listen)"},
    {"gateway", "drain_ms", K_LONG, G(drain_ms), 0, 600000,
     "SIGTERM: wait this long at most for messages in flight (default 10000)"},
    {"link", "legacy", K_STR, L(legacy), 0, 0, "ncs or mos: which legacy gear is on this side"},
    {"link", "ncs_id", K_STR, L(ncs_id), 0, 0, "the NCS's ncsID"},
    {"link", "mos_id", K_STR, L(mos_id), 0, 0, "the device's mosID"},
    {"link", "path", K_STR, L(path), 0, 0, "our MOS 4.0 endpoint path (default /mos/Communication)"},
    {"link", "removed_in_4", K_STR, L(removed_in_4), 0, 0,
     "messages MOS 4.0 removed (M-12), from legacy gear: pass (default), reject, translate "
     "(to roElementAction/roElementStat where exact, else NACK) or translate-or-pass"},
    {"link", "heartbeat", K_STR, L(heartbeat), 0, 0,
     "pass (default), pass-or-answer (answered here while the far side is away) or answer"},
};

/* [endpoint] options that are not [gateway] options */
static bool gateway_skips(const char *name)
{
    return !strcmp(name, "role") || !strcmp(name, "id") || !strcmp(name, "path") ||
           !strcmp(name, "removed_in_4");
}

void gwconf_help(FILE *f)
{
    fprintf(f, "configuration file (INI; '#' comments; relative paths from the file's folder):\n"
               "  [gateway]\n");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (!strcmp(rows[i].section, "gateway") ||
            (!strcmp(rows[i].section, "endpoint") && !gateway_skips(rows[i].name)))
            fprintf(f, "    %-17s %s\n", rows[i].name, rows[i].help);
    fprintf(f, "  [link NAME]   (one per legacy peer; repeat)\n");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (!strcmp(rows[i].section, "link") || !strcmp(rows[i].section, "peer"))
            fprintf(f, "    %-17s %s\n", rows[i].name, rows[i].help);
}

void mosconf_help(FILE *f)
{
    fprintf(f, "configuration file (INI; '#' comments; relative paths from the file's folder):\n");
    const char *sect = "";
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (strcmp(sect, rows[i].section) != 0) {
            sect = rows[i].section;
            fprintf(f, strcmp(sect, "peer") == 0 ? "  [peer PEER-ID]\n" : "  [%s]\n", sect);
        }
        fprintf(f, "    %-17s %s\n", rows[i].name, rows[i].help);
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

struct reader {
    const char *path;
    char dir[1024];
    int line;
    struct mosconf *c;
    struct mosconf_peer *peer; /* NULL: [endpoint] or [gateway] */
    struct gwconf *gw;         /* a gateway file */
    struct gwlink *link;       /* in [link NAME] */
};

static int fail(const struct reader *r, const char *why, const char *what)
{
    fprintf(stderr, "%s:%d: %s%s%s\n", r->path, r->line, why, what ? ": " : "", what ? what : "");
    return -1;
}

static int put_str(const struct reader *r, char *dst, size_t size, const char *v, bool path)
{
    int n = path && v[0] != '/' ? snprintf(dst, size, "%s/%s", r->dir, v) : snprintf(dst, size, "%s", v);
    return n < 0 || (size_t)n >= size ? fail(r, "value too long", v) : 0;
}

static int put_cert(struct reader *r, char *v)
{
    struct mosconf *c = r->c;
    char *sp = strpbrk(v, " \t");
    if (sp == NULL)
        return fail(r, "cert needs CHAIN and KEY", v);
    *sp = '\0';
    if (c->ncerts >= MOSCONF_MAX_CERTS)
        return fail(r, "too many certificates", NULL);
    if (put_str(r, c->cert[c->ncerts], sizeof(c->cert[0]), v, true) != 0 ||
        put_str(r, c->key[c->ncerts], sizeof(c->key[0]), trim(sp + 1), true) != 0)
        return -1;
    c->ncerts++;
    return 0;
}

static int put_number(const struct reader *r, const struct row *row, void *field, const char *v)
{
    char *end;
    long n;
    if (row->kind == K_BOOL) {
        bool yes = !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1");
        bool no = !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0");
        if (!yes && !no)
            return fail(r, "expected yes or no", v);
        *(int *)field = yes;
        return 0;
    }
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < row->min || n > row->max) {
        char range[64];
        snprintf(range, sizeof(range), "%s must be %ld..%ld", row->name, row->min, row->max);
        return fail(r, range, v);
    }
    if (row->size == sizeof(int))
        *(int *)field = (int)n;
    else
        *(long *)field = n;
    return 0;
}

static int apply(struct reader *r, const struct row *row, char *base, char *v)
{
    if (row->kind == K_CERT)
        return put_cert(r, v);
    if (row->kind == K_STR || row->kind == K_PATH)
        return put_str(r, base + row->off, row->size, v, row->kind == K_PATH);
    return put_number(r, row, base + row->off, v);
}

static const struct row *find_row(const char *sect, const char *key)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strcmp(rows[i].section, sect) == 0 && strcmp(rows[i].name, key) == 0)
            return &rows[i];
    return NULL;
}

/* Remembers where listen and auth were set, for check_auth's errors. */
static int note_line(struct reader *r, const char *key, int rc)
{
    if (rc == 0 && r->link == NULL && r->peer == NULL && !strcmp(key, "listen"))
        r->c->listen_line = r->line;
    if (rc == 0 && r->link == NULL && r->peer == NULL && !strcmp(key, "auth"))
        r->c->auth_line = r->line;
    return rc;
}

static int set_option(struct reader *r, const char *key, char *v)
{
    const struct row *row;
    if (r->link != NULL) { /* [link]: its own options, then the [peer] ones */
        if ((row = find_row("link", key)) != NULL)
            return apply(r, row, (char *)r->link, v);
        if ((row = find_row("peer", key)) != NULL)
            return apply(r, row, (char *)&r->link->p, v);
    } else if (r->gw != NULL) { /* [gateway]: its own, then the endpoint-wide ones */
        if ((row = find_row("gateway", key)) != NULL)
            return apply(r, row, (char *)r->gw, v);
        if ((row = find_row("endpoint", key)) != NULL && !gateway_skips(key))
            return apply(r, row, (char *)r->c, v);
    } else if ((row = find_row(r->peer != NULL ? "peer" : "endpoint", key)) != NULL) {
        return apply(r, row, r->peer != NULL ? (char *)r->peer : (char *)r->c, v);
    }
    return fail(r, "unknown option", key);
}

static int gw_section(struct reader *r, char *s)
{
    if (strcmp(s, "gateway") == 0) {
        r->link = NULL;
        return 0;
    }
    if (strncmp(s, "link", 4) != 0 || !isspace((unsigned char)s[4]))
        return fail(r, "unknown section (gateway or link NAME)", s);
    struct gwconf *g = r->gw;
    if (g->nlinks >= GWCONF_MAX_LINKS)
        return fail(r, "too many links", NULL);
    if (g->links == NULL && (g->links = calloc(GWCONF_MAX_LINKS, sizeof(*g->links))) == NULL)
        return fail(r, "out of memory", NULL);
    r->link = &g->links[g->nlinks++];
    r->link->line = r->line;
    snprintf(r->link->path, sizeof(r->link->path), "/mos/Communication");
    return put_str(r, r->link->name, sizeof(r->link->name), trim(s + 4), false);
}

static int section(struct reader *r, char *s)
{
    char *end = strchr(s, ']');
    if (end == NULL || end[1] != '\0')
        return fail(r, "malformed section header", s);
    *end = '\0';
    s = trim(s + 1);
    if (r->gw != NULL)
        return gw_section(r, s);
    if (strcmp(s, "endpoint") == 0) {
        r->peer = NULL;
        return 0;
    }
    if (strncmp(s, "peer", 4) != 0 || !isspace((unsigned char)s[4]))
        return fail(r, "unknown section (endpoint or peer ID)", s);
    if (r->c->npeers >= MOSCONF_MAX_PEERS)
        return fail(r, "too many peers", NULL);
    r->peer = &r->c->peers[r->c->npeers++];
    return put_str(r, r->peer->id, sizeof(r->peer->id), trim(s + 4), false);
}

static void defaults(struct mosconf *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "/mos/Communication");
    c->keepalive_s = 30;
    c->ack_timeout_ms = 60000;
    c->retries = CG_MOS_DEFAULT_RETRIES; /* a lane never waits behind one request forever */
    c->reconnect_max_ms = 1000;
    c->refused_backoff_max_ms = 60000;
    c->max_message = 16 * 1024 * 1024;
    c->ocsp = 1;
    c->validate = 1;
    c->hsts = 31536000;
}

static int read_file(struct reader *r)
{
    const char *slash = strrchr(r->path, '/');
    snprintf(r->dir, sizeof(r->dir), "%.*s", slash ? (int)(slash - r->path) : 1, slash ? r->path : ".");
    FILE *f = fopen(r->path, "r");
    if (f == NULL)
        return fail(r, "cannot open the configuration file", NULL);
    char buf[4096];
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
        r->line++;
        char *hash = strchr(buf, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(buf), *eq;
        if (*s == '\0')
            continue;
        if (*s == '[')
            rc = section(r, s);
        else if ((eq = strchr(s, '=')) == NULL)
            rc = fail(r, "expected name = value", s);
        else {
            *eq = '\0';
            char *key = trim(s);
            rc = note_line(r, key, set_option(r, key, trim(eq + 1)));
        }
    }
    fclose(f);
    return rc;
}

static int check_heartbeat_time(struct reader *r, const struct mosconf *c)
{
    if (c->heartbeat_time[0] && strcmp(c->heartbeat_time, "full") && strcmp(c->heartbeat_time, "short"))
        return fail(r, "heartbeat_time must be full or short", c->heartbeat_time);
    return 0;
}

/* Secure by default (M-05): a wss listener asks peers to log in unless the
 * file says, in so many words, that anyone may connect. */
static int check_auth(struct reader *r, const struct mosconf *c)
{
    bool none = !strcmp(c->auth, "none");
    r->line = c->auth_line;
    if (c->auth[0] && !none && strcmp(c->auth, "basic") != 0)
        return fail(r, "auth must be basic or none", c->auth);
    if (none && c->credentials[0])
        return fail(r, "auth = none and credentials contradict each other: drop one", NULL);
    r->line = c->listen_line;
    if (c->listen[0] && !none && !c->credentials[0])
        return fail(r, "a listener needs credentials (M-05): add credentials = FILE (made by "
                    "castgate passwd), or auth = none to let anyone connect", c->listen);
    return 0;
}

void mosconf_warn_open(const char *who, const struct mosconf *c)
{
    if (c->listen[0] && !strcmp(c->auth, "none"))
        fprintf(stderr, "castgate %s: WARNING: auth = none: anyone who reaches %s may open MOS "
                "lanes without logging in (M-05)\n", who, c->listen);
}

int mosconf_load(const char *path, struct mosconf *c)
{
    struct reader r = {.path = path, .c = c};
    defaults(c);
    int rc = read_file(&r);
    if (rc == 0 && (c->id[0] == '\0' || (strcmp(c->role, "ncs") && strcmp(c->role, "mos"))))
        rc = fail(&r, "[endpoint] needs role (ncs or mos) and id", NULL);
    if (rc == 0 && c->removed_in_4[0] && strcmp(c->removed_in_4, "pass") &&
        strcmp(c->removed_in_4, "reject"))
        rc = fail(&r, "removed_in_4 must be pass or reject", c->removed_in_4);
    if (rc == 0)
        rc = check_heartbeat_time(&r, c);
    if (rc == 0)
        rc = check_auth(&r, c);
    if (rc == 0 && c->reused_id[0] && strcmp(c->reused_id, "deliver") && strcmp(c->reused_id, "nack"))
        rc = fail(&r, "reused_id must be deliver or nack", c->reused_id);
    return rc;
}

static bool one_of(const char *v, const char *a, const char *b, const char *c)
{
    return !strcmp(v, a) || !strcmp(v, b) || (c != NULL && !strcmp(v, c));
}

/* One link on its own. */
static int check_link(struct reader *r, const struct gwconf *g, struct gwlink *k)
{
    r->line = k->line;
    char what[300];
    snprintf(what, sizeof(what), "[link %s]", k->name);
    if (!one_of(k->legacy, "ncs", "mos", NULL))
        return fail(r, "legacy must be ncs or mos (the legacy gear on this side)", what);
    if (k->ncs_id[0] == '\0' || k->mos_id[0] == '\0')
        return fail(r, "ncs_id and mos_id are needed", what);
    if (!k->p.legacy_dial[0] && !k->p.legacy_listen[0])
        return fail(r, "legacy_listen or legacy_dial is needed (where the legacy gear is)", what);
    if (k->removed_in_4[0] == '\0')
        snprintf(k->removed_in_4, sizeof(k->removed_in_4), "pass");
    enum cg_relay_removed removed; /* the names are the library's (include/castgate/relay.h) */
    enum cg_relay_heartbeat hb;
    if (cg_relay_removed_parse(k->removed_in_4, &removed) != CG_OK)
        return fail(r, "removed_in_4 must be pass, reject, translate or translate-or-pass",
                    k->removed_in_4);
    if (k->heartbeat[0] == '\0')
        snprintf(k->heartbeat, sizeof(k->heartbeat), "pass");
    if (cg_relay_heartbeat_parse(k->heartbeat, &hb) != CG_OK)
        return fail(r, "heartbeat must be pass, pass-or-answer or answer", k->heartbeat);
    const char *m = k->p.mode;
    if (m[0] && !one_of(m, "standard", "passive-inside", "passive-outside"))
        return fail(r, "mode must be standard, passive-inside or passive-outside", m);
    if (!strcmp(m, "passive-inside") && !k->p.url[0])
        return fail(r, "mode passive-inside needs the far side's url", what);
    if (!strcmp(m, "passive-outside") && !g->g.listen[0])
        return fail(r, "the far side connects to us in this mode: [gateway] needs listen", what);
    if (m[0] == '\0' || !strcmp(m, "standard")) {
        if (!g->g.listen[0]) /* legal: a far side that never originates (a prompter, say) */
            fprintf(stderr, "%s:%d: warning: %s: no [gateway] listen: what the far side "
                    "originates cannot reach us\n", r->path, k->line, what);
        if (!k->p.url[0])
            fprintf(stderr, "%s:%d: warning: %s: no url: what the gear originates waits until "
                    "the far side's url is given\n", r->path, k->line, what);
    }
    if (k->path[0] != '/')
        return fail(r, "path must start with /", k->path);
    return 0;
}

/* Links against each other: the same pair twice, or two of our MOS 4.0
 * identities on one path. */
static int check_links(struct reader *r, const struct gwconf *g)
{
    for (int i = 0; i < g->nlinks; i++)
        for (int j = 0; j < i; j++) {
            const struct gwlink *a = &g->links[i], *b = &g->links[j];
            r->line = a->line;
            if (!strcmp(a->name, b->name))
                return fail(r, "a link of that name exists already", a->name);
            if (!strcmp(a->ncs_id, b->ncs_id) && !strcmp(a->mos_id, b->mos_id))
                return fail(r, "this ncs_id and mos_id pair is linked already", b->name);
            /* our MOS 4.0 identity: the legacy gear's own ID */
            const char *ida = !strcmp(a->legacy, "ncs") ? a->ncs_id : a->mos_id;
            const char *idb = !strcmp(b->legacy, "ncs") ? b->ncs_id : b->mos_id;
            bool same = !strcmp(a->legacy, b->legacy) && !strcmp(ida, idb);
            if (g->g.listen[0] && !strcmp(a->path, b->path) && !same)
                return fail(r, "another MOS 4.0 identity uses this path: give one link another path",
                            b->name);
            if (same && strcmp(a->path, b->path))
                return fail(r, "links with the same legacy gear share its path", b->name);
        }
    return 0;
}

int gwconf_load(const char *path, struct gwconf *c)
{
    memset(c, 0, sizeof(*c));
    defaults(&c->g);
    snprintf(c->fsync, sizeof(c->fsync), "interval");
    c->fsync_interval_ms = 100;
    c->drain_ms = 10000;
    struct reader r = {.path = path, .c = &c->g, .gw = c};
    int rc = read_file(&r);
    if (rc == 0 && !one_of(c->fsync, "always", "interval", "never"))
        rc = fail(&r, "fsync must be always, interval or never", c->fsync);
    if (rc == 0)
        rc = check_heartbeat_time(&r, &c->g);
    if (rc == 0 && c->g.reused_id[0] && strcmp(c->g.reused_id, "deliver") &&
        strcmp(c->g.reused_id, "nack"))
        rc = fail(&r, "reused_id must be deliver or nack", c->g.reused_id);
    if (rc == 0 && c->journal && !c->g.state_dir[0])
        rc = fail(&r, "journal needs state_dir", NULL);
    if (rc == 0 && c->nlinks == 0)
        rc = fail(&r, "no [link NAME] section: nothing to relay", NULL);
    if (rc == 0)
        rc = check_auth(&r, &c->g);
    for (int i = 0; rc == 0 && i < c->nlinks; i++)
        rc = check_link(&r, c, &c->links[i]);
    if (rc == 0)
        rc = check_links(&r, c);
    return rc;
}

void gwconf_free(struct gwconf *c)
{
    free(c->links);
    c->links = NULL;
    c->nlinks = 0;
}

/* ---- castgate.conf(5), generated from the table (castgate config --man) ---- */

/* Text for roff: backslashes and hyphens escaped, no control character
 * (a leading '.' or '\'') at the start of a line. */
static void man_text(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

static void man_row(FILE *f, const struct row *r)
{
    static const char *const kinds[] = {"TEXT", "PATH", "NUMBER", "yes|no", "CHAIN KEY"};
    fprintf(f, ".TP\n.BI \"%s = \" \"%s\"\n", r->name, kinds[r->kind]);
    man_text(f, r->help);
    if (r->kind == K_LONG)
        fprintf(f, " (%ld..%ld)", r->min, r->max);
    else if (r->kind == K_PATH)
        fputs(" (relative: from the file's folder)", f);
    fputs(".\n", f);
}

static void man_rows(FILE *f, bool gateway_file, const char *sect)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        bool in = gateway_file ? (!strcmp(sect, "gateway")
                                      ? !strcmp(r->section, "gateway") ||
                                            (!strcmp(r->section, "endpoint") && !gateway_skips(r->name))
                                      : !strcmp(r->section, "link") || !strcmp(r->section, "peer"))
                               : !strcmp(r->section, sect);
        if (in)
            man_row(f, r);
    }
}

void mosconf_man(FILE *f, const char *version)
{
    fprintf(f, ".\\\" Generated by castgate config --man from tools/mos_config.c: do not edit.\n"
               ".TH CASTGATE.CONF 5 \"\" \"castgate %s\" \"castgate\"\n"
               ".SH NAME\ncastgate.conf \\- castgate gateway and MOS endpoint configuration\n"
               ".SH SYNOPSIS\n.I /etc/castgate/NAME.conf\n.br\n"
               ".B castgate run \\-\\-config\n.I FILE\n.br\n"
               ".B castgate mos serve|send \\-\\-config\n.I FILE\n"
               ".SH DESCRIPTION\n"
               "An INI file: \\fB[section]\\fR headers, \\fBname = value\\fR lines, \\fB#\\fR starts a "
               "comment. Relative paths are taken from the folder the file is in. "
               "An unknown option or section, or a value out of range, is an error that names the "
               "file and line; \\fBcastgate run \\-\\-check\\-config\\fR checks a file without running it.\n"
               ".PP\nThe gateway (\\fBcastgate\\-run\\fR(1), \\fBcastgate@NAME.service\\fR) reads one "
               "\\fB[gateway]\\fR section and one \\fB[link NAME]\\fR section per legacy MOS 2.x peer "
               "paired with its MOS 4.0 peer. A MOS 4.0 endpoint (\\fBcastgate\\-mos\\fR(1)) reads one "
               "\\fB[endpoint]\\fR section and one \\fB[peer PEER\\-ID]\\fR section per peer.\n"
               ".SH GATEWAY FILE\n.SS [gateway]\n", version);
    man_rows(f, true, "gateway");
    fputs(".SS [link NAME]\nOne per legacy peer; repeat.\n", f);
    man_rows(f, true, "link");
    fputs(".SH ENDPOINT FILE\n.SS [endpoint]\n", f);
    man_rows(f, false, "endpoint");
    fputs(".SS [peer PEER\\-ID]\n", f);
    man_rows(f, false, "peer");
    fputs(".SH FILES\n.TP\n.I /etc/castgate/NAME.conf\nthe gateway of \\fBcastgate@NAME.service\\fR.\n"
          ".TP\n.I /etc/castgate/private/\nprivate keys and password files (the folder root:_castgate "
          "0750); each file owned by _castgate, mode 0600.\n.TP\n.I /var/lib/castgate/NAME/\n\\fBstate_dir\\fR under systemd "
          "(StateDirectory).\n"
          ".SH EXAMPLES\n.I /usr/share/doc/castgate/examples/\n"
          ".SH SEE ALSO\n\\fBcastgate\\fR(1), \\fBcastgate\\-run\\fR(1), \\fBcastgate\\-mos\\fR(1)\n",
          f);
}
