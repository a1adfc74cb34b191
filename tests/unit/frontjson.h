/* The front's JSON rewrite (src/front/json.c, cg__front_json_rewrite) on a C
 * string, for test_front.c and test_front_json_pass.c: each test names its
 * own rewrite rules (struct cg_front_rw). */
#ifndef CG_TEST_FRONTJSON_H
#define CG_TEST_FRONTJSON_H

#include "testutil.h"
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

/* The rewrite of in (its strlen bytes) into *out, a new buffer of bound max
 * (0: none) the caller frees with cg__buf_free; the rewrite's result. */
static inline enum cg_err fj_rewrite_into(const struct cg_front_rw *rw,
                                          enum cg_front_json_mode mode, const char *in, size_t max,
                                          struct cg_buf *out, bool *changed)
{
    cg__buf_init(out, max);
    return cg__front_json_rewrite(rw, mode, (const uint8_t *)in, strlen(in), out, changed);
}

/* The rewrite of in, which must pass, as a string the caller frees. */
static inline char *fj_rewrite(const struct cg_front_rw *rw, enum cg_front_json_mode mode,
                               const char *in, bool *changed)
{
    struct cg_buf out;
    assert_int_equal(fj_rewrite_into(rw, mode, in, 0, &out, changed), CG_OK);
    char *s = cg__strndup((char *)out.data, out.len);
    cg__buf_free(&out);
    return s;
}

/* The rewrite of a response's in, with what it writes bound to max (0:
 * none), must end with want (CG_OK, or the error it must refuse with). */
static inline void fj_rc_is(const struct cg_front_rw *rw, const char *in, size_t max,
                            enum cg_err want, bool *changed)
{
    struct cg_buf out;
    assert_int_equal(fj_rewrite_into(rw, CG_FRONT_JSON_RESPONSE, in, max, &out, changed), want);
    cg__buf_free(&out);
}

#endif
