#!/usr/bin/env bash
# install-bench-deps.sh -- the Debian 12 packages only the benchmarks need (`make bench`),
# on top of install-deps.sh: python3-torch for bench/learner_torch.py, the PyTorch
# reference bench_learner times next to maacd's updates. Not needed to build or test.
#
# Idempotent: asks dpkg which packages are missing and does nothing when all are present.
# Runs apt-get as root directly, or through sudo when not root.
set -euo pipefail

PKGS=(python3-torch)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-bench-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
