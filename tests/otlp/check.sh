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
# The comparison can fail: one span (the second of the last line) 1 ns late is caught.
node -e '
const fs = require("fs");
const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const s = lines[lines.length - 1].resourceSpans[0].scopeSpans[0].spans[1];
s.startTimeUnixNano = String(BigInt(s.startTimeUnixNano) + 1n);
fs.writeFileSync(process.argv[2], lines.map((l) => JSON.stringify(l)).join("\n") + "\n");' "$d/dec.jsonl" "$d/dec-bad.jsonl"
if ! cmp -s "$d/dec.jsonl" "$d/dec-bad.jsonl" &&
   ! node "$here/compare.mjs" "$d/report.json" "$d/dec-bad.jsonl" --exact >/dev/null 2>"$d/bad.err" &&
   grep -qE "^FAIL: span .*(start from root|duration)" "$d/bad.err"; then
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

# The same file as every report writes it (the format table's "otlp":
# traces.otlp.jsonl beside report.json).
if decode "$d/traces.otlp.jsonl" --format json --out "$d/dec-own.jsonl" &&
   out=$(compare "$d/report.json" "$d/dec-own.jsonl" --exact --service svc-file); then
	ok "the demo's own traces.otlp.jsonl: schema-valid, equal to report.json's trees ($out)"
else
	bad "the demo's own traces.otlp.jsonl against the schema and report.json"
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
# ap_depends as links: the workflow declares 5 per trace (classify and
# search_kb on context_assembly, synthesize on both, format on synthesize).
if node -e '
const byId = new Map(), links = [];
for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse))
  for (const rs of l.request.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
    byId.set(s.spanId, s);
    for (const k of s.links) links.push([s, k]);
  }
const want = { "chat gpt-4o-mini": ["context_assembly"], "execute_tool search_kb": ["context_assembly"],
  "chat gpt-4o": ["chat gpt-4o-mini", "execute_tool search_kb"], "execute_tool format": ["chat gpt-4o"] };
let bad = links.length !== 8 * 5;
for (const [s, k] of links) {
  const t = byId.get(k.spanId);
  if (!t || t.traceId !== s.traceId || k.traceId !== s.traceId || !(want[s.name] || []).includes(t.name)) bad = true;
}
process.exit(bad ? 1 : 0);' "$tmp/pb.jsonl"; then
	ok "ap_depends arrive as links: 40, each to the declared span of the same trace"
else
	bad "ap_depends as links"
fi
grep -q '^OTLP to http://127.0.0.1:'"$port"'/v1/traces: 64 spans queued, 64 sent' "$d/report.txt" &&
	ok "report.txt says it in one line" || bad "report.txt's OTLP line"

# 2a. Failed spans (ap_set_error) arrive with Status ERROR and their error's
#     name as the message (unnamed: "error"); a span that did not fail has
#     no status code.
d=$tmp/failing
mkdir -p "$d"
if ${CC:-cc} -std=c11 ${SAN_FLAGS:-} -I"$here/../../writer-lib/include" "$here/failing.c" "$B/libagentprof.a" \
	-lpthread -o "$d/failing" 2>"$d/cc.err"; then
	recv fail
	"$A" record -q -o "$d" --otlp "http://127.0.0.1:$port" -- "$d/failing" >/dev/null 2>"$d/stderr" ||
		bad "record --otlp of a failing worker exited $?"
	stop_recv
	if node -e '
const st = {};
for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse))
  for (const rs of l.request.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans)
    st[s.name] = s.status || {};
const ok = Object.keys(st).length === 3 &&
  st["execute_tool flaky"].code === 2 && st["execute_tool flaky"].message === "TimeoutError" &&
  st["workflow"].code === 2 && st["workflow"].message === "error" &&
  !st["execute_tool fine"].code;
if (!ok) { console.error(JSON.stringify(st)); process.exit(1); }' "$tmp/fail.jsonl"; then
		ok "failed spans arrive with Status ERROR and the error's name; the one that did not fail has none"
	else
		bad "error status over OTLP"
	fi
	# The same run's report.html names the error in the failed span's hover
	# and fades its box, as it does a truncated span's.
	if grep -q "^error: TimeoutError" "$d/report.html" &&
	   [ "$(grep -o 'class="c2 tr"' "$d/report.html" | wc -l)" -ge 1 ]; then
		ok "report.html: the failed span's hover names its error"
	else
		bad "report.html does not show the failed span's error"
	fi
