#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# learner_torch.py -- PyTorch reference of bench_learner's two updates, the same work at
# the same sizes, so bench/learner.c can print maacd's time next to PyTorch's in one run.
#
#   MAAC actor:   draw (policy eps per step, a model member and model noise per row and
#                 step, terminal-action eps), H imagined steps of the tanh-Gaussian policy
#                 and the per-row-member ensemble (rows sorted by member, one matmul per
#                 member and layer, as ens_step_forward), the half_cheetah reward, the
#                 terminal twin Q over N_a actions at s_H (min, mean), loss -mean J with
#                 alpha log pi at the first step; backward into the policy only (model and
#                 Q parameters frozen, input gradients only); one Adam step.
#   STEVE critic: draw, targets without gradient (level 1 on s', then H model steps on
#                 M*B member-major rows with policy and target twin Q at every level,
#                 per-horizon means/variances over the 2M samples, shrunk inverse-variance
#                 weights), then the twin-Q MSE forward/backward at (s, a), Adam, Polyak.
# Sizes as bench_learner: obs 17, act 6, batch 256, 8 models of 4 x 200 swish with a
# Gaussian head (soft-bounded log-variance), 2 x 256 policy (tanh) and twin Q (relu),
# 5 terminal actions, H = 4, STEVE H = 2, gamma 0.99, alpha 0.1.
#
# Usage: learner_torch.py [--threads 1,2] [--reps 15] [--horizon 4] [--paths 1]
# Prints two lines per update and thread count, "<actor|critic> <threads> wall|cpu <ms> ...",
# every timed repetition's wall time and the calling thread's CPU time (after 2 warm-ups),
# and a first line "torch <version>". Needs
# Debian's python3-torch (packaging/install-deps.sh --bench); never asserts on timing.
import argparse
import math
import time

import torch
import torch.nn.functional as F

S, A, B, M, WIDTH, DEPTH, NA = 17, 6, 256, 8, 200, 4, 5
GAMMA, ALPHA, TAU, LR = 0.99, 0.1, 5e-3, 3e-4
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
VAR_EPS, SHRINK_N0 = 1e-8, 1.0


def linear_params(sizes, grad):
    """torch.nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, 0 bias."""
    ps = []
    for c, oc in zip(sizes[:-1], sizes[1:]):
        k = 1.0 / math.sqrt(c)
        w = torch.empty(oc, c).uniform_(-k, k).requires_grad_(grad)
        ps.append((w, torch.zeros(oc, requires_grad=grad)))
    return ps


def mlp(ps, x, act):
    for w, b in ps[:-1]:
        x = act(F.linear(x, w, b))
    return F.linear(x, *ps[-1])


def policy(P, s, eps):
    out = mlp(P, s, torch.tanh)
    mu, ls = out[:, :A], out[:, A:].clamp(-20.0, 2.0)
    y = torch.tanh(mu + ls.exp() * eps)
    logp = (-0.5 * eps * eps - ls - HALF_LOG_2PI - torch.log(1.0 - y * y + 1e-6)).sum(1)
    return y, logp   # action bounds [-1, 1]: a = y


def twin_q(Q, s, a):
    x = torch.cat([s, a], 1)
    return torch.stack([mlp(q, x, F.relu).squeeze(1) for q in Q])   # (2, rows)


class Ensemble:
    def __init__(self):
        sizes = [S + A] + [WIDTH] * DEPTH + [2 * S]
        self.nets = [linear_params(sizes, False) for _ in range(M)]
        self.max_lv = [torch.full((S,), 0.5) for _ in range(M)]
        self.min_lv = [torch.full((S,), -10.0) for _ in range(M)]
        self.in_mean, self.in_std = torch.zeros(S + A), torch.ones(S + A)
        self.t_mean, self.t_std = torch.zeros(S), torch.full((S,), 0.1)

    def step(self, s, a, member, eps):
        """s' = s + t_mean + t_std (mu + exp(logvar / 2) eps), member per row."""
        x = (torch.cat([s, a], 1) - self.in_mean) / self.in_std
        order = torch.argsort(member, stable=True)
        counts = torch.bincount(member, minlength=M).tolist()
        ys = []
        for m, (xm, em) in enumerate(zip(torch.split(x[order], counts),
                                         torch.split(eps[order], counts))):
            raw = mlp(self.nets[m], xm, F.silu)
            lv = self.max_lv[m] - F.softplus(self.max_lv[m] - raw[:, S:])
            lv = self.min_lv[m] + F.softplus(lv - self.min_lv[m])
            ys.append(raw[:, :S] + torch.exp(0.5 * lv) * em)
        inv = torch.empty_like(order)
        inv[order] = torch.arange(order.numel())
        return s + self.t_mean + self.t_std * torch.cat(ys)[inv]


def reward(s, a, s2):   # half_cheetah: mean of the two forward velocities - 0.1 |a|^2
    return 0.5 * s[:, 8] + 0.5 * s2[:, 8] - 0.1 * (a * a).sum(1)


