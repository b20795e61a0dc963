#!/usr/bin/env bash
# tests/layers/planted.sh - check-layers catches what it is for: in a copy of
# the tree, an include from a floor above (reader/common/hmap.c including the
# session) and one of another folder's internals (a renderer including
# analysis_internal.h) must each fail the check and be named.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plant() {	# FILE LINE
	rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
	(cd "$here" && find Makefile shm writer-lib reader tests/layers -name '*.[ch]' -o -name Makefile -o -name '*.sh' |
		xargs cp --parents -t "$tmp/tree")
	printf '%s\n' "$2" >>"$tmp/tree/$1"
	out=$("$tmp/tree/tests/layers/check.sh" "$tmp/tree" 2>&1) && {
		echo "check-layers: planted '$2' in $1 and the check passed" >&2; exit 1; }
	case "$out" in
	*"$1"*) ;;
	*) echo "check-layers: planted '$2' in $1; the check failed without naming it: $out" >&2; exit 1 ;;
	esac
}
plant reader/common/hmap.c '#include "session.h"'
plant reader/render/labels.c '#include "analysis_internal.h"'
echo "check-layers: a planted upward include and a planted internal include both fail the check"
