/* Helpers for the flow core's tests (test_flow*.c): envelopes made by hand
 * and the actions of one event collected in an array. */
#ifndef CG_FLOWFIX_H
#define CG_FLOWFIX_H

#include "flow/flow.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define FX_MAX 512

struct fx_acts {
    struct cg_flow_act a[FX_MAX];
    size_t n;
};

/* Drains f's actions into out (replacing what it held). */
static inline void fx_drain(struct cg_flow *f, struct fx_acts *out)
{
    out->n = 0;
    struct cg_flow_act a;
    while (cg__flow_action(f, &a))
        if (out->n < FX_MAX)
            out->a[out->n++] = a;
}

static inline size_t fx_count(const struct fx_acts *x, enum cg_flow_act_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < x->n; i++)
        c += x->a[i].kind == k;
    return c;
}

/* The first action of kind k; the test fails (not crashes) without one. */
static inline const struct cg_flow_act *fx_find(const struct fx_acts *x, enum cg_flow_act_kind k)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].kind == k)
            return &x->a[i];
    fail_msg("no %s action", cg__flow_act_name(k));
    return NULL;
}

/* An envelope: name, messageID text (NULL: none), mosID/ncsID (NULL: none). */
static inline void fx_env(struct cg_mos_envelope *e, const char *name, const char *msgid,
                          const char *mos, const char *ncs)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    if (msgid != NULL) {
        snprintf(e->message_id, sizeof(e->message_id), "%s", msgid);
        e->message_id_kind = cg_mos_message_id_parse(msgid, &e->message_id_value);
    } else {
        e->message_id_kind = CG_MOS_MSGID_ABSENT;
    }
    if (mos != NULL) {
        e->has_mos_id = true;
        snprintf(e->mos_id, sizeof(e->mos_id), "%s", mos);
    }
    if (ncs != NULL) {
        e->has_ncs_id = true;
        snprintf(e->ncs_id, sizeof(e->ncs_id), "%s", ncs);
    }
}

/* A digest standing for content c. */
static inline void fx_digest(uint8_t *d, unsigned c)
{
    memset(d, 0, CG_FLOW_DIGEST);
    memcpy(d, &c, sizeof(c));
}

#endif
