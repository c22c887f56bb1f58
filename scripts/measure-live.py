#!/usr/bin/env python3
"""Measures `stackwatch watch` against the moto scenario driver. Calls are counted at the
driver's proxy (every call of all four AWS services); CPU and RSS are the whole stackwatch
process's, from /proc.

1. One stack (with its nested stack) and its service: calls per minute while it deploys, then
   while idle (from `--settle` seconds after it finished, when the sources have eased to their
   idle pace); idle CPU and peak RSS.
2. An outage: the endpoint refuses every connection for `--outage` seconds while CloudFormation
   events keep coming; afterwards, how many of them stackwatch showed (each exactly once?).
3. A cluster of 22 services, each with its target group and log group, no stack: calls per
   minute once it is steady.

    scripts/moto-venv.sh && cargo build --release
    target/moto-venv/bin/python scripts/measure-live.py            # about 12 minutes

`--scale 0.1` runs stackwatch's clock ten times faster (STACKWATCH_PACE_SCALE) and scales every
window with it: a quick check, not the README's figures. Linux only. Prints Markdown.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def control(base, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Driver:
    """The scenario driver (moto behind the counting proxy) for one measurement."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/moto/scenario.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        ready = json.loads(self.proc.stdout.readline())
        self.c = ready["control"]
        self.endpoint = ready["moto"]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def step(self, path, body=None):
        return control(self.c, path, body)


def watch(args, driver, what, out):
    env = dict(os.environ, AWS_ENDPOINT_URL=driver.endpoint, AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x", AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", STACKWATCH_PACE_SCALE=str(args.scale))
    return subprocess.Popen(
        [args.binary, "watch", *what, "--json", "--until", "never", "--no-record"],
        env=env, stdout=out, stderr=subprocess.DEVNULL,
    )


def per_minute(calls, seconds):
    return calls["total"] * 60 / seconds


def measure_stack(args, rows, details):
    s = args.scale
    with Driver() as d, tempfile.TemporaryFile("w+") as out:
        setup = d.step("/setup", {"stack": "measure-app"})
        cluster, service = setup["cluster_name"], setup["service_name"]
        # A deploy in progress: two tasks running and registered, logs flowing.
        for _ in range(2):
            task = d.step("/ecs/run-task", {"cluster": cluster, "service": service})
            d.step("/logs/put", {"group": setup["log_group_name"], "stream": task["log_stream"],
                                 "lines": ["listening on :8080"]})
        proc = watch(args, d, ["--stack", "measure-app"], out)
        time.sleep(10 * s)  # connect and first reads, not counted
        d.step("/calls/reset", {})
        time.sleep(args.seconds * s)
        deploying = d.step("/calls")
        # The deploy ends: stack and service settle, targets healthy.
        d.step("/cfn/stack-status", {"stack": setup["nested_stack_name"],
                                     "status": "CREATE_COMPLETE", "event": True})
        d.step("/cfn/stack-status", {"stack": "measure-app", "status": "CREATE_COMPLETE",
                                     "event": True})
        d.step("/ecs/deployment", {"cluster": cluster, "service": service,
                                   "rollout_state": "COMPLETED", "running": 2, "desired": 2})
        time.sleep(args.settle * s)
        d.step("/calls/reset", {})
        cpu0, t0 = cpu_seconds(proc.pid), time.time()
        time.sleep(args.seconds * s)
        idle = d.step("/calls")
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.time() - t0) * 100
        rss = peak_rss_mb(proc.pid)

        # The outage: an update starts, then the endpoint refuses every connection while
        # CloudFormation goes on writing events.
        d.step("/cfn/stack-status", {"stack": "measure-app", "status": "UPDATE_IN_PROGRESS",
                                     "event": True})
        time.sleep(15 * s)
        d.step("/fault", {"mode": "refuse"})
        posted = []
        steps = 10
        for i in range(steps):
            for status in ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"):
                answer = d.step("/cfn/event", {"stack": "measure-app", "logical_id": f"Res{i}",
                                               "type": "AWS::SSM::Parameter", "status": status})
                posted.append(answer["event_id"])
            time.sleep(args.outage * s / steps)
        d.step("/fault", {"mode": "none"})
        answer = d.step("/cfn/stack-status", {"stack": "measure-app",
                                              "status": "UPDATE_COMPLETE", "event": True})
        posted.append(answer["event_id"])
        # Back: the sources retry within their backoff (at most a minute of pace) and catch up.
        time.sleep(90 * s)
        proc.terminate()
        proc.wait(timeout=10)
        out.seek(0)
        shown = {}
        for line in out:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("type") == "event" and obj.get("id"):
                shown[obj["id"]] = shown.get(obj["id"], 0) + 1
        lost = sum(1 for e in posted if e not in shown)
        repeated = sum(1 for e in posted if shown.get(e, 0) > 1)

    rows.append(("one stack (with its nested stack) and its service deploying, calls a minute",
                 f"{per_minute(deploying, args.seconds * s) * s:.0f}", "≤ 60 (aim 30)"))
    rows.append((f"the same, idle: the minute from {args.settle} s after it finished",
                 f"{per_minute(idle, args.seconds * s) * s:.0f}", "≤ 10"))
    rows.append(("CPU while idle (whole process, one core = 100 %)", f"{cpu:.2f} %", "< 1 %"))
    rows.append(("peak RSS (whole process)", f"{rss:.0f} MB", ""))
    rows.append((f"outage: every connection refused for {args.outage} s mid-update, "
                 f"{len(posted)} CloudFormation events written meanwhile",
                 f"{lost} lost, {repeated} repeated", "0 lost, 0 repeated"))
    details.append(("stack deploying", deploying["by_operation"]))
    details.append(("stack idle", idle["by_operation"]))


def measure_cluster(args, rows, details):
    s = args.scale
    with Driver() as d:
        setup = d.step("/setup-cluster", {"cluster": "big", "services": 22})
        for svc in setup["services"]:
            d.step("/ecs/deployment", {"cluster": "big", "service": svc["service"],
                                       "rollout_state": "COMPLETED", "running": 1,
                                       "desired": 1, "pending": 0})
        proc = watch(args, d, ["--cluster", "big"], subprocess.DEVNULL)
        # Discovery of 22 services, groups and log groups within the budget, then settling.
        time.sleep(args.cluster_settle * s)
        d.step("/calls/reset", {})
        time.sleep(args.seconds * s)
        idle = d.step("/calls")
        proc.terminate()
        proc.wait(timeout=10)
    rows.append((f"22 services, their 22 target groups and 22 log groups, idle "
                 f"(the minute from {args.cluster_settle} s after the start), calls a minute",
                 f"{per_minute(idle, args.seconds * s) * s:.0f}", "≤ 60 (aim 45)"))
    details.append(("cluster idle", idle["by_operation"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60, help="each measured window")
    ap.add_argument("--settle", type=int, default=150,
                    help="seconds from the deploy's end to the idle window")
    ap.add_argument("--cluster-settle", type=int, default=240,
                    help="seconds from the cluster watch's start to its idle window")
    ap.add_argument("--outage", type=int, default=120, help="seconds of refused connections")
    ap.add_argument("--scale", type=float, default=1.0, help="STACKWATCH_PACE_SCALE")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/stackwatch"))
    args = ap.parse_args()

    rows, details = [], []
    measure_stack(args, rows, details)
    measure_cluster(args, rows, details)
    print("| measurement | value | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for name, ops in details:
        print(f"{name}:", json.dumps(ops, sort_keys=True))


if __name__ == "__main__":
    main()
