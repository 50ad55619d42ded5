#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# test_fleet.py -- many robots, one learner (issue 31), end to end on loopback tcp with
# CURVE keys from `maacctl keygen`. Each daemon has its own maac-sim (inverted_pendulum).
#
#   basic    (ctest fleet_basic) a learner daemon and two lock-step robot daemons:
#            both robots serve the learner's published version within LAG_S; a third
#            robot started late serves the learner's current policy within LATE_S of its
#            start; after the sims stop (quiet period) each robot's rows all reached the
#            learner: the learner's per-robot count equals the robot's rows and the
#            loop's transitions, none dropped, none duplicated; a robot with a key the
#            learner does not list is refused (auth_refused counted, it never joins).
#   restart  (ctest fleet_restart) two realtime robots (200 Hz) and a learner that is
#            stopped for ~5 s and restarted: the robots keep serving their policy while
#            it is gone and say so (fleet_connected false, an ALARM line, STATUS=), the
#            rows made during the outage reach the restarted learner (counted there:
#            received = robot rows - first row it took, first row <= what the robots
#            held when it stopped), and the robots then serve the new learner's policy.
#   noplant  (ctest fleet_noplant) a learner daemon with no plant of its own
#            ([plant] endpoint = none) takes the plant from the first robot's hello,
#            trains on two robots' rows (all of them arrive) and both serve its policy.
# Usage: test_fleet.py basic|restart|noplant BUILD_DIR
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MODE, BUILD = sys.argv[1], os.path.abspath(sys.argv[2])
MAACD = os.path.join(BUILD, "daemon", "maacd")
MAACCTL = os.path.join(BUILD, "daemon", "maacctl")
SIM = os.path.join(BUILD, "transport", "maac_sim", "maac-sim")
TMP = tempfile.mkdtemp(prefix="maacd-fleet-")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
LAG_S = 3.0      # publish -> served on both robots, on this shared 2-core machine
LATE_S = 5.0     # a late robot's start -> it serves the learner's current policy
SMALL = ["init_random_steps=200", "n_models=2", "n_elites=2", "model_hidden=2",
         "model_width=32", "policy_width=32", "q_width=32", "batch=32",
         "updates_per_step=1", "model_train_freq=100", "model_fit_freq=100",
         "rollout_batch=256", "rollout_schedule=1,2,1,1", "threads=1", "horizon=1",
         "steve_horizon=1", "terminal_actions=1", "model_max_epochs=5", "publish_every=50"]
procs = []
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def start(args, log):
    p = subprocess.Popen(args, stdout=open(log, "a"), stderr=subprocess.STDOUT, env=ENV)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=60):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def ctl(ep, cmd="stats"):
    r = subprocess.run([MAACCTL, "-e", ep, "-t", "3000", "--json", cmd], capture_output=True,
                       text=True, env=ENV)
    try:
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {}
    except json.JSONDecodeError:
        return {}


def wait_for(pred, timeout, step=0.2):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def keygen(name):
    base = os.path.join(TMP, "keys", name)
    os.makedirs(os.path.dirname(base), exist_ok=True)
    subprocess.run([MAACCTL, "keygen", base], check=True, capture_output=True, env=ENV)
    return base + ".key", base + ".pub"


class Daemon:
    def __init__(self, name, *extra, mode="lockstep", sim_args=(), sim=True):
        self.name, self.dir = name, os.path.join(TMP, name)
        self.sim_args, self.has_sim = list(sim_args), sim
        os.makedirs(self.dir, exist_ok=True)
        self.plant_ep = f"ipc://{self.dir}/plant.sock"
        self.ctl_ep = f"ipc://{self.dir}/control.sock"
        self.log = os.path.join(self.dir, "maacd.log")
        self.args = [MAACD, "--plant", "inverted_pendulum", "--plant-endpoint", self.plant_ep,
                     "--control-endpoint", self.ctl_ep, "--mode", mode, "--no-mlock",
                     "--priority", "0", "--checkpoint-dir", os.path.join(self.dir, "ckpt"),
                     "--seed", "3", *extra]
        self.p = self.sim = None

    def start(self, env=None):
        global ENV
        saved = ENV
        ENV = env or ENV
        self.p = start(self.args, self.log)
        ENV = saved
        if not self.has_sim:
            return self
        self.sim = start([SIM, "--plant", "inverted_pendulum", "--endpoint", self.plant_ep,
                          "--episodes", "0", "--quiet", *self.sim_args],
                         os.path.join(self.dir, "sim.log"))
        return self

    def stats(self):
        return ctl(self.ctl_ep)

    def stop_sim(self):
        stop(self.sim, signal.SIGINT)

    def stop(self):
        if self.sim:
            stop(self.sim, signal.SIGINT)
        return stop(self.p)


