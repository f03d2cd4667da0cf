#!/usr/bin/env bash
# bench/ab.sh compares two elt binaries on one project, alternating them
# so both see the same machine (this VM's speed drifts by tens of percent
# within an hour), and prints each one's median, min and max wall time.
#
#   go build -o /tmp/elt-old . && git stash && go build -o /tmp/elt-new . && git stash pop
#   bench/ab.sh 7 /tmp/p10k /tmp/elt-old /tmp/elt-new compile --no-partial-parse
#
# Each binary's compile record holds the binary's identity, so alternating
# two binaries makes every compile a full one: to compare reused or patched
# compiles, time each binary's runs in a row instead.
set -euo pipefail
if [ $# -lt 5 ]; then
	echo "usage: bench/ab.sh ROUNDS PROJECT_DIR BIN_A BIN_B ELT_ARGS..." >&2
	exit 2
fi
rounds=$1 dir=$2 a=$3 b=$4
shift 4
times=$(mktemp)
trap 'rm -f "$times"' EXIT
cd "$dir"
for _ in $(seq "$rounds"); do
	for bin in "$a" "$b"; do
		start=$(date +%s.%N)
		"$bin" "$@" >/dev/null 2>&1
		awk -v b="$bin" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%s %.3f\n", b, e - s}' >>"$times"
	done
done
for bin in "$a" "$b"; do
	grep -F "$bin " "$times" | awk '{print $2}' | sort -n |
		awk -v b="$bin" '{v[NR]=$1} END {printf "%s: median %.3f s, min %.3f, max %.3f (%d runs)\n", b, v[int((NR+1)/2)], v[1], v[NR], NR}'
done
