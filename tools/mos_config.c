/* The configuration files (INI) of `castgate mos serve|send` (an [endpoint]
 * and its [peer]s) and `castgate run` (a [gateway] and its [link]s): the
 * option table, and the reader that walks it. One row per option (see
 * mos_options.h) says its section, name, type, field, default and bounds or
 * the library option that holds them, whether a reload can change it, and
 * its help; the library's setters check the values. --help, castgate.conf(5)
 * and docs/options.md are generated from the same rows (mos_config_doc.c). */
#include "mos_options.h"

#include <castgate/relay.h>

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define E(f) offsetof(struct mosconf, f), sizeof(((struct mosconf *)0)->f)
#define P(f) offsetof(struct mosconf_peer, f), sizeof(((struct mosconf_peer *)0)->f)
#define G(f) offsetof(struct gwconf, f), sizeof(((struct gwconf *)0)->f)
#define L(f) offsetof(struct gwlink, f), sizeof(((struct gwlink *)0)->f)
#define PR(f) offsetof(struct gwpair, f), sizeof(((struct gwpair *)0)->f)

/* One constructor per type, as redis's createBoolConfig and friends. */
#define TEXT(sect, name, field, def, flags, help)                                                  \
    {sect, name, OPT_TEXT, field, OPT_NONE, 1, 0, 0, 0, def, NULL, flags, help}
#define PATH(sect, name, field, flags, help)                                                       \
    {sect, name, OPT_PATH, field, OPT_NONE, 1, 0, 0, 0, NULL, NULL, flags, help}
#define NUMBER(sect, name, field, min, max, def, flags, help)                                      \
    {sect, name, OPT_NUMBER, field, OPT_NONE, 1, min, max, def, NULL, NULL, flags, help}
#define FLAG(sect, name, field, def, flags, help)                                                  \
    {sect, name, OPT_FLAG, field, OPT_NONE, 1, 0, 1, def, NULL, NULL, flags, help}
#define CHOICE(sect, name, field, names, def, flags, help)                                         \
    {sect, name, OPT_CHOICE, field, OPT_NONE, 1, 0, 0, def, NULL, names, flags, help}
/* An [endpoint] option the library knows by number (enum cg_mos_option): its
 * bounds, default and check are the library's (cg_mos_endpoint_option_info);
 * the value lives in struct mosconf's opt[] and mosconf_apply sets it. */
#define LIB_NUMBER(name, lib, scale, flags, help)                                                  \
    {"endpoint", name, OPT_NUMBER, 0, 0, lib, scale, 0, 0, 0, NULL, NULL, flags, help}
#define LIB_FLAG(name, lib, flags, help)                                                           \
    {"endpoint", name, OPT_FLAG, 0, 0, lib, 1, 0, 0, 0, NULL, NULL, flags, help}
#define LIB_CHOICE(name, lib, names, flags, help)                                                  \
    {"endpoint", name, OPT_CHOICE, 0, 0, lib, 1, 0, 0, 0, NULL, names, flags, help}

/* A choice's names in the order of the enum it stands for. */
static const char *const role_names[] = {"ncs", "mos", NULL};                 /* cg_mos_role */
static const char *const auth_names[] = {"basic", "none", NULL};             /* MOSCONF_AUTH_ */
static const char *const time_names[] = {"full", "short", NULL};             /* cg_mos_time_form */
static const char *const reused_names[] = {"deliver", "nack", NULL};         /* cg_mos_reused */
static const char *const ep_removed_names[] = {"pass", "reject", NULL};      /* cg_relay_removed */
static const char *const mode_names[] = {"standard", "passive-inside", "passive-outside",
                                         NULL};                              /* cg_mos_mode */
static const char *const encoding_names[] = {"ucs2be", "utf8", NULL};        /* cg_mos_encoding */
static const char *const fsync_names[] = {"always", "interval", "never", NULL}; /* cg_mos_fsync */
static const char *const removed_names[] = {"pass", "reject", "translate", "translate-or-pass",
                                            NULL};                           /* cg_relay_removed */
static const char *const heartbeat_names[] = {"pass", "pass-or-answer", "answer",
                                              NULL}; /* cg_relay_heartbeat */
static const char *const redundancy_names[] = {"carry", "failover", NULL}; /* cg_relay_redundancy */
static const char *const leg_state_names[] = {"default", "keep", "mirror", NULL}; /* cg_relay_leg_state */
static const char *const node_names[] = {"0", "1", NULL};                    /* gwpair.node */

