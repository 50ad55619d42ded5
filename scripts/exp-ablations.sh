#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# exp-ablations.sh -- the paper's Figures 3 and 5 on one plant: MAAC against its
# ablations, each seed a resumable run runs/abl-PLANT-VARIANT-sSEED:
#   maac            the defaults
#   h0              H = 0 (model-free actor; STEVE critic and model data kept)
#   no-steve        one-step critic targets
#   single-sample   one path and one terminal action
#   multi-path      K = 4 paths per start state (the paper's estimator)
#   real-only       start states and batches from real data only
#   no-entropy      alpha = 0
# then runs/abl-PLANT.csv/.png (curves) and runs/abl-PLANT-final.csv/.png (last
# evaluation of each variant, mean and std over the seeds).
#
#   scripts/exp-ablations.sh PLANT SEED...     e.g. scripts/exp-ablations.sh half_cheetah 0
# Environment: STEPS (default 50000), VARIANTS (default all of the above), EVAL_EVERY,
# EVAL_EPISODES and those of exp-common.sh. Rerun to resume.
source "$(dirname "$0")/exp-common.sh"
[ $# -ge 2 ] || { sed -n 3,19p "$0"; exit 2; }
PLANT=$1
shift
STEPS=${STEPS:-50000}
VARIANTS=${VARIANTS:-maac h0 no-steve single-sample multi-path real-only no-entropy}
flags() {
  case $1 in
    maac) ;;
    h0) echo "--horizon 0" ;;
    no-steve) echo "--no-steve" ;;
    single-sample) echo "--single-sample" ;;
    multi-path) echo "--n-paths 4" ;;
    real-only) echo "--real-only" ;;
    no-entropy) echo "--no-entropy" ;;
    *) echo "exp-ablations: unknown variant $1" >&2; exit 2 ;;
  esac
}
for v in $VARIANTS; do
  f=$(flags "$v")
  for seed in "$@"; do
    # shellcheck disable=SC2086
    train "abl-$PLANT-$v-s$seed" "$STEPS" --plant "$PLANT" --seed "$seed" $f
  done
done
specs=()
final="$RUNS/abl-$PLANT-final.csv"
echo "variant,final_mean,final_std,n_seeds,env_steps" > "$final"
for v in $VARIANTS; do
  specs+=("$v=$(run_dirs "abl-$PLANT-$v" "$@")")
  vals=""
  for seed in "$@"; do vals="$vals $(final_eval "$RUNS/abl-$PLANT-$v-s$seed" | cut -d, -f1)"; done
  echo "$v $(last_step "$RUNS/abl-$PLANT-$v-s$1") $vals" | awk '{
    n = 0; s = 0; q = 0
    for (i = 3; i <= NF; i++) if ($i != "nan") { n++; s += $i; q += $i * $i }
    m = n ? s / n : 0; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
    printf("%s,%.1f,%.1f,%d,%d\n", $1, m, sd, n, $2) }' >> "$final"
done
python_plot curves "$RUNS/abl-$PLANT" "${specs[@]}"
python_plot bars "$final" "$RUNS/abl-$PLANT-final" "$PLANT ablations: final evaluation"
echo "wrote $RUNS/abl-$PLANT.csv/.png $final $RUNS/abl-$PLANT-final.png"