def learner(port, key, allowed, plant=True):
    learn = []
    for kv in SMALL:
        learn += ["--set", "learner." + kv]
    if not plant:
        learn += ["--set", "plant.endpoint=none"]
    return Daemon("learner", "--set", f"learner.fleet_bind=tcp://127.0.0.1:{port}",
                  "--set", f"security.secret_key={key}", "--set", f"security.allowed_keys={allowed}",
                  *learn, sim=plant)


def robot(name, port, key, server_pub, mode="lockstep", *extra, sim_args=()):
    return Daemon(name, "--set", f"learner.fleet_connect=tcp://127.0.0.1:{port}",
                  "--set", f"security.secret_key={key}",
                  "--set", f"security.fleet_server_key={server_pub}",
                  "--set", f"fleet.name={name}", "--set", "fleet.lost_after_s=1.5",
                  *extra, mode=mode, sim_args=sim_args)


def robot_row(ls, name):
    for r in ls.get("fleet_robots", []):
        if r["name"] == name:
            return r
    return None


def keys(names, allowed_names):
    k = {n: keygen(n) for n in names}
    allowed = os.path.join(TMP, "keys", "allowed")
    os.makedirs(allowed, exist_ok=True)
    for n in allowed_names:
        shutil.copy(k[n][1], allowed)
    return k, allowed


def served_all(robots, v):
    # every robot's loop serves the learner's version v (or a later one)
    return all(r.stats().get("fleet_learner_version", 0) >= v and
               r.stats().get("served_version", 0) >= v for r in robots)


def quiet_counts(L, robots):
    # after the sims stopped: nothing held on any robot, then compare counts
    def drained():
        ss = [r.stats() for r in robots]
        return ss if all(s.get("fleet_buffered", 1) == 0 and s.get("fleet_rows", 0) > 0
                         for s in ss) else None
    ss = wait_for(drained, 30)
    check(ss is not None, "robots' buffers drained after the sims stopped")
    return ss or [r.stats() for r in robots], L.stats()