#define R OPT_RESTART
const struct opt_row mos_opt_rows[] = {
    CHOICE("endpoint", "role", E(role), role_names, -1, OPT_NOT_GW,
           "ncs or mos: which side of MOS this endpoint is"),
    TEXT("endpoint", "id", E(id), NULL, OPT_NOT_GW, "our ncsID or mosID (1-128 characters)"),
    TEXT("endpoint", "listen", E(listen), NULL, R, "ADDR:PORT to serve our endpoint on (optional)"),
    TEXT("endpoint", "path", E(path), "/mos/Communication", OPT_NOT_GW, "endpoint path (M-02)"),
    {"endpoint", "cert", OPT_CERT, 0, 0, OPT_NONE, 1, 0, 0, 0, NULL, NULL, 0,
     "CHAIN KEY: a certificate for the listener (repeat: RSA and ECDSA)"},
    PATH("endpoint", "credentials", E(credentials), 0, "htpasswd file peers log in with (M-05)"),
    CHOICE("endpoint", "auth", E(auth), auth_names, MOSCONF_AUTH_BASIC, 0,
           "basic (a listener needs credentials) or none (anyone may connect; logged loudly)"),
    PATH("endpoint", "state_dir", E(state_dir), R, "where messageIDs persist (M-11)"),
    LIB_NUMBER("keepalive_s", CG_MOS_OPT_KEEPALIVE_MS, 1000, R,
               "idle seconds before a keepAlive (M-09: 30 or more; less is for tests, logged)"),
    LIB_NUMBER("ack_timeout_ms", CG_MOS_OPT_ACK_TIMEOUT_MS, 1, R,
               "wait for an answer before sending again"),
    LIB_NUMBER("retries", CG_MOS_OPT_RETRIES, 1, R,
               "times to send again (same messageID) before the sender gets a NACK (0: sent once)"),
    LIB_NUMBER("silent_reset_s", CG_MOS_OPT_SILENT_RESET_MS, 1000, R,
               "reset a wss lane nothing arrived on for this long (0: never; for peers that send "
               "when idle)"),
    LIB_NUMBER("reconnect_max_ms", CG_MOS_OPT_RECONNECT_MAX_MS, 1, R,
               "reconnect backoff cap while a peer is not there"),
    LIB_NUMBER("refused_backoff_max_ms", CG_MOS_OPT_REFUSED_BACKOFF_MAX_MS, 1, R,
               "reconnect backoff cap while a peer refuses: HTTP 4xx, certificate, closes at once"),
    LIB_NUMBER("max_message", CG_MOS_OPT_MAX_MESSAGE, 1, R, "largest message in bytes"),
    LIB_NUMBER("auth_hash_rate", CG_MOS_OPT_AUTH_HASH_RATE, 1, R,
               "password hashes a second for credentials not remembered, whoever sends them (0: "
               "no budget); past it an upgrade waits in line (rate x 5 s of them), then 503 + "
               "Retry-After; a remembered login never waits"),
    LIB_NUMBER("auth_hash_burst", CG_MOS_OPT_AUTH_HASH_BURST, 1, R,
               "password hashes at once above auth_hash_rate (a restart's first logins)"),
    FLAG("endpoint", "ocsp", E(ocsp), 1, 0, "staple OCSP responses (B-12)"),
    LIB_FLAG("validate", CG_MOS_OPT_VALIDATE, R, "check every message is well-formed XML"),
    LIB_CHOICE("heartbeat_time", CG_MOS_OPT_HEARTBEAT_TIME, time_names, R,
               "full (2026-12-06T10:00:00,123Z) or short (2026-12-06T10:00:00, as ENPS "
               "writes): the time in heartbeats we write (M-24)"),
    LIB_NUMBER("max_attributes", CG_MOS_OPT_MAX_ATTRIBUTES, 1, R,
               "validate: refuse more attributes on one element"),
    LIB_NUMBER("max_depth", CG_MOS_OPT_MAX_DEPTH, 1, R, "validate: refuse elements nested deeper"),
    LIB_NUMBER("validate_async_bytes", CG_MOS_OPT_ASYNC_VALIDATE_BYTES, 1, R,
               "validate larger messages off the event loop"),
    NUMBER("endpoint", "hsts", E(hsts), 0, 2147483647, 31536000, 0, "HSTS max-age (B-21)"),
    LIB_CHOICE("reused_id", CG_MOS_OPT_REUSED_ID, reused_names, 0,
               "a known messageID with other content: deliver (as a new request) or nack"),
    LIB_NUMBER("answer_memory", CG_MOS_OPT_ANSWER_MEMORY, 1, R,
               "bytes of answers above 4 KiB each IN lane keeps for repeats (M-22); the newest "
               "is always kept; a repeat of one let go of gets a NACK"),
    CHOICE("endpoint", "removed_in_4", E(removed_in_4), ep_removed_names, CG_RELAY_REMOVED_PASS,
           OPT_NOT_GW, "castgate run, legacy side: pass or reject messages MOS 4.0 removed (M-12)"),
    TEXT("peer", "url", P(url), NULL, 0, "the peer's endpoint, wss://host:port/path"),
    CHOICE("peer", "mode", P(mode), mode_names, CG_MOS_STANDARD, 0,
           "standard, passive-inside or passive-outside (M-07, M-08)"),
    TEXT("peer", "channels", P(channels), "mom,ro", 0, "mom,ro,aux: the channels to this peer"),
    PATH("peer", "ca", P(ca), 0, "trusted root(s) for the peer's certificate (B-14)"),
    PATH("peer", "ca_dir", P(ca_dir), 0, "hashed directory of trusted roots"),
    TEXT("peer", "pin", P(pin), NULL, 0, "SHA-256 of the peer's certificate (M-06)"),
    TEXT("peer", "cert_name", P(cert_name), NULL, 0,
         "the name the peer's certificate must carry instead of the url's host (with ca or pin)"),
    FLAG("peer", "self_signed", P(self_signed), 0, 0,
         "accept a self-signed peer certificate (M-06)"),
    TEXT("peer", "user", P(user), NULL, 0, "our user name at the peer (M-05)"),
    PATH("peer", "password_file", P(password_file), 0, "file holding our password at the peer"),
    FLAG("peer", "text_frames", P(text_frames), 0, 0, "send UTF-8 text frames (M-04)"),
    TEXT("peer", "legacy_dial", P(legacy_dial), NULL, 0,
         "a MOS 2.x peer over TCP: HOST:LOWER,UPPER[,QUERY] where we connect (M-21)"),
    TEXT("peer", "legacy_listen", P(legacy_listen), NULL, 0,
         "a MOS 2.x peer: ADDR:LOWER,UPPER[,QUERY] where it connects to us"),
    CHOICE("peer", "legacy_encoding", P(legacy_encoding), encoding_names, CG_MOS_UCS2BE, 0,
           "ucs2be or utf8: the MOS 2.x peer's encoding"),
    TEXT("peer", "legacy_allow", P(legacy_allow), NULL, 0,
         "a MOS 2.x peer: ADDR[/BITS], ... that may connect to legacy_listen (default: any)"),
    FLAG("gateway", "journal", G(journal), 0, R,
         "keep accepted requests on disk until answered; after a restart they go on"),
    CHOICE("gateway", "fsync", G(fsync), fsync_names, CG_MOS_FSYNC_INTERVAL, R,
           "interval, always or never: what a power loss may cost (a crash costs nothing)"),
    NUMBER("gateway", "fsync_interval_ms", G(fsync_interval_ms), 10, 60000, 100, 0,
           "with fsync = interval"),
    TEXT("gateway", "admin_listen", G(admin_listen), NULL, 0,
         "ADDR:PORT of the admin listener: /metrics (Prometheus), over TLS with the [gateway] "
         "certificates"),
    PATH("gateway", "admin_credentials", G(admin_credentials), 0,
         "htpasswd file for the admin listener's Basic credentials (required with admin_listen)"),
    NUMBER("gateway", "drain_ms", G(drain_ms), 0, 600000, 10000, 0,
           "SIGTERM: wait this long at most for messages in flight"),
    CHOICE("link", "legacy", L(legacy), role_names, -1, 0,
           "ncs or mos: which legacy gear is on this side"),
    TEXT("link", "ncs_id", L(ncs_id), NULL, 0, "the NCS's ncsID"),
    TEXT("link", "mos_id", L(mos_id), NULL, 0, "the device's mosID"),
    TEXT("link", "path", L(path), "/mos/Communication", 0, "our MOS 4.0 endpoint path"),
    CHOICE("link", "removed_in_4", L(removed_in_4), removed_names, CG_RELAY_REMOVED_PASS, 0,
           "messages MOS 4.0 removed (M-12), from legacy gear: pass, reject, translate (to "
           "roElementAction/roElementStat where exact, else NACK) or translate-or-pass"),
    CHOICE("link", "heartbeat", L(heartbeat), heartbeat_names, CG_RELAY_HB_PASS, 0,
           "pass, pass-or-answer (answered here while the far side is away) or answer"),
    TEXT("link", "legacy_buddy", L(legacy_buddy), NULL, 0,
         "the legacy gear's buddy (an NCS's backup server, a device's hot standby): its ID; "
         "the link gets a buddy leg (docs/redundancy.md)"),
    TEXT("link", "legacy_buddy_dial", L(legacy_buddy_dial), NULL, 0,
         "the buddy leg's legacy peer: HOST:LOWER,UPPER[,QUERY] where we connect"),
    TEXT("link", "legacy_buddy_listen", L(legacy_buddy_listen), NULL, 0,
         "the buddy leg's legacy peer: ADDR:LOWER,UPPER[,QUERY] where it connects to us"),
    TEXT("link", "legacy_buddy_allow", L(legacy_buddy_allow), NULL, 0,
         "ADDR[/BITS], ... that may connect to legacy_buddy_listen (default: any)"),
    CHOICE("link", "legacy_buddy_encoding", L(legacy_buddy_encoding), encoding_names,
           CG_MOS_UCS2BE, 0, "ucs2be or utf8: the buddy leg's legacy peer's encoding"),
    TEXT("link", "mos4_buddy", L(mos4_buddy), NULL, 0,
         "the far side's buddy (an NCS's backup, a device's hot standby): its ID; the link "
         "gets a buddy leg"),
    TEXT("link", "mos4_buddy_url", L(mos4_buddy_url), NULL, 0,
         "the buddy leg's far side endpoint (default: url)"),
    TEXT("link", "buddy_path", L(buddy_path), NULL, 0,
         "our MOS 4.0 endpoint path for the buddy leg, when it has an identity of its own "
         "(legacy_buddy, carried; default: path/buddy)"),
    CHOICE("link", "redundancy", L(redundancy), redundancy_names, CG_RELAY_CARRY, 0,
           "carry (both servers end to end, each as its own peer) or failover (the other side "
           "sees one peer; what it originates goes to the active server)"),
    NUMBER("link", "failover_after_ms", L(failover_after_ms), 1, 86400000, 3000, 0,
           "failover: the active server unreachable this long (the other up): switch"),
    NUMBER("link", "failback_after_ms", L(failback_after_ms), 0, 86400000, 30000, 0,
           "failover: the primary back this long: switch back (0: never, the operator decides)"),
    CHOICE("link", "leg_state", L(leg_state), leg_state_names, CG_RELAY_LEG_DEFAULT, 0,
           "mirror (a leg behaves as a wire for its gear: one side of it down, the other side's "
           "connections of that leg are closed and refused and its requests given up; "
           "docs/redundancy.md), keep (connections stay "
           "up; requests wait for a side that is away) or default (mirror on a carried link "
           "with a buddy, keep on one without)"),
    NUMBER("link", "leg_down_after_ms", L(leg_down_after_ms), 1, 86400000, 1000, 0,
           "leg_state mirror: one side of a leg down this long: hold the other (keep it well "
           "below the gear's answer timeout)"),
    NUMBER("link", "leg_up_after_ms", L(leg_up_after_ms), 1, 86400000, 2000, 0,
           "leg_state mirror: the lost side back this long: release the other (hysteresis)"),
    /* [pair] (issue 18, docs/redundancy.md; castgate run: tools/pair_run.c) */
    CHOICE("pair", "node", PR(node), node_names, -1, R,
           "0 or 1: which machine of the pair this is (node 0 dials node 1; the file may be the "
           "same on both machines but for this line)"),
    TEXT("pair", "listen", PR(listen), NULL, R,
         "node 1: ADDR:PORT where node 0 connects (this machine's own address, not the virtual "
         "one)"),
    TEXT("pair", "path", PR(path), "/castgate/pair", R,
         "node 1: the path of the replication connection"),
    PATH("pair", "credentials", PR(credentials), R,
         "node 1: htpasswd file node 0 logs in with (M-05; castgate passwd)"),
    TEXT("pair", "peer", PR(peer), NULL, R,
         "node 0: node 1's replication endpoint, wss://HOST:PORT/castgate/pair"),
    PATH("pair", "ca", PR(ca), R, "node 0: trusted root(s) for node 1's certificate (B-14)"),
    PATH("pair", "ca_dir", PR(ca_dir), R, "node 0: hashed directory of trusted roots"),
    TEXT("pair", "pin", PR(pin), NULL, R, "node 0: SHA-256 of node 1's certificate (M-06)"),
    TEXT("pair", "cert_name", PR(cert_name), NULL, R,
         "node 0: the name node 1's certificate must carry instead of the peer url's host"),
    TEXT("pair", "user", PR(user), NULL, R, "node 0: our user name at node 1 (M-05)"),
    PATH("pair", "password_file", PR(password_file), R,
         "node 0: file holding our password at node 1"),
    NUMBER("pair", "heartbeat_ms", PR(heartbeat_ms), 10, 60000, 200, R,
           "a heartbeat each way this often"),
    NUMBER("pair", "takeover_after_ms", PR(takeover_after_ms), 30, 600000, 1000, R,
           "the standby takes over when the active was silent this long (more than 2 x "
           "heartbeat_ms)"),
    FLAG("pair", "strict", PR(strict), 0, R,
         "without a standby, hold answers until one is back (no: answer at once, degraded)"),
    PATH("pair", "active_file", PR(active_file), R,
         "a file that exists while this machine is active (for keepalived's track script)"),
};
#undef R
const size_t mos_opt_nrows = sizeof(mos_opt_rows) / sizeof(mos_opt_rows[0]);

