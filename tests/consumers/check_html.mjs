#!/usr/bin/env node
// check_html.mjs REPORT.html [--expect-rects N] [--screenshot PNG] [--width PX] [--height PX] [--full-page] [--timeout MS]
//
// Loads agentprof's report.html from file:// in headless Chromium (Debian's,
// driven by playwright-core) and fails on: any console error or warning
// (a CSP refusal is one), a page error, any request other than the page
// itself (the report must fetch nothing), <body data-ready="1"> not set by
// the page's script within the timeout, a missing <svg id="flame"> or
// <svg id="timeline">, and, with --expect-rects N, a rect count other than
// N in either of them, and with --expect-deps D a count of dependency
// arrows (path.dep) in #timeline other than D. Prints {flame, timeline, flameAll, timelines, ready}
// as JSON on stdout. --screenshot writes a PNG of the first screen
// (--width x --height, 1300 x 1000), or of the whole page with --full-page,
// or of the screen that begins at the element SEL with --screenshot-of SEL.
// --memory REPORT.json: the Memory panel (h2#memory) draws one svg.mem per
// process of report.json's memory.processes, at most 16, and says how many
// more it left out (#memory-more); each chart's caption prints its row's
// peak, start and end (MiB, one decimal), its hover columns' largest RSS and
// its peak dot are peak_kib (MiB, three decimals), every hover column names
// the chart's pid, a column shades under the pointer, the slowest trace's
// root process has an RSS strip (svg.memstrip) under #timeline, and a
// process named by a memory_growth finding says "steady growth" with the
// finding under it; --expect-steady K: K charts say so. --no-memory: no
// chart, no strip, and the one line #memory-off.
// Exit 0 OK, 1 a check failed (FAIL: on stderr), 2 usage or browser error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const args = process.argv.slice(2);
const o = { expect: null, screenshot: null, width: 1300, height: 1000, full: false, timeout: 20000 };
let file = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--expect-rects') o.expect = Number(args[++i]);
  else if (a === '--screenshot') o.screenshot = args[++i];
  else if (a === '--expect-deps') o.deps = Number(args[++i]);
  else if (a === '--width') o.width = Number(args[++i]);
  else if (a === '--height') o.height = Number(args[++i]);
  else if (a === '--full-page') o.full = true;
  else if (a === '--screenshot-of') o.shotOf = args[++i];
  else if (a === '--timeout') o.timeout = Number(args[++i]);
  else if (a === '--memory') o.memory = args[++i];
  else if (a === '--expect-steady') o.steady = Number(args[++i]);
  else if (a === '--no-memory') o.noMemory = true;
  else if (!file) file = a;
  else { console.error(`usage: check_html.mjs REPORT.html [--expect-rects N] [--screenshot PNG]`); process.exit(2); }
}
if (!file || !fs.existsSync(file)) { console.error(`FAIL: no such file ${file}`); process.exit(2); }
if (!fs.existsSync(CHROMIUM)) { console.error(`FAIL: ${CHROMIUM} missing (apt-get install -y chromium)`); process.exit(2); }

const url = pathToFileURL(path.resolve(file)).href;

