#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# test_daemon_async.py -- maacd's asynchronous learner, end to end (issue: a learner
# that never falls behind, never blocks the supervisor, and survives restarts).
#
#   ingest    realtime double integrator at 500 Hz for ~20 s with a small learner:
#             every transition the control loop pushed reaches D_env (counts equal,
#             none dropped) and the newest row trained on stays recent.
#   stop      SIGTERM during a deliberately slow model fit, and during a long burst of
#             updates: maacd exits within 10 s with a final checkpoint that a restart
#             resumes from.
#   kill9     kill -9 at random points and restart, four times: the learner resumes
#             from the last saved state, its env steps never go back, the served policy
#             version never goes back.
#   watchdog  a fake NOTIFY_SOCKET (WatchdogSec 2 s) sees WATCHDOG=1 at least every
#             second during a model fit and during saves.
#   parity    lock-step maacd + maac-sim and `maac train` with the same settings run the
#             same schedule: after E env steps both have done the same updates, model
#             fits and D_model refreshes (returns differ: the daemon's exploration noise
#             is the control thread's and its served policy lags by publish_every).
# Usage: test_daemon_async.py ingest|stop|kill9|watchdog|parity BUILD_DIR
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

MODE, BUILD = sys.argv[1], os.path.abspath(sys.argv[2])
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests"))
from ckpt_reader import read_checkpoint  # noqa: E402

MAACD = os.path.join(BUILD, "daemon", "maacd")
MAACCTL = os.path.join(BUILD, "daemon", "maacctl")
SIM = os.path.join(BUILD, "transport", "maac_sim", "maac-sim")
MAAC = os.path.join(BUILD, "cli", "maac")
TMP = tempfile.mkdtemp(prefix=f"maacd-async-{MODE}-")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
procs = []
failures = 0

# a small learner: fits and refreshes every 100 steps, tiny nets
SMALL = ["init_random_steps=200", "n_models=2", "n_elites=2", "model_hidden=2",
         "model_width=32", "policy_width=32", "q_width=32", "batch=32",
         "updates_per_step=2", "model_train_freq=100", "model_fit_freq=100",
         "rollout_batch=256", "rollout_schedule=1,2,1,1", "threads=1", "horizon=1",
         "steve_horizon=1", "terminal_actions=1", "model_max_epochs=5"]
# a deliberately slow model fit (big nets, no early stop) to interrupt
SLOW_FIT = ["init_random_steps=300", "n_models=8", "n_elites=5", "model_hidden=4",
            "model_width=512", "model_max_epochs=100000", "model_patience=100000",
            "model_batch=32", "threads=1"]


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def start(args, log, env=None):
    p = subprocess.Popen(args, stdout=open(log, "a"), stderr=subprocess.STDOUT,
                         env=env or ENV)
    procs.append(p)
    return p


def ctl(ep, *cmd, timeout=5000):
    r = subprocess.run([MAACCTL, "-e", ep, "-t", str(timeout), "--json", *cmd],
                       capture_output=True, text=True, env=ENV)
    try:
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}
    except json.JSONDecodeError:
        return r.returncode, {"_unparsed": r.stdout}


def stats(ep):
    return ctl(ep, "stats", timeout=3000)[1]


def wait_stats(ep, pred, timeout, what):
    t0 = time.time()
    st = {}
    while time.time() - t0 < timeout:
        st = stats(ep)
        if st.get("ok") and pred(st):
            return st
        time.sleep(0.3)
    print(f"timed out after {timeout} s waiting for {what}; last stats: "
          f"{ {k: v for k, v in st.items() if k != 'config'} }", flush=True)
    return None


class Daemon:
    def __init__(self, name, mode, learner, plant="double_integrator", rate=None,
                 extra=(), env=None):
        self.d = os.path.join(TMP, name)
        os.makedirs(self.d, exist_ok=True)
        self.plant_ep = f"ipc://{self.d}/plant.sock"
        self.ctl_ep = f"ipc://{self.d}/control.sock"
        self.ckpt = os.path.join(self.d, "state")
        self.args = [MAACD, "--plant-endpoint", self.plant_ep, "--control-endpoint",
                     self.ctl_ep, "--mode", mode, "--no-mlock", "--priority", "0",
                     "--checkpoint-dir", self.ckpt, "--seed", "5", *extra]
        if rate:
            self.args += ["--rate", str(rate)]
        for kv in learner:
            self.args += ["--set", "learner." + kv]
        self.plant, self.rate, self.env = plant, rate, env
        self.p = self.s = None

    def up(self):
        self.p = start(self.args, os.path.join(self.d, "maacd.log"), self.env)
        time.sleep(0.3)
        sim = [SIM, "--plant", self.plant, "--endpoint", self.plant_ep, "--episodes", "0",
               "--quiet", "--timeout-ms", "3000"]
        if self.rate:
            sim += ["--rate", str(self.rate)]
        self.s = start(sim, os.path.join(self.d, "maac-sim.log"))
        return self

    def sigterm(self):
        """SIGTERM; returns (exit code, seconds to exit)."""
        t0 = time.time()
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        return rc, time.time() - t0

    def down(self, sig=signal.SIGTERM):
        for p in (self.s, self.p):
            if p and p.poll() is None:
                p.send_signal(sig)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def log(self):
        with open(os.path.join(self.d, "maacd.log")) as f:
            return f.read()


