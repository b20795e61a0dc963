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
// (--width x --height, 1300 x 1000), or of the whole page with --full-page.
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
  else if (a === '--timeout') o.timeout = Number(args[++i]);
  else if (!file) file = a;
  else { console.error(`usage: check_html.mjs REPORT.html [--expect-rects N] [--screenshot PNG]`); process.exit(2); }
}
if (!file || !fs.existsSync(file)) { console.error(`FAIL: no such file ${file}`); process.exit(2); }
if (!fs.existsSync(CHROMIUM)) { console.error(`FAIL: ${CHROMIUM} missing (apt-get install -y chromium)`); process.exit(2); }

const url = pathToFileURL(path.resolve(file)).href;
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
  if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: o.full });
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
