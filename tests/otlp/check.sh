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

# A receiver on an ephemeral loopback port: recv NAME [receiver options];
# sets port and rpid.
recv() {
	local name=$1
	shift
	: >"$tmp/$name.port"
	node "$C/otlp_receiver.mjs" --port 0 --out "$tmp/$name.jsonl" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
	rpid=$!
	pids+=("$rpid")
	for _ in $(seq 100); do
		port=$(awk '/^listening/ {print $2}' "$tmp/$name.port")
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "receiver $name did not start" >&2
	return 1
}
stop_recv() { kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; }
# jq-free reads of report.json: field NAME of the otlp section.
otlp_field() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));const v=r.otlp[process.argv[2]];console.log(v===null?"null":v)' "$1" "$2"; }
# The conservation rule at exit.
conserved() {
	node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1])).otlp;
const rhs = o.spans_sent + o.spans_dropped_queue_full + o.spans_dropped_shutdown + o.spans_rejected + o.spans_failed + o.spans_in_queue;
if (o.spans_queued !== rhs || o.spans_in_queue !== 0) { console.error(`FAIL: queued ${o.spans_queued} != ${rhs}`); process.exit(1); }' "$1"
}

# 2. The sender, protobuf: every span of a demo arrives exactly once, as in
#    report.json, with the GenAI attributes.
d=$tmp/send-pb
mkdir -p "$d"
recv pb
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" >/dev/null 2>"$d/stderr" || bad "demo --otlp exited $?"
stop_recv
if out=$(compare "$d/report.json" "$tmp/pb.jsonl" --exact) && conserved "$d/report.json" &&
   [ "$(otlp_field "$d/report.json" spans_sent)" = 64 ] && [ "$(otlp_field "$d/report.json" retries)" = 0 ]; then
	ok "demo --otlp (protobuf): every span arrived once, equal to report.json ($out), conserved"
else
	bad "demo --otlp (protobuf)"
fi
grep -q '^OTLP to http://127.0.0.1:'"$port"'/v1/traces: 64 spans queued, 64 sent' "$d/report.txt" &&
	ok "report.txt says it in one line" || bad "report.txt's OTLP line"

# 3. http/json, gzip, headers from the environment, a base URL from
#    OTEL_EXPORTER_OTLP_ENDPOINT: the headers arrive and are in no file
#    agentprof writes nor on its output.
d=$tmp/send-json
mkdir -p "$d"
recv json
secret="sekret-$$-$RANDOM"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port/" OTEL_EXPORTER_OTLP_PROTOCOL=http/json \
OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20$secret,x-tenant=t1" \
OTEL_SERVICE_NAME=svc-json \
	"$A" demo -o "$d" --log "$d/run.log" >"$d/stdout" 2>"$d/stderr" || bad "demo with OTEL_* variables exited $?"
stop_recv
if out=$(compare "$d/report.json" "$tmp/json.jsonl" --exact --service svc-json) && conserved "$d/report.json"; then
	ok "http/json + gzip from OTEL_* variables: every span once ($out)"
else
	bad "http/json + gzip"
fi
if node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const bad = lines.filter((l) => l.headers.authorization !== "Bearer " + process.argv[2] || l.headers["x-tenant"] !== "t1" ||
	!/^application\/json/.test(l.contentType) || l.contentEncoding !== "gzip");
process.exit(lines.length && !bad.length ? 0 : 1);' "$tmp/json.jsonl" "$secret"; then
	ok "headers arrive on every request (authorization, x-tenant), JSON gzipped"
else
	bad "headers, content type or encoding as received"
fi
if grep -rqa -- "$secret" "$d" || grep -rqa "x-tenant" "$d"; then
	bad "a header value is in a file agentprof wrote or on its output: $(grep -rla -- "$secret" "$d")"
else
	ok "no header in report.json, report.txt, the event log, stdout or stderr"
fi

echo "check-otlp: $pass passed, $fail failed"
[ "$fail" = 0 ]
