#!/usr/bin/env node
'use strict';
// A real legacy MOS 2.8.5 NCS (Sofie mos-connection with isNCS, plain TCP,
// UCS-2BE): dials a device at --host:--dev-lower/--dev-upper/--dev-query,
// runs a scripted sequence (--script profile0-4, --count N --numbered,
// --big-rocreate BYTES), and listens on --lower/--upper/--query for
// device-originated messages. One JSON line per event on stdout; see README.md.
const c = require('./common');
const { emit, s128, str, note } = c;

const o = c.parseArgs(process.argv.slice(2), {
  id: 'legacy.ncs', devId: 'legacy.mos', host: '127.0.0.1',
  lower: 0, upper: 0, query: 0,
  devLower: 0, devUpper: 0, devQuery: 0,
  timeout: 10000, heartbeatMs: 0, connectTimeoutMs: 20000,
  script: '', count: 0, numbered: false, kind: 'roCreate', bigRocreate: 0,
  lingerMs: 0, waitIncomingMs: 0, waitFile: '', awaitTypes: '', awaitMs: 20000, exitWhenDone: false, exitAfterMs: 0, raw: false, rawHeartbeats: false, rawMax: 400, debug: false,
});
if (!o.lower || !o.upper || !o.query) throw new Error('--lower, --upper and --query are required (no default ports)');
if (!o.devLower || !o.devUpper) throw new Error('--dev-lower and --dev-upper are required');

const counts = { sent: 0, acked: 0, nacked: 0, failed: 0, unexpected: 0, received: 0, replied: 0 };
const recvTypes = [];
let conn = null;
const finish = c.installExit(() => conn, () => ({ role: 'ncs', id: o.id, ...counts, receivedByType: c.countBy(recvTypes) }), o.exitAfterMs);

c.hookRouteData((rec) => { counts.received++; recvTypes.push(rec.type); emit(rec); });

const roAck = (id, status = 'OK') => ({ ID: typeof id === 'object' ? id : s128(id), Status: s128(status), Stories: [] });
const mosAck = (id, desc = '') => ({ ID: typeof id === 'object' ? id : s128(id || 0), Revision: 1, Description: s128(desc), Status: 'ACK' });

// Callbacks for what a device may send an NCS (and the requests mos-connection
// lets either side send).
function answer(dev) {
  dev.onRequestMachineInfo(async () => c.machInfo(o.id, true));
  dev.onConnectionChange((s) => emit({ event: 'connection', primary: s.PrimaryConnected, status: s.PrimaryStatus }));
  dev.onMOSObjects(async (objs) => { note({ objIDs: objs.map((x) => str(x.ID)), hashes: objs.map((x) => c.sha(str(x.ID) + '\u0001' + str(x.Slug))) }); return mosAck(objs[0] && objs[0].ID); });
  dev.onRequestMOSObject(async () => null);
  dev.onRequestAllMOSObjects(async () => []);
  dev.onRunningOrderStatus(async (s) => { note({ element: 'RO', roID: str(s.ID), status: s.Status }); return roAck(s.ID); });
  dev.onStoryStatus(async (s) => { note({ element: 'STORY', roID: str(s.RunningOrderId), storyID: str(s.ID), status: s.Status }); return roAck(s.RunningOrderId); });
  dev.onItemStatus(async (s) => { note({ element: 'ITEM', roID: str(s.RunningOrderId), itemID: str(s.ID), status: s.Status }); return roAck(s.RunningOrderId); });
  dev.onItemReplace(async (roID, storyID, it) => { note({ roID: str(roID), storyID: str(storyID), itemID: str(it.ID), itemSlug: str(it.Slug) }); return roAck(roID); });
  dev.onRequestRunningOrder(async (id) => { note({ roID: str(id) }); return str(id) === 'RO1' ? c.runningOrder('RO1', 'NCS copy of RO1', o.devId) : null; });
  dev.onReadyToAir(async (a) => { note({ roID: str(a.ID) }); return roAck(a.ID); });
}