else
	bad "could not build tests/otlp/failing.c: $(head -3 "$d/cc.err")"
fi

# 2b. A worker killed with its span open: the span is sent at the end of the
#     run, truncated where its process was last seen, marked, as report.json has it.
d=$tmp/killed
mkdir -p "$d"
recv killed
"$A" record -q -o "$d" --otlp "http://127.0.0.1:$port" -- \
	sh -c '"$0" wait >/dev/null & p=$!; sleep 0.5; kill -9 $p; wait $p; exit 0' "$B/tp_child" >/dev/null 2>&1
stop_recv
if out=$(compare "$d/report.json" "$tmp/killed.jsonl" --exact) && conserved "$d/report.json" &&
   grep -q '"key":"agentprof.truncated","value":{"boolValue":true}' "$tmp/killed.jsonl"; then
	ok "a killed worker's open span is sent truncated and marked, as in report.json ($out)"
else
	bad "a killed worker's open span"
fi

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

# 4. 503 three times (Retry-After: 0), then 200: nothing lost, 3 retries.
#    One batch (it goes at the end), so the retries are exactly 3.
d=$tmp/retry503
mkdir -p "$d"
recv r503 --fail-first 3 --status 503 --retry-after 0
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 100000,600000 >/dev/null 2>"$d/stderr"
stop_recv
if out=$(compare "$d/report.json" "$tmp/r503.jsonl" --exact) && conserved "$d/report.json" &&
   [ "$(otlp_field "$d/report.json" retries)" = 3 ] && [ "$(otlp_field "$d/report.json" spans_sent)" = 64 ] &&
   [ "$(grep -c '"status":503' "$tmp/r503.jsonl")" = 3 ]; then
	ok "503 x3 (Retry-After 0) then 200: 3 retries counted, every span once ($out)"
else
	bad "503 x3 then 200: retries $(otlp_field "$d/report.json" retries), sent $(otlp_field "$d/report.json" spans_sent)"
fi

