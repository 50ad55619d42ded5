#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# fleet.py -- many robots, one learner (issue 31): N robot daemons, each with its own
# maac-sim, into one learner daemon over loopback tcp with CURVE keys. Figures only:
# nothing here asserts a timing.
#
#   scale    for each N in --robots: start the learner and N robots, wait --warmup s,
#            measure --seconds s: transitions/s taken in at the learner, publish ->
#            served lag (each robot, and every robot) p50/p99, the learner's CPU share
#            (of one core), bytes a policy broadcast costs; then stop the sims and, after
#            a quiet period, count losses (rows the robots made minus rows the learner
#            received; loop drops) -- one table row per N.
#   race     1 robot vs --race-robots robots (realtime) with the same learner settings:
#            wall-clock seconds until an episode on any robot returns >= --target (or
#            --race-minutes pass), and the learner's env steps and updates by then.
#
#   bench/fleet.py BUILD_DIR scale --plant inverted_pendulum --mode lockstep --robots 1,2,4,8
#   bench/fleet.py BUILD_DIR race --plant inverted_pendulum --rate 100 --target 900
# The learner daemon gets the plant's dimensions from a local maac-sim that runs one
# 5-step episode and leaves (a learner with no plant of its own).
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("what", choices=["scale", "race"])
ap.add_argument("--plant", default="inverted_pendulum")
ap.add_argument("--mode", default="lockstep", choices=["lockstep", "realtime"])
ap.add_argument("--rate", type=float, default=0, help="realtime Hz (0: the plant's own)")
ap.add_argument("--robots", default="1,2,4,8")
ap.add_argument("--warmup", type=float, default=10)
ap.add_argument("--seconds", type=float, default=30)
ap.add_argument("--small", action="store_true", help="the tests' small learner")
ap.add_argument("--set", action="append", default=[], help="learner.KEY=V for the learner")
ap.add_argument("--race-robots", type=int, default=4)
ap.add_argument("--race-minutes", type=float, default=8)
ap.add_argument("--target", type=float, default=900)
a = ap.parse_args()
B = os.path.abspath(a.build)
MAACD, CTL = f"{B}/daemon/maacd", f"{B}/daemon/maacctl"
SIM = f"{B}/transport/maac_sim/maac-sim"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
SMALL = ["init_random_steps=200", "n_models=2", "n_elites=2", "model_hidden=2",
         "model_width=32", "policy_width=32", "q_width=32", "batch=32",
         "updates_per_step=1", "model_train_freq=100", "model_fit_freq=100",
         "rollout_batch=256", "rollout_schedule=1,2,1,1", "threads=1", "horizon=1",
         "steve_horizon=1", "terminal_actions=1", "model_max_epochs=5", "publish_every=50"]
TICK = os.sysconf("SC_CLK_TCK")


def stats(ep):
    r = subprocess.run([CTL, "-e", ep, "-t", "5000", "--json", "stats"], capture_output=True,
                       text=True, env=ENV)
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {}


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / TICK


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Fleet:
    def __init__(self, n, mode):
        self.d = tempfile.mkdtemp(prefix="maacd-fleet-bench-")
        self.procs, self.n, self.mode = [], n, mode
        self.port = free_port()
        self.keys = {}
        os.makedirs(f"{self.d}/allowed")
        for name in ["learner"] + [f"r{i}" for i in range(n)]:
            subprocess.run([CTL, "keygen", f"{self.d}/{name}"], check=True, capture_output=True)
            if name != "learner":
                shutil.copy(f"{self.d}/{name}.pub", f"{self.d}/allowed")

    def spawn(self, args, log):
        p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=ENV)
        self.procs.append(p)
        return p

    def daemon(self, name, mode, extra):
        pe, ce = f"ipc://{self.d}/{name}/plant.sock", f"ipc://{self.d}/{name}/control.sock"
        os.makedirs(f"{self.d}/{name}")
        args = [MAACD, "--plant", a.plant, "--plant-endpoint", pe, "--control-endpoint", ce,
                "--mode", mode, "--no-mlock", "--priority", "0", "--seed", "1",
                "--checkpoint-dir", f"{self.d}/{name}/state", *extra]
        if a.rate and mode == "realtime":
            args += ["--rate", str(a.rate)]
        return self.spawn(args, f"{self.d}/{name}/maacd.log"), pe, ce

    def sim(self, name, pe, *extra):
        args = [SIM, "--plant", a.plant, "--endpoint", pe, "--quiet", *extra]
        if a.rate and "--max-steps" not in extra:
            args += ["--rate", str(a.rate)]
        return self.spawn(args, f"{self.d}/{name}/sim.log")

    def start(self):
        learn = []
        for kv in (SMALL if a.small else []) + a.set:
            learn += ["--set", kv if kv.startswith("learner.") else "learner." + kv]
        self.lp, lpe, self.lce = self.daemon("learner", "lockstep", [
            "--set", f"learner.fleet_bind=tcp://127.0.0.1:{self.port}",
            "--set", f"security.secret_key={self.d}/learner.key",
            "--set", f"security.allowed_keys={self.d}/allowed", *learn])
        self.sim("learner", lpe, "--episodes", "1", "--max-steps", "5")
        self.robots = []
        for i in range(self.n):
            name = f"r{i}"
            p, pe, ce = self.daemon(name, self.mode, [
                "--set", f"learner.fleet_connect=tcp://127.0.0.1:{self.port}",
                "--set", f"security.secret_key={self.d}/{name}.key",
                "--set", f"security.fleet_server_key={self.d}/learner.pub",
                "--set", f"fleet.name={name}"])
            s = self.sim(name, pe, "--episodes", "0")
            self.robots.append((p, s, ce))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.d, ignore_errors=True)


