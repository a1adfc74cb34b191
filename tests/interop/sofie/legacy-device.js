#!/usr/bin/env node
'use strict';
// A real legacy MOS 2.8.5 device (Sofie mos-connection, plain TCP, UCS-2BE):
// listens on --lower/--upper/--query, answers every NCS request mos-connection
// lets a device answer, records every message it receives (one JSON line per
// event on stdout), and can send device-originated messages to the NCS it
// dials at --ncs-host:--ncs-lower/--ncs-upper. See README.md.
const c = require('./common');
const { emit, s128, str, note } = c;

const o = c.parseArgs(process.argv.slice(2), {
  id: 'legacy.mos', ncsId: 'legacy.ncs', host: '127.0.0.1',
  lower: 0, upper: 0, query: 0,
  ncsHost: '127.0.0.1', ncsLower: 0, ncsUpper: 0, ncsQuery: 0,
  timeout: 10000, heartbeatMs: 0,
  sendMosobj: 0, sendStatus: 0, sendItemreplace: 0, sendRoreq: '', sendDelayMs: 0,
  nackAll: false, exitAfterMs: 0, raw: false, rawHeartbeats: false, rawMax: 400, debug: false,
});
if (!o.lower || !o.upper || !o.query) throw new Error('--lower, --upper and --query are required (no default ports)');
if (!o.ncsLower || !o.ncsUpper) throw new Error('--ncs-lower and --ncs-upper are required (mos-connection routes incoming messages only to a device it dials)');

const counts = { sent: 0, acked: 0, nacked: 0, failed: 0, received: 0, replied: 0 };
const recvTypes = [];
const ros = new Map();
const objects = new Map();
for (let i = 1; i <= 3; i++) objects.set(`OBJ${i}`, c.mosObject(`OBJ${i}`, `object ${i} — ünïcödé 对象`));

let conn = null;
const finish = c.installExit(() => conn, () => ({ role: 'device', id: o.id, ...counts, receivedByType: c.countBy(recvTypes) }), o.exitAfterMs);

c.hookRouteData((rec) => {
  counts.received++; recvTypes.push(rec.type);
  emit(rec);
});

const roAck = (id, status = 'OK') => ({ ID: typeof id === 'object' ? id : s128(id), Status: s128(o.nackAll ? 'NACK' : status), Stories: [] });
const mosAck = (id, desc = '') => ({ ID: typeof id === 'object' ? id : s128(id || 0), Revision: 1, Description: s128(desc), Status: o.nackAll ? 'NACK' : 'ACK' });
const roInfo = (ro) => ({ roID: str(ro.ID), roSlug: str(ro.Slug), stories: (ro.Stories || []).length, slugChars: c.roChars(ro), hash: c.roHash(ro) });

