#!/usr/bin/env bash
# tests/export/check.sh BUILD - every export a report writes, checked by the
# program that reads it (tests/consumers/README.md says what each is):
#   trace.json               the DevTools trace engine parses it with no
#                            warning, nothing dropped, slices nest per thread,
#                            and the trees it rebuilds are report.json's
#   profile.speedscope.json  speedscope's schema, and speedscope's UI loads it
#                            in headless Chromium
#   stacks.folded            speedscope loads it; every line "stack N", N an
#                            integer; the counts sum to the report's self time
#   profile.pb.gz            Google's pprof reads it; totals are report.json's
#   report.html              headless Chromium loads it with no console error
#                            and no request; its script runs under its CSP
#                            (data-ready); #flame and #timeline have one rect
#                            per span of the slowest trace; every inline SVG is
#                            well-formed XML (xmllint); the Memory panel's
#                            charts print report.json's memory rows (peak,
#                            start, end; the hover columns reach the peak),
#                            a steady growth is flagged on its chart, and
#                            with memory not sampled there is no chart and
#                            one line saying so
# on the demo's reports, on a worker whose span names need escaping in every
# format (names.c), on a workload that leaks and one that spikes (grow.c),
# on `agentprof report LOG` and on interval dumps. The screenshots of the
# demo's report.html (its first screen, and its Memory panel) are written
# to BUILD/export/.
#
# Without the consumers (`make consumers` installs them) every check is
# reported as skipped, with the count, and the script exits 0.
set -u
build=$(cd "${1:?usage: check.sh BUILD}" && pwd)
ap=$build/agentprof
here=$(cd "$(dirname "$0")" && pwd)
cons=$here/../consumers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$build/export"
pass=0 fail=0
bad() { echo "export: FAIL: $*" >&2; fail=$((fail + 1)); }

# Without the consumers: which files --formats writes, export's refusals.
"$ap" demo -q --log "$tmp/demo.log" -o "$tmp/demo" || { echo "export: FAIL: agentprof demo" >&2; exit 1; }
got=$(cd "$tmp/demo" && ls | tr '\n' ' ')
[ "$got" = "profile.pb.gz profile.speedscope.json report.html report.json report.txt stacks.folded trace.json traces.otlp.jsonl " ] ||
	bad "demo wrote: $got"
"$ap" report -q --formats html,json -o "$tmp/two" "$tmp/demo.log" || bad "report --formats html,json: exit $?"
got=$(cd "$tmp/two" && ls | tr '\n' ' ')
[ "$got" = "report.html report.json " ] || bad "report --formats html,json wrote: $got"
"$ap" demo -q --formats folded,nope -o "$tmp/x" 2>"$tmp/err"
[ $? = 2 ] && grep -q -- "--formats takes" "$tmp/err" || bad "--formats folded,nope was not refused with exit 2"
"$ap" export --format html -o "$tmp/x.html" "$tmp/demo/report.json" 2>"$tmp/err"
[ $? = 2 ] && grep -q "a report.json" "$tmp/err" || bad "export of a report.json: not refused clearly"
"$ap" export --format chrome -o "$tmp/x.json" "$tmp/nonexistent.log" 2>/dev/null
[ $? = 2 ] || bad "export of a missing file: exit is not 2"
"$ap" export --format folded -o - "$tmp/demo.log" >"$tmp/stdout.folded" || bad "export -o -: exit $?"
cmp -s "$tmp/stdout.folded" "$tmp/demo/stacks.folded" || bad "export --format folded differs from the report's stacks.folded"
# With memory sampled (the default), each process of the kept traces has an
# RSS counter track in trace.json whose last value is its sample in
# report.json's memory rows (the same series, read two ways).
python3 - "$tmp/demo/trace.json" "$tmp/demo/report.json" <<'PY' || bad "trace.json: RSS counter tracks do not match report.json's memory"
import json, sys
t = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
pids = {e["pid"] for e in t["traceEvents"] if e["ph"] == "X"}
rows = {p["pid"]: p for p in r["memory"]["processes"]}
for pid in pids:
    c = [e for e in t["traceEvents"] if e["ph"] == "C" and e["pid"] == pid and e["name"] == "RSS"]
    assert len(c) >= 2, (pid, len(c))
    assert all(a["ts"] <= b["ts"] for a, b in zip(c, c[1:])), pid
    # rss_mib has 3 decimals: within half of their last unit (0.512 KiB).
    assert abs(c[-1]["args"]["rss_mib"] * 1024 - rows[pid]["end_kib"]) <= 0.5125, (pid, c[-1], rows[pid])
