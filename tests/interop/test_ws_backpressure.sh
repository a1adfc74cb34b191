#!/usr/bin/env bash
# The wss engine's send side under backpressure: a client (npm `ws`) that
# stops reading while it sends makes castgate's write queue pass
# max_write_queue, so echoes go from the direct path to wslay's queue and
# back; every echo must still arrive once, whole and in order, and a ping sent
# in the middle gets its pong. Also messages that arrive split across reads
# and many in one read (frames parsed by src/ws/rx.c).
. "$(dirname "$0")/lib.sh"
need_node

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" \
  --limit max_write_queue=65536
export NODE_PATH="$SRC/tests/interop/node_modules"

cat >"$T/bp.js" <<'JS'
const WebSocket = require('ws');
const fs = require('fs');
const [url, ca, n, size, pauseMs] = process.argv.slice(2);
const N = +n, SIZE = +size;
const ws = new WebSocket(url, { ca: fs.readFileSync(ca) });
const got = [];
let pong = false;
ws.on('open', () => {
  ws._socket.pause(); // stop reading: the server's queue towards us fills up
  for (let i = 0; i < N; i++) {
    const b = Buffer.alloc(SIZE, i & 0xff);
    b.writeUInt32BE(i, 0);
    ws.send(b, { binary: true });
    if (i === N >> 1) ws.ping('mid');
  }
  setTimeout(() => ws._socket.resume(), +pauseMs);
});
ws.on('pong', (d) => { pong = d.toString() === 'mid'; });
ws.on('message', (d) => {
  got.push(d);
  if (got.length === N) {
    let ok = true;
    got.forEach((b, i) => {
      if (b.length !== SIZE || b.readUInt32BE(0) !== i || b[SIZE - 1] !== (SIZE > 4 ? i & 0xff : b[SIZE - 1])) ok = false;
    });
    console.log(JSON.stringify({ messages: got.length, in_order: ok, pong }));
    ws.close(1000);
  }
});
ws.on('close', (c) => { console.log(JSON.stringify({ close: c })); process.exit(0); });
ws.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ timeout: true, messages: got.length })); process.exit(2); }, 30000);
JS
U="wss://localhost:$PORT/mos/Communication"
node "$T/bp.js" "$U" "$P/root-ca.pem" 400 8192 1500 >"$T/bp.out"
check "400 x 8 KiB echoed through a full write queue, all in order" grep -q '"messages":400,"in_order":true' "$T/bp.out"
check "ping in the middle answered" grep -q '"pong":true' "$T/bp.out"
check "clean close after" grep -q '"close":1000' "$T/bp.out"
node "$T/bp.js" "$U" "$P/root-ca.pem" 3000 5 10 >"$T/small.out"
check "3000 small messages (many frames per read) echoed in order" grep -q '"messages":3000,"in_order":true' "$T/small.out"
node "$T/bp.js" "$U" "$P/root-ca.pem" 3 200000 200 >"$T/big.out"
check "200 KB messages over a 64 KiB write queue (split across reads) in order" grep -q '"messages":3,"in_order":true' "$T/big.out"
check "server still up" kill -0 "$SERVE_PID"
finish
