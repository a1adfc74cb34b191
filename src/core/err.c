#include "core/core.h"

/* Every enum cg_err code once, with its message (s2n-tls's ERR_ENTRIES):
 * cg_strerror and cg_errname are both made from this list. A code added to
 * include/castgate/error.h gets its line here; the switches below have no
 * default, so the compiler (-Wswitch) flags a code missing from the list,
 * and tests/unit/test_err.c checks the header's codes against both. */
#define CG_ERR_ENTRIES(X)                                                                          \
    X(CG_OK, "success")                                                                            \
    X(CG_EINVAL, "invalid argument")                                                               \
    X(CG_ENOMEM, "out of memory")                                                                  \
    X(CG_ESTATE, "not valid in the current state")                                                 \
    X(CG_ERANGE, "value out of range")                                                             \
    X(CG_ENOTFOUND, "not found")                                                                   \
    X(CG_EEXIST, "already exists")                                                                 \
    X(CG_ECONFIG, "invalid configuration")                                                         \
    X(CG_ECANCELED, "cancelled")                                                                   \
    X(CG_EIO, "I/O error")                                                                         \
    X(CG_EFILE, "file missing, unreadable or malformed")                                           \
    X(CG_EPERM, "unsafe file permissions")                                                         \
    X(CG_ENET, "network error")                                                                    \
    X(CG_ETIMEDOUT, "timed out")                                                                   \
    X(CG_ECLOSED, "closed")                                                                        \
    X(CG_EFULL, "limit reached")                                                                   \
    X(CG_EAGAIN, "need more input")                                                                \
    X(CG_ETLS, "TLS error")                                                                        \
    X(CG_ECERT, "unusable certificate")                                                            \
    X(CG_EKEY, "unusable private key")                                                             \
    X(CG_EKEYMISMATCH, "private key does not match certificate")                                   \
    X(CG_EHANDSHAKE, "TLS handshake failed")                                                       \
    X(CG_EVERIFY, "certificate verification failed")                                               \
    X(CG_EREVOKED, "certificate revoked")                                                          \
    X(CG_EOCSP, "OCSP failure")                                                                    \
    X(CG_EEXPIRED, "expired or not yet valid")                                                     \
    X(CG_EHOSTNAME, "the certificate does not name the host")                                      \
    X(CG_EUNTRUSTED, "the certificate's issuer is not trusted")                                    \
    X(CG_ESELFSIGNED, "self-signed certificate")                                                   \
    X(CG_EPIN, "the certificate does not match the pin")                                           \
    X(CG_EPROTO, "protocol error")                                                                 \
    X(CG_EHTTP, "invalid HTTP message")                                                            \
    X(CG_EWS, "invalid WebSocket frame or handshake")                                              \
    X(CG_ETOOBIG, "message too large")                                                             \
    X(CG_EENCODING, "invalid character encoding")                                                  \
    X(CG_EXML, "XML not well-formed")                                                              \
    X(CG_EJUNK, "junk between messages")                                                           \
    X(CG_EENVELOPE, "invalid MOS envelope")                                                        \
    X(CG_ENACK, "negative acknowledgement")                                                        \
    X(CG_EDNS, "DNS operation failed")                                                             \
    X(CG_ENOTSUP, "no exact equivalent")                                                           \
    X(CG_EAUTH, "authentication failed")                                                           \
    X(CG_ERATELIMIT, "rate limited")                                                               \
    X(CG_EINTERNAL, "internal error")

const char *cg_strerror(enum cg_err err)
{
#define MESSAGE(code, text)                                                                        \
    case code: return text;
    switch (err) { CG_ERR_ENTRIES(MESSAGE) }
#undef MESSAGE
    return "unknown error";
}

const char *cg_errname(enum cg_err err)
{
#define NAME(code, text)                                                                           \
    case code: return #code;
    switch (err) { CG_ERR_ENTRIES(NAME) }
#undef NAME
    return "CG_UNKNOWN";
}
