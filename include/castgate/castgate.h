/* castgate — umbrella header. Include this one. */
#ifndef CASTGATE_H
#define CASTGATE_H

#include <castgate/error.h>
#include <castgate/ctx.h>
#include <castgate/dnssd.h>
#include <castgate/mos.h>
#include <castgate/server.h>
#include <castgate/client.h>
#include <castgate/auth.h>
#include <castgate/mos4.h>
#include <castgate/cert.h>
#include <castgate/relay.h>
#include <castgate/stats.h>
#include <castgate/front.h>
#include <castgate/pair.h>

#endif
