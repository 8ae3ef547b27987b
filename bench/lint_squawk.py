#!/usr/bin/env python3
"""Compare `cutover lint` with the squawk CLI on the PostgreSQL corpora.

For each history under ../shared/corpora/postgres, cutover lints the migrations folder
offline (`--dialect postgres --json`), and squawk's CLI (the PyPI package `squawk-cli`,
the same release as the `squawk-linter` crate cutover uses) lints exactly the scripts
cutover read. Findings are matched on (file, line, rule).

    recall           squawk findings cutover also reports, or drops with a stated reason
    dropped          squawk findings cutover drops by context, counted by reason
    missed           squawk findings cutover neither reports nor drops (should be 0)
    extra            cutover findings squawk does not report, counted by rule

Usage: python3 bench/lint_squawk.py [path/to/cutover] [path/to/squawk]
(defaults: target/debug/cutover, and `squawk` on PATH; `pip install squawk-cli==2.68.0`).
"""
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = os.path.join(ROOT, "..", "shared", "corpora", "postgres")
HISTORIES = ["lemmy", "documenso", "kratos/sql", "vaultwarden", "memos",
             "atuin/atuin-server-postgres"]


def cutover(binary, folder):
    out = subprocess.run([binary, "lint", "--dialect", "postgres", "--offline", "--json",
                          folder], capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        sys.exit(f"cutover lint failed on {folder}: {out.stderr}")
    return json.loads(out.stdout)


def squawk(binary, files):
    found = []
    for i in range(0, len(files), 200):
        out = subprocess.run([binary, "--reporter", "json", *files[i:i + 200]],
                             capture_output=True, text=True, check=False)
        found.extend(json.loads(out.stdout or "[]"))
    return found


def key(path, line, rule):
    return (os.path.realpath(path), line, rule)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/cutover")
    squawk_bin = sys.argv[2] if len(sys.argv) > 2 else "squawk"
    version = subprocess.run([squawk_bin, "--version"], capture_output=True, text=True).stdout.strip()
    totals = collections.Counter()
    dropped_reasons = collections.Counter()
    extra_rules = collections.Counter()
    missed_examples = []
    for name in HISTORIES:
        folder = os.path.join(CORPORA, name)
        report = cutover(binary, folder)
        ours = {key(f["path"], f["line"], f["rule"]) for f in report["findings"]}
        ours |= {key(s["path"], s["line"], s["rule"]) for s in report["suppressed"]}
        dropped = {key(d["path"], d["line"], d["rule"]): d["reason"] for d in report["dropped"]}
        theirs = {key(v["file"], v["line"] + 1, v["rule_name"])
                  for v in squawk(squawk_bin, report["scripts"])}
        matched = theirs & ours
        by_context = {k for k in theirs - ours if k in dropped}
        missed = theirs - ours - by_context
        extra = ours - theirs
        for k in by_context:
            reason = dropped[k]
            parts = reason.split("`")
            dropped_reasons[parts[0] + "…" + parts[-1] if len(parts) > 1 else reason] += 1
        for k in extra:
            extra_rules[k[2]] += 1
        missed_examples.extend(sorted(missed)[:3])
        row = dict(squawk=len(theirs), cutover=len(ours), matched=len(matched),
                   dropped=len(by_context), missed=len(missed), extra=len(extra),
                   scripts=len(report["scripts"]))
        totals.update(row)
        print(f"{name:32} " + " ".join(f"{k}={v}" for k, v in row.items()))
    t = totals
    recall = (t["matched"] + t["dropped"]) / t["squawk"] if t["squawk"] else 1.0
    print(f"\n{version} vs cutover on {t['scripts']} scripts")
    print(f"squawk findings {t['squawk']}: reported by cutover {t['matched']}, dropped by context "
          f"{t['dropped']}, missed {t['missed']} -> recall {recall:.4f}")
    print(f"cutover findings {t['cutover']}: extra (not reported by squawk) {t['extra']}")
    for reason, n in dropped_reasons.most_common():
        print(f"  dropped {n:5}  {reason}")
    for rule, n in extra_rules.most_common():
        print(f"  extra   {n:5}  {rule}")
    for m in missed_examples[:10]:
        print("  missed", m)


if __name__ == "__main__":
    main()
