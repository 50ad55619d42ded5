#!/bin/sh
# maac_cli_smoke.sh -- `maac train` (INI + flags, files, checkpoints, the best
# evaluation's policy), `maac eval` (per-episode lines; policy and CEM-MPC from the
# learner checkpoint), bad settings rejected, and
# `maac train --resume` (after a finished run and after Ctrl-C): eval.csv continues;
# a run resumed from an episode boundary is the uninterrupted run, evaluation for evaluation.
# Usage: maac_cli_smoke.sh PATH/TO/maac
set -eu
MAAC="$1"
DIR=$(mktemp -d /tmp/maac_cli_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/run.ini" <<INI
[learner]
plant = inverted_pendulum
init_random_steps = 200
updates_per_step = 2
[cem]
population = 32
n_elites = 4
INI
"$MAAC" train --config "$DIR/run.ini" --steps 600 --eval-every 300 --eval-episodes 2 \
    --horizon 1 --quiet --out "$DIR/run" > "$DIR/train.out"
for f in eval.csv timing.csv policy.ckpt policy_best.ckpt learner.ckpt config.ini; do
    test -s "$DIR/run/$f" || { echo "missing $f"; exit 1; }
done
grep -q '^horizon = 1$' "$DIR/run/config.ini" || { echo "flag did not override"; exit 1; }
grep -q '^updates_per_step = 2$' "$DIR/run/config.ini" || { echo "INI not applied"; exit 1; }
grep -q '^cem.population = 32$' "$DIR/run/config.ini" || { echo "INI [cem] not applied"; exit 1; }
test "$(wc -l < "$DIR/run/eval.csv")" -eq 3 || { echo "eval.csv rows"; exit 1; }
grep -q '^q_learning,' "$DIR/run/timing.csv" || { echo "timing.csv"; exit 1; }
"$MAAC" eval --policy "$DIR/run/policy.ckpt" --episodes 2 > "$DIR/eval.out"
grep -q 'policy  return' "$DIR/eval.out" || { echo "eval summary"; exit 1; }
test "$(grep -c '^episode [01]  return ' "$DIR/eval.out")" -eq 2 || {
    echo "eval per-episode lines"; cat "$DIR/eval.out"; exit 1; }
# policy_best.ckpt is the policy of the best evaluation: evaluated again with the same
# seed and episodes, it scores that evaluation's mean.
BEST=$(awk -F, 'NR > 1 && (NR == 2 || $2 > b) { b = $2 } END { print b }' "$DIR/run/eval.csv")
AGAIN=$("$MAAC" eval --policy "$DIR/run/policy_best.ckpt" --episodes 2 --quiet |
        sed -n 's/.*policy  return \([-0-9.]*\) .*/\1/p')
awk -v a="$BEST" -v b="$AGAIN" 'BEGIN { d = a - b; exit !(b != "" && d < 0.02 && d > -0.02) }' || {
    echo "policy_best.ckpt scores $AGAIN, best evaluation was $BEST"; exit 1; }
"$MAAC" eval --mpc --learner "$DIR/run/learner.ckpt" --plant inverted_pendulum \
    --episodes 1 --max-steps 50 --cem.population 32 --cem.n_elites 4 | grep -q 'cem-mpc  return'
if "$MAAC" train --plant inverted_pendulum --no-such-setting 1 --steps 1 2> /dev/null; then
    echo "unknown setting accepted"; exit 1
fi
# Presets and shortcuts resolve as documented; a flag after --algo still wins.
"$MAAC" config --plant hopper --algo sac --single-sample --updates-per-step 3 > "$DIR/sac.ini"
for kv in 'horizon = 0' 'steve = 0' 'real_only = 1' 'updates_per_step = 3' 'n_paths = 1' \
          'terminal_actions = 1'; do
    grep -q "^$kv\$" "$DIR/sac.ini" || { echo "--algo sac: no '$kv'"; exit 1; }
done
"$MAAC" config --plant hopper --n-paths 4 | grep -q '^n_paths = 4$' || { echo "--n-paths"; exit 1; }
if "$MAAC" config --plant hopper --algo nope 2> /dev/null; then echo "bad --algo accepted"; exit 1; fi
if "$MAAC" eval --policy "$DIR/run/eval.csv" --plant inverted_pendulum 2> /dev/null; then
    echo "bad policy file accepted"; exit 1
fi
# Resume: the 600-step run continues to 1200 with its own evaluation schedule (every
# 300 steps, not the default 5000): eval.csv gains the rows of steps 900 and 1200.
test -s "$DIR/run/state.ckpt" || { echo "missing state.ckpt"; exit 1; }
"$MAAC" train --resume "$DIR/run" --steps 1200 --quiet > "$DIR/resume.out"
grep -q 'resumed .* at env step 600' "$DIR/resume.out" || { echo "resume step"; exit 1; }
test "$(wc -l < "$DIR/run/eval.csv")" -eq 5 || { echo "eval.csv rows after resume"; exit 1; }
test "$(cut -d, -f1 "$DIR/run/eval.csv" | tr '\n' ' ')" = "env_steps 300 600 900 1200 " || {
    echo "eval.csv steps after resume"; cat "$DIR/run/eval.csv"; exit 1; }
grep -q '^horizon = 1$' "$DIR/run/config.ini" || { echo "resume changed the settings"; exit 1; }
# A row past the saved step (a run killed after an evaluation, before its state save)
# is dropped on resume and written again; a given --eval-every overrides the saved one,
# and --threads the saved thread count.
echo "1500,-1,0,0,0,0,0,0,0,0,0" >> "$DIR/run/eval.csv"
"$MAAC" train --resume "$DIR/run" --steps 1700 --eval-every 250 --eval-episodes 2 --quiet \
    --threads 1 > /dev/null
grep -q '^threads = 1$' "$DIR/run/config.ini" || { echo "--threads on resume ignored"; exit 1; }
test "$(cut -d, -f1 "$DIR/run/eval.csv" | tr '\n' ' ')" = \
    "env_steps 300 600 900 1200 1250 1500 1700 " || {
    echo "eval.csv steps after the second resume"; cat "$DIR/run/eval.csv"; exit 1; }
if grep -q '^1500,-1,' "$DIR/run/eval.csv"; then echo "stale eval row kept"; exit 1; fi
if "$MAAC" train --resume "$DIR/run" --steps 2000 --horizon 2 2> /dev/null; then
    echo "setting accepted with --resume"; exit 1
fi
if "$MAAC" train --resume "$DIR/run" --steps 2000 --threads 0 2> /dev/null; then
    echo "--threads 0 accepted with --resume"; exit 1
fi
if "$MAAC" train --resume "$DIR" --steps 2000 2> /dev/null; then
    echo "resume without state.ckpt accepted"; exit 1
fi
# Ctrl-C: SIGINT stops a long run after its current step and saves state.ckpt; the
# resumed run starts at that step.
"$MAAC" train --config "$DIR/run.ini" --steps 1000000 --eval-every 100000 --quiet \
    --out "$DIR/int" > "$DIR/int.out" &
PID=$!
sleep 3
kill -INT "$PID"
wait "$PID"
N=$(sed -n 's/^interrupted after \([0-9]*\) env steps.*/\1/p' "$DIR/int.out")
test -n "$N" && test -s "$DIR/int/state.ckpt" || { echo "no state after SIGINT"; exit 1; }
"$MAAC" train --resume "$DIR/int" --steps $((N + 100)) --eval-every 100000 --eval-episodes 1 \
    --quiet > "$DIR/int2.out"
grep -q "resumed .* at env step $N\$" "$DIR/int2.out" || { echo "resume after SIGINT"; exit 1; }
grep -q "steps $((N + 100)) " "$DIR/int2.out" || { echo "resumed run length"; exit 1; }
test "$(wc -l < "$DIR/int/eval.csv")" -eq 2 || { echo "eval.csv after SIGINT resume"; exit 1; }
# A state saved at an episode boundary (reacher: 50-step episodes, no termination;
# evaluations every 200 steps) resumes exactly: 0-400 then 400-600 gives the same
# evaluations, training returns and learner statistics as 0-600 in one go (every
# eval.csv column but wall_s).
SET="--plant reacher --init-random-steps 200 --updates-per-step 1 --horizon 1 --n-models 2
     --n-elites 2 --model-width 32 --model-hidden 2 --policy-width 32 --q-width 32
     --batch 32 --rollout-batch 256 --model-train-freq 100 --eval-every 200
     --eval-episodes 2 --quiet"
# shellcheck disable=SC2086
"$MAAC" train $SET --steps 600 --out "$DIR/whole" > /dev/null
# shellcheck disable=SC2086
"$MAAC" train $SET --steps 400 --out "$DIR/split" > /dev/null
"$MAAC" train --resume "$DIR/split" --steps 600 --quiet > /dev/null
cut -d, -f1-5,7- "$DIR/whole/eval.csv" > "$DIR/whole.cols"
cut -d, -f1-5,7- "$DIR/split/eval.csv" > "$DIR/split.cols"
test "$(wc -l < "$DIR/whole.cols")" -eq 4 || { echo "reacher eval.csv rows"; exit 1; }
cmp -s "$DIR/whole.cols" "$DIR/split.cols" || {
    echo "resumed at an episode boundary, the run differs from the uninterrupted one"
    diff "$DIR/whole.cols" "$DIR/split.cols"; exit 1; }
echo "maac_cli_smoke: ok"
