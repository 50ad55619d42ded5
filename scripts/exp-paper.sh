#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-paper.sh -- every learning run docs/results.md reports on, in priority order, as
# one resumable queue: rerun it after any interruption and it skips the finished runs
# and resumes the first unfinished one from its state.ckpt.
#
#   1. walker2d seed 0 to 100k               runs/fig1-walker2d-maac-s0
#   2. ant seed 0 to 150k                    runs/fig1-ant-maac-s0
#   3. half_cheetah seeds 1, 2 to 50k        runs/fig1-half_cheetah-maac-s{1,2}
#   4. SAC, MBPO on half_cheetah seed 0, 50k runs/fig1-half_cheetah-{sac,mbpo}-s0
#   5. H = 0, no STEVE on half_cheetah 0, 50k runs/abl-half_cheetah-{h0,no-steve}-s0
#   6. hopper seed 1 to 100k                 runs/fig1-hopper-maac-s1
#
#   scripts/exp-paper.sh            all of them, in that order
#   scripts/exp-paper.sh 3 5        only those items
# Environment: EVAL_EVERY (default 1000, the curves of docs/results.md), THREADS
# (`maac train --threads`, fresh and resumed runs; default: see exp-common.sh), and
# those of exp-common.sh. Each run's figures are in runs/NAME/eval.csv as they come.
set -euo pipefail
here=$(dirname "$0")
export EVAL_EVERY=${EVAL_EVERY:-1000}
items=("$@")
[ ${#items[@]} -gt 0 ] || items=(1 2 3 4 5 6)
for i in "${items[@]}"; do
  case $i in [1-6]) ;; *) echo "exp-paper: no item $i (1-6)" >&2; exit 2 ;; esac
done
for i in "${items[@]}"; do
  echo "== exp-paper item $i ($(date -u +%FT%TZ))"
  case $i in
    1) STEPS=100000 ALGOS=maac "$here/exp-fig1.sh" walker2d 0 ;;
    2) STEPS=150000 ALGOS=maac "$here/exp-fig1.sh" ant 0 ;;
    3) STEPS=50000 ALGOS=maac "$here/exp-fig1.sh" half_cheetah 1 2 ;;
    4) STEPS=50000 ALGOS="sac mbpo" "$here/exp-fig1.sh" half_cheetah 0 ;;
    5) STEPS=50000 VARIANTS="h0 no-steve" "$here/exp-ablations.sh" half_cheetah 0 ;;
    6) STEPS=100000 ALGOS=maac "$here/exp-fig1.sh" hopper 1 ;;
  esac
done
