#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""maac_client.py -- drive maacd from Python with nothing but python3-zmq and
python3-msgpack, following docs/protocol.md.

Two uses:

  plant   a tiny built-in plant (a torque-limited pendulum, Gymnasium
          Pendulum-v1 dynamics) connects to the daemon's plant socket, says hello
          and runs episodes in whichever mode the daemon announces (lockstep:
          obs -> wait for its action -> step; realtime: step at the daemon's rate
          with the newest action). --check-errors first sends one bad message of
          every kind the protocol names and checks that each gets its error reply
          (and a safe action where one is due) and that the daemon keeps serving.
  ctl     one control-socket command (status, stats, swap FILE, save, pause,
          resume, mode policy|mpc, stop); prints the reply as key: value lines.

Examples:
  /usr/bin/python3 examples/maac_client.py plant --episodes 3
  /usr/bin/python3 examples/maac_client.py plant --endpoint tcp://robot:5555 \
      --key arm1.key --server-key maacd.pub     # CURVE (keys from `maacctl keygen`)
  /usr/bin/python3 examples/maac_client.py ctl status
  /usr/bin/python3 examples/maac_client.py ctl swap /var/lib/maacd/policy.msgpack

A tcp endpoint needs CURVE keys (--key CLIENT.key --server-key SERVER.pub, or
$MAACD_KEY / $MAACD_SERVER_KEY) unless --insecure; ipc endpoints need none. The
default endpoints are the daemon's (docs/daemon.md "Security"): $MAACD_PLANT /
$MAACD_CONTROL, else the socket directory $RUNTIME_DIRECTORY, /run/maacd as root,
$XDG_RUNTIME_DIR/maacd, or /tmp/maacd-UID.

Exit status: 0 success, 1 a check failed or the daemon rejected us, 2 no daemon.
"""
import argparse
import math
import os
import random
import re
import sys
import time

import msgpack
import zmq

V = 1


def socket_dir():
    """The daemon's default ipc socket directory (transport/sockdir.h)."""
    rd = os.environ.get("RUNTIME_DIRECTORY", "")
    if rd.startswith("/"):
        return rd.split(":")[0]
    if os.geteuid() == 0:
        return "/run/maacd"
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return xdg + "/maacd"
    return "/tmp/maacd-%d" % os.geteuid()


PLANT_ENDPOINT = os.environ.get("MAACD_PLANT") or "ipc://%s/plant.sock" % socket_dir()
CONTROL_ENDPOINT = os.environ.get("MAACD_CONTROL") or "ipc://%s/control.sock" % socket_dir()


def read_key(path, name):
    """The Z85 key in a key file from `maacctl keygen` (or a zcert file's `name`)."""
    text = open(path).read()
    m = re.search(r'^\s*%s\s*=\s*"([^"]{40})"' % name, text, re.M)
    if m:
        return m.group(1).encode()
    for line in text.splitlines():
        tok = line.split()
        if tok and not tok[0].startswith("#") and len(tok[0]) == 40:
            return tok[0].encode()
    raise ValueError("%s: no Z85 key in it" % path)


def is_network(endpoint):
    return not (endpoint.startswith("inproc://") or
                (endpoint.startswith("ipc://") and not endpoint.startswith("ipc://@")))


def connect(sock, endpoint, args):
    """Connect sock, as a CURVE client when the endpoint is on the network."""
    if is_network(endpoint):
        key = args.key or os.environ.get("MAACD_KEY")
        server_key = args.server_key or os.environ.get("MAACD_SERVER_KEY")
        if key and server_key:
            secret = read_key(key, "secret-key")
            sock.curve_secretkey = secret
            sock.curve_publickey = zmq.curve_public(secret)
            sock.curve_serverkey = read_key(server_key, "public-key")
        elif not args.insecure:
            raise SystemExit("maac_client: %s is a network endpoint: give --key CLIENT.key and "
                             "--server-key SERVER.pub (CURVE), or --insecure" % endpoint)
    sock.connect(endpoint)


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False)