function answer(dev) {
  // Profile 0
  dev.onRequestMachineInfo(async () => c.machInfo(o.id, false));
  dev.onConnectionChange((s) => emit({ event: 'connection', primary: s.PrimaryConnected, status: s.PrimaryStatus }));
  // Profile 1
  dev.onRequestMOSObject(async (objId) => { note({ objID: str(objId) }); return objects.get(str(objId)) || null; });
  dev.onRequestAllMOSObjects(async () => [...objects.values()]);
  dev.onMOSObjects(async (objs) => { note({ objIDs: objs.map((x) => str(x.ID)) }); return mosAck(objs[0] && objs[0].ID); });
  // Profile 2
  dev.onCreateRunningOrder(async (ro) => { note(roInfo(ro)); ros.set(str(ro.ID), ro); return roAck(ro.ID); });
  dev.onReplaceRunningOrder(async (ro) => { note(roInfo(ro)); ros.set(str(ro.ID), ro); return roAck(ro.ID); });
  dev.onDeleteRunningOrder(async (id) => { note({ roID: str(id) }); const had = ros.delete(str(id)); return roAck(id, had ? 'OK' : 'NACK'); });
  dev.onRequestRunningOrder(async (id) => { note({ roID: str(id) }); return ros.get(str(id)) || null; });
  dev.onMetadataReplace(async (ro) => { note({ roID: str(ro.ID), roSlug: str(ro.Slug), hash: c.sha(str(ro.ID) + '\u0001' + str(ro.Slug)) }); return roAck(ro.ID); });
  dev.onRunningOrderStatus(async (s) => { note({ roID: str(s.ID), status: s.Status }); return roAck(s.ID); });
  dev.onStoryStatus(async (s) => { note({ roID: str(s.RunningOrderId), storyID: str(s.ID), status: s.Status }); return roAck(s.RunningOrderId); });
  dev.onItemStatus(async (s) => { note({ roID: str(s.RunningOrderId), itemID: str(s.ID), status: s.Status }); return roAck(s.RunningOrderId); });
  dev.onReadyToAir(async (a) => { note({ roID: str(a.ID), roAir: a.Status }); return roAck(a.ID); });
  const act = (name) => async (a, x, y) => {
    note({ action: name, roID: str(a.RunningOrderID), storyID: str(a.StoryID), itemID: str(a.ItemID), n: Array.isArray(x) ? x.length : y !== undefined ? 2 : 1 });
    return roAck(a.RunningOrderID);
  };
  dev.onROInsertStories(act('insertStories')); dev.onROInsertItems(act('insertItems'));
  dev.onROReplaceStories(act('replaceStories')); dev.onROReplaceItems(act('replaceItems'));
  dev.onROMoveStories(act('moveStories')); dev.onROMoveItems(act('moveItems'));
  dev.onRODeleteStories(act('deleteStories')); dev.onRODeleteItems(act('deleteItems'));
  dev.onROSwapStories(act('swapStories')); dev.onROSwapItems(act('swapItems'));
  // Profile 3
  dev.onObjectCreate(async (obj) => { note({ objSlug: str(obj.Slug) }); const id = `OBJ${objects.size + 1}`; objects.set(id, { ...obj, ID: s128(id) }); return mosAck(id, 'created'); });
  dev.onItemReplace(async (roID, storyID, it) => { note({ roID: str(roID), storyID: str(storyID), itemID: str(it.ID) }); return roAck(roID); });
  dev.onRequestSearchableSchema(async (username) => { note({ username }); return { username, mosSchema: 'http://castgate.invalid/schema.xsd' }; });
  dev.onRequestObjectList(async (q) => {
    note({ username: q.username, queryID: str(q.queryID), generalSearch: str(q.generalSearch) });
    const list = [...objects.values()];
    return { username: q.username, queryID: str(q.queryID), listReturnStart: 1, listReturnEnd: list.length, listReturnTotal: list.length, list };
  });
  dev.onRequestObjectActionNew(async (obj) => { note({ objSlug: str(obj.Slug) }); return mosAck('OBJNEW', 'new'); });
  dev.onRequestObjectActionUpdate(async (id, obj) => { note({ objID: str(id), objSlug: str(obj.Slug) }); return mosAck(id, 'updated'); });
  dev.onRequestObjectActionDelete(async (id) => { note({ objID: str(id) }); return mosAck(id, 'deleted'); });
  // Profile 4
  dev.onRequestAllRunningOrders(async () => [...ros.values()]);
  dev.onRunningOrderStory(async (s) => { note({ roID: str(s.RunningOrderId), storyID: str(s.ID), bodyParts: (s.Body || []).length }); return roAck(s.RunningOrderId); });
}

