#!/usr/bin/env bash
# bench/run.sh BUILD - `make bench`: what agentprof costs, beside the
# physical floor and LTTng-UST, as ratios measured in the same run and
# medians of several runs with min and max. Prints a table and writes
# bench/results.json. QUICK=1 (`make bench-quick`) runs a subset in under
# 60 s: fewer rounds, no fleet, a smaller scale run.
#
#   1. writer: a span (ap_begin + ap_end) from 1 thread and from 2 processes
#      at once, reader draining, beside the floor loop; LTTng-UST
#   1b. the pair as a user sees it: default lanes, bursts and a steady
#      stream, floors with and without the reader, through a dlopen'd
#      object; ap_name of a known name
#   2. off and unsampled
#   3. reader: drain + tree rebuild (synthetic stream), and the highest rate
#      2 writer processes and the reader sustain with nothing dropped
#   4. fleet: 64 processes x 4 threads running the reference workflow with
#      its sleeps, A/B rounds with and without profiling; then a CPU-bound
#      variant (10 us of work per span)
#   5. scale: 1,000 workers attaching in turn
#   6. memory: segment size and reader peak RSS for each case, and the
#      reader's RSS over a sustained 1 M spans/s with the default caps
#   6c. OTLP: the drain's and the sender's cost per span, the reader with
#      --otlp / without, the sender's rate, the queue with the receiver down
#   7. the usual pure-Python span, for reference
#   8. the Python module: a span on and off, the decorator, the pure-Python
#      span in the same process, and their ratio
set -euo pipefail
build=${1:-build}
quick=${QUICK:-0}
rounds=9 pairs=250000 runs=5
if [ "$quick" = 1 ]; then rounds=5; pairs=100000; fi
out=$build/bench-out
mkdir -p "$out"
ap=$build/agentprof
results=()

