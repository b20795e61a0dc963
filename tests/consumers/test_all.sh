#!/bin/bash
# test_all.sh - proves every consumer script accepts its good samples and rejects the broken ones.
# Prerequisites: npm ci (here), apt-get install -y chromium libxml2-utils curl
#                golang-go golang-github-google-pprof-dev  (then ./build_pprof.sh, done below if needed)
# Prints one line per case and a final "N passed, N failed"; exits 1 if any case failed.
set -u
cd "$(dirname "$0")"
S=samples
pass=0; fail=0
T=$(mktemp -d /tmp/consumers-test.XXXXXX)
expect() { # expect RC DESCRIPTION [ERE-that-stderr-must-match] -- CMD...
  local want=$1 desc=$2 pat=; shift 2
  if [ "$1" != "--" ]; then pat=$1; shift; fi; shift
  local t0=$(date +%s%N)
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "$rc" = "$want" ] && { [ -z "$pat" ] || grep -Eq -- "$pat" "$T/err"; }; then pass=$((pass+1)); echo "ok   [$ms ms] $desc (rc=$rc)";
  else fail=$((fail+1)); echo "FAIL [$ms ms] $desc: rc=$rc, wanted $want${pat:+ and stderr =~ /$pat/}"; sed 's/^/      /' "$T/err" | head -20; fi
}

# regenerate the generated samples (deterministic)
node otlp_make_samples.mjs "$S" >/dev/null
node make_pprof.mjs "$S" >/dev/null

echo "== 1. Chrome trace (trace_engine)"
expect 0 "good trace parses, tree printed"            -- node check_chrome.mjs $S/chrome_good.json --out "$T/tree.json"
expect 0 "good trace matches expected tree (subset)"  -- node check_chrome.mjs $S/chrome_good.json $S/chrome_good.expected.json --quiet
expect 1 "tree differs from wrong expectation"        "tree differs.*dur: expected 10.002" -- node check_chrome.mjs $S/chrome_good.json $S/chrome_good.wrong_expected.json --quiet
expect 1 "partial overlap rejected"                   "partially overlaps" -- node check_chrome.mjs $S/chrome_bad_overlap.json --quiet
expect 1 "child dropped by engine (float ts+dur)"     "engine dropped .X. .child_ends_with_parent" -- node check_chrome.mjs $S/chrome_bad_float_edge.json --quiet
expect 1 "not JSON rejected"                          "is not valid JSON" -- node check_chrome.mjs $S/chrome_bad_notjson.json --quiet

echo "== 2. speedscope"
expect 0 "schema: good file"                          -- node check_speedscope.mjs $S/speedscope_good.json
expect 1 "schema: bad file"                           "schema: /profiles/0/unit must be equal to one of the allowed values" -- node check_speedscope.mjs $S/speedscope_bad_schema.json
expect 1 "semantic: unbalanced O/C, bad frame index"  "close of .a. but .b. is on top" -- node check_speedscope.mjs $S/speedscope_bad_semantic.json
expect 0 "UI loads good JSON (profileURL)"            -- node load_speedscope.mjs $S/speedscope_good.json
expect 0 "UI loads good JSON (file input)"            -- node load_speedscope.mjs $S/speedscope_good.json --via input
expect 0 "UI loads folded stacks (profileURL)"        -- node load_speedscope.mjs $S/folded_good.folded
expect 0 "UI loads folded stacks (file input)"        -- node load_speedscope.mjs $S/folded_good.folded --via input
expect 1 "UI: semantic error -> Something went wrong" "Something went wrong" -- node load_speedscope.mjs $S/speedscope_bad_semantic.json
expect 1 "UI: schema-invalid file"                    "sandwich table has no rows" -- node load_speedscope.mjs $S/speedscope_bad_schema.json
expect 1 "UI: garbage folded file -> alert"           "alert\(\): Unrecognized format" -- node load_speedscope.mjs $S/folded_bad.txt

