#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# maac_plugin_smoke.sh -- `maac train --reward-plugin`: the example plugin (2 observation
# entries, 1 action: the double integrator's layout) is loaded and trained with, with a
# termination rule; a plugin with a wrong gradient is refused with the entry named.
# usage: maac_plugin_smoke.sh MAAC GOOD.so BAD_GRADIENT.so
set -eu
MAAC=$1; GOOD=$2; BAD=$3
DIR=$(mktemp -d /tmp/maac_plugin_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
"$MAAC" train --plant double_integrator --reward-plugin "$GOOD" --terminate-obs-max "5, none" \
    --steps 400 --init-random-steps 200 --updates-per-step 1 --eval-every 400 \
    --eval-episodes 1 --quiet --out "$DIR/run" > "$DIR/out" 2> "$DIR/err"
grep -q "reward plugin, termination rule" "$DIR/err" || { echo "plugin not reported"; cat "$DIR/err"; exit 1; }
test "$(wc -l < "$DIR/run/eval.csv")" -eq 2 || { echo "eval.csv rows"; exit 1; }
if "$MAAC" train --plant double_integrator --reward-plugin "$BAD" --steps 10 2> "$DIR/err2"; then
    echo "wrong-gradient plugin accepted"; exit 1
fi
grep -q "dr/ds'\[1\] wrong" "$DIR/err2" || { echo "refusal message"; cat "$DIR/err2"; exit 1; }
echo "maac_plugin_smoke: passed"
