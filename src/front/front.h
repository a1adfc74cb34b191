/* castgate front — the NMOS secure front (internal). Public API:
 * include/castgate/front.h.
 *
 * Sans-I/O parts (unit-tested and fuzzed): routes.c (the NMOS route table and
 * its matcher), json.c (JSON check and URL rewriting), heads.c (the request
 * head for the backend, the response head for the client), upstream.c (the
 * backend's responses over http-parser), wsrw.c (server-to-client WebSocket
 * frames with text messages rewritten). proxy.c is the I/O: client
 * connections through net/, backend connections on plain libuv TCP.
 */
#ifndef CG_FRONT_H
#define CG_FRONT_H

#include "core/core.h"
#include "http/http.h"

#include <castgate/front.h>
#include <http_parser.h>

/* ---- routes.c: what each NMOS API path allows ---- */

enum {
    CG_FRONT_R_JSON = 1u << 0, /* bodies of POST/PUT/PATCH are JSON (B-23) */
    CG_FRONT_R_WS = 1u << 1,   /* a GET with Upgrade: websocket passes through */
    CG_FRONT_R_SUB = 1u << 2   /* Query API subscription creation ("secure") */
};

struct cg_front_route {
    const char *pattern; /* "/x-nmos/node/{v04}/receivers/{id}/target" */
    unsigned methods;    /* enum cg_http_method bits */
    unsigned flags;      /* CG_FRONT_R_* */
    const char *spec;    /* where the RAML says so */
};

/* The route for path (no query; one trailing '/' ignored), or NULL. */
const struct cg_front_route *cg__front_route_match(const char *path, size_t len);
/* The whole table, for tests. */
const struct cg_front_route *cg__front_routes(size_t *n);

/* ---- json.c: check and rewrite ---- */

/* Where URLs are rewritten to, and which URLs are the backend's. */
struct cg_front_rw {
    const char *pub_host; /* host name, or "[v6]" */
    uint16_t pub_port;
    char **inside;        /* "host:port", lower case */
    size_t ninside;
};

enum cg_front_json_mode {
    CG_FRONT_JSON_RESPONSE = 0, /* URLs -> https/wss; subscription "secure" -> true */
    CG_FRONT_JSON_SUB_REQUEST = 1 /* a subscription request: "secure": true -> false */
};

/* RFC 8259 well-formedness (UTF-8, depth <= 64). CG_OK or CG_EHTTP. */
enum cg_err cg__front_json_check(const uint8_t *p, size_t n);
/* Checks and rewrites p into out (appended). *changed: something rewritten.
 * CG_EHTTP for JSON that is not well-formed (out then undefined),
 * CG_ETOOBIG/CG_ENOMEM from out. */
enum cg_err cg__front_json_rewrite(const struct cg_front_rw *rw, enum cg_front_json_mode mode,
                                   const uint8_t *p, size_t n, struct cg_buf *out,
                                   bool *changed);
/* One URL: appends the rewritten URL to out and returns true when url (n
 * bytes, not NUL-terminated) is http:// or ws:// on an inside authority or
 * on the public one; else false and out unchanged. */
bool cg__front_url_rewrite(const struct cg_front_rw *rw, const char *url, size_t n,
                           struct cg_buf *out);
/* v in decimal at out (room for 20 digits), no NUL; returns the length. */
size_t cg__front_put_u(char *out, uint64_t v);
/* "host:port" of an authority in canonical form (lower case, default port
 * added: 80 for http/ws, 443 for https/wss when secure). false if unusable. */
bool cg__front_authority_norm(const char *a, size_t n, bool secure, char *out, size_t outsz);

/* ---- heads.c ---- */

/* Hop-by-hop (RFC 9110 §7.6.1) or one the front sets itself. */
bool cg__front_header_dropped_request(const char *name, const char *connection);
bool cg__front_header_dropped_response(const char *name, const char *connection);

struct cg_front_reqhead {
    const struct cg_http_request *req;
    const char *backend;  /* "host:port" for Host */
    const char *client_ip;/* "127.0.0.1" or "::1" */
    uint16_t pub_port;
    bool upgrade;         /* a WebSocket upgrade passed through */
    size_t body_len;      /* Content-Length sent (after any rewrite) */
};
/* The request head for the backend, appended to out. */
enum cg_err cg__front_request_head(const struct cg_front_reqhead *h, struct cg_buf *out);
/* The client's address without port or brackets: "[::1]:5" -> "::1". */
void cg__front_peer_ip(const char *peer, char *out, size_t outsz);

/* ---- upstream.c: the backend's response ---- */