PY
NBASIC=8
[ $fail = 0 ] && pass=$NBASIC

NCHECKS=32
missing=""
[ -d "$cons/node_modules/@paulirish/trace_engine" ] && [ -d "$cons/node_modules/playwright-core" ] || missing="$missing npm-packages"
command -v chromium >/dev/null || missing="$missing chromium"
command -v xmllint >/dev/null || missing="$missing xmllint"
[ -x "$cons/bin/pprof" ] || missing="$missing pprof"
command -v node >/dev/null || missing="$missing node"
if [ -n "$missing" ]; then
	[ $fail = 0 ] || exit 1
	echo "export: ok ($NBASIC checks); SKIPPED $NCHECKS checks by the consumers: missing:$missing (make consumers installs them)"
	exit 0
fi
check() { # check DESCRIPTION -- CMD...
	local desc=$1
	shift 2
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "export: FAIL: $desc" >&2
		sed 's/^/    /' "$tmp/err" "$tmp/out" | head -20 >&2
	fi
}
node_() { (cd "$cons" && node "$@"); }
# Nodes of report.json's first (slowest) trace.
first_trace_spans() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
	const c=(n)=>1+n.children.reduce((s,k)=>s+c(k),0); console.log(r.traces.length?c(r.traces[0]):0)' "$1"; }
folded_ok() { # every line "stack N", the counts summing to total_self_ms (1 us per line)
	awk '!/ [0-9]+$/ { bad = 1; print "not \"stack N\": " $0 > "/dev/stderr" } { sum += $NF; n++ }
		END { if (bad) exit 1; print sum, n }' "$1" >"$tmp/fold" || return 1
	node -e 'const [sum,n]=require("fs").readFileSync(process.argv[1],"utf8").trim().split(" ").map(Number);
		const r=JSON.parse(require("fs").readFileSync(process.argv[2])); const want=r.structure.total_self_ms*1000;
		if (Math.abs(sum-want) > n + 1) { console.error(`folded sums to ${sum} us, report ${want} us`); process.exit(1); }' \
		"$tmp/fold" "$2"
}
csp_hashes() { # the CSP's hashes are those of the page's one <style> and one <script>
	local h
	for tag in style script; do
		h=$(sed -n "s|.*<$tag>\(.*\)</$tag>.*|\1|p" "$1" | head -1 | tr -d '\n' | openssl dgst -sha256 -binary | base64)
		grep -qF "'sha256-$h'" "$1" || { echo "<$tag> hashes to $h, not in the CSP" >&2; return 1; }
	done
}
not_raw() { # the raw name must not appear in the HTML: only its escaped form
	! grep -qF "$2" "$1" || { echo "raw name '$2' in $1" >&2; return 1; }
	grep -qF "$3" "$1" || { echo "escaped name '$3' not in $1" >&2; return 1; }
}

d=$tmp/demo
check "demo trace.json: trace engine parses it" -- node_ check_chrome.mjs "$d/trace.json" --quiet --out "$tmp/tree.json"
check "demo trace.json: engine trees = report.json trees" -- node "$here/compare_trees.mjs" "$tmp/tree.json" "$d/report.json"
check "demo speedscope: schema" -- node_ check_speedscope.mjs "$d/profile.speedscope.json"
check "demo speedscope: loads in speedscope" -- node_ load_speedscope.mjs "$d/profile.speedscope.json" \
	--expect-frame llm:classify --expect-frame workflow
