#!/usr/bin/env bash
# bench/lttng.sh BUILD PAIRS ROUNDS - the span through LTTng-UST 2.13, in a
# userspace session of a session daemon started here and stopped here (by
# its pid: nothing else is touched). Installs liblttng-ust-dev and
# lttng-tools when missing and run as root. Prints "lttng MEDIAN MIN MAX"
# (ns per span), "lttng_discarded N" and "lttng_events N", or one
# "lttng_skip REASON" line.
set -uo pipefail
build=$1 pairs=$2 rounds=$3

have() { echo '#include <lttng/tracepoint.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1 && command -v lttng-sessiond >/dev/null && command -v lttng >/dev/null; }
if ! have; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblttng-ust-dev lttng-tools >/dev/null 2>&1
	fi
	if ! have; then
		echo "lttng_skip LTTng-UST not installed (as root: apt-get install liblttng-ust-dev lttng-tools)"
		exit 0
	fi
fi
make -s "$build/bench-lttng" >/dev/null 2>&1 || { echo "lttng_skip bench-lttng did not build"; exit 0; }

home=$(mktemp -d /tmp/agentprof-lttng.XXXXXX)
export LTTNG_HOME=$home
lttng-sessiond --no-kernel >"$home/sessiond.log" 2>&1 &
sd=$!
cleanup() {
	lttng destroy apbench >/dev/null 2>&1
	kill "$sd" 2>/dev/null && wait "$sd" 2>/dev/null
	rm -rf "$home"
}
trap cleanup EXIT
for _ in $(seq 100); do
	lttng list >/dev/null 2>&1 && break
	kill -0 "$sd" 2>/dev/null || { echo "lttng_skip lttng-sessiond did not start (another one running?)"; exit 0; }
	sleep 0.05
done
lttng create apbench --output="$home/trace" >/dev/null &&
	lttng enable-event --userspace 'agentprof_bench:*' >/dev/null &&
	lttng start >/dev/null || { echo "lttng_skip could not set up the session"; exit 0; }
out=$("$build/bench-lttng" "$pairs" "$rounds") || { echo "lttng_skip bench-lttng failed"; exit 0; }
lttng stop >/dev/null
discarded=$(lttng list apbench 2>/dev/null | awk '/Discarded events:/ { s += $3 } END { print s + 0 }')
echo "$out"
echo "lttng_discarded $discarded"
