#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# test_daemon_e2e.py -- maacd + maac-sim end to end, on loopback ipc sockets.
#
#   basic  (ctest daemon_e2e): lock-step inverted_pendulum with the learner on; maacctl
#          status parses (--json) and has the documented keys; save writes checkpoints;
#          a corrupt policy file is refused with the policy untouched; a realtime daemon
#          (100 Hz, SCHED_FIFO when permitted) hot-swaps the saved policy while its loop
#          runs: the served version changes and no tick is missed across the swap; the
#          Python example client runs a full episode; `make run`'s script runs and
#          stops cleanly with a final checkpoint; SIGTERM gives a clean exit.
#   learn  (ctest daemon_learn, label slow): online training on inverted_pendulum until
#          an episode's return passes 900.
#   security (ctest daemon_security): tcp without keys is refused at start (and runs,
#          loudly, with insecure = true); a socket directory owned by another user or
#          writable by everyone is refused at start; with CURVE on the tcp plant and
#          control sockets, maac-sim and maacctl with a listed key work, an unknown key
#          and a client without CURVE get nothing and the refusal is counted.
# Usage: test_daemon_e2e.py basic|learn|security BUILD_DIR
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MODE, BUILD = sys.argv[1], os.path.abspath(sys.argv[2])
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAACD = os.path.join(BUILD, "daemon", "maacd")
MAACCTL = os.path.join(BUILD, "daemon", "maacctl")
SIM = os.path.join(BUILD, "transport", "maac_sim", "maac-sim")
TMP = tempfile.mkdtemp(prefix="maacd-e2e-")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
procs = []
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def start(args, log):
    p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=ENV)
    procs.append(p)
    return p


def no_dup_keys(pairs):
    keys = [k for k, _ in pairs]
    dups = {k for k in keys if keys.count(k) > 1}
    d = dict(pairs)
    if dups:
        d["_duplicate_keys"] = sorted(dups)
    return d


def ctl(ep, *cmd, timeout=5000):
    r = subprocess.run([MAACCTL, "-e", ep, "-t", str(timeout), "--json", *cmd],
                       capture_output=True, text=True, env=ENV)
    try:
        return r.returncode, (json.loads(r.stdout, object_pairs_hook=no_dup_keys)
                              if r.stdout.strip() else {})
    except json.JSONDecodeError:
        return r.returncode, {"_unparsed": r.stdout}


def wait_for(ep, pred, timeout, what):
    t0 = time.time()
    st = {}
    while time.time() - t0 < timeout:
        rc, st = ctl(ep, "status", timeout=2000)
        if rc == 0 and pred(st):
            return st
        time.sleep(0.5)
    print(f"timed out after {timeout} s waiting for {what}; last status: {st}", flush=True)
    return None


def stop(p, sig=signal.SIGINT, timeout=120):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def daemon(name, *extra, mode="lockstep", learner=(), plant="inverted_pendulum"):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    plant_ep, ctl_ep = f"ipc://{d}/plant.sock", f"ipc://{d}/control.sock"
    args = [MAACD, *(["--plant", plant] if plant else []), "--plant-endpoint", plant_ep,
            "--control-endpoint", ctl_ep, "--mode", mode, "--no-mlock",
            "--checkpoint-dir", os.path.join(d, "ckpt"), "--seed", "3", *extra]
    for kv in learner:
        args += ["--set", "learner." + kv]
    p = start(args, os.path.join(d, "maacd.log"))
    return p, plant_ep, ctl_ep, d


def sim(plant_ep, d, *extra):
    return start([SIM, "--plant", "inverted_pendulum", "--endpoint", plant_ep, "--episodes", "0",
                  "--quiet", *extra], os.path.join(d, "maac-sim.log"))