# "median min max" of the numbers on stdin.
med() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) exit 1; printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
# Results: key and a JSON value.
put() { results+=("\"$1\": $2"); }
put3() { local a b c; read -r a b c <<<"$2"; put "$1" "{\"median\": $a, \"min\": $b, \"max\": $c}"; }
# A key of a report.json (first match) or of "key value" output.
js() { grep -o "\"$2\": [0-9.]*" "$1" | head -1 | awk '{ print $2 }'; }
# KEY inside the object named OBJ: jsin FILE OBJ KEY.
jsin() { awk -v o="\"$2\": {" -v k="\"$3\":" 'index($0, o) { f = 1 } f && index($0, k) { gsub(/[,]/, ""); print $2; exit }' "$1"; }
kv() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$1"; }
row() { printf '%-50s %12s %22s %s\n' "$1" "$2" "$3" "${4:-}"; }
r3() { local a b c; read -r a b c <<<"$1"; row "$2" "$a $3" "[$b, $c]" "${4:-}"; }
mps() { awk '{ printf "%.1f %.1f %.1f\n", $1 / 1e6, $2 / 1e6, $3 / 1e6 }' <<<"$1"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
kernel=$(uname -r)
printf 'agentprof bench%s: medians [min, max]; %s rounds x %s spans per writer figure\n' \
	"$([ "$quick" = 1 ] && echo ' (quick)')" "$rounds" "$pairs"
printf 'machine: %s, %s cores, Linux %s\n\n' "$cpu" "$(nproc)" "$kernel"
put machine "\"$cpu, $(nproc) cores, Linux $kernel\""
row "what" "median" "[min, max]" "goal"

# 1, 2. Writer, in one process under record (the reader draining), then two
# forked processes. A lane holds a whole process's run (warm-up + rounds, 2
# events a span), so the figures never include drop paths; 3 lanes.
events=$(( (rounds + 1) * pairs * 2 ))
lane=8; while [ $lane -lt $events ]; do lane=$((lane * 2)); done
raw=$("$ap" record -q -o "$out/writer" --lanes 3 --lane-events $lane -- \
	"$build/bench-writer" --pairs $pairs --rounds $rounds --ring $lane)
clock=$(grep -o '"clock": "[a-z]*"' "$out/writer/report.json" | cut -d'"' -f4)
r3 "$(kv "$raw" floor)" "floor: 2 rdtsc + 2 x 64 B stores + release" ns
r3 "$(kv "$raw" on)" "span (begin + end), 1 thread, reader draining" ns
r3 "$(kv "$raw" ratio)" "  ratio agentprof / floor (per round)" x "<= 1.3"
r3 "$(kv "$raw" on2)" "span, 2 processes at once (mean of the two)" ns
r3 "$(kv "$raw" ratio2)" "  ratio agentprof / floor" x "<= 1.3"
r3 "$(kv "$raw" unsampled)" "span of a trace not sampled" ns
r3 "$(kv "$raw" off)" "span with profiling off" ns "<= 1"
r3 "$(kv "$raw" waiting)" "span while waiting for a reader (segment missing)" ns
for k in floor on ratio on2 ratio2 unsampled off waiting; do put3 "writer_$k" "$(kv "$raw" $k)"; done
wdrop=$(( $(js "$out/writer/report.json" dropped_full) + $(js "$out/writer/report.json" dropped_no_lane) + \
	$(js "$out/writer/report.json" dropped_reentrant) ))
row "  events written / dropped (agentprof)" "$(js "$out/writer/report.json" written) / $wdrop" ""
put writer_events "$(js "$out/writer/report.json" written)"
put writer_dropped "$wdrop"

# 1b. The pair as a user sees it (bench/bench_pair.c): default lanes, the
# reader draining, bursts filling a lane to 1/4, 1/2, 3/4 and a steady
# stream at 2 M events/s; per round the API, the floor in the same lane
# under the same reader, and the floor in a private ring no reader touches,
# interleaved. Then the pair from a dlopen'd object through
# libagentprof.so.1 against the static pair in the same process, and
# ap_name of a known name from 2 threads.
pr=$("$ap" record -q -o "$out/pair" -- "$build/bench-pair" --rounds $rounds --bursts 10 --groups 2000)
pp=$("$ap" record -q -o "$out/plugin" -- "$build/bench-pair" --rounds $rounds --bursts 10 --groups 2000 \
	--plugin "$build/bench-plugin.so")
pn=$("$ap" record -q -o "$out/names" -- "$build/bench-pair" --rounds $rounds --names)
row "pair, default lanes (4,096 events), reader draining" "" ""
for s in q1 q2 q3 steady; do
	case $s in q1) what="burst to 1/4 of the lane";; q2) what="burst to 1/2";; q3) what="burst to 3/4";;
		steady) what="steady stream, 2 M events/s";; esac
	goal=$([ $s = steady ] && echo "<= 1.1" || echo "<= 1.3")
	r3 "$(kv "$pr" ${s}_api)" "  $what: ap_begin + ap_end" ns
	r3 "$(kv "$pr" ${s}_floor)" "    floor in the same lane, same reader" ns
	r3 "$(kv "$pr" ${s}_bare)" "    floor in a private ring, no reader" ns
	r3 "$(kv "$pr" ${s}_api_over_floor)" "    ratio API / floor (same reader)" x "$goal"
	r3 "$(kv "$pr" ${s}_api_over_bare)" "    ratio API / floor without reader" x
	r3 "$(kv "$pr" ${s}_floor_over_bare)" "    the reader's cost: floor with / without" x
	r3 "$(kv "$pp" ${s}_plugin_over_static)" "    dlopen'd object via libagentprof.so / static" x "<= 1.1"
	for k in api floor bare api_over_floor api_over_bare floor_over_bare; do put3 "pair_${s}_$k" "$(kv "$pr" ${s}_$k)"; done
	put3 "pair_${s}_plugin_over_static" "$(kv "$pp" ${s}_plugin_over_static)"
done
row "  events written / dropped (bench-pair, API)" "$(kv "$pr" writer_recorded) / $(kv "$pr" writer_dropped)" ""
row "  steady stream: waits for a reader kept off the CPU" "$(kv "$pr" steady_stalls)" ""
put pair_steady_stalls "$(kv "$pr" steady_stalls)"
put pair_writer_recorded "$(kv "$pr" writer_recorded)"
put pair_writer_dropped "$(kv "$pr" writer_dropped)"
r3 "$(kv "$pn" name_known_ns)" "ap_name of a known name, 2 threads at once" ns
put3 name_known_ns "$(kv "$pn" name_known_ns)"

