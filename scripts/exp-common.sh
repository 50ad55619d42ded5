# SPDX-License-Identifier: Apache-2.0
# exp-common.sh -- sourced by scripts/exp-*.sh: the `maac` binary, resumable training
# runs under runs/, and the plotting step. Not a command of its own.
#
# Environment: BUILD (build tree, default build), RUNS (default runs), STEPS,
# EVAL_EVERY, EVAL_EPISODES (each script documents its defaults), PYTHON (a python3
# with matplotlib; default: python3 if it has it, else /usr/bin/python3), MAAC_ARGS
# (extra `maac train` flags for fresh runs, e.g. a tiny smoke setting), THREADS (`maac
# train --threads`, fresh and resumed runs alike; unset: 2 when fresh, the saved count
# when resumed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-runs}
MAAC="$BUILD/cli/maac"
[ -x "$MAAC" ] || { echo "$0: $MAAC not built (make build)" >&2; exit 1; }
mkdir -p "$RUNS"

# The last env_steps of DIR/eval.csv (0 if none).
last_step() {
  [ -s "$1/eval.csv" ] || { echo 0; return; }
  awk -F, 'NR > 1 && $1 + 0 > m { m = $1 + 0 } END { print m + 0 }' "$1/eval.csv"
}

# train NAME STEPS [maac train flags...]: runs/NAME to STEPS env steps. A finished run
# is left alone; one with a state.ckpt is resumed (`maac train --resume`, its saved
# settings); otherwise a fresh run starts with the flags (and MAAC_ARGS).
train() {
  local name=$1 steps=$2
  shift 2
  local dir="$RUNS/$name"
  if [ "$(last_step "$dir")" -ge "$steps" ]; then
    echo "== $name: done ($(last_step "$dir") steps)"
    return 0
  fi
  if [ -s "$dir/state.ckpt" ]; then
    echo "== $name: resuming at $(last_step "$dir") to $steps steps"
    "$MAAC" train --resume "$dir" --steps "$steps" --quiet ${THREADS:+--threads "$THREADS"}
  else
    echo "== $name: training to $steps steps"
    # shellcheck disable=SC2086
    "$MAAC" train "$@" --steps "$steps" --eval-every "${EVAL_EVERY:-5000}" \
      --eval-episodes "${EVAL_EPISODES:-5}" --out "$dir" --quiet \
      ${THREADS:+--threads "$THREADS"} ${MAAC_ARGS:-}
  fi
}

# A python3 that has matplotlib (make plots-deps installs Debian's).
python_plot() {
  local py
  for py in ${PYTHON:-} python3 /usr/bin/python3; do
    if "$py" -c 'import matplotlib' 2>/dev/null; then
      "$py" scripts/plot.py "$@"
      return
    fi
  done
  echo "$0: no python3 with matplotlib (make plots-deps); CSVs written, no PNG" >&2
  return 1
}

# Comma-joined run directories runs/PREFIX-sSEED for the given seeds.
run_dirs() {
  local prefix=$1 out="" s
  shift
  for s in "$@"; do out="$out${out:+,}$RUNS/$prefix-s$s"; done
  echo "$out"
}

# The final evaluation of a run: "mean,std" of its last eval.csv row.
final_eval() {
  awk -F, 'NR > 1 { m = $2; s = $3 } END { if (NR > 1) print m "," s; else print "nan,nan" }' \
    "$1/eval.csv"
}
