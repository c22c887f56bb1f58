#!/usr/bin/env python3
"""Whole-process replay bench: the time and peak RSS of `stackwatch replay FILE --json --speed
max` and `--plain` on two generated 1M-observation recordings, the benches' synthetic stream and
the demo tiled (examples/bench_recordings.rs), next to what a Python `json.loads` loop and
`jq -c .` (when installed) take on the same files.

    python3 scripts/bench-replay.py [--n 1000000] [--runs 3] [--baseline OTHER_BINARY]

With --baseline, another stackwatch binary (an older build: `git worktree add /tmp/old REV &&
cargo build --release` there) is timed the same way in the same run, its runs taking turns with
this build's, so before and after share the machine's state.

Builds the release binary and the generator, writes the recordings to target/bench-data/ (once),
and prints one line per measurement: the best wall time of the runs, observations per second,
and the peak RSS of that process (getrusage of the child). Output goes to /dev/null.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (seconds, peak RSS in MB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2):  # replay's exit code says how the deploy ended
        sys.exit(f"{' '.join(cmd)} exited {code}")
    del before
    return elapsed, usage.ru_maxrss / 1024


def best(cmd, runs):
    results = [run(cmd) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def python_loop(path):
    start = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
            n += 1
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", help="another stackwatch binary, timed in the same run")
    args = ap.parse_args()
    os.chdir(ROOT)
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "stackwatch", "--example", "bench_recordings"],
        check=True,
    )
    data = os.path.join("target", "bench-data")
    os.makedirs(data, exist_ok=True)
    binary = os.path.join("target", "release", "stackwatch")
    for kind in ["tiled-demo", "synthetic"]:
        path = os.path.join(data, f"{kind}-{args.n}.jsonl")
        if not os.path.exists(path):
            subprocess.run(
                [os.path.join("target", "release", "examples", "bench_recordings"), kind, str(args.n), path],
                check=True,
            )
        size = os.path.getsize(path) / 1e6
        print(f"{kind}: {args.n} observations, {size:.0f} MB")
        for mode in ["--json", "--plain"]:
            builds = [("", binary)]
            if args.baseline:
                builds.append((" (baseline)", args.baseline))
            results = {name: [] for name, _ in builds}
            for _ in range(args.runs):  # the builds take turns
                for name, build in builds:
                    results[name].append(run([build, "replay", path, mode, "--speed", "max"]))
            for name, _ in builds:
                secs = min(r[0] for r in results[name])
                rss = max(r[1] for r in results[name])
                print(f"  stackwatch{name} replay {mode} --speed max: {secs:.2f} s, {args.n / secs / 1e3:.0f}k obs/s, peak RSS {rss:.0f} MB")
        secs = min(python_loop(path) for _ in range(args.runs))
        print(f"  python json.loads loop: {secs:.2f} s, {args.n / secs / 1e3:.0f}k lines/s")
        if shutil.which("jq"):
            secs, rss = best(["jq", "-c", ".", path], 1)
            print(f"  jq -c .: {secs:.2f} s")


if __name__ == "__main__":
    main()