lt=$(bash bench/lttng.sh "$build" $pairs $rounds)
if skip=$(kv "$lt" lttng_skip) && [ -n "$skip" ]; then
	row "LTTng-UST 2.13, same fields" "skipped" "" "$skip"
	put lttng "{\"skipped\": \"$skip\"}"
else
	r3 "$(kv "$lt" lttng)" "LTTng-UST 2.13, same fields, userspace session" ns
	ratio=$(awk -v l="$(kv "$lt" lttng | cut -d' ' -f1)" -v a="$(kv "$raw" on | cut -d' ' -f1)" \
		'BEGIN { printf "%.1f", l / a }')
	row "  ratio LTTng-UST / agentprof (medians)" "$ratio x" "" ">= 10"
	lf=$(awk -v l="$(kv "$lt" lttng | cut -d' ' -f1)" -v a="$(kv "$pr" q2_bare | cut -d' ' -f1)" \
		'BEGIN { printf "%.1f", l / a }')
	row "  ratio LTTng-UST / the floor (the most 10x can be)" "$lf x" ""
	put lttng_over_floor "$lf"
	lp=$(awk -v l="$(kv "$lt" lttng | cut -d' ' -f1)" -v a="$(kv "$pr" q2_api | cut -d' ' -f1)" \
		'BEGIN { printf "%.1f", l / a }')
	row "  ratio LTTng-UST / agentprof pair, default lane" "$lp x" "" ">= 10"
	put lttng_over_pair "$lp"
	row "  events written / discarded (LTTng)" "$(kv "$lt" lttng_events) / $(kv "$lt" lttng_discarded)" ""
	put3 lttng "$(kv "$lt" lttng)"
	put lttng_over_agentprof "$ratio"
	put lttng_discarded "$(kv "$lt" lttng_discarded)"
fi
echo

# 3. Reader.
rd=$("$build/bench-reader" "$rounds") || { echo "bench-reader failed" >&2; exit 1; }
r3 "$(mps "$(kv "$rd" reader_events_per_s)")" "reader: drain + tree rebuild, 1 core" "M ev/s" ">= 80"
r3 "$(mps "$(kv "$rd" reader_analysis_events_per_s)")" "reader: the same + full analysis" "M ev/s"
put3 reader_events_per_s "$(kv "$rd" reader_events_per_s)"
put3 reader_analysis_events_per_s "$(kv "$rd" reader_analysis_events_per_s)"
r3 "$(mps "$(kv "$rd" reader_session_events_per_s)")" "reader: the same in a session (record's reader)" "M ev/s"
r3 "$(mps "$(kv "$rd" reader_dumps_events_per_s)")" "  with --interval 0.1: dumps every 100 ms" "M ev/s"
dratio=$(awk -v a="$(kv "$rd" reader_dumps_events_per_s | cut -d' ' -f1)" \
	-v b="$(kv "$rd" reader_session_events_per_s | cut -d' ' -f1)" 'BEGIN { printf "%.3f", a / b }')
row "  throughput with dumps / without (medians)" "${dratio}x" "" ">= 0.95"
r3 "$(kv "$rd" dump_ms)" "  one dump: 4 reports rendered + submitted" ms
put3 reader_session_events_per_s "$(kv "$rd" reader_session_events_per_s)"
put3 reader_dumps_events_per_s "$(kv "$rd" reader_dumps_events_per_s)"
put reader_dumps_ratio "$dratio"
put3 dump_ms "$(kv "$rd" dump_ms)"
r3 "$(mps "$(kv "$rd" reader_memory_events_per_s)")" "  with --memory-interval 20: RSS sampled, traces held" "M ev/s"
r3 "$(kv "$rd" reader_memory_ratio)" "  throughput with memory sampling / without (per round)" "x"
put3 reader_memory_events_per_s "$(kv "$rd" reader_memory_events_per_s)"
put3 reader_memory_ratio "$(kv "$rd" reader_memory_ratio)"

