#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make-plots.sh -- `make plots`: the figures of docs/results.md from the data kept in
# the repository (docs/data/): Figure 2 is recomputed (`maac bench fig2`, 5 seeds,
# about 30 s) into docs/data/fig2.csv; the learning curves are drawn from the runs'
# evaluations kept in docs/data/runs/NAME/eval.csv (env_steps, mean and std of the 5
# evaluation episodes, as in a run's eval.csv). PNGs, and the CSV of what each plots
# (mean and std over the runs of a label, n), go to docs/img/.
#
#   scripts/make-plots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$p" -c 'import matplotlib' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "make-plots: no python3 with matplotlib (make plots-deps)" >&2; exit 1; }
mkdir -p docs/data docs/img
"$BUILD/cli/maac" bench fig2 --seeds 5 --out docs/data/fig2.csv
"$PY" scripts/plot.py fig2 docs/data/fig2.csv docs/img/fig2
rm -f docs/img/fig2.csv   # the summary is in docs/results.md; fig2.csv has every seed
R=docs/data/runs
"$PY" scripts/plot.py curves docs/img/half_cheetah \
  "defaults today, seed 0=$R/hc0_te3" \
  "defaults today, seed 1, EPYC-Z (stopped at 11k)=$R/fig1-half_cheetah-maac-s1" \
  "defaults today, seed 1, Zen5 (stopped at 17k)=$R/fig1-half_cheetah-maac-s1-zen5" \
  "defaults today, seed 1, Zen5, 2026-12-07=$R/fig1-half_cheetah-maac-s1-1207" \
  "defaults today, seed 2, Zen5=$R/fig1-half_cheetah-maac-s2" \
  "weight-averaged, target -6=$R/hc0_avg,$R/hc1_avg,$R/hc2_avg" \
  "soft path, online policy=$R/hc0_soft,$R/hc1_s10,$R/hc2_s10" \
  "released objective=$R/hc_speed,$R/hc1"
"$PY" scripts/plot.py curves docs/img/hopper "defaults=$R/hopper0"
"$PY" scripts/plot.py curves docs/img/half_cheetah-h0 "MAAC (H = 4), seed 1=$R/hc1" \
  "H = 0, seed 1=$R/hc1_h0"
"$PY" scripts/plot.py curves docs/img/abl-half_cheetah "MAAC (H = 4), seed 0=$R/hc0_te3" \
  "H = 0 (--horizon 0), seed 0=$R/abl-half_cheetah-h0-s0" \
  "no STEVE (--no-steve), seed 0=$R/abl-half_cheetah-no-steve-s0"
"$PY" scripts/plot.py curves docs/img/fig1-half_cheetah "MAAC, seed 0=$R/hc0_te3" \
  "SAC (--algo sac), seed 0=$R/fig1-half_cheetah-sac-s0" \
  "MBPO (--algo mbpo), seed 0=$R/fig1-half_cheetah-mbpo-s0"
"$PY" scripts/plot.py bars docs/data/table1-half_cheetah.csv docs/img/table1-half_cheetah \
  "half_cheetah: s per iteration after 6k steps, Zen5"
"$PY" scripts/plot.py curves docs/img/walker2d "MAAC defaults, seed 0 (stopped at 55k)=$R/fig1-walker2d-maac-s0" \
  "MAAC defaults, seed 0, Zen5, 2026-12-07 (recorded to 20k)=$R/fig1-walker2d-maac-s0-1207" \
  "MAAC defaults, seed 0, a third run=$R/fig1-walker2d-maac-s0-r3"
"$PY" scripts/plot.py curves docs/img/ant "MAAC defaults, seed 0=$R/fig1-ant-maac-s0"
echo "wrote docs/data/fig2.csv and docs/img/*.png"
