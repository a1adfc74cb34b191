#!/usr/bin/env python3
"""Checks the layering of src/ (docs/ARCHITECTURE.md, "Layers").

1. The folder-level include graph has no circle (two parts that reach each
   other through #include "part/..."), and neither has the call graph: a
   part uses a cg_ or cg__ function (or a cg__ table or macro) that another
   part defines, outside comments; two parts that reach each other through
   such uses are a circle even when no include shows it (a prototype
   written in place, or a public function called back).
2. net/ names none of its users: no file in src/net/ includes ws/, wss/ or
   http/ headers, calls a cg__ws_, cg__server_, cg__dial_ or cg__wconn_
   function, or names their types (struct cg_ws, cg_wconn, cg_dial,
   cg_server, cg_ws_client) or a ->dial field, or includes the server's or
   the client's public header (the limits it reads are castgate/limits.h).
3. legacy/ (MOS 2.x over TCP) names none of its users: no file in
   src/legacy/ includes mos4/ or relay/ headers or calls a cg__mos4_ or
   cg__relay_ function (it reports through struct cg_legacy_ops).
4. mos4/ and flow/ know nothing of the gateway pair or failover: no file
   there includes redund/ headers or calls a cg__pair_ or cg__fo_ function
   (the journal tells a pair through struct cg_mos_journal_ops, issue 18).
Prints each violation; exit 1 if any, 0 if none. Usage: layers.py [ROOT]"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
src = os.path.join(root, 'src')
edges, bad = {}, []
texts = {}  # (part, file) -> text
# A definition: at the start of a line, a type then the name and its
# parameters and a body; or a table or variable given a value; or a macro.
DEFINES = (re.compile(r'^[A-Za-z_][\w \t*]*?\b(cg_{1,2}\w+)\s*\(([^;{}]*?)\)\s*\{', re.M),
           re.compile(r'^[A-Za-z_][\w \t*]*?\b(cg__\w+)\s*(?:\[[^\]]*\]\s*)*=', re.M),
           re.compile(r'^#\s*define\s+(cg__\w+)', re.M))
for part in sorted(os.listdir(src)):
    d = os.path.join(src, part)
    if not os.path.isdir(d):
        continue
    edges.setdefault(part, set())
    for f in sorted(os.listdir(d)):
        if not f.endswith(('.c', '.h')):
            continue
        text = open(os.path.join(d, f), errors='replace').read()
        texts[(part, f)] = text
        for m in re.finditer(r'#include\s+"(?:\.\./)?([a-z0-9_]+)/', text):
            if m.group(1) != part and os.path.isdir(os.path.join(src, m.group(1))):
                edges[part].add(m.group(1))
        if part == 'net':
            for m in re.finditer(r'#include\s+"((?:ws|wss|http)/[^"]+)"', text):
                bad.append(f'src/net/{f}: includes {m.group(1)}: net/ must not know its users')
            for m in re.finditer(r'\bcg__(ws|server|dial|wconn)_\w+', text):
                bad.append(f'src/net/{f}: names {m.group(0)}: report through struct cg_conn_ops')
            for m in re.finditer(r'#include\s+<(castgate/(?:server|client)\.h)>', text):
                bad.append(f'src/net/{f}: includes {m.group(1)}: the limits are in castgate/limits.h')
            for m in re.finditer(r'\bstruct\s+cg_(?:ws|wconn|dial|server|ws_client)\b|->dial\b', text):
                bad.append(f'src/net/{f}: names {" ".join(m.group(0).split())}: net/ must not know its users')
        if part == 'legacy':
            for m in re.finditer(r'#include\s+"((?:mos4|relay)/[^"]+)"', text):
                bad.append(f'src/legacy/{f}: includes {m.group(1)}: legacy/ must not know its users')
            for m in re.finditer(r'\bcg__(mos4|relay)_\w+', text):
                bad.append(f'src/legacy/{f}: names {m.group(0)}: report through struct cg_legacy_ops')
        if part in ('mos4', 'flow'):
            for m in re.finditer(r'#include\s+"(redund/[^"]+)"', text):
                bad.append(f'src/{part}/{f}: includes {m.group(1)}: {part}/ must not know the pair')
            for m in re.finditer(r'\bcg__(pair|fo)_\w+', text):
                bad.append(f'src/{part}/{f}: names {m.group(0)}: tell through struct cg_mos_journal_ops')


owner = {}  # cg__ name -> the part that defines it
for (part, f), text in texts.items():
    for rx in DEFINES:
        for m in rx.finditer(text):
            owner.setdefault(m.group(1), part)
calls, why = {part: set() for part in edges}, {}
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)  # a name in a comment is no call
for (part, f), text in sorted(texts.items()):
    for m in re.finditer(r'\bcg_{1,2}\w+', COMMENT.sub(' ', text)):
        o = owner.get(m.group(0))
        if o is not None and o != part:
            calls[part].add(o)
            why.setdefault((part, o), f'src/{part}/{f} calls {m.group(0)}')


def reach(a, edges=edges):
    seen, todo = set(), [a]
    while todo:
        for b in edges.get(todo.pop(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


for a, b in sorted({tuple(sorted((a, b))) for a in edges for b in reach(a)
                    if a != b and a in reach(b)}):
    bad.append(f'circle: src/{a} <-> src/{b}')
for a, b in sorted({tuple(sorted((a, b))) for a in calls for b in reach(a, calls)
                    if a != b and a in reach(b, calls)}):
    direct = [why[k] for k in ((a, b), (b, a)) if k in why]
    bad.append(f'call circle: src/{a} <-> src/{b} ({"; ".join(direct) or "through others"})')
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
