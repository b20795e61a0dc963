#!/usr/bin/env node
// count_roots.mjs ENGINE_TREE.json REPORT.json - export --all put every
// trace in trace.json: the slices with no parent_id (trace roots) the trace
// engine rebuilt are as many as report.json's structure.traces, and more
// than the run kept. Exit 0 or 1 (FAIL: on stderr).
import fs from 'node:fs';

const [treeFile, reportFile] = process.argv.slice(2);
const threads = JSON.parse(fs.readFileSync(treeFile, 'utf8'));
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
let roots = 0;
const walk = (n) => { if (n.ph === 'X' && !n.args.parent_id) roots++; (n.children || []).forEach(walk); };
threads.forEach((t) => t.roots.forEach(walk));
if (roots !== report.structure.traces || report.retention.retained >= roots) {
  console.error(`FAIL: ${roots} trace roots in trace.json, ${report.structure.traces} traces, ${report.retention.retained} kept by the run`);
  process.exit(1);
}
console.log(`count_roots: OK ${roots} traces (the run kept ${report.retention.retained})`);
