// Opens N authenticated wss connections (npm `ws`), at most C in progress at
// once, all with the same Basic credentials, and holds them open; then prints
// one JSON line: {"opened":O,"refused":{"503":K,...},"errors":E,
// "retry_after":["1",...]} and closes them all.
// Usage: node auth_burst.js URL CAFILE USER:PASS N C
// Every connection is tried once: a refusal is counted, not retried (the
// test wants to see it).
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const [url, caFile, userPass, nStr, cStr] = process.argv.slice(2);
const n = parseInt(nStr, 10), conc = parseInt(cStr, 10);
const ca = fs.readFileSync(caFile);
const headers = { Authorization: 'Basic ' + Buffer.from(userPass).toString('base64') };
const socks = [];
const refused = {};
const retryAfter = new Set();
let started = 0, opened = 0, errors = 0, finished = 0;

function settle() {
  finished++;
  if (finished === n) return report();
  next();
}

function next() {
  while (started < n && started - finished < conc) {
    started++;
    let done = false;
    const once = (f) => (...a) => { if (!done) { done = true; f(...a); settle(); } };
    const ws = new WebSocket(url, { ca, servername: 'localhost', headers, handshakeTimeout: 60000 });
    ws.on('open', once(() => { opened++; socks.push(ws); }));
    ws.on('unexpected-response', once((req, res) => {
      refused[res.statusCode] = (refused[res.statusCode] || 0) + 1;
      if (res.headers['retry-after'] !== undefined) retryAfter.add(res.headers['retry-after']);
      req.destroy();
    }));
    ws.on('error', once(() => { errors++; }));
  }
}

function report() {
  process.stdout.write(JSON.stringify({ opened, refused, errors, retry_after: [...retryAfter] }) + '\n');
  for (const s of socks) s.terminate();
  process.exit(0);
}

next();
setTimeout(() => {
  process.stdout.write(JSON.stringify({ event: 'timeout', started, finished, opened }) + '\n');
  process.exit(3);
}, 120000);
