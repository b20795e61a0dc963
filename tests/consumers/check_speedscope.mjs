#!/usr/bin/env node
// check_speedscope.mjs FILE.json
//
// 1. Validates FILE against the JSON schema shipped inside the speedscope npm
//    package (node_modules/speedscope/dist/release/file-format-schema.json,
//    draft-07) with ajv.
// 2. Checks what the schema cannot express but speedscope's importer enforces
//    (it throws -> "Something went wrong" in the UI):
//    frame indices in range, evented O/C events balanced LIFO per profile,
//    'at' non-decreasing and within [startValue, endValue], sampled profiles
//    samples.length === weights.length.
// Exit 0 = valid, 1 = invalid, 2 = usage / unreadable.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';

const require = createRequire(import.meta.url);
const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: check_speedscope.mjs FILE.json');
  process.exit(2);
}
// The package has no "exports" map, so the schema resolves by path.
const schemaPath = require.resolve('speedscope/dist/release/file-format-schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));

let data;
try { data = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) {
  console.error(`FAIL: cannot read/parse ${file}: ${e.message}`);
  process.exit(e.code === 'ENOENT' ? 2 : 1);
}

// ajv 8's default class is draft-07, like the schema; it compiles in strict mode.
const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(schema);
const errors = [];
if (!validate(data)) {
  for (const e of validate.errors) errors.push(`schema: ${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`);
}

// Semantic checks (only if the overall shape is usable)
const frames = data?.shared?.frames;
if (Array.isArray(frames) && Array.isArray(data.profiles)) {
  const fname = (i) => (frames[i] ? JSON.stringify(frames[i].name) : `#${i}`);
  data.profiles.forEach((p, pi) => {
    const where = `profiles[${pi}] (${p?.name})`;
    if (!p || typeof p !== 'object') return;
    if (typeof p.startValue === 'number' && typeof p.endValue === 'number' && p.endValue < p.startValue) errors.push(`${where}: endValue < startValue`);
    if (p.type === 'evented' && Array.isArray(p.events)) {
      const stack = [];
      let last = -Infinity;
      p.events.forEach((ev, i) => {
        const at = ev?.at;
        if (!Number.isInteger(ev?.frame) || ev.frame < 0 || ev.frame >= frames.length) errors.push(`${where} events[${i}]: frame ${JSON.stringify(ev?.frame)} out of range [0, ${frames.length})`);
        if (typeof at === 'number') {
          if (at < last) errors.push(`${where} events[${i}]: at=${at} goes backwards (previous ${last})`);
          if (at < p.startValue || at > p.endValue) errors.push(`${where} events[${i}]: at=${at} outside [startValue ${p.startValue}, endValue ${p.endValue}]`);
          last = Math.max(last, at);
        }
        if (ev?.type === 'O') stack.push(ev.frame);
        else if (ev?.type === 'C') {
          if (!stack.length) errors.push(`${where} events[${i}]: close of ${fname(ev.frame)} with empty stack`);
          else if (stack.at(-1) !== ev.frame) errors.push(`${where} events[${i}]: close of ${fname(ev.frame)} but ${fname(stack.at(-1))} is on top`);
          else stack.pop();
        }
      });
      if (stack.length) errors.push(`${where}: ${stack.length} frame(s) never closed: ${stack.map(fname).join(', ')}`);
    } else if (p.type === 'sampled' && Array.isArray(p.samples)) {
      if (!Array.isArray(p.weights) || p.weights.length !== p.samples.length) errors.push(`${where}: samples.length (${p.samples.length}) !== weights.length (${p.weights?.length})`);
      p.samples.forEach((s, i) => (s || []).forEach((f) => {
        if (!Number.isInteger(f) || f < 0 || f >= frames.length) errors.push(`${where} samples[${i}]: frame ${JSON.stringify(f)} out of range`);
      }));
    }
  });
  if (data.activeProfileIndex != null && !(data.activeProfileIndex >= 0 && data.activeProfileIndex < data.profiles.length)) errors.push(`activeProfileIndex ${data.activeProfileIndex} out of range`);
  if (data.profiles.length === 0) errors.push('profiles is empty (speedscope alerts "Successfully imported profile, but it\'s empty!")');
}

if (errors.length) {
  for (const e of errors.slice(0, 50)) console.error('FAIL: ' + e);
  if (errors.length > 50) console.error(`... and ${errors.length - 50} more`);
  console.error(`check_speedscope: FAILED ${file}: ${errors.length} problem(s)`);
  process.exit(1);
}
const nEv = data.profiles.reduce((n, p) => n + (p.events?.length ?? p.samples?.length ?? 0), 0);
console.log(`check_speedscope: OK ${file}: ${data.profiles.length} profile(s), ${frames.length} frame(s), ${nEv} events/samples (schema ${schemaPath.replace(/.*node_modules\//, '')})`);