/* ---- what a row says ---- */

void opt_bounds(const struct opt_row *r, long *min, long *max)
{
    *min = r->min;
    *max = r->max;
    int64_t lo, hi;
    bool zero_off;
    if (r->lib == OPT_NONE ||
        cg_mos_endpoint_option_info((enum cg_mos_option)r->lib, &lo, &hi, NULL, &zero_off) != CG_OK)
        return;
    *min = zero_off ? 0 : (long)((lo + r->scale - 1) / r->scale);
    *max = (long)(hi / r->scale);
}

static long row_default(const struct opt_row *r)
{
    int64_t def = r->def;
    if (r->lib != OPT_NONE)
        cg_mos_endpoint_option_info((enum cg_mos_option)r->lib, NULL, NULL, &def, NULL);
    return r->lib != OPT_NONE ? (long)(def / r->scale) : (long)def;
}

void opt_default_text(const struct opt_row *r, char *out, size_t size)
{
    long def = row_default(r);
    out[0] = '\0';
    if (r->type == OPT_TEXT && r->def_text != NULL)
        snprintf(out, size, "%s", r->def_text);
    else if (r->type == OPT_NUMBER)
        snprintf(out, size, "%ld", def);
    else if (r->type == OPT_FLAG)
        snprintf(out, size, "%s", def ? "yes" : "no");
    else if (r->type == OPT_CHOICE && def >= 0)
        snprintf(out, size, "%s", r->names[def]);
}

