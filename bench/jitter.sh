#!/usr/bin/env bash
# jitter.sh -- maacd's control-loop wake-up jitter next to its floor, cyclictest
# (Debian rt-tests), at the same rate and priority, in the same run.
#
#   bench/jitter.sh [BUILD_DIR] [RATE_HZ] [SECONDS] [PRIORITY]
# bench_jitter (default --mode all) runs /usr/bin/cyclictest itself, then its bare loop
# skeleton, then the real control thread serving a policy to a plant thread over
# ZeroMQ, and prints p50 / p99 / p99.9 / max and misses for each and the p99 ratios
# (goal: <= 1.5x cyclictest's). Figures only; never fails on timing.
set -euo pipefail
BUILD=${1:-build}
exec "$BUILD/bench/bench_jitter" --rate "${2:-1000}" --seconds "${3:-10}" --priority "${4:-80}"
