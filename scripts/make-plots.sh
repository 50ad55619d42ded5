#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make-plots.sh -- `make plots`: the figures of docs/results.md from the data kept in
# the repository (docs/data/): Figure 2 is recomputed (`maac bench fig2`, 5 seeds,
# about 30 s) into docs/data/fig2.csv; every docs/data/curves-*.csv (label,env_steps,
# mean,std,n as scripts/plot.py curves writes it) is drawn again. PNGs go to docs/img/.
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
for f in docs/data/curves-*.csv; do
  [ -e "$f" ] || continue
  "$PY" scripts/plot.py table-curves "$f" "docs/img/$(basename "$f" .csv)"
done
echo "wrote docs/data/fig2.csv and docs/img/*.png"
