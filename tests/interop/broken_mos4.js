// A MOS 4.0 device that is not castgate (npm `ws` over https on loopback),
// correct by default and broken on purpose with --break, for
// test_check_mos4.sh. Usage:
//   node broken_mos4.js --port P --cert CHAIN --key KEY --user U --password PW
//                       --mos-id ID --ncs-id ID [--break WHAT]
// Correct: 401 without the right Basic credentials (M-05), 400 for a query
// without a known channel or with strange IDs (M-02), binary UCS-2BE answers
// (M-04) carrying the request's messageID (M-11), heartbeat answered (M-10),
// keepAlive never answered (M-09), a retried messageID answered by replaying
// the first answer (M-22), roCreate/roReq/roDelete kept in memory, passive
// connections accepted with one heartbeat originated on each (M-08).
// WHAT: answer-keepalive (ACKs a keepAlive), text-frames (answers as UTF-8
// text frames), no-echo (answers carry no messageID), retry-twice (a retry is
// applied again: the RO gets its stories twice), no-401 (any credentials),
// no-400 (any query), no-heartbeat (heartbeats unanswered).
'use strict';
const fs = require('fs');
const https = require('https');
const WebSocket = require('ws');

const a = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
const brk = a.break || '';
const auth = 'Basic ' + Buffer.from(a.user + ':' + a.password).toString('base64');
const tag = (xml, n) => { const m = xml.match(new RegExp('<' + n + '>([^<]*)</' + n + '>')); return m ? m[1] : null; };
const ros = new Map();     // roID -> [story xml]
const answered = new Map(); // channel/messageID -> answer body

function answerFor(name, xml, ch) {
  const ack = ch === 'ro' ? (s) => '<roAck><roID/><roStatus>' + s + '</roStatus></roAck>'
                          : (s) => '<mosAck><objID/><objRev>0</objRev><status>' + s + '</status><statusDescription/></mosAck>';
  switch (name) {
  case 'heartbeat': return '<heartbeat><time>2026-01-01T00:00:00,000Z</time></heartbeat>';
  case 'reqMachInfo': return '<listMachInfo><manufacturer>test</manufacturer><model>broken</model><hwRev/><swRev>1</swRev><DOM/><SN>1</SN><ID>' + a['mos-id'] + '</ID><time>2026-01-01T00:00:00</time><mosRev>4.0</mosRev></listMachInfo>';
  case 'mosReqObj': return ack('NACK');
  case 'mosReqSearchableSchema': return '<mosListSearchableSchema username="x"><mosSchema>http://x/schema</mosSchema></mosListSearchableSchema>';
  case 'roReqAll': return '<roListAll>' + [...ros.keys()].map((r) => '<ro><roID>' + r + '</roID></ro>').join('') + '</roListAll>';
  case 'roCreate': {
    const id = tag(xml, 'roID'), stories = xml.match(/<story>[\s\S]*?<\/story>/g) || [];
    ros.set(id, (ros.get(id) || []).concat(stories)); // applied again if it comes again
    return ack('OK');
  }
  case 'roDelete': ros.delete(tag(xml, 'roID')); return ack('OK');
  case 'roReq': {
    const id = tag(xml, 'roID');
    if (!ros.has(id)) return ack('NACK unknown RO');
    return '<roList><roID>' + id + '</roID><roSlug>x</roSlug>' + ros.get(id).join('') + '</roList>';
  }
  default: return ack(ch === 'ro' ? 'OK' : 'ACK');
  }
}

function send(ws, body, id) {
  const xml = '<mos><mosID>' + a['mos-id'] + '</mosID><ncsID>' + a['ncs-id'] + '</ncsID>' +
              (id !== null && brk !== 'no-echo' ? '<messageID>' + id + '</messageID>' : '') + body + '</mos>';
  if (brk === 'text-frames') ws.send(xml, { binary: false });
  else ws.send(Buffer.from(xml, 'utf16le').swap16(), { binary: true });
}

const server = https.createServer({ cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key) });
const wss = new WebSocket.Server({
  server,
  verifyClient: (info, cb) => {
    if (brk !== 'no-401' && info.req.headers.authorization !== auth)
      return cb(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="mos"' });
    const q = new URL(info.req.url, 'https://x').searchParams;
    if (brk !== 'no-400' && (!['mom', 'ro', 'aux'].includes(q.get('channel')) ||
        q.get('mosID') !== a['mos-id'] || q.get('ncsID') !== a['ncs-id']))
      return cb(false, 400, 'Bad Request');
    cb(true);
  },
});
wss.on('connection', (ws, req) => {
  const q = new URL(req.url, 'https://x').searchParams;
  const ch = q.get('channel');
  if (q.get('passive') === 'true') send(ws, '<heartbeat><time>2026-01-01T00:00:00,000Z</time></heartbeat>', '9');
  ws.on('message', (data, isBinary) => {
    const xml = isBinary ? Buffer.from(data).swap16().toString('utf16le') : data.toString('utf8');
    const body = xml.replace(/^[\s\S]*?<\/ncsID>\s*(<messageID>[^<]*<\/messageID>)?\s*/, '');
    const name = (body.match(/^<([A-Za-z]+)/) || [])[1] || '?';
    const id = tag(xml, 'messageID');
    process.stdout.write(JSON.stringify({ ch, name, id }) + '\n');
    if (name.toLowerCase() === 'keepalive') {
      if (brk === 'answer-keepalive') send(ws, answerFor('?', xml, ch), null);
      return;
    }
    if (brk === 'no-heartbeat' && name === 'heartbeat') return;
    if (/^(roAck|mosAck|listMachInfo|heartbeat)$/.test(name) && id === '9') return; // our passive heartbeat's answer
    const k = ch + '/' + id;
    let ans = brk !== 'retry-twice' && id !== null ? answered.get(k) : undefined;
    if (ans === undefined) { ans = answerFor(name, xml, ch); if (id !== null) answered.set(k, ans); }
    send(ws, ans, id);
  });
});
server.listen(parseInt(a.port, 10), '127.0.0.1');
