#!/usr/bin/env bash
# Lint benchmark: the lint pipeline (read, parse with positions, model, every rule,
# SARIF) over a generated 1,000-file repository (helm template outputs, Terraform
# plans, CloudFormation, eksctl, unrelated files); release build; wall time, best of
# several runs (the machine is shared).
#   bash bench/lint.sh [FILES] [RUNS]
# Times `target/release/irsa-doctor lint` when that binary is built (`cargo build
# --release -p irsa-doctor`), else the same pipeline as irsa-lint's `lint` example,
# which builds in seconds without the AWS SDK (the CLI adds only its start-up).
set -euo pipefail
cd "$(dirname "$0")/.."
files="${1:-1000}"
runs="${2:-5}"
dir="bench-data/lint-$files"
[ -d "$dir" ] || python3 bench/gen_lint_repo.py "$dir" "$files"
if [ -x target/release/irsa-doctor ]; then
  cmd=(target/release/irsa-doctor lint "$dir" --allow-gaps -o sarif)
else
  cargo build --release -q --locked -p irsa-lint --example lint
  cmd=(target/release/examples/lint "$dir")
fi
echo "timing: ${cmd[*]}"
"${cmd[@]}" > target/lint-bench.sarif || true
best=""
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "${cmd[@]}" > /dev/null 2>&1 || true
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
echo "lint of $files files ($(du -sh "$dir" | cut -f1)): best of $runs runs ${best} ms"
