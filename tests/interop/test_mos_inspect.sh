#!/usr/bin/env bash
# `castgate mos inspect` over the MOS fixture streams (M-20, M-21): one JSON
# object per message with the MANIFEST's name, channel, profile and
# removed-in-4.0 flag; error lines with offsets for junk, oversize and
# malformed input; non-zero exit when anything was rejected.
set -euo pipefail
: "${CASTGATE:?CASTGATE must point at the castgate binary}"
: "${CG_SHARED_DIR:?CG_SHARED_DIR must point at the shared folder}"
export CASTGATE CG_SHARED_DIR
exec python3 - <<'PY'
import json, os, subprocess, sys, tempfile

cg = os.environ["CASTGATE"]
fx = os.path.join(os.environ["CG_SHARED_DIR"], "fixtures", "mos")
fails = 0
checks = 0

def run(args, data=None):
    p = subprocess.run([cg, "mos", "inspect"] + args, input=data, capture_output=True)
    lines = [json.loads(l) for l in p.stdout.decode("utf-8").splitlines() if l.strip()]
    return p.returncode, lines

def check(cond, what):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL:", what, file=sys.stderr)

def manifest(d):
    rows = []
    with open(os.path.join(fx, d, "MANIFEST.tsv"), encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows.append(dict(zip(head, cols)))
    return rows

for d in ("spec", "edge"):
    for row in manifest(d):
        name = row["file"]
        if name.endswith(".py"):
            continue
        for enc, sub in (("utf8", ""), ("ucs2be", "ucs2be/")):
            path = os.path.join(fx, d, sub + name)
            rc, out = run(["--encoding", enc, "--validate", path])
            what = f"{d}/{sub}{name}"
            if name.startswith("fragments/"):
                # No envelope (README): reported as junk, exit 1.
                check(rc == 1 and out and out[0].get("error") == "CG_EJUNK"
                      and out[0]["offset"] == 0, what + ": fragment not rejected as junk")
                continue
            if name.endswith(".xmlstream"):
                names = [o.get("message") for o in out]
                check(rc == 0 and names == ["heartbeat", "roAck", "keepAlive", "reqMachInfo"],
                      what + f": stream gave {names}")
                check(all(o["offset"] % (2 if enc == "ucs2be" else 1) == 0 for o in out),
                      what + ": odd offset")
                continue
            check(rc == 0 and len(out) == 1, what + f": rc {rc}, {len(out)} lines")
            if not out:
                continue
            o = out[0]
            check(o.get("message") == row["message"], what + f": message {o.get('message')}")
            want = row["channel"]
            if name.startswith("plugin/") and row["message"] in ("roStorySend", "mosItemReplace"):
                want = "ro"  # same name as the socket message; the socket entry wins
            check(o.get("channel") == want, what + f": channel {o.get('channel')} want {want}")
            if row["profile"].isdigit() and o.get("message") != "roElementStat":
                check(o.get("profile") == int(row["profile"]), what + ": profile")
            if "deprecated_in_4_0" in row:
                check(o.get("removed_in_4") == (row["deprecated_in_4_0"] == "yes"), what + ": removed_in_4")
            check(o.get("bytes", 0) > 0 and o.get("offset", -1) >= 0, what + ": bytes/offset")

# Edge expectations from edge/MANIFEST.tsv.
rc, out = run([os.path.join(fx, "edge/ucs2be/messageID-hex-0x.xml")])
check(out[0]["messageID"] == "0x1F" and out[0]["messageID_value"] == 31, "hex 0x messageID")
rc, out = run([os.path.join(fx, "edge/ucs2be/messageID-int32-overflow.xml")])
check(rc == 0 and out[0]["messageID"] == "4433250443" and out[0]["messageID_status"] == "out_of_range",
      "int32 overflow messageID kept verbatim")
rc, out = run([os.path.join(fx, "edge/ucs2be/messageID-missing-legacy.xml")])
check(out[0]["messageID"] is None and out[0]["messageID_status"] == "absent", "missing messageID")
rc, out = run([os.path.join(fx, "edge/ucs2be/objSlug-128-cjk-chars.xml")])
check(rc == 0, "128 CJK characters")

# Stdin, junk, oversize and malformed input, all in one stream.
good = open(os.path.join(fx, "edge/stream-coalesced-no-separator.xmlstream"), "rb").read()
bad_xml = b"<mos><mosID>a</mosID><ncsID>b</ncsID><messageID>5</messageID><roAck><x></roAck></mos>"
big = b"<mos><mosID>a</mosID><ncsID>b</ncsID><roCreate>" + b"x" * 5000 + b"</roCreate></mos>"
stream = b"junk!" + good + big + b"\r\n" + bad_xml + b"<mos><ncsID>q\"\\\tr</ncsID><mosID>m</mosID><heartbeat/></mos>"
rc, out = run(["--encoding", "utf8", "--validate", "--max-size", "4096", "-"], stream)
check(rc == 1, f"rejections give exit 1 (got {rc})")
kinds = [o.get("error") or o.get("message") for o in out]
check(kinds == ["CG_EJUNK", "heartbeat", "roAck", "keepAlive", "reqMachInfo", "CG_ETOOBIG",
                "CG_EXML", "heartbeat"], f"mixed stream: {kinds}")
if len(out) == 8:
    check(out[0]["offset"] == 0, "junk offset")
    check(out[5]["offset"] == 5 + len(good), "oversize offset")
    check(out[6]["offset"] >= 5 + len(good) + len(big) + 2, "malformed offset")
    check(out[7]["ncsID"] == "q\"\\\tr", "JSON string escaping")
    check(all("reason" in o for o in out if "error" in o), "every error has a reason")
# Without --validate the malformed one is framed and its envelope read.
rc, out = run(["--encoding", "utf8", "-"], bad_xml)
check(rc == 0 and out[0]["message"] == "roAck", "framing without validation")
# Truncated stream and UCS-2BE odd byte.
rc, out = run(["--encoding", "utf8", "-"], b"<mos><mosID>a</mosID><roAck>")
check(rc == 1 and out[-1]["error"] == "CG_EAGAIN", "truncated stream reported")
rc, out = run(["-"], b"\x00<\x00")
check(rc == 1, "odd UCS-2BE byte count rejected")
# Usage errors.
p = subprocess.run([cg, "mos", "inspect", "--encoding", "latin1"], capture_output=True)
check(p.returncode == 2, "bad encoding is a usage error")
p = subprocess.run([cg, "mos", "frobnicate"], capture_output=True)
check(p.returncode == 2, "unknown mos subcommand")

print(f"{checks} checks, {fails} failed")
sys.exit(1 if fails else 0)
PY
