#!/usr/bin/env node
// make_pprof.mjs [DIR]   (default ./samples)
// Writes pprof samples, encoded with protobufjs from proto/profile.proto (copied
// verbatim from Debian's golang-github-google-pprof-dev, github.com/google/pprof/proto):
//   pprof_good.pb.gz        wall/nanoseconds profile: 3 functions, 4 locations, 4 samples, labels
//   pprof_bad_truncated.pb.gz   gzip of a cut-off protobuf            -> pprof refuses
//   pprof_bad_badref.pb.gz  sample references location id 99 (absent) -> pprof refuses
//   pprof_bad_notgzip.pb.gz random bytes                               -> pprof refuses
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] || path.join(here, 'samples');
fs.mkdirSync(dir, { recursive: true });
const root = protobuf.loadSync(path.join(here, 'proto/profile.proto'));
const Profile = root.lookupType('perftools.profiles.Profile');

// string table: index 0 MUST be ""
const strings = [''];
const S = (s) => { let i = strings.indexOf(s); if (i < 0) { i = strings.length; strings.push(s); } return i; };
const Long = protobuf.util.Long;

function build({ badRef = false } = {}) {
  strings.length = 1;
  const fn = (id, name, file, line) => ({ id, name: S(name), systemName: S(name), filename: S(file), startLine: line });
  const functions = [fn(1, 'main', 'demo.c', 10), fn(2, 'parse_input', 'demo.c', 40), fn(3, 'eval_expr', 'demo.c', 80)];
  const locations = [
    { id: 1, mappingId: 1, address: 0x401000, line: [{ functionId: 1, line: 12 }] },
    { id: 2, mappingId: 1, address: 0x401100, line: [{ functionId: 2, line: 44 }] },
    { id: 3, mappingId: 1, address: 0x401200, line: [{ functionId: 3, line: 85 }] },
    { id: 4, mappingId: 1, address: 0x401210, line: [{ functionId: 3, line: 90 }] },
  ];
  const mapping = [{ id: 1, memoryStart: 0x400000, memoryLimit: 0x500000, fileOffset: 0, filename: S('/usr/bin/agentprof-demo'), buildId: S('abcdef0123'), hasFunctions: true, hasFilenames: true, hasLineNumbers: true }];
  const label = (k, v) => (typeof v === 'number' ? { key: S(k), num: v, numUnit: S('count') } : { key: S(k), str: S(v) });
  // location_id lists are leaf first
  const sample = [
    { locationId: [2, 1], value: [Long.fromString('101000000')], label: [label('thread', 'main'), label('tid', 4242)] },
    { locationId: [3, 1], value: [Long.fromString('250000000')], label: [label('thread', 'main'), label('tid', 4242)] },
    { locationId: [4, 1], value: [Long.fromString('650')], label: [label('thread', 'main'), label('tid', 4242)] },
    { locationId: [badRef ? 99 : 1], value: [Long.fromString('148580000')], label: [label('thread', 'main')] },
  ];
  const msg = {
    sampleType: [{ type: S('wall'), unit: S('nanoseconds') }],
    periodType: { type: S('wall'), unit: S('nanoseconds') },
    period: 1000000,
    timeNanos: Long.fromString('1700000000123456789'),
    durationNanos: Long.fromString('500250000'),
    comment: [S('written by make_pprof.mjs')],
    sample, location: locations, function: functions, mapping,
    stringTable: strings.slice(),
  };
  const err = Profile.verify(msg);
  if (err) throw new Error(`profile does not verify: ${err}`);
  return Buffer.from(Profile.encode(Profile.fromObject(msg)).finish());
}

const good = build();
fs.writeFileSync(path.join(dir, 'pprof_good.pb.gz'), zlib.gzipSync(good));
fs.writeFileSync(path.join(dir, 'pprof_bad_truncated.pb.gz'), zlib.gzipSync(good.subarray(0, Math.floor(good.length / 2))));
fs.writeFileSync(path.join(dir, 'pprof_bad_badref.pb.gz'), zlib.gzipSync(build({ badRef: true })));
fs.writeFileSync(path.join(dir, 'pprof_bad_notgzip.pb.gz'), Buffer.from('\x1f\x8bnot really gzip, not a profile'));
console.log(`wrote pprof samples to ${dir} (pprof_good: ${good.length} bytes raw)`);