echo "== 3. OTLP decode"
expect 0 "pb decodes, re-encodes byte-identically"    -- node otlp_decode.mjs $S/otlp_good.pb --format pb --strict-bytes --out "$T/pb.jsonl"
expect 0 "pb output == expected"                      -- cmp "$T/pb.jsonl" $S/otlp_good.pb.expected.jsonl
expect 0 "pb.gz decodes"                              -- node otlp_decode.mjs $S/otlp_good.pb.gz --format pb
expect 0 "jsonl decodes"                              -- node otlp_decode.mjs $S/otlp_good.jsonl --format json --out "$T/json.jsonl"
expect 0 "jsonl output == expected"                   -- cmp "$T/json.jsonl" $S/otlp_good.jsonl.expected.jsonl
expect 1 "truncated pb rejected"                      "not a valid ExportTraceServiceRequest" -- node otlp_decode.mjs $S/otlp_bad_truncated.pb --format pb
expect 1 "base64 ids in OTLP/JSON rejected"           "expected 32 hex digits" -- node otlp_decode.mjs $S/otlp_bad_base64ids.jsonl --format json
expect 1 "int64 ns as JSON number rejected"           "not exactly representable" -- node otlp_decode.mjs $S/otlp_bad_number_ns.jsonl --format json
expect 1 "end < start rejected"                       "endTimeUnixNano .* < startTimeUnixNano" -- node otlp_decode.mjs $S/otlp_bad_end_before_start.jsonl --format json
expect 1 "snake_case key rejected"                    "unknown field .trace_id." -- node otlp_decode.mjs $S/otlp_bad_snake_case.jsonl --format json
expect 0 "unknown field (Span.flags) decodes..."      -- node otlp_decode.mjs $S/otlp_flags_unknown.pb --format pb
expect 1 "...but --strict-bytes catches the drop"     "re-encoded protobuf differs" -- node otlp_decode.mjs $S/otlp_flags_unknown.pb --format pb --strict-bytes

echo "== 4. OTLP receiver"
start_rx() { # start_rx NAME ARGS... ; sets PORT and RXPID
  node otlp_receiver.mjs --port 0 --out "$T/$1.jsonl" "${@:2}" >"$T/$1.stdout" 2>&1 &
  RXPID=$!
  for _ in $(seq 100); do grep -q '^listening ' "$T/$1.stdout" && break; sleep 0.05; done
  PORT=$(awk '/^listening /{print $2}' "$T/$1.stdout")
  URL=http://127.0.0.1:$PORT/v1/traces
}
stop_rx() { kill "$RXPID"; wait "$RXPID" 2>/dev/null; }
curl_post() { curl -sS -o /dev/null -w '%{http_code}' -X POST "$@"; }
is() { [ "$1" = "$2" ] || { echo "got $1 want $2" >&2; return 1; }; }

start_rx ok
expect 0 "curl pb + auth header -> 200"       -- is "$(curl_post -H 'Content-Type: application/x-protobuf' -H 'Authorization: Bearer t0ken' --data-binary @$S/otlp_good.pb "$URL")" 200
expect 0 "curl pb gzip -> 200"                -- is "$(curl_post -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' --data-binary @$S/otlp_good.pb.gz "$URL")" 200
head -1 $S/otlp_good.jsonl > "$T/one.json"
expect 0 "curl json -> 200"                   -- is "$(curl_post -H 'Content-Type: application/json' --data-binary @"$T/one.json" "$URL")" 200
expect 0 "node-built protobuf -> 200"         -- node otlp_send.mjs "$URL" --build --header 'Authorization: Bearer from-node'
expect 0 "truncated pb -> 400"                -- is "$(curl_post -H 'Content-Type: application/x-protobuf' --data-binary @$S/otlp_bad_truncated.pb "$URL")" 400
expect 0 "base64-id json -> 400"              -- is "$(curl_post -H 'Content-Type: application/json' --data-binary @$S/otlp_bad_base64ids.jsonl "$URL")" 400
expect 0 "text/plain -> 415"                  -- is "$(curl_post -H 'Content-Type: text/plain' --data x "$URL")" 415
stop_rx
expect 0 "log: 7 lines, auth header kept, spans decoded" -- node -e '
  const L = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const a = (c, m) => { if (!c) { console.error(m); process.exit(1); } };
  a(L.length === 7, "lines " + L.length);
  a(L[0].headers.authorization === "Bearer t0ken", "auth");
  a(L[0].spans === 2 && L[0].request.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano === "1700000000123456789", "ns");
  a(L[1].contentEncoding === "gzip" && L[1].ok, "gzip");
  a(L[3].headers.authorization === "Bearer from-node" && L[3].spans === 1, "node");
  a(!L[4].ok && L[4].response.status === 400, "bad");' "$T/ok.jsonl"

