#!/usr/bin/env node
'use strict';
// A MOS device in Sofie mos-connection's "hot standby" mode (issue 18
// baseline, tests/interop/test_sofie_hotstandby.sh): connect() with a
// `primary` and a `secondary` NCS, each on its own ports. It answers the
// running-order messages either NCS sends (roCreate: roAck OK) and sends its
// own numbered roElementStat (roID HS-STAT-<n>, at most --send-status, until
// --stop-file exists) through the library's MosDevice, which picks the NCS. Every event is a JSON line on stdout
// (common.js): recv (what it received, from which ncsID), sent (each
// numbered send: ok, error, the connection current after it), wire-out /
// wire-in (each roElementStat attempt and each roAck as the device wrote and
// read them, with `via` primary|secondary), connection (both links' state).
const c = require('./common');
const { emit, s128, str, note } = c;

const o = c.parseArgs(process.argv.slice(2), {
  id: 'hs.mos', primaryId: 'hs.ncs.main', secondaryId: 'hs.ncs.buddy',
  lower: 0, upper: 0, query: 0,
  pLower: 0, pUpper: 0, sLower: 0, sUpper: 0, host: '127.0.0.1',
  timeout: 5000, heartbeatMs: 1000, offspecFailover: false,
  sendStatus: 0, sendDelayMs: 50, startFile: '', stopFile: '', exitAfterMs: 0,
  raw: false, rawHeartbeats: false, rawMax: 400, debug: false,
});
for (const k of ['lower', 'upper', 'query', 'pLower', 'pUpper', 'sLower', 'sUpper'])
  if (!o[k]) throw new Error(`--${k.replace(/[A-Z]/g, (x) => '-' + x.toLowerCase())} is required`);

const counts = { sent: 0, acked: 0, failed: 0, received: 0 };
let conn = null, dev = null;
const finish = c.installExit(() => conn, () => ({ role: 'device', id: o.id, ...counts }), o.exitAfterMs);
c.hookRouteData((rec) => { counts.received++; if (rec.type !== 'heartbeat') emit(rec); });

const roAck = (id) => ({ ID: typeof id === 'object' ? id : s128(id), Status: s128('OK'), Stories: [] });
const current = () => (!dev ? null : dev._currentConnection === dev._primaryConnection ? 'primary' : 'secondary');

function answer(d) {
  d.onRequestMachineInfo(async () => c.machInfo(o.id, false));
  d.onConnectionChange((s) => emit({ event: 'connection', primary: s.PrimaryConnected, secondary: s.SecondaryConnected, current: current() }));
  d.onCreateRunningOrder(async (ro) => { note({ roID: str(ro.ID), roSlug: str(ro.Slug) }); return roAck(ro.ID); });
  d.onReplaceRunningOrder(async (ro) => { note({ roID: str(ro.ID) }); return roAck(ro.ID); });
  d.onMetadataReplace(async (ro) => { note({ roID: str(ro.ID) }); return roAck(ro.ID); });
  d.onDeleteRunningOrder(async (id) => { note({ roID: str(id) }); return roAck(id); });
  d.onRequestRunningOrder(async () => null);
  d.onRunningOrderStatus(async (s) => roAck(s.ID));
  d.onStoryStatus(async (s) => roAck(s.RunningOrderId));
  d.onItemStatus(async (s) => roAck(s.RunningOrderId));
  d.onReadyToAir(async (a) => roAck(a.ID));
  const act = async (a) => roAck(a.RunningOrderID);
  for (const f of ['onROInsertStories', 'onROInsertItems', 'onROReplaceStories', 'onROReplaceItems', 'onROMoveStories',
    'onROMoveItems', 'onRODeleteStories', 'onRODeleteItems', 'onROSwapStories', 'onROSwapItems']) d[f](act);
  d.onRequestMOSObject(async () => null);
  d.onRequestAllMOSObjects(async () => []);
}

// What the device wrote to and read from each NCS connection (its own sockets).
function wireTap(cn) {
  cn.on('rawMessage', (source, type, message) => {
    if (source !== 'primary' && source !== 'secondary') return;
    const m = String(message);
    if (/sent/.test(type) && /<roElementStat/.test(m)) {
      emit({ event: 'wire-out', via: source, messageID: c.tag(m, 'messageID'), roID: c.tag(m, 'roID') });
    } else if (/ecie/.test(type) && /<roAck>/.test(m)) {
      emit({ event: 'wire-in', via: source, messageID: c.tag(m, 'messageID'), roID: c.tag(m, 'roID'), roStatus: c.tag(m, 'roStatus') });
    }
  });
}

async function originate() {
  const fs = require('fs');
  while (o.startFile && !fs.existsSync(o.startFile)) await new Promise((r) => setTimeout(r, 50));
  emit({ event: 'originate-start', current: current() });
  for (let i = 1; i <= o.sendStatus && !(o.stopFile && fs.existsSync(o.stopFile)); i++) {
    const t = Date.now();
    counts.sent++;
    const roID = `HS-STAT-${i}`;
    try {
      const r = await dev.sendRunningOrderStatus({ ID: s128(roID), Status: 'PLAY', Time: c.T.mosTime.create(Date.now()) });
      counts.acked++;
      emit({ event: 'sent', seq: i, roID, ok: true, status: str(r.Status), current: current(), ms: Date.now() - t });
    } catch (e) {
      counts.failed++;
      emit({ event: 'sent', seq: i, roID, ok: false, error: c.errText(e), current: current(), ms: Date.now() - t });
    }
    if (o.sendDelayMs) await new Promise((r) => setTimeout(r, o.sendDelayMs));
  }
  emit({ event: 'originate-done', ...counts, current: current() });
}

async function main() {
  conn = new c.MosConnection({
    mosID: o.id, acceptsConnections: true, isNCS: false, debug: o.debug, strict: false,
    offspecFailover: o.offspecFailover,
    profiles: { 0: true, 1: true, 2: true, 3: true, 4: true },
    ports: { lower: o.lower, upper: o.upper, query: o.query },
  });
  conn.on('error', (e) => emit({ event: 'error', error: c.errText(e).slice(0, 300) }));
  conn.on('warning', (e) => emit({ event: 'warning', warning: c.errText(e).slice(0, 300) }));
  c.wireLogger(conn, o);
  wireTap(conn);
  await conn.init();
  // epoch: the wall clock now, so a verdict can place the test's kill and restart times
  // (date +%s%3N) on this log's t
  emit({ event: 'listening', role: 'device', id: o.id, lower: o.lower, upper: o.upper, query: o.query, epoch: Date.now() });
  const link = (id, lower, upper) => ({
    id, host: o.host, timeout: o.timeout, heartbeatInterval: o.heartbeatMs,
    ports: { lower, upper, query: upper }, dontUseQueryPort: true,
  });
  dev = await conn.connect({ primary: link(o.primaryId, o.pLower, o.pUpper), secondary: link(o.secondaryId, o.sLower, o.sUpper) });
  answer(dev);
  await originate();
}

main().catch((e) => { emit({ event: 'fatal', error: c.errText(e), stack: e && e.stack }); finish('fatal', 1); });