def basic():
    port = free_port()
    k, allowed = keys(["learner", "r1", "r2", "r3", "intruder"], ["r1", "r2", "r3"])
    L = learner(port, k["learner"][0], allowed).start()
    R = [robot(n, port, k[n][0], k["learner"][1]).start() for n in ("r1", "r2")]
    # both robots serve the learner's published policy
    ls = wait_for(lambda: (lambda s: s if s.get("fleet_version", 0) > 1 and
                           s.get("fleet_n_robots") == 2 else None)(L.stats()), 60)
    check(ls is not None, f"learner published a policy and sees 2 robots: {L.stats().get('fleet_robots')}")
    v = (ls or {}).get("fleet_version", 0)
    t0 = time.time()
    ok = wait_for(lambda: served_all(R, v), LAG_S, 0.05)
    check(ok is not None, f"both robots serve the learner's v{v} within {LAG_S} s "
          f"(took {time.time() - t0:.2f} s)")
    s1 = R[0].stats()
    check(s1.get("learner") == "disabled" and s1.get("fleet_role") == "robot",
          f"a robot runs no learner of its own (learner {s1.get('learner')})")
    # a robot started late gets the learner's current policy at once
    late = robot("r3", port, k["r3"][0], k["learner"][1])
    t_late = time.time()
    late.start()
    got = wait_for(lambda: (lambda s: s if s.get("fleet_policies_applied", 0) >= 1 and
                            s.get("served_version", 0) >= s.get("fleet_learner_version", 1) > 1
                            else None)(late.stats()), LATE_S + 10, 0.05)
    dt = time.time() - t_late
    lv = L.stats().get("fleet_version", 0)
    check(got is not None and dt < LATE_S,
          f"late robot serves the learner's policy v{(got or {}).get('fleet_learner_version')} "
          f"{dt:.2f} s after its start (learner at v{lv}; limit {LATE_S} s)")
    # an unknown key is refused: counted, never a robot at the learner
    refused0 = L.stats().get("auth_refused", 0)
    bad = robot("intruder", port, k["intruder"][0], k["learner"][1]).start()
    wait_for(lambda: L.stats().get("auth_refused", 0) > refused0, 10)
    time.sleep(2)
    ls, bs = L.stats(), bad.stats()
    check(ls.get("auth_refused", 0) > refused0 and robot_row(ls, "intruder") is None and
          not bs.get("fleet_connected") and bs.get("fleet_policies_applied") == 0,
          f"unknown key refused (auth_refused {refused0} -> {ls.get('auth_refused')}, "
          f"intruder connected {bs.get('fleet_connected')})")
    bad.stop()
    # quiet period: every row of every robot reached the learner, exactly once. A robot
    # resends from its last acknowledged row after 1 s without an ack, so on a loaded
    # machine the learner may see a row twice: it counts and skips it ("duplicates");
    # exactly once is received == rows made, whatever the duplicates
    robots = R + [late]
    for r in robots:
        r.stop_sim()
    ss, ls = quiet_counts(L, robots)
    for r, s in zip(robots, ss):
        row = robot_row(ls, r.name) or {}
        check(row.get("received") == s.get("fleet_rows") == s.get("transitions") and
              row.get("first_seq") == 0 and
              s.get("transitions_dropped") == 0 and s.get("fleet_rows", 0) > 100,
              f"{r.name}: learner received {row.get('received')} rows, robot made "
              f"{s.get('fleet_rows')} (loop pushed {s.get('transitions')}, dropped "
              f"{s.get('transitions_dropped')}, duplicates {row.get('duplicates')})")
    total = sum(s.get("fleet_rows", 0) for s in ss)
    check(ls.get("fleet_rows_in") == total and ls.get("lt_fleet_received") == total,
          f"learner took {ls.get('fleet_rows_in')} rows, its learner thread "
          f"{ls.get('lt_fleet_received')}, robots made {total}")
    print(f"lag publish -> served: p50 {ls.get('fleet_lag_p50_ms')} ms, p99 "
          f"{ls.get('fleet_lag_p99_ms')} ms over {ls.get('fleet_lag_n')} samples", flush=True)
    for d in robots + [L]:
        check(d.stop() == 0, f"{d.name} exits cleanly")


