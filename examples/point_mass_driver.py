#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""point_mass_driver.py -- a robot maacd has never heard of, written from
docs/protocol.md: a 1-D point mass ("my_arm") that should come to rest at x = 1.

  observation [x, v], force a in [-1, 1], dt = 0.05 s (20 Hz)
  v' = v + dt a,  x' = x + dt v'          (semi-implicit Euler)
  end stops at x = -1 and x = 3 (a rail, like a real joint's limits: the mass stops
  there, v' = 0), so a bad policy cannot fling it arbitrarily far
  reward -(x' - 1)^2 per step, 200-step episodes from x = v = 0, no termination

The driver speaks the plant protocol (hello -> welcome -> obs/action, docs/robots.md)
with nothing but python3-zmq and python3-msgpack. In realtime mode it steps at the
daemon's rate with the newest action; in lock-step mode it waits for each answer.
It runs learning episodes for --learn-seconds (or --episodes), then, with
--eval-episodes, pauses learning over the control socket (`pause`: the daemon then
serves the deterministic policy) and reports the deterministic return; with
--expect-return R it exits 1 when that return is below R. With --max-learn-seconds T
as well, a check below R resumes learning (`resume`) for --relearn-seconds more and
checks again, until one check reaches R or T seconds have passed: the question asked is
"does the policy reach R within T seconds", which one check at a fixed instant answers
badly for an online learner whose deterministic policy wobbles for a few episodes now
and then (docs/robots.md, "How long to learn").
--eval-mode mpc switches the daemon to CEM-MPC (`mode mpc`), waits for the next
publication (which carries the models and Q that CEM plans with), then pauses and
evaluates the planner instead of the policy. The optimum return of
this task is printed with --optimum (projected gradient ascent over the 200
actions: the return is concave in them).

Example (docs/robots.md):
  maacd --config my_arm.conf &
  examples/point_mass_driver.py --learn-seconds 240 --eval-episodes 1
"""
import argparse
import sys
import time

import msgpack
import zmq

V = 1
DT = 0.05
STEPS = 200
TARGET = 1.0
X_MIN, X_MAX = -1.0, 3.0   # end stops


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False)


class PointMass:
    name = "my_arm"
    obs_dim, act_dim = 2, 1
    act_low, act_high = [-1.0], [1.0]

    def reset(self):
        self.x, self.v, self.t = 0.0, 0.0, 0
        return [self.x, self.v]

    def step(self, a):
        u = min(max(float(a[0]), -1.0), 1.0)
        self.v += DT * u
        self.x += DT * self.v
        if self.x < X_MIN or self.x > X_MAX:     # end stop
            self.x = min(max(self.x, X_MIN), X_MAX)
            self.v = 0.0
        self.t += 1
        return [self.x, self.v], -(self.x - TARGET) ** 2, self.t >= STEPS


def rollout_positions(a):
    x, v, xs = 0.0, 0.0, []
    for u in a:
        v += DT * u
        x += DT * v
        xs.append(x)
    return xs


def optimum_return(iters=5000, lr=1e-3):
    """Best return over open-loop action sequences. The return is concave in the
    actions: start from the best bang-bang sequence (+1 for k1 steps, -1 for k2),
    then projected gradient ascent."""
    def ret(a):
        return -sum((x - TARGET) ** 2 for x in rollout_positions(a))
    cands = ([1.0] * k1 + [-1.0] * k2 + [0.0] * (STEPS - k1 - k2)
             for k1 in range(1, 60) for k2 in range(0, 60))
    a = max(cands, key=ret)
    for _ in range(iters):
        xs = rollout_positions(a)
        # d return / d a_k = sum_{t>=k} -2 (x_t - 1) DT^2 (t - k + 1)
        g = [0.0] * STEPS
        acc1 = acc2 = 0.0      # suffix sums of e_t and (t + 1) e_t
        for k in range(STEPS - 1, -1, -1):
            e = -2.0 * (xs[k] - TARGET)
            acc1 += e
            acc2 += e * (k + 1)
            g[k] = DT * DT * (acc2 - k * acc1)
        a = [min(1.0, max(-1.0, ai + lr * gi)) for ai, gi in zip(a, g)]
    return ret(a)


class Driver:
    def __init__(self, ctx, endpoint, timeout_ms):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 200)
        self.sock.connect(endpoint)
        self.timeout_ms = timeout_ms
        self.plant = PointMass()
        self.seq = 0
        self.safe = 0

    def recv(self, timeout_ms):
        if not self.sock.poll(timeout_ms):
            return None
        msg = unpack(self.sock.recv())
        if msg.get("type") == "error":
            print("driver: daemon error %s: %s" % (msg.get("code"), msg.get("msg")),
                  file=sys.stderr)
        return msg

    def hello(self):
        p = self.plant
        self.sock.send(pack({"v": V, "type": "hello", "plant": p.name, "obs_dim": p.obs_dim,
                             "act_dim": p.act_dim, "dt": DT, "act_low": p.act_low,
                             "act_high": p.act_high}))
        msg = self.recv(self.timeout_ms)
        if msg is None or msg.get("type") != "welcome":
            raise RuntimeError("no welcome: %r" % (msg,))
        self.mode, self.rate_hz = msg["mode"], msg["rate_hz"] or 1.0 / DT

    def send_obs(self, obs, r=0.0, truncated=False, first=False):
        self.sock.send(pack({"v": V, "type": "obs", "seq": self.seq, "t_ns": time.time_ns(),
                             "obs": obs, "reward": r, "terminated": False,
                             "truncated": truncated, "first": first}))
        self.seq += 1

    def action_for(self, seq):
        """Lock-step: the answer to seq."""
        while True:
            msg = self.recv(self.timeout_ms)
            if msg is None:
                raise RuntimeError("no action for seq %d" % seq)
            if msg.get("type") == "action" and msg["seq"] == seq:
                self.safe += bool(msg.get("safe"))
                return msg["action"]

    def episode(self):
        p = self.plant
        obs, ret, done, a = p.reset(), 0.0, False, [0.0]
        self.send_obs(obs, first=True)
        period, next_t = 1.0 / self.rate_hz, time.monotonic()
        while not done:
            if self.mode == "lockstep":
                a = self.action_for(self.seq - 1)
            else:
                next_t += period
                time.sleep(max(0.0, next_t - time.monotonic()))
                while True:   # the newest action wins
                    msg = self.recv(0)
                    if msg is None:
                        break
                    if msg.get("type") == "action":
                        a = msg["action"]
                        self.safe += bool(msg.get("safe"))
            obs, r, done = p.step(a)
            ret += r
            self.send_obs(obs, r, truncated=done)
        if self.mode == "lockstep":
            self.action_for(self.seq - 1)   # the answer to the last obs (not applied)
        return ret


def ctl(ctx, endpoint, cmd, arg=None):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    req = {"v": V, "type": "ctl", "cmd": cmd}
    if arg is not None:
        req["arg"] = arg
    s.send(pack(req))
    rep = unpack(s.recv()) if s.poll(10000) else {"ok": False, "msg": "no reply"}
    s.close()
    return rep


def to_mpc(ctx, d, args):
    """Switch to CEM-MPC and run learning episodes until a publication made after the
    switch is served (it carries the models and Q that CEM plans with): two versions on,
    as one may have been on its way at the switch."""
    v0 = ctl(ctx, args.control_endpoint, "status").get("served_version")
    rep = ctl(ctx, args.control_endpoint, "mode", "mpc")
    if not rep.get("ok"):
        print("driver: mode mpc refused: %s" % rep, file=sys.stderr)
        return False
    for _ in range(50):
        v = ctl(ctx, args.control_endpoint, "status").get("served_version")
        if isinstance(v, int) and isinstance(v0, int) and v >= v0 + 2:
            return True
        d.episode()
    print("driver: no publication after mode mpc", file=sys.stderr)
    return False


def check(ctx, d, args, t0, k):
    """Pause learning (the daemon serves the deterministic policy, or CEM), run the
    evaluation episodes and return their mean return, or None when pause is refused."""
    rep = ctl(ctx, args.control_endpoint, "pause")
    if not rep.get("ok"):
        print("driver: pause refused: %s" % rep, file=sys.stderr)
        return None
    rets = [d.episode() for _ in range(args.eval_episodes)]
    ev = sum(rets) / len(rets)
    print("eval return %.3f after %d episodes, %.0f s (%s)" %
          (ev, k, time.monotonic() - t0,
           "CEM-MPC" if args.eval_mode == "mpc" else "deterministic policy"), flush=True)
    return ev


def evaluate(ctx, d, args, t0, k):
    """Check; below --expect-return, learn --relearn-seconds more and check again while
    --max-learn-seconds allows. Returns the exit status."""
    while True:
        ev = check(ctx, d, args, t0, k)
        if ev is None:
            return 1
        if args.expect_return is None or ev >= args.expect_return:
            return 0
        left = args.max_learn_seconds - (time.monotonic() - t0)
        if left < args.relearn_seconds:
            print("driver: eval return %.3f below %.3f" % (ev, args.expect_return),
                  file=sys.stderr)
            return 1
        print("driver: eval return %.3f below %.3f; learning %.0f s more" %
              (ev, args.expect_return, args.relearn_seconds), file=sys.stderr)
        if not ctl(ctx, args.control_endpoint, "resume").get("ok"):
            print("driver: resume refused", file=sys.stderr)
            return 1
        t1 = time.monotonic()
        while time.monotonic() - t1 < args.relearn_seconds:
            last = d.episode()
            k += 1
            print("episode %d return %.3f at %.0f s" % (k, last, time.monotonic() - t0),
                  flush=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", default="ipc:///tmp/maacd/plant.sock")
    ap.add_argument("--control-endpoint", default="ipc:///tmp/maacd/control.sock")
    ap.add_argument("--learn-seconds", type=float, default=0.0)
    ap.add_argument("--episodes", type=int, default=0, help="learning episodes (or time)")
    ap.add_argument("--eval-episodes", type=int, default=0)
    ap.add_argument("--eval-mode", choices=["policy", "mpc"], default="policy")
    ap.add_argument("--expect-return", type=float, default=None)
    ap.add_argument("--max-learn-seconds", type=float, default=0.0,
                    help="with --expect-return: keep learning and re-checking until then")
    ap.add_argument("--relearn-seconds", type=float, default=30.0,
                    help="learning between two checks (with --max-learn-seconds)")
    ap.add_argument("--optimum", action="store_true", help="print the optimum return and exit")
    ap.add_argument("--timeout-ms", type=int, default=10000)
    args = ap.parse_args(argv)
    if args.optimum:
        print("optimum return %.3f" % optimum_return())
        return 0
    ctx = zmq.Context()
    d = Driver(ctx, args.endpoint, args.timeout_ms)
    d.hello()
    print("driver: %s mode at %.1f Hz" % (d.mode, d.rate_hz), file=sys.stderr)
    t0, k, last = time.monotonic(), 0, None
    while (args.episodes and k < args.episodes) or \
            (args.learn_seconds and time.monotonic() - t0 < args.learn_seconds):
        last = d.episode()
        k += 1
        print("episode %d return %.3f at %.0f s" % (k, last, time.monotonic() - t0), flush=True)
    status = 0
    if args.eval_episodes and args.eval_mode == "mpc" and not to_mpc(ctx, d, args):
        return 1
    if args.eval_episodes:
        status = evaluate(ctx, d, args, t0, k)
    d.sock.send(pack({"v": V, "type": "bye"}))
    d.sock.close()
    ctx.term()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