// step(name, expect, fn): one exchange. expect 'ok' (answered positively) or
// 'nack' (answered negatively / rejected). Prints what was sent, the reply, timing.
const results = [];
async function step(name, expect, fn, fields = {}) {
  const t = Date.now();
  counts.sent++;
  let ok, reply, error;
  try {
    const r = await fn();
    reply = summarise(r);
    ok = !reply.nack;
  } catch (e) {
    error = c.errText(e);
    ok = false;
  }
  if (ok) counts.acked++; else if (error && /timed out|Timeout/i.test(error)) counts.failed++; else counts.nacked++;
  const pass = expect === 'ok' ? ok : !ok && !(error && /timed out|Timeout/i.test(error));
  if (!pass) counts.unexpected++;
  const ev = { event: 'sent', msg: name, ...fields, expect, ok, pass, reply, error, ms: Date.now() - t };
  results.push(ev);
  emit(ev);
  return ev;
}
function summarise(r) {
  if (r === null || r === undefined) return { kind: String(r), nack: true };
  if (Array.isArray(r)) return { kind: 'list', n: r.length, ids: r.slice(0, 5).map((x) => str(x.ID)) };
  if (r.Stories !== undefined && r.Status !== undefined && r.Slug === undefined) { // roAck
    const s = str(r.Status); return { kind: 'roAck', roID: str(r.ID), status: s, nack: s !== 'OK' };
  }
  if (r.Revision !== undefined && r.Description !== undefined && r.Slug === undefined) { // mosAck
    return { kind: 'mosAck', objID: str(r.ID), status: r.Status, description: str(r.Description), nack: r.Status !== 'ACK' };
  }
  if (r.Stories !== undefined) return { kind: 'roList', roID: str(r.ID), roSlug: str(r.Slug), stories: r.Stories.length, hash: c.roHash(r) };
  if (r.supportedProfiles !== undefined) return { kind: 'listMachInfo', id: str(r.ID), mosRev: str(r.mosRev), manufacturer: str(r.manufacturer) };
  if (r.Type !== undefined && r.Slug !== undefined) return { kind: 'mosObj', objID: str(r.ID), objSlug: str(r.Slug) };
  if (r.mosSchema !== undefined && r.queryID === undefined) return { kind: 'mosListSearchableSchema', mosSchema: r.mosSchema };
  if (r.queryID !== undefined) return { kind: 'mosObjList', n: (r.list || []).length, total: r.listReturnTotal };
  if (r.mos) return { kind: c.msgType(r.mos) };
  return { kind: 'other', keys: Object.keys(r).slice(0, 8) };
}

