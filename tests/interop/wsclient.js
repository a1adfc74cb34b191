// A WebSocket client that is not castgate (the npm `ws` package), for interop
// tests. Usage:
//   node wsclient.js URL --ca FILE [--send-binary TEXT]... [--send-text TEXT]...
//        [--header 'Name: value']... [--expect N] [--timeout MS]
// Prints one JSON line per event: {"event":"open"}, {"event":"message",
// "binary":true,"data":"…"}, {"event":"close","code":1000},
// {"event":"unexpected-response","status":401,"headers":{…}}, {"event":"error",…}.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const url = args.shift();
const opts = { headers: {} };
const sends = [];
let expect = 0, timeout = 5000, repeat = 1, hash = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--ca') opts.ca = fs.readFileSync(args[++i]);
  else if (a === '--send-binary') sends.push([true, args[++i]]);
  else if (a === '--send-text') sends.push([false, args[++i]]);
  else if (a === '--send-file') sends.push([true, fs.readFileSync(args[++i])]);
  else if (a === '--send-text-hex') sends.push([false, Buffer.from(args[++i], 'hex')]);
  else if (a === '--repeat') repeat = parseInt(args[++i], 10);
  else if (a === '--hash') hash = true;
  else if (a === '--header') { const [k, ...v] = args[++i].split(':'); opts.headers[k.trim()] = v.join(':').trim(); }
  else if (a === '--expect') expect = parseInt(args[++i], 10);
  else if (a === '--timeout') timeout = parseInt(args[++i], 10);
  else if (a === '--servername') opts.servername = args[++i];
  else { console.error('unknown option ' + a); process.exit(2); }
}
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const ws = new WebSocket(url, opts);
let got = 0;
const timer = setTimeout(() => { out({ event: 'timeout' }); ws.terminate(); process.exit(3); }, timeout);
ws.on('unexpected-response', (req, res) => {
  out({ event: 'unexpected-response', status: res.statusCode, headers: res.headers });
  clearTimeout(timer); process.exit(0);
});
ws.on('open', () => {
  out({ event: 'open' });
  for (let r = 0; r < repeat; r++)
    for (const [bin, data] of sends)
      ws.send(typeof data === 'string' ? Buffer.from(repeat > 1 ? data + ' #' + r : data) : data, { binary: bin });
  if (expect === 0) ws.close(1000, 'done');
});
ws.on('message', (data, isBinary) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
  const o = { event: 'message', binary: isBinary, bytes: buf.length };
  if (hash) o.sha256 = require('crypto').createHash('sha256').update(buf).digest('hex');
  else if (buf.length <= 4096) o.data = buf.toString('latin1');
  out(o);
  if (++got >= expect) ws.close(1000, 'done');
});
// Pings from the server (ws answers each with a pong by itself): counted.
ws.on('ping', (data) => out({ event: 'ping', bytes: data.length }));
ws.on('close', (code) => { out({ event: 'close', code }); clearTimeout(timer); process.exit(0); });
ws.on('error', (e) => { out({ event: 'error', message: e.message, code: e.code }); clearTimeout(timer); process.exit(1); });
