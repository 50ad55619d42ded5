#!/usr/bin/env bash
# run-default.sh -- `make run`: the daemon controlling a MuJoCo plant and learning.
# (replaced by the daemon work: starts maacd + maac-sim on the embedded default)
set -euo pipefail
echo "maacd is not built yet" >&2
exit 1