def test_ingest():
    d = Daemon("ingest", "realtime", SMALL, rate=500).up()
    max_backlog, max_age = 0, 0.0
    t0 = time.time()
    while time.time() - t0 < 20:
        st = stats(d.ctl_ep)
        if st.get("ok"):
            max_backlog = max(max_backlog, st.get("lt_backlog", 0))
            if st.get("lt_data_age_s") is not None and st.get("lt_updates", 0) > 0:
                max_age = max(max_age, st["lt_data_age_s"])
        time.sleep(0.5)
    d.s.send_signal(signal.SIGINT)   # the plant stops: no more transitions
    d.s.wait(20)
    st = wait_stats(d.ctl_ep, lambda s: s.get("lt_backlog") == 0, 20, "backlog 0")
    check(st is not None, "the learner takes in the backlog once the plant stops")
    st = st or stats(d.ctl_ep)
    pushed, ingested = st.get("transitions", -1), st.get("lt_ingested", -2)
    print(f"     env steps {st.get('env_steps')}, pushed {pushed}, ingested {ingested}, "
          f"dropped {st.get('transitions_dropped')}, updates {st.get('lt_updates')}, "
          f"updates/step {st.get('lt_updates_per_step')}, max backlog {max_backlog}, "
          f"max data age {max_age:.2f} s", flush=True)
    check(pushed > 5000, f"the 500 Hz loop pushed {pushed} transitions in ~20 s")
    check(pushed == ingested, f"every transition reached D_env ({pushed} == {ingested})")
    check(st.get("transitions_dropped") == 0, "none dropped")
    check(st.get("lt_updates", 0) > 0, "the learner updated meanwhile")
    check(max_age < 30.0, f"the newest row trained on stays recent (max {max_age:.2f} s)")
    d.down()


def stop_during(name, learner, pred, what):
    d = Daemon(name, "lockstep", learner).up()
    st = wait_stats(d.ctl_ep, pred, 240, what)
    check(st is not None, f"reached: {what}")
    rc, secs = d.sigterm()
    d.down()
    log = d.log()
    check(rc == 0 and secs <= 10.0,
          f"SIGTERM during {what}: exit {rc} after {secs:.1f} s (bound 10 s)")
    check("final checkpoint written" in log, "final checkpoint written")
    path = os.path.join(d.ckpt, "learner_state.ckpt")
    kind, meta, _ = read_checkpoint(path) if os.path.exists(path) else (None, {}, {})
    check(kind == "learner_state" and meta.get("env_steps", 0) >= 300,
          f"learner_state.ckpt readable: kind {kind}, env steps {meta.get('env_steps')}")
    # a restart resumes from it
    d2 = Daemon(name, "lockstep", learner).up()
    st2 = wait_stats(d2.ctl_ep, lambda s: s.get("lt_resumed") is True
                      and "lt_env_steps" in s, 60, "resumed")
    check(st2 is not None and st2.get("lt_env_steps", 0) >= meta.get("env_steps", 1),
          f"restart resumes: env steps {st2 and st2.get('lt_env_steps')} >= "
          f"{meta.get('env_steps')}")
    d2.down()


def test_stop():
    stop_during("fit", SLOW_FIT, lambda s: s.get("lt_phase") == "model fit"
                and s.get("lt_phase_s", 0) > 2, "a model fit (> 2 s into it)")
    burst = SMALL + ["updates_per_step=100000", "init_random_steps=300"]
    stop_during("burst", burst, lambda s: s.get("lt_phase") == "updates"
                and s.get("lt_phase_s", 0) > 2, "an update burst (> 2 s into it)")