def actor_update(P, opt, Q, ens, s0, H, K):
    N = B * K
    eps = [torch.randn(N, A) for _ in range(H)]
    memb = [torch.randint(0, M, (N,)) for _ in range(H)]
    epsm = [torch.randn(N, S) for _ in range(H)]
    epsT = torch.randn(N * NA, A)
    s = s0.repeat_interleave(K, 0)
    J, disc, logp0 = 0.0, 1.0, None
    for t in range(H):
        a, logp = policy(P, s, eps[t])
        if t == 0:
            logp0 = logp
        s2 = ens.step(s, a, memb[t], epsm[t])
        J = J + disc * reward(s, a, s2)
        s, disc = s2, disc * GAMMA
    sT = s.repeat_interleave(NA, 0)
    aT, logpT = policy(P, sT, epsT)
    q = twin_q(Q, sT, aT)
    J = J + disc * q.min(0).values.view(N, NA).mean(1)
    if H == 0:
        logp0 = logpT.view(N, NA).mean(1)
    loss = (-J + ALPHA * logp0).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def critic_update(P, Q, Qt, opt, ens, s, a, r, s2, done, H):
    R = M * B
    with torch.no_grad():
        eps = [torch.randn(B, A)] + [torch.randn(R, A) for _ in range(H)]
        epsm = [torch.randn(R, S) for _ in range(H)]
        memb = torch.arange(M).repeat_interleave(B)
        a1, lp1 = policy(P, s2, eps[0])
        q1 = twin_q(Qt, s2, a1)
        c1 = (done <= 0.5).float()
        t = r + GAMMA * c1 * (q1 - ALPHA * lp1)                  # (2, B)
        means, vars_, ns = [t.min(0).values], [t.var(0, unbiased=False)], [2.0]
        sk, ak, Rm, disc = s2.repeat(M, 1), a1.repeat(M, 1), r.repeat(M), GAMMA
        ck = c1.repeat(M)
        for i in range(1, H + 1):
            sn = ens.step(sk, ak, memb, epsm[i - 1])
            Rm = Rm + disc * ck * reward(sk, ak, sn)
            an, lpn = policy(P, sn, eps[i])
            qn = twin_q(Qt, sn, an)
            t = (Rm + disc * GAMMA * ck * (qn - ALPHA * lpn)).view(2, M, B)
            means.append(t.min(0).values.mean(0))
            vars_.append(t.reshape(2 * M, B).var(0, unbiased=False))
            ns.append(2.0 * M)
            sk, ak, disc = sn, an, disc * GAMMA
        mean, var = torch.stack(means), torch.stack(vars_)
        n = torch.tensor(ns).unsqueeze(1)
        pool = var.mean(0)
        w = 1.0 / ((n * var + SHRINK_N0 * pool) / (n + SHRINK_N0) + VAR_EPS)
        target = (w * mean).sum(0) / w.sum(0)
    q = twin_q(Q, s, a)
    loss = 0.5 * ((q - target) ** 2).mean(1).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for (w, b), (wt, bt) in zip([p for q in Q for p in q], [p for q in Qt for p in q]):
            wt.mul_(1 - TAU).add_(w, alpha=TAU)
            bt.mul_(1 - TAU).add_(b, alpha=TAU)


def time_reps(fn, reps):
    """Wall and calling-thread CPU ms of each repetition after 2 warm-ups."""
    wall, cpu = [], []
    for i in range(-2, reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        if i >= 0:
            wall.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.thread_time() - c0) * 1e3)
    return wall, cpu


def report(name, th, times):
    for kind, t in zip(("wall", "cpu"), times):
        print(name, th, kind, " ".join(f"{x:.3f}" for x in t), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--horizon", type=int, default=4)
    ap.add_argument("--paths", type=int, default=1)
    ap.add_argument("--steve-horizon", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_interop_threads(1)
    h256 = [256, 256]
    P = linear_params([S] + h256 + [2 * A], True)
    Q = [linear_params([S + A] + h256 + [1], True) for _ in range(2)]
    Qt = [[(w.detach().clone(), b.detach().clone()) for w, b in q] for q in Q]
    Qf = [[(w.detach(), b.detach()) for w, b in q] for q in Q]   # frozen view for the actor
    ens = Ensemble()
    opt_pi = torch.optim.Adam([p for l in P for p in l], lr=LR)
    opt_q = torch.optim.Adam([p for q in Q for l in q for p in l], lr=LR)
    s, s2 = torch.randn(B, S), torch.randn(B, S)
    a, r, done = torch.rand(B, A) * 2 - 1, torch.randn(B), torch.zeros(B)
    print("torch", torch.__version__, flush=True)
    for th in [int(x) for x in args.threads.split(",") if x]:
        torch.set_num_threads(th)
        report("actor", th, time_reps(
            lambda: actor_update(P, opt_pi, Qf, ens, s, args.horizon, args.paths), args.reps))
        report("critic", th, time_reps(
            lambda: critic_update(P, Q, Qt, opt_q, ens, s, a, r, s2, done, args.steve_horizon),
            args.reps))


if __name__ == "__main__":
    main()
