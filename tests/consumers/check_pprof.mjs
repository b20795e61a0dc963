#!/usr/bin/env node
// check_pprof.mjs PROFILE.pb.gz [--expect-function NAME]... [--expect-type wall] [--pprof BIN]
// Runs the real pprof (./bin/pprof from build_pprof.sh, or --pprof / $PPROF) as
//   pprof -symbolize=none -top PROFILE      and   pprof -symbolize=none -raw PROFILE
// and fails if pprof refuses the profile, if a --expect-function is missing from
// the -top table, or if "Type:" differs from --expect-type (default: not checked).
// Prints the -top output. Exit 0 ok, 1 check failed, 2 usage / no pprof binary.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const o = { file: null, fns: [], type: null, pprof: process.env.PPROF || path.join(here, 'bin/pprof') };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--expect-function') o.fns.push(argv[++i]);
  else if (argv[i] === '--expect-type') o.type = argv[++i];
  else if (argv[i] === '--pprof') o.pprof = argv[++i];
  else o.file = argv[i];
}
if (!o.file) { console.error('usage: check_pprof.mjs PROFILE.pb.gz [--expect-function NAME]... [--expect-type wall] [--pprof BIN]'); process.exit(2); }
if (!fs.existsSync(o.pprof)) { console.error(`FAIL: no pprof binary at ${o.pprof} (run ./build_pprof.sh)`); process.exit(2); }
if (!fs.existsSync(o.file)) { console.error(`FAIL: no such file ${o.file}`); process.exit(2); }

// HOME/PPROF_TMPDIR pointed at a temp dir so pprof never writes into ~/pprof
const env = { ...process.env, PPROF_TMPDIR: fs.mkdtempSync('/tmp/pprof-'), PPROF_BINARY_PATH: '/nonexistent' };
const run = (...args) => spawnSync(o.pprof, ['-symbolize=none', ...args, o.file], { encoding: 'utf8', env, timeout: 60000 });
const problems = [];
const top = run('-top');
if (top.status !== 0) problems.push(`pprof -top exited ${top.status}: ${(top.stderr || '').trim()}`);
const raw = run('-raw');
if (raw.status !== 0) problems.push(`pprof -raw exited ${raw.status}: ${(raw.stderr || '').trim()}`);
if (!problems.length) {
  const rows = top.stdout.split('\n').filter((l) => /^\s*\S+\s+[\d.]+%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+\S/.test(l));
  const names = new Set(rows.map((l) => l.trim().split(/\s+/).slice(5).join(' ')));
  if (!rows.length) problems.push('pprof -top printed no rows (empty profile?)');
  for (const f of o.fns) if (!names.has(f)) problems.push(`function ${JSON.stringify(f)} not in pprof -top (have ${JSON.stringify([...names])})`);
  const type = /^Type: (.*)$/m.exec(top.stdout)?.[1];
  if (o.type && type !== o.type) problems.push(`Type: ${type}, expected ${o.type}`);
  process.stdout.write(top.stdout);
}
fs.rmSync(env.PPROF_TMPDIR, { recursive: true, force: true });
if (problems.length) {
  for (const p of problems) console.error('FAIL: ' + p);
  console.error(`check_pprof: FAILED ${o.file}`);
  process.exit(1);
}
console.error(`check_pprof: OK ${o.file}`);
