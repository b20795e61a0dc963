// otlp_lib.mjs - shared OTLP trace helpers for otlp_decode.mjs / otlp_receiver.mjs / otlp_make_samples.mjs
//
// Schema: the protobufjs *static* module that @opentelemetry/otlp-transformer@0.52.1
// ships at build/src/generated/root.js (CommonJS, module.exports = root; there is no
// "exports" map so the deep import works; there is no reflection/lookupType, use the
// namespaces directly).
import root from '@opentelemetry/otlp-transformer/build/src/generated/root.js';

export const proto = root.opentelemetry.proto;
export const ExportTraceServiceRequest = proto.collector.trace.v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = proto.collector.trace.v1.ExportTraceServiceResponse;
export const TracesData = proto.trace.v1.TracesData;

export class OtlpError extends Error {}

// ---------------------------------------------------------------------------
// OTLP/JSON -> protobufjs object.
// protobufjs fromObject() treats *every* string given for a bytes field as
// BASE64 (proto3 canonical JSON). OTLP/JSON instead encodes traceId/spanId/
// parentSpanId as HEX, so a hex string passed straight to fromObject silently
// becomes garbage (32 hex chars -> 24 bytes). We therefore walk the JSON with a
// hand-written description of the trace messages, convert ids from hex to
// bytes, reject unknown keys (fromObject ignores them silently, e.g. snake_case
// "trace_id", or "flags" which this 0.52.1 schema does not have), and reject
// int64 values given as unsafe JSON numbers (already rounded by JSON.parse).
const M = {
  TracesData: { resourceSpans: ['ResourceSpans'] },
  ResourceSpans: { resource: 'Resource', scopeSpans: ['ScopeSpans'], schemaUrl: 'string' },
  Resource: { attributes: ['KeyValue'], droppedAttributesCount: 'uint32' },
  ScopeSpans: { scope: 'InstrumentationScope', spans: ['Span'], schemaUrl: 'string' },
  InstrumentationScope: { name: 'string', version: 'string', attributes: ['KeyValue'], droppedAttributesCount: 'uint32' },
  Span: {
    traceId: 'id16', spanId: 'id8', traceState: 'string', parentSpanId: 'id8?', name: 'string', kind: 'enum',
    startTimeUnixNano: 'int64', endTimeUnixNano: 'int64', attributes: ['KeyValue'], droppedAttributesCount: 'uint32',
    events: ['Event'], droppedEventsCount: 'uint32', links: ['Link'], droppedLinksCount: 'uint32', status: 'Status',
  },
  Event: { timeUnixNano: 'int64', name: 'string', attributes: ['KeyValue'], droppedAttributesCount: 'uint32' },
  Link: { traceId: 'id16', spanId: 'id8', traceState: 'string', attributes: ['KeyValue'], droppedAttributesCount: 'uint32' },
  Status: { message: 'string', code: 'enum' },
  KeyValue: { key: 'string', value: 'AnyValue' },
  AnyValue: { stringValue: 'string', boolValue: 'bool', intValue: 'int64', doubleValue: 'double', arrayValue: 'ArrayValue', kvlistValue: 'KeyValueList', bytesValue: 'base64' },
  ArrayValue: { values: ['AnyValue'] },
  KeyValueList: { values: ['KeyValue'] },
};

function hexToBytes(s, n, path, optional) {
  if (typeof s !== 'string') throw new OtlpError(`${path}: expected hex string, got ${JSON.stringify(s)}`);
  if (s === '' && optional) return Buffer.alloc(0);
  if (!/^[0-9a-fA-F]*$/.test(s) || s.length !== 2 * n) throw new OtlpError(`${path}: expected ${2 * n} hex digits (OTLP/JSON ids are hex, not base64), got ${JSON.stringify(s)}`);
  return Buffer.from(s, 'hex');
}

function convert(type, v, path) {
  if (Array.isArray(type)) {
    if (!Array.isArray(v)) throw new OtlpError(`${path}: expected array`);
    return v.map((x, i) => convert(type[0], x, `${path}[${i}]`));
  }
  switch (type) {
    case 'id16': return hexToBytes(v, 16, path, false);
    case 'id8': return hexToBytes(v, 8, path, false);
    case 'id8?': return hexToBytes(v, 8, path, true);
    case 'string': if (typeof v !== 'string') throw new OtlpError(`${path}: expected string`); return v;
    case 'bool': if (typeof v !== 'boolean') throw new OtlpError(`${path}: expected boolean`); return v;
    case 'base64': if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw new OtlpError(`${path}: expected base64 string`); return v;
    case 'double':
      if (typeof v === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(v)) return v;
      throw new OtlpError(`${path}: expected number`);
    case 'uint32': case 'enum':
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new OtlpError(`${path}: expected non-negative integer (OTLP/JSON enums are integers), got ${JSON.stringify(v)}`);
      return v;
    case 'int64':
      if (typeof v === 'string') { if (!/^-?\d+$/.test(v)) throw new OtlpError(`${path}: expected decimal int64 string, got ${JSON.stringify(v)}`); return v; }
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) throw new OtlpError(`${path}: int64 given as JSON number ${v} is not exactly representable (> 2^53); OTLP/JSON int64 must be a string`);
        return String(v);
      }
      throw new OtlpError(`${path}: expected int64 (decimal string)`);
  }
  const fields = M[type];
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new OtlpError(`${path}: expected ${type} object`);
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(k in fields)) throw new OtlpError(`${path}: unknown field ${JSON.stringify(k)} for ${type} (OTLP/JSON uses lowerCamelCase; the opentelemetry-proto bundled in otlp-transformer 0.52.1 has: ${Object.keys(fields).join(', ')})`);
    if (x === null) continue;
    out[k] = convert(fields[k], x, `${path}.${k}`);
  }
  if (type === 'AnyValue' && Object.keys(out).length > 1) throw new OtlpError(`${path}: AnyValue must set one of its oneof fields, got ${Object.keys(out).join('+')}`);
  return out;
}

