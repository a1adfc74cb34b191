/* The NMOS route table: each path of the APIs the front passes and the
 * methods its RAML defines (B-22: everything else 405 with Allow). Written
 * from the published RAML of AMWA-TV/nmos-discovery-registration (IS-04,
 * APIs/NodeAPI.raml, QueryAPI.raml, RegistrationAPI.raml, v1.3.x),
 * nmos-device-connection-management (IS-05, APIs/ConnectionAPI.raml,
 * v1.1.x) and nmos-event-tally (IS-07, APIs/EventsAPI.raml, v1.0.x). HEAD is
 * allowed wherever GET is (RFC 9110 §9.3.2). Placeholders: {v04} IS-04
 * versions v1.0..v1.3, {v05} IS-05 v1.0..v1.1, {v07} IS-07 v1.0, {id} one
 * path segment, {type} a Registration API resource type. */
#include "front/front.h"

#include <string.h>

#define GH (CG_HTTP_GET | CG_HTTP_HEAD)
#define J CG_FRONT_R_JSON

static const struct cg_front_route routes[] = {
    {"/", GH, 0, "NMOS APIs.md: the root lists x-nmos/"},
    {"/x-nmos", GH, 0, "NMOS APIs.md: lists the APIs"},
    /* IS-04 Node API (NodeAPI.raml) */
    {"/x-nmos/node", GH, 0, "IS-04 NodeAPI.raml: versions"},
    {"/x-nmos/node/{v04}", GH, 0, "IS-04 NodeAPI.raml /"},
    {"/x-nmos/node/{v04}/self", GH, 0, "IS-04 NodeAPI.raml /self"},
    {"/x-nmos/node/{v04}/sources", GH, 0, "IS-04 NodeAPI.raml /sources"},
    {"/x-nmos/node/{v04}/sources/{id}", GH, 0, "IS-04 NodeAPI.raml /sources/{sourceId}"},
    {"/x-nmos/node/{v04}/flows", GH, 0, "IS-04 NodeAPI.raml /flows"},
    {"/x-nmos/node/{v04}/flows/{id}", GH, 0, "IS-04 NodeAPI.raml /flows/{flowId}"},
    {"/x-nmos/node/{v04}/devices", GH, 0, "IS-04 NodeAPI.raml /devices"},
    {"/x-nmos/node/{v04}/devices/{id}", GH, 0, "IS-04 NodeAPI.raml /devices/{deviceId}"},
    {"/x-nmos/node/{v04}/senders", GH, 0, "IS-04 NodeAPI.raml /senders"},
    {"/x-nmos/node/{v04}/senders/{id}", GH, 0, "IS-04 NodeAPI.raml /senders/{senderId}"},
    {"/x-nmos/node/{v04}/receivers", GH, 0, "IS-04 NodeAPI.raml /receivers"},
    {"/x-nmos/node/{v04}/receivers/{id}", GH, 0, "IS-04 NodeAPI.raml /receivers/{receiverId}"},
    {"/x-nmos/node/{v04}/receivers/{id}/target", CG_HTTP_PUT, J,
     "IS-04 NodeAPI.raml /receivers/{receiverId}/target: put"},
    /* IS-04 Query API (QueryAPI.raml) */
    {"/x-nmos/query", GH, 0, "IS-04 QueryAPI.raml: versions"},
    {"/x-nmos/query/{v04}", GH, 0, "IS-04 QueryAPI.raml /"},
    {"/x-nmos/query/{v04}/nodes", GH, 0, "IS-04 QueryAPI.raml /nodes"},
    {"/x-nmos/query/{v04}/nodes/{id}", GH, 0, "IS-04 QueryAPI.raml /nodes/{nodeId}"},
    {"/x-nmos/query/{v04}/devices", GH, 0, "IS-04 QueryAPI.raml /devices"},
    {"/x-nmos/query/{v04}/devices/{id}", GH, 0, "IS-04 QueryAPI.raml /devices/{deviceId}"},
    {"/x-nmos/query/{v04}/sources", GH, 0, "IS-04 QueryAPI.raml /sources"},
    {"/x-nmos/query/{v04}/sources/{id}", GH, 0, "IS-04 QueryAPI.raml /sources/{sourceId}"},
    {"/x-nmos/query/{v04}/flows", GH, 0, "IS-04 QueryAPI.raml /flows"},
    {"/x-nmos/query/{v04}/flows/{id}", GH, 0, "IS-04 QueryAPI.raml /flows/{flowId}"},
    {"/x-nmos/query/{v04}/senders", GH, 0, "IS-04 QueryAPI.raml /senders"},
    {"/x-nmos/query/{v04}/senders/{id}", GH, 0, "IS-04 QueryAPI.raml /senders/{senderId}"},
    {"/x-nmos/query/{v04}/receivers", GH, 0, "IS-04 QueryAPI.raml /receivers"},
    {"/x-nmos/query/{v04}/receivers/{id}", GH, 0, "IS-04 QueryAPI.raml /receivers/{receiverId}"},
    {"/x-nmos/query/{v04}/subscriptions", GH | CG_HTTP_POST, J | CG_FRONT_R_SUB,
     "IS-04 QueryAPI.raml /subscriptions: get, post"},
    /* ws_href is the implementation's; nmos-cpp and most registries put the
     * socket on the subscription's own path. */
    {"/x-nmos/query/{v04}/subscriptions/{id}", GH | CG_HTTP_DELETE, CG_FRONT_R_WS,
     "IS-04 QueryAPI.raml /subscriptions/{subscriptionId}: get, delete; ws_href"},
    /* IS-04 Registration API (RegistrationAPI.raml) */
    {"/x-nmos/registration", GH, 0, "IS-04 RegistrationAPI.raml: versions"},
    {"/x-nmos/registration/{v04}", GH, 0, "IS-04 RegistrationAPI.raml /"},
    {"/x-nmos/registration/{v04}/resource", CG_HTTP_POST, J,
     "IS-04 RegistrationAPI.raml /resource: post"},
    {"/x-nmos/registration/{v04}/resource/{type}/{id}", GH | CG_HTTP_DELETE, 0,
     "IS-04 RegistrationAPI.raml /resource/{resourceType}/{resourceId}: get, delete"},
    {"/x-nmos/registration/{v04}/health/nodes/{id}", GH | CG_HTTP_POST, 0,
     "IS-04 RegistrationAPI.raml /health/nodes/{nodeId}: get, post"},
    /* IS-05 Connection API (ConnectionAPI.raml) */
    {"/x-nmos/connection", GH, 0, "IS-05 ConnectionAPI.raml: versions"},
    {"/x-nmos/connection/{v05}", GH, 0, "IS-05 ConnectionAPI.raml /"},
    {"/x-nmos/connection/{v05}/bulk", GH, 0, "IS-05 ConnectionAPI.raml /bulk"},
    {"/x-nmos/connection/{v05}/bulk/senders", CG_HTTP_POST, J,
     "IS-05 ConnectionAPI.raml /bulk/senders: post (get is 405 in the RAML)"},
    {"/x-nmos/connection/{v05}/bulk/receivers", CG_HTTP_POST, J,
     "IS-05 ConnectionAPI.raml /bulk/receivers: post (get is 405 in the RAML)"},
    {"/x-nmos/connection/{v05}/single", GH, 0, "IS-05 ConnectionAPI.raml /single"},
    {"/x-nmos/connection/{v05}/single/senders", GH, 0, "IS-05 ConnectionAPI.raml /single/senders"},
    {"/x-nmos/connection/{v05}/single/senders/{id}", GH, 0,
     "IS-05 ConnectionAPI.raml /single/senders/{senderId}"},
    {"/x-nmos/connection/{v05}/single/senders/{id}/constraints", GH, 0,
     "IS-05 ConnectionAPI.raml /single/senders/{senderId}/constraints"},
    {"/x-nmos/connection/{v05}/single/senders/{id}/staged", GH | CG_HTTP_PATCH, J,
     "IS-05 ConnectionAPI.raml /single/senders/{senderId}/staged: get, patch"},
    {"/x-nmos/connection/{v05}/single/senders/{id}/active", GH, 0,
     "IS-05 ConnectionAPI.raml /single/senders/{senderId}/active"},
    {"/x-nmos/connection/{v05}/single/senders/{id}/transportfile", GH, 0,
     "IS-05 ConnectionAPI.raml /single/senders/{senderId}/transportfile"},
    {"/x-nmos/connection/{v05}/single/senders/{id}/transporttype", GH, 0,
     "IS-05 ConnectionAPI.raml v1.1 /single/senders/{senderId}/transporttype"},
    {"/x-nmos/connection/{v05}/single/receivers", GH, 0,
     "IS-05 ConnectionAPI.raml /single/receivers"},
    {"/x-nmos/connection/{v05}/single/receivers/{id}", GH, 0,
     "IS-05 ConnectionAPI.raml /single/receivers/{receiverId}"},
    {"/x-nmos/connection/{v05}/single/receivers/{id}/constraints", GH, 0,
     "IS-05 ConnectionAPI.raml /single/receivers/{receiverId}/constraints"},
    {"/x-nmos/connection/{v05}/single/receivers/{id}/staged", GH | CG_HTTP_PATCH, J,
     "IS-05 ConnectionAPI.raml /single/receivers/{receiverId}/staged: get, patch"},
    {"/x-nmos/connection/{v05}/single/receivers/{id}/active", GH, 0,
     "IS-05 ConnectionAPI.raml /single/receivers/{receiverId}/active"},
    {"/x-nmos/connection/{v05}/single/receivers/{id}/transporttype", GH, 0,
     "IS-05 ConnectionAPI.raml v1.1 /single/receivers/{receiverId}/transporttype"},
    /* IS-07 Events API (EventsAPI.raml); its sockets are the sender's
     * connection_uri (cg_front_config_add_ws_prefix). */
    {"/x-nmos/events", GH, 0, "IS-07 EventsAPI.raml: versions"},
    {"/x-nmos/events/{v07}", GH, 0, "IS-07 EventsAPI.raml /"},
    {"/x-nmos/events/{v07}/sources", GH, 0, "IS-07 EventsAPI.raml /sources"},
    {"/x-nmos/events/{v07}/sources/{id}", GH, 0, "IS-07 EventsAPI.raml /sources/{sourceId}"},
    {"/x-nmos/events/{v07}/sources/{id}/type", GH, 0,
     "IS-07 EventsAPI.raml /sources/{sourceId}/type"},
    {"/x-nmos/events/{v07}/sources/{id}/state", GH, 0,
     "IS-07 EventsAPI.raml /sources/{sourceId}/state"},
};

