#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# client_maacd.sh -- examples/maac_client.py against a real maacd: a lock-step daemon
# (no learning) on private ipc endpoints; the Python plant checks the daemon's answer
# to every kind of bad input, runs two episodes, then `ctl status` and `ctl stop`.
# usage: client_maacd.sh MAACD CLIENT.py
set -u
maacd=$1
client=$2
py=/usr/bin/python3
dir=$(mktemp -d /tmp/maac-test-client-maacd-XXXXXX)
plant="ipc://$dir/plant.sock"
ctl="ipc://$dir/control.sock"
"$maacd" --plant-endpoint "$plant" --control-endpoint "$ctl" --mode lockstep --no-learn \
    --no-mlock --seed 1 --checkpoint-dir "$dir/state" >"$dir/maacd.log" 2>&1 &
pid=$!
fail=0
timeout 60 "$py" "$client" plant --endpoint "$plant" --episodes 2 --max-steps 50 \
    --check-errors --timeout-ms 20000 || { echo "FAIL: plant client exited $?"; fail=1; }
timeout 20 "$py" "$client" ctl status --endpoint "$ctl" >"$dir/status.txt" ||
    { echo "FAIL: ctl status exited $?"; fail=1; }
cat "$dir/status.txt"
grep -q '^ok: True' "$dir/status.txt" || { echo "FAIL: status not ok"; fail=1; }
grep -Eq '^episodes: [3-9]' "$dir/status.txt" || { echo "FAIL: the daemon counted < 3 episodes"; fail=1; }
grep -Eq '^errors: ([1-9][0-9]+)' "$dir/status.txt" || { echo "FAIL: the daemon counted < 10 errors"; fail=1; }
timeout 20 "$py" "$client" ctl stop --endpoint "$ctl" || { echo "FAIL: ctl stop"; fail=1; }
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: maacd still running after stop"; kill -9 "$pid"; fail=1
fi
wait "$pid" 2>/dev/null
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: maacd exited $rc (sanitizer report in the log?)"; fail=1; }
echo "--- maacd log"; cat "$dir/maacd.log"
rm -rf "$dir"
[ $fail -eq 0 ] && echo "client_maacd: passed"
exit $fail