# Highest total rate 2 writer processes and the reader sustain with nothing
# dropped (default lanes): double until drops, then bisect; the rate the
# writers reached counts, not the one asked for.
trial() {	# RATE -> prints the reached rate, or nothing when something dropped
	local r; r=$("$ap" record -q -o "$out/rate" --lanes 4 -- "$build/bench-rate" "$1" 0.5) || return 0
	[ "$(( $(js "$out/rate/report.json" dropped_full) + $(js "$out/rate/report.json" dropped_no_lane) ))" = 0 ] &&
		kv "$r" rate_events_per_s
}
search() {
	local lo=0 hi=0 r=1000000 got best=0
	while [ $r -le 512000000 ]; do
		if got=$(trial $r) && [ -n "$got" ]; then lo=$r; best=$got; r=$((r * 2)); else hi=$r; break; fi
	done
	if [ $hi -gt 0 ] && [ $lo -gt 0 ]; then
		for _ in 1 2 3 4; do
			r=$(( (lo + hi) / 2 ))
			if got=$(trial $r) && [ -n "$got" ]; then lo=$r; best=$got; else hi=$r; fi
		done
	fi
	echo "$best"
}
n=$([ "$quick" = 1 ] && echo 1 || echo $runs)
sus=$(for _ in $(seq $n); do search; done | med)
r3 "$(mps "$sus")" "reader + 2 writer processes, zero drops, sustained" "M ev/s"
put3 sustained_zero_drop_events_per_s "$sus"
put reader_rss_kib "$(js "$out/rate/report.json" peak_rss_kib)"
echo

# 4. Fleet: A (profiled) and B (off) rounds, alternating.
fleet() {	# MODE GOAL ARGS... -> rows
	local mode=$1 goal=$2; shift 2
	local a=() b=() st=() ov=() rss=0 w c
	# The report's figure for what this mode measures: the machine's capacity
	# over the run (wall time x CPUs) for the sleeping fleet, whose cost is
	# wall time; the workload's CPU time for the CPU-bound one.
	local key=$([ "$mode" = sleep ] && echo pct_of_machine || echo pct_of_cpu)
	for i in $(seq $runs); do
		for side in A B; do
			[ $(( i % 2 )) = 0 ] && side=$([ $side = A ] && echo B || echo A)
			if [ $side = A ]; then
				o=$("$ap" record -q -o "$out/fleet" --lanes 320 -- "$build/bench-fleet" "$@")
				st+=("$(jsin "$out/fleet/report.json" overhead "$key")")
				rss=$(js "$out/fleet/report.json" peak_rss_kib)
			else
				o=$(env -u AGENTPROF_SHM "$build/bench-fleet" "$@")
			fi
			if [ "$mode" = sleep ]; then w=$(kv "$o" wall_ms); else w=$(kv "$o" cpu_ms); fi
			if [ $side = A ]; then a+=("$w"); else b+=("$w"); fi
		done
	done
	for i in $(seq 0 $((runs - 1))); do ov+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.3f", (x / y - 1) * 100 }')"); done
	local what=$([ "$mode" = sleep ] && echo "wall" || echo "CPU")
	r3 "$(printf '%s\n' "${b[@]}" | med)" "  $what ms without profiling" ms
	r3 "$(printf '%s\n' "${a[@]}" | med)" "  $what ms with profiling" ms
	local bm; read -r bm bl bh <<<"$(printf '%s\n' "${b[@]}" | med)"
	noise=$(awk -v m="$bm" -v l="$bl" -v h="$bh" 'BEGIN { printf "%.2f", (h - l) / m * 100 }')
	r3 "$(printf '%s\n' "${ov[@]}" | med)" "  measured overhead (per A/B pair)" % "$goal"
	row "  noise band (spread of the B rounds)" "+-$(awk -v n="$noise" 'BEGIN { printf "%.2f", n / 2 }') %" ""
	r3 "$(printf '%s\n' "${st[@]}" | med)" "  overhead the report states ($([ "$mode" = sleep ] && echo "of the machine" || echo "of CPU time"))" %
	put3 "fleet_${mode}_off_ms" "$(printf '%s\n' "${b[@]}" | med)"
	put3 "fleet_${mode}_on_ms" "$(printf '%s\n' "${a[@]}" | med)"
	put3 "fleet_${mode}_overhead_pct" "$(printf '%s\n' "${ov[@]}" | med)"
	put "fleet_${mode}_noise_pct" "$noise"
	put3 "fleet_${mode}_stated_pct" "$(printf '%s\n' "${st[@]}" | med)"
	put "fleet_${mode}_reader_rss_kib" "$rss"
}
if [ "$quick" = 1 ]; then
	row "fleet" "skipped in bench-quick" ""
