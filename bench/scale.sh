#!/usr/bin/env bash
# Scale benchmark, side by side in one run: irsa-doctor loading + indexing + checking a
# generated snapshot (`check --snapshot DIR -o json`) vs `jq empty` merely parsing the
# same files, on two shapes:
#   large: the project's generator (10,000 ServiceAccounts, 20,000 pods of about 8 KB as
#          printed, 10,000 Deployments, 2,000 roles in get-account-authorization-details)
#   small: 10,000 ServiceAccounts, 20,000 pods of about 3 KB, 2,000 roles in one
#          `aws iam list-roles` output
#   small + Pod Identity: the small shape with an EKS Pod Identity association listed
#          for each of its 10,000 ServiceAccounts
# Each shape runs PAIRS pairs (jq, then irsa-doctor) and prints the medians of wall time
# and CPU time (user + sys: on a shared machine the wall time also counts waiting for a
# core), the largest peak RSS, and the ratios: time against jq, peak memory against the
# input size.
#   bash bench/scale.sh [PAIRS]            both shapes (default 5 pairs)
#   bash bench/scale.sh --growth [PAIRS]   small shape at 10k/20k, 30k/60k, 100k/200k
#                                          ServiceAccounts/pods (writes about 0.8 GB), then
#                                          the 10k -> 100k ratios of wall and CPU time
#   bash bench/scale.sh --alternate [PAIRS]  the 10k and 100k sizes run one after the
#                                          other in each pair (no jq): the 10k -> 100k
#                                          ratios with the machine's drift shared by both
#                                          ends (the sequential --growth run measures the
#                                          sizes minutes apart)
#   BIN=path/to/irsa-doctor bash bench/scale.sh   measures that build instead
set -euo pipefail
cd "$(dirname "$0")/.."
growth=0
if [ "${1:-}" = "--growth" ]; then growth=1; shift; fi
if [ "${1:-}" = "--alternate" ]; then growth=2; shift; fi
pairs="${1:-5}"
command -v jq >/dev/null || { echo "needs jq (apt-get install -y jq)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "needs python3 (apt-get install -y python3)" >&2; exit 2; }
# BIN=path/to/irsa-doctor measures another build (e.g. before a change).
[ -n "${BIN:-}" ] || cargo build --release -q -p irsa-doctor --example gen-scale --bin irsa-doctor
bin="${BIN:-./target/release/irsa-doctor}"
gen=./target/release/examples/gen-scale

# One run: "wall cpu peak_kb" (whatever the exit status: a snapshot with gaps exits 2).
# Timed to the microsecond around fork and exec, the CPU time (user + sys) and peak RSS
# from the child's own rusage (`wait4`): /usr/bin/time prints hundredths of a second,
# 3 % of a 0.3 s run, which moved the growth ratio by as much.
measure() {
    python3 - "$@" <<'PY'
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, _, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(f"{wall:.4f} {usage.ru_utime + usage.ru_stime:.4f} {usage.ru_maxrss}")
PY
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max() { sort -g | tail -1; }

# bench NAME DIR: PAIRS pairs, then one line of figures.
bench() {
    local name="$1" dir="$2" size files jq_runs us_runs
    size=$(du -sb "$dir" | cut -f1)
    files=$(ls "$dir" | wc -l)
    jq_runs=$(mktemp) us_runs=$(mktemp)
    for _ in $(seq "$pairs"); do
        measure jq empty "$dir"/*.json >>"$jq_runs"
        measure "$bin" check --snapshot "$dir" -o json >>"$us_runs"
    done
    local jw jc jm uw uc um
    jw=$(cut -d' ' -f1 "$jq_runs" | median) jc=$(cut -d' ' -f2 "$jq_runs" | median)
    jm=$(cut -d' ' -f3 "$jq_runs" | max)
    uw=$(cut -d' ' -f1 "$us_runs" | median) uc=$(cut -d' ' -f2 "$us_runs" | median)
    um=$(cut -d' ' -f3 "$us_runs" | max)
    rm -f "$jq_runs" "$us_runs"
    # Kept for the growth line: "wall cpu jq_wall" of the last shape measured.
    last="$uw $uc $jw"
    awk -v n="$name" -v s="$size" -v f="$files" -v jw="$jw" -v jc="$jc" -v jm="$jm" \
        -v uw="$uw" -v uc="$uc" -v um="$um" 'BEGIN {
        printf "%-22s %7.1f MB %3d files | jq %6.2fs wall %6.2fs cpu %5.0f MiB | irsa-doctor %6.2fs wall %6.2fs cpu %5.0f MiB | wall %.2fx jq, cpu %.2fx jq, peak RSS %.2fx input\n",
            n, s / 1e6, f, jw, jc, jm / 1024, uw, uc, um / 1024, uw / jw, uc / jc, um * 1024 / s }'
}

echo "medians of $pairs pairs; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
if [ "$growth" = 0 ]; then
    [ -d bench-data/scale ] || "$gen" bench-data/scale
    [ -d bench-data/scale-small ] || "$gen" --small bench-data/scale-small
    bench "large pods (project)" bench-data/scale
    bench "small pods" bench-data/scale-small
    # The small shape with an EKS Pod Identity association listed for every
    # ServiceAccount (10,000): the verdicts and lookups that meet every association.
    if [ ! -d bench-data/scale-pi ]; then
        cp -r bench-data/scale-small bench-data/scale-pi
        python3 - bench-data/scale-pi <<'PY'
import json, sys
d = sys.argv[1]
cluster = json.load(open(f"{d}/aws-eks-describe-cluster.json"))
cluster = cluster.get("output", cluster)["cluster"]["name"]
sas = json.load(open(f"{d}/kubectl-get-sa.json"))
sas = sas.get("output", sas)["items"]
rows = [{"clusterName": cluster, "namespace": s["metadata"].get("namespace", "default"),
         "serviceAccount": s["metadata"]["name"], "associationId": f"a-{i:017d}",
         "associationArn": f"arn:aws:eks:us-east-2:391252439823:podidentityassociation/{cluster}/a-{i:017d}"}
        for i, s in enumerate(sas)]
json.dump({"command": f"aws eks list-pod-identity-associations --cluster-name {cluster}",
           "output": {"associations": rows}}, open(f"{d}/eks-list-pod-identity-associations.json", "w"))
PY
    fi
    bench "small + Pod Identity" bench-data/scale-pi
elif [ "$growth" = 2 ]; then
    small=$(mktemp) large=$(mktemp)
    for n in 10000 100000; do
        d="bench-data/growth-$n"
        [ -d "$d" ] || "$gen" --small "$d" "$n" $((n * 2)) 2000
    done
    for _ in $(seq "$pairs"); do
        measure "$bin" check --snapshot bench-data/growth-10000 -o json >>"$small"
        measure "$bin" check --snapshot bench-data/growth-100000 -o json >>"$large"
    done
    sw=$(cut -d' ' -f1 "$small" | median) sc=$(cut -d' ' -f2 "$small" | median)
    lw=$(cut -d' ' -f1 "$large" | median) lc=$(cut -d' ' -f2 "$large" | median)
    lm=$(cut -d' ' -f3 "$large" | max)
    rm -f "$small" "$large"
    awk -v sw="$sw" -v sc="$sc" -v lw="$lw" -v lc="$lc" -v lm="$lm" 'BEGIN {
        printf "alternating pairs, 10k -> 100k ServiceAccounts: %.2fs -> %.2fs wall (%.2fx), %.2fs -> %.2fs cpu (%.2fx); peak RSS at 100k %.0f MiB\n",
            sw, lw, lw / sw, sc, lc, lc / sc, lm / 1024 }'
else
    first=""
    for n in 10000 30000 100000; do
        d="bench-data/growth-$n"
        [ -d "$d" ] || "$gen" --small "$d" "$n" $((n * 2)) 2000
        bench "small ${n} SAs/$((n * 2)) pods" "$d"
        [ -n "$first" ] || first="$last"
    done
    # The curve's end to end: 10x the ServiceAccounts and pods (the input grows 9.7x).
    echo "$first $last" | awk '{ printf "growth 10k -> 100k ServiceAccounts: wall %.1fx, cpu %.1fx (jq: %.1fx)\n", $4 / $1, $5 / $2, $6 / $3 }'
fi