# 5. 429 twice without Retry-After: the exponential backoff with jitter
#    (0.25-0.75 s, then 0.5-1.5 s), then delivered.
d=$tmp/retry429
mkdir -p "$d"
recv r429 --fail-first 2 --status 429
t0=$(date +%s%N)
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 100000,600000 >/dev/null 2>"$d/stderr"
stop_recv
gap=$(node -e '
const l = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
console.log(l.length === 3 ? ((Date.parse(l[2].time) - Date.parse(l[0].time))) : -1)' "$tmp/r429.jsonl")
if compare "$d/report.json" "$tmp/r429.jsonl" --exact >/dev/null && [ "$(otlp_field "$d/report.json" retries)" = 2 ] &&
   [ "$gap" -ge 700 ] && [ "$gap" -le 2400 ]; then
	ok "429 x2 without Retry-After: backoff waited ${gap} ms over 2 retries, then every span once"
else
	bad "429 backoff: retries $(otlp_field "$d/report.json" retries), gap ${gap} ms"
fi

# 6. 400: the batch is failed, not retried, said once on stderr.
d=$tmp/r400
mkdir -p "$d"
recv r400 --fail-first 1 --status 400
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 100000,600000 >/dev/null 2>"$d/stderr"
stop_recv
if conserved "$d/report.json" && [ "$(otlp_field "$d/report.json" spans_failed)" = 64 ] &&
   [ "$(otlp_field "$d/report.json" retries)" = 0 ] && [ "$(wc -l <"$tmp/r400.jsonl")" = 1 ] &&
   [ "$(grep -c 'refused a batch' "$d/stderr")" = 1 ] && grep -q 'HTTP 400' "$d/report.json"; then
	ok "400: 64 spans failed, 1 request, no retry, said once, last_error in report.json"
else
	bad "400: failed $(otlp_field "$d/report.json" spans_failed), retries $(otlp_field "$d/report.json" retries)"
fi

# 6b. A partial success: the receiver rejects 5 spans of the batch; they are
#     counted as rejected, the rest as sent, nothing is retried.
d=$tmp/reject
mkdir -p "$d"
recv reject --reject 5
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 100000,600000 >/dev/null 2>"$d/stderr"
stop_recv
if conserved "$d/report.json" && [ "$(otlp_field "$d/report.json" spans_rejected)" = 5 ] &&
   [ "$(otlp_field "$d/report.json" spans_sent)" = 59 ] && [ "$(otlp_field "$d/report.json" retries)" = 0 ] &&
   [ "$(wc -l <"$tmp/reject.jsonl")" = 1 ]; then
	ok "partial success (5 rejected): 5 rejected + 59 sent, not retried"
else
	bad "partial success: rejected $(otlp_field "$d/report.json" spans_rejected), sent $(otlp_field "$d/report.json" spans_sent)"
fi

# 6c. Settings: grpc and a URL that is not http(s) are usage errors (exit 2,
#     before anything runs); OTEL_SDK_DISABLED=true turns sending off, said.
d=$tmp/settings
mkdir -p "$d"
OTEL_EXPORTER_OTLP_PROTOCOL=grpc "$A" demo -q -o "$d/a" --workers 1 --traces 1 --otlp http://127.0.0.1:9 \
	>/dev/null 2>"$d/grpc.err"
rc_grpc=$?
"$A" demo -q -o "$d/b" --workers 1 --traces 1 --otlp ftp://127.0.0.1:9 >/dev/null 2>"$d/ftp.err"
rc_ftp=$?
OTEL_SDK_DISABLED=true "$A" demo -q -o "$d/c" --workers 1 --traces 1 --otlp http://127.0.0.1:9 >/dev/null 2>"$d/off.err"
rc_off=$?
if [ "$rc_grpc" = 2 ] && grep -q "not grpc" "$d/grpc.err" && [ ! -e "$d/a/report.json" ] &&
   [ "$rc_ftp" = 2 ] && grep -q "http:// or https://" "$d/ftp.err" &&
   [ "$rc_off" = 0 ] && grep -q "OTEL_SDK_DISABLED=true" "$d/off.err" && ! grep -q '"otlp"' "$d/c/report.json"; then
	ok "grpc and ftp:// refused with exit 2 before running; OTEL_SDK_DISABLED=true: off, said, no otlp section"
else
	bad "settings: grpc rc $rc_grpc, ftp rc $rc_ftp, disabled rc $rc_off"
fi

# 7. Receiver down for longer than the queue lasts: a queue of 25 KiB holds
#    one or two batches of one trace (as copied, before encoding); the rest are dropped whole, and at the end
#    what is left is dropped after --otlp-drain-s. Every span is counted once.
d=$tmp/down
mkdir -p "$d"
recv down
stop_recv	# nothing listens on $port now: connection refused
"$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 8,600000 --otlp-queue-mib 0.025 \
	--otlp-drain-s 1 >/dev/null 2>"$d/stderr"
if conserved "$d/report.json" && [ "$(otlp_field "$d/report.json" spans_queued)" = 64 ] &&
   [ "$(otlp_field "$d/report.json" spans_sent)" = 0 ] && [ "$(otlp_field "$d/report.json" spans_dropped_queue_full)" -gt 0 ] &&
   [ "$(otlp_field "$d/report.json" spans_dropped_shutdown)" -gt 0 ] &&
   [ "$(otlp_field "$d/report.json" queue_peak_bytes)" -le 26214 ] && [ "$(otlp_field "$d/report.json" retries)" -gt 0 ]; then
	ok "receiver down: 64 queued = $(otlp_field "$d/report.json" spans_dropped_queue_full) dropped (queue full) + $(otlp_field "$d/report.json" spans_dropped_shutdown) dropped at exit, peak $(otlp_field "$d/report.json" queue_peak_bytes) B of 26214"
else
	bad "receiver down: $(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).otlp))' "$d/report.json")"
fi

# 8. A receiver that never answers: the timeout (OTEL_EXPORTER_OTLP_TIMEOUT)
#    fires, the drain goes on (every span in report.json, no event lost), and
#    the run ends within --otlp-drain-s of the workload.
d=$tmp/hang
mkdir -p "$d"
recv hang --hang
t0=$(date +%s%N)
OTEL_EXPORTER_OTLP_TIMEOUT=300 "$A" demo -q -o "$d" --otlp "http://127.0.0.1:$port" --otlp-batch 8,100 \
	--otlp-drain-s 1 >/dev/null 2>"$d/stderr"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
stop_recv
spans=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(r.counts.spans_complete+"/"+r.counts.dropped_full)' "$d/report.json")
if conserved "$d/report.json" && [ "$(otlp_field "$d/report.json" timeouts)" -gt 0 ] && [ "$spans" = "64/0" ] &&
   [ "$(otlp_field "$d/report.json" spans_sent)" = 0 ] && [ "$ms" -lt 6000 ]; then
	ok "hanging receiver: $(otlp_field "$d/report.json" timeouts) timeouts, drain complete (64 spans, 0 dropped), run ${ms} ms"
else
	bad "hanging receiver: timeouts $(otlp_field "$d/report.json" timeouts), spans/dropped $spans, ${ms} ms"
fi

# 9. Two hosts: two serve instances with their own service names; a worker
#    of the first starts a worker of the second under TRACEPARENT. The
#    receiver holds one trace across both services, parent linked.
d=$tmp/hosts
mkdir -p "$d/a" "$d/b"
recv hosts
sa=/ap-otlp-a-$$
sb=/ap-otlp-b-$$
OTEL_SERVICE_NAME=svc-a "$A" serve -q --segment "$sa" -o "$d/a" --otlp "http://127.0.0.1:$port" --otlp-batch 512,100 \
	>/dev/null 2>"$d/a.err" &
pa=$!
pids+=("$pa")
OTEL_SERVICE_NAME=svc-b "$A" serve -q --segment "$sb" -o "$d/b" --otlp "http://127.0.0.1:$port" --otlp-batch 512,100 \
	>/dev/null 2>"$d/b.err" &
pb=$!
pids+=("$pb")
for _ in $(seq 100); do [ -e "/dev/shm$sa" ] && [ -e "/dev/shm$sb" ] && break; sleep 0.05; done
tp=$(AGENTPROF_SHM=$sa "$B/otlp-hop" "$sb") || bad "hop worker"
sleep 0.5
kill -TERM "$pa" "$pb"
wait "$pa"
wait "$pb"
stop_recv
if node -e '
const [log, tp] = process.argv.slice(1);
const spans = [];
for (const l of require("fs").readFileSync(log, "utf8").trim().split("\n").map(JSON.parse))
  for (const rs of l.request.resourceSpans) {
    const svc = rs.resource.attributes.find((a) => a.key === "service.name").value.stringValue;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ svc, ...s });
  }
