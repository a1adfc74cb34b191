/* The definition of the public struct cg_server_config (internal). */
#ifndef CG_WSS_CONFIG_H
#define CG_WSS_CONFIG_H

#include "wss/wss.h"

#include <netinet/in.h>

#define CG_SERVER_NLIMITS 12

struct cg_server_config {
    struct {
        char addr[INET6_ADDRSTRLEN];
        uint16_t port;
    } *listen;
    size_t nlisten;
    struct cg_tls_cert_paths *certs;
    size_t ncerts;
    uint32_t hsts_max_age;
    bool hsts_subdomains;
    char **cors;
    size_t ncors;
    bool ocsp;
    char *ocsp_responder;
    bool tickets;
    bool loop_handshakes; /* cg_server_config_set_handshake_threads(false) */
    struct cg_server_limits lim;
};

void cg__limits_default(struct cg_server_limits *lim);
enum cg_err cg__limit_set(struct cg_server_limits *lim, enum cg_server_limit which,
                          uint64_t value);

#endif
