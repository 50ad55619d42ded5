#!/bin/sh
# maac_cli_smoke.sh -- `maac train` (INI + flags, files, checkpoints), `maac eval`
# (policy and CEM-MPC from the learner checkpoint), bad settings rejected.
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
for f in eval.csv timing.csv policy.ckpt learner.ckpt config.ini; do
    test -s "$DIR/run/$f" || { echo "missing $f"; exit 1; }
done
grep -q '^horizon = 1$' "$DIR/run/config.ini" || { echo "flag did not override"; exit 1; }
grep -q '^updates_per_step = 2$' "$DIR/run/config.ini" || { echo "INI not applied"; exit 1; }
grep -q '^cem.population = 32$' "$DIR/run/config.ini" || { echo "INI [cem] not applied"; exit 1; }
test "$(wc -l < "$DIR/run/eval.csv")" -eq 3 || { echo "eval.csv rows"; exit 1; }
grep -q '^q_learning,' "$DIR/run/timing.csv" || { echo "timing.csv"; exit 1; }
"$MAAC" eval --policy "$DIR/run/policy.ckpt" --episodes 2 | grep -q 'policy  return'
"$MAAC" eval --mpc --learner "$DIR/run/learner.ckpt" --plant inverted_pendulum \
    --episodes 1 --max-steps 50 --cem.population 32 --cem.n_elites 4 | grep -q 'cem-mpc  return'
if "$MAAC" train --plant inverted_pendulum --no-such-setting 1 --steps 1 2> /dev/null; then
    echo "unknown setting accepted"; exit 1
fi
if "$MAAC" eval --policy "$DIR/run/eval.csv" --plant inverted_pendulum 2> /dev/null; then
    echo "bad policy file accepted"; exit 1
fi
echo "maac_cli_smoke: ok"
