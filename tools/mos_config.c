/* Table-driven reader for the MOS endpoint configuration (INI): one row per
 * option says its section, name, type, bounds and help. */
#include "mos_config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_PATH, K_LONG, K_BOOL, K_CERT };

struct row {
    const char *section; /* "endpoint" or "peer" */
    const char *name;
    enum kind kind;
    size_t off, size; /* field in struct mosconf or struct mosconf_peer */
    long min, max;
    const char *help;
};

#define E(f) offsetof(struct mosconf, f), sizeof(((struct mosconf *)0)->f)
#define P(f) offsetof(struct mosconf_peer, f), sizeof(((struct mosconf_peer *)0)->f)

static const struct row rows[] = {
    {"endpoint", "role", K_STR, E(role), 0, 0, "ncs or mos: which side of MOS this endpoint is"},
    {"endpoint", "id", K_STR, E(id), 0, 0, "our ncsID or mosID (1-128 characters)"},
    {"endpoint", "listen", K_STR, E(listen), 0, 0, "ADDR:PORT to serve our endpoint on (optional)"},
    {"endpoint", "path", K_STR, E(path), 0, 0, "endpoint path (default /mos/Communication, M-02)"},
    {"endpoint", "cert", K_CERT, 0, 0, 0, 0, "CHAIN KEY: a certificate for the listener (repeat: RSA and ECDSA)"},
    {"endpoint", "credentials", K_PATH, E(credentials), 0, 0, "htpasswd file peers log in with (M-05)"},
    {"endpoint", "state_dir", K_PATH, E(state_dir), 0, 0, "where messageIDs persist (M-11)"},
    {"endpoint", "keepalive_s", K_LONG, E(keepalive_s), 30, 86400, "idle seconds before a keepAlive (M-09)"},
    {"endpoint", "ack_timeout_ms", K_LONG, E(ack_timeout_ms), 100, 3600000, "wait for an answer before sending again"},
    {"endpoint", "retries", K_LONG, E(retries), 0, 1000000, "times to send again before giving up (0: never)"},
    {"endpoint", "reconnect_max_ms", K_LONG, E(reconnect_max_ms), 100, 600000, "reconnect backoff cap"},
    {"endpoint", "max_message", K_LONG, E(max_message), 256, 1073741824, "largest message in bytes"},
    {"endpoint", "ocsp", K_BOOL, E(ocsp), 0, 1, "staple OCSP responses (B-12, default yes)"},
    {"endpoint", "validate", K_BOOL, E(validate), 0, 1, "check every message is well-formed XML (default yes)"},
    {"endpoint", "hsts", K_LONG, E(hsts), 0, 2147483647, "HSTS max-age (B-21, default 31536000)"},
    {"endpoint", "removed_in_4", K_STR, E(removed_in_4), 0, 0,
     "castgate run, legacy side: pass (default) or reject messages MOS 4.0 removed (M-12)"},
    {"peer", "url", K_STR, P(url), 0, 0, "the peer's endpoint, wss://host:port/path"},
    {"peer", "mode", K_STR, P(mode), 0, 0, "standard, passive-inside or passive-outside (M-07, M-08)"},
    {"peer", "channels", K_STR, P(channels), 0, 0, "mom,ro,aux (default mom,ro)"},
    {"peer", "ca", K_PATH, P(ca), 0, 0, "trusted root(s) for the peer's certificate (B-14)"},
    {"peer", "ca_dir", K_PATH, P(ca_dir), 0, 0, "hashed directory of trusted roots"},
    {"peer", "pin", K_STR, P(pin), 0, 0, "SHA-256 of the peer's certificate (M-06)"},
    {"peer", "self_signed", K_BOOL, P(self_signed), 0, 1, "accept a self-signed peer certificate (M-06)"},
    {"peer", "user", K_STR, P(user), 0, 0, "our user name at the peer (M-05)"},
    {"peer", "password_file", K_PATH, P(password_file), 0, 0, "file holding our password at the peer"},
    {"peer", "text_frames", K_BOOL, P(text_frames), 0, 1, "send UTF-8 text frames (M-04)"},
    {"peer", "legacy_dial", K_STR, P(legacy_dial), 0, 0,
     "a MOS 2.x peer over TCP: HOST:LOWER,UPPER[,QUERY] where we connect (M-21)"},
    {"peer", "legacy_listen", K_STR, P(legacy_listen), 0, 0,
     "a MOS 2.x peer: ADDR:LOWER,UPPER[,QUERY] where it connects to us"},
    {"peer", "legacy_encoding", K_STR, P(legacy_encoding), 0, 0, "ucs2be (default) or utf8"},
};

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
    struct mosconf_peer *peer; /* NULL: [endpoint] */
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

static int set_option(struct reader *r, const char *key, char *v)
{
    const char *sect = r->peer != NULL ? "peer" : "endpoint";
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *row = &rows[i];
        if (strcmp(row->section, sect) != 0 || strcmp(row->name, key) != 0)
            continue;
        if (row->kind == K_CERT)
            return put_cert(r, v);
        char *base = r->peer != NULL ? (char *)r->peer : (char *)r->c;
        if (row->kind == K_STR || row->kind == K_PATH)
            return put_str(r, base + row->off, row->size, v, row->kind == K_PATH);
        return put_number(r, row, base + row->off, v);
    }
    return fail(r, "unknown option", key);
}

static int section(struct reader *r, char *s)
{
    char *end = strchr(s, ']');
    if (end == NULL || end[1] != '\0')
        return fail(r, "malformed section header", s);
    *end = '\0';
    s = trim(s + 1);
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
    c->reconnect_max_ms = 1000;
    c->max_message = 16 * 1024 * 1024;
    c->ocsp = 1;
    c->validate = 1;
    c->hsts = 31536000;
}

int mosconf_load(const char *path, struct mosconf *c)
{
    struct reader r = {.path = path, .c = c};
    defaults(c);
    const char *slash = strrchr(path, '/');
    snprintf(r.dir, sizeof(r.dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail(&r, "cannot open the configuration file", NULL);
    char buf[4096];
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
        r.line++;
        char *hash = strchr(buf, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(buf), *eq;
        if (*s == '\0')
            continue;
        if (*s == '[')
            rc = section(&r, s);
        else if ((eq = strchr(s, '=')) == NULL)
            rc = fail(&r, "expected name = value", s);
        else {
            *eq = '\0';
            rc = set_option(&r, trim(s), trim(eq + 1));
        }
    }
    fclose(f);
    if (rc == 0 && (c->id[0] == '\0' || (strcmp(c->role, "ncs") && strcmp(c->role, "mos"))))
        rc = fail(&r, "[endpoint] needs role (ncs or mos) and id", NULL);
    if (rc == 0 && c->removed_in_4[0] && strcmp(c->removed_in_4, "pass") &&
        strcmp(c->removed_in_4, "reject"))
        rc = fail(&r, "removed_in_4 must be pass or reject", c->removed_in_4);
    return rc;
}
