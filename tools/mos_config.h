/* The MOS endpoint configuration file of `castgate mos serve|send` (INI).
 * One table row per option drives parsing, validation and --help
 * (tools/mos_config.c). Relative paths are taken from the file's folder. */
#ifndef CG_TOOLS_MOS_CONFIG_H
#define CG_TOOLS_MOS_CONFIG_H

#include <castgate/castgate.h>
#include <stdio.h>

#define MOSCONF_MAX_PEERS 64
#define MOSCONF_MAX_CERTS 4

struct mosconf_peer {
    char id[513];
    char url[1024];
    char mode[24];
    char channels[32];
    char ca[1024], ca_dir[1024], user[256], password_file[1024], pin[100], cert_name[256];
    int self_signed, text_frames;
    char legacy_dial[300], legacy_listen[120], legacy_encoding[16];
    char legacy_allow[1024];
};

struct mosconf {
    char role[8], id[513];
    char listen[80], path[256];
    char cert[MOSCONF_MAX_CERTS][1024], key[MOSCONF_MAX_CERTS][1024];
    int ncerts;
    char credentials[1024], state_dir[1024];
    char auth[8];                /* "", basic or none: none lets anyone in (M-05) */
    int listen_line, auth_line;  /* where the file set them, for errors */
    long keepalive_s, ack_timeout_ms, retries, reconnect_max_ms, max_message, silent_reset_s;
    long refused_backoff_max_ms;
    int ocsp, validate, hsts;
    long max_attributes, max_depth, validate_async_bytes; /* 0: the library's defaults */
    char removed_in_4[16];
    char heartbeat_time[8]; /* full (default) or short (M-24) */
    char reused_id[16]; /* deliver (default) or nack */
    struct mosconf_peer peers[MOSCONF_MAX_PEERS];
    int npeers;
};

/* castgate run --config: [gateway] (the endpoint options that apply to the
 * whole gateway, and the journal) and one [link NAME] per legacy peer paired
 * with its MOS 4.0 peer. */
#define GWCONF_MAX_LINKS 2048

struct gwlink {
    char name[128];
    char legacy[8];         /* ncs or mos: the legacy gear on this side */
    char ncs_id[513], mos_id[513];
    char path[256];         /* our MOS 4.0 endpoint path for this link */
    char removed_in_4[16];  /* pass, reject or translate (M-12) */
    char heartbeat[24];     /* pass, pass-or-answer or answer (M-10) */
    struct mosconf_peer p;  /* the [peer] options: url, mode, channels, trust, legacy_* */
    int line;               /* of the section header */
};

struct gwconf {
    struct mosconf g; /* [gateway]: listen, cert, credentials, state_dir, timing, limits */
    int journal;
    char fsync[16];
    long fsync_interval_ms, drain_ms;
    char admin_listen[80], admin_credentials[1024]; /* tools/admin.c: /metrics */
    struct gwlink *links;
    int nlinks;
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
/* castgate.conf(5) in roff, generated from the same table (castgate config
 * --man; the build installs its output), so the page cannot drift. */
void mosconf_man(FILE *f, const char *version);

#endif