class Notify:
    # a fake NOTIFY_SOCKET: collects sd_notify datagrams on a thread
    def __init__(self):
        import threading
        self.path = os.path.join(TMP, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs, self.done = [], False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.done:
            try:
                self.msgs.append(self.sock.recv(4096).decode(errors="replace"))
            except socket.timeout:
                pass

    def text(self):
        return "\n".join(self.msgs)


def restart():
    port = free_port()
    k, allowed = keys(["learner", "r1", "r2"], ["r1", "r2"])
    L = learner(port, k["learner"][0], allowed).start()
    note = Notify()
    R = [robot(n, port, k[n][0], k["learner"][1], "realtime", "--rate", "200",
               sim_args=("--rate", "200")) for n in ("r1", "r2")]
    R[0].start(dict(ENV, NOTIFY_SOCKET=note.path))
    R[1].start()
    ls = wait_for(lambda: (lambda s: s if s.get("fleet_version", 0) > 1 and
                           s.get("fleet_n_robots") == 2 else None)(L.stats()), 60)
    v = (ls or {}).get("fleet_version", 0)
    check(wait_for(lambda: served_all(R, v), LAG_S, 0.05) is not None,
          f"both realtime robots serve the learner's v{v}")
    check(L.stop() == 0, "learner stopped (final checkpoint)")
    before = [r.stats() for r in R]
    time.sleep(4)
    during = [r.stats() for r in R]
    for r, b, d in zip(R, before, during):
        log = open(r.log).read()
        check(not d.get("fleet_connected") and d.get("policy_version") == b.get("policy_version")
              and d.get("ticks", 0) > b.get("ticks", 0) + 200 and
              d.get("fleet_buffered", 0) > b.get("fleet_buffered", 0) + 200 and
              "ALARM: fleet: learner" in log and d.get("fleet_lost_events") == 1,
              f"{r.name} without its learner keeps serving v{d.get('policy_version')} "
              f"({d.get('ticks', 0) - b.get('ticks', 0)} ticks), holds "
              f"{d.get('fleet_buffered')} rows, says so (connected {d.get('fleet_connected')})")
    check("fleet: LEARNER LOST" in note.text(), "r1's sd_notify STATUS= says the learner is lost")
    held = [d.get("fleet_acked", 0) for d in during]
    L.start()   # same checkpoint directory: it resumes
    ok = wait_for(lambda: all(r.stats().get("fleet_learner_restarts") == 1 and
                              r.stats().get("fleet_connected") for r in R), 30)
    check(ok is not None, "robots see the restarted learner")
    ls = wait_for(lambda: (lambda s: s if s.get("fleet_version", 0) > 0 else None)(L.stats()), 60)
    v2 = (ls or {}).get("fleet_version", 0)
    check(wait_for(lambda: served_all(R, v2), LAG_S + 5, 0.05) is not None,
          f"robots serve the restarted learner's v{v2}")
    time.sleep(1.5)
    last = [m for m in note.msgs if m.startswith("STATUS=")][-1:]
    check(last and "learner connected" in last[0], f"r1's STATUS= is back to normal: {last}")
    note.done = True
    for r in R:
        r.stop_sim()
    ss, ls = quiet_counts(L, R)
    for r, s, h in zip(R, ss, held):
        row = robot_row(ls, r.name) or {}
        check(row.get("next_seq") == s.get("fleet_rows") and row.get("first_seq", 1 << 62) <= h
              and row.get("received") == s.get("fleet_rows", 0) - row.get("first_seq", 0)
              and s.get("transitions_dropped") == 0,
              f"{r.name}: the restarted learner took rows {row.get('first_seq')}.."
              f"{row.get('next_seq')} (robot made {s.get('fleet_rows')}, held from {h} at the "
              f"outage; dropped {s.get('transitions_dropped')})")
    for d in R + [L]:
        check(d.stop() == 0, f"{d.name} exits cleanly")


def noplant():
    # a learner with no plant of its own: the first robot describes the plant
    port = free_port()
    k, allowed = keys(["learner", "r1", "r2"], ["r1", "r2"])
    L = learner(port, k["learner"][0], allowed, plant=False).start()
    time.sleep(1)
    st = L.stats()
    check(st.get("state") == "waiting_for_plant", f"learner waits for a robot: {st.get('state')}")
    R = [robot(n, port, k[n][0], k["learner"][1]).start() for n in ("r1", "r2")]
    ls = wait_for(lambda: (lambda s: s if s.get("fleet_version", 0) > 1 and
                           s.get("fleet_n_robots") == 2 else None)(L.stats()), 60)
    check(ls is not None and ls.get("plant") == "inverted_pendulum" and ls.get("episodes") == 0,
          f"plant-less learner took the plant from a robot and published "
          f"v{(ls or {}).get('fleet_version')}")
    v = (ls or {}).get("fleet_version", 0)
    check(wait_for(lambda: served_all(R, v), LAG_S, 0.05) is not None,
          f"both robots serve the plant-less learner's v{v}")
    for r in R:
        r.stop_sim()
    ss, ls = quiet_counts(L, R)
    for r, s in zip(R, ss):
        row = robot_row(ls, r.name) or {}
        check(row.get("received") == s.get("fleet_rows") == s.get("transitions") and
              s.get("fleet_rows", 0) > 100,
              f"{r.name}: learner received {row.get('received')} of {s.get('fleet_rows')} rows")
    check(ls.get("lt_received") == ls.get("lt_fleet_received"),
          f"every row the learner took is a robot's ({ls.get('lt_received')} received, "
          f"{ls.get('lt_fleet_received')} from the fleet)")
    for d in R + [L]:
        check(d.stop() == 0, f"{d.name} exits cleanly")


try:
    {"basic": basic, "restart": restart, "noplant": noplant}[MODE]()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if failures:
        print(f"logs kept in {TMP}")
    else:
        shutil.rmtree(TMP, ignore_errors=True)
print(f"{failures} failures")
sys.exit(1 if failures else 0)
