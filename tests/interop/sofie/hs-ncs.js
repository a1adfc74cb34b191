#!/usr/bin/env node
'use strict';
// One NCS of a main/buddy pair, on Sofie mos-connection (isNCS), for the hot
// standby baseline (issue 18, tests/interop/test_sofie_hotstandby.sh).
//
// What a real NCS pair shares through its database is a progress file here:
// the number of the last numbered roCreate (roID HS-RO-<n>) the device
// acknowledged. The main (--role main) sends HS-RO-<progress+1> after
// --start-delay-ms, one at a time, writing the progress after each roAck.
// The buddy (--role buddy) probes the main's lower port (TCP connect, every
// 200 ms): while the main answers it sends nothing and declines the device's
// requests with roAck roStatus "Buddy server cannot respond because main
// server is available" and an empty roID (field behaviour, issue 18); once
// the main has been unreachable for --takeover-ms it answers them (roAck OK)
// and continues the numbered roCreates from the progress file.
// JSON events (common.js): recv (device-originated messages, with roID and
// `declined`), sent (seq, ok), main (the buddy's view of the main).
const fs = require('fs');
const net = require('net');
const c = require('./common');
const { emit, s128, str, note } = c;

const DECLINE = 'Buddy server cannot respond because main server is available';
const o = c.parseArgs(process.argv.slice(2), {
  id: 'hs.ncs.main', devId: 'hs.mos', role: 'main',
  lower: 0, upper: 0, query: 0, host: '127.0.0.1', devLower: 0, devUpper: 0,
  mainPort: 0, takeoverMs: 1000, progress: '', count: 0, sendDelayMs: 30, startDelayMs: 0, startFile: '',
  timeout: 5000, heartbeatMs: 1000, exitAfterMs: 0,
  raw: false, rawHeartbeats: false, rawMax: 400, debug: false,
});
if (!o.lower || !o.upper || !o.query || !o.devLower || !o.devUpper || !o.progress) throw new Error('ports and --progress are required');
if (o.role === 'buddy' && !o.mainPort) throw new Error('a buddy needs --main-port');

const counts = { sent: 0, acked: 0, failed: 0, received: 0, declined: 0 };
let conn = null;
const finish = c.installExit(() => conn, () => ({ role: o.role, id: o.id, ...counts }), o.exitAfterMs);
c.hookRouteData((rec) => { counts.received++; if (rec.type !== 'heartbeat') emit(rec); });

// The buddy's view of the main: reachable or not, and since when.
const main = { available: o.role === 'buddy', since: Date.now() };
function probe() {
  const s = net.connect({ host: o.host, port: o.mainPort });
  const done = (up) => {
    s.destroy();
    if (up !== main.available) { main.available = up; main.since = Date.now(); emit({ event: 'main', available: up }); }
  };
  s.setTimeout(300, () => done(false));
  s.once('connect', () => done(true));
  s.once('error', () => done(false));
}
const serving = () => o.role === 'main' || (!main.available && Date.now() - main.since >= o.takeoverMs);

const roAck = (id, status = 'OK') => ({ ID: typeof id === 'object' ? id : s128(id), Status: s128(status), Stories: [] });
function statusAnswer(id) {
  if (serving()) return roAck(id);
  counts.declined++;
  note({ declined: true });
  return roAck('', DECLINE); // empty roID, as the field reports it
}

function answer(d) {
  d.onRequestMachineInfo(async () => c.machInfo(o.id, true));
  d.onRunningOrderStatus(async (s) => { note({ roID: str(s.ID) }); return statusAnswer(s.ID); });
  d.onStoryStatus(async (s) => { note({ roID: str(s.RunningOrderId) }); return statusAnswer(s.RunningOrderId); });
  d.onItemStatus(async (s) => { note({ roID: str(s.RunningOrderId) }); return statusAnswer(s.RunningOrderId); });
  d.onMOSObjects(async () => ({ ID: s128(0), Revision: 1, Description: s128(''), Status: 'ACK' }));
  d.onRequestRunningOrder(async () => null);
}

const readProgress = () => { try { return Number(fs.readFileSync(o.progress, 'utf8')) || 0; } catch (_) { return 0; } };
function writeProgress(n) { fs.writeFileSync(o.progress + '.tmp', String(n)); fs.renameSync(o.progress + '.tmp', o.progress); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function numbered(d) {
  while (o.startFile && !fs.existsSync(o.startFile)) await sleep(50);
  if (o.startDelayMs) await sleep(o.startDelayMs);
  for (;;) {
    const n = readProgress();
    if (n >= o.count) break;
    if (!serving() || !d.getConnectionStatus().PrimaryConnected) { await sleep(50); continue; }
    const id = `HS-RO-${n + 1}`;
    const ro = c.runningOrder(id, `hot standby ${n + 1}`, o.devId, 1);
    const t = Date.now();
    counts.sent++;
    try {
      const r = await d.sendCreateRunningOrder(ro);
      const ok = str(r.Status) === 'OK';
      if (ok) { counts.acked++; writeProgress(n + 1); }
      emit({ event: 'sent', seq: n + 1, roID: id, ok, status: str(r.Status), ms: Date.now() - t });
    } catch (e) {
      counts.failed++;
      emit({ event: 'sent', seq: n + 1, roID: id, ok: false, error: c.errText(e).slice(0, 200), ms: Date.now() - t });
      await sleep(200);
    }
    if (o.sendDelayMs) await sleep(o.sendDelayMs);
  }
  emit({ event: 'numbered-done', ...counts });
}

async function main_() {
  conn = new c.MosConnection({
    mosID: o.id, acceptsConnections: true, isNCS: true, debug: o.debug, strict: false,
    profiles: { 0: true, 1: true, 2: true, 3: true, 4: true },
    ports: { lower: o.lower, upper: o.upper, query: o.query },
  });
  conn.on('error', (e) => emit({ event: 'error', error: c.errText(e).slice(0, 300) }));
  conn.on('warning', (e) => emit({ event: 'warning', warning: c.errText(e).slice(0, 300) }));
  c.wireLogger(conn, o);
  await conn.init();
  emit({ event: 'listening', role: o.role, id: o.id, lower: o.lower, upper: o.upper });
  if (o.role === 'buddy') { probe(); setInterval(probe, 200); }
  const d = await conn.connect({
    primary: { id: o.devId, host: o.host, timeout: o.timeout, heartbeatInterval: o.heartbeatMs,
      ports: { lower: o.devLower, upper: o.devUpper, query: o.devUpper }, dontUseQueryPort: true },
  });
  answer(d);
  if (o.count) await numbered(d);
}

main_().catch((e) => { emit({ event: 'fatal', error: c.errText(e), stack: e && e.stack }); finish('fatal', 1); });
