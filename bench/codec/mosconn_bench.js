// Sofie mos-connection's receive path on the same UCS-2BE bytes: per socket
// chunk iconv-lite decodes UTF-16BE, MosMessageParser cuts at </mos> and runs
// xml2js on each message (connection/mosSocketClient.js, mosMessageParser.js).
// usage: node mosconn_bench.js FILE EXPECTED_MESSAGES
'use strict';
const path = require('path');
const fs = require('fs');
const nm = path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules');
const iconv = require(path.join(nm, 'iconv-lite'));
const { MosMessageParser } = require(path.join(nm, '@mos-connection', 'connector', 'dist',
  'connection', 'mosMessageParser.js'));

const [file, expected] = [process.argv[2], Number(process.argv[3])];
const data = fs.readFileSync(file);
const CHUNK = 65536; // even, so the stateless per-chunk decode stays aligned

function once() {
  const p = new MosMessageParser('bench');
  let n = 0;
  p.on('message', () => { n++; });
  for (let i = 0; i < data.length; i += CHUNK)
    p.parseMessage(iconv.decode(data.subarray(i, i + CHUNK), 'utf16-be'));
  return n;
}

const got = once();
if (expected && got !== expected) {
  console.error(`mos-connection parsed ${got} messages, expected ${expected}`);
  process.exit(1);
}
let best = Infinity;
for (let run = 0; run < 5; run++) {
  let reps = 0;
  const t0 = process.hrtime.bigint();
  let t;
  do {
    once();
    reps++;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (t < 1.0);
  best = Math.min(best, t / reps);
}
console.log(JSON.stringify({ file: path.basename(file), bytes: data.length, messages: got,
  mb_s: Number((data.length / best / 1e6).toFixed(2)) }));
