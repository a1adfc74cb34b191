/* The configuration files of `castgate mos serve|send` and `castgate run`
 * (INI). One table row per option (tools/mos_config.c) drives parsing,
 * --help, castgate.conf(5), docs/options.md and the reload check; the
 * library's setters check the values (an endpoint option's bounds and default
 * are the library's: cg_mos_endpoint_option_info). Relative paths are taken
 * from the file's folder. An option that is a choice is stored as its enum
 * value (the row lists the names). */
#ifndef CG_TOOLS_MOS_CONFIG_H
#define CG_TOOLS_MOS_CONFIG_H

#include <castgate/castgate.h>
#include <stdio.h>

#define MOSCONF_MAX_PEERS 64
enum { MOSCONF_AUTH_BASIC = 0, MOSCONF_AUTH_NONE = 1 };
#define MOSCONF_MAX_CERTS 4

struct mosconf_peer {
    char id[513];
    char url[1024];
    int mode; /* enum cg_mos_mode */
    char channels[32];
    char ca[1024], ca_dir[1024], user[256], password_file[1024], pin[100], cert_name[256];
    int self_signed, text_frames;
    char legacy_dial[300], legacy_listen[120];
    int legacy_encoding; /* enum cg_mos_encoding */
    char legacy_allow[1024];
};

struct mosconf {
    int role; /* enum cg_mos_role; -1: not given */
    char id[513];
    char listen[80], path[256];
    char cert[MOSCONF_MAX_CERTS][1024], key[MOSCONF_MAX_CERTS][1024];
    int ncerts;
    char credentials[1024], state_dir[1024];
    int auth;                    /* MOSCONF_AUTH_BASIC or _NONE: none lets anyone in (M-05) */
    int listen_line, auth_line;  /* where the file set them, for errors */
    int ocsp;
    long hsts;
    int removed_in_4; /* enum cg_relay_removed: pass or reject */
    /* The endpoint options the library knows by number, in its units (ms,
     * bytes, 0/1, an enum value); mosconf_apply sets them. */
    int64_t opt[CG_MOS_OPT_COUNT];
    struct mosconf_peer peers[MOSCONF_MAX_PEERS];
    int npeers;
};

/* castgate run --config: [gateway] (the endpoint options that apply to the
 * whole gateway, and the journal), one [link NAME] per legacy peer paired
 * with its MOS 4.0 peer, and at most one [pair]. */
#define GWCONF_MAX_LINKS 2048

struct gwlink {
    char name[128];
    int legacy;             /* enum cg_mos_role: the legacy gear on this side; -1: not given */
    char ncs_id[513], mos_id[513];
    char path[256];         /* our MOS 4.0 endpoint path for this link */
    int removed_in_4;       /* enum cg_relay_removed (M-12) */
    int heartbeat;          /* enum cg_relay_heartbeat (M-10) */
    /* redundancy (issue 18, docs/redundancy.md): a buddy leg */
    char legacy_buddy[513], mos4_buddy[513]; /* the buddies' IDs ("": none) */
    char legacy_buddy_dial[300], legacy_buddy_listen[120], legacy_buddy_allow[1024];
    int legacy_buddy_encoding;               /* enum cg_mos_encoding */
    char mos4_buddy_url[1024];               /* "": url */
    char buddy_path[256];                    /* "": path + "/buddy" */
    int redundancy;                          /* enum cg_relay_redundancy */
    long failover_after_ms, failback_after_ms; /* failback 0: never (the operator) */
    int leg_state;                           /* enum cg_relay_leg_state */
    long leg_down_after_ms, leg_up_after_ms;
    struct mosconf_peer p;  /* the [peer] options: url, mode, channels, trust, legacy_* */
    int line;               /* of the section header */
};

/* [pair] (issue 18, docs/redundancy.md "The gateway pair"): this machine
 * as one node of an active/standby pair. One file may serve both machines
 * but for node: node 0 dials node 1 (peer, its trust, user, password_file),
 * node 1 accepts (listen, path, credentials, the [gateway] certificates);
 * each uses its own keys and ignores the other's. castgate run acts on it
 * (tools/pair_run.h). */
struct gwpair {
    int present;                  /* the file has a [pair] section */
    int node;                     /* 0 or 1; -1: not given */
    char listen[80], path[256];   /* node 1: where node 0 connects */
    char credentials[1024];       /* node 1: htpasswd file node 0 logs in with (M-05) */
    char peer[1024];              /* node 0: wss://HOST:PORT/PATH of node 1 */
    char ca[1024], ca_dir[1024], pin[100], cert_name[256]; /* node 0: node 1's certificate */
    char user[256], password_file[1024];                   /* node 0: our login at node 1 */
    long heartbeat_ms, takeover_after_ms;
    int strict;                   /* without a standby: hold answers (yes) or go on (no) */
    char active_file[1024];       /* exists while this machine is active (keepalived) */
    int line;                     /* of the section header */
};

struct gwconf {
    struct mosconf g; /* [gateway]: listen, cert, credentials, state_dir, timing, limits */
    int journal;
    int fsync; /* enum cg_mos_fsync */
    long fsync_interval_ms, drain_ms;
    char admin_listen[80], admin_credentials[1024]; /* tools/admin.c: /metrics */
    struct gwlink *links;
    int nlinks;
    struct gwpair pair; /* [pair]; .present 0: a gateway on its own */
};

/* Reads a gateway file (defaults first) and checks it as a whole (IDs,
 * ports and paths that clash). On error prints "path:line: reason" and
 * returns -1. gwconf_free releases it (also after an error). */
int gwconf_load(const char *path, struct gwconf *c);
void gwconf_free(struct gwconf *c);
void gwconf_help(FILE *f);

/* Reads path into c (defaults first). On error prints "path:line: reason"
 * to stderr and returns -1. */
int mosconf_load(const char *path, struct mosconf *c);
/* Says loudly on stderr that a listener lets anyone in (auth = none);
 * nothing otherwise. who: "run", "mos". */
void mosconf_warn_open(const char *who, const struct mosconf *c);
/* The file format, generated from the table, for --help. */
void mosconf_help(FILE *f);
/* Sets every endpoint option the library knows by number on ec. */
enum cg_err mosconf_apply(const struct mosconf *c, struct cg_mos_endpoint_config *ec);
/* The [gateway] options whose change a reload cannot apply (the table's
 * restart rows) that differ between old and now, as "a, b"; "" for none. */
void gwconf_fixed_changes(const struct gwconf *old, const struct gwconf *now, char *out,
                          size_t size);
/* The same for [pair] (every [pair] option takes a restart): the names of
 * those that differ, as "a, b"; "" for none. */
void gwconf_pair_changes(const struct gwconf *old, const struct gwconf *now, char *out,
                         size_t size);
/* docs/options.md: the options as Markdown tables, from the table. */
void mosconf_markdown(FILE *f);
/* castgate.conf(5) in roff, generated from the same table (castgate config
 * --man; the build installs its output), so the page cannot drift. */
void mosconf_man(FILE *f, const char *version);

#endif