def test_kill9():
    learner = SMALL
    extra = ["--set", "daemon.checkpoint_every_s=1"]
    last_env, last_version = 0, 0
    rng = random.Random(7)
    for i in range(4):
        d = Daemon("kill9", "lockstep", learner, extra=extra).up()
        st = wait_stats(d.ctl_ep, lambda s: "lt_env_steps" in s, 60, "learner running")
        check(st is not None, f"run {i}: learner running")
        if st is None:
            d.down()
            continue
        if i > 0:
            check(st.get("lt_resumed") is True, f"run {i}: resumed from the saved state")
            check(st.get("lt_env_steps", 0) >= last_env,
                  f"run {i}: env steps continue ({st.get('lt_env_steps')} >= {last_env})")
            check(st.get("policy_version", 0) >= last_version,
                  f"run {i}: served policy version {st.get('policy_version')} >= {last_version}")
        time.sleep(2.5 + 3 * rng.random())
        path = os.path.join(d.ckpt, "learner_state.ckpt")
        d.p.send_signal(signal.SIGKILL)
        d.p.wait()
        d.s.send_signal(signal.SIGINT)
        d.s.wait(20)
        if os.path.exists(path):
            _, meta, _ = read_checkpoint(path)
            last_env = int(meta.get("env_steps", 0))
        ppath = os.path.join(d.ckpt, "policy.ckpt")
        if os.path.exists(ppath):
            _, pm, _ = read_checkpoint(ppath)
            last_version = int(pm.get("version", 0))
        print(f"     run {i}: killed; saved state at {last_env} env steps, policy "
              f"v{last_version}", flush=True)
    check(last_env > 0, "states were saved between kills")
    leftovers = [f for f in os.listdir(os.path.join(TMP, "kill9", "state")) if ".tmp-" in f]
    d = Daemon("kill9", "lockstep", learner, extra=extra).up()
    wait_stats(d.ctl_ep, lambda s: "lt_env_steps" in s, 60, "learner running")
    left = [f for f in os.listdir(d.ckpt) if ".tmp-" in f and
            not f.endswith(f".tmp-{d.p.pid}")]
    check(not left, f"temp files of interrupted saves removed at start ({leftovers} -> {left})")
    d.down()


def test_watchdog():
    import threading
    path = os.path.join(TMP, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(0.1)
    pings, done = [], threading.Event()

    def listen():   # its own thread: the timestamps are when the pings arrive
        while not done.is_set():
            try:
                if "WATCHDOG=1" in ns.recv(4096).decode():
                    pings.append(time.time())
            except socket.timeout:
                pass

    th = threading.Thread(target=listen)
    th.start()
    env = dict(ENV, NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
    d = Daemon("watchdog", "lockstep", SLOW_FIT, env=env).up()
    fit_seen, saves = 0, 0
    t0 = time.time()
    while time.time() - t0 < 90 and fit_seen < 5:
        st = stats(d.ctl_ep)
        if st.get("lt_phase") == "model fit":
            fit_seen += 1
            ctl(d.ctl_ep, "save", timeout=3000)
            saves += 1
        time.sleep(2)
    n_fit = len(pings)
    d.down()
    done.set()
    th.join()
    gaps = [b - a for a, b in zip(pings[:n_fit], pings[1:n_fit])]
    mg = max(gaps) if gaps else 99
    print(f"     {n_fit} pings, max gap {mg:.2f} s, fit observed {fit_seen}x, "
          f"{saves} saves during it", flush=True)
    check(fit_seen >= 3 and saves >= 3, "model fit and saves observed")
    # pings are sent every WatchdogSec/4 = 0.5 s; the bound is a ping at least
    # every WatchdogSec/2 = 1 s, whatever the learner does (the slow fits last far
    # longer, so a watchdog that waited on them fails here); 0.25 s of the slack is for
    # this test's own Python listener on a loaded machine
    check(n_fit > 20 and mg <= 1.25,
          f"WATCHDOG=1 at least every WatchdogSec/2 = 1 s (max gap {mg:.2f} s, "
          f"listener slack 0.25 s)")


def test_parity():
    learner = SMALL
    d = Daemon("parity", "lockstep", learner).up()
    wait_stats(d.ctl_ep, lambda s: s.get("lt_env_steps", 0) >= 1200, 240, "1200 env steps")
    d.s.send_signal(signal.SIGINT)
    d.s.wait(20)
    st = wait_stats(d.ctl_ep, lambda s: s.get("lt_trained_steps") == s.get("lt_env_steps"),
                    60, "every step trained")
    d.down()
    if st is None:
        check(False, "daemon finished training its steps")
        return
    E = st["lt_env_steps"]
    out = os.path.join(TMP, "parity-train")
    args = [MAAC, "train", "--plant", "double_integrator", "--steps", str(E), "--seed", "5",
            "--out", out, "--quiet", "--eval-every", str(10 ** 9)]
    for kv in learner:
        k, v = kv.split("=")
        args += ["--" + k.replace("_", "-"), v]
    r = subprocess.run(args, capture_output=True, text=True, env=ENV)
    check(r.returncode == 0, f"maac train ran ({r.stderr[-300:]})")
    _, meta, _ = read_checkpoint(os.path.join(out, "state.ckpt"))
    for key in ("updates", "model_fits", "model_refreshes"):
        check(int(meta.get(key, -1)) == int(st.get("lt_" + key, -2)),
              f"after {E} env steps: {key} daemon {st.get('lt_' + key)} == maac train "
              f"{meta.get(key)}")


try:
    {"ingest": test_ingest, "stop": test_stop, "kill9": test_kill9,
     "watchdog": test_watchdog, "parity": test_parity}[MODE]()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
print(f"test_daemon_async {MODE}: {'passed' if failures == 0 else 'FAILED'}")
sys.exit(1 if failures else 0)
