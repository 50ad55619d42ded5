#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-table2.sh -- the paper's Table 2 on one plant: test-time return of the trained
# policy against CEM-MPC with its learner's ensemble and Q (`maac eval` and
# `maac eval --mpc`), for each run; runs/table2-PLANT.csv (per run, then the mean over
# runs of the per-run means) and runs/table2-PLANT.png.
#
#   scripts/exp-table2.sh PLANT [RUN_DIR...]   (default: runs/fig1-PLANT-maac-s*)
# Environment: EPISODES (default 5), MPC_ARGS (extra flags for `maac eval --mpc`, e.g.
# --cem.population 200), MAX_STEPS (cap per episode, default 0 = the plant's), and
# those of exp-common.sh.
source "$(dirname "$0")/exp-common.sh"
[ $# -ge 1 ] || { sed -n 3,11p "$0"; exit 2; }
PLANT=$1
shift
if [ $# -eq 0 ]; then
  set -- "$RUNS"/fig1-"$PLANT"-maac-s*
fi
EPISODES=${EPISODES:-5}
out="$RUNS/table2-$PLANT.csv"
echo "run,policy_mean,policy_std,mpc_mean,mpc_std,env_steps" > "$out"
ret() { sed -n 's/.* return \([-0-9.]*\) +- \([-0-9.]*\) .*/\1,\2/p'; }
for d in "$@"; do
  [ -s "$d/policy.ckpt" ] && [ -s "$d/learner.ckpt" ] || { echo "skip $d: no checkpoints" >&2; continue; }
  p=$("$MAAC" eval --policy "$d/policy.ckpt" --plant "$PLANT" --episodes "$EPISODES" \
        --max-steps "${MAX_STEPS:-0}" --quiet | ret)
  # shellcheck disable=SC2086
  m=$("$MAAC" eval --mpc --learner "$d/learner.ckpt" --plant "$PLANT" --episodes "$EPISODES" \
        --max-steps "${MAX_STEPS:-0}" --quiet ${MPC_ARGS:-} | ret)
  echo "$(basename "$d"),$p,$m,$(last_step "$d")" | tee -a "$out"
done
awk -F, 'NR > 1 { n++; p += $2; pp += $2 * $2; m += $4; mm += $4 * $4 }
  END { if (n) { pm = p / n; mmn = m / n
        printf("mean of %d runs,%.1f,%.1f,%.1f,%.1f,\n", n, pm, n > 1 ? sqrt((pp - n * pm * pm) / (n - 1)) : 0,
               mmn, n > 1 ? sqrt((mm - n * mmn * mmn) / (n - 1)) : 0) } }' "$out" >> "$out"
python_plot bars "$out" "$RUNS/table2-$PLANT" "$PLANT: policy vs CEM-MPC at test time"
echo "wrote $out $RUNS/table2-$PLANT.png"