async function waitConnected(dev, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (dev.getConnectionStatus().PrimaryConnected) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// send(name, fn): one device-originated message, its reply and timing.
async function send(name, fn, fields = {}) {
  const t = Date.now();
  counts.sent++;
  try {
    const r = await fn();
    const status = r && (r.Status !== undefined ? str(r.Status) : undefined);
    const nack = status === 'NACK' || (r && r.Status && str(r.Status) !== 'OK' && str(r.Status) !== 'ACK' && r.Stories !== undefined);
    if (nack) counts.nacked++; else counts.acked++;
    emit({ event: 'sent', msg: name, ...fields, ok: !nack, status, reply: r && r.Description !== undefined ? str(r.Description) : undefined, ms: Date.now() - t });
  } catch (e) {
    counts.failed++;
    emit({ event: 'sent', msg: name, ...fields, ok: false, error: c.errText(e), ms: Date.now() - t });
  }
}

async function originate(dev) {
  if (!(o.sendMosobj || o.sendStatus || o.sendItemreplace || o.sendRoreq)) return;
  if (o.sendDelayMs) await new Promise((r) => setTimeout(r, o.sendDelayMs));
  const up = await waitConnected(dev, Math.max(o.timeout, 15000));
  emit({ event: 'ncs-link', connected: up });
  for (let i = 1; i <= o.sendMosobj; i++) {
    const obj = c.mosObject(`DEVOBJ${i}`, `device object ${i} — 设备 ${i}`);
    await send('mosObj', () => dev.sendMOSObject(obj), { seq: i, objID: `DEVOBJ${i}`, hash: c.sha(str(obj.ID) + '\u0001' + str(obj.Slug)) });
  }
  for (let i = 1; i <= o.sendStatus; i++) {
    const kind = ['RO', 'STORY', 'ITEM'][(i - 1) % 3];
    const time = c.T.mosTime.create(Date.now());
    if (kind === 'RO') await send('roElementStat', () => dev.sendRunningOrderStatus({ ID: s128('RO1'), Status: 'PLAY', Time: time }), { seq: i, element: kind });
    else if (kind === 'STORY') await send('roElementStat', () => dev.sendStoryStatus({ RunningOrderId: s128('RO1'), ID: s128('RO1-S1'), Status: 'PLAY', Time: time }), { seq: i, element: kind });
    else await send('roElementStat', () => dev.sendItemStatus({ RunningOrderId: s128('RO1'), StoryId: s128('RO1-S1'), ID: s128('RO1-S1-I1'), ObjectId: s128('OBJ1'), Channel: s128('A'), Status: 'PLAY', Time: time }), { seq: i, element: kind });
  }
  for (let i = 1; i <= o.sendItemreplace; i++) {
    await send('mosItemReplace', () => dev.sendItemReplace({ roID: s128('RO1'), storyID: s128('RO1-S1'), item: c.item('RO1-S1-I1', `replaced item ${i} — заменён`, 'OBJ1', o.id) }), { seq: i });
  }
  if (o.sendRoreq) {
    const t = Date.now(); counts.sent++;
    try {
      const ro = await dev.sendRequestRunningOrder(s128(o.sendRoreq));
      if (ro) { counts.acked++; emit({ event: 'sent', msg: 'roReq', ok: true, reply: 'roList', ...roInfo(ro), ms: Date.now() - t }); }
      else { counts.nacked++; emit({ event: 'sent', msg: 'roReq', ok: false, reply: 'null', ms: Date.now() - t }); }
    } catch (e) { counts.nacked++; emit({ event: 'sent', msg: 'roReq', ok: false, error: c.errText(e), ms: Date.now() - t }); }
  }
  emit({ event: 'originate-done', ...counts });
}

async function main() {
  conn = new c.MosConnection({
    mosID: o.id, acceptsConnections: true, isNCS: false, debug: o.debug, strict: false,
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
  emit({ event: 'listening', role: 'device', id: o.id, ncsID: o.ncsId, lower: o.lower, upper: o.upper, query: o.query });
  const dev = await conn.connect({
    primary: {
      id: o.ncsId, host: o.ncsHost, timeout: o.timeout, heartbeatInterval: o.heartbeatMs || undefined,
      ports: { lower: o.ncsLower, upper: o.ncsUpper, query: o.ncsQuery || o.ncsUpper }, dontUseQueryPort: !o.ncsQuery,
    },
  });
  answer(dev);
  await originate(dev);
}

main().catch((e) => { emit({ event: 'fatal', error: c.errText(e), stack: e && e.stack }); finish('fatal', 1); });