async function profile04(dev) {
  const mt = c.T;
  const ro = c.runningOrder('RO1', 'Evening news — Вечерние новости 晚间新闻', o.devId, 3);
  const ro2 = c.runningOrder('RO1', 'Evening news (replaced)', o.devId, 2);
  const act = { RunningOrderID: s128('RO1') };
  const sAct = { RunningOrderID: s128('RO1'), StoryID: s128('RO1-S2') };
  const iAct = { RunningOrderID: s128('RO1'), StoryID: s128('RO1-S1'), ItemID: s128('RO1-S1-I1') };
  const time = () => mt.mosTime.create(Date.now());
  // Profile 0
  await step('reqMachInfo', 'ok', () => dev.requestMachineInfo());
  const hb = new (require('@mos-connection/helper').MosModel.HeartBeat)('upper', undefined, false);
  await step('heartbeat(upper)', 'ok', () => dev._currentConnection.executeCommand(hb));
  const hb2 = new (require('@mos-connection/helper').MosModel.HeartBeat)('lower', undefined, false);
  await step('heartbeat(lower)', 'ok', () => dev._currentConnection.executeCommand(hb2));
  // Profile 1
  await step('mosReqObj', 'ok', () => dev.sendRequestMOSObject(s128('OBJ1')));
  await step('mosReqObj(unknown)', 'nack', () => dev.sendRequestMOSObject(s128('NO-SUCH-OBJ')));
  await step('mosReqAll', 'ok', () => dev.sendRequestAllMOSObjects(0));
  // Profile 2
  await step('roCreate', 'ok', () => dev.sendCreateRunningOrder(ro), { hash: c.roHash(ro) });
  await step('roReq', 'ok', () => dev.sendRequestRunningOrder(s128('RO1')));
  await step('roReplace', 'ok', () => dev.sendReplaceRunningOrder(ro2), { hash: c.roHash(ro2) });
  await step('roMetadataReplace', 'ok', () => dev.sendMetadataReplace({ ID: s128('RO1'), Slug: s128('Evening news — metadata'), DefaultChannel: s128('A') }));
  await step('roElementStat(RO)', 'ok', () => dev.sendRunningOrderStatus({ ID: s128('RO1'), Status: 'READY', Time: time() }));
  await step('roElementStat(STORY)', 'ok', () => dev.sendStoryStatus({ RunningOrderId: s128('RO1'), ID: s128('RO1-S1'), Status: 'READY', Time: time() }));
  await step('roElementStat(ITEM)', 'ok', () => dev.sendItemStatus({ RunningOrderId: s128('RO1'), StoryId: s128('RO1-S1'), ID: s128('RO1-S1-I1'), ObjectId: s128('OBJ1'), Channel: s128('A'), Status: 'READY', Time: time() }));
  await step('roReadyToAir', 'ok', () => dev.sendReadyToAir({ ID: s128('RO1'), Status: 'READY' }));
  await step('roElementAction(INSERT story)', 'ok', () => dev.sendROInsertStories(sAct, [c.story('RO1-S9', 'inserted story — вставка', o.devId)]));
  await step('roElementAction(INSERT item)', 'ok', () => dev.sendROInsertItems(iAct, [c.item('RO1-S1-I9', 'inserted item', 'OBJ2', o.devId)]));
  await step('roElementAction(REPLACE story)', 'ok', () => dev.sendROReplaceStories(sAct, [c.story('RO1-S2', 'replaced story — 替换', o.devId)]));
  await step('roElementAction(REPLACE item)', 'ok', () => dev.sendROReplaceItems(iAct, [c.item('RO1-S1-I1', 'replaced item', 'OBJ1', o.devId)]));
  await step('roElementAction(MOVE stories)', 'ok', () => dev.sendROMoveStories(sAct, [s128('RO1-S1')]));
  await step('roElementAction(MOVE items)', 'ok', () => dev.sendROMoveItems(iAct, [s128('RO1-S1-I9')]));
  await step('roElementAction(SWAP stories)', 'ok', () => dev.sendROSwapStories(act, s128('RO1-S1'), s128('RO1-S2')));
  await step('roElementAction(SWAP items)', 'ok', () => dev.sendROSwapItems(sAct, s128('RO1-S2-I1'), s128('RO1-S2-I2')));
  await step('roElementAction(DELETE items)', 'ok', () => dev.sendRODeleteItems(sAct, [s128('RO1-S2-I1')]));
  await step('roElementAction(DELETE stories)', 'ok', () => dev.sendRODeleteStories(act, [s128('RO1-S9')]));
  // Profile 3
  await step('mosObjCreate', 'ok', () => dev.sendObjectCreate(c.mosObject(undefined, 'new object — новый')));
  await step('mosReqObjAction(NEW)', 'ok', () => dev.sendRequestObjectActionNew(c.mosObject(undefined, 'action new')));
  await step('mosReqObjAction(UPDATE)', 'ok', () => dev.sendRequestObjectActionUpdate(s128('OBJ1'), c.mosObject('OBJ1', 'action update')));
  await step('mosReqObjAction(DELETE)', 'ok', () => dev.sendRequestObjectActionDelete(s128('OBJ2')));
  if (o.devQuery) {
    await step('mosReqSearchableSchema', 'ok', () => dev.sendRequestSearchableSchema('operator'));
    await step('mosReqObjList', 'ok', () => dev.sendRequestObjectList({ username: 'operator', queryID: s128('Q1'), listReturnStart: 1, listReturnEnd: 10, generalSearch: s128('object'), mosSchema: 'http://castgate.invalid/schema.xsd', searchGroups: [0, 1].map((g) => ({ searchFields: [{ XPath: `/mos/mosObj[contains(objSlug,"object")][${g}]`, sortByOrder: 1 }, { XPath: '/mos/mosObj[objDur>0]' }] })) }));
    // mos-connection 4.1.1 cannot parse a mosReqObjList with a single <searchGroup> or <searchField>
    // ("xml.searchGroup is not iterable"): send two of each.
  }
  // Profile 4
  await step('roReqAll', 'ok', () => dev.sendRequestAllRunningOrders());
  await step('roStorySend', 'ok', () => dev.sendRunningOrderStory({ RunningOrderId: s128('RO1'), ID: s128('RO1-S1'), Slug: s128('full story — полный'), Number: s128('A1'), Body: [{ Type: 'p', Content: 'Body text — 正文' }, { Type: 'storyItem', Content: c.item('RO1-S1-I1', 'item in body', 'OBJ1', o.devId) }] }));
  // Profile 2 teardown
  await step('roDelete', 'ok', () => dev.sendDeleteRunningOrder(s128('RO1')));
  await step('roReq(deleted)', 'nack', () => dev.sendRequestRunningOrder(s128('RO1')));
}