else
	row "fleet: 64 processes x 4 threads, reference workflow, 30 s, $runs A/B pairs" "" ""
	fleet sleep "within noise" --procs 64 --threads 4 --traces 24 --scale 1
	spin=$("$build/bench-fleet" --calibrate-us 10 | awk '{ print $2 }')
	row "fleet, CPU-bound: every span 10 us of work ($spin iterations)" "" ""
	fleet cpu "<= 0.5" --procs 64 --threads 4 --traces 400 --spin "$spin"
fi
echo

# 5. Scale: workers attaching in turn, at most 128 alive (lanes: 256).
sw=$([ "$quick" = 1 ] && echo 200 || echo 1000)
shm0=$(ls /dev/shm | grep -c '^agentprof-' || true)
sc=$("$ap" record -q -o "$out/scale" -- "$build/bench-scale" $sw 128)
shm1=$(ls /dev/shm | grep -c '^agentprof-' || true)
r3 "$(kv "$sc" attach_us)" "scale: $sw workers in turn, attach + first span" us
row "  attaches / spans / lanes reclaimed / no lane" "$(js "$out/scale/report.json" attaches) / $(js "$out/scale/report.json" spans_complete) / $(js "$out/scale/report.json" lanes_reclaimed) / $(js "$out/scale/report.json" dropped_no_lane)" ""
row "  segments left in /dev/shm" "$((shm1 - shm0))" ""
put3 scale_attach_us "$(kv "$sc" attach_us)"
put scale_workers "$(kv "$sc" workers)"
put scale_lanes_reclaimed "$(js "$out/scale/report.json" lanes_reclaimed)"
put scale_dropped_no_lane "$(js "$out/scale/report.json" dropped_no_lane)"
put scale_segments_left "$((shm1 - shm0))"
echo

# 6. Memory.
mem() { row "memory: $1" "$(( $(js "$2" bytes) / 1048576 )) MiB / $(( $(js "$2" peak_rss_kib) / 1024 )) MiB" "" "segment / reader peak RSS"; }
mem "writer bench" "$out/writer/report.json"
mem "rate search" "$out/rate/report.json"
[ "$quick" = 1 ] || mem "fleet" "$out/fleet/report.json"
mem "scale" "$out/scale/report.json"
put writer_reader_rss_kib "$(js "$out/writer/report.json" peak_rss_kib)"
put scale_reader_rss_kib "$(js "$out/scale/report.json" peak_rss_kib)"
put default_segment_bytes "$(js "$out/scale/report.json" bytes)"

# 6b. Reader memory under a sustained load with the default caps: 1 M spans/s
# (2 writer processes, every span a trace of its own) for 30 s, with reports
# dumped every second as a fleet's reader would; the reader's RSS sampled
# each second (VmRSS counts the segment pages it touched).
secs=$([ "$quick" = 1 ] && echo 6 || echo 30)
"$ap" record -q --interval 1 -o "$out/sustain" -- "$build/bench-rate" 2000000 "$secs" >/dev/null &
spid=$!
rss_s=()
while kill -0 "$spid" 2>/dev/null; do
	sleep 1
	r=$(awk '/^VmRSS/ { print $2 }' "/proc/$spid/status" 2>/dev/null) && [ -n "$r" ] && rss_s+=("$r")
