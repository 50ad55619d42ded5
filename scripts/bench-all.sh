#!/usr/bin/env bash
# bench-all.sh -- `make bench`: run every benchmark that was built, printing its figures.
# Benchmarks compare against a floor measured in the same run (peak sgemm, bare mj_step,
# bare ZeroMQ, cyclictest); nothing here asserts a timing.
set -uo pipefail
BUILD=${1:-build}
for b in bench_nn bench_sim bench_model bench_learner bench_transport bench_jitter bench_swap; do
  exe="$BUILD/bench/$b"
  [ -x "$exe" ] || { echo "== $b: not built"; continue; }
  echo "== $b"
  "$exe" || echo "== $b exited with $?"
done