void opt_names_text(const struct opt_row *r, char *out, size_t size)
{
    size_t n = 0, len = 0;
    while (r->names[n] != NULL)
        n++;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(out + len, size - len, "%s%s", sep, r->names[i]);
        len += w > 0 ? (size_t)w : 0;
    }
}

bool opt_in(const struct opt_row *r, bool gateway_file, const char *sect)
{
    if (!gateway_file)
        return strcmp(r->section, sect) == 0;
    if (strcmp(sect, "gateway") == 0)
        return !strcmp(r->section, "gateway") ||
               (!strcmp(r->section, "endpoint") && !(r->flags & OPT_NOT_GW));
    if (strcmp(sect, "link") == 0)
        return !strcmp(r->section, "link") || !strcmp(r->section, "peer");
    return strcmp(r->section, sect) == 0; /* "pair" */
}

/* ---- reading ---- */

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
    bool in_pair;              /* in [pair] */
    struct cg_mos_endpoint_config *check; /* the library checks each value on it */
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

/* A number, flag or choice into its field, or into opt[] for a library option. */
static void store(const struct opt_row *row, char *base, long v)
{
    if (row->lib != OPT_NONE)
        ((struct mosconf *)base)->opt[row->lib] = (int64_t)v * row->scale;
    else if (row->size == sizeof(int))
        *(int *)(base + row->off) = (int)v;
    else
        *(long *)(base + row->off) = v;
}

