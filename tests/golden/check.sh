#!/usr/bin/env bash
# tests/golden/check.sh AGENTPROF - the reports of the golden event logs are
# what they were when the logs were recorded.
#
# Each NAME.log was recorded by `agentprof ... --log` (demo; demo with
# --interval 0.5; demo with a worker killed by SIGKILL mid-trace, so its spans
# are truncated; demo under small retention caps). Those four are event log
# format 1 and stay, to prove old logs are still read; killed-v2.log is the
# killed demo again in format 2, which records when a dead process was last
# seen running (its truncated spans end there); memory.log is the demo in
# format 3, with the workers' RSS sampled every 20 ms (the Memory section).
# NAME.report.json and
# NAME.report.txt are what `agentprof report NAME.log` printed when the log was
# recorded. A change that means to change a report regenerates them with
# `make golden` and says why in its commit; any other difference is a
# regression. Masked: the version string and the reader's own peak RSS and
# CPU time, which belong to the process that replays, not to the run.
set -u
ap=${1:?usage: check.sh AGENTPROF}
dir=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mask() { sed -E 's/"version": "[^"]*"/"version": "X"/; s/"peak_rss_kib": [0-9]+/"peak_rss_kib": 0/; s/"cpu_ms": [0-9.]+/"cpu_ms": 0/' "$1"; }
fail=0 n=0
for log in "$dir"/*.log; do
	name=$(basename "$log" .log)
	n=$((n + 1))
	if ! "$ap" report -q -o "$out/$name" "$log"; then
		echo "golden: $name: agentprof report exited $?" >&2; fail=1; continue
	fi
	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$out/$name/report.json" "$dir/$name.report.json"
		cp "$out/$name/report.txt" "$dir/$name.report.txt"
		continue
	fi
	if ! diff -u <(mask "$dir/$name.report.json") <(mask "$out/$name/report.json") >"$out/$name.diff"; then
		echo "golden: $name: report.json differs from $dir/$name.report.json:" >&2
		head -40 "$out/$name.diff" >&2; fail=1
	fi
	if ! diff -u "$dir/$name.report.txt" "$out/$name/report.txt" >"$out/$name.tdiff"; then
		echo "golden: $name: report.txt differs from $dir/$name.report.txt:" >&2
		head -40 "$out/$name.tdiff" >&2; fail=1
	fi
done
[ $n -gt 0 ] || { echo "golden: no logs in $dir" >&2; exit 1; }
[ $fail = 0 ] && echo "golden: ok ($n logs, report.json and report.txt as recorded)"
exit $fail
