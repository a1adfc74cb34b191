'use strict';
// Shared helpers for the legacy MOS 2.8.5 peers built on Sofie mos-connection
// (legacy-device.js, legacy-ncs.js): argument parsing, JSON-line events,
// content hashes, sample running orders and objects, and a hook on
// MosDevice.routeData that records every message a peer receives.
const crypto = require('crypto');
const { MosConnection, MosDevice, getMosTypes } = require('@mos-connection/connector');

const T = getMosTypes(false);
const s128 = (v) => T.mosString128.create(v);
const str = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? T.mosString128.stringify(v) : String(v));

// parseArgs(argv, defaults): --key value, --flag (boolean when the default is boolean).
function parseArgs(argv, defaults) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const k = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in defaults)) throw new Error(`unknown option ${a}`);
    if (typeof defaults[k] === 'boolean') { o[k] = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    o[k] = typeof defaults[k] === 'number' ? Number(v) : v;
  }
  return o;
}

const t0 = Date.now();
function emit(ev) {
  process.stdout.write(JSON.stringify({ t: Date.now() - t0, ...ev }) + '\n');
}

const sha = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

// Content hash of a running order as both sides see it: roID, roSlug, and
// every story's ID, slug and item IDs/slugs (from the parsed objects).
function roHash(ro) {
  const parts = [str(ro.ID), str(ro.Slug)];
  for (const s of ro.Stories || []) {
    parts.push(str(s.ID), str(s.Slug));
    for (const it of s.Items || []) parts.push(str(it.ID), str(it.Slug), str(it.ObjectID));
  }
  return sha(parts.join('\u0001'));
}
const roChars = (ro) => (ro.Stories || []).reduce((n, s) => n + str(s.Slug).length, str(ro.Slug).length);

function item(id, slug, objId, mosId) {
  return { ID: s128(id), Slug: s128(slug), ObjectID: s128(objId), MOSID: mosId, EditorialStart: 0, EditorialDuration: 100, UserTimingDuration: 100 };
}
function story(id, slug, mosId, nItems = 1) {
  const items = [];
  for (let i = 1; i <= nItems; i++) items.push(item(`${id}-I${i}`, `${slug} item ${i}`, `OBJ${i}`, mosId));
  return { ID: s128(id), Slug: s128(slug), Number: s128(id), Items: items };
}
function runningOrder(id, slug, mosId, nStories = 2) {
  const stories = [];
  for (let i = 1; i <= nStories; i++) stories.push(story(`${id}-S${i}`, `${slug} story ${i}`, mosId));
  return { ID: s128(id), Slug: s128(slug), EditorialStart: T.mosTime.create(Date.now()), EditorialDuration: T.mosDuration.create('0:10:00'), Stories: stories };
}

// A roCreate of about `bytes` bytes on the wire (UCS-2BE, 2 bytes a character)
// whose story slugs are non-ASCII: CJK, Cyrillic, accented Latin, and one
// astral character (a UTF-16 surrogate pair) per story.
const SAMPLES = ['新闻联播 東京の天気 서울 뉴스', 'Последние новости Москвы', 'Crème brûlée à Zürich, señor Ñúñez', 'Ελληνικά νέα', '速報 😀 ok'];
function bigRunningOrder(id, mosId, nStories) {
  const stories = [];
  for (let i = 1; i <= nStories; i++) {
    const slug = `${i} ${SAMPLES[i % SAMPLES.length]} ${SAMPLES[(i + 2) % SAMPLES.length]} ${i}`.slice(0, 120);
    stories.push({ ID: s128(`${id}-S${i}`), Slug: s128(slug), Items: [item(`${id}-S${i}-I1`, `${SAMPLES[(i + 1) % SAMPLES.length]}`.slice(0, 100), `OBJ${i}`, mosId)] });
  }
  return { ID: s128(id), Slug: s128(`大きな running order ${id} — Ünïcödé`), Stories: stories };
}

function mosObject(id, slug) {
  return {
    ID: s128(id), Slug: s128(slug), Type: 'VIDEO', TimeBase: 25, Revision: 1, Duration: 250,
    Status: 'NEW', AirStatus: 'READY', Group: 'castgate', MosAbstract: `abstract of ${slug}`,
    Paths: [{ Type: 'PATH', Description: 'MPEG2', Target: `\\\\server\\media\\${id}.mxf` }],
    CreatedBy: s128('castgate'), Created: T.mosTime.create(Date.now()), ChangedBy: s128('castgate'), Changed: T.mosTime.create(Date.now()),
  };
}

