#!/usr/bin/env bash
# Scale benchmark, side by side in one run: irsa-doctor loading + indexing + checking a
# generated snapshot vs `jq empty` merely parsing the same files. Prints wall time and
# peak memory of both, and the input size.
#   bash bench/scale.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-bench-data/scale}"
command -v jq >/dev/null || { echo "needs jq (apt-get install -y jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
cargo build --release -q -p irsa-doctor --example gen-scale --bin irsa-doctor
[ -d "$dir" ] || ./target/release/examples/gen-scale "$dir"
size=$(du -sb "$dir" | cut -f1)
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
read -r jq_s jq_kb < <(measure jq empty "$dir"/*.json)
read -r us_s us_kb < <(measure ./target/release/irsa-doctor check --snapshot "$dir" -o json)
echo "input:        $((size / 1000000)) MB in $(ls "$dir" | wc -l) files"
echo "jq empty:     ${jq_s}s, peak ${jq_kb} KB"
echo "irsa-doctor:  ${us_s}s, peak ${us_kb} KB (load + index + every rule, JSON report)"
awk -v a="$us_s" -v b="$jq_s" -v m="$us_kb" -v s="$size" 'BEGIN { printf "speed: %.1fx jq; memory: %.2fx input\n", b / a, (m * 1024) / s }'
