#!/usr/bin/env node
// otlp_make_samples.mjs [DIR]  (default: ./samples)
// Builds OTLP trace samples with the official schema (otlp-transformer's protobufjs root):
//   otlp_good.pb            ExportTraceServiceRequest, protobuf binary
//   otlp_good.pb.gz         same, gzip
//   otlp_good.jsonl         2 lines of TracesData, OTLP/JSON (hex ids, int64 strings, int enums)
//   otlp_bad_truncated.pb   protobuf cut in the middle            -> decode error
//   otlp_bad_base64ids.jsonl ids base64 instead of hex            -> rejected
//   otlp_bad_number_ns.jsonl int64 ns as JSON number (> 2^53)     -> rejected
//   otlp_bad_end_before_start.jsonl                                -> validation error
//   otlp_flags_unknown.pb   span with Span.flags (field 16, unknown to 0.52.1): decodes, --strict-bytes fails
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs/minimal.js';
import { ExportTraceServiceRequest } from './otlp_lib.mjs';

const dir = process.argv[2] || path.join(path.dirname(new URL(import.meta.url).pathname), 'samples');
fs.mkdirSync(dir, { recursive: true });
const Long = protobuf.util.Long;
const ns = (s) => Long.fromString(s, true); // exact nanoseconds, never a JS number
const b = (h) => Buffer.from(h, 'hex');
const TRACE = '5b8efff798038103d269b633813fc60c';
const str = (k, v) => ({ key: k, value: { stringValue: v } });
const int = (k, v) => ({ key: k, value: { intValue: Long.fromString(v) } });

const req = {
  resourceSpans: [{
    resource: { attributes: [str('service.name', 'agentprof-demo'), int('process.pid', '4242')] },
    scopeSpans: [{
      scope: { name: 'agentprof', version: '0.0.0' },
      spans: [
        {
          traceId: b(TRACE), spanId: b('eee19b7ec3c1b174'), name: 'main', kind: 1,
          startTimeUnixNano: ns('1700000000123456789'), endTimeUnixNano: ns('1700000000623456790'),
          attributes: [str('code.function', 'main'), int('thread.id', '4242'), { key: 'ratio', value: { doubleValue: 0.25 } }, { key: 'hot', value: { boolValue: true } },
            { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: Long.fromString('9007199254740993') }] } } }],
          events: [{ timeUnixNano: ns('1700000000223456789'), name: 'checkpoint', attributes: [int('n', '1')] }],
          status: { code: 1 },
        },
        {
          traceId: b(TRACE), spanId: b('00f067aa0ba902b7'), parentSpanId: b('eee19b7ec3c1b174'), name: 'parse_input', kind: 1,
          startTimeUnixNano: ns('1700000000133456001'), endTimeUnixNano: ns('1700000000234455999'),
          links: [{ traceId: b('0af7651916cd43dd8448eb211c80319c'), spanId: b('b7ad6b7169203331'), traceState: 'k=v', attributes: [str('link.kind', 'follows')] }],
          status: { code: 2, message: 'parse error at 3:7' },
        },
      ],
    }],
  }],
};
const msg = ExportTraceServiceRequest.fromObject(req);
const pb = Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
fs.writeFileSync(path.join(dir, 'otlp_good.pb'), pb);
fs.writeFileSync(path.join(dir, 'otlp_good.pb.gz'), zlib.gzipSync(pb));
fs.writeFileSync(path.join(dir, 'otlp_bad_truncated.pb'), pb.subarray(0, Math.floor(pb.length / 2)));

// Span.flags (fixed32, field 16) exists in newer opentelemetry-proto but not in the
// schema bundled with otlp-transformer 0.52.1: build a request whose span carries it.
{
  const P = (await import('./otlp_lib.mjs')).proto;
  const W = () => protobuf.Writer.create();
  const span = P.trace.v1.Span.fromObject({ traceId: b(TRACE), spanId: b('eee19b7ec3c1b174'), name: 'with_flags', kind: 1,
    startTimeUnixNano: ns('1700000000123456789'), endTimeUnixNano: ns('1700000000623456790') });
  const spanBytes = Buffer.concat([P.trace.v1.Span.encode(span).finish(), W().uint32((16 << 3) | 5).fixed32(0x301).finish()]);
  const ss = W(); P.common.v1.InstrumentationScope.encode({ name: 'agentprof' }, ss.uint32(10).fork()).ldelim(); ss.uint32(18).bytes(spanBytes);
  const rs = W(); P.resource.v1.Resource.encode({ attributes: [str('service.name', 'agentprof-demo')] }, rs.uint32(10).fork()).ldelim(); rs.uint32(18).bytes(ss.finish());
  fs.writeFileSync(path.join(dir, 'otlp_flags_unknown.pb'), W().uint32(10).bytes(rs.finish()).finish());
}

// OTLP/JSON lines, written by hand the way a file exporter would
const line1 = {
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agentprof-demo' } }, { key: 'process.pid', value: { intValue: '4242' } }] },
    scopeSpans: [{
      scope: { name: 'agentprof', version: '0.0.0' },
      spans: [{
        traceId: TRACE, spanId: 'eee19b7ec3c1b174', parentSpanId: '', name: 'main', kind: 1,
        startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000000623456790',
        attributes: [{ key: 'code.function', value: { stringValue: 'main' } }, { key: 'big', value: { intValue: '9007199254740993' } }],
        events: [{ timeUnixNano: '1700000000223456789', name: 'checkpoint', attributes: [] }],
        status: { code: 1 },
      }],
    }],
  }],
};
const line2 = {
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agentprof-demo' } }] },
    scopeSpans: [{
      scope: { name: 'agentprof' },
      spans: [{
        traceId: TRACE, spanId: '00f067aa0ba902b7', parentSpanId: 'eee19b7ec3c1b174', name: 'parse_input', kind: 3,
        startTimeUnixNano: '1700000000133456001', endTimeUnixNano: '1700000000234455999',
        links: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceState: 'k=v', attributes: [] }],
        status: { code: 2, message: 'parse error at 3:7' },
      }],
    }],
  }],
};
const jl = (...x) => x.map((o) => JSON.stringify(o)).join('\n') + '\n';
fs.writeFileSync(path.join(dir, 'otlp_good.jsonl'), jl(line1, line2));

const bad1 = structuredClone(line1); bad1.resourceSpans[0].scopeSpans[0].spans[0].traceId = Buffer.from(TRACE, 'hex').toString('base64');
fs.writeFileSync(path.join(dir, 'otlp_bad_base64ids.jsonl'), jl(bad1));
// int64 as a JSON number: JSON.parse rounds it before any code sees it
fs.writeFileSync(path.join(dir, 'otlp_bad_number_ns.jsonl'), jl(line1).replace('"startTimeUnixNano":"1700000000123456789"', '"startTimeUnixNano":1700000000123456789'));
const bad3 = structuredClone(line2); bad3.resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano = '1700000000133456000';
fs.writeFileSync(path.join(dir, 'otlp_bad_end_before_start.jsonl'), jl(bad3));
const bad4 = structuredClone(line2); bad4.resourceSpans[0].scopeSpans[0].spans[0].trace_id = TRACE;
fs.writeFileSync(path.join(dir, 'otlp_bad_snake_case.jsonl'), jl(bad4));

console.log(`wrote OTLP samples to ${dir} (otlp_good.pb: ${pb.length} bytes)`);
