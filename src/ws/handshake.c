/* The server side of the WebSocket opening handshake (RFC 6455 §4.2). */
#include "ws/ws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <openssl/sha.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int cg__ws_check_upgrade(const struct cg_http_request *req, const char **reason)
{
    const char *up = cg__http_request_header(req, "Upgrade");
    const char *conn = cg__http_request_header(req, "Connection");
    const char *ver = cg__http_request_header(req, "Sec-WebSocket-Version");
    const char *key = cg__http_request_header(req, "Sec-WebSocket-Key");
    if (req->http_major < 1 || (req->http_major == 1 && req->http_minor < 1)) {
        *reason = "WebSocket needs HTTP/1.1 or later"; /* RFC 6455 §4.1 */
        return 400;
    }
    if (up == NULL || !cg__http_header_has_token(up, "websocket")) {
        *reason = "not a WebSocket upgrade";
        return 426;
    }
    if (conn == NULL || !cg__http_header_has_token(conn, "upgrade")) {
        *reason = "Connection header lacks upgrade";
        return 400;
    }
    if (ver == NULL || strcmp(ver, "13") != 0) {
        *reason = "unsupported Sec-WebSocket-Version";
        return 426;
    }
    uint8_t raw[32];
    size_t klen = key != NULL ? strlen(key) : 0;
    if (klen != 24 || EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18 ||
        key[21] == '=' || key[22] != '=' || key[23] != '=') { /* "…====" is 15 bytes */
        *reason = "invalid Sec-WebSocket-Key";
        return 400;
    }
    return 0;
}

enum cg_err cg__ws_accept_key(const char *key, char *out, size_t outsz)
{
    CG_CHECK(outsz >= 29 && strlen(key) <= 64, CG_EINVAL);
    char buf[128];
    uint8_t md[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof(buf), "%s%s", key, ws_guid);
    CG_CHECK(SHA1((const unsigned char *)buf, (size_t)n, md) != NULL, CG_ETLS);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    return CG_OK;
}

