#!/usr/bin/env node
// check_chrome.mjs TRACE.json[.gz] [EXPECTED.json] [--out TREE.json] [--quiet]
//
// Parses a Chrome Trace Event JSON file with @paulirish/trace_engine (the
// DevTools Performance panel engine), fails on anything the engine reports or
// silently drops, checks independently that 'X' slices nest per thread, and
// prints the per-thread slice tree the engine built:
//   [{pid, tid, processName, threadName, roots: [{name, cat, ts, dur, pid, tid, args, children: [...]}]}]
// sorted by pid then tid.  With EXPECTED.json the tree is compared with it
// as a *subset* match: every key present in an expected object must be equal
// in the actual one (extra actual keys are ignored, e.g. omit "args"), arrays
// must have the same length and match element by element.
// Exit 0 = ok, 1 = check failed, 2 = usage / unreadable input.
import fs from 'node:fs';
import zlib from 'node:zlib';
import * as Trace from '@paulirish/trace_engine';
import { polyfillDOMRect } from '@paulirish/trace_engine/analyze-trace.mjs';

const argv = process.argv.slice(2);
const opts = { out: null, quiet: false };
const pos = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--out') opts.out = argv[++i];
  else if (argv[i] === '--quiet') opts.quiet = true;
  else if (argv[i] === '-h' || argv[i] === '--help') usage(0);
  else pos.push(argv[i]);
}
if (pos.length < 1 || pos.length > 2) usage(2);
function usage(code) {
  console.error('usage: check_chrome.mjs TRACE.json[.gz] [EXPECTED.json] [--out TREE.json] [--quiet]');
  process.exit(code);
}

const errors = [];
const fail = (msg) => errors.push(msg);

function readJson(file) {
  let buf;
  try { buf = fs.readFileSync(file); } catch (e) { console.error(`FAIL: cannot read ${file}: ${e.message}`); process.exit(2); }
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  try { return JSON.parse(buf.toString('utf8')); } catch (e) { console.error(`FAIL: ${file} is not valid JSON: ${e.message}`); process.exit(1); }
}

const json = readJson(pos[0]);
const events = Array.isArray(json) ? json : json.traceEvents;
if (!Array.isArray(events)) { console.error('FAIL: no traceEvents array (need {"traceEvents":[...]} or a bare array)'); process.exit(1); }

// ---- 1. structural checks (independent of the engine) -------------------
const NS_SAFE_US = Number.MAX_SAFE_INTEGER / 1000; // ts beyond this (~104 days in us) cannot hold ns decimals
events.forEach((e, i) => {
  const where = `event #${i} (${e && e.name})`;
  if (!e || typeof e !== 'object') return fail(`${where}: not an object`);
  if (typeof e.ph !== 'string') fail(`${where}: missing ph`);
  if (typeof e.name !== 'string') fail(`${where}: missing/non-string name`);
  if (!Number.isInteger(e.pid)) fail(`${where}: pid must be an integer, got ${JSON.stringify(e.pid)}`);
  if (!Number.isInteger(e.tid)) fail(`${where}: tid must be an integer, got ${JSON.stringify(e.tid)}`);
  if (e.ph === 'M') return;
  if (typeof e.ts !== 'number' || !Number.isFinite(e.ts)) fail(`${where}: ts must be a finite number`);
  else if (Math.abs(e.ts) > NS_SAFE_US) fail(`${where}: ts=${e.ts}us too large to keep nanosecond decimals in a double (> ${NS_SAFE_US.toFixed(0)}); use a relative/monotonic timebase`);
  if (e.ph === 'X' && (typeof e.dur !== 'number' || !Number.isFinite(e.dur) || e.dur < 0)) fail(`${where}: 'X' needs a finite dur >= 0`);
});

