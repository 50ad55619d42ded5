#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# point_mass_learns.sh -- a plant maacd has never heard of learns in realtime mode:
# examples/point_mass_driver.py ("my_arm", a 1-D point mass at 20 Hz, reward -(x-1)^2,
# 200-step episodes) under maacd with the preset it is given for its size (small)
# and the learned reward head (no plugin). After LEARN_S seconds of learning episodes
# the driver pauses learning and runs one episode of the deterministic policy, which
# must return at least EXPECT (a random or idle policy returns about -200, the optimum
# is -14.33); below it, the driver resumes learning for 30 s and checks again, until
# MAX_S seconds in all (an online policy wobbles for a few episodes now and then:
# docs/robots.md "How long to learn"; a policy that never gets there fails). Then `maacctl mode mpc` is accepted (CEM with the learned reward head)
# and the daemon stops cleanly.
# usage: point_mass_learns.sh MAACD DRIVER.py [LEARN_S [EXPECT [MAX_S]]]
set -u
maacd=$1
driver=$2
learn_s=${3:-150}
expect=${4:--40}
max_s=${5:-300}
py=/usr/bin/python3
dir=$(mktemp -d /tmp/maac-test-point-mass-XXXXXX)
cat > "$dir/maacd.conf" <<INI
[plant]
endpoint = ipc://$dir/plant.sock
mode = realtime
[control]
lock_memory = false
priority = 0
[daemon]
control_endpoint = ipc://$dir/control.sock
checkpoint_dir = $dir/state
INI
"$maacd" --config "$dir/maacd.conf" >"$dir/maacd.log" 2>&1 &
pid=$!
fail=0
timeout $((max_s + 120)) "$py" "$driver" --endpoint "ipc://$dir/plant.sock" \
    --control-endpoint "ipc://$dir/control.sock" --learn-seconds "$learn_s" --eval-episodes 1 \
    --expect-return "$expect" --max-learn-seconds "$max_s" ||
    { echo "FAIL: driver exited $?"; fail=1; }
grep -q "learner settings: small (sized to the plant" "$dir/maacd.log" ||
    { echo "FAIL: the small preset was not chosen"; fail=1; }
grep -q "reward: learned" "$dir/maacd.log" || { echo "FAIL: not the learned reward"; fail=1; }
client=$(dirname "$driver")/maac_client.py
timeout 20 "$py" "$client" ctl mode mpc --endpoint "ipc://$dir/control.sock" >"$dir/mpc.txt"
grep -q '^ok: True' "$dir/mpc.txt" || { echo "FAIL: mode mpc refused"; cat "$dir/mpc.txt"; fail=1; }
timeout 20 "$py" "$client" ctl stop --endpoint "ipc://$dir/control.sock" >/dev/null ||
    { echo "FAIL: ctl stop"; fail=1; }
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: maacd still running after stop"; kill -9 "$pid"; fail=1
fi
wait "$pid" 2>/dev/null
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: maacd exited $rc"; fail=1; }
echo "--- maacd log"; cat "$dir/maacd.log"
rm -rf "$dir"
[ $fail -eq 0 ] && echo "point_mass_learns: passed"
exit $fail
