#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# ckpt_reader.py -- read a maacd checkpoint in plain Python and run its networks.
#
# Needs only python3-msgpack and the standard library (zlib, array, math); this is
# the reader docs/checkpoint-format.md describes. As a test:
#   ckpt_reader.py REF.ckpt REF_IO.msgpack
# recomputes the outputs stored by `test_ckpt --write-ref DIR` and exits non-zero
# if any differs from the C forward by more than 1e-4 * (1 + |value|).
import array
import math
import sys
import zlib

import msgpack

FORMAT, VERSION = "maacd-checkpoint", 1


def floats(b):
    a = array.array("f")
    a.frombytes(b)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def read_checkpoint(path):
    with open(path, "rb") as f:
        outer = msgpack.unpackb(f.read(), raw=False)
    if outer.get("format") != FORMAT:
        raise ValueError("not a maacd checkpoint")
    if outer.get("version") != VERSION:
        raise ValueError("unsupported version %r" % outer.get("version"))
    if zlib.crc32(outer["body"]) != outer["crc32"]:
        raise ValueError("crc32 mismatch")
    body = msgpack.unpackb(outer["body"], raw=False)
    nets = {}
    for n in body["networks"]:
        n = dict(n)
        for k in ("in_mean", "in_std", "params"):
            n[k] = floats(n[k])
        nets[n["name"]] = n
    return body["kind"], body["meta"], nets


ACT = {
    "linear": lambda v: v,
    "relu": lambda v: max(v, 0.0),
    "swish": lambda v: v / (1.0 + math.exp(-v)) if v > -80 else 0.0,
    "tanh": math.tanh,
}


def softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def forward(net, e, x):
    """Member e at input x (list of n_in floats) -> (mean or output, logvar or None)."""
    sizes, p, L = net["sizes"], net["params"], len(net["sizes"]) - 1
    per = sum(sizes[l + 1] * (sizes[l] + 1) for l in range(L))
    gauss = net["head"] == "gauss"
    if gauss:
        per += sizes[L]
    off = e * per
    h = [(x[i] - net["in_mean"][i]) / net["in_std"][i] for i in range(sizes[0])]
    act = ACT[net["hidden_act"]]
    for l in range(L):
        C, OC = sizes[l], sizes[l + 1]
        W, b = off, off + OC * C          # W (OC, C) row-major, then b (OC)
        h = [b_ + sum(p[W + o * C + i] * h[i] for i in range(C))
             for o, b_ in ((o, p[b + o]) for o in range(OC))]
        if l < L - 1:
            h = [act(v) for v in h]
        off = b + OC
    if not gauss:
        return h, None
    D = sizes[L] // 2
    mx, mn = p[off:off + D], p[off + D:off + 2 * D]
    lv = []
    for j in range(D):
        v = mx[j] - softplus(mx[j] - h[D + j])
        lv.append(mn[j] + softplus(v - mn[j]))
    return h[:D], lv


def main():
    kind, meta, nets = read_checkpoint(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        io = msgpack.unpackb(f.read(), raw=False)
    worst, bad = 0.0, 0

    def cmp(got, want):
        nonlocal worst, bad
        for g, w in zip(got, want):
            d = abs(g - w) / (1.0 + abs(w))
            worst = max(worst, d)
            bad += d > 1e-4

    pi, r = nets["pi"], io["pi"]
    x, mean, lv = floats(r["x"]), floats(r["mean"]), floats(r["logvar"])
    n_in, n_out = pi["sizes"][0], pi["sizes"][-1] // 2
    B = len(x) // n_in
    for b in range(B):
        m, l = forward(pi, 0, x[b * n_in:(b + 1) * n_in])
        cmp(m, mean[b * n_out:(b + 1) * n_out])
        cmp(l, lv[b * n_out:(b + 1) * n_out])
    q, r = nets["q"], io["q"]
    x, y = floats(r["x"]), floats(r["y"])
    n_in, n_out = q["sizes"][0], q["sizes"][-1]
    B = len(x) // n_in
    for e in range(q["members"]):
        for b in range(B):
            o, _ = forward(q, e, x[b * n_in:(b + 1) * n_in])
            cmp(o, y[(e * B + b) * n_out:(e * B + b + 1) * n_out])
    print("ckpt_reader: kind=%s meta=%s nets=%s max rel diff %.3g, %d bad"
          % (kind, dict(sorted(meta.items())), sorted(nets), worst, bad))
    return 1 if bad or kind != "policy" or meta.get("env") != "hopper" else 0


if __name__ == "__main__":
    sys.exit(main())
