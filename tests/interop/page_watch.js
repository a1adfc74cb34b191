// Headless Chromium on the gateway's status page, over the DevTools protocol
// (tests/interop/test_status_page.sh):
//   node page_watch.js URL USER:PASS LINK KILL_PID SCREENSHOT_DIR
// Loads URL with Basic credentials, waits until LINK's MOS 4.0 side shows
// "up", screenshots it, kills KILL_PID (the far side) and measures how long
// until the page shows that side "down", screenshots again. Prints JSON lines:
// {"event":"up"}, {"event":"down","ms":N}, {"event":"console","errors":[...]}.
// Every console message of level error, every uncaught exception and every
// failed load counts as a console error.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const http = require('http');
const WebSocket = require('ws');

const [url, cred, link, killPid, shotDir] = process.argv.slice(2);
const profile = fs.mkdtempSync('/tmp/cg-chromium-');
const chrome = spawn('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-extensions', '--ignore-certificate-errors',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1200,500', 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe'], detached: true }); // its own group: killed whole
const out = (o) => console.log(JSON.stringify(o));
const errors = [];
let done = false;
function finish(code) {
  if (done) return;
  done = true;
  out({ event: 'console', errors });
  try { process.kill(-chrome.pid, 'SIGKILL'); } catch (e) { /* gone */ }
  // the profile once Chromium's processes are gone (they may still write to it)
  setTimeout(() => {
    try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* left in /tmp */ }
    process.exit(code);
  }, 300);
}
setTimeout(() => { out({ event: 'timeout' }); finish(1); }, 90000);

let stderr = '';
chrome.stderr.on('data', (d) => {
  stderr += d;
  const m = /DevTools listening on (ws:\/\/[^\s]+)/.exec(stderr);
  if (m && !chrome.started) { chrome.started = true; attach(new URL(m[1]).port); }
});
chrome.on('exit', (c) => { if (!done) { out({ event: 'chromium-exit', code: c, stderr: stderr.slice(-500) }); finish(1); } });

function getJson(port, p) {
  return new Promise((res, rej) => http.get({ host: '127.0.0.1', port, path: p }, (r) => {
    let b = ''; r.on('data', (d) => { b += d; }); r.on('end', () => res(JSON.parse(b)));
  }).on('error', rej));
}

async function attach(port) {
  const targets = await getJson(port, '/json/list');
  const page = targets.find((t) => t.type === 'page');
  const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false });
  let id = 0;
  const pending = new Map();
  const send = (method, params = {}) => new Promise((res, rej) => {
    const i = ++id; pending.set(i, { res, rej });
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw);
    if (msg.id && pending.has(msg.id)) {
      const p = pending.get(msg.id); pending.delete(msg.id);
      if (msg.error) p.rej(new Error(JSON.stringify(msg.error))); else p.res(msg.result);
      return;
    }
    if (msg.method === 'Runtime.consoleAPICalled' && (msg.params.type === 'error' || msg.params.type === 'assert'))
      errors.push(`console.${msg.params.type}: ${JSON.stringify(msg.params.args.map((a) => a.value))}`);
    else if (msg.method === 'Runtime.exceptionThrown')
      errors.push(`exception: ${msg.params.exceptionDetails.text}`);
    else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error')
      errors.push(`log: ${msg.params.entry.text} ${msg.params.entry.url || ''}`);
    else if (msg.method === 'Network.loadingFailed' && !msg.params.canceled)
      errors.push(`load failed: ${msg.params.errorText}`);
  });
  await new Promise((r) => ws.on('open', r));
  await send('Runtime.enable');
  await send('Log.enable');
  await send('Network.enable');
  await send('Page.enable');
  await send('Network.setExtraHTTPHeaders',
    { headers: { Authorization: 'Basic ' + Buffer.from(cred).toString('base64') } });
  await send('Page.navigate', { url });
  const side = async () => {
    const r = await send('Runtime.evaluate', { expression:
      `(() => { const t = document.querySelector('tr[data-link=${JSON.stringify(link)}] td[data-side="mos4"]');` +
      ` return t ? t.className : 'missing'; })()`, returnByValue: true });
    return r.result.value;
  };
  const shot = async (name) => {
    const r = await send('Page.captureScreenshot', { format: 'png' });
    fs.writeFileSync(path.join(shotDir, name), Buffer.from(r.data, 'base64'));
  };
  const waitFor = async (want, ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      try { if ((await side()) === want) return Date.now() - t0; } catch (e) { /* navigating */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    return -1;
  };
  if ((await waitFor('up', 30000)) < 0) { out({ event: 'never-up', state: await side().catch(() => '?') }); finish(1); return; }
  out({ event: 'up' });
  await shot('status-page-up.png');
  process.kill(Number(killPid), 'SIGKILL');
  const ms = await waitFor('down', 10000);
  out({ event: 'down', ms });
  if (ms >= 0) await shot('status-page-down.png');
  await new Promise((r) => setTimeout(r, 1500)); // one more reload: errors from it count too
  finish(ms >= 0 ? 0 : 1);
}