class Pendulum:
    """Gymnasium Pendulum-v1: obs [cos th, sin th, thdot], torque in [-2, 2]."""

    name = "toy_pendulum"
    obs_dim = 3
    act_dim = 1
    dt = 0.05
    act_low = [-2.0]
    act_high = [2.0]

    def __init__(self, max_steps=200):
        self.max_steps = max_steps
        self.th = self.thdot = 0.0
        self.t = 0

    def reset(self, seed):
        rng = random.Random(seed)
        self.th = rng.uniform(-math.pi, math.pi)
        self.thdot = rng.uniform(-1.0, 1.0)
        self.t = 0
        return self.obs()

    def obs(self):
        return [math.cos(self.th), math.sin(self.th), self.thdot]

    def step(self, action):
        u = min(max(float(action[0]), -2.0), 2.0)
        th_norm = ((self.th + math.pi) % (2 * math.pi)) - math.pi
        cost = th_norm ** 2 + 0.1 * self.thdot ** 2 + 0.001 * u ** 2
        g, m, l = 10.0, 1.0, 1.0
        self.thdot += (3 * g / (2 * l) * math.sin(self.th) + 3.0 / (m * l * l) * u) * self.dt
        self.thdot = min(max(self.thdot, -8.0), 8.0)
        self.th += self.thdot * self.dt
        self.t += 1
        return self.obs(), -cost, False, self.t >= self.max_steps


class DaemonError(Exception):
    pass


