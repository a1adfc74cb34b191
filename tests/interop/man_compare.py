#!/usr/bin/env python3
"""Compares what --help says with what a man page says (tests/interop/test_man.sh).

man_compare.py flags PAGE HELPFILE [IGNORE...]
    every --option in the help text is in the page and every --option in the
    page is in the help text (IGNORE: options allowed on one side only).
man_compare.py commands PAGE HELPFILE [IGNORE...]
    the commands `castgate --help` lists are the .TP/.B entries of COMMANDS.
man_compare.py conf PAGE HELPFILE SECTION...
    the option names under the help's "[SECTION" headings are the .BI rows of
    the page's ".SS [SECTION" subsections (castgate.conf(5)).
Prints what differs; exit 1 when anything does."""
import re, sys

def page_text(path):
    return open(path, encoding="utf-8").read()

def unescape(s):
    return s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")

def flags_of(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))

def report(what, page, helps, ignore):
    a, b = page - ignore, helps - ignore
    for x in sorted(b - a):
        print(f"{what}: {x} is in --help but not in the man page")
    for x in sorted(a - b):
        print(f"{what}: {x} is in the man page but not in --help")
    if a == b:
        print(f"{what}: {len(a)} agree")
    return a == b

def sections_of_help(help_text):
    out, cur = {}, None
    for line in help_text.splitlines():
        m = re.match(r"^  \[([a-z]+)", line)
        if m:
            cur = out.setdefault(m.group(1), set())
            continue
        m = re.match(r"^    ([a-z_0-9]+)\s", line)
        if m and cur is not None:
            cur.add(m.group(1))
    return out

def sections_of_page(page):
    out, cur = {}, None
    for line in page.splitlines():
        m = re.match(r"^\.SS \[([a-z]+)", line)
        if m:
            cur = out.setdefault(m.group(1), set())
            continue
        if line.startswith(".SH"):
            cur = None
        m = re.match(r'^\.BI "([a-z_0-9]+) = "', line)
        if m and cur is not None:
            cur.add(m.group(1))
    return out

mode, page_path, help_path = sys.argv[1:4]
rest = sys.argv[4:]
page = page_text(page_path)
helps = open(help_path, encoding="utf-8").read()
ok = True
if mode == "flags":
    ok = report(page_path, flags_of(unescape(page)), flags_of(helps), set(rest) | {"--help"})
elif mode == "commands":
    m = re.search(r"^\.SH COMMANDS\n(.*?)^\.SH", page, re.S | re.M)
    cmds = set(re.findall(r"^\.TP\n\.B (\S+)", m.group(1) if m else "", re.M))
    hcmds = set(re.findall(r"^  ([a-z]+)\s", helps.split("commands:")[-1], re.M))
    ok = report(page_path, cmds, hcmds, set(rest))
elif mode == "conf":
    hs, ps = sections_of_help(helps), sections_of_page(page)
    for sect in rest:
        ok &= report(f"{page_path} [{sect}]", ps.get(sect, set()), hs.get(sect, set()), set())
        ok &= bool(hs.get(sect))
sys.exit(0 if ok else 1)