// The Memory panel against report.json's memory rows (see --memory above).
async function checkMemory(page, rep, st) {
  const mem = rep.memory;
  if (!mem) { problems.push('--memory: report.json has no memory section'); return; }
  const rows = new Map(mem.processes.map((p) => [p.pid, p]));
  const pg = await page.evaluate(() => ({
    heading: !!document.querySelector('h2#memory'),
    more: (document.querySelector('#memory-more') || {}).textContent || null,
    charts: [...document.querySelectorAll('svg.mem')].map((s) => ({
      pid: Number(s.getAttribute('data-pid')),
      texts: [...s.querySelectorAll(':scope > text')].map((t) => t.textContent),
      warn: (s.querySelector('text.warn') || {}).textContent || null,
      finding: s.nextElementSibling && s.nextElementSibling.matches('p.memf') ? s.nextElementSibling.textContent : null,
      cols: [...s.querySelectorAll('rect.mh > title')].map((t) => t.textContent),
      dot: (s.querySelector('circle.mp > title') || {}).textContent || null,
    })),
    strips: [...document.querySelectorAll('svg#timeline ~ svg.memstrip')].map((s) => Number(s.getAttribute('data-pid'))),
  }));
  // A figure printed with d decimals of MiB equals kib within half of its
  // last decimal (C rounds an exact tie to even, JavaScript's toFixed up).
  const mib = (kib, d) => (kib / 1024).toFixed(d);
  const same = (printed, kib, d) => Math.abs(Number(printed) * 1024 - kib) <= 0.5 * 1024 / 10 ** d + 1e-9;
  const num = (re, text) => { const m = text && re.exec(text); return m ? m[1] : null; };
  if (!pg.heading) problems.push('--memory: no h2#memory');
  const want = Math.min(16, mem.processes.length);
  if (pg.charts.length !== want) problems.push(`--memory: ${pg.charts.length} charts, expected ${want}`);
  if (mem.processes.length > want && !(pg.more && pg.more.startsWith(`${mem.processes.length - want} more processes`)))
    problems.push(`--memory: ${mem.processes.length - want} processes left out, not said: ${pg.more}`);
  const flagged = new Set();
  for (const f of rep.bottlenecks || []) {
    const m = f.rule === 'memory_growth' && /^process (\d+) grew/.exec(f.message);
    if (m) flagged.add(Number(m[1]));
  }
  let steady = 0;
  for (const c of pg.charts) {
    const r = rows.get(c.pid);
    if (!r) { problems.push(`--memory: chart of pid ${c.pid}, not in report.json`); continue; }
    const cap = c.texts.join(' | ');
    const pk = num(/(?:^| \| )peak ([0-9]+\.[0-9]) MiB at /, cap), se = /start ([0-9]+\.[0-9]), end ([0-9]+\.[0-9]) MiB/.exec(cap);
    if (!same(pk, r.peak_kib, 1)) problems.push(`--memory: pid ${c.pid}: peak_kib ${r.peak_kib} not printed: ${cap}`);
    if (!se || !same(se[1], r.start_kib, 1) || !same(se[2], r.end_kib, 1))
      problems.push(`--memory: pid ${c.pid}: start/end ${r.start_kib}/${r.end_kib} KiB not printed: ${cap}`);
    const rss = c.cols.map((t) => { const m = /^pid (\d+) at [0-9.]+ s: RSS ([0-9.]+) MiB, anon [0-9.]+ MiB$/.exec(t); return m && Number(m[1]) === c.pid ? m[2] : null; });
    if (!rss.length || rss.includes(null)) problems.push(`--memory: pid ${c.pid}: a hover column does not say "pid ${c.pid} at T s: RSS X MiB": ${c.cols.find((t, i) => rss[i] === null)}`);
    const top = Math.max(...rss.map(Number));
    if (!same(top, r.peak_kib, 3)) problems.push(`--memory: pid ${c.pid}: the hover columns' largest RSS is ${top} MiB, peak_kib ${r.peak_kib}`);
    if (!same(num(/: peak ([0-9.]+) MiB at /, c.dot), r.peak_kib, 3)) problems.push(`--memory: pid ${c.pid}: peak dot says ${c.dot}`);
    if (c.warn) steady++;
    if (flagged.has(c.pid) && !(c.warn && c.warn.startsWith('steady growth') && c.finding && c.finding.includes(`process ${c.pid} grew`)))
      problems.push(`--memory: pid ${c.pid} has a memory_growth finding; its chart says ${c.warn}, under it ${c.finding}`);
  }
  if (o.steady !== undefined && steady !== o.steady) problems.push(`--memory: ${steady} charts say steady growth, expected ${o.steady}`);
  const slow = rep.traces && rep.traces[0];
  if (slow && rows.has(slow.pid) && pg.strips[0] !== slow.pid)
    problems.push(`--memory: no RSS strip of pid ${slow.pid} under #timeline (strips: ${pg.strips})`);
  // A column shades under the pointer (CSS :hover, no script): the widest
  // of the first chart, pointed at near its foot (the peak dot, on top of
  // the columns with a hover of its own, sits on the line). Chromium may
  // apply :hover a frame after the pointer moved (after a scroll it does so
  // on a timer), so the shade is waited for, up to 2 s.
  const first = await page.$('svg.mem');
  const cols = first ? await first.$$('rect.mh') : [];
  let col = null, widest = -1;
  for (const c of cols) {
    const w = Number(await c.getAttribute('width'));
    if (w > widest) { widest = w; col = c; }
  }
  if (col) {
    const before = await col.evaluate((e) => getComputedStyle(e).fillOpacity);
    if (Number(before) !== 0) problems.push(`--memory: a hover column is visible before the pointer comes (fill-opacity ${before})`);
    const box = await col.boundingBox();
    await col.hover({ force: true, position: { x: box.width / 2, y: Math.max(0, box.height - 2) } });
    const op = await col.evaluate((e) => new Promise((done) => {
      const t0 = performance.now();
      const look = () => {
        const v = getComputedStyle(e).fillOpacity;
        if (Number(v) > 0 || performance.now() - t0 > 2000) done(v); else requestAnimationFrame(look);
      };
      look();
    }));
    if (!(Number(op) > 0)) {
      const at = await col.evaluate((e) => { const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        const h = document.elementFromPoint(x, y); return `${x},${y} ${h ? h.outerHTML.slice(0, 80) : null} scrollY ${scrollY}`; });
      problems.push(`--memory: a hover column does not shade under the pointer (fill-opacity ${op}; at ${at})`);
    }
    await page.mouse.move(0, 0);	/* no shaded column in a screenshot */
  } else if (pg.charts.length) problems.push('--memory: the first chart has no hover column');
  st.memory = { charts: pg.charts.length, strips: pg.strips.length, steady, more: pg.more };
}
const problems = [];
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-chromium-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: o.width, height: o.height },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (r.url() !== url) problems.push(`network request: ${r.url()}`); });
  await page.goto(url);
  try {
    await page.waitForSelector('body[data-ready="1"]', { timeout: o.timeout, state: 'attached' });
  } catch {
    problems.push('body[data-ready="1"] never set: the page script did not run (CSP hash?) or failed');
  }
  const st = await page.evaluate(() => {
    const count = (sel) => { const s = document.querySelector(sel); return s ? s.querySelectorAll('rect').length : null; };
    return {
      ready: document.body.getAttribute('data-ready'),
      flame: count('svg#flame'),
      timeline: count('svg#timeline'),
      flameAll: count('svg#flame-all'),
      timelines: document.querySelectorAll('svg.timeline').length,
      deps: document.querySelectorAll('svg#timeline path.dep').length,
      title: document.title,
    };
  });
  // Zoom: a click on the flame's second box widens it to the chart.
  if (st.flame > 1) {
    const before = await page.evaluate(() => document.querySelectorAll('svg#flame rect')[1].getAttribute('width'));
    await page.evaluate(() => document.querySelectorAll('svg#flame g[data-x]')[1].dispatchEvent(new MouseEvent('click', { bubbles: true })));
    const after = await page.evaluate(() => document.querySelectorAll('svg#flame rect')[1].getAttribute('width'));
    st.zoom = { before: Number(before), after: Number(after) };
    if (!(Number(after) > Number(before))) problems.push(`click did not zoom: width ${before} -> ${after}`);
    await page.evaluate(() => document.querySelector('svg#flame').dispatchEvent(new MouseEvent('dblclick', { bubbles: true })));
  }
  if (st.flame === null) problems.push('no <svg id="flame">');
  if (st.timeline === null) problems.push('no <svg id="timeline">');
  if (o.expect !== null && st.flame !== o.expect) problems.push(`svg#flame has ${st.flame} rects, expected ${o.expect}`);
  if (o.expect !== null && st.timeline !== o.expect) problems.push(`svg#timeline has ${st.timeline} rects, expected ${o.expect}`);
  if (o.deps !== undefined && st.deps !== o.deps) problems.push(`svg#timeline has ${st.deps} dependency arrows, expected ${o.deps}`);
  if (o.memory) await checkMemory(page, JSON.parse(fs.readFileSync(o.memory, 'utf8')), st);
  if (o.noMemory) {
    const m = await page.evaluate(() => ({
      charts: document.querySelectorAll('svg.mem, svg.memstrip').length,
      off: (document.querySelector('#memory-off') || {}).textContent || null,
    }));
    if (m.charts) problems.push(`memory not sampled, yet ${m.charts} RSS charts`);
    if (!m.off || !/not sampled/.test(m.off)) problems.push('memory not sampled: no #memory-off line saying so');
  }
  if (o.screenshot && o.shotOf) {
    const box = await page.evaluate((sel) => {
      const e = document.querySelector(sel);
      if (!e) return null;
      const r = e.getBoundingClientRect();
      return { y: r.top + window.scrollY, h: document.documentElement.scrollHeight };
    }, o.shotOf);
    if (!box) problems.push(`--screenshot-of: no ${o.shotOf}`);
    else {
      const y = Math.max(0, Math.min(box.y - 10, box.h - o.height));
      await page.screenshot({ path: o.screenshot, fullPage: true, clip: { x: 0, y, width: o.width, height: Math.min(o.height, box.h - y) } });
    }
  } else if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: o.full });
  console.log(JSON.stringify(st));
} catch (e) {
  console.error(`FAIL: browser: ${e.message}`);
  process.exitCode = 2;
} finally {
  if (ctx) await ctx.close().catch(() => {});
  try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch {}
}
if (problems.length) {
  for (const p of problems) console.error('FAIL: ' + p);
  process.exitCode = 1;
}
