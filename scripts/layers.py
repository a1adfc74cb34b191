#!/usr/bin/env python3
"""Checks the layering of src/ (docs/ARCHITECTURE.md, "Layers").

1. The folder-level include graph has no circle (two parts that reach each
   other through #include "part/...").
2. net/ names none of its users: no file in src/net/ includes ws/, wss/ or
   http/ headers or calls a cg__ws_, cg__server_, cg__dial_ or cg__wconn_
   function.
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
for part in sorted(os.listdir(src)):
    d = os.path.join(src, part)
    if not os.path.isdir(d):
        continue
    edges.setdefault(part, set())
    for f in sorted(os.listdir(d)):
        if not f.endswith(('.c', '.h')):
            continue
        text = open(os.path.join(d, f), errors='replace').read()
        for m in re.finditer(r'#include\s+"(?:\.\./)?([a-z0-9_]+)/', text):
            if m.group(1) != part and os.path.isdir(os.path.join(src, m.group(1))):
                edges[part].add(m.group(1))
        if part == 'net':
            for m in re.finditer(r'#include\s+"((?:ws|wss|http)/[^"]+)"', text):
                bad.append(f'src/net/{f}: includes {m.group(1)}: net/ must not know its users')
            for m in re.finditer(r'\bcg__(ws|server|dial|wconn)_\w+', text):
                bad.append(f'src/net/{f}: names {m.group(0)}: report through struct cg_conn_ops')
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


def reach(a):
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
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
