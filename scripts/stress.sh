#!/usr/bin/env bash
# Run the test suite under a CPU hog on every core, to find tests that depend on timing.
#
#   scripts/stress.sh [RUNS]     # default 3 runs of `make test`
#
# stress-ng (Debian package stress-ng) keeps every core busy for the whole run; it is
# installed with apt-get when missing (as root). The brokers must be up
# (scripts/brokers.sh up). Each run's output goes to bin/stress/run-N.log; the script
# prints a line per run and exits non-zero when any run failed. TESTFLAGS passes on to
# make test, e.g. TESTFLAGS='-run TestFault' scripts/stress.sh 5.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${1:-3}
case $RUNS in ''|*[!0-9]*) echo "stress.sh: RUNS must be a number, got '$RUNS'" >&2; exit 2 ;; esac

if ! command -v stress-ng >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "stress.sh: stress-ng is missing; install it with: sudo apt-get install stress-ng" >&2
    exit 1
  fi
  echo "stress.sh: installing stress-ng from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y stress-ng >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y stress-ng >/dev/null; }
fi

mkdir -p bin/stress
cores=$(nproc)
stress-ng --cpu "$cores" --cpu-method matrixprod --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT

failed=0
for i in $(seq 1 "$RUNS"); do
  log=bin/stress/run-$i.log
  start=$(date +%s)
  if make test >"$log" 2>&1; then
    echo "stress run $i/$RUNS: ok ($(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg))"
  else
    failed=$((failed + 1))
    echo "stress run $i/$RUNS: FAILED ($(( $(date +%s) - start )) s); failures:"
    grep -E '^(--- FAIL|FAIL|panic:)' "$log" | head -20 | sed 's/^/  /'
  fi
done
[ "$failed" -eq 0 ] || { echo "stress.sh: $failed of $RUNS runs failed (logs in bin/stress/)" >&2; exit 1; }
