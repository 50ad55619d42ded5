#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-table1.sh -- the paper's Table 1 on one plant: seconds each part of training
# takes for one 1000-step iteration after 6000 env steps, MAAC against MBPO
# (`--algo`), per seed: runs to 6000 steps (runs/table1-PLANT-ALGO-sSEED), a copy of
# timing.csv, resumed to 7000, the difference; runs/table1-PLANT.csv (part, mean and
# std over seeds per algorithm) and runs/table1-PLANT.png. Seconds depend on the
# machine and its load: the CSV header comment names the CPU.
#
#   scripts/exp-table1.sh PLANT SEED...       e.g. scripts/exp-table1.sh half_cheetah 0 1
# Environment: AT (default 6000), ITER (default 1000), ALGOS (default "maac mbpo"),
# and those of exp-common.sh.
source "$(dirname "$0")/exp-common.sh"
[ $# -ge 2 ] || { sed -n 3,12p "$0"; exit 2; }
PLANT=$1
shift
AT=${AT:-6000}
ITER=${ITER:-1000}
ALGOS=${ALGOS:-maac mbpo}
export EVAL_EVERY=${EVAL_EVERY:-$AT}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for algo in $ALGOS; do
  for seed in "$@"; do
    name="table1-$PLANT-$algo-s$seed"
    d="$RUNS/$name"
    if [ ! -s "$d/timing-iter.csv" ]; then
      train "$name" "$AT" --plant "$PLANT" --algo "$algo" --seed "$seed"
      cp "$d/timing.csv" "$d/timing-$AT.csv"
      "$MAAC" train --resume "$d" --steps $((AT + ITER)) --eval-every "$ITER" --quiet
      # per part: seconds of this iteration = total now - total at AT
      awk -F, 'NR == FNR { if (FNR > 1) a[$1] = $2; next }
               FNR == 1 { print "part,seconds"; next } { printf("%s,%.3f\n", $1, $2 - a[$1]) }' \
        "$d/timing-$AT.csv" "$d/timing.csv" > "$d/timing-iter.csv"
    fi
    awk -F, -v al="$algo" 'NR > 1 { print al "," $1 "," $2 }' "$d/timing-iter.csv" >> "$tmp"
  done
done
out="$RUNS/table1-$PLANT.csv"
{
  echo "# seconds per $ITER-step iteration after $AT steps; CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf "part"
  for algo in $ALGOS; do printf ",%s_mean,%s_std" "$algo" "$algo"; done
  echo
  for part in model_training model_rollouts q_learning policy_optimisation updates_wall env evaluation total; do
    printf "%s" "$part"
    for algo in $ALGOS; do
      awk -F, -v al="$algo" -v p="$part" '$1 == al && $2 == p { n++; s += $3; q += $3 * $3 }
        END { m = n ? s / n : 0; printf(",%.2f,%.2f", m, n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0) }' "$tmp"
    done
    echo
  done
} > "$out"
grep -v '^#' "$out" > "$tmp.plot"
python_plot bars "$tmp.plot" "$RUNS/table1-$PLANT" "$PLANT: seconds per iteration after $AT steps"
rm -f "$tmp.plot"
cat "$out"
echo "wrote $out $RUNS/table1-$PLANT.png"
