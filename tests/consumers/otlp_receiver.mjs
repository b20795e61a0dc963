#!/usr/bin/env node
// otlp_receiver.mjs --port P --out FILE [--fail-first K --status 503|429|400|500 [--retry-after S]]
//                   [--reject N] [--hang] [--max-requests M]
//
// Minimal OTLP/HTTP trace receiver on 127.0.0.1 for tests.
//  POST /v1/traces, Content-Type application/x-protobuf or application/json
//  (charset parameters allowed), optional Content-Encoding: gzip.
//  Each request is decoded with the official schema (otlp-transformer 0.52.1
//  protobufjs root; JSON goes through the hex-id aware converter in otlp_lib.mjs)
//  and ONE JSON line is appended to FILE:
//   {"seq":1,"time":"...","method":"POST","path":"/v1/traces","headers":{...lower-case...},
//    "contentType":"application/x-protobuf","contentEncoding":"gzip","bodyBytes":123,
//    "ok":true,"spans":2,"request":{normalised ExportTraceServiceRequest},"error":null,
//    "response":{"status":200,"partialSuccess":null}}
//  Response: 200 + ExportTraceServiceResponse in the request's encoding
//  (protobuf or JSON); with --reject N it carries partial_success {rejected_spans:N, error_message}.
//  --fail-first K: the first K POSTs get --status (default 503) with a google.rpc.Status body
//    (protobuf or JSON like the request) and, if --retry-after S, a "Retry-After: S" header.
//  --hang: read and log the request, then never answer (socket stays open).
//  Undecodable body -> 400, wrong path -> 404, wrong method -> 405, other content type -> 415.
// Prints "listening PORT" on stdout once ready (--port 0 picks a free port).
// Stops on SIGINT/SIGTERM (exit 0) or after --max-requests M requests.
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import protobuf from 'protobufjs/minimal.js';
import { ExportTraceServiceResponse, OtlpError, decodeProtobuf, jsonToProtobuf, normalise, spanCount } from './otlp_lib.mjs';

const argv = process.argv.slice(2);
const o = { port: null, out: null, failFirst: 0, status: 503, retryAfter: null, reject: 0, hang: false, maxRequests: Infinity };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i], v = () => argv[++i];
  if (a === '--port') o.port = Number(v());
  else if (a === '--out') o.out = v();
  else if (a === '--fail-first') o.failFirst = Number(v());
  else if (a === '--status') o.status = Number(v());
  else if (a === '--retry-after') o.retryAfter = v();
  else if (a === '--reject') o.reject = Number(v());
  else if (a === '--hang') o.hang = true;
  else if (a === '--max-requests') o.maxRequests = Number(v());
  else { console.error(`unknown argument ${a}`); o.port = NaN; }
}
if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535 || !o.out || !Number.isInteger(o.failFirst) || !Number.isInteger(o.reject) || !(o.status >= 400 && o.status < 600)) {
  console.error('usage: otlp_receiver.mjs --port P --out FILE [--fail-first K --status 503|429|400 [--retry-after S]] [--reject N] [--hang] [--max-requests M]');
  process.exit(2);
}
fs.writeFileSync(o.out, ''); // truncate: one run = one log

// google.rpc.Status {int32 code = 1; string message = 2; repeated Any details = 3;}
// is not in the otlp-transformer root, so encode it by hand.
const GRPC = { 400: 3, 429: 8, 500: 13, 502: 14, 503: 14, 504: 14 }; // INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE
function rpcStatus(httpStatus, message, json) {
  const code = GRPC[httpStatus] ?? 2; // UNKNOWN
  if (json) return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).finish());
}

let seq = 0;
let posts = 0;
const hung = new Set();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const n = ++seq;
    const rec = {
      seq: n, time: new Date().toISOString(), method: req.method, path: req.url, headers: req.headers,
      contentType: null, contentEncoding: req.headers['content-encoding'] ?? null, bodyBytes: 0,
      ok: false, spans: 0, request: null, error: null, response: null,
    };
    let body = Buffer.concat(chunks);
    rec.bodyBytes = body.length;
    const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    rec.contentType = ct;
    const json = ct === 'application/json';
    const send = (status, payload, headers = {}) => {
      rec.response = { status, ...rec.response };
      fs.appendFileSync(o.out, JSON.stringify(rec) + '\n');
      res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': payload.length, ...headers });
      res.end(payload);
      if (seq >= o.maxRequests) shutdown();
    };
    const reqPath = new URL(req.url, 'http://127.0.0.1').pathname;
    if (reqPath !== '/v1/traces') { rec.error = 'not found'; return send(404, rpcStatus(404, `no handler for ${reqPath}`, json)); }
    if (req.method !== 'POST') { rec.error = 'method not allowed'; return send(405, rpcStatus(405, 'use POST', json), { allow: 'POST' }); }
    if (ct !== 'application/x-protobuf' && ct !== 'application/json') { rec.error = `unsupported content-type ${JSON.stringify(ct)}`; return send(415, rpcStatus(415, rec.error, json)); }
    posts++;
    try {
      const enc = (rec.contentEncoding || 'identity').toLowerCase();
      if (enc === 'gzip') {
        try { body = zlib.gunzipSync(body); } catch (e) { throw new OtlpError(`bad gzip body: ${e.message}`); }
      } else if (enc !== 'identity') throw new OtlpError(`unsupported content-encoding ${enc}`);
      let pb;
      if (json) {
        let obj;
        try { obj = JSON.parse(body.toString('utf8')); } catch (e) { throw new OtlpError(`invalid JSON: ${e.message}`); }
        pb = jsonToProtobuf(obj, 'body');
      } else pb = body;
      rec.request = normalise(decodeProtobuf(pb));
      rec.spans = spanCount(rec.request);
      rec.ok = true;
    } catch (e) {
      if (!(e instanceof OtlpError)) throw e;
      rec.error = e.message;
    }
    if (o.hang) {
      rec.response = { status: null, hang: true };
      fs.appendFileSync(o.out, JSON.stringify(rec) + '\n');
      hung.add(res);
      return; // never answer
    }
    if (posts <= o.failFirst) {
      const h = o.retryAfter != null ? { 'retry-after': String(o.retryAfter) } : {};
      rec.response = { injectedFailure: true };
      return send(o.status, rpcStatus(o.status, `injected failure ${posts}/${o.failFirst}`, json), h);
    }
    if (!rec.ok) return send(400, rpcStatus(400, rec.error, json));
    let resp = {};
    if (o.reject > 0) {
      resp = { partialSuccess: { rejectedSpans: o.reject, errorMessage: `rejected ${o.reject} span(s) (test)` } };
      rec.response = { partialSuccess: { rejectedSpans: String(o.reject), errorMessage: resp.partialSuccess.errorMessage } };
    }
    const payload = json
      ? Buffer.from(JSON.stringify(o.reject > 0 ? { partialSuccess: { rejectedSpans: String(o.reject), errorMessage: resp.partialSuccess.errorMessage } } : {}))
      : Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(resp)).finish());
    send(200, payload);
  });
});
server.requestTimeout = 0; // a hanging/slow client must not be cut by node's 300 s default
server.on('clientError', (err, socket) => socket.destroy());
function shutdown() {
  for (const r of hung) r.socket?.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
server.on('error', (e) => { console.error(`FAIL: cannot listen on 127.0.0.1:${o.port}: ${e.message}`); process.exit(1); });
server.listen(o.port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
