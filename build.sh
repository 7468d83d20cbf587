#!/usr/bin/env bash
# canary's build entry point.
#   ./build.sh test     restore, build (warnings are errors) and run every test
#   ./build.sh publish  build the canary tool into .out/canary
#   ./build.sh bench    run the benchmarks of docs/BENCHMARKS.md (installs R and hyperfine)
#   ./build.sh demo-packages   install what `canary demo` runs (prometheus, haproxy) when missing
#   ./build.sh report-packages install the fonts the report's charts are drawn with when missing
set -euo pipefail
cd "$(dirname "$0")"

# Installs the Debian packages whose commands are missing: ensure_packages command:package ...
ensure_packages() {
  local missing=()
  for pair in "$@"; do
    local package="${pair##*:}"
    if ! command -v "${pair%%:*}" >/dev/null 2>&1 && [[ " ${missing[*]} " != *" $package "* ]]; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} ..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

# The report's charts need a font (ScottPlot draws with SkiaSharp, which finds them with fontconfig).
ensure_fonts() {
  if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    echo "installing fonts-dejavu-core ..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q fonts-dejavu-core >/dev/null
  fi
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "canary needs the .NET 10 SDK (dotnet on PATH); see README.md" >&2
    exit 2
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

publish() {
  ensure_dotnet
  local log
  log=$(mktemp)
  if ! dotnet build src/Analyzer/Analyzer.csproj -c Release -o .out/canary --nologo -v quiet >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 2
  fi
  rm -f "$log"
  # The build leaves an up-to-date executable untouched; mark it fresh for ./canary's check.
  touch .out/canary/canary
}

run_tests() {
  ensure_dotnet
  # Real components the tests start themselves (DESIGN.md, "Real components").
  ensure_packages prometheus:prometheus promtool:prometheus kubectl:kubernetes-client \
    /usr/lib/postgresql/15/bin/initdb:postgresql haproxy:haproxy chromium:chromium
  ensure_fonts
  dotnet restore analysis.sln --nologo -v quiet
  dotnet build analysis.sln -c Release --no-restore --nologo -v quiet -clp:'ErrorsOnly;NoSummary'
  local log
  log=$(mktemp)
  set +e
  dotnet test analysis.sln -c Release --no-build --nologo 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  # One plain summary line over every test assembly.
  awk '/(Passed|Failed)!/ {
         for (i = 1; i <= NF; i++) { v = $(i + 1); gsub(",", "", v)
           if ($i == "Failed:") f += v; if ($i == "Passed:") p += v; if ($i == "Skipped:") s += v }
       } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  rm -f "$log"
  return "$status"
}

case "${1:-}" in
  test) run_tests ;;
  publish) publish ;;
  bench) shift; exec bench/run.sh "$@" ;;
  demo-packages) ensure_packages prometheus:prometheus /usr/sbin/haproxy:haproxy ;;
  report-packages) ensure_fonts ;;
  *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac
