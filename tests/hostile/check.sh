#!/usr/bin/env bash
# tests/hostile/check.sh BUILD - inputs an attacker would hand agentprof, and
# what each must get: well-formed files whose values are hostile (logs with
# intact checksums, report.json files for diff, a worker writing hostile
# names). Each case says what it reproduces; every one ran away, crashed or
# printed raw terminal escapes before the fix it guards.
set -u
build=${1:?usage: check.sh BUILD}
ap=$build/agentprof
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
bad() { echo "hostile: $*" >&2; fail=1; }
# field FILE OBJ KEY: an integer or boolean of report.json (first match inside OBJ).
field() { awk -v o="\"$2\": {" -v k="\"$3\":" 'index($0, o) { f = 1 } f && index($0, k) { gsub(/[,]/, ""); print $2; exit }' "$1"; }
small() { [ "$(stat -c %s "$1")" -lt "$2" ] || bad "$1 is $(stat -c %s "$1") bytes, over $2"; }
noctl() { ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$1" || bad "$2: a control character reaches the terminal in $1"; }

# 1. ENDs far outside their trace (checksums intact): rejected and counted,
#    the output stays small (it was 8.6 GB of flame-chart padding).
for f in timestamps-8gb-report timestamps-absurd-durations; do
	n=$((n + 1))
	timeout 60 "$ap" report -o "$tmp/$f" "$here/$f.log" >"$tmp/$f.out" 2>"$tmp/$f.err"
	rc=$?
	[ $rc -le 1 ] || bad "$f: exit $rc"
	small "$tmp/$f.out" 1000000
	small "$tmp/$f/report.txt" 1000000
	[ "$(field "$tmp/$f/report.json" counts rejected_time)" -ge 1 ] 2>/dev/null || bad "$f: no event rejected for its time"
	! grep -Eq '"(max_ms|bound_ms|total_ms)": [0-9]{8,}' "$tmp/$f/report.json" || bad "$f: a duration of a billion ms or more"
done
# 2. The same in a log cut short (no totals): bounded by 30 days, small output.
n=$((n + 1))
timeout 60 "$ap" report -o "$tmp/huge" "$here/timestamps-huge-text.log" >"$tmp/huge.out" 2>"$tmp/huge.err"
[ $? = 1 ] || bad "timestamps-huge-text: exit is not 1 (damaged)"
small "$tmp/huge/report.txt" 1000000
# 3. slow_tool_ms = inf in the log's settings: refused, the defaults used, said.
n=$((n + 1))
timeout 60 "$ap" report -o "$tmp/inf" "$here/settings-inf.log" >/dev/null 2>"$tmp/inf.err"
[ $? = 1 ] || bad "settings-inf: exit is not 1"
grep -q '"settings_rejected": true' "$tmp/inf/report.json" || bad "settings-inf: settings_rejected is not true"
grep -q 'out of range' "$tmp/inf.err" || bad "settings-inf: not said on stderr"
# 4. 17 MiB of block headers each claiming 16 MiB: a linear scan (it took
#    30 s of CPU, quadratic); report and diff alike. The timeout is a hang
#    guard, not a speed test.
n=$((n + 1))
head -c 32 /dev/zero >"$tmp/one"
printf 'APLB\002\000\000\000\000\000\000\001\000\000\000\000' >"$tmp/hdr"	# magic, type 2, len 16 MiB
cat "$tmp/hdr" "$tmp/one" | head -c 32 >"$tmp/blk"
for _ in $(seq 1 20); do cat "$tmp/blk" "$tmp/blk" >"$tmp/blk2"; mv "$tmp/blk2" "$tmp/blk"; done	# 32 MiB
head -c $((17 << 20)) "$tmp/blk" >"$tmp/bomb.log"
[ "$(stat -c %s "$tmp/bomb.log")" -ge $((16 << 20)) ] || bad "bomb: could not build the file"
timeout 20 "$ap" report -q -o "$tmp/bomb" "$tmp/bomb.log" 2>/dev/null
[ $? = 2 ] || bad "bomb: agentprof report did not refuse it within 20 s (exit 2 expected)"
timeout 20 "$ap" diff "$tmp/bomb.log" "$tmp/bomb.log" >/dev/null 2>&1
[ $? = 2 ] || bad "bomb: agentprof diff did not refuse it within 20 s"
# 5. A worker that names spans with terminal escapes and invalid UTF-8:
#    report.json is valid JSON (diff reads it back), the invalid bytes are
#    counted, and no control character reaches the terminal or report.txt.
n=$((n + 1))
if ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE ${SAN_FLAGS:-} -I"$here/../../writer-lib/include" "$here/hostile-names.c" "$build/libagentprof.a" -pthread \
	-o "$tmp/h" 2>"$tmp/cc.err"; then
	"$ap" record -o "$tmp/names" -- "$tmp/h" >"$tmp/names.out" 2>&1 || bad "hostile-names: record failed"
	noctl "$tmp/names.out" "hostile-names"
	noctl "$tmp/names/report.txt" "hostile-names"
	"$ap" diff "$tmp/names/report.json" "$tmp/names/report.json" >"$tmp/names.diff" 2>&1 ||
		bad "hostile-names: diff refuses agentprof's own report: $(head -2 "$tmp/names.diff")"
	noctl "$tmp/names.diff" "hostile-names diff"
	[ "$(field "$tmp/names/report.json" counts names_not_utf8)" -ge 1 ] 2>/dev/null ||
		bad "hostile-names: the invalid UTF-8 was not counted"
else
	bad "hostile-names: cannot compile: $(grep -m3 error "$tmp/cc.err")"
fi
# 6. report.json names with escape sequences, handed to diff: printed escaped.
n=$((n + 1))
"$ap" diff "$here/diff-escapes.json" "$here/diff-escapes.json" >"$tmp/esc.out" 2>&1
[ $? = 0 ] || bad "diff-escapes: exit $?"
noctl "$tmp/esc.out" "diff-escapes"
# 7. Numbers out of range (p95 -1e308): exit 2, the field named.
n=$((n + 1))
"$ap" diff "$here/diff-escapes.json" "$here/diff-odd-numbers.json" >/dev/null 2>"$tmp/odd.err"
[ $? = 2 ] || bad "diff-odd-numbers: exit is not 2"
grep -Eq '(p95_ms|self_ms).* is missing or out of range' "$tmp/odd.err" ||
	bad "diff-odd-numbers: the field is not named: $(cat "$tmp/odd.err")"
# 8. 40,000 operations compared with themselves: O(n log n), not O(n^2)
#    (7.2 s before); a hang guard again, not a speed test.
n=$((n + 1))
{
	printf '{"structure": {"traces": 1}, "by_category": {"internal": {"self_ms": 1}, "llm": {"self_ms": 1}, '
	printf '"tool": {"self_ms": 1}, "memory": {"self_ms": 1}}, "tokens": {"total_input": 0, "total_output": 0}, '
	printf '"operations": ['
	seq 1 40000 | awk '{ printf "%s{\"name\": \"op%d\", \"category\": \"tool\", \"count\": 1, \"p50_ms\": 1, \"p95_ms\": 1, \"p99_ms\": 1, \"mean_ms\": 1}", (NR > 1 ? "," : ""), $1 }'
	printf ']}\n'
} >"$tmp/many.json"
timeout 20 "$ap" diff "$tmp/many.json" "$tmp/many.json" >/dev/null 2>"$tmp/many.err"
[ $? = 0 ] || bad "40,000 operations: diff did not finish within 20 s: $(head -2 "$tmp/many.err")"
[ $fail = 0 ] && echo "hostile: ok ($n cases of ../shared/hostile and generated inputs)"
exit $fail