static int bad_value(const struct reader *r, const struct opt_row *row, const char *v)
{
    char why[300], names[200];
    long min, max;
    if (row->type == OPT_FLAG)
        return fail(r, "expected yes or no", v);
    if (row->type == OPT_CHOICE) {
        opt_names_text(row, names, sizeof(names));
        snprintf(why, sizeof(why), "%s must be %s", row->name, names);
    } else {
        opt_bounds(row, &min, &max);
        snprintf(why, sizeof(why), "%s must be %ld..%ld", row->name, min, max);
    }
    return fail(r, why, v);
}

/* The text of a number, flag or choice as a number (-1: not one). */
static bool parse_value(const struct opt_row *row, const char *v, long *out)
{
    if (row->type == OPT_FLAG) {
        bool yes = !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1");
        bool no = !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0");
        *out = yes;
        return yes || no;
    }
    if (row->type == OPT_CHOICE) {
        for (long i = 0; row->names[i] != NULL; i++)
            if (strcmp(v, row->names[i]) == 0)
                return (*out = i), true;
        return false;
    }
    char *end;
    errno = 0;
    *out = strtol(v, &end, 10);
    return *v != '\0' && *end == '\0' && errno == 0;
}

/* Checked by the library for its options (the only place their bounds
 * are), by the row's bounds for the others. */
static int put_value(const struct reader *r, const struct opt_row *row, char *base, const char *v)
{
    long n;
    bool ok = parse_value(row, v, &n);
    if (ok && row->lib != OPT_NONE)
        ok = n >= -(INT64_MAX / row->scale) && n <= INT64_MAX / row->scale &&
             cg_mos_endpoint_config_set_option(r->check, (enum cg_mos_option)row->lib,
                                               (int64_t)n * row->scale) == CG_OK;
    else if (ok && row->type == OPT_NUMBER)
        ok = n >= row->min && n <= row->max;
    if (!ok)
        return bad_value(r, row, v);
    store(row, base, n);
    return 0;
}

static int put(struct reader *r, const struct opt_row *row, char *base, char *v)
{
    switch (row->type) {
    case OPT_CERT: return put_cert(r, v);
    case OPT_TEXT:
    case OPT_PATH: return put_str(r, base + row->off, row->size, v, row->type == OPT_PATH);
    default: return put_value(r, row, base, v);
    }
}

static const struct opt_row *find_row(const char *sect, const char *key)
{
    for (size_t i = 0; i < mos_opt_nrows; i++)
        if (strcmp(mos_opt_rows[i].section, sect) == 0 && strcmp(mos_opt_rows[i].name, key) == 0)
            return &mos_opt_rows[i];
    return NULL;
}

/* Remembers where listen and auth were set, for check_auth's errors. */
static int note_line(struct reader *r, const char *key, int rc)
{
    bool top = rc == 0 && r->link == NULL && r->peer == NULL && !r->in_pair;
    if (top && !strcmp(key, "listen"))
        r->c->listen_line = r->line;
    if (top && !strcmp(key, "auth"))
        r->c->auth_line = r->line;
    return rc;
}

static int set_option(struct reader *r, const char *key, char *v)
{
    const struct opt_row *row;
    if (r->in_pair) {
        if ((row = find_row("pair", key)) != NULL)
            return put(r, row, (char *)&r->gw->pair, v);
    } else if (r->link != NULL) { /* [link]: its own options, then the [peer] ones */
        if ((row = find_row("link", key)) != NULL)
            return put(r, row, (char *)r->link, v);
        if ((row = find_row("peer", key)) != NULL)
            return put(r, row, (char *)&r->link->p, v);
    } else if (r->gw != NULL) { /* [gateway]: its own, then the endpoint-wide ones */
        if ((row = find_row("gateway", key)) != NULL)
            return put(r, row, (char *)r->gw, v);
        if ((row = find_row("endpoint", key)) != NULL && !(row->flags & OPT_NOT_GW))
            return put(r, row, (char *)r->c, v);
    } else if ((row = find_row(r->peer != NULL ? "peer" : "endpoint", key)) != NULL) {
        return put(r, row, r->peer != NULL ? (char *)r->peer : (char *)r->c, v);
    }
    return fail(r, "unknown option", key);
}

