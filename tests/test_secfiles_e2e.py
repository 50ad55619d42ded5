#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# test_secfiles_e2e.py -- issue 33 against a running maacd (ctest secfiles_e2e):
#   * a policy written by examples/write_policy.py (docs/checkpoint-format.md) swaps in,
#     and every action afterwards is its deterministic output (mean -> tanh -> bounds)
#     labelled with its version, although the daemon was exploring before the swap;
#   * swap refuses a FIFO (at once), a policy over swap_max_params and one too slow for
#     swap_time_fraction of the period; save refuses '..', absolute and symlinked dirs;
#   * a bye without a session gets not_ready; an error reply quoting invalid UTF-8 is
#     valid UTF-8; 3000 junk messages give a handful of log lines, not 3000;
#   * the safe-action alarm is raised (status flag + log), and a failed final checkpoint
#     makes maacd exit with status 3.
# Usage: test_secfiles_e2e.py BUILD_DIR
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

BUILD = os.path.abspath(sys.argv[1])
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "examples"))
import write_policy as wp  # noqa: E402

MAACD = os.path.join(BUILD, "daemon", "maacd")
MAACCTL = os.path.join(BUILD, "daemon", "maacctl")
TMP = tempfile.mkdtemp(prefix="maacd-sec-")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
LOW, HIGH = [-3.0], [3.0]
HELLO = {"v": 1, "type": "hello", "plant": "inverted_pendulum", "obs_dim": 4, "act_dim": 1,
         "dt": 0.04, "act_low": LOW, "act_high": HIGH}
failures = 0
procs = []
ctx = zmq.Context()


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    failures += not cond


def daemon(name, *extra):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    plant_ep, ctl_ep = f"ipc://{d}/plant.sock", f"ipc://{d}/control.sock"
    args = [MAACD, "--plant", "inverted_pendulum", "--plant-endpoint", plant_ep,
            "--control-endpoint", ctl_ep, "--no-mlock", "--priority", "0", "--seed", "3", *extra]
    p = subprocess.Popen(args, stdout=open(os.path.join(d, "maacd.log"), "w"),
                         stderr=subprocess.STDOUT, env=ENV)
    procs.append(p)
    return p, plant_ep, ctl_ep, d


def ctl(ep, *cmd, timeout=5000):
    r = subprocess.run([MAACCTL, "-e", ep, "-t", str(timeout), "--json", *cmd],
                       capture_output=True, text=True, env=ENV)
    try:
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}
    except json.JSONDecodeError:
        return r.returncode, {"_unparsed": r.stdout}


class Plant:
    def __init__(self, ep):
        self.s = ctx.socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.connect(ep)
        self.seq = 1
        self.errors = []

    def send(self, obj):
        self.s.send(msgpack.packb(obj, use_bin_type=True))

    def recv(self, ms=5000):
        if not self.s.poll(ms):
            return None
        return msgpack.unpackb(self.s.recv(), raw=False)   # strict UTF-8, as advised

    def hello(self):
        for _ in range(100):   # the daemon may still be starting
            self.send(HELLO)
            m = self.recv(300)
            if m is not None:
                return m
        return None

    def step(self, obs):
        self.send({"v": 1, "type": "obs", "seq": self.seq, "t_ns": time.time_ns(), "obs": obs,
                   "reward": 0.0,
                   "terminated": False, "truncated": False, "first": self.seq == 1})
        self.seq += 1
        while True:
            m = self.recv()
            if m is None or m.get("type") == "action":
                return m
            self.errors.append(m)


