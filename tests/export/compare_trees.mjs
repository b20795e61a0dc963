#!/usr/bin/env node
// compare_trees.mjs ENGINE_TREE.json REPORT.json
//
// The span trees the DevTools trace engine rebuilt from agentprof's
// trace.json (check_chrome.mjs --out) against the trees of report.json.
// From the engine's per-thread slices, the traces are rebuilt by the
// span_id / parent_id args; each must equal one of report.json's "traces"
// (same count): name, category, pid, tid, start since the root (ns), dur,
// self, model, tokens, truncated, children in begin order. It also checks
// that every slice the engine nested under another is a descendant of it in
// its trace: the thread view says nothing the trace does not.
// Exit 0 equal, 1 different (FAIL: and the first difference on stderr), 2 usage.
import fs from 'node:fs';

const [treeFile, reportFile] = process.argv.slice(2);
if (!treeFile || !reportFile) { console.error('usage: compare_trees.mjs ENGINE_TREE.json REPORT.json'); process.exit(2); }
const threads = JSON.parse(fs.readFileSync(treeFile, 'utf8'));
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };

const byId = new Map();
const enginePairs = [];
(function walk(nodes, parent) {
  for (const n of nodes) {
    if (n.ph === 'X') {
      const a = n.args || {};
      if (!a.span_id) fail(`slice ${n.name} has no span_id`);
      if (byId.has(a.span_id)) fail(`span_id ${a.span_id} twice`);
      byId.set(a.span_id, { n, kids: [] });
      if (parent) enginePairs.push([parent.args.span_id, a.span_id]);
    }
    walk(n.children || [], n.ph === 'X' ? n : parent);
  }
})(threads.flatMap((t) => t.roots), null);

const roots = [];
for (const [, v] of byId) {
  const p = v.n.args.parent_id;
  if (p && byId.has(p)) byId.get(p).kids.push(v); else roots.push(v);
}
// Thread nesting implies trace ancestry.
for (const [anc, desc] of enginePairs) {
  let cur = byId.get(desc).n.args.parent_id, ok = false;
  for (let hops = 0; cur && hops < 1e6; hops++) { if (cur === anc) { ok = true; break; } cur = byId.get(cur)?.n.args.parent_id; }
  if (!ok) fail(`the engine nested ${byId.get(desc).n.name} under ${byId.get(anc).n.name}, which is not its ancestor in the trace`);
}

const ns = (us) => Math.round(us * 1000);
const canonEngine = (v, t0) => {
  const a = v.n.args;
  return {
    name: v.n.name, category: a.category, pid: v.n.pid, tid: v.n.tid % 2 ** 32,
    start_ns: ns(v.n.ts) - t0, dur_ns: ns(v.n.dur), self_ns: a.self_ns,
    model: a.model ?? null, input_tokens: a.input_tokens ?? 0, output_tokens: a.output_tokens ?? 0,
    truncated: a.error !== undefined,
    children: v.kids.map((k) => canonEngine(k, t0)).sort(order),
  };
};
const reserved = new Set(['CpuProfile', 'Profile', 'ProfileChunk', 'ResourceSendRequest', 'ResourceReceiveResponse',
  'ResourceReceivedData', 'ResourceFinish', 'ResourceWillSendRequest', 'ResourceChangePriority', 'TimerInstall', 'TimerFire',
  'TimerRemove', 'Paint', 'Layout', 'UpdateLayoutTree', 'TracingStartedInBrowser', 'TracingStartedInPage',
  'TracingSessionIdForWorker', 'RunTask', 'FunctionCall', 'EventDispatch', 'v8.compile', 'EvaluateScript', 'ParseHTML',
  'Screenshot', 'LayoutShift', 'navigationStart', 'firstContentfulPaint', 'largestContentfulPaint::Candidate',
  'AuctionWorklet', 'Animation', 'CommitLoad', 'FrameCommittedInBrowser', 'thread_name', 'process_name']);
const canonReport = (n) => {
  if (n.children_omitted) fail(`report.json cut the tree under ${n.name} (children_omitted ${n.children_omitted})`);
  return {
    name: reserved.has(n.name) ? 'span ' + n.name : n.name, category: n.category, pid: n.pid, tid: n.tid,
    start_ns: n.start_ns, dur_ns: n.dur_ns, self_ns: n.self_ns, model: n.model, input_tokens: n.input_tokens,
    output_tokens: n.output_tokens, truncated: n.truncated,
    children: n.children.map(canonReport).sort(order),
  };
};
function order(x, y) { return x.start_ns - y.start_ns || y.dur_ns - x.dur_ns || (x.name < y.name ? -1 : x.name > y.name); }

// Times: trace.json converts begin and end on one timeline, report.json each
// start (since the root) and duration apart: they may differ by 1 ns.
const strip = (t) => JSON.stringify(t, (k, v) => (k === 'start_ns' || k === 'dur_ns' ? undefined : v));
const sortKey = (t) => strip(t) + '|' + t.dur_ns;
const mine = roots.map((v) => canonEngine(v, ns(v.n.ts))).sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y)));
const theirs = report.traces.map(canonReport).sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y)));
if (mine.length !== theirs.length) fail(`${mine.length} trees from the engine, ${theirs.length} in report.json`);
function same(x, y, where) {
  for (const k of Object.keys(y)) {
    if (k === 'children') continue;
    const ok = k === 'start_ns' || k === 'dur_ns' ? Math.abs(x[k] - y[k]) <= 1 : x[k] === y[k];
    if (!ok) fail(`${where}/${y.name}: ${k} is ${JSON.stringify(x[k])} in trace.json, ${JSON.stringify(y[k])} in report.json`);
  }
  if (x.children.length !== y.children.length) fail(`${where}/${y.name}: ${x.children.length} children in trace.json, ${y.children.length} in report.json`);
  x.children.forEach((c, i) => same(c, y.children[i], `${where}/${y.name}`));
}
mine.forEach((t, i) => same(t, theirs[i], `tree ${i}`));
console.log(`compare_trees: OK ${mine.length} trees, ${byId.size} spans equal to report.json's (times within 1 ns)`);