function machInfo(id, isNCS) {
  return {
    manufacturer: s128('castgate interop'), model: s128(isNCS ? 'legacy-ncs' : 'legacy-device'), hwRev: s128('0'), swRev: s128('mos-connection 4.1.1'),
    DOM: s128('2026-01-01'), SN: s128('0001'), ID: s128(id), time: T.mosTime.create(Date.now()), mosRev: s128('2.8.5'),
    supportedProfiles: { deviceType: isNCS ? 'NCS' : 'MOS', profile0: true, profile1: true, profile2: true, profile3: true, profile4: true },
  };
}

// The message element's name in a parsed <mos> (first key that is not a header).
const HEADERS = new Set(['ncsID', 'mosID', 'messageID']);
function msgType(mos) { return Object.keys(mos || {}).find((k) => !HEADERS.has(k)) || '?'; }
function wireType(xml) {
  const m = /<messageID>[^<]*<\/messageID>\s*<([A-Za-z0-9_]+)/.exec(xml) || /<mos>\s*(?:<[^>]*>[^<]*<\/[^>]*>\s*)*<([A-Za-z0-9_]+)/.exec(xml);
  return m ? m[1] : '?';
}
const tag = (xml, name) => { const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml); return m ? m[1] : undefined; };

// hookRouteData(onRecv): every message routed to a MosDevice (i.e. every
// message this peer receives on its listening ports) is reported with its
// type, messageID, ids and port; `current` lets the callbacks (called
// synchronously inside routeData) attach content details to the record.
const hook = { current: null };
function hookRouteData(onRecv) {
  const orig = MosDevice.prototype.routeData;
  MosDevice.prototype.routeData = function (data, port) {
    const mos = data && data.mos ? data.mos : data;
    const rec = { event: 'recv', type: msgType(mos), messageID: mos && mos.messageID !== undefined ? String(mos.messageID) : null, ncsID: str(mos && mos.ncsID), mosID: str(mos && mos.mosID), port };
    hook.current = rec;
    let p;
    try { p = orig.call(this, data, port); } finally { hook.current = null; }
    onRecv(rec);
    return p;
  };
}
const note = (fields) => { if (hook.current) Object.assign(hook.current, fields); };

// Wire log: the raw strings mos-connection writes and reads (decoded from UCS-2BE).
function wireLogger(conn, opts) {
  conn.on('rawMessage', (source, type, message) => {
    if (!opts.raw) return;
    const m = String(message);
    if (type === 'newConnection' || type === 'closedConnection') return emit({ event: 'wire', source, dir: type });
    const dir = /sent/.test(type) ? 'out' : /ecie/.test(type) ? 'in' : type;
    if (dir === 'out' && /<heartbeat>/.test(m) && !opts.rawHeartbeats) return;
    if (dir === 'in' && /^\s*<mos>\s*<ncsID>[^<]*<\/ncsID>\s*<mosID>[^<]*<\/mosID>\s*<messageID>[^<]*<\/messageID>\s*<heartbeat>/.test(m) && !opts.rawHeartbeats) return;
    emit({ event: 'wire', source, dir, chars: m.length, text: m.length > opts.rawMax ? m.slice(0, opts.rawMax) + '…' : m });
  });
}

function errText(e) {
  if (e === undefined || e === null) return String(e);
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  try { return JSON.stringify(e).slice(0, 500); } catch (_) { return String(e); }
}

// Exit handling: SIGTERM/SIGINT or --exit-after-ms -> dispose, final summary, exit 0.
function installExit(getConn, summary, exitAfterMs) {
  let done = false;
  const finish = async (why, code = 0) => {
    if (done) return; done = true;
    emit({ event: 'summary', why, ...summary() });
    const c = getConn();
    const kill = setTimeout(() => process.exit(code), 2000); kill.unref();
    try { if (c) await c.dispose(); } catch (_) { /* closing */ }
    process.exit(code);
  };
  process.on('SIGTERM', () => finish('SIGTERM'));
  process.on('SIGINT', () => finish('SIGINT'));
  if (exitAfterMs > 0) setTimeout(() => finish('exit-after-ms'), exitAfterMs);
  return finish;
}

function countBy(arr) { const o = {}; for (const k of arr) o[k] = (o[k] || 0) + 1; return o; }

module.exports = {
  MosConnection, MosDevice, T, s128, str, parseArgs, emit, sha, roHash, roChars, runningOrder, story, item,
  bigRunningOrder, mosObject, machInfo, msgType, wireType, tag, hookRouteData, note, wireLogger, errText, installExit, countBy,
};
