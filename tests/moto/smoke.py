#!/usr/bin/env python3
"""Smoke check of tests/moto/scenario.py with boto3 through the proxy endpoint.

    target/moto-venv/bin/python tests/moto/smoke.py

Starts the driver, plays every control endpoint once and reads the result back with boto3, as
stackwatch would. Prints timings; exits non-zero on the first failed check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
CHECKS = {"passed": 0, "failed": 0}


def check(cond, what: str) -> None:
    if cond:
        CHECKS["passed"] += 1
        print(f"ok   {what}")
    else:
        CHECKS["failed"] += 1
        print(f"FAIL {what}")


def control(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    r = urllib.request.Request(base + path, data=data, method=method,
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{path}: HTTP {e.code} {e.read().decode()}") from None


def main() -> int:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "scenario.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    ready = json.loads(proc.stdout.readline())
    t_ready = time.monotonic() - t0
    print("ready:", json.dumps(ready), f"({t_ready:.2f} s)")
    ctl = ready["control"]
    kw = dict(endpoint_url=ready["moto"], region_name="us-east-1",
              aws_access_key_id="t", aws_secret_access_key="t",
              config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    cfn = boto3.client("cloudformation", **kw)
    ecs = boto3.client("ecs", **kw)
    elb = boto3.client("elbv2", **kw)
    logs = boto3.client("logs", **kw)
    try:
        check(control(ctl, "GET", "/health") == {"ok": True}, "GET /health")
        t1 = time.monotonic()
        s = control(ctl, "POST", "/setup", {"stack": "demo-app", "nested": True})
        t_setup = time.monotonic() - t1
        print(f"setup: {t_setup:.2f} s")
        print(json.dumps(s, indent=1))

        st = cfn.describe_stacks(StackName="demo-app")["Stacks"][0]
        check(st["StackStatus"] == "CREATE_IN_PROGRESS", "stack CREATE_IN_PROGRESS")
        evs = cfn.describe_stack_events(StackName="demo-app")["StackEvents"]
        check(len(evs) == 1 and evs[0]["ResourceStatusReason"] == "User Initiated",
              "one User Initiated event")
        res = {r["LogicalResourceId"]: r for r in
               cfn.describe_stack_resources(StackName="demo-app")["StackResources"]}
        for logical, rtype in [("Service", "AWS::ECS::Service"),
                               ("TargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup"),
                               ("LogGroup", "AWS::Logs::LogGroup"),
                               ("Config", "AWS::CloudFormation::Stack")]:
            check(res.get(logical, {}).get("ResourceType") == rtype, f"resource {logical}")
        nested = cfn.describe_stacks(StackName=s["nested_stack_arn"])["Stacks"][0]
        check(nested["StackStatus"] == "CREATE_IN_PROGRESS", "nested CREATE_IN_PROGRESS")

        e = control(ctl, "POST", "/cfn/event", {
            "stack": "demo-app", "logical_id": "Service", "status": "CREATE_FAILED",
            "reason": "Resource handler returned message: circuit breaker",
            "stack_status": "ROLLBACK_IN_PROGRESS"})
        evs = cfn.describe_stack_events(StackName=s["stack_arn"])["StackEvents"]
        check(evs[0]["EventId"] == e["event_id"] and evs[0]["ResourceStatus"] == "CREATE_FAILED"
              and evs[0]["PhysicalResourceId"] == s["service_arn"]
              and evs[0]["ResourceType"] == "AWS::ECS::Service", "cfn event newest first")
        st = cfn.describe_stacks(StackName="demo-app")["Stacks"][0]
        check(st["StackStatus"] == "ROLLBACK_IN_PROGRESS", "stack status from /cfn/event")
        e2 = control(ctl, "POST", "/cfn/event", {
            "stack": "demo-app", "logical_id": "Config", "status": "CREATE_IN_PROGRESS"})
        evs = cfn.describe_stack_events(StackName="demo-app")["StackEvents"]
        check(evs[0]["EventId"] == e2["event_id"]
              and evs[0]["PhysicalResourceId"] == s["nested_stack_arn"]
              and evs[0]["Timestamp"] > evs[1]["Timestamp"], "nested stack event: ARN, newer")
        control(ctl, "POST", "/cfn/stack-status",
                {"stack": "demo-app", "status": "CREATE_IN_PROGRESS", "reason": "back"})
        st = cfn.describe_stacks(StackName="demo-app")["Stacks"][0]
        check(st["StackStatus"] == "CREATE_IN_PROGRESS"
              and st.get("StackStatusReason") == "back", "/cfn/stack-status + reason")

        before = len(cfn.describe_stack_events(StackName="demo-app")["StackEvents"])
        b = control(ctl, "POST", "/cfn/events/bulk", {"stack": "demo-app", "count": 250})
        evs = cfn.describe_stack_events(StackName="demo-app")["StackEvents"]
        check(len(evs) == before + 250 and b["total_events"] == before + 250 and evs[0]["EventId"] == b["last_event_id"]
              and "NextToken" not in
              cfn.describe_stack_events(StackName="demo-app"), "bulk, one page by default")
        control(ctl, "POST", "/cfn/page-size", {"size": 100})
        pages, token, got = 0, None, []
        while True:
            kw2 = {"StackName": "demo-app"}
            if token:
                kw2["NextToken"] = token
            p = cfn.describe_stack_events(**kw2)
            pages += 1
            got += p["StackEvents"]
            token = p.get("NextToken")
            if not token:
                break
        check(pages == 3 and [x["EventId"] for x in got] == [x["EventId"] for x in evs],
              "/cfn/page-size pages of 100 with NextToken")
        control(ctl, "POST", "/cfn/page-size", {"size": 0})

        svc = ecs.describe_services(cluster=s["cluster_name"],
                                    services=[s["service_name"]])["services"][0]
        check(svc["launchType"] == "FARGATE" and svc["loadBalancers"]
              and svc["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
              "service patched to FARGATE/awsvpc/loadBalancers")
        td = ecs.describe_task_definition(taskDefinition=s["task_definition_arn"])["taskDefinition"]
        lc = td["containerDefinitions"][0]["logConfiguration"]
        check(td["networkMode"] == "awsvpc" and lc["options"]["awslogs-group"] == "/ecs/demo-app",
              "task definition awsvpc + awslogs")

        rt = control(ctl, "POST", "/ecs/run-task",
                     {"cluster": s["cluster_name"], "service": s["service_name"]})
        print("run-task:", json.dumps(rt))
        t = ecs.describe_tasks(cluster=s["cluster_name"], tasks=[rt["task_arn"]])["tasks"][0]
        t = ecs.describe_tasks(cluster=s["cluster_name"], tasks=[rt["task_arn"]])["tasks"][0]
        check(t["lastStatus"] == "RUNNING" and t["group"] == "service:" + s["service_name"]
              and "startedAt" in t, "task RUNNING (frozen) with group + startedAt")
        th = elb.describe_target_health(TargetGroupArn=s["target_group_arn"])
        check([d["Target"]["Id"] for d in th["TargetHealthDescriptions"]] == [rt["private_ip"]],
              "run-task registered the task IP in the target group")
        control(ctl, "POST", "/ecs/stop-task", {
            "cluster": s["cluster_name"], "task": rt["task_arn"],
            "stop_code": "EssentialContainerExited",
            "stopped_reason": "Essential container in task exited", "exit_code": 137,
            "container_reason": "OutOfMemoryError: Container killed due to memory usage"})
        t = ecs.describe_tasks(cluster=s["cluster_name"], tasks=[rt["task_arn"]])["tasks"][0]
        c = t["containers"][0]
        check(t["lastStatus"] == "STOPPED" and t["stopCode"] == "EssentialContainerExited"
              and "stoppedAt" in t and c["exitCode"] == 137 and c["lastStatus"] == "STOPPED"
              and c["reason"].startswith("OutOfMemory"), "stop-task fields read back")
        stopped = ecs.list_tasks(cluster=s["cluster_name"], desiredStatus="STOPPED")["taskArns"]
        check(rt["task_arn"] in stopped, "list_tasks desiredStatus=STOPPED")

        se = control(ctl, "POST", "/ecs/service-event", {
            "cluster": s["cluster_name"], "service": s["service_name"],
            "message": f"(service {s['service_name']}) has started 1 tasks: (task {rt['task_id']})."})
        svc = ecs.describe_services(cluster=s["cluster_name"],
                                    services=[s["service_name"]])["services"][0]
        check(svc["events"][0]["id"] == se["id"], "service event first")
        control(ctl, "POST", "/ecs/deployment", {
            "cluster": s["cluster_name"], "service": s["service_name"],
            "rollout_state": "FAILED", "rollout_state_reason": "ECS deployment circuit breaker",
            "running": 0, "failed": 3})
        svc = ecs.describe_services(cluster=s["cluster_name"],
                                    services=[s["service_name"]])["services"][0]
        d = svc["deployments"][0]
        check(d["rolloutState"] == "FAILED" and d["failedTasks"] == 3, "deployment fields")
        nd = control(ctl, "POST", "/ecs/new-deployment",
                     {"cluster": s["cluster_name"], "service": s["service_name"]})
        svc = ecs.describe_services(cluster=s["cluster_name"],
                                    services=[s["service_name"]])["services"][0]
        check([x["status"] for x in svc["deployments"]] == ["PRIMARY", "ACTIVE"]
              and svc["deployments"][0]["id"] == nd["id"], "new deployment PRIMARY + ACTIVE")

        control(ctl, "POST", "/elb/target-health", {
            "target_group_arn": s["target_group_arn"], "target_id": rt["private_ip"],
            "state": "unhealthy", "reason": "Target.ResponseCodeMismatch",
            "description": "Health checks failed with these codes: [502]"})
        control(ctl, "POST", "/elb/register",
                {"target_group_arn": s["target_group_arn"], "target_id": "10.0.9.9", "port": 80})
        th = {d["Target"]["Id"]: d["TargetHealth"] for d in
              elb.describe_target_health(TargetGroupArn=s["target_group_arn"])
              ["TargetHealthDescriptions"]}
        check(th[rt["private_ip"]]["State"] == "unhealthy"
              and th[rt["private_ip"]]["Reason"] == "Target.ResponseCodeMismatch"
              and th["10.0.9.9"]["State"] == "healthy", "target health override")

        ts = int(time.time() * 1000)
        control(ctl, "POST", "/logs/put", {"group": s["log_group_name"],
                                           "stream": rt["log_stream"], "timestamp_ms": ts,
                                           "lines": ["starting", "java.lang.OutOfMemoryError"]})
        fe = logs.filter_log_events(logGroupName=s["log_group_name"], startTime=ts - 1)["events"]
        check([x["message"] for x in fe] == ["starting", "java.lang.OutOfMemoryError"]
              and fe[0]["logStreamName"] == rt["log_stream"], "logs put + filter_log_events")

        control(ctl, "POST", "/calls/reset")
        ecs.describe_services(cluster=s["cluster_name"], services=[s["service_name"]])
        ecs.describe_services(cluster=s["cluster_name"], services=[s["service_name"]])
        cfn.describe_stack_events(StackName="demo-app")
        calls = control(ctl, "GET", "/calls")
        check(calls["total"] == 3 and calls["by_operation"] == {
            "cloudformation.DescribeStackEvents": 1, "ecs.DescribeServices": 2}, "/calls counts")
        log = control(ctl, "GET", "/calls/log")
        check(log["operations"] == ["ecs.DescribeServices", "ecs.DescribeServices",
                                    "cloudformation.DescribeStackEvents"], "/calls/log in order")

        control(ctl, "POST", "/fault", {"mode": "throttle"})
        for client, call, code in [
            (ecs, lambda: ecs.describe_services(cluster=s["cluster_name"], services=["x"]),
             "ThrottlingException"),
            (cfn, lambda: cfn.describe_stacks(StackName="demo-app"), "Throttling"),
            (logs, lambda: logs.describe_log_groups(), "ThrottlingException"),
            (elb, lambda: elb.describe_target_health(TargetGroupArn=s["target_group_arn"]),
             "Throttling"),
        ]:
            try:
                call()
                check(False, f"throttle {code}")
            except ClientError as err:
                check(err.response["Error"]["Code"] == code
                      and err.response["ResponseMetadata"]["HTTPStatusCode"] == 400,
                      f"throttle gives {err.response['Error']['Code']}")
        control(ctl, "POST", "/fault", {"mode": "throttle", "match": ["logs."]})
        ecs.describe_clusters(clusters=[s["cluster_name"]])
        try:
            logs.describe_log_groups()
            check(False, "throttle with match")
        except ClientError as err:
            check(err.response["Error"]["Code"] == "ThrottlingException", "throttle with match")
        control(ctl, "POST", "/fault", {"mode": "error", "code": "LimitExceededException",
                                        "match": ["logs.DescribeLogGroups"]})
        try:
            logs.describe_log_groups()
            check(False, "error with match")
        except ClientError as err:
            check(err.response["Error"]["Code"] == "LimitExceededException"
                  and err.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "error gives its code")
        control(ctl, "POST", "/fault", {"mode": "refuse", "seconds": 1})
        try:
            ecs.list_clusters()
            check(False, "refuse")
        except ClientError:
            check(False, "refuse")
        except Exception as err:  # EndpointConnectionError / ConnectionClosedError
            check(True, f"refuse -> {type(err).__name__}")
        time.sleep(1.1)
        check(len(ecs.list_clusters()["clusterArns"]) == 1, "refuse ends after seconds")
        calls = control(ctl, "GET", "/calls")
        print("calls:", json.dumps(calls))

        control(ctl, "POST", "/reset")
        check(cfn.describe_stacks()["Stacks"] == [], "/reset")
        s2 = control(ctl, "POST", "/setup", {"stack": "flat", "nested": False,
                                             "in_progress": False})
        check(s2["nested_stack_arn"] is None and s2["stack_status"] == "CREATE_COMPLETE",
              "setup without nested stack, not rewound")
        big = control(ctl, "POST", "/setup-cluster", {"cluster": "big", "services": 3})
        arns = ecs.list_services(cluster="big")["serviceArns"]
        described = ecs.describe_services(cluster="big", services=arns)["services"]
        check(len(big["services"]) == 3 and len(described) == 3
              and all(d["loadBalancers"][0]["targetGroupArn"] == b["target_group_arn"]
                      for d, b in zip(sorted(described, key=lambda d: d["serviceName"]),
                                      big["services"])), "setup-cluster: 3 services, own groups")
        one = big["services"][0]
        th = elb.describe_target_health(TargetGroupArn=one["target_group_arn"])
        td = ecs.describe_task_definition(taskDefinition=one["task_definition_arn"])
        group = td["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["options"]
        check(len(th["TargetHealthDescriptions"]) == 1
              and group["awslogs-group"] == one["log_group"]
              and logs.describe_log_groups(logGroupNamePrefix=one["log_group"])["logGroups"],
              "setup-cluster: a registered task, awslogs to its own log group")
        try:
            control(ctl, "POST", "/cfn/event", {"stack": "nope", "logical_id": "X",
                                                "status": "CREATE_FAILED"})
            check(False, "error answer")
        except RuntimeError as err:
            check("HTTP 400" in str(err) and "no stack" in str(err), "error answer is 400")
    finally:
        proc.stdin.close()  # the driver exits when its stdin closes
        rc = proc.wait(timeout=10)
        check(rc == 0, f"driver exited on stdin EOF (rc {rc})")
    print(f"{CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