class PlantClient:
    """One plant session on a DEALER socket (docs/protocol.md sections 3-5)."""

    def __init__(self, ctx, endpoint, plant, timeout_ms=5000, verbose=True, args=None):
        self.plant = plant
        self.timeout_ms = timeout_ms
        self.verbose = verbose
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 200)
        connect(self.sock, endpoint, args)
        self.seq = 0
        self.mode = "lockstep"
        self.rate_hz = 1.0 / plant.dt
        self.errors = []          # error messages received
        self.stats = {"episodes": 0, "steps": 0, "actions": 0, "safe_actions": 0,
                      "late_actions": 0, "returns": []}

    def log(self, *a):
        if self.verbose:
            print("maac_client:", *a, file=sys.stderr)

    def send(self, msg):
        self.sock.send(pack(msg) if isinstance(msg, dict) else msg)

    def recv(self, timeout_ms):
        """The next message as a dict, or None on timeout. Error messages are
        recorded (self.errors) and returned like any other."""
        if not self.sock.poll(timeout_ms):
            return None
        msg = unpack(self.sock.recv())
        if msg.get("type") == "error":
            self.errors.append(msg)
            self.log("daemon error %s: %s" % (msg.get("code"), msg.get("msg")))
        return msg

    def hello(self):
        p = self.plant
        self.send({"v": V, "type": "hello", "plant": p.name, "obs_dim": p.obs_dim,
                   "act_dim": p.act_dim, "dt": p.dt, "act_low": p.act_low,
                   "act_high": p.act_high})
        msg = self.recv(self.timeout_ms)
        if msg is None:
            raise TimeoutError("no welcome within %d ms" % self.timeout_ms)
        if msg.get("type") != "welcome":
            raise DaemonError("hello rejected: %s: %s" % (msg.get("code"), msg.get("msg")))
        self.mode = msg["mode"]
        self.rate_hz = msg["rate_hz"] or 1.0 / p.dt
        self.log("welcome: mode %s, %.1f Hz, policy v%d" % (self.mode, self.rate_hz,
                                                            msg.get("policy_version", 0)))
        return msg

    def obs_msg(self, obs, reward=0.0, terminated=False, truncated=False, first=False,
                seq=None):
        if seq is None:
            seq = self.seq
            self.seq += 1
        return {"v": V, "type": "obs", "seq": seq, "t_ns": time.time_ns(),
                "obs": [float(x) for x in obs], "reward": float(reward),
                "terminated": bool(terminated), "truncated": bool(truncated),
                "first": bool(first)}

    def wait_action(self, seq):
        """Lockstep: the action answering seq (skipping late answers and errors)."""
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                raise TimeoutError("no action for seq %d within %d ms" % (seq, self.timeout_ms))
            msg = self.recv(left)
            if msg is None or msg.get("type") != "action":
                continue
            if msg["seq"] != seq:
                self.stats["late_actions"] += 1
                continue
            self.stats["actions"] += 1
            self.stats["safe_actions"] += bool(msg.get("safe"))
            return msg

    def run_episode(self, seed):
        p = self.plant
        obs = p.reset(seed)
        total, steps = 0.0, 0
        action = [0.0] * p.act_dim
        self.send(self.obs_msg(obs, first=True))
        done = False
        if self.mode == "lockstep":
            while True:
                a = self.wait_action(self.seq - 1)
                if done:
                    break             # the answer to the last observation is not applied
                obs, r, term, trunc = p.step(a["action"])
                total += r
                steps += 1
                done = term or trunc
                self.send(self.obs_msg(obs, r, term, trunc))
        else:
            period = 1.0 / self.rate_hz
            next_t = time.monotonic() + period
            last_heard = time.monotonic()
            while not done:
                time.sleep(max(0.0, next_t - time.monotonic()))
                next_t += period
                while True:       # the newest action wins
                    msg = self.recv(0)
                    if msg is None:
                        break
                    last_heard = time.monotonic()
                    if msg.get("type") == "action":
                        self.stats["actions"] += 1
                        self.stats["safe_actions"] += bool(msg.get("safe"))
                        action = msg["action"]
                if time.monotonic() - last_heard > self.timeout_ms / 1000.0:
                    raise TimeoutError("no action for %d ms" % self.timeout_ms)
                obs, r, term, trunc = p.step(action)
                total += r
                steps += 1
                done = term or trunc
                self.send(self.obs_msg(obs, r, term, trunc))
        self.stats["episodes"] += 1
        self.stats["steps"] += steps
        self.stats["returns"].append(total)
        self.log("episode %d: return %.2f in %d steps" % (self.stats["episodes"], total, steps))
        return total

    def bye(self):
        self.send({"v": V, "type": "bye"})

    def check_errors(self, max_msg_bytes):
        """Send one bad message of each kind; check the replies (lockstep only).
        Returns a list of failure strings (empty when everything behaved)."""
        p = self.plant
        fails = []
        good = p.reset(12345)

        def expect(what, payload, code, safe_for=None):
            n0 = len(self.errors)
            self.send(payload)
            deadline = time.monotonic() + self.timeout_ms / 1000.0
            got_err, got_safe = None, safe_for is None
            while time.monotonic() < deadline and not (got_err and got_safe):
                msg = self.recv(100)
                if msg is None:
                    continue
                if msg.get("type") == "error":
                    got_err = msg
                elif msg.get("type") == "action" and safe_for is not None:
                    if msg["seq"] == safe_for and msg.get("safe"):
                        got_safe = True
            if not got_err:
                fails.append("%s: no error reply" % what)
            elif got_err.get("code") != code:
                fails.append("%s: error code %r, expected %r (%s)" % (
                    what, got_err.get("code"), code, got_err.get("msg")))
            if not got_safe:
                fails.append("%s: no safe action for seq %s" % (what, safe_for))
            if got_err:
                self.log("check %-22s -> %s: %s" % (what, got_err.get("code"), got_err.get("msg")))
            del self.errors[n0:]

        # a valid first observation, answered normally
        self.send(self.obs_msg(good, first=True))
        self.wait_action(self.seq - 1)
        expect("malformed msgpack", b"\xc1\x00", "malformed")
        expect("not a map", pack([1, 2, 3]), "bad_message")
        expect("unknown type", pack({"v": V, "type": "ping"}), "bad_message")
        expect("bad version", pack({"v": 99, "type": "bye"}), "bad_version")
        expect("wrong type", pack({"v": V, "type": "action", "seq": 0, "action": [0.0]}),
               "wrong_type")
        m = self.obs_msg(good[:-1])
        expect("wrong obs size", pack(m), "bad_size", safe_for=m["seq"])
        m = self.obs_msg([float("nan")] + good[1:])
        expect("NaN observation", pack(m), "nonfinite", safe_for=m["seq"])
        m = self.obs_msg(good, reward=float("inf"))
        expect("Inf reward", pack(m), "nonfinite", safe_for=m["seq"])
        m = self.obs_msg(good)
        m["obs"] = "not an array"
        expect("wrong field type", pack(m), "bad_message", safe_for=m["seq"])
        m = self.obs_msg(good, seq=0)          # not after the last accepted seq
        expect("out-of-order seq", pack(m), "sequence", safe_for=0)
        m = self.obs_msg(good)
        m["padding"] = b"\0" * (max_msg_bytes + 1)
        expect("oversized", pack(m), "oversized")
        # the daemon still serves: a normal observation gets a normal answer
        self.send(self.obs_msg(good))
        try:
            a = self.wait_action(self.seq - 1)
            if len(a["action"]) != p.act_dim:
                fails.append("after the bad input: action of %d entries" % len(a["action"]))
        except TimeoutError as e:
            fails.append("after the bad input: %s" % e)
        # end this check episode cleanly
        self.send(self.obs_msg(good, truncated=True))
        self.wait_action(self.seq - 1)
        return fails


