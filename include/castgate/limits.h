/* castgate — the limits of a connection, which a server's configuration
 * (cg_server_config_set_limit) and a wss client's (cg_ws_client_config_set_limit)
 * set. Included by castgate/server.h and castgate/client.h; a header of its
 * own so that the library's connection layer (src/net/) can read them
 * without the server's API. */
#ifndef CASTGATE_LIMITS_H
#define CASTGATE_LIMITS_H

#ifdef __cplusplus
extern "C" {
#endif

enum cg_server_limit {
    CG_LIMIT_MAX_CONNECTIONS = 0,  /* default 10000; further connections are closed at once */
    CG_LIMIT_MAX_HEADER_BYTES = 1, /* default 16384; more: 431 */
    CG_LIMIT_MAX_BODY_BYTES = 2,   /* default 1048576; more: 413 */
    CG_LIMIT_MAX_WS_MESSAGE = 3,   /* default 16777216; more: close 1009 */
    CG_LIMIT_HANDSHAKE_MS = 4,     /* default 10000: TLS handshake must finish */
    CG_LIMIT_HEADER_MS = 5,        /* default 10000: request headers must arrive (slowloris) */
    CG_LIMIT_IDLE_MS = 6,          /* default 60000: idle HTTP keep-alive connection */
    CG_LIMIT_WS_PING_MS = 7,       /* default 30000: ping a silent WebSocket peer */
    CG_LIMIT_WS_PONG_MS = 8,       /* default 30000: close if nothing arrives after a ping */
    CG_LIMIT_MAX_WRITE_QUEUE = 9,  /* default 8388608 bytes queued to one peer before reads pause */
    /* The front door (cg_server_config_set_handshake_threads): */
    CG_LIMIT_HANDSHAKES_IN_FLIGHT = 10,   /* default 8 (max 1024): TLS handshake steps on the
                                           * front-door threads at once; more wait in line,
                                           * fairly: one step per address and round */
    CG_LIMIT_HANDSHAKES_PER_ADDRESS = 11  /* default 1024 (max 1000000): connections from one IP
                                           * address with an unfinished TLS handshake; more are
                                           * closed at accept */
};

#ifdef __cplusplus
}
#endif

#endif
