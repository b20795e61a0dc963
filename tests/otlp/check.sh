#!/bin/bash
# check.sh BUILD - agentprof's OTLP output, judged by its consumers: the
# official opentelemetry-proto schema (tests/consumers/otlp_decode.mjs) and
# a real OTLP/HTTP receiver (tests/consumers/otlp_receiver.mjs) on an
# ephemeral loopback port. Every case compares what arrived with the
# report.json of the same run (compare.mjs). Skipped, and said so, without
# node or the consumers (make consumers).
set -u
B=${1:-build}
A=$B/agentprof
here=$(cd "$(dirname "$0")" && pwd)
C=$here/../consumers
if ! command -v node >/dev/null 2>&1 || [ ! -d "$C/node_modules/@opentelemetry/otlp-transformer" ]; then
	echo "check-otlp: SKIPPED: node or tests/consumers/node_modules missing (make consumers)"
	exit 0
fi
tmp=$(mktemp -d /tmp/agentprof-otlp.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "  ok    $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL  $1"; fail=$((fail + 1)); }
decode() { node "$C/otlp_decode.mjs" "$@" 2>"$tmp/decode.err" >/dev/null || { cat "$tmp/decode.err"; return 1; }; }
compare() { node "$here/compare.mjs" "$@" 2>"$tmp/compare.err" || { head -5 "$tmp/compare.err"; return 1; }; }

# 1. The kept traces as a file (JSON Lines of TracesData) and as one protobuf
#    request: the schema reads them back, and they are report.json's trees.
d=$tmp/file
mkdir -p "$d"
OTEL_SERVICE_NAME=svc-file OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test%2Cone,team=agents' \
	"$A" demo -q -o "$d" --log "$d/run.log" >/dev/null 2>&1 || bad "demo for the file export"
OTEL_SERVICE_NAME=svc-file OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test%2Cone,team=agents' \
	"$B/otlp-jsonl" "$d/run.log" "$d/kept.jsonl"
if decode "$d/kept.jsonl" --format json --out "$d/dec.jsonl" &&
   out=$(compare "$d/report.json" "$d/dec.jsonl" --exact --service svc-file); then
	ok "file export: $(wc -l <"$d/kept.jsonl") TracesData lines, schema-valid, equal to report.json's trees ($out)"
else
	bad "file export against the schema and report.json"
fi
if grep -q '"key":"deployment.environment","value":{"stringValue":"test,one"}' "$d/dec.jsonl" &&
   grep -q '"key":"team","value":{"stringValue":"agents"}' "$d/dec.jsonl"; then
	ok "OTEL_RESOURCE_ATTRIBUTES on the resource, percent-decoded"
else
	bad "OTEL_RESOURCE_ATTRIBUTES missing from the resource"
fi
# The comparison can fail: one span 1 ns late is caught.
sed '1s/"startTimeUnixNano":"\([0-9]*\)1"/"startTimeUnixNano":"\12"/; 1s/"startTimeUnixNano":"\([0-9]*\)\([02-9]\)"/"startTimeUnixNano":"\11"/' \
	"$d/dec.jsonl" >"$d/dec-bad.jsonl"
if ! cmp -s "$d/dec.jsonl" "$d/dec-bad.jsonl" && ! node "$here/compare.mjs" "$d/report.json" "$d/dec-bad.jsonl" --exact >/dev/null 2>&1; then
	ok "a span moved by 1 ns is caught by the comparison"
else
	bad "the comparison missed a span moved by 1 ns"
fi
"$B/otlp-jsonl" "$d/run.log" "$d/kept.pb" pb
if decode "$d/kept.pb" --format pb --strict-bytes --out "$d/decpb.jsonl" &&
   out=$(compare "$d/report.json" "$d/decpb.jsonl" --exact); then
	ok "protobuf request: canonical bytes (re-encoded identically), times and self times as the analysis ($out)"
else
	bad "protobuf request against the schema and report.json"
fi

echo "check-otlp: $pass passed, $fail failed"
[ "$fail" = 0 ]