def run_plant(args):
    ctx = zmq.Context()
    plant = Pendulum(max_steps=args.max_steps)
    cli = PlantClient(ctx, args.endpoint, plant, args.timeout_ms, verbose=not args.quiet,
                      args=args)
    status = 0
    try:
        welcome = cli.hello()
        if args.check_errors:
            if cli.mode != "lockstep":
                print("maac_client: --check-errors needs a lockstep daemon", file=sys.stderr)
                return 1
            fails = cli.check_errors(int(welcome.get("max_msg_bytes", 65536)))
            for f in fails:
                print("maac_client: CHECK FAILED:", f, file=sys.stderr)
            if fails:
                status = 1
        for k in range(args.episodes):
            cli.run_episode(args.seed + k)
        cli.bye()
    except TimeoutError as e:
        print("maac_client: %s (is maacd running at %s?)" % (e, args.endpoint), file=sys.stderr)
        status = 2
    except DaemonError as e:
        print("maac_client: %s" % e, file=sys.stderr)
        status = 1
    finally:
        cli.sock.close()
        ctx.term()
    s = cli.stats
    mean = sum(s["returns"]) / len(s["returns"]) if s["returns"] else 0.0
    print("maac_client: episodes %d steps %d actions %d safe_actions %d errors %d "
          "mean_return %.3f" % (s["episodes"], s["steps"], s["actions"], s["safe_actions"],
                                len(cli.errors), mean))
    return status


def run_ctl(args):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    connect(sock, args.endpoint, args)
    req = {"v": V, "type": "ctl", "cmd": args.cmd}
    if args.arg is not None:
        req["arg"] = args.arg
    sock.send(pack(req))
    if not sock.poll(args.timeout_ms):
        print("maac_client: no reply from %s" % args.endpoint, file=sys.stderr)
        sock.close()
        ctx.term()
        return 2
    rep = unpack(sock.recv())
    sock.close()
    ctx.term()
    for k, v in rep.items():
        if k not in ("v", "type"):
            print("%s: %s" % (k, v))
    return 0 if rep.get("ok") else 1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what")
    pp = sub.add_parser("plant", help="run the toy pendulum plant against maacd")
    pp.add_argument("--endpoint", default=PLANT_ENDPOINT)
    pp.add_argument("--episodes", type=int, default=1)
    pp.add_argument("--seed", type=int, default=0)
    pp.add_argument("--max-steps", type=int, default=200)
    pp.add_argument("--timeout-ms", type=int, default=5000)
    pp.add_argument("--check-errors", action="store_true",
                    help="first check the daemon's answers to bad input")
    pp.add_argument("--quiet", action="store_true")
    cp = sub.add_parser("ctl", help="send one control command")
    cp.add_argument("cmd", choices=["status", "stats", "swap", "save", "pause", "resume",
                                    "mode", "stop"])
    cp.add_argument("arg", nargs="?")
    cp.add_argument("--endpoint", default=CONTROL_ENDPOINT)
    cp.add_argument("--timeout-ms", type=int, default=5000)
    for p in (pp, cp):
        p.add_argument("--key", help="CURVE client secret key file (tcp endpoints)")
        p.add_argument("--server-key", help="the daemon's CURVE public key file")
        p.add_argument("--insecure", action="store_true", help="tcp without CURVE")
    args = ap.parse_args(argv)
    if args.what == "ctl":
        return run_ctl(args)
    if args.what is None:
        args = ap.parse_args(["plant"] + argv)
    return run_plant(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
