#!/usr/bin/env bash
# install-deps.sh -- install the Debian 12 packages maacd needs to build, test and run.
#
# Idempotent: asks dpkg which packages are missing and does nothing when all are present.
# `install-deps.sh --plots` adds the plotting-only packages (python3-matplotlib) that
# `make plots` (scripts/plot.py, the experiment scripts' PNGs) needs; make check does not.
# Runs apt-get as root directly, or through sudo when not root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libopenblas-dev liblapacke-dev        # sgemm and the Lyapunov/linear solves
  libmsgpack-dev                        # msgpack-c: checkpoints and wire messages
  libmujoco-dev libqhull-dev            # MuJoCo 2.2.2 physics (its CMake config names qhull headers)
  libzmq3-dev                           # ZeroMQ transport
  libsystemd-dev                        # sd_notify, journald
  libinih-dev                           # INI config files
  python3 python3-zmq python3-msgpack   # example client and its test
  rt-tests                              # cyclictest, the floor for the jitter benchmark
)
# `install-deps.sh --fuzz` (make fuzz): clang and its libFuzzer runtime as well
if [ "${1:-}" = "--fuzz" ]; then
  PKGS+=(clang libclang-rt-14-dev)
fi
if [ "${1:-}" = "--plots" ]; then
  PKGS+=(python3-matplotlib)            # scripts/plot.py: figures of docs/results.md
fi
# `install-deps.sh --bench` (make bench): the PyTorch reference bench_learner times next
# to maacd's updates (bench/learner_torch.py); not needed to build or test
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(python3-torch)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