start_rx f503 --fail-first 2 --status 503 --retry-after 1
expect 0 "fail-first 1/2 -> 503"              -- node otlp_send.mjs "$URL" --build --expect-status 503
expect 0 "fail-first 2/2 -> 503 + Retry-After" -- sh -c "node otlp_send.mjs '$URL' --build --expect-status 503 | grep -q '\"retryAfter\":\"1\"'"
expect 0 "3rd request -> 200"                 -- node otlp_send.mjs "$URL" --build
stop_rx
start_rx f429 --fail-first 1 --status 429 --retry-after 5
expect 0 "429 for json"                       -- node otlp_send.mjs "$URL" --file "$T/one.json" --format json --expect-status 429
stop_rx
start_rx f400 --fail-first 1 --status 400
expect 0 "400 injected"                       -- node otlp_send.mjs "$URL" --build --expect-status 400
stop_rx
start_rx rej --reject 3
expect 0 "partial_success rejected_spans=3 (pb)" -- sh -c "node otlp_send.mjs '$URL' --build | grep -q '\"rejectedSpans\":\"3\"'"
expect 0 "partial_success rejected_spans=3 (json)" -- sh -c "node otlp_send.mjs '$URL' --file '$T/one.json' --format json | grep -q '\"rejectedSpans\":\"3\"'"
stop_rx
start_rx hang --hang
expect 3 "--hang: client times out"           "no response within" -- node otlp_send.mjs "$URL" --build --timeout 1000
expect 0 "--hang: request still logged"       -- grep -q '"hang":true' "$T/hang.jsonl"
stop_rx

echo "== 5. pprof"
[ -x bin/pprof ] || ./build_pprof.sh >/dev/null
expect 0 "pprof -top reads good profile"      -- node check_pprof.mjs $S/pprof_good.pb.gz --expect-type wall --expect-function main --expect-function parse_input --expect-function eval_expr
expect 1 "missing function detected"          "function .nosuch. not in pprof" -- node check_pprof.mjs $S/pprof_good.pb.gz --expect-function nosuch
expect 1 "truncated profile rejected"         "unrecognized profile format" -- node check_pprof.mjs $S/pprof_bad_truncated.pb.gz
expect 1 "dangling location id rejected"      "sample has nil location" -- node check_pprof.mjs $S/pprof_bad_badref.pb.gz
expect 1 "garbage rejected"                   "unrecognized profile format" -- node check_pprof.mjs $S/pprof_bad_notgzip.pb.gz

echo "== 6. SVG (xmllint)"
expect 0 "standalone svg ok"                  -- node check_svg.mjs $S/svg_good.svg
expect 0 "inline svgs in html ok"             -- node check_svg.mjs $S/svg_inline_good.html
expect 1 "malformed svg"                      "Opening and ending tag mismatch" -- node check_svg.mjs $S/svg_bad.svg
expect 1 "standalone svg without xmlns"       "need <svg xmlns" -- node check_svg.mjs $S/svg_bad_no_xmlns.svg
expect 1 "inline: mismatched tag + undeclared xlink" "Namespace prefix xlink" -- node check_svg.mjs $S/svg_inline_bad.html

rm -rf "$T"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
