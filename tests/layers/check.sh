#!/usr/bin/env bash
# tests/layers/check.sh [ROOT] - every source file of the floors includes only
# headers of its own folder and of the floors below it, and no other folder's
# *_internal.h. The floors and what each may include come from the Makefile
# (`make print-layers`, the same INC_* lists the compiler gets), so the rule
# exists once. Exit 0 when the tree keeps it; 1, with one line per offending
# include, when it does not.
set -u
root=${1:-.}
cd "$root" || exit 2
layers=$(MAKEFLAGS= make -s --no-print-directory print-layers) || { echo "check-layers: make print-layers failed" >&2; exit 2; }
folders=$(printf '%s\n' "$layers" | cut -d: -f1)
bad=0 files=0 incs=0
# Which folder of the floors holds header H (first match; headers are unique by name).
where() { for f in $folders; do [ -f "$f/$1" ] && { echo "$f"; return; }; done; }
while IFS= read -r line; do
	folder=${line%%:*}
	allowed=" ${line#*:} "
	for src in "$folder"/*.[ch]; do
		[ -f "$src" ] || continue
		files=$((files + 1))
		while IFS=: read -r lno inc; do
			incs=$((incs + 1))
			home=$( [ -f "$folder/$inc" ] && echo "$folder" || where "$inc")
			if [ -z "$home" ]; then
				continue	# not one of ours (a system or package header in quotes)
			fi
			case "$allowed" in
			*" $home "*) ;;
			*) echo "check-layers: $src:$lno includes $home/$inc, which is not a floor below $folder"; bad=1; continue ;;
			esac
			case "$inc" in
			*_internal.h) [ "$home" = "$folder" ] || { echo "check-layers: $src:$lno includes $home/$inc, the internals of another folder"; bad=1; } ;;
			esac
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$src" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
	done
done <<<"$layers"
[ $bad = 0 ] && echo "check-layers: ok ($files files, $incs includes, $(printf '%s\n' "$folders" | wc -l) floors)"
exit $bad