def stop(p, timeout=60):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def swap_and_serve():
    ck = os.path.join(TMP, "a-ckpt")
    p, plant_ep, ctl_ep, d = daemon("a", "--checkpoint-dir", ck,
                                    "--set", "learner.init_random_steps=100000",
                                    "--set", "learner.publish_every=1000000",
                                    "--set", "learner.env_capacity=20000",
                                    "--set", "daemon.swap_max_params=1000000",
                                    "--set", "daemon.swap_time_fraction=0.001")
    pl = Plant(plant_ep)
    w = pl.hello()
    check(w is not None and w.get("type") == "welcome", f"hello: {w}")
    sizes = [4, 32, 32, 2]
    params = wp.random_params(sizes, 5)
    path = os.path.join(TMP, "py-policy.ckpt")
    with open(path, "wb") as f:
        f.write(wp.encode_policy(params, sizes, "tanh", LOW, HIGH, "inverted_pendulum", 40))
    obs = lambda t: [0.3 * ((t * 7 + i * 3) % 11) / 11 - 0.15 for i in range(4)]
    before = [pl.step(obs(t)) for t in range(30)]
    want = [wp.action(params, sizes, "tanh", LOW, HIGH, obs(t))[0] for t in range(30)]
    differ = sum(1 for m, a in zip(before, want)
                 if m and not m["safe"] and abs(m["action"][0] - a) > 1e-4)
    check(differ > 20, f"exploring before the swap ({differ} of 30 actions are not the safe "
          f"action and differ from the policy's; errors {pl.errors[:2]})")
    rc, r = ctl(ctl_ep, "swap", path)
    check(rc == 0 and r.get("policy_version") == 40 and r.get("explore") is False,
          f"python-written policy swapped in: {r}")
    after = [pl.step(obs(t)) for t in range(300)]
    want = [wp.action(params, sizes, "tanh", LOW, HIGH, obs(t))[0] for t in range(300)]
    same = sum(1 for m, a in zip(after, want)
               if m and not m["safe"] and abs(m["action"][0] - a) <= 1e-4 * (1 + abs(a))
               and m["policy_version"] == 40)
    check(same == 300, f"after the swap {same} of 300 actions are the swapped policy's "
          f"deterministic output labelled v40 (first: {after[0]}, want {want[0]:.6f})")
    # refusals
    fifo = os.path.join(TMP, "fifo.ckpt")
    os.mkfifo(fifo)
    t0 = time.time()
    rc, r = ctl(ctl_ep, "swap", fifo)
    check(rc != 0 and r.get("error") == "swap_rejected" and time.time() - t0 < 4,
          f"FIFO refused at once ({time.time() - t0:.2f} s): {r.get('msg')}")
    big = os.path.join(TMP, "big.ckpt")
    bs = [4, 1024, 1024, 2]   # 1.06M parameters
    with open(big, "wb") as f:
        f.write(wp.encode_policy(wp.random_params(bs, 1), bs, "tanh", LOW, HIGH))
    rc, r = ctl(ctl_ep, "swap", big)
    check(rc != 0 and "swap_max_params" in r.get("msg", ""), f"oversize policy refused: {r.get('msg')}")
    slow = os.path.join(TMP, "slow.ckpt")
    ss = [4, 900, 900, 2]   # 0.82M parameters (allowed), 0.82M MACs: far over 40 us
    with open(slow, "wb") as f:
        f.write(wp.encode_policy(wp.random_params(ss, 1), ss, "tanh", LOW, HIGH))
    rc, r = ctl(ctl_ep, "swap", slow)
    check(rc != 0 and "too slow" in r.get("msg", ""), f"too slow a policy refused: {r.get('msg')}")
    check(ctl(ctl_ep, "status")[1].get("policy_version") == 40, "still serving v40")
    # save
    os.makedirs(os.path.join(TMP, "elsewhere"), exist_ok=True)
    os.symlink(os.path.join(TMP, "elsewhere"), os.path.join(ck, "linked"))
    for bad in ("../elsewhere", "/tmp", "linked", "a/b"):
        rc, r = ctl(ctl_ep, "save", bad, timeout=65000)
        check(rc != 0 and r.get("error") == "save_refused", f"save {bad} refused: {r.get('msg')}")
    check(not os.listdir(os.path.join(TMP, "elsewhere")), "nothing written outside the checkpoint dir")
    rc, r = ctl(ctl_ep, "save", "run1", timeout=65000)
    check(rc == 0 and os.path.exists(os.path.join(ck, "run1", "policy.ckpt")), f"save run1: {r}")
    # faults
    other = Plant(plant_ep)
    other.send({"v": 1, "type": "bye"})
    m = other.recv()
    check(m is not None and m.get("type") == "error" and m.get("code") == "not_ready",
          f"bye without a session: {m}")
    other.s.send(b"\x82\xa1v\x01\xa4type\xa6\xff\xfe\xc3(x\x80")
    try:
        m = other.recv()
        check(m is not None and m.get("type") == "error", f"invalid UTF-8 type: reply decodes: {m}")
    except UnicodeDecodeError as e:
        check(False, f"error reply is not valid UTF-8: {e}")
    n_before = open(os.path.join(d, "maacd.log"), errors="replace").read().count("rejected")
    t0 = time.time()
    for i in range(3000):
        other.s.send(b"\xc1junk")
    got = 0
    while other.s.poll(500):
        other.s.recv()
        got += 1
    time.sleep(1.5)
    pl.step(obs(0))
    time.sleep(0.5)
    log = open(os.path.join(d, "maacd.log"), errors="replace").read()
    lines = log.count("rejected") - n_before
    check(got >= 1000 and lines <= 2 + 2 * (time.time() - t0) and "suppressed" in log,
          f"3000 junk messages: {got} error replies, {lines} log lines in {time.time() - t0:.1f} s")
    rc = stop(p)
    check(rc == 0, f"clean exit {rc}")


def alarm_and_exit_code():
    ck = os.path.join(TMP, "b-ckpt")
    p, plant_ep, ctl_ep, d = daemon("b", "--no-learn", "--checkpoint-dir", ck,
                                    "--set", "control.alarm_safe_share=0.5")
    pl = Plant(plant_ep)
    if pl.hello() is None:
        check(False, "hello")
        return
    nan = float("nan")
    for t in range(150):   # every one gets the safe action
        pl.step([nan, 0.0, 0.0, 0.0])
    raised = None
    for _ in range(20):
        time.sleep(0.5)
        raised = ctl(ctl_ep, "status")[1]
        if raised.get("alarm"):
            break
    check(raised.get("alarm") is True, f"safe-action alarm raised: alarm={raised.get('alarm')} "
          f"safe {raised.get('safe_actions')}")
    # the checkpoint directory goes away and a file takes its name: the final save fails
    shutil.rmtree(ck)
    open(ck, "w").close()
    rc = stop(p)
    log = open(os.path.join(d, "maacd.log"), errors="replace").read()
    check("ALARM" in log and "safe actions" in log, "alarm logged")
    check(rc == 3 and "final checkpoint failed" in log, f"failed final checkpoint: exit {rc}")


try:
    swap_and_serve()
    alarm_and_exit_code()
finally:
    for q in procs:
        if q.poll() is None:
            q.kill()
            q.wait()
    ctx.destroy(linger=0)
    if failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"logs kept in {TMP}")
print(f"test_secfiles_e2e: {'FAILED' if failures else 'passed'}")
sys.exit(1 if failures else 0)
