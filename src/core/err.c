#include "core/core.h"

/* No default: the compiler (-Wswitch) flags an enumerator missing here. */
const char *cg_strerror(enum cg_err err)
{
    switch (err) {
    case CG_OK: return "success";
    case CG_EINVAL: return "invalid argument";
    case CG_ENOMEM: return "out of memory";
    case CG_ESTATE: return "not valid in the current state";
    case CG_ERANGE: return "value out of range";
    case CG_ENOTFOUND: return "not found";
    case CG_EEXIST: return "already exists";
    case CG_ECONFIG: return "invalid configuration";
    case CG_EIO: return "I/O error";
    case CG_EFILE: return "file missing, unreadable or malformed";
    case CG_EPERM: return "unsafe file permissions";
    case CG_ENET: return "network error";
    case CG_ETIMEDOUT: return "timed out";
    case CG_ECLOSED: return "closed";
    case CG_EFULL: return "limit reached";
    case CG_EAGAIN: return "need more input";
    case CG_ETLS: return "TLS error";
    case CG_ECERT: return "unusable certificate";
    case CG_EKEY: return "unusable private key";
    case CG_EKEYMISMATCH: return "private key does not match certificate";
    case CG_EHANDSHAKE: return "TLS handshake failed";
    case CG_EVERIFY: return "certificate verification failed";
    case CG_EREVOKED: return "certificate revoked";
    case CG_EOCSP: return "OCSP failure";
    case CG_EEXPIRED: return "expired or not yet valid";
    case CG_EHOSTNAME: return "the certificate does not name the host";
    case CG_EUNTRUSTED: return "the certificate's issuer is not trusted";
    case CG_ESELFSIGNED: return "self-signed certificate";
    case CG_EPIN: return "the certificate does not match the pin";
    case CG_EPROTO: return "protocol error";
    case CG_EHTTP: return "invalid HTTP message";
    case CG_EWS: return "invalid WebSocket frame or handshake";
    case CG_ETOOBIG: return "message too large";
    case CG_EENCODING: return "invalid character encoding";
    case CG_EXML: return "XML not well-formed";
    case CG_EJUNK: return "junk between messages";
    case CG_EENVELOPE: return "invalid MOS envelope";
    case CG_ENACK: return "negative acknowledgement";
    case CG_EDNS: return "DNS operation failed";
    case CG_ENOTSUP: return "no exact equivalent";
    case CG_EAUTH: return "authentication failed";
    case CG_ERATELIMIT: return "rate limited";
    case CG_EINTERNAL: return "internal error";
    }
    return "unknown error";
}

const char *cg_errname(enum cg_err err)
{
#define N(x)                                                                                       \
    case x: return #x
    switch (err) {
        N(CG_OK); N(CG_EINVAL); N(CG_ENOMEM); N(CG_ESTATE); N(CG_ERANGE); N(CG_ENOTFOUND);
        N(CG_EEXIST); N(CG_ECONFIG); N(CG_EIO); N(CG_EFILE); N(CG_EPERM); N(CG_ENET);
        N(CG_ETIMEDOUT); N(CG_ECLOSED); N(CG_EFULL); N(CG_EAGAIN); N(CG_ETLS); N(CG_ECERT);
        N(CG_EKEY); N(CG_EKEYMISMATCH); N(CG_EHANDSHAKE); N(CG_EVERIFY); N(CG_EREVOKED);
        N(CG_EOCSP); N(CG_EEXPIRED); N(CG_EHOSTNAME); N(CG_EUNTRUSTED); N(CG_ESELFSIGNED);
        N(CG_EPIN); N(CG_EPROTO); N(CG_EHTTP); N(CG_EWS); N(CG_ETOOBIG);
        N(CG_EENCODING); N(CG_EXML); N(CG_EJUNK); N(CG_EENVELOPE); N(CG_ENACK); N(CG_EDNS);
        N(CG_ENOTSUP); N(CG_EAUTH); N(CG_ERATELIMIT); N(CG_EINTERNAL);
    }
#undef N
    return "CG_UNKNOWN";
}
