#!/usr/bin/env node
// compare.mjs - every span of agentprof's report.json trees against the
// spans an OTLP consumer decoded with the official schema.
//
//   node compare.mjs REPORT.json DECODED.jsonl [--exact] [--service NAME]
//
// DECODED.jsonl: normalised requests, one per line, as otlp_decode.mjs prints
// them, or the receiver's log (each line's "request"; failed requests, which
// the receiver answered with an error, are left out). Checks, per tree node:
// a span with its span id arrives exactly once, with the trace id and parent
// of the tree, start and end in ns exactly as report.json's start_ns (from
// the root) and dur_ns, agentprof.self_ns, agentprof.truncated, pid and tid,
// the GenAI attributes. --exact: the spans received are exactly the tree
// nodes (every trace kept). Prints {"spans":N,"traces":T,"services":[...]}.
// Exit 0 ok, 1 with "FAIL: ..." lines.
import fs from 'node:fs';

const args = process.argv.slice(2);
const exact = args.includes('--exact');
const si = args.indexOf('--service');
const service = si >= 0 ? args[si + 1] : null;
const [reportPath, decodedPath] = args.filter((a, i) => !a.startsWith('--') && (si < 0 || i !== si + 1));
const fail = [];
const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
const spans = new Map();
const services = new Set();
let received = 0;
for (const line of fs.readFileSync(decodedPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  let req = JSON.parse(line);
  if ('seq' in req) {
    if (!req.ok || !req.request || !(req.response && req.response.status === 200)) continue;
    req = req.request;
  }
  for (const rs of req.resourceSpans) {
    const res = Object.fromEntries(rs.resource.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]]));
    services.add(res['service.name']);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        received++;
        const attrs = Object.fromEntries(s.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]]));
        if (spans.has(s.spanId)) fail.push(`span ${s.spanId} (${attrs['agentprof.name']}) arrived more than once`);
        spans.set(s.spanId, { s, attrs, res });
      }
    }
  }
}
let nodes = 0;
const seen = new Set();
const eq = (what, got, want) => { if (String(got) !== String(want)) fail.push(`${what}: got ${JSON.stringify(String(got))}, want ${JSON.stringify(String(want))}`); };
for (const root of report.traces) {
  const rootSpan = spans.get(root.span_id);
  if (!rootSpan) { fail.push(`root ${root.span_id} (${root.name}) never arrived`); continue; }
  const t0 = BigInt(rootSpan.s.startTimeUnixNano);
  eq(`root ${root.span_id} traceId`, rootSpan.s.traceId, root.trace_id);
  eq(`root ${root.span_id} parentSpanId`, rootSpan.s.parentSpanId, root.parent_id);
  const stack = [[root, null]];
  while (stack.length) {
    const [n, parent] = stack.pop();
    nodes++;
    const got = spans.get(n.span_id);
    const w = `span ${n.span_id} (${n.name})`;
    if (!got) { fail.push(`${w} never arrived`); continue; }
    seen.add(n.span_id);
    const { s, attrs, res } = got;
    if (service) eq(`${w} service.name`, res['service.name'], service);
    eq(`${w} traceId`, s.traceId, root.trace_id);
    if (parent) eq(`${w} parentSpanId`, s.parentSpanId, parent.span_id);
    eq(`${w} start from root`, BigInt(s.startTimeUnixNano) - t0, n.start_ns);
    eq(`${w} duration`, BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano), n.dur_ns);
    eq(`${w} agentprof.name`, attrs['agentprof.name'], n.name);
    eq(`${w} agentprof.category`, attrs['agentprof.category'], n.category);
    eq(`${w} agentprof.self_ns`, attrs['agentprof.self_ns'], n.self_ns);
    eq(`${w} agentprof.truncated`, attrs['agentprof.truncated'], n.truncated);
    eq(`${w} agentprof.tid`, attrs['agentprof.tid'], n.tid);
    eq(`${w} process.pid`, res['process.pid'], n.pid);
    if (n.category === 'llm') {
      eq(`${w} kind`, s.kind, 3);
      eq(`${w} gen_ai.operation.name`, attrs['gen_ai.operation.name'], 'chat');
      if (n.model !== null) {
        eq(`${w} name`, s.name, `chat ${n.model}`);
        eq(`${w} gen_ai.request.model`, attrs['gen_ai.request.model'], n.model);
        eq(`${w} gen_ai.usage.input_tokens`, attrs['gen_ai.usage.input_tokens'], n.input_tokens);
        eq(`${w} gen_ai.usage.output_tokens`, attrs['gen_ai.usage.output_tokens'], n.output_tokens);
      }
    } else if (n.category === 'tool') {
      const tool = n.name.startsWith('tool:') ? n.name.slice(5) : n.name;
      eq(`${w} kind`, s.kind, 1);
      eq(`${w} name`, s.name, `execute_tool ${tool}`);
      eq(`${w} gen_ai.operation.name`, attrs['gen_ai.operation.name'], 'execute_tool');
      eq(`${w} gen_ai.tool.name`, attrs['gen_ai.tool.name'], tool);
    } else if (n.category === 'memory') {
      eq(`${w} gen_ai.operation.name`, attrs['gen_ai.operation.name'], 'retrieval');
    } else {
      eq(`${w} name`, s.name, n.name);
    }
    for (const c of n.children) stack.push([c, n]);
  }
}
if (exact) {
  eq('spans received', received, nodes);
  for (const id of spans.keys()) if (!seen.has(id)) fail.push(`span ${id} (${spans.get(id).attrs['agentprof.name']}) is in no tree of report.json`);
}
if (fail.length) {
  for (const f of fail.slice(0, 30)) console.error('FAIL: ' + f);
  console.error(`compare: ${fail.length} problem(s)`);
  process.exit(1);
}
console.log(JSON.stringify({ spans: received, nodes, traces: report.traces.length, services: [...services].sort() }));
