#!/usr/bin/env node
// pprof_totals.mjs PPROF_BIN PROFILE.pb.gz REPORT.json
//
// Google's pprof reads agentprof's profile.pb.gz; its totals must be
// report.json's: wall time (ns) = structure.total_self_ms (written to the
// microsecond, so within 1 µs), each function's flat time = the self time of
// report.json's operations of that name (within 1 µs each), tokens =
// tokens.total_input + total_output exactly. (A control character in a name
// is U+FFFD in the profile, as pprof prints names raw.)
// Exit 0 equal, 1 different (FAIL: on stderr), 2 usage or pprof failed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [bin, file, reportFile] = process.argv.slice(2);
if (!bin || !file || !reportFile) { console.error('usage: pprof_totals.mjs PPROF PROFILE REPORT.json'); process.exit(2); }
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pprof-'));
const run = (...a) => {
  try {
    return execFileSync(bin, ['-symbolize=none', ...a, file], { env: { ...process.env, PPROF_TMPDIR: tmp, HOME: tmp }, encoding: 'utf8' });
  } catch (e) { console.error(`FAIL: pprof ${a.join(' ')}: ${e.stderr || e.message}`); process.exit(2); }
};
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };
const wall = run('-sample_index=wall', '-unit=ns', '-nodecount=100000', '-top');
const tokens = run('-sample_index=tokens', '-top');
fs.rmSync(tmp, { recursive: true, force: true });

const total = (out) => { const m = out.match(/of (\d+)(ns)? total/); if (!m) fail(`no total in pprof -top:\n${out}`); return Number(m[1]); };
const wallNs = total(wall), selfNs = Math.round(report.structure.total_self_ms * 1e6);
if (Math.abs(wallNs - selfNs) > 1000) fail(`pprof wall total ${wallNs} ns, report.json total_self_ms ${report.structure.total_self_ms}`);
const tok = total(tokens), want = report.tokens.total_input + report.tokens.total_output;
if (tok !== want) fail(`pprof tokens total ${tok}, report.json ${want}`);

const flat = new Map();
for (const line of wall.split('\n')) {
  const m = line.match(/^\s*(\d+)ns\s+\S+\s+\S+\s+(\d+)ns\s+\S+\s+(.*)$/);
  if (m) flat.set(m[3], (flat.get(m[3]) || 0) + Number(m[1]));
}
const byName = new Map();
for (const op of report.operations) byName.set(op.name.replace(/[\x00-\x1f\x7f]/g, '\ufffd'), (byName.get(op.name) || 0) + Math.round(op.self_ms * 1e6));
if (report.operations_over_cap) fail('report.json has operations over its cap: not comparable');
for (const [name, ns] of byName) {
  const got = flat.get(name) || 0;
  if (Math.abs(got - ns) > 1000 * Math.max(1, report.operations.length))
    fail(`${name}: pprof flat ${got} ns, report.json operations self ${ns} ns`);
}
console.log(`pprof_totals: OK wall ${wallNs} ns, tokens ${tok}, ${byName.size} functions equal to report.json's operations`);
