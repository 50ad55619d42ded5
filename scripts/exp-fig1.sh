#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-fig1.sh -- the paper's Figure 1 on one plant: learning curves of MAAC, SAC and
# MBPO (`maac train --algo`), each seed a resumable run runs/fig1-PLANT-ALGO-sSEED;
# then runs/fig1-PLANT.csv (mean, std, n per step) and runs/fig1-PLANT.png.
#
#   scripts/exp-fig1.sh PLANT SEED...      e.g. scripts/exp-fig1.sh half_cheetah 0 1 2
# Environment: STEPS (default 100000), ALGOS (default "maac sac mbpo"), EVAL_EVERY
# (5000), EVAL_EPISODES (5), and those of exp-common.sh. Rerun to resume.
source "$(dirname "$0")/exp-common.sh"
[ $# -ge 2 ] || { sed -n 3,10p "$0"; exit 2; }
PLANT=$1
shift
STEPS=${STEPS:-100000}
ALGOS=${ALGOS:-maac sac mbpo}
for algo in $ALGOS; do
  for seed in "$@"; do
    train "fig1-$PLANT-$algo-s$seed" "$STEPS" --plant "$PLANT" --algo "$algo" --seed "$seed"
  done
done
specs=()
for algo in $ALGOS; do specs+=("$algo=$(run_dirs "fig1-$PLANT-$algo" "$@")"); done
python_plot curves "$RUNS/fig1-$PLANT" "${specs[@]}"
echo "wrote $RUNS/fig1-$PLANT.csv $RUNS/fig1-$PLANT.png"
