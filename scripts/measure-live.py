#!/usr/bin/env python3
"""Measures `stackwatch watch` against the moto scenario: API calls per minute (counted at the
driver's proxy, every call of all four services) while a stack deploys and once it has settled,
and the whole process's CPU and peak RSS over the idle minute.

    scripts/moto-venv.sh && cargo build --release
    target/moto-venv/bin/python scripts/measure-live.py [--seconds 60]

Linux only (reads /proc). Prints a Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def control(base, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/stackwatch"))
    args = ap.parse_args()

    driver = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tests/moto/scenario.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        ready = json.loads(driver.stdout.readline())
        c = ready["control"]
        setup = control(c, "/setup", {"stack": "measure-app"})
        cluster, service = setup["cluster_name"], setup["service_name"]
        # A deploy in progress: two tasks running and registered, logs flowing.
        for _ in range(2):
            task = control(c, "/ecs/run-task", {"cluster": cluster, "service": service})
            control(c, "/logs/put", {"group": setup["log_group_name"], "stream": task["log_stream"],
                                      "lines": ["listening on :8080"]})
        env = dict(os.environ, AWS_ENDPOINT_URL=ready["moto"], AWS_ACCESS_KEY_ID="x",
                   AWS_SECRET_ACCESS_KEY="x", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        watch = subprocess.Popen(
            [args.binary, "watch", "--stack", "measure-app", "--json", "--until", "never", "--no-record"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(5)  # connect and first reads, not counted
        control(c, "/calls/reset", {})
        time.sleep(args.seconds)
        deploying = control(c, "/calls")
        # The deploy ends: stack and service settle, targets healthy.
        control(c, "/cfn/stack-status", {"stack": setup["nested_stack_name"], "status": "CREATE_COMPLETE"})
        control(c, "/cfn/stack-status", {"stack": "measure-app", "status": "CREATE_COMPLETE"})
        control(c, "/ecs/deployment", {"cluster": cluster, "service": service,
                                        "rollout_state": "COMPLETED", "running": 2, "desired": 2})
        time.sleep(10)  # sources notice and slow down
        control(c, "/calls/reset", {})
        cpu0, t0 = cpu_seconds(watch.pid), time.time()
        time.sleep(args.seconds)
        idle = control(c, "/calls")
        cpu = (cpu_seconds(watch.pid) - cpu0) / (time.time() - t0) * 100
        rss = peak_rss_mb(watch.pid)
        watch.terminate()
        watch.wait(timeout=10)
    finally:
        driver.terminate()
        driver.wait(timeout=10)

    per_min = lambda calls: calls["total"] * 60 / args.seconds
    print("| measurement | value |")
    print("|---|---|")
    print(f"| API calls per minute, stack and service deploying | {per_min(deploying):.0f} |")
    print(f"| API calls per minute, idle finished stack | {per_min(idle):.0f} |")
    print(f"| CPU while idle (whole process, one core = 100 %) | {cpu:.2f} % |")
    print(f"| peak RSS (whole process) | {rss:.0f} MB |")
    print()
    print("deploying:", json.dumps(deploying["by_operation"], sort_keys=True))
    print("idle:", json.dumps(idle["by_operation"], sort_keys=True))


if __name__ == "__main__":
    main()