def scale_one(n):
    f = Fleet(n, a.mode)
    f.start()
    time.sleep(a.warmup)
    s0, c0, t0 = stats(f.lce), cpu_s(f.lp.pid), time.time()
    time.sleep(a.seconds)
    s1, c1, t1 = stats(f.lce), cpu_s(f.lp.pid), time.time()
    for _, s, _ in f.robots:
        s.send_signal(signal.SIGINT)
    prev = None
    for _ in range(100):   # quiet period: every robot's buffer empty, its rows unchanged
        time.sleep(0.5)
        rs = [stats(ce) for _, _, ce in f.robots]
        now = [r.get("fleet_rows") for r in rs]
        if all(r.get("fleet_buffered", 1) == 0 for r in rs) and now == prev:
            break
        prev = now
    ls = stats(f.lce)
    made = sum(r.get("fleet_rows", 0) for r in rs)
    got = sum(x.get("received", 0) for x in ls.get("fleet_robots", []))
    drops = sum(r.get("transitions_dropped", 0) for r in rs)
    full = sum(r.get("fleet_buffer_full", 0) for r in rs)
    dt = t1 - t0
    row = dict(robots=n, rows_per_s=(s1.get("fleet_rows_in", 0) - s0.get("fleet_rows_in", 0)) / dt,
               updates_per_s=(s1.get("lt_updates", 0) - s0.get("lt_updates", 0)) / dt,
               lag_p50=ls.get("fleet_lag_p50_ms"), lag_p99=ls.get("fleet_lag_p99_ms"),
               lag_all_p50=ls.get("fleet_lag_all_p50_ms"), lag_all_p99=ls.get("fleet_lag_all_p99_ms"),
               lag_all_n=ls.get("fleet_lag_all_n"), lost=made - got, loop_drops=drops,
               buffer_full=full, cpu=(c1 - c0) / dt, policy_bytes=ls.get("fleet_policy_bytes"),
               broadcasts_per_s=(s1.get("fleet_broadcasts", 0) - s0.get("fleet_broadcasts", 0)) / dt)
    f.stop()
    return row


def scale():
    print(f"plant {a.plant}, robots {a.mode}{' at %g Hz' % a.rate if a.rate else ''}, "
          f"{a.seconds:g} s measured after {a.warmup:g} s, learner {'small' if a.small else 'default'}"
          f"{' ' + ' '.join(a.set) if a.set else ''}", flush=True)
    print("| robots | rows/s at learner | updates/s | lag p50 / p99 ms (each robot) | lag p50 / p99 ms "
          "(every robot, n) | lost rows | loop drops | buffer full | learner CPU (cores) | "
          "policy msg B | publications/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in a.robots.split(",")]:
        r = scale_one(n)
        print(f"| {n} | {r['rows_per_s']:.0f} | {r['updates_per_s']:.0f} | {r['lag_p50']:.1f} / "
              f"{r['lag_p99']:.1f} | {r['lag_all_p50']:.1f} / {r['lag_all_p99']:.1f} ({r['lag_all_n']}) | "
              f"{r['lost']} | {r['loop_drops']} | {r['buffer_full']} | {r['cpu']:.2f} | "
              f"{r['policy_bytes']} | {r['broadcasts_per_s']:.1f} |", flush=True)


def race_one(n):
    f = Fleet(n, "realtime")
    f.start()
    t0 = time.time()
    best, hit = float("-inf"), None
    while time.time() - t0 < a.race_minutes * 60:
        time.sleep(1)
        for _, _, ce in f.robots:
            s = stats(ce)
            if s.get("episodes", 0) > 0 and s.get("best_return") is not None:
                best = max(best, s["best_return"])
        if best >= a.target:
            hit = time.time() - t0
            break
    ls = stats(f.lce)
    f.stop()
    return hit, best, ls.get("lt_env_steps"), ls.get("lt_updates")


def race():
    print(f"plant {a.plant}, realtime robots{' at %g Hz' % a.rate if a.rate else ''}, learner "
          f"{'small' if a.small else 'default'}{' ' + ' '.join(a.set) if a.set else ''}; target: "
          f"an episode >= {a.target:g} on any robot", flush=True)
    print("| robots | wall-clock to target | best episode return | learner env steps | updates |")
    print("|---|---|---|---|---|")
    for n in (1, a.race_robots):
        hit, best, steps, upd = race_one(n)
        print(f"| {n} | {'%.0f s' % hit if hit else 'not within %g min' % a.race_minutes} | "
              f"{best:.0f} | {steps} | {upd} |", flush=True)


scale() if a.what == "scale" else race()