// ---- 2. independent nesting check of 'X' slices, in integer nanoseconds --
const ns = (us) => Math.round(us * 1000);
const byThread = new Map();
for (const e of events) {
  if (e && e.ph === 'X' && typeof e.ts === 'number' && typeof e.dur === 'number') {
    const k = `${e.pid}:${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k).push({ e, b: ns(e.ts), end: ns(e.ts) + ns(e.dur) });
  }
}
for (const [k, list] of byThread) {
  list.sort((x, y) => x.b - y.b || y.end - x.end); // parents (longer) first on equal start
  const stack = [];
  for (const s of list) {
    while (stack.length && s.b >= stack.at(-1).end) stack.pop();
    const top = stack.at(-1);
    if (top && s.end > top.end) {
      fail(`thread ${k}: '${s.e.name}' [${s.e.ts}, +${s.e.dur}] partially overlaps '${top.e.name}' [${top.e.ts}, +${top.e.dur}] (ends ${(s.end - top.end)} ns after it)`);
      continue;
    }
    stack.push(s);
  }
}

// ---- 3. run the DevTools trace engine ------------------------------------
polyfillDOMRect(); // the engine expects window.DOMRect
const engineConsole = [];
const saved = { error: console.error, warn: console.warn };
console.error = (...a) => engineConsole.push(['error', a.map(String).join(' ')]);
console.warn = (...a) => engineConsole.push(['warn', a.map(String).join(' ')]);
let parsed;
const t0 = performance.now();
try {
  const model = Trace.TraceModel.Model.createWithAllHandlers();
  // pass the original objects (checks above are done) so that the engine's
  // entryToNode map can be queried by identity below
  await model.parse(events);
  parsed = model.parsedTrace();
} catch (e) {
  fail(`trace engine threw: ${e && e.stack || e}`);
} finally {
  console.error = saved.error; console.warn = saved.warn;
}
const parseMs = performance.now() - t0;
for (const [lvl, msg] of engineConsole) fail(`trace engine console.${lvl}: ${msg}`);

let threads = [];
if (parsed) {
  const data = parsed.data;
  if (!data.Meta.traceIsGeneric) {
    fail('engine classified the trace as a Chrome *web* trace (saw TracingStartedInPage/TracingStartedInBrowser/TracingSessionIdForWorker/CpuProfile): it then drops processes without a frame URL');
  }
  for (const [event, warnings] of data.Warnings.perEvent) fail(`engine warning(s) ${warnings.join(',')} on '${event.name}' ts=${event.ts}`);
  const procNames = data.Meta.processNames;
  for (const [pid, proc] of data.Renderer.processes) {
    for (const [tid, th] of proc.threads) {
      const toNode = (node) => {
        const e = node.entry;
        const o = { name: e.name, cat: e.cat, ph: e.ph, ts: e.ts, dur: e.dur ?? 0, pid: e.pid, tid: e.tid, args: e.args ?? {} };
        o.children = node.children.map(toNode);
        return o;
      };
      threads.push({
        pid, tid,
        processName: procNames.get(pid)?.args?.name ?? null,
        threadName: th.name,
        roots: [...th.tree.roots].map(toNode),
      });
    }
  }
  threads.sort((a, b) => a.pid - b.pid || a.tid - b.tid);
  // Anything with a duration/instant phase that is not in the engine's tree was
  // silently dropped by TreeHelpers.treify (partial overlap, or float rounding of ts+dur).
  for (const e of events) {
    if (e && e.ph === 'X' && !data.Renderer.entryToNode.has(e)) {
      fail(`engine dropped 'X' '${e.name}' pid=${e.pid} tid=${e.tid} ts=${e.ts} dur=${e.dur} from its tree (does not nest in double arithmetic: ts+dur=${e.ts + e.dur})`);
    }
  }
}

// ---- 4. output + optional comparison --------------------------------------
const treeJson = JSON.stringify(threads, null, 1);
if (opts.out) fs.writeFileSync(opts.out, treeJson + '\n');
else if (!opts.quiet) process.stdout.write(treeJson + '\n');

function subsetDiff(exp, act, path) {
  if (Array.isArray(exp)) {
    if (!Array.isArray(act)) return `${path}: expected array, got ${JSON.stringify(act)}`;
    if (exp.length !== act.length) return `${path}: expected ${exp.length} elements, got ${act.length}`;
    for (let i = 0; i < exp.length; i++) { const d = subsetDiff(exp[i], act[i], `${path}[${i}]`); if (d) return d; }
    return null;
  }
  if (exp && typeof exp === 'object') {
    if (!act || typeof act !== 'object' || Array.isArray(act)) return `${path}: expected object, got ${JSON.stringify(act)}`;
    for (const k of Object.keys(exp)) { const d = subsetDiff(exp[k], act[k], `${path}.${k}`); if (d) return d; }
    return null;
  }
  return Object.is(exp, act) ? null : `${path}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(act)}`;
}
if (pos[1]) {
  const d = subsetDiff(readJson(pos[1]), threads, '$');
  if (d) fail(`tree differs from ${pos[1]}: ${d}`);
}

const nSlices = events.filter((e) => e && e.ph === 'X').length;
if (errors.length) {
  for (const m of errors) console.error('FAIL: ' + m);
  console.error(`check_chrome: FAILED with ${errors.length} problem(s) in ${pos[0]}`);
  process.exit(1);
}
console.error(`check_chrome: OK ${pos[0]}: ${events.length} events, ${nSlices} X slices, ${threads.length} thread(s), engine parse ${parseMs.toFixed(0)} ms`);
