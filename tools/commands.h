/* The castgate program's subcommands. Each lives in tools/cmd_<name>.c and
 * returns a process exit status (0 ok, 1 failure, 2 usage). */
#ifndef CG_TOOLS_COMMANDS_H
#define CG_TOOLS_COMMANDS_H

struct cg_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int cmd_version(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_dnssd(int argc, char **argv);
int cmd_mos(int argc, char **argv);
int cmd_mos_serve(int argc, char **argv);
int cmd_mos_send(int argc, char **argv);
int cmd_mos_catalog(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_front(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_config(int argc, char **argv); /* hidden: not in CG_COMMANDS */

/* Every subcommand, in --help order. Add a row here and a tools/cmd_X.c. */
#define CG_COMMANDS                                                                                \
    {"run", "the gateway: legacy MOS 2.x gear on MOS 4.0", cmd_run},                              \
    {"serve", "serve a BCP-003-01 HTTPS/WSS endpoint (WebSocket echo)", cmd_serve},                \
    {"front", "an NMOS node or registry (plain HTTP/ws) behind BCP-003-01", cmd_front},           \
    {"connect", "connect to a wss endpoint, send, print what arrives (JSON)", cmd_connect},       \
    {"cert", "certificate authority, issuing, revocation, OCSP responder, cert store", cmd_cert},   \
    {"trust", "trusted roots (add/remove/list) and pins for self-signed peers", cmd_trust},      \
    {"check", "audit an HTTPS/wss endpoint against BCP-003-01 (check tls URL)", cmd_check},        \
    {"version", "print the version", cmd_version},                                                 \
    {"discover", "list DNS-SD instances of a service type (unicast)", cmd_discover},               \
    {"dnssd", "register/withdraw DNS-SD records by DNS UPDATE, or print zone records", cmd_dnssd}, \
    {"mos", "MOS 4.0: serve, send, inspect a captured stream", cmd_mos},                         \
    {"passwd", "add, replace, delete or check a user in a MOS 4.0 credential file", cmd_passwd},

#endif
