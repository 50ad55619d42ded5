#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# make_corpus.py -- (re)write the seed corpora and the regression inputs in
# tests/fuzz/ (committed; rerun only to change them). Needs python3-msgpack.
#   corpus/wire    one of each message type, valid
#   corpus/ckpt    small policy files (examples/write_policy.py)
#   corpus/config  maacd.conf-style INI text
#   regress/*      the reproducers of issue 33 and what the fuzzers found
import os
import struct
import sys
import zlib

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
import write_policy as wp  # noqa: E402


def put(kind, name, data):
    d = os.path.join(HERE, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pk(obj):
    return msgpack.packb(obj, use_bin_type=True)


def wire():
    c = "corpus/wire"
    put(c, "hello", pk({"v": 1, "type": "hello", "plant": "inverted_pendulum", "obs_dim": 4,
                        "act_dim": 1, "dt": 0.04, "act_low": [-3.0], "act_high": [3.0]}))
    put(c, "obs", pk({"v": 1, "type": "obs", "seq": 7, "t_ns": 123, "obs": [0.1, 0.2, 0.3, 0.4],
                      "reward": 1.0, "terminated": False, "truncated": False, "first": True}))
    put(c, "action", pk({"v": 1, "type": "action", "seq": 7, "action": [0.5],
                         "policy_version": 3, "safe": False}))
    put(c, "welcome", pk({"v": 1, "type": "welcome", "mode": "lockstep", "rate_hz": 25.0,
                          "policy_version": 1, "max_msg_bytes": 65536}))
    put(c, "error", pk({"v": 1, "type": "error", "code": "bad_size", "msg": "x", "seq": 2}))
    put(c, "bye", pk({"v": 1, "type": "bye"}))
    put(c, "ctl", pk({"v": 1, "type": "ctl", "cmd": "swap", "arg": "/tmp/p.ckpt"}))
    rows = struct.pack("<" + "f" * 11, *([0.5] * 11))
    put(c, "transitions", pk({"v": 1, "type": "transitions", "obs_dim": 4, "act_dim": 1,
                              "n": 1, "source": "d1", "data": rows}))
    r = "regress/wire"
    # an unknown type made of invalid UTF-8: the error reply must stay valid UTF-8
    put(r, "type-invalid-utf8", b"\x82\xa1v\x01\xa4type\xa6\xff\xfe\xc3(x\x80")
    put(r, "truncated-map", b"\x8f\xa1v\x01")
    put(r, "nan-obs", pk({"v": 1, "type": "obs", "seq": 1, "obs": [float("nan")] * 4,
                          "reward": float("inf")}))
    put(r, "huge-seq", pk({"v": 1, "type": "obs", "seq": 2 ** 64 - 1, "obs": [0.0] * 4,
                           "reward": 0.0}))


def ckpt():
    c, r = "corpus/ckpt", "regress/ckpt"
    sizes = [4, 8, 2]
    p = wp.random_params(sizes, 1)
    put(c, "policy-small", wp.encode_policy(p, sizes, "tanh", [-3.0], [3.0], "inverted_pendulum", 3))
    sizes2 = [3, 4, 4, 4]
    put(c, "policy-relu", wp.encode_policy(wp.random_params(sizes2, 2), sizes2, "relu",
                                           [-1.0, -2.0], [1.0, 2.0], "", 0))
    # issue 33: an out-of-range version (was cast to uint64_t: UB, served as 2^64-1)
    for name, v in (("version-1e30", 1e30), ("version-2e64", 2.0 ** 64), ("version-neg", -5.0),
                    ("version-nan", float("nan"))):
        put(r, name, wp.encode_policy(p, sizes, "tanh", [-3.0], [3.0], "", v))
    # a body whose meta holds a huge integer obs_dim and a NaN bound
    body = msgpack.unpackb(msgpack.unpackb(wp.encode_policy(p, sizes, "tanh", [-3.0], [3.0]),
                                           raw=False)["body"], raw=False)
    body["meta"]["obs_dim"] = 2 ** 63
    body["meta"]["act_low.0"] = float("nan")
    b = pk(body)
    put(r, "meta-huge-int-nan", pk({"format": "maacd-checkpoint", "version": 1, "body": b,
                                    "crc32": zlib.crc32(b)}))
    put(r, "outer-version-huge", pk({"format": "maacd-checkpoint", "version": 2 ** 64 - 1,
                                     "body": b, "crc32": zlib.crc32(b)}))


def config():
    c, r = "corpus/config", "regress/config"
    put(c, "basic", "[plant]\nname = inverted_pendulum\nmode = realtime\nrate_hz = 100\n"
        "safe_action = 0.5, -0.5\n[control]\npriority = 0\nexplore = false\n"
        "[learner]\nenabled = true\nseed = 3\nhorizon = 4\nbatch = 64\ngamma = 0.99\n"
        "[daemon]\ncheckpoint_dir = /tmp/x\nswap_time_fraction = 0.25\n")
    put(c, "learner-set", "learner.total_steps=1e6\nlearner.hidden_act=swish\n"
        "learner.rollout_schedule=20,100,1,15\ncontrol.alarm_safe_share=0.3\n")
    # issue 33: NaN / huge settings were cast to long (UB)
    put(r, "learner-nan-huge", "[learner]\nenv_capacity = nan\nmodel_capacity = 1e300\n"
        "total_steps = -1e300\ngamma = nan\nlr = inf\nbatch = 99999999999999999999\n")
    put(r, "set-nan-huge", "env_capacity=nan\nmodel_capacity=9.3e18\ngamma=1e99\n"
        "plant.rate_hz=nan\ndaemon.checkpoint_every_s=inf\nlearner.seed=-1\n")


wire()
ckpt()
config()