/* The defaults of a section's rows into base. */
static void defaults(const char *sect, char *base)
{
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *row = &mos_opt_rows[i];
        if (strcmp(row->section, sect) != 0 || row->type == OPT_CERT)
            continue;
        if (row->type == OPT_TEXT || row->type == OPT_PATH)
            snprintf(base + row->off, row->size, "%s", row->def_text ? row->def_text : "");
        else
            store(row, base, row_default(row));
    }
}

/* [pair]: at most one (a machine is one node of one pair). */
static int pair_section(struct reader *r)
{
    struct gwpair *p = &r->gw->pair;
    if (p->present)
        return fail(r, "a second [pair] section (a machine is one node of one pair)", NULL);
    p->present = 1;
    p->line = r->line;
    r->in_pair = true;
    return 0;
}

static int gw_section(struct reader *r, char *s)
{
    r->link = NULL;
    r->in_pair = false;
    if (strcmp(s, "gateway") == 0)
        return 0;
    if (strcmp(s, "pair") == 0)
        return pair_section(r);
    if (strncmp(s, "link", 4) != 0 || !isspace((unsigned char)s[4]))
        return fail(r, "unknown section (gateway, link NAME or pair)", s);
    struct gwconf *g = r->gw;
    if (g->nlinks >= GWCONF_MAX_LINKS)
        return fail(r, "too many links", NULL);
    if (g->links == NULL && (g->links = calloc(GWCONF_MAX_LINKS, sizeof(*g->links))) == NULL)
        return fail(r, "out of memory", NULL);
    r->link = &g->links[g->nlinks++];
    r->link->line = r->line;
    defaults("link", (char *)r->link);
    defaults("peer", (char *)&r->link->p);
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
    defaults("peer", (char *)r->peer);
    return put_str(r, r->peer->id, sizeof(r->peer->id), trim(s + 4), false);
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

/* Secure by default (M-05): a wss listener asks peers to log in unless the
 * file says, in so many words, that anyone may connect. */
static int check_auth(struct reader *r, const struct mosconf *c)
{
    bool none = c->auth == MOSCONF_AUTH_NONE;
    r->line = c->auth_line;
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
    if (c->listen[0] && c->auth == MOSCONF_AUTH_NONE)
        fprintf(stderr, "castgate %s: WARNING: auth = none: anyone who reaches %s may open MOS "
                "lanes without logging in (M-05)\n", who, c->listen);
}

/* The reader's start: defaults, and the configuration the library checks values on. */
static int begin(struct reader *r, struct mosconf *c)
{
    memset(c, 0, sizeof(*c));
    defaults("endpoint", (char *)c);
    if (cg_mos_endpoint_config_new(CG_MOS_ROLE_NCS, "check", &r->check) != CG_OK)
        return fail(r, "out of memory", NULL);
    return 0;
}

int mosconf_load(const char *path, struct mosconf *c)
{
    struct reader r = {.path = path, .c = c};
    int rc = begin(&r, c);
    if (rc == 0)
        rc = read_file(&r);
    cg_mos_endpoint_config_free(r.check);
    if (rc == 0 && (c->id[0] == '\0' || c->role < 0))
        rc = fail(&r, "[endpoint] needs role (ncs or mos) and id", NULL);
    if (rc == 0)
        rc = check_auth(&r, c);
    return rc;
}

enum cg_err mosconf_apply(const struct mosconf *c, struct cg_mos_endpoint_config *ec)
{
    enum cg_err rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < mos_opt_nrows; i++)
        if (mos_opt_rows[i].lib != OPT_NONE)
            rc = cg_mos_endpoint_config_set_option(ec, (enum cg_mos_option)mos_opt_rows[i].lib,
                                                   c->opt[mos_opt_rows[i].lib]);
    return rc;
}

/* A link's buddy leg (issue 18, docs/redundancy.md). */
static int check_buddy(struct reader *r, const struct gwlink *k, const char *what)
{
    bool lb = k->legacy_buddy[0] != '\0', mb = k->mos4_buddy[0] != '\0';
    bool fo = k->redundancy == CG_RELAY_FAILOVER;
    bool legacy_keys = k->legacy_buddy_dial[0] || k->legacy_buddy_listen[0] || k->legacy_buddy_allow[0];
    if (!lb && !mb) {
        if (legacy_keys || k->mos4_buddy_url[0] || k->buddy_path[0])
            return fail(r, "legacy_buddy_* / mos4_buddy_url / buddy_path without a buddy: add "
                        "legacy_buddy or mos4_buddy", what);
        if (fo)
            return fail(r, "redundancy = failover needs a buddy (legacy_buddy or mos4_buddy)", what);
        return 0;
    }
    const char *ids[] = {k->ncs_id, k->mos_id};
    for (int i = 0; i < 2; i++)
        if ((lb && !strcmp(k->legacy_buddy, ids[i])) || (mb && !strcmp(k->mos4_buddy, ids[i])))
            return fail(r, "a buddy is another server: its ID cannot be one of the link's", what);
    if (lb && mb && !strcmp(k->legacy_buddy, k->mos4_buddy))
        return fail(r, "legacy_buddy and mos4_buddy are the same ID", what);
    if (fo && lb && mb)
        return fail(r, "redundancy = failover: only one side can have a buddy", what);
    bool own_legacy = !fo || lb; /* the buddy leg has a legacy peer of its own */
    if (own_legacy && !k->legacy_buddy_dial[0] && !k->legacy_buddy_listen[0])
        return fail(r, "the buddy leg needs legacy_buddy_listen or legacy_buddy_dial (where its "
                    "legacy peer is)", what);
    if (!own_legacy && legacy_keys)
        return fail(r, "redundancy = failover with mos4_buddy: the gear keeps its one peer; "
                    "legacy_buddy_* do not apply", what);
    if (k->legacy_buddy_listen[0] && !strcmp(k->legacy_buddy_listen, k->p.legacy_listen))
        return fail(r, "legacy_buddy_listen is legacy_listen: each leg needs its own ports", what);
    if (k->buddy_path[0] && k->buddy_path[0] != '/')
        return fail(r, "buddy_path must start with /", k->buddy_path);
    return 0;
}