async function numbered(dev) {
  for (let i = 1; i <= o.count; i++) {
    const id = o.numbered ? `RO-SEQ-${i}` : 'RO-SEQ';
    const slug = o.numbered ? `seq ${i} — номер ${i} 序号 ${i}` : 'seq';
    if (o.kind === 'roMetadataReplace') {
      await step('roMetadataReplace', 'ok', () => dev.sendMetadataReplace({ ID: s128(id), Slug: s128(slug) }), { seq: i, roID: id, hash: c.sha(id + '\u0001' + slug) });
    } else {
      const ro = c.runningOrder(id, slug, o.devId, 1);
      await step('roCreate', 'ok', () => dev.sendCreateRunningOrder(ro), { seq: i, roID: id, hash: c.roHash(ro) });
    }
  }
}

// The wire size of a roCreate as mos-connection serialises it (UCS-2BE: 2 bytes a UTF-16 unit).
function wireBytes(ro) {
  const m = new (require('@mos-connection/helper').MosModel.ROCreate)(ro, false);
  m.mosID = o.id; m.ncsID = o.devId; m.prepare(1);
  return m.toString().length * 2;
}
async function big(dev) {
  // Calibrate the number of stories on a sample, then build the real one.
  const per = wireBytes(c.bigRunningOrder('RO-BIG', o.devId, 200)) / 200;
  const ro = c.bigRunningOrder('RO-BIG', o.devId, Math.max(1, Math.ceil(o.bigRocreate / per)));
  const bytes = wireBytes(ro);
  emit({ event: 'big-rocreate', roID: 'RO-BIG', stories: ro.Stories.length, slugChars: c.roChars(ro), wireBytes: bytes, hash: c.roHash(ro) });
  await step('roCreate(big)', 'ok', () => dev.sendCreateRunningOrder(ro), { roID: 'RO-BIG', stories: ro.Stories.length, wireBytes: bytes, hash: c.roHash(ro) });
}