static bool one_of(const char *s, size_t n, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strlen(*set) == n && memcmp(*set, s, n) == 0)
            return true;
    return false;
}

/* An {id}: a non-empty segment of unreserved characters (RFC 3986 §2.3),
 * not a dot-segment; NMOS ids are UUIDs, but the backend is the judge of
 * which exist. */
static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128)
        return false;
    /* RFC 3986 §5.2.4: "." and ".." are dot-segments a backend may remove,
     * acting on another path than the one checked here. */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

static bool seg_match(const char *pat, size_t pn, const char *s, size_t n)
{
    static const char *const v04[] = {"v1.0", "v1.1", "v1.2", "v1.3", NULL};
    static const char *const v05[] = {"v1.0", "v1.1", NULL};
    static const char *const v07[] = {"v1.0", NULL};
    static const char *const types[] = {"nodes", "devices", "sources", "flows", "senders",
                                        "receivers", NULL};
    if (pn == 5 && memcmp(pat, "{v04}", 5) == 0)
        return one_of(s, n, v04);
    if (pn == 5 && memcmp(pat, "{v05}", 5) == 0)
        return one_of(s, n, v05);
    if (pn == 5 && memcmp(pat, "{v07}", 5) == 0)
        return one_of(s, n, v07);
    if (pn == 6 && memcmp(pat, "{type}", 6) == 0)
        return one_of(s, n, types);
    if (pn == 4 && memcmp(pat, "{id}", 4) == 0)
        return id_ok(s, n);
    return pn == n && memcmp(pat, s, n) == 0;
}