/* leg_state = mirror mirrors legs the gear sees (issue 18). */
static int check_leg_state(struct reader *r, const struct gwlink *k, const char *what)
{
    if (k->leg_state == CG_RELAY_LEG_MIRROR && k->redundancy == CG_RELAY_FAILOVER)
        return fail(r, "leg_state = mirror needs redundancy = carry: under failover the gear "
                    "sees one peer, whose state the failover decides", what);
    return 0;
}

/* One link on its own. */
static int check_link(struct reader *r, const struct gwconf *g, struct gwlink *k)
{
    r->line = k->line;
    char what[300];
    snprintf(what, sizeof(what), "[link %s]", k->name);
    if (k->legacy < 0)
        return fail(r, "legacy must be ncs or mos (the legacy gear on this side)", what);
    if (k->ncs_id[0] == '\0' || k->mos_id[0] == '\0')
        return fail(r, "ncs_id and mos_id are needed", what);
    if (!k->p.legacy_dial[0] && !k->p.legacy_listen[0])
        return fail(r, "legacy_listen or legacy_dial is needed (where the legacy gear is)", what);
    enum cg_mos_mode m = (enum cg_mos_mode)k->p.mode;
    if (m == CG_MOS_PASSIVE_INSIDE && !k->p.url[0])
        return fail(r, "mode passive-inside needs the far side's url", what);
    if (m == CG_MOS_PASSIVE_OUTSIDE && !g->g.listen[0])
        return fail(r, "the far side connects to us in this mode: [gateway] needs listen", what);
    if (m == CG_MOS_STANDARD) {
        if (!g->g.listen[0]) /* legal: a far side that never originates (a prompter, say) */
            fprintf(stderr, "%s:%d: warning: %s: no [gateway] listen: what the far side "
                    "originates cannot reach us\n", r->path, k->line, what);
        if (!k->p.url[0])
            fprintf(stderr, "%s:%d: warning: %s: no url: what the gear originates waits until "
                    "the far side's url is given\n", r->path, k->line, what);
    }
    if (k->path[0] != '/')
        return fail(r, "path must start with /", k->path);
    int rc = check_buddy(r, k, what);
    return rc != 0 ? rc : check_leg_state(r, k, what);
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
            const char *ida = a->legacy == CG_MOS_ROLE_NCS ? a->ncs_id : a->mos_id;
            const char *idb = b->legacy == CG_MOS_ROLE_NCS ? b->ncs_id : b->mos_id;
            bool same = a->legacy == b->legacy && !strcmp(ida, idb);
            if (g->g.listen[0] && !strcmp(a->path, b->path) && !same)
                return fail(r, "another MOS 4.0 identity uses this path: give one link another path",
                            b->name);
            if (same && strcmp(a->path, b->path))
                return fail(r, "links with the same legacy gear share its path", b->name);
        }
    return 0;
}

/* ---- [pair] (issue 18, docs/redundancy.md "The gateway pair") ---- */

/* "ADDR:PORT" with a port of 1..65535 (the other node must know it). */
static bool addr_port_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || !isdigit((unsigned char)colon[1]))
        return false;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && errno == 0 && port >= 1 && port <= 65535;
}

/* wss only (B-30), credentials never in the URL (M-05): user and password_file. */
static bool pair_url_ok(const char *u)
{
    if (strncmp(u, "wss://", 6) != 0 || u[6] == '\0' || u[6] == '/')
        return false;
    size_t auth = strcspn(u + 6, "/?#");
    return memchr(u + 6, '@', auth) == NULL;
}

/* The trust keys as the library will take them (the pin's form, the name's). */
static int check_pair_trust(struct reader *r, const struct gwpair *p)
{
    struct cg_ws_client_config *cc = NULL;
    if (cg_ws_client_config_new(&cc) != CG_OK)
        return fail(r, "out of memory", NULL);
    bool pin = !p->pin[0] || cg_ws_client_config_set_pin(cc, p->pin) == CG_OK;
    bool name = !p->cert_name[0] || cg_ws_client_config_set_cert_name(cc, p->cert_name) == CG_OK;
    cg_ws_client_config_free(cc);
    if (!pin)
        return fail(r, "[pair] pin must be 64 hex digits (colons allowed): the SHA-256 of node 1's "
                    "certificate", p->pin);
    if (!name)
        return fail(r, "[pair] cert_name must be a DNS name (no wildcard) or an IP address",
                    p->cert_name);
    return 0;
}

