#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-fig2.sh -- the paper's Figure 2: L1 error of the MAAC policy gradient against H on
# the double integrator, true and learned dynamics, SEEDS seeds (`maac bench fig2`);
# runs/fig2/fig2.csv (every seed and H), runs/fig2/fig2-summary.csv (mean, std) and
# runs/fig2/fig2-summary.png. About 5 s per seed.
#
#   scripts/exp-fig2.sh [SEEDS] [maac bench fig2 flags...]     (default 5 seeds)
source "$(dirname "$0")/exp-common.sh"
SEEDS=${1:-5}
shift || true
mkdir -p "$RUNS/fig2"
"$MAAC" bench fig2 --seeds "$SEEDS" --out "$RUNS/fig2/fig2.csv" "$@"
python_plot fig2 "$RUNS/fig2/fig2.csv" "$RUNS/fig2/fig2-summary"
echo "wrote $RUNS/fig2/fig2.csv $RUNS/fig2/fig2-summary.csv $RUNS/fig2/fig2-summary.png"