def notify_check():
    # sd_notify through a fake NOTIFY_SOCKET: READY=1, STATUS=..., WATCHDOG=1 while healthy
    import socket
    d = os.path.join(TMP, "notify")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(0.2)
    global ENV
    saved = ENV
    ENV = dict(ENV, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    p, plant_ep, ctl_ep, d = daemon("notify-d", "--priority", "0", "--no-learn")
    s = sim(plant_ep, d)
    ENV = saved
    msgs = []
    t0 = time.time()
    while time.time() - t0 < 4:
        try:
            msgs.append(ns.recv(4096).decode())
        except socket.timeout:
            pass
    stop(s)
    stop(p)
    ns.close()
    text = "\n".join(msgs)
    check("READY=1" in text, "sd_notify READY=1")
    check("WATCHDOG=1" in text, "sd_notify WATCHDOG=1 while the loop is healthy")
    check("STATUS=policy v" in text, "sd_notify STATUS= with live figures")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def keygen(name):
    # a CURVE key pair with maacctl keygen: (secret key file, public key file)
    base = os.path.join(TMP, "keys", name)
    os.makedirs(os.path.dirname(base), exist_ok=True)
    r = subprocess.run([MAACCTL, "keygen", base], capture_output=True, text=True, env=ENV)
    check(r.returncode == 0 and os.stat(base + ".key").st_mode & 0o777 == 0o600,
          f"maacctl keygen {name}: {r.stderr.strip()}")
    return base + ".key", base + ".pub"


def allowed_dir(name, *pubs):
    d = os.path.join(TMP, "keys", name)
    os.makedirs(d, exist_ok=True)
    for p in pubs:
        shutil.copy(p, d)
    return d


def fleet_check():
    # two daemons, each with its own plant; B pushes its transitions to A's fleet socket,
    # over CURVE: A admits B's key only, B checks A's public key
    port = free_port()
    a_key, a_pub = keygen("fleet-a")
    b_key, b_pub = keygen("fleet-b")
    pa, plant_a, ctl_a, da = daemon("fleet-a", "--priority", "0",
                                    "--set", f"learner.fleet_bind=tcp://127.0.0.1:{port}",
                                    "--set", f"security.secret_key={a_key}",
                                    "--set", "security.allowed_keys=" + allowed_dir("fleet-allowed", b_pub))
    pb, plant_b, ctl_b, db = daemon("fleet-b", "--priority", "0",
                                    "--set", f"learner.fleet_connect=tcp://127.0.0.1:{port}",
                                    "--set", f"security.secret_key={b_key}",
                                    "--set", f"security.fleet_server_key={a_pub}")
    sa, sb = sim(plant_a, da), sim(plant_b, db)
    st = None
    t0 = time.time()
    while time.time() - t0 < 60:
        time.sleep(0.5)
        rc, st = ctl(ctl_a, "stats")
        if rc == 0 and st.get("lt_fleet_received", 0) > 100:
            break
    check(st is not None and st.get("lt_fleet_received", 0) > 100
          and st.get("auth_accepted", 0) >= 1 and st.get("auth_refused") == 0,
          f"fleet: daemon A received {st.get('lt_fleet_received') if st else None} transitions "
          f"from daemon B over tcp with CURVE (auth_accepted {st.get('auth_accepted') if st else None})")
    for q in (sa, sb, pa, pb):
        stop(q)


def config_errors():
    # bad settings stop maacd at start with exit status 2 and a message naming the key
    r = subprocess.run([MAACD, "--set", "learner.no_such_setting=1"], capture_output=True,
                       text=True, timeout=30, env=ENV)
    check(r.returncode == 2 and "no_such_setting" in r.stderr, f"bad learner key: {r.stderr.strip()}")
    r = subprocess.run([MAACD, "--config", os.path.join(TMP, "missing.conf")], capture_output=True,
                       text=True, timeout=30, env=ENV)
    check(r.returncode == 2 and "cannot open" in r.stderr, f"missing config: {r.stderr.strip()}")
    r = subprocess.run([MAACD, "--rate", "fast"], capture_output=True, text=True, timeout=30, env=ENV)
    check(r.returncode == 2 and "rate_hz" in r.stderr, f"bad flag value: {r.stderr.strip()}")


def basic():
    config_errors()
    notify_check()
    fleet_check()
    # ---- lock-step with learning --------------------------------------------------
    p, plant_ep, ctl_ep, d = daemon("lockstep", "--priority", "0",
                                    learner=("publish_every=50", "init_random_steps=200"))
    s = sim(plant_ep, d)
    st = wait_for(ctl_ep, lambda st: st.get("episodes", 0) >= 5 and st.get("policy_version", 0) >= 2,
                  120, "5 episodes and a learner publication")
    check(st is not None, "lock-step: episodes run and the learner publishes")
    rc, st = ctl(ctl_ep, "status")
    keys = {"state", "plant", "mode", "policy_version", "ticks", "misses", "episodes",
            "last_return", "mean_return", "learner", "updates", "errors"}
    check(rc == 0 and st.get("ok") is True and keys <= set(st), f"status parses: {sorted(st)}")
    check(st.get("learner") == "running" and st.get("errors") == 0, "learner running, no errors")
    rc, stats = ctl(ctl_ep, "stats")
    check(rc == 0 and "jitter_p99_us" in stats and "lt_updates" in stats and "config" in stats,
          "stats has histograms, learner progress, settings")
    check(isinstance(stats.get("blas_core"), str) and stats["blas_core"] != ""
          and isinstance(stats.get("blas_core_auto"), bool),
          f"stats names the OpenBLAS core: {stats.get('blas_core')} auto {stats.get('blas_core_auto')}")
    check("_duplicate_keys" not in stats and "_duplicate_keys" not in st,
          f"no duplicate keys in replies: {stats.get('_duplicate_keys')} {st.get('_duplicate_keys')}")
    rc, sv = ctl(ctl_ep, "save", timeout=5000)   # answered in ~2 s whatever the learner does
    ck = os.path.join(d, "ckpt")
    check(rc == 0 and os.path.exists(os.path.join(ck, "policy.ckpt"))
          and (sv.get("state_pending") or os.path.exists(os.path.join(ck, "learner_state.ckpt"))),
          f"save: {sv}")
    bad = os.path.join(TMP, "corrupt.ckpt")
    with open(bad, "wb") as f:
        f.write(b"\x84\xa6format\xb0maacd-checkpoint" + os.urandom(200))
    v0 = ctl(ctl_ep, "status")[1].get("policy_version")
    rc, r = ctl(ctl_ep, "swap", bad)
    check(rc == 1 and r.get("error") == "swap_rejected", f"corrupt policy refused: {r}")
    check(ctl(ctl_ep, "status")[1].get("policy_version", -1) >= v0, "policy untouched")
    rc, r = ctl(ctl_ep, "pause")
    check(rc == 0 and ctl(ctl_ep, "status")[1].get("paused") is True, "pause")
    check(ctl(ctl_ep, "resume")[0] == 0, "resume")
    stop(s)
    rc = stop(p)
    log = open(os.path.join(d, "maacd.log")).read()
    check(rc == 0 and "final checkpoint written" in log, f"SIGINT: clean exit {rc}, final checkpoint")
    saved = os.path.join(ck, "policy.ckpt")

    # ---- realtime: hot swap while the loop runs -----------------------------------
    p, plant_ep, ctl_ep, d = daemon("realtime", "--no-learn", "--rate", "100", "--priority", "50",
                                    mode="realtime")
    s = sim(plant_ep, d, "--mode", "realtime", "--rate", "100")
    st = wait_for(ctl_ep, lambda st: st.get("ticks", 0) > 100 and st.get("episodes", 0) >= 1,
                  60, "realtime ticks")
    check(st is not None, "realtime loop runs")
    # baseline: is this machine quiet enough to ask for zero misses?
    b0 = ctl(ctl_ep, "status")[1]
    time.sleep(1.0)
    b1 = ctl(ctl_ep, "status")[1]
    m0, m1 = b0.get("misses", 0), b1.get("misses", 0)
    # safe actions come from late observations (maac-sim is not real-time here)
    quiet = b1.get("safe_actions", 0) == b0.get("safe_actions", 0)
    st0 = ctl(ctl_ep, "status")[1]
    rc, r = ctl(ctl_ep, "swap", saved)
    check(rc == 0 and r.get("ok") is True, f"hot swap accepted: {r}")
    time.sleep(1.0)
    st1 = ctl(ctl_ep, "status")[1]
    check(st1.get("served_version", 0) > st0.get("served_version", 0)
          and st1.get("served_version") == r.get("policy_version"),
          f"served version changed {st0.get('served_version')} -> {st1.get('served_version')}")
    if m1 == m0:
        check(st1.get("misses", 0) == st0.get("misses", 0),
              f"no tick missed across the swap ({st0.get('misses')} -> {st1.get('misses')}, "
              f"{st1.get('ticks', 0) - st0.get('ticks', 0)} ticks)")
    else:
        print(f"note: {m1 - m0} misses in a 1 s baseline without a swap: the machine is too busy "
              "to attribute misses; the zero-miss check is skipped")
    safe = st1.get("safe_actions", 0) - st0.get("safe_actions", 0)
    ticks = st1.get("ticks", 0) - st0.get("ticks", 0)
    if quiet:
        check(safe <= 5, f"policy actions served across the swap ({safe} safe of {ticks})")
    else:
        # late observations in the baseline too: the swap must still leave the policy
        # serving most ticks
        check(safe * 2 < ticks, f"policy actions served across the swap on a busy machine "
              f"({safe} safe of {ticks}; {b1.get('safe_actions', 0) - b0.get('safe_actions', 0)} "
              "in the 1 s baseline)")
    # the Python example client runs a full episode (against its own daemon)
    example = os.path.join(SRC, "examples", "maac_client.py")
    stop(s)
    stop(p)
    if os.path.exists(example):
        p, plant_ep, ctl_ep, d = daemon("client", "--priority", "0", "--no-learn", plant=None)
        # its own pendulum plant; --check-errors also sends every kind of bad message
        r = subprocess.run(["/usr/bin/python3", example, "plant", "--endpoint", plant_ep,
                            "--episodes", "1", "--check-errors"],
                           capture_output=True, text=True, timeout=120, env=ENV)
        st = ctl(ctl_ep, "status")[1]
        check(r.returncode == 0 and st.get("episodes", 0) >= 1,
              f"python example client: rc {r.returncode}, daemon saw {st.get('episodes')} episodes"
              f"\n{r.stdout[-500:]}{r.stderr[-500:]}")
        stop(p)
    else:
        print("note: examples/maac_client.py not present; skipped")
    # make run's script, bounded
    env = dict(ENV, RUN_SECONDS="6", CKPT_DIR=os.path.join(TMP, "run-ckpt"),
               MAACD_ARGS="--set learner.init_random_steps=100")
    r = subprocess.run(["bash", os.path.join(SRC, "scripts", "run-default.sh"), BUILD],
                       capture_output=True, text=True, timeout=180, env=env)
    check(r.returncode == 0 and "episodes" in r.stdout
          and os.path.exists(os.path.join(TMP, "run-ckpt", "policy.ckpt")),
          f"run-default.sh runs and checkpoints (rc {r.returncode})\n{r.stdout[-800:]}{r.stderr[-400:]}")


def refused_at_start(args, what, want):
    r = subprocess.run([MAACD, "--no-mlock", "--priority", "0", "--checkpoint-dir",
                        os.path.join(TMP, "ckpt-refused"), *args], capture_output=True,
                       text=True, timeout=30, env=ENV)
    check(r.returncode != 0 and want in r.stderr, f"{what}: rc {r.returncode}: "
          f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")


def security():
    d = os.path.join(TMP, "sec")
    os.makedirs(d, exist_ok=True)
    ipc_ctl = f"ipc://{d}/control.sock"
    port = free_port()
    # tcp without keys: refused at start, before anything listens
    refused_at_start(["--plant-endpoint", f"tcp://127.0.0.1:{port}", "--control-endpoint", ipc_ctl],
                     "tcp plant socket without keys refused", "without CURVE keys")
    refused_at_start(["--control-endpoint", f"tcp://127.0.0.1:{port}",
                      "--plant-endpoint", f"ipc://{d}/plant.sock"],
                     "tcp control socket without keys refused", "insecure = true")
    # ... unless insecure = true says so, and then loudly
    p = start([MAACD, "--no-mlock", "--priority", "0", "--no-learn", "--plant-endpoint",
               f"tcp://127.0.0.1:{port}", "--control-endpoint", ipc_ctl,
               "--checkpoint-dir", os.path.join(d, "ckpt-insecure"), "--set",
               "security.insecure=true"], os.path.join(d, "insecure.log"))
    wait_for(ipc_ctl, lambda st: st.get("ok"), 20, "insecure daemon")
    stop(p)
    log = open(os.path.join(d, "insecure.log")).read()
    check("SECURITY WARNING" in log and "WITHOUT authentication" in log,
          "insecure = true runs with a loud warning")
    # socket directories an attacker could steer: owned by nobody, writable by everyone
    theirs = os.path.join(TMP, "theirs")
    os.makedirs(theirs)
    if os.geteuid() == 0:
        os.chown(theirs, 65534, 65534)
        refused_at_start(["--plant-endpoint", f"ipc://{theirs}/plant.sock",
                          "--control-endpoint", ipc_ctl], "socket dir owned by nobody refused",
                         "owned by uid 65534")
    else:
        print("note: not root: the foreign-owner case needs chown (skipped)")
    opendir = os.path.join(TMP, "open")
    os.makedirs(opendir)
    os.chmod(opendir, 0o777)
    refused_at_start(["--plant-endpoint", f"ipc://{d}/plant.sock",
                      "--control-endpoint", f"ipc://{opendir}/control.sock"],
                     "world-writable socket dir refused", "writable by everyone")
    # CURVE on both tcp sockets
    s_key, s_pub = keygen("server")
    c_key, c_pub = keygen("client")
    x_key, x_pub = keygen("intruder")
    plant_ep, ctl_ep = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    # stale_ms: in lock-step only the plant's session claim uses it; 2 s keeps a busy
    # machine's scheduling gaps from looking like a silent plant
    p = start([MAACD, "--no-mlock", "--priority", "0", "--no-learn", "--plant", "inverted_pendulum",
               "--plant-endpoint", plant_ep, "--control-endpoint", ctl_ep,
               "--checkpoint-dir", os.path.join(d, "ckpt"), "--set", "plant.stale_ms=2000",
               "--set", f"security.secret_key={s_key}",
               "--set", "security.allowed_keys=" + allowed_dir("allowed", c_pub)],
              os.path.join(d, "curve.log"))
    keys = ["--key", c_key, "--server-key", s_pub]

    def sctl(*cmd, k=keys, timeout=3000):
        r = subprocess.run([MAACCTL, "-e", ctl_ep, "-t", str(timeout), "--json", *k, *cmd],
                           capture_output=True, text=True, env=ENV)
        try:
            return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}
        except json.JSONDecodeError:
            return r.returncode, {}
    t0 = time.time()
    while time.time() - t0 < 20 and sctl("status")[0] != 0:
        time.sleep(0.3)
    # a plant without CURVE gets nowhere: maac-sim gives up, the daemon saw no hello
    r = subprocess.run([SIM, "--plant", "inverted_pendulum", "--endpoint", plant_ep, "--insecure",
                        "--episodes", "1", "--quiet", "--timeout-ms", "500", "--give-up-s", "2"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    rc, st = sctl("status")
    check(r.returncode == 2 and rc == 0 and st.get("state") == "waiting_for_plant",
          f"plant without CURVE: maac-sim rc {r.returncode}, daemon {st.get('state')}")
    # nor does one with an unknown key
    r = subprocess.run([SIM, "--plant", "inverted_pendulum", "--endpoint", plant_ep, "--key", x_key,
                        "--server-key", s_pub, "--episodes", "1", "--quiet", "--timeout-ms", "500",
                        "--give-up-s", "2"], capture_output=True, text=True, timeout=60, env=ENV)
    rc, st = sctl("stats")
    check(r.returncode == 2 and st.get("state") == "waiting_for_plant"
          and st.get("auth_refused", 0) >= 1,
          f"plant with an unknown key: maac-sim rc {r.returncode}, auth_refused {st.get('auth_refused')}")
    # a control client with an unknown key: no answer, counted; without keys: refused locally
    n0 = st.get("auth_refused", 0)
    rc, _ = sctl("stop", k=["--key", x_key, "--server-key", s_pub], timeout=1000)
    rc2, st = sctl("stats")
    check(rc == 3 and rc2 == 0 and st.get("auth_refused", 0) > n0,
          f"maacctl with an unknown key gets no answer (rc {rc}); refusals {n0} -> {st.get('auth_refused')}")
    rc, _ = sctl("stop", k=[])
    check(rc == 2, f"maacctl refuses tcp without keys or --insecure (rc {rc})")
    # the listed key: a plant round trip and status
    s = start([SIM, "--plant", "inverted_pendulum", "--endpoint", plant_ep, *keys, "--episodes", "0",
               "--quiet"], os.path.join(d, "sim.log"))
    st = None
    t0 = time.time()
    while time.time() - t0 < 60:
        rc, st = sctl("status")
        if rc == 0 and st.get("episodes", 0) >= 1:
            break
        time.sleep(0.5)
    check(st is not None and st.get("episodes", 0) >= 1 and st.get("errors") == 0,
          f"CURVE plant round trip: {st.get('episodes') if st else None} episodes; status over CURVE")
    # a second plant (even with a listed key) cannot take the running one's session over
    r = subprocess.run([SIM, "--plant", "inverted_pendulum", "--endpoint", plant_ep, *keys,
                        "--episodes", "1", "--timeout-ms", "1000", "--give-up-s", "2"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    rc, st = sctl("stats")
    check(r.returncode == 2 and "busy" in r.stderr and st.get("err_busy", 0) >= 1
          and st.get("takeovers") == 0 and s.poll() is None,
          f"second plant's hello refused (busy): maac-sim rc {r.returncode}, err_busy {st.get('err_busy')}")
    stop(s)
    # the Python example client with the same keys (python3-zmq's CURVE)
    example = os.path.join(SRC, "examples", "maac_client.py")
    if subprocess.run(["/usr/bin/python3", "-c", "import zmq, msgpack"]).returncode == 0:
        r = subprocess.run(["/usr/bin/python3", example, "ctl", "status", "--endpoint", ctl_ep,
                            "--key", c_key, "--server-key", s_pub], capture_output=True,
                           text=True, timeout=60, env=ENV)
        check(r.returncode == 0 and "ok: True" in r.stdout,
              f"python example client over CURVE: rc {r.returncode} {r.stderr[-300:]}")
        r = subprocess.run(["/usr/bin/python3", example, "ctl", "status", "--endpoint", ctl_ep,
                            "--key", x_key, "--server-key", s_pub, "--timeout-ms", "1000"],
                           capture_output=True, text=True, timeout=60, env=ENV)
        check(r.returncode == 2, f"python example client with an unknown key: rc {r.returncode}")
    else:
        print("note: /usr/bin/python3 lacks zmq/msgpack: the Python client's CURVE run is skipped")
    check(sctl("stop")[0] == 0, "maacctl stop with the listed key")
    check(stop(p) == 0, "clean exit")


def learn():
    p, plant_ep, ctl_ep, d = daemon("learn", "--priority", "0")
    s = sim(plant_ep, d)
    t0 = time.time()
    last = 0
    best = None
    while time.time() - t0 < 1700:
        time.sleep(5)
        rc, st = ctl(ctl_ep, "status", timeout=3000)
        if rc != 0:
            continue
        if st.get("episodes", 0) != last:
            last = st.get("episodes", 0)
            print(f"{time.time() - t0:6.0f}s episodes {last} env_steps {st.get('env_steps')} "
                  f"return {st.get('last_return')} mean10 {st.get('mean_return')} "
                  f"policy v{st.get('policy_version')} updates {st.get('updates')}", flush=True)
        if (st.get("best_return") or 0) > 900:
            best = st
            break
    check(best is not None, "online training on inverted_pendulum passes a return of 900"
          + (f" after {best['env_steps']} env steps, {time.time() - t0:.0f} s" if best else ""))
    stop(s)
    check(stop(p) == 0, "clean exit")


try:
    {"basic": basic, "learn": learn, "security": security}[MODE]()
finally:
    for q in procs:
        if q.poll() is None:
            q.kill()
            q.wait()
    if failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"logs kept in {TMP}")
print(f"test_daemon_e2e {MODE}: {'FAILED' if failures else 'passed'}")
sys.exit(1 if failures else 0)
