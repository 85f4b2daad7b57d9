#!/usr/bin/env python3
"""Prints criterion's latest figures for one benchmark group as ratios of a baseline.

    python3 benches/ratios.py GROUP BASELINE [--target DIR]

GROUP and BASELINE are spelled as in the benchmark ids, e.g. `core/hello axum` or
`inject/get flame/own`. Reads DIR/criterion (DIR: $CARGO_TARGET_DIR, else ./target) and
uses the median of the last run (`new/estimates.json`), with its 95% confidence interval.
"""

import argparse
import json
import os
import sys


def slug(name):
    # criterion turns '/' (and other path-unsafe characters) into '_' in directory names
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3f} us"
    return f"{ns:.2f} ns"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("group")
    parser.add_argument("baseline")
    parser.add_argument("--target", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    args = parser.parse_args()

    root = os.path.join(args.target, "criterion", slug(args.group))
    if not os.path.isdir(root):
        sys.exit(f"no criterion results for {args.group!r} under {root}")
    figures = {}
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) == "new" and "estimates.json" in files:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench_id = json.load(f)["function_id"]
            with open(os.path.join(dirpath, "estimates.json")) as f:
                median = json.load(f)["median"]
            ci = median["confidence_interval"]
            figures[bench_id] = (median["point_estimate"], ci["lower_bound"], ci["upper_bound"])
    if args.baseline not in figures:
        sys.exit(f"no baseline {args.baseline!r} in {sorted(figures)}")
    base = figures[args.baseline][0]
    print(f"{args.group} (median, 95% CI; ratio = time / time of {args.baseline})")
    for name, (point, low, high) in sorted(figures.items()):
        print(f"  {name:<22} {fmt(point):>12}  [{fmt(low)} .. {fmt(high)}]  ratio {point / base:.3f}")


if __name__ == "__main__":
    main()