struct cg_front_resp_sink {
    void *user;
    /* The head is complete (headers in r). */
    void (*head)(void *user);
    void (*body)(void *user, const uint8_t *p, size_t n);
    void (*done)(void *user);
};

struct cg_front_resp {
    http_parser p;
    const struct cg_front_resp_sink *sink;
    int status;
    struct cg_buf names;  /* NUL-separated */
    struct cg_buf values; /* NUL-separated, same order */
    size_t nheaders;
    struct cg_buf field, value;
    bool in_value;
    bool head_done;
    bool complete;
    bool no_body;         /* the request was HEAD */
    bool keep_alive;
    bool upgrade;
    bool chunked;
    bool has_length;
    uint64_t length;
    size_t head_bytes, max_head;
    const char *error;    /* why the response is unusable (static), or NULL */
};

void cg__front_resp_init(struct cg_front_resp *r, const struct cg_front_resp_sink *sink,
                         size_t max_head, bool head_request);
/* Ready for the next response on the same connection, as init does, but the
 * buffers' memory is kept (a small head's: the usual case allocates nothing);
 * r was initialised, reset or zeroed. */
void cg__front_resp_reset(struct cg_front_resp *r, const struct cg_front_resp_sink *sink,
                          size_t max_head, bool head_request);
void cg__front_resp_free(struct cg_front_resp *r);
/* Feeds bytes; returns how many were used (after a 101 or the end of the
 * response the rest is not HTTP). len 0: the backend closed (ends a body
 * read until close). Check r->error and r->complete after each call. */
size_t cg__front_resp_feed(struct cg_front_resp *r, const uint8_t *p, size_t len);
/* The headers in order: start with *name = *value = NULL; each call moves
 * to the next and returns false after the last. */
bool cg__front_resp_next(const struct cg_front_resp *r, const char **name, const char **value);
const char *cg__front_resp_get(const struct cg_front_resp *r, const char *name);

/* How a response body travels to the client. */
enum cg_front_framing {
    CG_FRONT_NOBODY = 0,
    CG_FRONT_LENGTH,
    CG_FRONT_CHUNKED,
    CG_FRONT_UNTIL_CLOSE /* an HTTP/1.0 client: no chunked, the end is the close */
};

struct cg_front_resphead {
    const struct cg_front_resp *r;
    const struct cg_http_request *req;
    const struct cg_http_policy *pol;
    const struct cg_front_rw *rw;  /* NULL: Location, Link are not rewritten */
    enum cg_front_framing framing;
    uint64_t length;               /* CG_FRONT_LENGTH */
    bool close;                    /* Connection: close */
};
/* The response head for the client: status line, the backend's headers
 * without hop-by-hop and CORS/HSTS ones, ours (HSTS, CORS, framing). */
enum cg_err cg__front_response_head(const struct cg_front_resphead *h, struct cg_buf *out);

/* ---- wsrw.c: backend-to-client WebSocket frames ---- */

struct cg_front_wsrw {
    uint8_t hdr[14];
    size_t hlen, need;     /* header bytes held / needed */
    uint64_t left;         /* payload bytes still to come */
    bool hold;             /* this frame's payload is held for rewriting */
    bool in_frag;          /* a fragmented text message is being held */
    bool frag_pass;        /* a fragmented message passes unchanged to its end */
    struct cg_buf msg;
    const struct cg_front_rw *rw;
    size_t max;
    bool broken;           /* not WebSocket any more: bytes pass unchanged */
    uint64_t rewritten;
};
void cg__front_wsrw_init(struct cg_front_wsrw *w, const struct cg_front_rw *rw, size_t max);
void cg__front_wsrw_free(struct cg_front_wsrw *w);
/* Bytes from the backend in, bytes for the client appended to out. */
enum cg_err cg__front_wsrw_feed(struct cg_front_wsrw *w, const uint8_t *p, size_t n,
                                struct cg_buf *out);

/* ---- config.c ---- */

#define CG_FRONT_NLIMITS 4

struct cg_front_config {
    char backend[64];
    uint16_t port, ws_port;
    char *pub_host;
    uint16_t pub_port;
    char **inside;
    size_t ninside;
    char **ws_prefix;
    size_t nws_prefix;
    bool rewrite;
    uint64_t lim[CG_FRONT_NLIMITS];
};

/* A deep copy of src into dst (zeroed). */
enum cg_err cg__front_config_copy(struct cg_front_config *dst, const struct cg_front_config *src);
void cg__front_config_release(struct cg_front_config *cfg);
/* Appends a copy of s to a string list. */
enum cg_err cg__front_strlist_add(char ***list, size_t *n, const char *s);

#endif
