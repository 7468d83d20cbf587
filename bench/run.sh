#!/usr/bin/env bash
# Measures canary's Judge against R's wilcox.test in one run; the figures go to docs/BENCHMARKS.md.
#   bench/run.sh [--quick]   --quick: fewer R metrics and BenchmarkDotNet's short job
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true

for pair in Rscript:r-base-core hyperfine:hyperfine; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pair##*:}" >/dev/null
  fi
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
dotnet build bench/Bench.csproj -c Release --nologo -v quiet -clp:'ErrorsOnly;NoSummary'
./build.sh publish
dotnet bench/bin/Release/net10.0/Bench.dll make-batch "$data" 1000 1000

echo "== canary judge: 1000 metrics x 1000 samples per cohort, end to end (start-up and JSON parsing included)"
ls -l "$data/batch.json" | awk '{printf "input: %.1f MB\n", $5 / 1e6}'
hyperfine --warmup 1 --runs 10 --export-markdown "$data/hyperfine.md" ".out/canary/canary judge $data/batch.json > /dev/null"

echo "== R wilcox.test(exact = FALSE, correct = TRUE, conf.int = TRUE) on the same batch"
r_metrics=1000
$quick && r_metrics=50
Rscript bench/r/wilcox-timing.R "$data/control.txt" "$data/experiment.txt" "$r_metrics"

echo "== BenchmarkDotNet: per metric"
job=()
$quick && job=(--job short)
dotnet bench/bin/Release/net10.0/Bench.dll --filter '*MetricBenchmarks*' '*SelectionBenchmarks*' "${job[@]}"

echo "== POST /api/v1/judge with a 50-metric document, against the CLI per document"
dotnet bench/bin/Release/net10.0/Bench.dll make-batch "$data/api" 50 60
hyperfine --warmup 2 --runs 20 ".out/canary/canary judge $data/api/batch.json > /dev/null"
dotnet bench/bin/Release/net10.0/Bench.dll --filter '*ApiJudgeBenchmarks*' "${job[@]}"

echo "== weekly report over a year of history for 200 services"
dotnet bench/bin/Release/net10.0/Bench.dll make-year "$data/year.db"
hyperfine --warmup 1 --runs 5 ".out/canary/canary report --week 2026-W47 --store sqlite:$data/year.db --output $data/report"
dotnet bench/bin/Release/net10.0/Bench.dll --filter '*ReportBenchmarks*'

echo "== canary simulate: the study of docs/STATISTICS.md (every rule, 1000 rollouts per scenario and rule)"
rollouts=1000
$quick && rollouts=100
time .out/canary/canary simulate --rollouts "$rollouts" --rules mann-whitney,mann-whitney-before,threshold,sequential --format table
