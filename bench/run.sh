#!/usr/bin/env bash
# bench/run.sh runs elt's benchmarks at full size: compile at 1k/10k/100k
# models, per-node overhead at 1,000 views and a chain of 1,000 tables, the
# example churn pipeline at 1M and 10M events (elt build vs its compiled
# SQL run directly in one DuckDB process), and startup. It builds the elt
# binary once, runs every benchmark ROUNDS times (default 5, after one
# warm-up round) and keeps the output in target/bench-results.txt.
#
#   bench/run.sh                 # everything (about half an hour on 2 cores)
#   bench/run.sh Compile 3       # only BenchmarkCompile, 3 rounds
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-.}"
rounds="${2:-5}"
bin="$(mktemp -d)/elt"
go build -o "$bin" .
mkdir -p target
{
	echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	ELT_BIN="$bin" go test ./bench -run '^$' -bench "$filter" -benchtime "${rounds}x" -timeout 120m
} 2>&1 | tee target/bench-results.txt
rm -rf "$(dirname "$bin")"