check "demo stacks.folded: loads in speedscope" -- node_ load_speedscope.mjs "$d/stacks.folded" --expect-frame tool:search_kb
check "demo stacks.folded: integer counts, sum = self time" -- folded_ok "$d/stacks.folded" "$d/report.json"
check "demo profile.pb.gz: pprof reads it" -- node_ check_pprof.mjs "$d/profile.pb.gz" --expect-function llm:classify
check "demo profile.pb.gz: pprof totals = report.json" -- node "$here/pprof_totals.mjs" "$cons/bin/pprof" \
	"$d/profile.pb.gz" "$d/report.json"
n=$(first_trace_spans "$d/report.json")
check "demo report.html: Chromium, CSP, data-ready, $n rects per picture, 5 dependencies" -- node_ check_html.mjs \
	"$d/report.html" --expect-rects "$n" --expect-deps 5 --screenshot "$build/export/report-demo.png"
check "demo report.html: the Memory panel prints report.json's memory rows, no steady growth" -- node_ check_html.mjs \
	"$d/report.html" --memory "$d/report.json" --expect-steady 0 --screenshot "$build/export/report-memory.png" \
	--screenshot-of '#memory'
"$ap" demo -q --traces 1 --memory-interval 0 -o "$tmp/nomem"
check "demo --memory-interval 0: report.html says memory was not sampled, no chart" -- node_ check_html.mjs \
	"$tmp/nomem/report.html" --no-memory
check "demo report.html: CSP hashes = its style and script" -- csp_hashes "$d/report.html"
check "demo report.html: inline SVGs are well-formed XML" -- node_ check_svg.mjs "$d/report.html"

# Names that need escaping in every format, and spans overlapping on a thread.
if ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE ${SAN_FLAGS:-} -I"$here/../../writer-lib/include" "$here/names.c" \
	"$build/libagentprof.a" -pthread -o "$tmp/names" 2>"$tmp/cc.err" && "$ap" record -q -o "$tmp/n" -- "$tmp/names"; then
	n=$tmp/n
	check "names trace.json: parses, overlap on its own lane" -- node_ check_chrome.mjs "$n/trace.json" --quiet --out "$tmp/ntree.json"
	check "names trace.json: engine trees = report.json trees" -- node "$here/compare_trees.mjs" "$tmp/ntree.json" "$n/report.json"
	check "names speedscope: schema and UI" -- sh -c "cd '$cons' && node check_speedscope.mjs '$n/profile.speedscope.json' &&
		node load_speedscope.mjs '$n/profile.speedscope.json' --expect-frame CpuProfile"
	check "names stacks.folded: loads, ';' does not split a frame" -- sh -c "cd '$cons' && node load_speedscope.mjs '$n/stacks.folded' \
		--expect-frame 'tool；with；semicolons and spaces' && grep -q 'with；semicolons' '$n/stacks.folded'"
	check "names profile.pb.gz: pprof totals" -- node "$here/pprof_totals.mjs" "$cons/bin/pprof" "$n/profile.pb.gz" "$n/report.json"
	check "names report.html: loads, $(first_trace_spans "$n/report.json") rects" -- node_ check_html.mjs "$n/report.html" \
		--expect-rects "$(first_trace_spans "$n/report.json")"
	check "names report.html: SVGs well-formed, names escaped" -- sh -c "cd '$cons' && node check_svg.mjs '$n/report.html'"
	check "names report.html: no raw '<friends>'" -- not_raw "$n/report.html" "<friends>" "&lt;friends&gt;"
else
	fail=$((fail + 1))
	echo "export: FAIL: names.c: $(head -3 "$tmp/cc.err")" >&2
fi

