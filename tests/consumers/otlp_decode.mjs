#!/usr/bin/env node
// otlp_decode.mjs FILE --format pb|json [--pretty] [--out OUT] [--no-validate] [--strict-bytes]
//
//  pb   : FILE is one ExportTraceServiceRequest in protobuf binary (as POSTed to
//         /v1/traces with application/x-protobuf); gzip is detected and inflated.
//  json : FILE is JSON lines, one TracesData per line (OTLP/JSON file exporter
//         format: hex ids, int64 as strings, enums as integers). A file holding a
//         single pretty-printed JSON document is accepted too.
// Every message is converted to protobuf with the official schema, re-encoded /
// decoded, and printed as ONE normalised JSON line per message (see otlp_lib.mjs
// normalise()): hex ids, exact decimal-string nanoseconds, defaults filled in.
// Semantic checks (ids, end >= start, enums) fail the run unless --no-validate.
// --strict-bytes (pb): fail if re-encoding the decoded message does not give the
// exact input bytes (catches fields this schema version does not know, e.g.
// Span.flags, which protobufjs silently skips).
// Exit 0 = ok, 1 = invalid input, 2 = usage.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { ExportTraceServiceRequest, OtlpError, decodeProtobuf, jsonToProtobuf, normalise, spanCount, validate } from './otlp_lib.mjs';

const argv = process.argv.slice(2);
const o = { format: null, pretty: false, out: null, validate: true, strictBytes: false };
const pos = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--format') o.format = argv[++i];
  else if (a === '--pretty') o.pretty = true;
  else if (a === '--out') o.out = argv[++i];
  else if (a === '--no-validate') o.validate = false;
  else if (a === '--strict-bytes') o.strictBytes = true;
  else pos.push(a);
}
if (pos.length !== 1 || !['pb', 'json'].includes(o.format)) {
  console.error('usage: otlp_decode.mjs FILE --format pb|json [--pretty] [--out OUT] [--no-validate] [--strict-bytes]');
  process.exit(2);
}
let buf;
try { buf = fs.readFileSync(pos[0]); } catch (e) { console.error(`FAIL: ${e.message}`); process.exit(2); }
if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);

const outLines = [];
const problems = [];
let spans = 0;
function handle(pbBytes, where, original) {
  const msg = decodeProtobuf(pbBytes, where);
  const reencoded = ExportTraceServiceRequest.encode(msg).finish();
  if (original && o.strictBytes && Buffer.compare(Buffer.from(reencoded), original) !== 0) {
    problems.push(`${where}: re-encoded protobuf differs from input (${original.length} -> ${reencoded.length} bytes): unknown fields dropped, non-canonical field order, or explicit default values`);
  }
  const n = normalise(ExportTraceServiceRequest.decode(reencoded));
  if (o.validate) problems.push(...validate(n).map((p) => `${where}: ${p}`));
  spans += spanCount(n);
  outLines.push(o.pretty ? JSON.stringify(n, null, 2) : JSON.stringify(n));
}

try {
  if (o.format === 'pb') {
    handle(buf, pos[0], buf);
  } else {
    const text = buf.toString('utf8');
    let docs;
    try { docs = [[JSON.parse(text), 'document']]; } catch { docs = null; }
    if (!docs) {
      // JSON lines (also a single line) - each non-empty line is one TracesData
      docs = [];
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        try { docs.push([JSON.parse(line), `line ${i + 1}`]); } catch (e) { throw new OtlpError(`${pos[0]} line ${i + 1}: invalid JSON: ${e.message}`); }
      });
    }
    if (!docs.length) throw new OtlpError(`${pos[0]}: no JSON lines`);
    for (const [doc, where] of docs) handle(jsonToProtobuf(doc, `${pos[0]} ${where}`), `${pos[0]} ${where}`, null);
  }
} catch (e) {
  if (!(e instanceof OtlpError)) throw e;
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
}

const text = outLines.join('\n') + '\n';
if (o.out) fs.writeFileSync(o.out, text); else process.stdout.write(text);
if (problems.length) {
  for (const p of problems) console.error('FAIL: ' + p);
  console.error(`otlp_decode: FAILED ${pos[0]}: ${problems.length} problem(s)`);
  process.exit(1);
}
console.error(`otlp_decode: OK ${pos[0]} (${o.format}): ${outLines.length} message(s), ${spans} span(s)`);
