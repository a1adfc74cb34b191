/* The WebSocket client (internal). */
#ifndef CG_WSS_CLIENT_H
#define CG_WSS_CLIENT_H

#include "wss/config.h"

#include <castgate/client.h>

struct cg_ws_client_config {
    char *ca_file;
    char *ca_dir;
    uint8_t pin[32];
    bool has_pin;
    bool allow_self_signed;
    bool require_staple;
    bool insecure;
    char *auth; /* "Basic …", wiped when freed */
    char *cert_name; /* checked instead of the URL host; NULL: the host */
    struct cg_server_limits lim;
};

struct cg_ws_client {
    struct cg_ctx *ctx;
    struct cg_tls_client *tls;
    struct cg_server_limits lim;
    char *auth;
    char *cert_name; /* checked instead of the URL host; NULL: the host */
    struct cg_dial *dials; /* open connections */
    size_t ndials;
    bool freeing;
    char last_fail[400]; /* the last failure logged: repeats go to DEBUG */
    struct cg_wss_stats hs; /* set-up results (cg_ws_client_handshake_stats) */
};

#endif
