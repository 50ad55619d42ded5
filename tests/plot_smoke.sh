#!/bin/sh
# plot_smoke.sh -- `maac bench fig2` writes its CSV (true and learned dynamics, every H,
# the two equal at H = 0 where no model is used and different after), and
# scripts/plot.py turns a tiny fig2 CSV, two tiny eval.csv runs and a table into PNGs
# plus the CSVs of what they plot.
# Usage: plot_smoke.sh PATH/TO/maac PYTHON_WITH_MATPLOTLIB SOURCE_DIR
set -eu
MAAC="$1"
PY="$2"
SRC="$3"
DIR=$(mktemp -d /tmp/maac_plot_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
"$MAAC" bench fig2 --seeds 2 --hmax 3 --q-steps 200 --n-start 32 --out "$DIR/fig2.csv" 2> /dev/null
test "$(head -1 "$DIR/fig2.csv")" = "dynamics,seed,H,l1_error,rel_error" || { echo "fig2 header"; exit 1; }
test "$(grep -c '^true,' "$DIR/fig2.csv")" -eq 8 || { echo "fig2 true rows"; exit 1; }
test "$(grep -c '^learned,' "$DIR/fig2.csv")" -eq 8 || { echo "fig2 learned rows"; exit 1; }
awk -F, '$3 == 0 { v[$1 "," $2] = $4 }
  END { if (v["true,0"] != v["learned,0"] || v["true,1"] != v["learned,1"]) exit 1 }' \
  "$DIR/fig2.csv" || { echo "H = 0 differs between true and learned dynamics"; exit 1; }
awk -F, '$3 == 3 { v[$1 "," $2] = $4 } END { if (v["true,0"] == v["learned,0"]) exit 1 }' \
  "$DIR/fig2.csv" || { echo "learned dynamics gave the true-dynamics gradient at H = 3"; exit 1; }
if "$MAAC" bench fig2 --seeds 0 2> /dev/null; then echo "--seeds 0 accepted"; exit 1; fi
"$PY" "$SRC/scripts/plot.py" fig2 "$DIR/fig2.csv" "$DIR/f2"
for r in a b; do
  mkdir "$DIR/$r"
  printf 'env_steps,eval_return_mean,eval_return_std\n100,1.0,0\n200,3.0,0\n' > "$DIR/$r/eval.csv"
done
echo "300,7.0,0" >> "$DIR/b/eval.csv"
"$PY" "$SRC/scripts/plot.py" curves "$DIR/c" "x=$DIR/a,$DIR/b"
grep -q '^x,200,3.0,0.0,2$' "$DIR/c.csv" || { echo "curves mean"; cat "$DIR/c.csv"; exit 1; }
grep -q '^x,300,7.0,0.0,1$' "$DIR/c.csv" || { echo "curves n"; cat "$DIR/c.csv"; exit 1; }
# A run with only env_steps and eval_return_mean known (the other fields empty, as in the
# runs docs/data/runs/ recovered from the notebook), a row without a mean, and a label's
# run directory without eval.csv (left out, said on stderr).
mkdir "$DIR/e"
{ echo "env_steps,eval_return_mean,eval_return_std,episodes,last_train_return,wall_s,alpha,q_loss,pi_loss,model_holdout_mse,rollout_len,online_eval_mean,online_eval_std"
  echo "100,5,,,,,,,,,,,"
  echo "200,,,,,,,,,,,,"
  echo "300,9,1,,12,,0.15,,,,,8,2"; } > "$DIR/e/eval.csv"
"$PY" "$SRC/scripts/plot.py" curves "$DIR/d" "y=$DIR/e,$DIR/missing" 2> "$DIR/d.err"
grep -q 'missing: no eval.csv' "$DIR/d.err" || { echo "missing run not reported"; cat "$DIR/d.err"; exit 1; }
test "$(cat "$DIR/d.csv")" = "$(printf 'label,env_steps,mean,std,n\ny,100,5.0,0.0,1\ny,300,9.0,0.0,1')" \
  || { echo "curves with empty fields"; cat "$DIR/d.csv"; exit 1; }
printf 'run,policy_mean,policy_std,mpc_mean,mpc_std,env_steps\nr0,1,0.5,2,0.1,100\n' > "$DIR/t.csv"
"$PY" "$SRC/scripts/plot.py" bars "$DIR/t.csv" "$DIR/t" "table"
# Four labels: the legend goes beside the axes (a wider figure); every label in the CSV.
"$PY" "$SRC/scripts/plot.py" curves "$DIR/m" "p=$DIR/a" "q=$DIR/b" "r=$DIR/e" "s=$DIR/a,$DIR/b"
test "$(cut -d, -f1 "$DIR/m.csv" | sort -u | tr -d '\n')" = "labelpqrs" || { echo "four labels"; cat "$DIR/m.csv"; exit 1; }
for f in f2 c d t m; do
  test "$(head -c 4 "$DIR/$f.png" | od -An -c | tr -d ' ')" = '211PNG' || { echo "$f.png not a PNG"; exit 1; }
done
grep -q '^true,0,' "$DIR/f2.csv" || { echo "fig2 summary"; exit 1; }
echo "plot_smoke: ok"
