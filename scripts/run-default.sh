#!/usr/bin/env bash
# run-default.sh -- `make run`: maacd controlling a MuJoCo plant (maac-sim) in lock-step
# and learning online, with live progress once a second; Ctrl-C stops both cleanly
# and maacd writes a final checkpoint (runs/<plant>/, picked up by the next run).
#
#   scripts/run-default.sh [BUILD_DIR]
# Environment: PLANT (default inverted_pendulum: learns in minutes on two cores; try
# PLANT=hopper for the paper's task), RUN_SECONDS (stop by itself after N seconds),
# CKPT_DIR (default runs/$PLANT), MAACD_ARGS (extra maacd flags).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PLANT=${PLANT:-inverted_pendulum}
CKPT_DIR=${CKPT_DIR:-runs/$PLANT}
RUN_SECONDS=${RUN_SECONDS:-0}
MAACD="$BUILD/daemon/maacd"
MAACCTL="$BUILD/daemon/maacctl"
SIM="$BUILD/transport/maac_sim/maac-sim"
for b in "$MAACD" "$MAACCTL" "$SIM"; do
  [ -x "$b" ] || { echo "run-default: $b not built (make build)" >&2; exit 1; }
done

RUN_DIR=$(mktemp -d /tmp/maacd-run.XXXXXX)
PLANT_EP="ipc://$RUN_DIR/plant.sock"
CTL_EP="ipc://$RUN_DIR/control.sock"
mkdir -p "$CKPT_DIR"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

# Lock-step training is not a real-time job: no SCHED_FIFO, no mlockall (the
# learner's replay buffers would all be locked). A robot runs realtime (docs/daemon.md).
"$MAACD" --plant "$PLANT" --plant-endpoint "$PLANT_EP" --control-endpoint "$CTL_EP" \
  --mode lockstep --priority 0 --no-mlock --checkpoint-dir "$CKPT_DIR" \
  ${MAACD_ARGS:-} 2> "$RUN_DIR/maacd.log" &
MAACD_PID=$!
"$SIM" --plant "$PLANT" --endpoint "$PLANT_EP" --episodes 0 --quiet \
  > "$RUN_DIR/maac-sim.log" 2>&1 &
SIM_PID=$!

stopped=0
cleanup() {
  [ "$stopped" = 1 ] && return
  stopped=1
  trap '' INT TERM
  echo
  echo "stopping: maac-sim, then maacd (final checkpoint into $CKPT_DIR) ..."
  kill -INT "$SIM_PID" 2>/dev/null || true
  kill -INT "$MAACD_PID" 2>/dev/null || true
  for _ in $(seq 1 1200); do
    kill -0 "$MAACD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$MAACD_PID" "$SIM_PID" 2>/dev/null || true
  wait "$MAACD_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  grep -E "final checkpoint|error" "$RUN_DIR/maacd.log" | tail -3 || true
  echo "logs: $RUN_DIR/maacd.log $RUN_DIR/maac-sim.log"
}
trap 'cleanup; exit 0' INT TERM   # Ctrl-C is how a run ends: exit 0
trap cleanup EXIT

echo "maacd + maac-sim: plant $PLANT, lock-step, sockets in $RUN_DIR, checkpoints in $CKPT_DIR"
echo "Ctrl-C to stop (maacctl -e $CTL_EP status|stats|save|pause|resume while it runs)"
start=$(date +%s)
while :; do
  sleep 1
  if ! kill -0 "$MAACD_PID" 2>/dev/null; then
    echo "maacd exited; its log:" >&2
    tail -20 "$RUN_DIR/maacd.log" >&2
    exit 1
  fi
  out=$("$MAACCTL" -e "$CTL_EP" -t 2000 status 2>/dev/null) || continue
  now=$(( $(date +%s) - start ))
  echo "$out" | awk -v t="$now" -F': ' '
    { v[$1] = $2 }
    END {
      if (v["state"] != "running") { printf("%4ds  waiting for the plant\n", t); exit }
      printf("%4ds  episodes %-5s return %8.1f  mean10 %8.1f  eval %8.1f | policy v%-4s learner %s%s, %s updates | ticks %s, safe %s, errors %s\n",
             t, v["episodes"], v["last_return"], v["mean_return"],
             (v["eval_return"] == "" || v["eval_return"] == "nil" ? "nan" : v["eval_return"]),
             v["policy_version"], v["learner"], (v["paused"] == "true" ? " (paused)" : ""),
             v["updates"], v["ticks"], v["safe_actions"], v["errors"])
    }'
  if [ "$RUN_SECONDS" != 0 ] && [ "$now" -ge "$RUN_SECONDS" ]; then
    break
  fi
done
