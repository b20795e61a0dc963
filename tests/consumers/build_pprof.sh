#!/bin/sh
# build_pprof.sh - build google/pprof offline from Debian's Go sources (GOPATH mode).
# Needs (Debian 12):
#   apt-get install -y --no-install-recommends golang-go golang-github-google-pprof-dev
#   (pulls golang-github-chzyer-readline-dev + golang-github-ianlancetaylor-demangle-dev;
#    golang.org/x/sys is only imported by readline's term_solaris.go, so not needed on linux)
# Output: ./bin/pprof   (Go build cache kept in ./.gocache)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null || { echo "FAIL: go missing: apt-get install -y --no-install-recommends golang-go golang-github-google-pprof-dev" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/google/pprof ] || { echo "FAIL: /usr/share/gocode/src/github.com/google/pprof missing: apt-get install -y golang-github-google-pprof-dev" >&2; exit 1; }
mkdir -p "$here/bin"
# GO111MODULE=off: GOPATH mode; /usr/share/gocode is laid out as a GOPATH (src/...).
# (module mode cannot work: the Debian copy has go.mod but no vendor/ and there is no module proxy)
cd "$here"
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOCACHE="$here/.gocache" CGO_ENABLED=0 \
  go build -o "$here/bin/pprof" github.com/google/pprof
"$here/bin/pprof" -h 2>&1 | grep -q 'pprof <format>' || { echo "FAIL: built binary does not run" >&2; exit 1; }
echo "built $here/bin/pprof ($(go version))"
