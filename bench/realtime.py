#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# realtime.py -- maacd learning from a plant that cannot wait: maac-sim in realtime
# mode at the plant's own rate, learner on, for a given number of minutes. Prints
# one row a minute (env steps, learner ingested, dropped, updates per env step, age of
# the newest row trained on, backlog, deterministic evaluation return, exploring
# return), then, with --lockstep, runs the same plant in lock-step until the learner
# has done as many updates as the realtime run and prints both returns side by side.
# Figures only: nothing here asserts a timing.
#
#   bench/realtime.py BUILD_DIR --plant hopper --minutes 30 [--rate HZ] [--lockstep]
#                     [--csv OUT.csv] [--set learner.KEY=V ...] [--rt]
#   bench/realtime.py BUILD_DIR --plant hopper --lockstep-only UPDATES
# --lockstep-only runs only the lock-step reference, to the given number of updates (the
# realtime run's final lt_updates), e.g. to redo the reference on a quieter machine.
# --rt runs the control loop at SCHED_FIFO 80 and maac-sim at SCHED_FIFO 70 (needs root
# or CAP_SYS_NICE), as on a robot whose timing does not depend on the learner's machine.
# The data age is sampled every 5 s; each row reports the largest sample of its minute.
import argparse
import csv
import json
import os
import signal
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--plant", default="hopper")
ap.add_argument("--minutes", type=float, default=30)
ap.add_argument("--rate", type=float, default=0, help="Hz (0: the plant's own period)")
ap.add_argument("--lockstep", action="store_true")
ap.add_argument("--csv", default="")
ap.add_argument("--set", action="append", default=[])
ap.add_argument("--rt", action="store_true")
ap.add_argument("--lockstep-only", type=int, default=0, metavar="UPDATES")
a = ap.parse_args()
B = os.path.abspath(a.build)
MAACD, CTL = f"{B}/daemon/maacd", f"{B}/daemon/maacctl"
SIM = f"{B}/transport/maac_sim/maac-sim"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def stats(ep):
    r = subprocess.run([CTL, "-e", ep, "-t", "3000", "--json", "stats"], capture_output=True,
                       text=True, env=ENV)
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {}


def run(mode, until):
    d = tempfile.mkdtemp(prefix=f"maacd-bench-{mode}-")
    pe, ce = f"ipc://{d}/plant.sock", f"ipc://{d}/control.sock"
    args = [MAACD, "--plant", a.plant, "--plant-endpoint", pe, "--control-endpoint", ce,
            "--mode", mode, "--no-mlock", "--priority", "80" if a.rt else "0",
            "--checkpoint-dir", f"{d}/state",
            "--seed", "1"]
    if a.rate:
        args += ["--rate", str(a.rate)]
    for kv in a.set:
        args += ["--set", kv]
    p = subprocess.Popen(args, stdout=open(f"{d}/maacd.log", "w"), stderr=subprocess.STDOUT,
                         env=ENV)
    time.sleep(0.5)
    sim = (["chrt", "-f", "70"] if a.rt else []) + [SIM, "--plant", a.plant, "--endpoint", pe, "--episodes", "0", "--quiet"]
    if a.rate:
        sim += ["--rate", str(a.rate)]
    s = subprocess.Popen(sim, stdout=open(f"{d}/sim.log", "w"), stderr=subprocess.STDOUT)
    rows, t0, last, age_max = [], time.time(), None, 0.0
    try:
        while True:
            time.sleep(5)
            st = stats(ce)
            if not st.get("ok"):
                continue
            last = st
            age = st.get("lt_data_age_s")
            if isinstance(age, (int, float)) and age == age:
                age_max = max(age_max, age)
            t = (time.time() - t0) / 60
            if mode == "realtime" and (not rows or t - rows[-1]["minute"] >= 1 - 1e-9):
                row = {"minute": round(t, 2), "env_steps": st.get("env_steps"),
                       "pushed": st.get("transitions"), "ingested": st.get("lt_ingested"),
                       "dropped": st.get("transitions_dropped"), "updates": st.get("lt_updates"),
                       "updates_per_step": st.get("lt_updates_per_step"),
                       "data_age_s": age_max, "backlog": st.get("lt_backlog"),
                       "eval_return": st.get("eval_return"), "mean10": st.get("mean_return"),
                       "misses": st.get("misses"), "safe": st.get("safe_actions")}
                rows.append(row)
                age_max = 0.0
                print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in row.items()), flush=True)
            if until(t, st):
                break
    finally:
        s.send_signal(signal.SIGINT)
        s.wait(30)
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    return rows, last


if a.lockstep_only:
    # to the given updates, then on to the next deterministic evaluation (every
    # control.eval_every-th episode), so the return printed is one measured after them
    seen = {}

    def done(t, st):
        if st.get("lt_updates", 0) < a.lockstep_only:
            return False
        if "at" not in seen:
            seen["at"] = (st.get("lt_updates"), st.get("env_steps"), st.get("eval_return"))
            print(f"lock-step {a.plant}: {seen['at'][0]} updates at {seen['at'][1]} env steps, "
                  f"last evaluation {seen['at'][2]}; on to the next evaluation", flush=True)
        return st.get("eval_return") != seen["at"][2]
    _, ls = run("lockstep", done)
    print(f"lock-step {a.plant} at {ls.get('lt_updates')} updates ({ls.get('env_steps')} env "
          f"steps): eval return {ls.get('eval_return')}", flush=True)
    raise SystemExit(0)

rows, last = run("realtime", lambda t, st: t >= a.minutes)
if a.csv and rows:
    with open(a.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
print(f"realtime {a.plant}: {a.minutes} min, env steps {last.get('env_steps')}, pushed "
      f"{last.get('transitions')}, ingested {last.get('lt_ingested')}, dropped "
      f"{last.get('transitions_dropped')}, updates {last.get('lt_updates')}, eval return "
      f"{last.get('eval_return')}, max data age "
      f"{max((r['data_age_s'] or 0) for r in rows) if rows else 'n/a'} s", flush=True)
if a.lockstep:
    want = last.get("lt_updates", 0)
    _, ls = run("lockstep", lambda t, st: st.get("lt_updates", 0) >= want)
    print(f"lock-step {a.plant} at {ls.get('lt_updates')} updates ({ls.get('env_steps')} env "
          f"steps): eval return {ls.get('eval_return')} (realtime {last.get('eval_return')} at "
          f"{want} updates, {last.get('env_steps')} env steps)", flush=True)
