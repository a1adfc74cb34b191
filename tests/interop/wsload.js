// Holds N wss connections open (npm `ws`), then proves each one still works.
// Usage: node wsload.js URL CAFILE N HOLD_FILE
// Prints {"opened":N} once all are open, then waits until HOLD_FILE exists,
// sends one message on every connection and prints
// {"echoed":E,"closed_early":C} when all echoes (or a 10 s timeout) are in.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const [url, caFile, nStr, holdFile] = process.argv.slice(2);
const n = parseInt(nStr, 10);
const ca = fs.readFileSync(caFile);
const socks = [];
let opened = 0, echoed = 0, closedEarly = 0, sending = false;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
function done() {
  out({ echoed, closed_early: closedEarly });
  for (const s of socks) s.terminate();
  process.exit(0);
}
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url, { ca, servername: 'localhost' });
  ws.on('open', () => { if (++opened === n) { out({ opened }); waitHold(); } });
  ws.on('message', () => { if (++echoed === n) done(); });
  ws.on('close', () => { if (!sending || echoed < n) closedEarly++; });
  ws.on('error', (e) => out({ event: 'error', message: String(e.message) }));
  socks.push(ws);
}
function waitHold() {
  if (!fs.existsSync(holdFile)) { setTimeout(waitHold, 50); return; }
  sending = true;
  socks.forEach((s, i) => { if (s.readyState === WebSocket.OPEN) s.send('ping ' + i); });
  setTimeout(done, 10000);
}
setTimeout(() => { out({ event: 'timeout', opened, echoed }); process.exit(3); }, 60000);
