#!/usr/bin/env node
// load_speedscope.mjs FILE [--via url|input] [--expect-frame NAME]... [--screenshot OUT.png] [--timeout MS] [--verbose]
//
// Opens speedscope's own built UI (node_modules/speedscope/dist/release/index.html)
// in headless Debian Chromium through playwright-core, loads FILE (speedscope
// JSON, folded/collapsed stacks "a;b;c 12", or anything speedscope imports) and
// decides whether it loaded cleanly.
//
//  --via url    (default) serve dist/ + FILE from an http server on 127.0.0.1:<random>
//               and open  /#profileURL=<url of FILE>&view=sandwich
//               (profileURL only works from http(s) pages, never file://)
//  --via input  open the landing page and set FILE on its hidden <input type=file>
//               (the "Browse" button), same code path as drag & drop.
//
// Success needs ALL of:
//   - console.timeEnd "import: N ms" (printed by speedscope's loadProfile after import+demangle)
//   - document.title === "<profile group name> - speedscope"
//   - no page error, no console.error, no console.log "Failed to load format",
//     no alert() dialog ("Unrecognized format!", "...but it's empty!"),
//     no "Something went wrong" text
//   - sandwich table lists the frame names (all distinct frames of the active profile if
//     <= 40, else at least one row) plus every --expect-frame NAME
//   - the profile switcher lists each profile name (speedscope JSON)
//   - a <canvas> with non-zero size exists (WebGL came up; speedscope silently does
//     nothing when its GL canvas is missing)
// Exit 0 = loaded OK, 1 = load failed, 2 = usage/infrastructure error.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const DIST = path.dirname(require.resolve('speedscope/dist/release/index.html'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const argv = process.argv.slice(2);
const o = { via: 'url', expect: [], screenshot: null, timeout: 20000, verbose: false };
const pos = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--via') o.via = argv[++i];
  else if (a === '--expect-frame') o.expect.push(argv[++i]);
  else if (a === '--screenshot') o.screenshot = argv[++i];
  else if (a === '--timeout') o.timeout = Number(argv[++i]);
  else if (a === '--verbose') o.verbose = true;
  else pos.push(a);
}
if (pos.length !== 1 || !['url', 'input'].includes(o.via) || !(o.timeout > 0)) {
  console.error('usage: load_speedscope.mjs FILE [--via url|input] [--expect-frame NAME]... [--screenshot OUT.png] [--timeout MS] [--verbose]');
  process.exit(2);
}
const file = path.resolve(pos[0]);
if (!fs.existsSync(file)) { console.error(`FAIL: no such file ${file}`); process.exit(2); }
if (!fs.existsSync(CHROMIUM)) { console.error(`FAIL: ${CHROMIUM} missing (apt-get install -y chromium)`); process.exit(2); }

// What we expect to see, derived from the file itself.
const raw = fs.readFileSync(file, 'utf8');
let expectFrames = new Set(o.expect);
let expectProfiles = [];
let groupName = null;
try {
  const j = JSON.parse(raw);
  if (j && j.shared && Array.isArray(j.profiles)) {
    const act = j.profiles[j.activeProfileIndex ?? 0] || j.profiles[0];
    const used = new Set();
    for (const e of act?.events ?? []) used.add(e.frame);
    for (const s of act?.samples ?? []) for (const f of s) used.add(f);
    const names = [...used].map((i) => j.shared.frames[i]?.name).filter((n) => typeof n === 'string');
    if (names.length <= 40) names.forEach((n) => expectFrames.add(n));
    expectProfiles = j.profiles.map((p) => p.name).filter(Boolean);
    groupName = j.name ?? null;
  }
} catch {
  // not JSON: folded stacks "a;b;c 12"
  const names = new Set();
  for (const line of raw.split('\n')) {
    const m = /^(.*)\s+(\d+(?:\.\d+)?)\s*$/.exec(line);
    if (m) m[1].split(';').forEach((n) => names.add(n));
  }
  if (names.size && names.size <= 40) names.forEach((n) => expectFrames.add(n));
  groupName = path.basename(file);
}

