#!/usr/bin/env node
// otlp_send.mjs URL (--file FILE --format pb|json | --build) [--gzip] [--header 'K: V']...
//               [--expect-status N] [--timeout MS]
// Test client for otlp_receiver.mjs.  --build makes a small ExportTraceServiceRequest
// right here with the official schema (Long nanoseconds) and sends it as protobuf.
// Prints the HTTP status, Retry-After and the decoded ExportTraceServiceResponse /
// google.rpc.Status.  Exit 0 iff the status equals --expect-status (default 200);
// a timeout (e.g. against --hang) exits 3.
import fs from 'node:fs';
import zlib from 'node:zlib';
import protobuf from 'protobufjs/minimal.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './otlp_lib.mjs';

const argv = process.argv.slice(2);
const o = { url: null, file: null, format: null, build: false, gzip: false, headers: {}, expect: 200, timeout: 10000 };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i], v = () => argv[++i];
  if (a === '--file') o.file = v();
  else if (a === '--format') o.format = v();
  else if (a === '--build') o.build = true;
  else if (a === '--gzip') o.gzip = true;
  else if (a === '--header') { const h = v(); const k = h.indexOf(':'); o.headers[h.slice(0, k).trim()] = h.slice(k + 1).trim(); }
  else if (a === '--expect-status') o.expect = Number(v());
  else if (a === '--timeout') o.timeout = Number(v());
  else o.url = a;
}
if (!o.url || (!o.build && (!o.file || !['pb', 'json'].includes(o.format)))) {
  console.error("usage: otlp_send.mjs URL (--file FILE --format pb|json | --build) [--gzip] [--header 'K: V']... [--expect-status N] [--timeout MS]");
  process.exit(2);
}

let body;
let json = o.format === 'json';
if (o.build) {
  const L = protobuf.util.Long;
  const req = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp_send' } }] },
      scopeSpans: [{
        scope: { name: 'agentprof', version: '0.0.0' },
        spans: [{
          traceId: Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'), spanId: Buffer.from('00f067aa0ba902b7', 'hex'),
          name: 'built-in-node', kind: 1,
          startTimeUnixNano: L.fromString('1700000000000000001', true), endTimeUnixNano: L.fromString('1700000000999999999', true),
          attributes: [{ key: 'thread.id', value: { intValue: L.fromNumber(7) } }],
        }],
      }],
    }],
  });
  body = Buffer.from(ExportTraceServiceRequest.encode(req).finish());
  json = false;
} else body = fs.readFileSync(o.file);
if (o.gzip) body = zlib.gzipSync(body);

const headers = { 'content-type': json ? 'application/json' : 'application/x-protobuf', ...o.headers };
if (o.gzip) headers['content-encoding'] = 'gzip';
let res;
try {
  res = await fetch(o.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(o.timeout) });
} catch (e) {
  if (e.name === 'TimeoutError') { console.error(`otlp_send: no response within ${o.timeout} ms`); process.exit(3); }
  console.error(`otlp_send: request failed: ${e.cause?.message || e.message}`); process.exit(1);
}
const rb = Buffer.from(await res.arrayBuffer());
let decoded;
const rct = res.headers.get('content-type') || '';
if (rct.includes('json')) decoded = rb.length ? JSON.parse(rb.toString()) : {};
else if (res.ok) decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(rb), { longs: String });
else { // google.rpc.Status
  const r = protobuf.Reader.create(rb); decoded = {};
  while (r.pos < r.len) { const t = r.uint32(); if (t >>> 3 === 1) decoded.code = r.int32(); else if (t >>> 3 === 2) decoded.message = r.string(); else r.skipType(t & 7); }
}
console.log(JSON.stringify({ status: res.status, retryAfter: res.headers.get('retry-after'), contentType: rct, sentBytes: body.length, response: decoded }));
if (res.status !== o.expect) { console.error(`otlp_send: got HTTP ${res.status}, expected ${o.expect}`); process.exit(1); }
