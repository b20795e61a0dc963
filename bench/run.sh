#!/usr/bin/env bash
# bench/run.sh BUILD - `make bench`: the writer's cost per span beside the
# physical floor, measured in one process under `agentprof record` (the real
# reader attached and draining), as medians of several rounds with min and
# max. QUICK=1 runs fewer, shorter rounds.
set -euo pipefail
build=${1:-build}
rounds=9
pairs=250000
if [ "${QUICK:-0}" = 1 ]; then rounds=5; pairs=100000; fi
out=$build/bench-out
# One lane holds the whole run, so the figures never include drop paths
# whatever the reader's speed: (warm-up + rounds) x pairs x 2 events.
events=$(( (rounds + 1) * pairs * 2 ))
lane=8; while [ $lane -lt $events ]; do lane=$((lane * 2)); done

raw=$("$build/agentprof" record -q -o "$out" --lanes 2 --lane-events $lane --max-spans 4194304 -- \
	"$build/bench-writer" --pairs $pairs --rounds $rounds)
get() { echo "$raw" | awk -v k="$1" '$1 == k { print $'"${2:-2}"' }'; }
json() { grep -o "\"$1\": [0-9]*" "$out/report.json" | head -1 | awk '{print $2}'; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
printf 'agentprof bench: %s rounds x %s spans, medians [min, max]\n' "$rounds" "$pairs"
printf 'machine: %s, %s cores, clock %s\n\n' "$cpu" "$(nproc)" \
	"$(grep -o '"clock": "[a-z]*"' "$out/report.json" | cut -d'"' -f4)"
printf '%-44s %10s %18s\n' "what" "median" "[min, max]"
printf '%-44s %7s ns %8s, %6s ]\n' "floor: 2 rdtsc + 2 x 64 B stores + release" "$(get floor)" "[$(get floor 3)" "$(get floor 4)"
printf '%-44s %7s ns %8s, %6s ]\n' "ap_begin + ap_end, reader draining" "$(get on)" "[$(get on 3)" "$(get on 4)"
printf '%-44s %7s x  %8s, %6s ]   goal <= 1.3\n' "ratio agentprof / floor (per round)" "$(get ratio)" "[$(get ratio 3)" "$(get ratio 4)"
printf '%-44s %7s ns %8s, %6s ]   goal <= 1\n' "ap_begin + ap_end, profiling off" "$(get off)" "[$(get off 3)" "$(get off 4)"
echo
printf 'reader: written %s, read %s, dropped %s (writer counted %s dropped)\n' \
	"$(json written)" "$(json read)" \
	"$(( $(json dropped_full) + $(json dropped_no_lane) + $(json dropped_reentrant) ))" \
	"$(get writer_dropped)"

rd=$("$build/bench-reader" "$rounds") || { echo "bench-reader failed" >&2; exit 1; }
mps() { awk -v v="$1" 'BEGIN { print v / 1e6 }'; }
rline() { grep "^$1 " <<<"$rd"; }
read -r _ rmed rmin rmax <<<"$(rline reader_events_per_s)"
printf '%-44s %7.1f M/s [%5.1f, %5.1f ]   goal >= 80 M/s\n' "reader: drain + tree rebuild, events/s, 1 core" \
	"$(mps "$rmed")" "$(mps "$rmin")" "$(mps "$rmax")"
read -r _ rmed rmin rmax <<<"$(rline reader_analysis_events_per_s)"
printf '%-44s %7.1f M/s [%5.1f, %5.1f ]\n' "reader: the same + full analysis" \
	"$(mps "$rmed")" "$(mps "$rmin")" "$(mps "$rmax")"
read -r _ peak <<<"$(rline reader_peak_spans_in_flight)"
printf '%-44s %7s spans\n' "reader: peak spans in flight" "$peak"
