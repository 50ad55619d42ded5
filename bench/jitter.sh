#!/usr/bin/env bash
# jitter.sh -- maacd's control-loop wake-up jitter next to its floor, cyclictest
# (Debian rt-tests), at the same rate and priority, in the same run.
#
#   bench/jitter.sh [BUILD_DIR] [RATE_HZ] [SECONDS] [PRIORITY]
# Prints p50 / p99 / p99.9 / max (us) and misses for: cyclictest, bench_jitter --mode
# bare (our loop skeleton), bench_jitter --mode ctrl (the real control thread serving a
# policy to a plant thread over ZeroMQ), and the ratio of each p99 to cyclictest's
# (goal: <= 1.5x). Figures only; never fails on timing.
set -euo pipefail
BUILD=${1:-build}
RATE=${2:-1000}
SECS=${3:-10}
PRIO=${4:-80}
BENCH="$BUILD/bench/bench_jitter"
[ -x "$BENCH" ] || { echo "jitter.sh: $BENCH not built" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
INTERVAL=$(( 1000000 / RATE ))
LOOPS=$(( RATE * SECS ))

# quantiles from "us count" lines
quant() {
  python3 - "$1" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
n = sum(c for _, c in rows)
def q(p):
    rank = max(1, int(p * n + 0.999999))
    seen = 0
    for us, c in rows:
        seen += c
        if seen >= rank:
            return us + 1      # upper edge of the 1-us bin, as rt_hist_quantile
    return rows[-1][0] + 1
print(f"{q(0.5)} {q(0.99)} {q(0.999)} {n}")
PY
}

if command -v cyclictest >/dev/null 2>&1; then
  # -m mlockall, -n clock_nanosleep, -t1 one thread, -q quiet, -h histogram (us)
  cyclictest -m -n -t1 -p "$PRIO" -i "$INTERVAL" -l "$LOOPS" -q -h 10000 > "$TMP/ct.out" 2>&1 || true
  grep -E '^[0-9]+ ' "$TMP/ct.out" | awk '$2 > 0 { print $1+0, $2+0 }' > "$TMP/ct.hist"
  ct_max=$(grep -E "^# Max Latencies" "$TMP/ct.out" | awk '{print $4+0}')
  read -r c50 c99 c999 cn < <(quant "$TMP/ct.hist")
  echo "cyclictest rate $RATE Hz  samples $cn  p50 $c50  p99 $c99  p99.9 $c999  max ${ct_max} us  (1-us bins, upper edge)"
else
  echo "cyclictest not installed (apt install rt-tests): no floor to compare with"
  c99=""
fi

"$BENCH" --mode bare --rate "$RATE" --seconds "$SECS" --priority "$PRIO" --hist "$TMP/bare.hist"
"$BENCH" --mode ctrl --rate "$RATE" --seconds "$SECS" --priority "$PRIO" --hist "$TMP/ctrl.hist"
if [ -n "${c99:-}" ]; then
  for m in bare ctrl; do
    read -r p50 p99 p999 n < <(quant "$TMP/$m.hist")
    python3 -c "print(f'ratio p99 $m / cyclictest: {$p99 / max($c99, 1):.2f}x  (goal <= 1.5x)')"
  done
fi
