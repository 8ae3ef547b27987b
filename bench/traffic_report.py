#!/usr/bin/env python3
"""bench/traffic_report.py NAME START END DIR — one row of bench/traffic*.sh's table.

Reads the traffic's per-transaction log (pgbench's format: client, number, latency µs,
script, epoch s, µs; files DIR/tx*) and prints the row for the transactions that ended
from 1 s before the migration (START, END: epoch seconds) to 3 s after it: p50, p99 and
max latency, the longest stall (the longest time in which no transaction of any client
completed), the migration's time and its lock-timeout retries (counted in
DIR/migrate.log). On stderr, the same per change (DIR/steps: file, start, end), with the
failed transactions (script number 1, bench/traffic_client.py) and, where DIR/waits was
sampled (epoch, wait), the traffic's most frequent waits.
"""

import collections
import glob
import os
import statistics
import sys


def medians(path):
    """`--medians ROWS`: per kind of run, the median of each figure over the rounds, and
    the median of its p99 over the p99 of its own round's baseline (taken just before)."""
    rows, ratios, base = collections.defaultdict(list), collections.defaultdict(list), None
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or not cells[1].isdigit():
            continue
        rows[cells[0]].append(cells)
        if cells[0] == "baseline":
            base = float(cells[3])
        elif base:
            ratios[cells[0]].append(float(cells[3]) / base)
    print(f"\nMedians over the rounds (p99 / baseline: the median of each round's ratio to "
          f"its own baseline):\n")
    print("| run | rounds | p50 ms | p99 ms | max ms | longest stall ms | migration s "
          "| lock retries | p99 / baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, rs in rows.items():
        med = []
        for i in range(2, 8):
            xs = [float(r[i]) for r in rs if r[i] != "-"]
            med.append(f"{statistics.median(xs):.1f}" if xs else "-")
        ratio = f"{statistics.median(ratios[kind]):.2f}x" if ratios[kind] else "-"
        print(f"| {kind} | {len(rs)} | {' | '.join(med)} | {ratio} |")


if sys.argv[1] == "--medians":
    medians(sys.argv[2])
    sys.exit(0)

name, s, e, d = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
pairs = []  # (latency ms, end time, failed)
for f in glob.glob(d + "/tx*"):
    for line in open(f):
        p = line.split()
        if len(p) < 6 or not p[2].isdigit() or not p[5].isdigit():
            continue
        t = int(p[4]) + int(p[5]) / 1e6  # when the transaction ended
        if t < s - 1 or t > e + 3:
            continue  # the window around the migration (and the same length for the baseline)
        pairs.append((int(p[2]) / 1000, t, p[3] == "1"))
lat = sorted(x for x, _, _ in pairs)
done = sorted(t for _, t, _ in pairs)
stall = [(b - a) * 1000 for a, b in zip(done, done[1:])] or [0]


def q(xs, x):
    return xs[min(len(xs) - 1, int(x * len(xs)))]


baseline = name.startswith("baseline")
retries = 0 if baseline else sum(l.count("lock timeout:") for l in open(d + "/migrate.log"))
took = "-" if baseline else f"{e - s:.1f}"
print(f"| {name} | {len(lat)} | {q(lat, 0.5):.1f} | {q(lat, 0.99):.1f} | {lat[-1]:.0f} "
      f"| {max(stall):.0f} | {took} | {retries} |")

samples = []
if os.path.exists(d + "/waits"):
    for line in open(d + "/waits"):
        p = line.rstrip("\n").split(" ", 1)
        if len(p) == 2 and p[1] and not p[1].endswith("ClientRead"):
            try:
                samples.append((float(p[0]), p[1]))
            except ValueError:
                pass


def waits(a, b):
    c = collections.Counter(w for t, w in samples if a <= t <= b)
    return ("; waits " + ", ".join(f"{w} {n}" for w, n in c.most_common(4))) if c else ""


failed = sum(1 for _, _, f in pairs if f)
if failed:
    print(f"  {name}: {failed} transactions failed", file=sys.stderr)
if os.path.exists(d + "/steps"):
    for line in open(d + "/steps"):
        f, a, b = line.split()
        a, b = float(a), float(b)
        sel = sorted(x for x, t, _ in pairs if a <= t <= b)
        ends = sorted(t for _, t, _ in pairs if a <= t <= b)
        gaps = [(y - x) * 1000 for x, y in zip([a] + ends, ends + [b])]
        bad = sum(1 for _, t, f in pairs if f and a <= t <= b)
        if sel:
            print(f"  {name} {f}: {b - a:.1f}s, {len(sel)} tx, p50 {q(sel, 0.5):.1f} "
                  f"p99 {q(sel, 0.99):.1f} max {sel[-1]:.0f} ms, stall {max(gaps):.0f} ms"
                  f"{f', {bad} failed' if bad else ''}{waits(a, b)}", file=sys.stderr)
        else:
            print(f"  {name} {f}: {b - a:.1f}s, no transaction ended", file=sys.stderr)
