#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# plot.py -- figures for docs/results.md from the run directories' CSVs (matplotlib,
# Debian's python3-matplotlib: `make plots-deps`). Every command writes the data it
# plots as a CSV next to the PNG, so the figure's numbers can be read back.
#
#   plot.py curves OUT LABEL=RUN_DIR[,RUN_DIR...] ...
#       learning curves: each label's runs' eval.csv (eval_return_mean against
#       env_steps), mean +- std over the runs at each step; OUT.csv, OUT.png. Other
#       columns of eval.csv may be empty; a RUN_DIR without eval.csv is left out (said
#       on stderr)
#   plot.py fig2 CSV OUT
#       Figure 2: L1 gradient error against H (`maac bench fig2` CSV), mean +- std over
#       seeds for the true and the learned dynamics; OUT.csv, OUT.png
#   plot.py bars CSV OUT TITLE
#       a bar chart of a table CSV: first column the row label, then every column
#       pair NAME_mean,NAME_std (other columns ignored); one bar per row and pair; OUT.png
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def mean_std(xs):
    n = len(xs)
    m = sum(xs) / n
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return m, s


def read_eval(run_dir):
    # Only env_steps and eval_return_mean are needed; any other column may be empty (the
    # runs in docs/data/runs/ recovered from the notebook have only what it recorded). A
    # row without either of the two is skipped.
    rows = {}
    with open(os.path.join(run_dir, "eval.csv")) as f:
        for r in csv.DictReader(f):
            step, mean = (r.get("env_steps") or "").strip(), (r.get("eval_return_mean") or "").strip()
            if not step or not mean or mean.lower() == "nan":
                continue
            rows[int(float(step))] = float(mean)
    return rows


def cmd_curves(out, specs):
    groups = []
    for spec in specs:
        label, _, dirs = spec.rpartition("=")
        runs = []
        for d in [d for d in dirs.split(",") if d]:
            if os.path.exists(os.path.join(d, "eval.csv")):
                runs.append(read_eval(d))
            else:
                print("plot.py curves: %s: no eval.csv, left out of '%s'" % (d, label), file=sys.stderr)
        runs = [r for r in runs if r]
        if runs:
            groups.append((label, runs))
    if not groups:
        sys.exit("plot.py curves: no eval.csv in any run directory")
    many = len(groups) > 3  # a legend this long goes beside the axes, not over the curves
    fig, ax = plt.subplots(figsize=(9.6 if many else 6.4, 4.2))
    with open(out + ".csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "env_steps", "mean", "std", "n"])
        for label, runs in groups:
            steps = sorted(set().union(*[r.keys() for r in runs]))
            xs, ms, ss = [], [], []
            for s in steps:
                vals = [r[s] for r in runs if s in r]
                m, sd = mean_std(vals)
                w.writerow([label, s, "%.1f" % m, "%.1f" % sd, len(vals)])
                xs.append(s), ms.append(m), ss.append(sd)
            ax.plot(xs, ms, label="%s (n=%d)" % (label, len(runs)))
            ax.fill_between(xs, [m - s for m, s in zip(ms, ss)], [m + s for m, s in zip(ms, ss)], alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return")
    ax.set_title(os.path.basename(out))
    ax.grid(alpha=0.3)
    if many:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=100)


def cmd_fig2(path, out):
    if os.path.abspath(out + ".csv") == os.path.abspath(path):
        sys.exit("plot.py fig2: OUT.csv would overwrite the input " + path)
    data = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            data.setdefault(r["dynamics"], {}).setdefault(int(r["H"]), []).append(float(r["l1_error"]))
    if not data:
        sys.exit("plot.py fig2: no rows in " + path)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    with open(out + ".csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dynamics", "H", "mean_l1_error", "std", "n_seeds"])
        for dyn in sorted(data):
            hs = sorted(data[dyn])
            ms, ss = [], []
            for h in hs:
                m, s = mean_std(data[dyn][h])
                ms.append(m), ss.append(s)
                w.writerow([dyn, h, "%.5g" % m, "%.3g" % s, len(data[dyn][h])])
            ax.errorbar(hs, ms, yerr=ss, marker="o", capsize=3, label="%s dynamics" % dyn)
    ax.set_yscale("log")
    ax.set_xlabel("horizon H")
    ax.set_ylabel("L1 error of dJ/dK")
    ax.set_title("double integrator: policy-gradient error vs H")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=100)


def cmd_bars(path, out, title):
    with open(path) as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], [r for r in rows[1:] if r]
    if not rows:
        sys.exit("plot.py bars: no rows in " + path)
    pairs = [(head[i][:-5] or head[i], i) for i in range(1, len(head) - 1)
             if head[i].endswith("mean") and head[i + 1].endswith("std")]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    width = 0.8 / len(pairs)
    for k, (name, i) in enumerate(pairs):
        xs = [j + k * width for j in range(len(rows))]
        ms = [float(r[i]) if r[i] not in ("", "nan") else 0.0 for r in rows]
        ss = [float(r[i + 1]) if r[i + 1] not in ("", "nan") else 0.0 for r in rows]
        ax.bar(xs, ms, width, yerr=ss, capsize=3, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rows))])
    ax.set_xticklabels([r[0] for r in rows], rotation=20, ha="right")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    if len(pairs) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=100)


def main(argv):
    if len(argv) >= 3 and argv[1] == "curves":
        cmd_curves(argv[2], argv[3:])
    elif len(argv) == 4 and argv[1] == "fig2":
        cmd_fig2(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "bars":
        cmd_bars(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__ if __doc__ else "usage: plot.py curves|fig2|bars ...")


if __name__ == "__main__":
    main(sys.argv)