/* The values given, whichever node this is (one file may serve both). */
static int check_pair_values(struct reader *r, const struct gwconf *g, const struct gwpair *p)
{
    if (p->takeover_after_ms <= 2 * p->heartbeat_ms)
        return fail(r, "[pair] takeover_after_ms must be more than 2 x heartbeat_ms (a late "
                    "heartbeat is not a dead peer)", NULL);
    if (p->path[0] != '/')
        return fail(r, "[pair] path must start with /", p->path);
    if (p->listen[0] && !addr_port_ok(p->listen))
        return fail(r, "[pair] listen must be ADDR:PORT (port 1..65535)", p->listen);
    if (p->listen[0] && (!strcmp(p->listen, g->g.listen) || !strcmp(p->listen, g->admin_listen)))
        return fail(r, "[pair] listen is another listener's address: give the pair a port of its "
                    "own", p->listen);
    if (p->peer[0] && !pair_url_ok(p->peer))
        return fail(r, "[pair] peer must be a wss:// URL without user information (B-30; our "
                    "login goes in user and password_file)", NULL); /* it may hold a password */
    return check_pair_trust(r, p);
}

/* What this node needs: node 0 dials, node 1 accepts. */
static int check_pair_node(struct reader *r, const struct gwconf *g, const struct gwpair *p)
{
    if (p->node == 0) {
        if (!p->peer[0])
            return fail(r, "[pair] node 0 dials node 1: it needs peer = "
                        "wss://HOST:PORT/castgate/pair", NULL);
        if (!p->user[0] || !p->password_file[0])
            return fail(r, "[pair] node 0 needs user and password_file (node 1 asks for "
                        "credentials, M-05)", NULL);
        return 0;
    }
    if (!p->listen[0])
        return fail(r, "[pair] node 1 accepts node 0's connection: it needs listen = ADDR:PORT "
                    "(this machine's own address)", NULL);
    if (!p->credentials[0])
        return fail(r, "[pair] node 1 needs credentials = FILE (htpasswd, made by castgate "
                    "passwd): node 0 logs in (M-05)", NULL);
    if (g->g.ncerts == 0)
        return fail(r, "[pair] node 1's listener needs a [gateway] cert (TLS only, B-20)", NULL);
    return 0;
}

static int check_pair(struct reader *r, const struct gwconf *g)
{
    const struct gwpair *p = &g->pair;
    if (!p->present)
        return 0;
    r->line = p->line;
    if (p->node < 0)
        return fail(r, "[pair] needs node = 0 or 1 (0 on one machine, 1 on the other)", NULL);
    if (!g->journal)
        return fail(r, "[pair] needs journal = yes in [gateway]: the journal is what the pair "
                    "replicates", NULL);
    int rc = check_pair_values(r, g, p);
    return rc != 0 ? rc : check_pair_node(r, g, p);
}

int gwconf_load(const char *path, struct gwconf *c)
{
    memset(c, 0, sizeof(*c));
    struct reader r = {.path = path, .c = &c->g, .gw = c};
    int rc = begin(&r, &c->g);
    defaults("gateway", (char *)c);
    defaults("pair", (char *)&c->pair);
    if (rc == 0)
        rc = read_file(&r);
    cg_mos_endpoint_config_free(r.check);
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
    if (rc == 0)
        rc = check_pair(&r, c);
    return rc;
}

void gwconf_free(struct gwconf *c)
{
    free(c->links);
    c->links = NULL;
    c->nlinks = 0;
}

/* ---- the reload check ---- */

static bool differs(const struct opt_row *row, const char *a, const char *b)
{
    if (row->lib != OPT_NONE)
        return ((const struct mosconf *)a)->opt[row->lib] !=
               ((const struct mosconf *)b)->opt[row->lib];
    if (row->type == OPT_TEXT || row->type == OPT_PATH)
        return strcmp(a + row->off, b + row->off) != 0;
    return row->type != OPT_CERT && memcmp(a + row->off, b + row->off, row->size) != 0;
}

/* Where a row's field is in a gateway file's configuration. */
static const char *row_base(const struct opt_row *row, const struct gwconf *c)
{
    if (strcmp(row->section, "gateway") == 0)
        return (const char *)c;
    if (strcmp(row->section, "pair") == 0)
        return (const char *)&c->pair;
    return (const char *)&c->g;
}

/* The restart rows of section sect ("gateway": with the endpoint-wide ones)
 * that differ between old and now, as "a, b". */
static void fixed_changes(const char *sect, const struct gwconf *old, const struct gwconf *now,
                          char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *row = &mos_opt_rows[i];
        if (!(row->flags & OPT_RESTART) || !opt_in(row, true, sect))
            continue;
        if (!differs(row, row_base(row, old), row_base(row, now)) || len >= size)
            continue;
        int w = snprintf(out + len, size - len, "%s%s", len ? ", " : "", row->name);
        len += w > 0 ? (size_t)w : 0;
    }
}

void gwconf_fixed_changes(const struct gwconf *old, const struct gwconf *now, char *out,
                          size_t size)
{
    fixed_changes("gateway", old, now, out, size);
}

void gwconf_pair_changes(const struct gwconf *old, const struct gwconf *now, char *out,
                         size_t size)
{
    fixed_changes("pair", old, now, out, size);
}
