#!/usr/bin/env bash
# bench/otlp.sh BUILD QUICK - the OTLP rows of `make bench` (sourced by
# bench/run.sh: uses its row/r3/put/put3/kv/js/jsin helpers). Needs node and
# the consumers (make consumers) for the loopback receiver; skipped, said so,
# without them.
#   - the drain's copy and the sender's encoding, ns per span (bench-otlp)
#   - the reader in a session with --otlp / without, rounds interleaved:
#     to a collector that is down (the drain's own cost) and to the loopback
#     receiver (which decodes every request with the official schema, on the
#     same 2 cores)
#   - spans per second the sender delivers to the loopback receiver
#   - peak queue bytes at 1 M spans/s for 10 s with the receiver down, and
#     the conservation rule at exit
otlp_rows() {
	local build=$1 quick=$2 cons=tests/consumers out=$build/bench-out/otlp rounds=5 e port rpid secs
	mkdir -p "$out"
	e=$("$build/bench-otlp" 1048576 "$rounds")
	r3 "$(kv "$e" otlp_copy_ns)" "otlp: drain thread's copy of a span" ns
	r3 "$(kv "$e" otlp_encode_pb_ns)" "otlp: sender's encoding of a span (protobuf)" ns
	put3 otlp_copy_ns "$(kv "$e" otlp_copy_ns)"
	put3 otlp_encode_ns "$(kv "$e" otlp_encode_pb_ns)"
	if ! command -v node >/dev/null 2>&1 || [ ! -d "$cons/node_modules/@opentelemetry/otlp-transformer" ]; then
		row "otlp: reader and sender rows" "skipped" "" "no node or consumers (make consumers)"
		put otlp_skipped "\"no node or consumers\""
		return 0
	fi
	e=$("$build/bench-otlp" --session http://127.0.0.1:9 "$rounds" --no-sender 2>/dev/null)
	r3 "$(kv "$e" reader_otlp_ratio)" "reader with --otlp, collector down / without" x ">= 0.9"
	put3 otlp_reader_ratio_down "$(kv "$e" reader_otlp_ratio)"
	: >"$out/port"
	node "$cons/otlp_receiver.mjs" --port 0 --out /dev/null >"$out/port" 2>/dev/null &
	rpid=$!
	for _ in $(seq 100); do port=$(awk '/^listening/ { print $2 }' "$out/port"); [ -n "$port" ] && break; sleep 0.1; done
	e=$("$build/bench-otlp" --session "http://127.0.0.1:$port" "$rounds" 2>/dev/null)
	r3 "$(mps "$(kv "$e" reader_session_events_per_s)")" "reader in a session, without --otlp" "M ev/s"
	r3 "$(mps "$(kv "$e" reader_otlp_events_per_s)")" "  with --otlp to the loopback receiver" "M ev/s"
	r3 "$(kv "$e" reader_otlp_ratio)" "  ratio (receiver on the same 2 cores)" x ">= 0.9"
	r3 "$(kv "$e" sender_spans_per_s)" "otlp: spans/s delivered to the loopback receiver" "spans/s"
	put3 otlp_reader_ratio_receiver "$(kv "$e" reader_otlp_ratio)"
	put3 otlp_sender_spans_per_s "$(kv "$e" sender_spans_per_s)"
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	secs=$([ "$quick" = 1 ] && echo 4 || echo 10)
	"$build/agentprof" record -q -o "$out/down" --otlp http://127.0.0.1:9 --otlp-drain-s 1 -- \
		"$build/bench-rate" 2000000 "$secs" >/dev/null 2>&1 || true
	local q s dq ds pk
	q=$(jsin "$out/down/report.json" otlp spans_queued)
	s=$(jsin "$out/down/report.json" otlp spans_sent)
	dq=$(jsin "$out/down/report.json" otlp spans_dropped_queue_full)
	ds=$(jsin "$out/down/report.json" otlp spans_dropped_shutdown)
	pk=$(jsin "$out/down/report.json" otlp queue_peak_bytes)
	row "otlp: 1 M spans/s for $secs s, receiver down: peak queue" "$((pk / 1048576)) MiB" "" "<= 64"
	row "  spans queued = dropped (queue full) + (at exit) + sent" "$q = $dq + $ds + $s" "" \
		"$([ "$q" = $((dq + ds + s + $(jsin "$out/down/report.json" otlp spans_failed))) ] && echo conserved || echo NOT conserved)"
	put otlp_down "{\"seconds\": $secs, \"queued\": $q, \"dropped_queue_full\": $dq, \"dropped_shutdown\": $ds, \"sent\": $s, \"queue_peak_bytes\": $pk}"
}