// Static server on 127.0.0.1 for speedscope's dist and the profile.
const PROFILE_PATH = '/__profile__/' + encodeURIComponent(path.basename(file));
const server = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://127.0.0.1').pathname;
  let f;
  if (p === PROFILE_PATH) f = file;
  else {
    f = path.join(DIST, p === '/' ? 'index.html' : decodeURIComponent(p));
    if (!f.startsWith(DIST + path.sep)) f = null;
  }
  fs.readFile(f ?? '/nonexistent', (err, buf) => {
    if (err) { res.writeHead(404); res.end('not found'); return; }
    const ext = path.extname(f);
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' }[ext] || 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(buf);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const problems = [];
let importDone = false;
let browser;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedscope-chromium-'));
const t0 = Date.now();
// Hard watchdog: a broken profile can keep speedscope's main thread busy so that
// playwright calls block; report what we have and exit 1 after --timeout.
let timedOut = false;
const watchdog = setTimeout(async () => {
  timedOut = true;
  for (const p of problems) console.error('FAIL: ' + p);
  console.error(`FAIL: page still busy/unfinished after ${o.timeout} ms`);
  console.error(`load_speedscope: FAILED ${pos[0]} (via ${o.via}, timeout)`);
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
  server.close();
  try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch {}
  process.exit(1);
}, o.timeout);
try {
  // launchPersistentContext so we control the fresh --user-data-dir ourselves.
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  browser = ctx;
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => {
    const t = m.text();
    if (o.verbose) console.error(`[console.${m.type()}] ${t.split('\n')[0]}`);
    if (m.type() === 'timeEnd' && t.startsWith('import:')) importDone = true;
    else if (m.type() === 'error') problems.push(`console.error: ${t}`);
    else if (t.startsWith('Failed to load format')) problems.push(`speedscope: ${t.split('\n')[0]}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`alert(): ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });

  if (o.via === 'url') {
    await page.goto(`${base}/#profileURL=${encodeURIComponent(base + PROFILE_PATH)}&view=sandwich`);
  } else {
    await page.goto(`${base}/#view=sandwich`);
    await page.locator('input[type=file]').setInputFiles(file);
  }

  // Wait for success or any failure signal.
  const deadline = Date.now() + o.timeout;
  while (Date.now() < deadline) {
    if (problems.length) break;
    const title = await page.title();
    if (importDone && title.endsWith(' - speedscope')) break;
    if (await page.getByText('Something went wrong').count()) break;
    await page.waitForTimeout(100);
  }
  await page.waitForTimeout(300); // let late errors / the sandwich table render

  const state = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('table tr')].map((r) => [...r.querySelectorAll('td')].map((td) => td.innerText.trim()));
    const canvases = [...document.querySelectorAll('canvas')].map((c) => [c.width, c.height]);
    return { title: document.title, text: document.body.innerText, rows, canvases };
  });
  if (/Something went wrong/.test(state.text)) problems.push('UI shows "Something went wrong"');
  if (!importDone) problems.push('speedscope did not finish the import (no console.timeEnd "import: N ms")');
  if (!state.title.endsWith(' - speedscope')) problems.push(`document.title is ${JSON.stringify(state.title)}, not "<name> - speedscope"`);
  else if (groupName && state.title !== `${groupName} - speedscope`) problems.push(`document.title ${JSON.stringify(state.title)} != ${JSON.stringify(groupName + ' - speedscope')}`);
  if (!state.canvases.some(([w, h]) => w > 0 && h > 0)) problems.push('no non-empty <canvas> (WebGL missing?)');
  // Sandwich rows: [total, self, symbol]; profile switcher rows: [#, name, total]
  const symbols = new Set(state.rows.filter((r) => r.length === 3 && /%\)/.test(r[0])).map((r) => r[2]));
  const profileNames = new Set(state.rows.filter((r) => r.length === 3 && /^\d+$/.test(r[0])).map((r) => r[1]));
  if (!symbols.size && !problems.length) problems.push('sandwich table has no rows');
  for (const n of expectFrames) if (!symbols.has(n)) problems.push(`frame ${JSON.stringify(n)} not in the sandwich table (got ${JSON.stringify([...symbols].slice(0, 10))})`);
  if (expectProfiles.length > 1) for (const n of expectProfiles) if (!profileNames.has(n)) problems.push(`profile ${JSON.stringify(n)} not in the profile switcher`);

  // Exercise the WebGL views too: some broken inputs import "fine" and only throw
  // while the flame chart renders (e.g. missing endValue -> "Map maximum size exceeded").
  if (importDone && !problems.length) {
    for (const key of ['2', '1']) { // 2 = Left Heavy, 1 = Time Order (keyboard shortcuts)
      await page.keyboard.press(key);
      await page.waitForTimeout(400);
    }
    if (/Something went wrong/.test(await page.evaluate(() => document.body.innerText))) problems.push('UI shows "Something went wrong" after switching views');
  }
  if (o.screenshot) await page.screenshot({ path: o.screenshot });

  const loadMs = Date.now() - t0;
  if (problems.length) {
    for (const p of problems) console.error('FAIL: ' + p);
    console.error(`load_speedscope: FAILED ${pos[0]} (via ${o.via}, ${loadMs} ms)`);
    process.exitCode = 1;
  } else {
    console.log(`load_speedscope: OK ${pos[0]} via ${o.via}: title ${JSON.stringify(state.title)}, ${symbols.size} symbol row(s), ${profileNames.size || 1} profile(s), ${loadMs} ms incl. browser start`);
  }
} catch (e) {
  if (timedOut) await new Promise(() => {}); // the watchdog reports and exits
  console.error(`FAIL: browser automation error: ${e.stack || e}`);
  process.exitCode = 2;
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
  server.close();
  try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch {}
}
