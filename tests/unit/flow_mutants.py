#!/usr/bin/env python3
"""Shows that each check of the flow core's tests can fail: breaks one rule in
src/flow/flow.c at a time, rebuilds test_flow, test_flow_cancel and test_flow_model
in the build tree given (default build-asan), runs them, and restores the file.
Run by hand from the repository root (not part of make test):
    python3 tests/unit/flow_mutants.py [build-asan] [mutant ...]
Every mutant must be caught (a line "caught" for each); exit 1 otherwise."""
import os, shutil, subprocess, sys

MUTANTS = {
    "repeat-ignored": ("    if (s != NULL && s->answered) { /* M-22: a lost answer, asked again */",
                       "    if (s != NULL && s->answered && false) {"),
    "repeat-delivered": ("    if (s != NULL && s->answered) { /* M-22: a lost answer, asked again */",
                         "    if (s != NULL && s->answered) { clear_seen(f, s); return true; }\n    if (false) {"),
    "held-newest-first": ("        struct cg_flow_held h = f->held[f->hhead];\n        f->hhead = (f->hhead + 1) % f->hcap;\n        f->hlen--;",
                          "        struct cg_flow_held h = f->held[(f->hhead + f->hlen - 1) % f->hcap];\n        f->hlen--;"),
    "timeout-unreported": ("        complete(f, now, CG_ETIMEDOUT, 0, \"no answer; the peer may still apply it\");\n        return;",
                           "        return;"),
    "any-answer-matches": ("    if (env->message_id_kind == CG_MOS_MSGID_ABSENT) /* lenient: legacy peers (M-11) */\n        return true;\n    if (p->msgid[0]",
                           "    if (true)\n        return true;\n    if (p->msgid[0]"),
    "mark-ignored": ("    f->id_next = id_mark >= 1 && id_mark <= MSGID_MAX ? id_mark : 1;",
                     "    f->id_next = 1 + 0 * id_mark;"),
    "two-at-the-application": ("    if (f->in_state == CG_FLOW_IN_IDLE) {\n        deliver(f, h, false, repeat);",
                               "    if (true) {\n        deliver(f, h, false, repeat);"),
    "write-while-down": ("    if (f->out_state != CG_FLOW_OUT_IDLE || f->qlen == 0 || !f->up[CG_FLOW_OUT])",
                         "    if (f->out_state != CG_FLOW_OUT_IDLE || f->qlen == 0)"),
    "retry-new-id": ("    if (f->out_state == CG_FLOW_OUT_WAIT)\n        transmit(f, now_ms); /* the one in flight again, same messageID (M-22) */",
                     "    if (f->out_state == CG_FLOW_OUT_WAIT) {\n        snprintf(inflight(f)->msgid, CG_FLOW_MSGID, \"%u\", (unsigned)next_msgid(f));\n        transmit(f, now_ms);\n    }"),
    "replay-not-marked-repeat": ("        bool repeat = h.replayed;", "        bool repeat = false;"),
    "held-not-kept": ("    emit(f, CG_FLOW_A_KEEP, CG_FLOW_IN)->ref = h->ref;\n", ""),
    "answer-never-released": ("    if (s->answered)\n        release(f, CG_FLOW_IN, s->answer);\n    memset",
                              "    (void)f;\n    memset"),
    "held-released-early": ("        if (is_new(f, now, &h, false, &repeat))\n            deliver(f, &h, true, repeat);\n        else\n            release(f, CG_FLOW_IN, h.ref);",
                            "        release(f, CG_FLOW_IN, h.ref);\n        if (is_new(f, now, &h, false, &repeat))\n            deliver(f, &h, false, repeat);"),
    "restored-repeat-held-twice": ("    if (s != NULL && s->restored && fresh && waits_its_turn(f, h))\n        return false;",
                                   "    if (false)\n        return false;"),
    "cancelled-sent-again": ("        pop_inflight(f, now_ms);\n        return CG_OK;\n    }\n    p->cancelled = true;",
                             "        return CG_OK;\n    }\n    p->cancelled = true;"),
    "cancel-frees-a-busy-lane": ("    p->cancelled = true; /* M-22: one outstanding; the peer may still answer it */",
                                 "    pop_inflight(f, now_ms);\n    return CG_OK;"),
    "restored-mark-dropped": ("        *repeat = true; /* forgotten only once delivered: recording it may fail */",
                              "        clear_seen(f, s);\n        *repeat = true;"),
}

def run(build, name, before, after, src):
    assert src.count(before) == 1, name
    with open("src/flow/flow.c", "w") as f:
        f.write(src.replace(before, after))
    b = subprocess.run(["cmake", "--build", build, "--target", "test_flow", "test_flow_cancel",
                        "test_flow_model"], capture_output=True, text=True)
    if b.returncode != 0:
        return "does not build: " + b.stdout[-300:]
    env = dict(os.environ, FLOW_SEEDS="2000")
    out = []
    for t in ("test_flow", "test_flow_cancel", "test_flow_model"):
        r = subprocess.run([os.path.join(build, "bin", t)], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            lines = [l for l in (r.stdout + r.stderr).splitlines()
                     if "FAILED:" in l or l.startswith("[  FAILED  ] test")]
            out.append(f"{t}: " + (lines[0] if lines else f"exit {r.returncode}"))
    return out

def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-asan"
    names = sys.argv[2:] or list(MUTANTS)
    src = open("src/flow/flow.c").read()
    shutil.copy("src/flow/flow.c", "/tmp/flow.c.mutants-backup")
    missed = 0
    try:
        for name in names:
            res = run(build, name, *MUTANTS[name], src)
            if isinstance(res, str) or not res:
                missed += 1
                print(f"{name}: NOT caught {res if isinstance(res, str) else ''}")
            else:
                print(f"{name}: caught: " + "; ".join(res))
    finally:
        with open("src/flow/flow.c", "w") as f:
            f.write(src)
        subprocess.run(["cmake", "--build", build, "--target", "test_flow", "test_flow_cancel",
                        "test_flow_model"], capture_output=True)
    sys.exit(1 if missed else 0)

main()