async function main() {
  conn = new c.MosConnection({
    mosID: o.id, acceptsConnections: true, isNCS: true, debug: o.debug, strict: false,
    profiles: { 0: true, 1: true, 2: true, 3: true, 4: true },
    ports: { lower: o.lower, upper: o.upper, query: o.query },
  });
  conn.on('error', (e) => emit({ event: 'error', error: c.errText(e) }));
  conn.on('warning', (e) => emit({ event: 'warning', warning: c.errText(e) }));
  c.wireLogger(conn, o);
  conn.on('rawMessage', (source, type, message) => {
    if (String(source).startsWith('incoming_') && type === 'sent') {
      counts.replied++;
      const m = String(message);
      emit({ event: 'reply', type: c.wireType(m), messageID: c.tag(m, 'messageID') || null, status: c.tag(m, 'roStatus') || c.tag(m, 'status') || undefined });
    }
  });
  await conn.init();
  emit({ event: 'listening', role: 'ncs', id: o.id, devID: o.devId, lower: o.lower, upper: o.upper, query: o.query });
  const dev = await conn.connect({
    primary: {
      id: o.devId, host: o.host, timeout: o.timeout, heartbeatInterval: o.heartbeatMs || undefined,
      ports: { lower: o.devLower, upper: o.devUpper, query: o.devQuery || o.devUpper }, dontUseQueryPort: !o.devQuery,
    },
  });
  answer(dev);
  const t = Date.now();
  while (!dev.getConnectionStatus().PrimaryConnected && Date.now() - t < o.connectTimeoutMs) await new Promise((r) => setTimeout(r, 100));
  const up = dev.getConnectionStatus().PrimaryConnected;
  emit({ event: 'device-link', connected: up, ms: Date.now() - t });
  if (!up) return finish('device-unreachable', 2);
  // --wait-incoming-ms: wait for the device's own link (its first heartbeat on
  // our listening ports), so device-originated answers (mosListAll) can flow.
  while (o.waitIncomingMs && counts.received === 0 && Date.now() - t < o.waitIncomingMs) await new Promise((r) => setTimeout(r, 100));
  if (o.waitIncomingMs) emit({ event: 'incoming-link', connected: counts.received > 0, ms: Date.now() - t });
  // --wait-file PATH: wait (at most --connect-timeout-ms) until PATH exists: a
  // test creates it once the device's own link is up (through a gateway the
  // first message received may be the gateway's heartbeat, not the device's).
  const t3 = Date.now();
  while (o.waitFile && !require('fs').existsSync(o.waitFile) && Date.now() - t3 < o.connectTimeoutMs) await new Promise((r) => setTimeout(r, 100));
  if (o.waitFile) emit({ event: 'wait-file', present: require('fs').existsSync(o.waitFile), ms: Date.now() - t3 });
  if (o.script === 'profile0-4') await profile04(dev);
  else if (o.script) throw new Error(`unknown --script ${o.script}`);
  if (o.count) await numbered(dev);
  if (o.bigRocreate) await big(dev);
  emit({ event: 'script-done', ...counts, steps: results.length, failedSteps: results.filter((r) => !r.pass).map((r) => r.msg) });
  // --await-types mosObj=3,roElementStat=2: the device's own messages may come
  // after our script is done; wait for them (at most --await-ms).
  const want = o.awaitTypes ? o.awaitTypes.split(',').map((kv) => kv.split('=')) : [];
  const have = (t) => recvTypes.filter((x) => x === t).length;
  const t2 = Date.now();
  while (want.some(([t, n]) => have(t) < Number(n)) && Date.now() - t2 < o.awaitMs) await new Promise((r) => setTimeout(r, 100));
  if (want.length) emit({ event: 'awaited', types: o.awaitTypes, complete: want.every(([t, n]) => have(t) >= Number(n)), ms: Date.now() - t2 });
  if (o.exitWhenDone) {
    if (o.lingerMs) await new Promise((r) => setTimeout(r, o.lingerMs));
    finish('done', counts.unexpected ? 1 : 0);
  }
}

main().catch((e) => { emit({ event: 'fatal', error: c.errText(e), stack: e && e.stack }); finish('fatal', 1); });