done
wait "$spid" || true
n_s=${#rss_s[@]}
if [ "$n_s" -ge 3 ]; then
	early=${rss_s[1]}; mid=${rss_s[$((n_s / 2))]}; late=${rss_s[$((n_s - 2))]}
	peak=$(js "$out/sustain/report.json" peak_rss_kib)
	rec=$(grep -o '"recorded": [0-9]*' "$out/sustain/report.json" | head -1 | awk '{ print $2 }')
	kept=$(grep -o '"retained": [0-9]*' "$out/sustain/report.json" | head -1 | awk '{ print $2 }')
	drop=$(js "$out/sustain/report.json" dropped_full)
	row "reader at 1 M spans/s for $secs s, default caps, --interval 1" "" ""
	row "  RSS at 2 s / middle / end" "$((early / 1024)) / $((mid / 1024)) / $((late / 1024)) MiB" "" "flat"
	row "  peak RSS" "$((peak / 1024)) MiB" "" "<= 64"
	row "  traces recorded / kept whole / events dropped" "$rec / $kept / $drop" ""
	dumps=$(jsin "$out/sustain/report.json" dumps reports)
	dfail=$(jsin "$out/sustain/report.json" dumps files_failed)
	dskip=$(jsin "$out/sustain/report.json" dumps files_skipped_busy)
	row "  dumps (every 1 s): reports / files failed / skipped" "$dumps / $dfail / $dskip" ""
	put sustained_dumps "{\"reports\": $dumps, \"files_failed\": $dfail, \"files_skipped_busy\": $dskip}"
	put sustained_rss_kib "{\"early\": $early, \"middle\": $mid, \"end\": $late, \"peak\": $peak}"
	put sustained_traces "{\"recorded\": $rec, \"kept\": $kept, \"dropped\": $drop}"
else
	row "reader at 1 M spans/s" "no samples" ""
fi
echo

# 6b. Trace timeout: memory with a steady rate of dying workers (simulated
# event time: 10 workers a second die mid-trace, 10-span traces, T = 300 s,
# 2 hours), against the bound README states.
tmo=$("$build/bench-timeout" --rate 10 --spans 10 --timeout 300 --hours 2)
row "trace timeout: 10 dying workers/s, 10-span traces, 300 s, 2 h" "" ""
row "  spans in flight at peak / bound" "$(kv "$tmo" timeout_peak_spans) / $(kv "$tmo" timeout_bound_spans)" "" "peak <= bound"
row "  assembler heap at the end / traces timed out" "$(kv "$tmo" timeout_heap_mib) MiB / $(kv "$tmo" timeout_traces_timed_out)" ""
put timeout_peak_spans "$(kv "$tmo" timeout_peak_spans)"
put timeout_bound_spans "$(kv "$tmo" timeout_bound_spans)"
put timeout_heap_mib "$(kv "$tmo" timeout_heap_mib)"
echo

# 6c. OTLP (bench/otlp.sh).
. bench/otlp.sh
otlp_rows "$build" "$quick"
echo

# 7. Python reference.
if command -v python3 >/dev/null; then
	py=$(python3 bench/py_span.py $([ "$quick" = 1 ] && echo 50000 || echo 200000) $runs)
	r3 "$(kv "$py" python_span_ns)" "pure Python: @contextmanager + dataclass + lock" ns
	put3 python_span_ns "$(kv "$py" python_span_ns)"
else
	row "pure Python span" "skipped" "" "no python3"
fi

# 8. agentprof's Python module beside the pure-Python span, in one process
# under record (the reader draining), rounds interleaved; then off.
pyb=${PYTHON:-/usr/bin/python3}
if [ -f "$build/python/agentprof/__init__.py" ] && [ -x "$pyb" ]; then
	pyp=$([ "$quick" = 1 ] && echo 50000 || echo 100000)
	pyo=$(PYTHONPATH="$build/python" "$ap" record -q -o "$out/python" --lanes 2 --lane-events 1048576 -- \
		"$pyb" bench/py_agentprof.py "$pyp" "$runs")
	r3 "$(kv "$pyo" py_on_ns)" "Python: with ap.span(), empty, 2 deep, reader on" ns "<= 200"
	r3 "$(kv "$pyo" py_off_ns)" "Python: the same, profiling off" ns "<= 80"
	r3 "$(kv "$pyo" py_deco_ns)" "Python: @ap.span decorator, added per call" ns
	r3 "$(kv "$pyo" py_pure_ns)" "Python: pure-Python span, same process" ns
	r3 "$(kv "$pyo" py_ratio)" "Python: pure-Python / agentprof" x ">= 8"
	row "  events dropped (lane full) in that run" "$(js "$out/python/report.json" dropped_full)" ""
	for k in py_on_ns py_off_ns py_deco_ns py_pure_ns py_ratio; do put3 "$k" "$(kv "$pyo" $k)"; done
else
	row "Python module" "skipped" "" "make python first"
fi

{
	echo "{"
	for i in "${!results[@]}"; do
		printf '  %s%s\n' "${results[$i]}" "$([ "$i" -lt $(( ${#results[@]} - 1 )) ] && echo ,)"
	done
	echo "}"
} >bench/results.json
echo
echo "written: bench/results.json (clock: $clock)"
