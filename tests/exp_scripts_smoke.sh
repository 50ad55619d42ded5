#!/bin/sh
# exp_scripts_smoke.sh -- every experiment script end to end on a tiny setting
# (inverted_pendulum, a few hundred steps): runs land in RUNS, each script writes its
# CSV and PNG, a rerun with more steps resumes the runs (eval.csv continues), a
# finished run is left alone, and the tables have a row per run or variant.
# Usage: exp_scripts_smoke.sh SOURCE_DIR BUILD_DIR PYTHON_WITH_MATPLOTLIB
set -eu
SRC="$1"
export BUILD="$2" PYTHON="$3"
RUNS=$(mktemp -d /tmp/maac_exp_XXXXXX)
export RUNS
trap 'rm -rf "$RUNS"' EXIT
export EVAL_EVERY=200 EVAL_EPISODES=1
export MAAC_ARGS="--init-random-steps 200 --updates-per-step 1 --rollout-batch 200 --model-max-epochs 2 --batch 32"
png() { test "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '211PNG' || { echo "$1 is not a PNG"; exit 1; }; }
rows() { grep -c . "$1"; }

STEPS=400 ALGOS="maac sac" THREADS=1 sh -c "\"$SRC/scripts/exp-fig1.sh\" inverted_pendulum 0 1" > "$RUNS/log1"
grep -q '^threads = 1$' "$RUNS/fig1-inverted_pendulum-maac-s1/config.ini" || { echo "THREADS"; exit 1; }
png "$RUNS/fig1-inverted_pendulum.png"
grep -q '^sac,400,' "$RUNS/fig1-inverted_pendulum.csv" || { echo "fig1 csv"; exit 1; }
grep -q '^# algo: sac ' "$RUNS/fig1-inverted_pendulum-sac-s0/config.ini" || { echo "sac preset"; exit 1; }
# resume: 400 -> 600 continues eval.csv; a second call finds the runs done
STEPS=600 ALGOS="sac" sh -c "\"$SRC/scripts/exp-fig1.sh\" inverted_pendulum 0" > "$RUNS/log2"
grep -q 'resuming at 400 to 600' "$RUNS/log2" || { echo "no resume"; cat "$RUNS/log2"; exit 1; }
test "$(cut -d, -f1 "$RUNS/fig1-inverted_pendulum-sac-s0/eval.csv" | tr '\n' ' ')" = \
  "env_steps 200 400 600 " || { echo "resumed eval.csv"; exit 1; }
STEPS=600 ALGOS="sac" sh -c "\"$SRC/scripts/exp-fig1.sh\" inverted_pendulum 0" > "$RUNS/log3"
grep -q 'done (600 steps)' "$RUNS/log3" || { echo "finished run not left alone"; exit 1; }

STEPS=400 VARIANTS="maac h0 single-sample" sh -c "\"$SRC/scripts/exp-ablations.sh\" inverted_pendulum 0" > /dev/null
png "$RUNS/abl-inverted_pendulum.png"
png "$RUNS/abl-inverted_pendulum-final.png"
test "$(rows "$RUNS/abl-inverted_pendulum-final.csv")" -eq 4 || { echo "ablation table"; exit 1; }
grep -q '^h0,.*,1,400$' "$RUNS/abl-inverted_pendulum-final.csv" || { echo "h0 row"; exit 1; }

EPISODES=1 MAX_STEPS=30 MPC_ARGS="--cem.population 16 --cem.n_elites 2 --cem.iterations 1" \
  "$SRC/scripts/exp-table2.sh" inverted_pendulum > /dev/null
png "$RUNS/table2-inverted_pendulum.png"
test "$(rows "$RUNS/table2-inverted_pendulum.csv")" -eq 4 || { echo "table2 rows"; exit 1; }
grep -q '^mean of 2 runs,' "$RUNS/table2-inverted_pendulum.csv" || { echo "table2 mean"; exit 1; }

AT=300 ITER=100 ALGOS="maac mbpo" "$SRC/scripts/exp-table1.sh" inverted_pendulum 0 > /dev/null
png "$RUNS/table1-inverted_pendulum.png"
grep -q '^total,' "$RUNS/table1-inverted_pendulum.csv" || { echo "table1"; exit 1; }
test -s "$RUNS/table1-inverted_pendulum-mbpo-s0/timing-iter.csv" || { echo "table1 iteration"; exit 1; }

"$SRC/scripts/exp-fig2.sh" 1 --hmax 2 --q-steps 100 --n-start 16 > /dev/null 2>&1
png "$RUNS/fig2/fig2-summary.png"
test "$(rows "$RUNS/fig2/fig2.csv")" -eq 7 || { echo "fig2 rows"; exit 1; }
# the queue of docs/results.md refuses an item it does not have, before running anything
if "$SRC/scripts/exp-paper.sh" 6 7 > "$RUNS/log4" 2>&1; then echo "exp-paper item 7 accepted"; exit 1; fi
grep -q 'no item 7' "$RUNS/log4" || { echo "exp-paper error"; cat "$RUNS/log4"; exit 1; }
echo "exp_scripts_smoke: ok"