# A process that leaks steadily and a child whose peak is neither its start
# nor its end: both charted, the leak flagged on its chart.
if ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE ${SAN_FLAGS:-} -I"$here/../../writer-lib/include" "$here/grow.c" \
	"$build/libagentprof.a" -pthread -o "$tmp/grow" 2>"$tmp/cc.err" && "$ap" record -q -o "$tmp/g" -- "$tmp/grow"; then
	check "grow report.html: both processes charted as report.json says, the leak flagged" -- node_ check_html.mjs \
		"$tmp/g/report.html" --memory "$tmp/g/report.json" --expect-steady 1
	check "grow report.html: SVGs well-formed" -- node_ check_svg.mjs "$tmp/g/report.html"
else
	fail=$((fail + 1))
	echo "export: FAIL: grow.c: $(head -3 "$tmp/cc.err")" >&2
fi

# agentprof report LOG writes every format too; interval dumps write theirs.
"$ap" report -q -o "$tmp/r" "$tmp/demo.log"
check "report LOG: trace.json parses, trees = its report.json" -- sh -c "cd '$cons' && node check_chrome.mjs '$tmp/r/trace.json' \
	--quiet --out '$tmp/rtree.json' && node '$here/compare_trees.mjs' '$tmp/rtree.json' '$tmp/r/report.json'"
check "report LOG: report.html loads, its Memory panel is the log's" -- node_ check_html.mjs "$tmp/r/report.html" \
	--expect-rects "$(first_trace_spans "$tmp/r/report.json")" --memory "$tmp/r/report.json"
"$ap" report -q --formats html -o "$tmp/v2" "$here/../golden/killed-v2.log"
check "report of a log without memory records: report.html says memory was not sampled" -- node_ check_html.mjs \
	"$tmp/v2/report.html" --no-memory
"$ap" demo -q --interval 0.3 -o "$tmp/iv"
check "interval dumps: interval.trace.json parses" -- node_ check_chrome.mjs "$tmp/iv/interval.trace.json" --quiet
check "interval dumps: every interval file" -- sh -c "cd '$tmp/iv' && ls interval.html interval.profile.speedscope.json \
	interval.stacks.folded interval.profile.pb.gz trace.json report.html"

# export: every trace with --all (the demo keeps them all anyway: use a
# log with more traces than --max-traces), and the same totals.
"$ap" demo -q --traces 6 --max-traces 5 --log "$tmp/many.log" -o "$tmp/many"
"$ap" export --format chrome --all -o "$tmp/all.json" "$tmp/many.log"
check "export --all: every trace in trace.json" -- sh -c "cd '$cons' && node check_chrome.mjs '$tmp/all.json' --quiet \
	--out '$tmp/alltree.json' && node '$here/count_roots.mjs' '$tmp/alltree.json' '$tmp/many/report.json'"
"$ap" export --format pprof -o "$tmp/x.pb.gz" "$tmp/many.log"
check "export --format pprof: totals = the run's report.json" -- node "$here/pprof_totals.mjs" "$cons/bin/pprof" \
	"$tmp/x.pb.gz" "$tmp/many/report.json"
"$ap" export --format speedscope --all -o "$tmp/all.speedscope.json" "$tmp/many.log"
check "export --all speedscope: schema" -- node_ check_speedscope.mjs "$tmp/all.speedscope.json"
"$ap" export --format html -o "$tmp/x.html" "$tmp/many.log"
check "export --format html: loads" -- node_ check_html.mjs "$tmp/x.html" --expect-rects "$(first_trace_spans "$tmp/many/report.json")"

[ $((pass + fail)) = $((NCHECKS + NBASIC)) ] || { echo "export: ran $((pass + fail)) checks, expected $NCHECKS" >&2; fail=$((fail + 1)); }
if [ $fail = 0 ]; then
	echo "export: ok ($NBASIC checks, and $((pass - NBASIC)) by the real consumers; screenshots $build/export/report-demo.png," \
		"$build/export/report-memory.png)"
else
	echo "export: $fail of $((NCHECKS + NBASIC)) checks failed" >&2
	exit 1
fi
