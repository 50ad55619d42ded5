#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# write_policy.py -- write a maacd policy file from Python (docs/checkpoint-format.md,
# "Writing a policy file"), one that `maacctl swap FILE` accepts, and compute the
# action maacd serves for an observation once it is swapped in (deterministic: mean ->
# tanh -> scaled into the bounds).
#
# Needs python3-msgpack and the standard library. As a script it writes a small random
# policy; as a module, write_policy() takes your own weights.
#   write_policy.py OUT --obs-dim 4 --act-dim 1 --low -3 --high 3 --plant inverted_pendulum
#                   [--hidden 32,32] [--act tanh] [--version 7] [--seed 1]
import argparse
import array
import math
import random
import struct
import sys
import zlib

import msgpack


def f32(values):
    """float32 little-endian bytes."""
    a = array.array("f", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def n_params(sizes):
    return sum(sizes[l + 1] * (sizes[l] + 1) for l in range(len(sizes) - 1))


def encode_policy(params, sizes, hidden_act, act_low, act_high, plant="", version=0,
                  in_mean=None, in_std=None):
    """Bytes of a policy checkpoint. sizes = [obs_dim, h1, ..., 2 * act_dim]; params is
    the flat parameter list (per layer W row-major (out, in), then b)."""
    S, A = sizes[0], len(act_low)
    assert sizes[-1] == 2 * A and len(act_high) == A and len(params) == n_params(sizes)
    meta = {"obs_dim": float(S), "act_dim": float(A), "version": float(version), "plant": plant}
    for j in range(A):
        meta["act_low.%d" % j] = float(act_low[j])
        meta["act_high.%d" % j] = float(act_high[j])
    net = {"name": "policy", "members": 1, "sizes": list(sizes), "hidden_act": hidden_act,
           "head": "linear",
           "in_mean": f32(in_mean if in_mean is not None else [0.0] * S),
           "in_std": f32(in_std if in_std is not None else [1.0] * S),
           "params": f32(params)}
    body = msgpack.packb({"kind": "policy", "meta": meta, "networks": [net]},
                         use_bin_type=True)
    return msgpack.packb({"format": "maacd-checkpoint", "version": 1, "body": body,
                          "crc32": zlib.crc32(body)}, use_bin_type=True)


ACTS = {"linear": lambda v: v, "relu": lambda v: max(v, 0.0), "tanh": math.tanh,
        "swish": lambda v: v / (1.0 + math.exp(-v)) if v > -80 else 0.0}


def f32r(v):
    """Round to float32, as the daemon stores the weights."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def action(params, sizes, hidden_act, act_low, act_high, obs, in_mean=None, in_std=None):
    """The deterministic action maacd serves: out = net(obs) (2A outputs: mu, log_std);
    a_j = center_j + scale_j * tanh(mu_j), center/scale from the bounds."""
    p = [f32r(v) for v in params]
    S, L = sizes[0], len(sizes) - 1
    mu0 = in_mean if in_mean is not None else [0.0] * S
    sd0 = in_std if in_std is not None else [1.0] * S
    h = [(obs[i] - mu0[i]) / sd0[i] for i in range(S)]
    off = 0
    for l in range(L):
        C, OC = sizes[l], sizes[l + 1]
        h = [p[off + OC * C + o] + sum(p[off + o * C + i] * h[i] for i in range(C))
             for o in range(OC)]
        if l < L - 1:
            h = [ACTS[hidden_act](v) for v in h]
        off += OC * (C + 1)
    A = len(act_low)
    out = []
    for j in range(A):
        scale, center = 0.5 * (act_high[j] - act_low[j]), 0.5 * (act_high[j] + act_low[j])
        out.append(min(max(center + scale * math.tanh(h[j]), act_low[j]), act_high[j]))
    return out


def random_params(sizes, seed):
    rng = random.Random(seed)
    p = []
    for l in range(len(sizes) - 1):
        C, OC = sizes[l], sizes[l + 1]
        bound = 1.0 / math.sqrt(C)
        p += [rng.uniform(-bound, bound) for _ in range(OC * C)]
        p += [rng.uniform(-0.1, 0.1) for _ in range(OC)]
    return p


def main():
    ap = argparse.ArgumentParser(description="write a maacd policy file (random weights)")
    ap.add_argument("out")
    ap.add_argument("--obs-dim", type=int, required=True)
    ap.add_argument("--act-dim", type=int, required=True)
    ap.add_argument("--low", type=float, default=-1.0)
    ap.add_argument("--high", type=float, default=1.0)
    ap.add_argument("--plant", default="")
    ap.add_argument("--hidden", default="32,32")
    ap.add_argument("--act", default="tanh", choices=sorted(ACTS))
    ap.add_argument("--version", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    hidden = [int(x) for x in a.hidden.split(",") if x]
    sizes = [a.obs_dim] + hidden + [2 * a.act_dim]
    params = random_params(sizes, a.seed)
    data = encode_policy(params, sizes, a.act, [a.low] * a.act_dim, [a.high] * a.act_dim,
                         a.plant, a.version)
    with open(a.out, "wb") as f:
        f.write(data)
    print("wrote %s: %d parameters, %d bytes" % (a.out, len(params), len(data)))


if __name__ == "__main__":
    main()