/* Segment by segment; both start with '/'. */
static bool path_match(const char *pat, const char *s, size_t n)
{
    size_t pi = 0, pl = strlen(pat), si = 0;
    if (pl == 1) /* "/" */
        return n == 1;
    while (pi < pl && si < n) {
        if (pat[pi] != '/' || s[si] != '/')
            return false;
        pi++;
        si++;
        const char *pe = memchr(pat + pi, '/', pl - pi);
        const char *se = memchr(s + si, '/', n - si);
        size_t pn = pe != NULL ? (size_t)(pe - (pat + pi)) : pl - pi;
        size_t sn = se != NULL ? (size_t)(se - (s + si)) : n - si;
        if (!seg_match(pat + pi, pn, s + si, sn))
            return false;
        pi += pn;
        si += sn;
    }
    return pi == pl && si == n;
}

const struct cg_front_route *cg__front_route_match(const char *path, size_t len)
{
    if (path == NULL || len == 0 || path[0] != '/')
        return NULL;
    if (len > 1 && path[len - 1] == '/' && path[len - 2] != '/') /* NMOS paths: with or without */
        len--;
    for (size_t i = 0; i < CG_ARRAY_LEN(routes); i++)
        if (path_match(routes[i].pattern, path, len))
            return &routes[i];
    return NULL;
}

const struct cg_front_route *cg__front_routes(size_t *n)
{
    *n = CG_ARRAY_LEN(routes);
    return routes;
}
