// A password guesser for interop tests (npm `ws`): upgrade after upgrade with
// a wrong password from one local address, until a stop file appears or
// --count tries. Prints one JSON line at the end:
//   {"address":"127.0.0.2","tries":N,"statuses":{"401":a,"429":b,"503":c},"opened":0,"errors":0,
//    "no_retry_after":0}  (503 answers without a Retry-After header)
// --hit-and-run: send the upgrade request on a raw TLS socket and close at
// once, before any answer (the server must cope with a check still running).
// --spread N: use N local addresses in turn (the last octet of A counting
// up), as an attacker with many addresses would (for measurements).
// Usage: node auth_guess.js URL --ca FILE --local-address A [--user U]
//        [--stop FILE] [--count N] [--hit-and-run] [--spread N]
'use strict';
const fs = require('fs');
const tls = require('tls');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const url = new URL(args.shift());
let ca, local = '127.0.0.1', user = 'ncs.castgate.demo', stop = null, count = 1e9, hitRun = false;
let spread = 1;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--ca') ca = fs.readFileSync(args[++i]);
  else if (a === '--local-address') local = args[++i];
  else if (a === '--user') user = args[++i];
  else if (a === '--stop') stop = args[++i];
  else if (a === '--count') count = parseInt(args[++i], 10);
  else if (a === '--hit-and-run') hitRun = true;
  else if (a === '--spread') spread = parseInt(args[++i], 10);
  else { console.error('unknown option ' + a); process.exit(2); }
}
const result = { address: local, tries: 0, statuses: {}, opened: 0, errors: 0, no_retry_after: 0 };
const octets = local.split('.').map(Number);
const localFor = (n) => octets.slice(0, 3).concat([octets[3] + (n % spread)]).join('.');
const auth = (n) => 'Basic ' + Buffer.from(`${user}:wrong-guess-${n}`).toString('base64');
const done = () => stop === null ? result.tries >= count : fs.existsSync(stop) || result.tries >= count;

function guess(n) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.href, { ca, localAddress: localFor(n), headers: { Authorization: auth(n) } });
    ws.on('unexpected-response', (req, res) => {
      result.statuses[res.statusCode] = (result.statuses[res.statusCode] || 0) + 1;
      if (res.statusCode === 503 && res.headers['retry-after'] === undefined) result.no_retry_after++;
      req.destroy(); resolve();
    });
    ws.on('open', () => { result.opened++; ws.terminate(); resolve(); });
    ws.on('error', () => { result.errors++; resolve(); });
  });
}

function hitAndRun(n) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: url.hostname, port: url.port, ca, localAddress: localFor(n),
                            servername: url.hostname }, () => {
      s.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
              'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
              `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: ${auth(n)}\r\n\r\n`,
              () => { s.destroy(); resolve(); });
    });
    s.on('error', () => { result.errors++; resolve(); });
  });
}

(async () => {
  while (!done()) {
    result.tries++;
    await (hitRun ? hitAndRun(result.tries) : guess(result.tries));
  }
  process.stdout.write(JSON.stringify(result) + '\n');
})();