/** OTLP/JSON object (TracesData / ExportTraceServiceRequest) -> protobuf bytes */
export function jsonToProtobuf(obj, path = '$') {
  const plain = convert('TracesData', obj, path);
  const msg = ExportTraceServiceRequest.fromObject(plain);
  const err = ExportTraceServiceRequest.verify(msg);
  if (err) throw new OtlpError(`${path}: protobufjs verify: ${err}`);
  return ExportTraceServiceRequest.encode(msg).finish();
}

/** protobuf bytes -> message (throws OtlpError on malformed input) */
export function decodeProtobuf(bytes, path = 'body') {
  try {
    return ExportTraceServiceRequest.decode(bytes);
  } catch (e) {
    throw new OtlpError(`${path}: not a valid ExportTraceServiceRequest protobuf: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------
// message -> normalised JSON: every field present (defaults filled), ids lower-case
// hex, int64 as exact decimal strings, enums as integers, bytes values base64,
// non-finite doubles as "NaN"/"Infinity"/"-Infinity". Resource/scope/span order kept.
const hex = (b) => Buffer.from(b).toString('hex');
function normAny(v) {
  if (!v) return {};
  if (v.stringValue != null) return { stringValue: v.stringValue };
  if (v.boolValue != null) return { boolValue: v.boolValue };
  if (v.intValue != null) return { intValue: String(v.intValue) };
  if (v.doubleValue != null) return { doubleValue: Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue) };
  if (v.arrayValue != null) return { arrayValue: { values: (v.arrayValue.values || []).map(normAny) } };
  if (v.kvlistValue != null) return { kvlistValue: { values: normAttrs(v.kvlistValue.values) } };
  if (v.bytesValue != null) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') };
  return {};
}
const normAttrs = (a) => (a || []).map((kv) => ({ key: kv.key, value: normAny(kv.value) }));

export function normalise(msg) {
  // toObject with oneofs:true makes AnyValue carry only the set member; longs as String keeps ns exact.
  const o = ExportTraceServiceRequest.toObject(msg, { longs: String, enums: Number, bytes: Array, defaults: true, arrays: true, oneofs: true });
  return {
    resourceSpans: o.resourceSpans.map((rs) => ({
      resource: { attributes: normAttrs(rs.resource?.attributes), droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0 },
      schemaUrl: rs.schemaUrl,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '', attributes: normAttrs(ss.scope?.attributes), droppedAttributesCount: ss.scope?.droppedAttributesCount ?? 0 },
        schemaUrl: ss.schemaUrl,
        spans: ss.spans.map((s) => ({
          traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), traceState: s.traceState,
          name: s.name, kind: s.kind,
          startTimeUnixNano: s.startTimeUnixNano, endTimeUnixNano: s.endTimeUnixNano,
          attributes: normAttrs(s.attributes), droppedAttributesCount: s.droppedAttributesCount,
          events: s.events.map((e) => ({ timeUnixNano: e.timeUnixNano, name: e.name, attributes: normAttrs(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
          droppedEventsCount: s.droppedEventsCount,
          links: s.links.map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), traceState: l.traceState, attributes: normAttrs(l.attributes), droppedAttributesCount: l.droppedAttributesCount })),
          droppedLinksCount: s.droppedLinksCount,
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        })),
      })),
    })),
  };
}

export const spanCount = (n) => n.resourceSpans.reduce((a, rs) => a + rs.scopeSpans.reduce((b, ss) => b + ss.spans.length, 0), 0);

/** Semantic checks on a normalised request; returns a list of problems. */
export function validate(n) {
  const p = [];
  n.resourceSpans.forEach((rs, i) => rs.scopeSpans.forEach((ss, j) => ss.spans.forEach((s, k) => {
    const w = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}] (${JSON.stringify(s.name)})`;
    if (s.traceId.length !== 32 || /^0+$/.test(s.traceId)) p.push(`${w}: traceId must be 16 non-zero bytes, got "${s.traceId}"`);
    if (s.spanId.length !== 16 || /^0+$/.test(s.spanId)) p.push(`${w}: spanId must be 8 non-zero bytes, got "${s.spanId}"`);
    if (s.parentSpanId !== '' && s.parentSpanId.length !== 16) p.push(`${w}: parentSpanId must be empty or 8 bytes`);
    if (!s.name) p.push(`${w}: empty name`);
    if (!(s.kind >= 0 && s.kind <= 5)) p.push(`${w}: kind ${s.kind} not in 0..5`);
    if (!(s.status.code >= 0 && s.status.code <= 2)) p.push(`${w}: status.code ${s.status.code} not in 0..2`);
    if (BigInt(s.startTimeUnixNano) === 0n) p.push(`${w}: startTimeUnixNano is 0`);
    if (BigInt(s.endTimeUnixNano) < BigInt(s.startTimeUnixNano)) p.push(`${w}: endTimeUnixNano ${s.endTimeUnixNano} < startTimeUnixNano ${s.startTimeUnixNano}`);
    s.links.forEach((l, m) => { if (l.traceId.length !== 32 || l.spanId.length !== 16) p.push(`${w}.links[${m}]: bad traceId/spanId`); });
  })));
  return p;
}