const plan = spans.find((s) => s.svc === "svc-a" && s.name === "agent:plan");
const call = spans.find((s) => s.svc === "svc-b" && s.name === "execute_tool remote_call");
const [, tid, sid] = tp.split("-");
const ok = spans.length === 2 && plan && call && plan.traceId === tid && call.traceId === tid &&
  plan.spanId === sid && call.parentSpanId === sid && plan.parentSpanId === "";
if (!ok) { console.error(JSON.stringify(spans)); process.exit(1); }' "$tmp/hosts.jsonl" "$tp" &&
   compare "$d/a/report.json" "$tmp/hosts.jsonl" --service svc-a >/dev/null &&
   compare "$d/b/report.json" "$tmp/hosts.jsonl" --service svc-b >/dev/null; then
	ok "two serve instances (svc-a, svc-b): one trace across both services, the remote child parented on the first's span"
else
	bad "two serve instances, one trace"
fi

# Under SANITIZE=..., a report from a sanitizer in any agentprof run fails.
if san=$(grep -rlE "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$tmp" 2>/dev/null) &&
   [ -n "$san" ]; then
	bad "sanitizer reports in: $san"
	grep -rhE -A5 "Sanitizer|runtime error:" $san | head -40
fi

echo "check-otlp: $pass passed, $fail failed"
[ "$fail" = 0 ]
