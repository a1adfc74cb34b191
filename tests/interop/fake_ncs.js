// A MOS 4.0 peer that is not castgate (npm `ws` over https on loopback) and
// answers like a field NCS does, for OUT-lane tests. Usage:
//   node fake_ncs.js --port P --cert CHAIN --key KEY [--silent-first N]
//                    [--answer invalid|ack] [--push-rocreate]
// Every request that arrives (keepAlive excepted, M-09) is printed as
// {"event":"got","channel":…,"passive":…,"name":…,"messageID":…,"data":…}
// and, after the first N distinct requests (which get no answer at all),
// answered on the socket it came on:
//   invalid (default) ENPS's `<mos>Invalid command: NAME requestID="2" …</mos>`:
//                     no IDs, no messageID, no message element;
//   ack               a positive mosAck/roAck with the request's messageID.
// Answers go out as UCS-2BE binary frames (M-04). Connections are printed as
// {"event":"open","query":…}; every frame as {"event":"frame","channel":…,
// "passive":…,"name":…} (keepAlive included); an answer to our own request
// as {"event":"answer",…}. --push-rocreate: on the first passive ro socket
// (M-08: the device dialled it, we originate on it) send a roCreate at once
// ({"event":"pushed"}).
'use strict';
const fs = require('fs');
const https = require('https');
const WebSocket = require('ws');

const args = process.argv.slice(2);
let port = 0, cert = null, key = null, silent = 0, mode = 'invalid', push = false, pushed = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--port') port = parseInt(args[++i], 10);
  else if (a === '--cert') cert = fs.readFileSync(args[++i]);
  else if (a === '--key') key = fs.readFileSync(args[++i]);
  else if (a === '--silent-first') silent = parseInt(args[++i], 10);
  else if (a === '--answer') mode = args[++i];
  else if (a === '--push-rocreate') push = true;
  else { console.error('unknown option ' + a); process.exit(2); }
}
const t0 = Date.now();
const out = (o) => process.stdout.write(JSON.stringify(Object.assign({ t: Date.now() - t0 }, o)) + '\n');
const tag = (xml, name) => { const m = xml.match(new RegExp('<' + name + '>([^<]*)</' + name + '>')); return m ? m[1] : null; };
const seen = new Set(), silenced = new Set();

const server = https.createServer({ cert, key });
const wss = new WebSocket.Server({ server });
wss.on('connection', (ws, req) => {
  const q = new URL(req.url, 'https://x').searchParams;
  const channel = q.get('channel'), passive = (q.get('passive') || '').toLowerCase() === 'true';
  out({ event: 'open', query: req.url.split('?')[1] || '' });
  if (push && !pushed && passive && channel === 'ro') {
    pushed = true;
    const ro = '<mos><mosID>' + q.get('mosID') + '</mosID><ncsID>' + q.get('ncsID') + '</ncsID>' +
               '<messageID>1001</messageID><roCreate><roID>RO-PUSH</roID><roSlug>pushed</roSlug></roCreate></mos>';
    ws.send(Buffer.from(ro, 'utf16le').swap16(), { binary: true });
    out({ event: 'pushed', channel, passive });
  }
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    const xml = isBinary ? buf.swap16().toString('utf16le') : buf.toString('utf8');
    const body = xml.replace(/^[\s\S]*?<\/ncsID>\s*(<messageID>[^<]*<\/messageID>)?\s*/, '');
    const name = (body.match(/^<([A-Za-z]+)/) || [])[1] || '?';
    const id = tag(xml, 'messageID');
    out({ event: 'frame', channel, passive, name, messageID: id });
    if (name.toLowerCase() === 'keepalive') return;
    if (/^(roAck|mosAck|listMachInfo|roList|mosObj|roListAll|mosObjList|mosListSearchableSchema)$/.test(name)) {
      out({ event: 'answer', channel, passive, name, messageID: id, data: xml.slice(0, 600) });
      return;
    }
    out({ event: 'got', channel, passive, name, messageID: id, data: xml.slice(0, 600) });
    const k = channel + '/' + (id === null ? name + '#' + seen.size : id);
    if (!seen.has(k) && silenced.size < silent) silenced.add(k);
    seen.add(k);
    if (silenced.has(k)) return;
    let answer;
    if (mode === 'ack') {
      const env = '<mos><mosID>' + tag(xml, 'mosID') + '</mosID><ncsID>' + tag(xml, 'ncsID') + '</ncsID>' +
                  (id !== null ? '<messageID>' + id + '</messageID>' : '');
      answer = env + (channel === 'ro' ? '<roAck><roID/><roStatus>OK</roStatus></roAck>'
                                       : '<mosAck><objID/><objRev>0</objRev><status>ACK</status><statusDescription/></mosAck>') + '</mos>';
    } else {
      answer = '<mos>Invalid command: ' + name + ' requestID="2" …</mos>';
    }
    ws.send(Buffer.from(answer, 'utf16le').swap16(), { binary: true });
  });
  ws.on('close', () => out({ event: 'close', channel }));
});
server.listen(port, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));
const stop = () => { out({ event: 'stopped' }); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
