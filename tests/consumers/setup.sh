#!/usr/bin/env bash
# tests/consumers/setup.sh - install the real consumers of agentprof's exports:
# Chromium (speedscope, the HTML report), xmllint, Google's pprof (built from
# Debian's Go source), and the npm packages pinned in package-lock.json (the
# DevTools trace engine, speedscope, the OpenTelemetry protobuf schema,
# playwright-core to drive Chromium).
#
# As root, missing Debian packages are installed with apt-get; otherwise the
# exact apt-get line is printed. Exit 0 when every consumer is ready; 77 when
# something could not be installed here (no root, a registry that cannot be
# reached), having said exactly what; the checks that need it are then
# reported as skipped, never as passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
pkgs="chromium libxml2-utils golang-go golang-github-google-pprof-dev"
need=""
command -v chromium >/dev/null || need="$need chromium"
command -v xmllint >/dev/null || need="$need libxml2-utils"
command -v go >/dev/null || need="$need golang-go"
[ -d /usr/share/gocode/src/github.com/google/pprof ] || need="$need golang-github-google-pprof-dev"
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "consumers: installing$need"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null; } ||
			{ echo "consumers: apt-get install$need failed (no Debian mirror?)" >&2; exit 77; }
	else
		echo "consumers: missing Debian packages; run as root: apt-get install -y --no-install-recommends$need" >&2
		exit 77
	fi
fi
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "consumers: node and npm are needed (Node 20): apt-get install -y nodejs npm" >&2; exit 77; }
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json .lock-installed 2>/dev/null; then
	echo "consumers: npm ci (versions pinned by package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null ||
		{ echo "consumers: npm ci failed (is the npm registry reachable?)" >&2; exit 77; }
	cp package-lock.json .lock-installed
fi
[ -x bin/pprof ] || ./build_pprof.sh >/dev/null || { echo "consumers: building pprof failed" >&2; exit 77; }
echo "consumers: ready (chromium $(chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version), pprof built)"
