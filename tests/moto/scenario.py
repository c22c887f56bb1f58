#!/usr/bin/env python3
"""stackwatch's moto scenario driver.

Runs moto (the AWS emulator) in this process, a loopback fault/counting proxy in front of it, and a
small JSON control server that lets a Rust test play a deploy step by step: build a realistic stack,
then append CloudFormation events, stop ECS tasks with exit codes, add service events, flip target
health, write log lines, throttle, refuse or fail calls with a given error code or as with expired
credentials, and count the calls stackwatch made (by operation and by access key id).

    python tests/moto/scenario.py [--port-file FILE] [--ignore-stdin] [--verbose]

Prints one JSON line when ready, then serves until SIGTERM/SIGINT or until stdin closes:

    {"moto": "http://127.0.0.1:P", "moto_direct": "http://127.0.0.1:D",
     "control": "http://127.0.0.1:Q", "pid": N}

"moto" is the proxy (point stackwatch there: faults and call counts apply); "moto_direct" is moto
itself. Endpoints are listed in tests/moto/README.md and in CONTROL_ROUTES below.

Pinned to moto 5.2.5 / boto3 1.44.5 (tests/moto/requirements.txt). moto quirks this driver works
around or that tests must know (measured with those versions):

CloudFormation
  * CreateStack is synchronous: the stack is CREATE_COMPLETE when the call returns. /setup rewinds it
    to CREATE_IN_PROGRESS with only the "User Initiated" event (in_progress=true, the default).
  * DescribeStackEvents has only stack-level events (no per-resource ones) and no pagination;
    moto keeps stack.events oldest first and answers them reversed (newest first), so appending to
    stack.events is "newest". /cfn/page-size makes it page with NextToken like AWS (100 per page).
  * DescribeStackResources copies the stack status into every resource; its Timestamp is fixed at
    2010-07-27T22:27:28Z. ListStackResources always says CREATE_COMPLETE.
  * A nested stack (TemplateURL into moto's S3) is a separate stack named PARENT-Logical-XXXXXXXX
    with no ParentId/RootId; the parent's resource PhysicalResourceId is the child's *name*.
    TemplateURL must be "https://BUCKET.s3.REGION.amazonaws.com/KEY" (or contain "localhost");
    "http://127.0.0.1:P/BUCKET/KEY" is parsed as bucket "http:" and fails with NoSuchBucket.
  * Stack has no StackStatusReason of its own; setting stack.stack_status_reason serializes it.
ECS
  * AWS::ECS::TaskDefinition via CloudFormation ignores NetworkMode, RequiresCompatibilities and Cpu
    (comes back networkMode=bridge, compatibilities=[EC2]); AWS::ECS::Service ignores LaunchType
    (comes back EC2), NetworkConfiguration ({}), LoadBalancers ([]) and DeploymentConfiguration.
    /setup patches those objects back to what the template says (patch_ecs=true, the default);
    with patch_ecs=false tests see moto's raw answer (e.g. the empty loadBalancers list).
  * A container definition without Memory, and awsvpcConfiguration without securityGroups, crash
    moto with an HTML 500. awsvpc tasks need a VPC with DNS hostnames: use the default VPC.
  * Services never launch tasks, events[] stays empty, the PRIMARY deployment stays IN_PROGRESS.
  * list_tasks(serviceName=...) is ignored: filter on the task's group "service:NAME".
  * Every DescribeTasks advances a task RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING ->
    STOPPED unless frozen (/setup freezes it; moto's reset does not undo the freeze).
  * stop_task sets only lastStatus/desiredStatus/stoppedReason; /ecs/stop-task sets the rest.
  * A new container is lastStatus=PENDING with exitCode 0; /ecs/run-task marks it RUNNING.
  * moto answers every request with "Connection: close".
ELBv2
  * Registered targets are always "healthy"; /elb/target-health overrides
    FakeTargetGroup.health_for. DescribeTargetHealth without Targets lists registered ones only.
Logs
  * filter_log_events ignores logStreamNamePrefix and rejects logGroupIdentifier; event ids are small
    counters. start_live_tail sends the existing events once and closes.
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import http.client
import http.server
import json
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_BUCKET = "stackwatch-templates"
CALL_LOG_SIZE = 20000  # operations kept in order for GET /calls/log

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
}

# X-Amz-Target prefix -> SigV4 signing name, for requests that carry no Authorization header.
TARGET_PREFIX_SERVICE = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "Logs_20140328": "logs",
}


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class BadRequest(Exception):
    """Answered as HTTP 400 {"error": message}."""


# --------------------------------------------------------------------------------------------------
# Fault + call-counting proxy
# --------------------------------------------------------------------------------------------------


class ProxyState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "none"
        self.until: float | None = None
        self.match: list[str] = []
        self.code = "AccessDeniedException"  # what mode "error" answers
        self.total = 0
        self.by_operation: dict[str, int] = {}
        self.faulted = 0
        self.refused = 0
        self.by_key: dict[str, int] = {}  # access key id -> calls signed with it
        # The operations in the order they came (the newest CALL_LOG_SIZE): a test splits them
        # into a source's poll rounds without depending on timing.
        self.log: collections.deque[str] = collections.deque(maxlen=CALL_LOG_SIZE)

    def fault_for(self, operation: str | None) -> str:
        """The fault mode that applies to a request for `operation` (None: not yet known)."""
        with self.lock:
            if self.mode != "none" and self.until is not None and time.monotonic() >= self.until:
                self.mode, self.until, self.match = "none", None, []
            if self.mode == "none":
                return "none"
            if self.match:
                if operation is None or not any(m in operation for m in self.match):
                    return "none"
            return self.mode

    def set_fault(self, mode: str, seconds: float | None, match: list[str],
                  code: str = "AccessDeniedException") -> None:
        with self.lock:
            self.mode = mode
            self.code = code
            self.until = time.monotonic() + seconds if seconds else None
            self.match = match

    def count(self, operation: str, key: str | None = None) -> None:
        with self.lock:
            self.total += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            if key:
                self.by_key[key] = self.by_key.get(key, 0) + 1
            self.log.append(operation)

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "total": self.total,
                "by_operation": dict(sorted(self.by_operation.items())),
                "by_key": dict(sorted(self.by_key.items())),
                "faulted": self.faulted,
                "refused": self.refused,
                "fault": self.mode,
            }

    def reset_calls(self) -> None:
        with self.lock:
            self.total = 0
            self.by_operation = {}
            self.by_key = {}
            self.faulted = 0
            self.refused = 0
            self.log.clear()

    def call_log(self) -> dict:
        with self.lock:
            return {"total": self.total, "operations": list(self.log)}


PROXY = ProxyState()


def operation_of(method: str, headers, path: str, body: bytes) -> tuple[str, bool]:
    """("service.Operation", is_json_protocol) for an AWS request."""
    service = None
    auth = headers.get("Authorization", "")
    if "Credential=" in auth:
        # Credential=AKID/DATE/REGION/SERVICE/aws4_request
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, op = target.partition(".")
        return f"{service or TARGET_PREFIX_SERVICE.get(prefix, prefix)}.{op}", True
    action = None
    query = urllib.parse.urlsplit(path).query
    if "Action=" in query:
        action = urllib.parse.parse_qs(query).get("Action", [None])[0]
    ctype = headers.get("Content-Type", "")
    if action is None and "x-www-form-urlencoded" in ctype and body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", [None])[0]
    if action:
        return f"{service or 'unknown'}.{action}", False
    # REST-style (S3 and friends): the HTTP method stands for the operation.
    return f"{service or 'unknown'}.{method}", False


def access_key_of(headers) -> str | None:
    """The access key id a SigV4 request is signed with (Credential=AKID/DATE/...)."""
    auth = headers.get("Authorization", "")
    if "Credential=" not in auth:
        return None
    return auth.split("Credential=", 1)[1].split("/", 1)[0] or None


def hard_close(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a refusing/failing peer would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    upstream: tuple[str, int] = ("127.0.0.1", 0)

    def verify_request(self, request, client_address) -> bool:
        if PROXY.fault_for(None) == "refuse":
            with PROXY.lock:
                PROXY.refused += 1
            hard_close(request)
            return False
        return True

    def shutdown_request(self, request) -> None:
        # verify_request already closed refused sockets.
        try:
            super().shutdown_request(request)
        except OSError:
            pass


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client (hyper pools connections)
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add 40 ms
    # to every keep-alive response.
    disable_nagle_algorithm = True
    server: ProxyServer

    def log_message(self, fmt, *args) -> None:  # quiet unless --verbose
        if VERBOSE:
            sys.stderr.write("proxy: " + (fmt % args) + "\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, head: bool = False):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and not head:
            self.wfile.write(body)
        self.wfile.flush()

    def _throttle(self, is_json: bool) -> None:
        code = "ThrottlingException" if is_json else "Throttling"
        self._error(is_json, code, "Rate exceeded")

    def _error(self, is_json: bool, code: str, message: str) -> None:
        """HTTP 400 with `code` in the protocol's own error shape."""
        rid = str(uuid.uuid4())
        if is_json:
            body = json.dumps({"__type": code, "message": message})
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", rid)]
        else:
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>"
            )
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)]
        self._send(400, headers, body.encode())

    def _relay(self, status: int, headers: list[tuple[str, str]], resp) -> None:
        """An event stream (StartLiveTail) goes on frame by frame as moto writes it, not once
        the whole answer is in: a real stream stays open for hours."""
        length = resp.getheader("Content-Length")
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        else:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        while chunk := resp.read1(65536):
            self.wfile.write(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if length is None:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _handle(self) -> None:
        if PROXY.fault_for(None) == "refuse":  # not limited by "match": refuse everything
            with PROXY.lock:
                PROXY.refused += 1
            self.close_connection = True
            hard_close(self.connection)
            return
        body = self._read_body()
        operation, is_json = operation_of(self.command, self.headers, self.path, body)
        PROXY.count(operation, access_key_of(self.headers))
        fault = PROXY.fault_for(operation)
        if fault != "none":
            with PROXY.lock:
                PROXY.faulted += 1
            if fault == "throttle":
                self._throttle(is_json)
            elif fault == "expired":
                code = "ExpiredTokenException" if is_json else "ExpiredToken"
                self._error(is_json, code, "The security token included in the request is expired")
            elif fault == "error":
                self._error(is_json, PROXY.code, f"{PROXY.code} (played by the scenario proxy)")
            else:  # refuse, limited by "match": drop this request's connection
                self.close_connection = True
                hard_close(self.connection)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            conn = http.client.HTTPConnection(*self.server.upstream, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            if "eventstream" in (resp.getheader("Content-Type") or ""):
                stream = (conn, resp)  # relayed below, once nothing can answer a 502
            else:
                stream = None
                data = resp.read()  # handles chunked and close-delimited bodies
            status = resp.status
            head_len = resp.getheader("Content-Length")
            if stream is None:
                conn.close()
        except Exception as e:  # moto unreachable: answer like a broken gateway
            self._send(502, [("Content-Type", "text/plain")], f"proxy: {e}".encode())
            return
        if stream is not None:
            try:
                self._relay(status, out, stream[1])
            finally:
                stream[0].close()
            return
        if self.command == "HEAD":
            if head_len is not None:
                out.append(("Content-Length", head_len))
            self._send(status, out, b"", head=True)
        else:
            self._send(status, out, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True


# --------------------------------------------------------------------------------------------------
# moto backends and patches
# --------------------------------------------------------------------------------------------------

# (target_group_arn, target_id) -> (state, reason, description, port or None)
HEALTH_OVERRIDES: dict[tuple[str, str], tuple[str, str | None, str | None, int | None]] = {}
# DescribeStackEvents page size (0: moto's behaviour, everything in one page)
CFN_PAGE = {"size": 0}
STATE = {"setup": {}}  # stack name -> the /setup answer (for defaults: subnets, security group)
LOCK = threading.RLock()


def install_patches() -> None:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    original_health_for = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        o = HEALTH_OVERRIDES.get((self.arn, target["Id"]))
        if o is None:
            return original_health_for(self, target, ec2_backend)
        state, reason, description, port = o
        if port is None:
            t = self.targets.get(target["Id"])
            port = target.get("Port") or (t or {}).get("Port") or self.port
        return FakeHealthStatus(
            target["Id"], port, self.health_check_port, state, reason, description
        )

    FakeTargetGroup.health_for = health_for

    original_events = CloudFormationResponse.describe_stack_events

    def describe_stack_events(self):
        size = CFN_PAGE["size"]
        if not size:
            return original_events(self)
        stack_name = self._get_param("StackName")
        events = self.cloudformation_backend.describe_stack_events(stack_name)[::-1]
        token = self._get_param("NextToken")
        start = 0
        if token:
            try:
                start = int(token.split("-", 1)[1])
            except (IndexError, ValueError):
                from moto.cloudformation.exceptions import ValidationError

                raise ValidationError(message="Invalid NextToken")
        page = events[start : start + size]
        result = {"StackEvents": page}
        if start + size < len(events):
            result["NextToken"] = f"evt-{start + size}"
        return ActionResult(result)

    CloudFormationResponse.describe_stack_events = describe_stack_events


def cfn_backend():
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[ACCOUNT][REGION]


def ecs_backend():
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][REGION]


def elbv2_backend():
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[ACCOUNT][REGION]


def get_stack(name: str):
    try:
        return cfn_backend().get_stack(name)
    except Exception:
        raise BadRequest(f"no stack {name!r}")


def get_service(cluster: str, service: str):
    try:
        return ecs_backend()._get_service(cluster, service)
    except Exception:
        raise BadRequest(f"no service {service!r} in cluster {cluster!r}")


def get_task(cluster: str, task: str):
    be = ecs_backend()
    try:
        cluster_name = be._get_cluster(cluster).name
    except Exception:
        raise BadRequest(f"no cluster {cluster!r}")
    task_id = task.split("/")[-1]
    for arn, t in be.tasks.get(cluster_name, {}).items():
        if arn == task or arn.split("/")[-1] == task_id:
            return t
    raise BadRequest(f"no task {task!r} in cluster {cluster!r}")


# --------------------------------------------------------------------------------------------------
# Control endpoints
# --------------------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, direct_url: str) -> None:
        self.direct = direct_url
        self._clients: dict[str, object] = {}

    def client(self, name: str):
        c = self._clients.get(name)
        if c is None:
            import boto3
            from botocore.config import Config

            c = boto3.client(
                name,
                endpoint_url=self.direct,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
            )
            self._clients[name] = c
        return c

    def moto_api(self, path: str, body: dict | None = None) -> None:
        host, port = urllib.parse.urlsplit(self.direct).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        data = json.dumps(body).encode() if body is not None else b""
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status >= 300:
            raise BadRequest(f"moto {path} answered {resp.status}")


def req(body: dict, key: str):
    if key not in body or body[key] in (None, ""):
        raise BadRequest(f"missing {key!r}")
    return body[key]


def default_subnets(ctx: Ctx) -> tuple[str, list[str]]:
    subnets = ctx.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    subnets.sort(key=lambda s: s["AvailabilityZone"])
    if not subnets:
        raise BadRequest("moto has no default subnets")
    return subnets[0]["VpcId"], [s["SubnetId"] for s in subnets[:2]]


def rewind_stack(stack, reason: str = "User Initiated") -> None:
    """Make a finished moto stack look like a create that just started."""
    first = [e for e in stack.events if e.logical_resource_id == stack.name][:1]
    if first:
        first[0].resource_status = "CREATE_IN_PROGRESS"
        first[0].resource_status_reason = reason
    stack.events[:] = first
    stack.status = "CREATE_IN_PROGRESS"


def ep_setup(ctx: Ctx, body: dict) -> dict:
    name = body.get("stack") or "demo-app"
    nested = bool(body.get("nested", True))
    in_progress = bool(body.get("in_progress", True))
    patch_ecs = bool(body.get("patch_ecs", True))
    desired = int(body.get("desired_count", 2))
    if body.get("freeze_tasks", True):
        ctx.moto_api(
            "/moto-api/state-manager/set-transition",
            {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}},
        )
    vpc_id, subnet_ids = default_subnets(ctx)
    cfn = ctx.client("cloudformation")
    nested_url = ""
    if nested:
        s3 = ctx.client("s3")
        try:
            s3.create_bucket(Bucket=TEMPLATE_BUCKET)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(
            Bucket=TEMPLATE_BUCKET,
            Key="config.yaml",
            Body=(TEMPLATES / "config.yaml").read_bytes(),
        )
        # moto takes the bucket from the host's first label (see the quirks above).
        nested_url = f"https://{TEMPLATE_BUCKET}.s3.{REGION}.amazonaws.com/config.yaml"
    params = {
        "AppName": name,
        "VpcId": vpc_id,
        "SubnetIds": ",".join(subnet_ids),
        "NestedTemplateURL": nested_url,
        "DesiredCount": str(desired),
    }
    template = (TEMPLATES / "app.yaml").read_text()
    if not nested:
        head, _, rest = template.partition("  # BEGIN nested stack")
        _, _, tail = rest.partition("  # END nested stack\n")
        template = head + tail
    created = cfn.create_stack(
        StackName=name,
        TemplateBody=template,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack_arn = created["StackId"]
    resources = {
        r["LogicalResourceId"]: r
        for r in cfn.describe_stack_resources(StackName=stack_arn)["StackResources"]
    }

    def phys(logical: str) -> str | None:
        r = resources.get(logical)
        return r["PhysicalResourceId"] if r else None

    out = {
        "stack": name,
        "stack_arn": stack_arn,
        "vpc_id": vpc_id,
        "subnet_ids": subnet_ids,
        "security_group_id": phys("ServiceSecurityGroup"),
        "cluster_name": phys("Cluster"),
        "task_definition_arn": phys("TaskDefinition"),
        "service_arn": phys("Service"),
        "load_balancer_arn": phys("LoadBalancer"),
        "listener_arn": phys("Listener"),
        "target_group_arn": phys("TargetGroup"),
        "log_group_name": phys("LogGroup"),
        "log_stream_prefix": "web",
        "container_name": "web",
        "log_group_names": [phys("LogGroup")],
        "resources": {k: {"type": r["ResourceType"], "physical_id": r["PhysicalResourceId"]}
                      for k, r in resources.items()},
        "nested_stack_name": None,
        "nested_stack_arn": None,
        "nested_logical_id": None,
    }
    ecs = ctx.client("ecs")
    cluster = ecs.describe_clusters(clusters=[out["cluster_name"]])["clusters"][0]
    out["cluster_arn"] = cluster["clusterArn"]
    svc = get_service(out["cluster_name"], out["service_arn"])
    out["service_name"] = svc.name
    if nested:
        child_name = phys("Config")
        child = get_stack(child_name)
        out["nested_logical_id"] = "Config"
        out["nested_stack_name"] = child.name
        out["nested_stack_arn"] = child.stack_id
        child_res = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=child.stack_id)["StackResources"]
        }
        out["nested_resources"] = child_res
        out["ssm_parameter_name"] = child_res.get("ImageTagParameter")
        if child_res.get("AuditLogGroup"):
            out["log_group_names"].append(child_res["AuditLogGroup"])
        if in_progress:
            rewind_stack(child)
    if patch_ecs:
        # What the template says but moto's CloudFormation drops (see the quirks above).
        td = ecs_backend().describe_task_definition(out["task_definition_arn"])
        td.network_mode = "awsvpc"
        td.requires_compatibilities = ["FARGATE"]
        td.compatibilities = ["EC2", "FARGATE"]
        td.cpu = "256"
        netconf = {
            "awsvpcConfiguration": {
                "subnets": subnet_ids,
                "securityGroups": [out["security_group_id"]],
                "assignPublicIp": "ENABLED",
            }
        }
        svc.launch_type = "FARGATE"
        svc.platform_version = "LATEST"
        svc.network_configuration = netconf
        svc.load_balancers = [
            {
                "targetGroupArn": out["target_group_arn"],
                "containerName": "web",
                "containerPort": 80,
            }
        ]
        for d in svc.deployments:
            d["launchType"] = "FARGATE"
            d["platformFamily"] = "Linux"
            d["platformVersion"] = "1.4.0"
            d["networkConfiguration"] = netconf
    stack = get_stack(stack_arn)
    if in_progress:
        rewind_stack(stack)
    out["stack_status"] = stack.status
    with LOCK:
        STATE["setup"][name] = out
    return out


# --- /setup-cluster: one cluster with many services (issue 11, "many things on one screen") ---


def ep_setup_cluster(ctx: Ctx, body: dict) -> dict:
    """A cluster of N Fargate services made with the API (no stack), each with its own task
    definition logging to its own log group, behind its own target group: one ALB, one listener,
    one path rule per service. `tasks` (1) tasks per service are started and registered."""
    cluster = body.get("cluster") or "big"
    count = int(body.get("services", 22))
    tasks_each = int(body.get("tasks", 1))
    if not 1 <= count <= 90:  # an ALB listener takes 100 rules
        raise BadRequest("services must be 1..90")
    if body.get("freeze_tasks", True):
        ctx.moto_api(
            "/moto-api/state-manager/set-transition",
            {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}},
        )
    vpc_id, subnet_ids = default_subnets(ctx)
    ec2, ecs, elb, logs = (ctx.client(n) for n in ("ec2", "ecs", "elbv2", "logs"))
    sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    cluster_arn = ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
    # Target group and load balancer names: at most 32 characters.
    short = cluster[:16]
    lb_arn = elb.create_load_balancer(
        Name=f"{short}-alb", Subnets=subnet_ids, SecurityGroups=[sg], Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listener_arn = None
    netconf = {"awsvpcConfiguration": {"subnets": subnet_ids, "securityGroups": [sg],
                                       "assignPublicIp": "ENABLED"}}
    services = []
    for i in range(1, count + 1):
        name = f"{cluster}-svc-{i:02d}"
        group = f"/ecs/{cluster}/svc-{i:02d}"
        tg_arn = elb.create_target_group(
            Name=f"{short}-svc-{i:02d}-tg", Protocol="HTTP", Port=80, VpcId=vpc_id,
            TargetType="ip",
        )["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
        if listener_arn is None:  # the first service's group is the listener's default
            listener_arn = elb.create_listener(
                LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=forward
            )["Listeners"][0]["ListenerArn"]
        elb.create_rule(
            ListenerArn=listener_arn, Priority=i, Actions=forward,
            Conditions=[{"Field": "path-pattern", "Values": [f"/svc-{i:02d}/*"]}],
        )
        logs.create_log_group(logGroupName=group)
        td_arn = ecs.register_task_definition(
            family=name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{
                "name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
                "memory": 512,  # moto crashes on a container definition without memory
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": group, "awslogs-region": REGION,
                    "awslogs-stream-prefix": "web"}},
            }],
        )["taskDefinition"]["taskDefinitionArn"]
        service_arn = ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=td_arn, desiredCount=tasks_each,
            launchType="FARGATE", networkConfiguration=netconf,
            loadBalancers=[{"targetGroupArn": tg_arn, "containerName": "web",
                            "containerPort": 80}],
        )["service"]["serviceArn"]
        task_arns = []
        if tasks_each > 0:
            started = ep_ecs_run_task(ctx, {"cluster": cluster, "service": name,
                                            "count": tasks_each})
            task_arns = [t["task_arn"] for t in started["tasks"]]
        services.append({
            "service": name, "service_arn": service_arn, "target_group_arn": tg_arn,
            "log_group": group, "task_definition_arn": td_arn, "task_arns": task_arns,
        })
    return {
        "cluster": cluster, "cluster_arn": cluster_arn, "load_balancer_arn": lb_arn,
        "listener_arn": listener_arn, "security_group_id": sg, "services": services,
    }


def setup_for(name_or_arn: str | None) -> dict:
    with LOCK:
        for s in STATE["setup"].values():
            if name_or_arn in (s["stack"], s["stack_arn"], s.get("cluster_name"),
                               s.get("cluster_arn")):
                return s
        return next(iter(STATE["setup"].values()), {})


def resource_type_of(stack, logical_id: str) -> str | None:
    tmpl = getattr(stack, "template_dict", None) or {}
    res = (tmpl.get("Resources") or {}).get(logical_id)
    if res:
        return res.get("Type")
    if logical_id == stack.name:
        return "AWS::CloudFormation::Stack"
    return None


def physical_id_of(stack, logical_id: str) -> str:
    if logical_id == stack.name:
        return stack.stack_id
    try:
        r = stack.resource_map[logical_id]
    except Exception:
        return ""
    # A nested stack's resource: moto's physical id is the child's name, AWS's is its ARN.
    return getattr(r, "stack_id", None) or getattr(r, "physical_resource_id", None) or ""


def add_event(stack, logical_id, physical_id, rtype, status, reason, properties=None):
    from moto.cloudformation.models import Event

    ev = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id,
        resource_type=rtype,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=properties,
    )
    # Event() takes utcnow(); keep strictly increasing timestamps even within one clock tick.
    if stack.events and ev.timestamp <= stack.events[-1].timestamp:
        ev.timestamp = stack.events[-1].timestamp + _dt.timedelta(microseconds=1)
    stack.events.append(ev)  # moto answers stack.events reversed: the last one is newest
    return ev


def set_stack_status(stack, status: str, reason: str | None) -> None:
    stack.status = status
    stack.stack_status_reason = reason


def ep_cfn_event(ctx: Ctx, body: dict) -> dict:
    stack = get_stack(req(body, "stack"))
    logical = req(body, "logical_id")
    rtype = body.get("type") or resource_type_of(stack, logical)
    if not rtype:
        raise BadRequest(f"unknown resource {logical!r}: give 'type'")
    physical = body.get("physical_id")
    if physical is None:
        physical = physical_id_of(stack, logical)
    status = req(body, "status")
    with LOCK:
        ev = add_event(stack, logical, physical, rtype, status, body.get("reason"),
                       body.get("properties"))
        if body.get("stack_status"):
            set_stack_status(stack, body["stack_status"], body.get("stack_status_reason"))
    return {
        "event_id": ev.event_id,
        "stack_id": stack.stack_id,
        "timestamp": ev.timestamp.isoformat(),
        "stack_status": stack.status,
    }


def ep_cfn_stack_status(ctx: Ctx, body: dict) -> dict:
    stack = get_stack(req(body, "stack"))
    status = req(body, "status")
    with LOCK:
        set_stack_status(stack, status, body.get("reason"))
        ev_id = None
        if body.get("event", False):
            ev = add_event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack",
                           status, body.get("reason"))
            ev_id = ev.event_id
    return {"stack_id": stack.stack_id, "stack_status": status, "event_id": ev_id}


def ep_cfn_events_bulk(ctx: Ctx, body: dict) -> dict:
    stack = get_stack(req(body, "stack"))
    count = int(req(body, "count"))
    if count < 0 or count > 100000:
        raise BadRequest("count must be 0..100000")
    prefix = body.get("logical_prefix", "Bulk")
    rtype = body.get("type", "AWS::SSM::Parameter")
    status = body.get("status", "CREATE_IN_PROGRESS")
    ids = []
    with LOCK:
        for i in range(count):
            ev = add_event(stack, f"{prefix}{i + 1:05d}", "", rtype, status,
                           body.get("reason"))
            ids.append(ev.event_id)
    return {
        "count": count,
        "first_event_id": ids[0] if ids else None,
        "last_event_id": ids[-1] if ids else None,
        "total_events": len(stack.events),
    }


def ep_cfn_page_size(ctx: Ctx, body: dict) -> dict:
    size = int(body.get("size", 100))
    if size < 0:
        raise BadRequest("size must be >= 0")
    CFN_PAGE["size"] = size
    return {"size": size}


def ep_ecs_run_task(ctx: Ctx, body: dict) -> dict:
    cluster = req(body, "cluster")
    svc = get_service(cluster, req(body, "service"))
    setup = setup_for(cluster)
    netconf = svc.network_configuration or {}
    if not netconf.get("awsvpcConfiguration"):
        _, subnets = default_subnets(ctx)
        sg = setup.get("security_group_id")
        if not sg:
            sg = ctx.client("ec2").describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["default"]}]
            )["SecurityGroups"][0]["GroupId"]
        netconf = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}}
    ecs = ctx.client("ecs")
    count = int(body.get("count", 1))
    resp = ecs.run_task(
        cluster=cluster,
        taskDefinition=body.get("task_definition") or svc.task_definition,
        launchType="FARGATE",
        count=count,
        group=f"service:{svc.name}",
        startedBy=body.get("started_by") or (svc.deployments[0]["id"] if svc.deployments
                                             else "ecs-svc"),
        networkConfiguration=netconf,
    )
    if resp.get("failures"):
        raise BadRequest(f"run_task failures: {resp['failures']}")
    last_status = body.get("last_status", "RUNNING")
    register = body.get("register")
    if register is None:
        register = bool(svc.load_balancers)
    tasks = []
    with LOCK:
        for t in resp["tasks"]:
            task = get_task(cluster, t["taskArn"])
            task.last_status = last_status
            now = now_utc()
            task.created_at = now
            if last_status in ("RUNNING",):
                task.pull_started_at = now
                task.pull_stopped_at = now
                task.started_at = now
                task.connectivity = "CONNECTED"
                task.connectivity_at = now
            for c in task.containers:
                c.last_status = last_status if last_status in ("RUNNING", "PENDING") else "PENDING"
                if c.last_status != "STOPPED" and hasattr(c, "exitCode"):
                    # a container that has not exited has no exit code in AWS
                    del c.exitCode
            ip = None
            for a in task.attachments:
                for d in a.get("details", []):
                    if d["name"] == "privateIPv4Address":
                        ip = d["value"]
            registered = []
            if register and ip:
                for lb in svc.load_balancers:
                    tg = lb.get("targetGroupArn")
                    if tg:
                        ctx.client("elbv2").register_targets(
                            TargetGroupArn=tg,
                            Targets=[{"Id": ip, "Port": int(lb.get("containerPort", 80))}],
                        )
                        registered.append(tg)
            tasks.append({
                "task_arn": task.task_arn,
                "task_id": task.id,
                "private_ip": ip,
                "group": task.group,
                "registered_target_groups": registered,
                "log_stream": f"web/web/{task.id}",
            })
    first = tasks[0]
    return dict(first, tasks=tasks)


def ep_ecs_stop_task(ctx: Ctx, body: dict) -> dict:
    task = get_task(req(body, "cluster"), req(body, "task"))
    now = now_utc()
    with LOCK:
        status = body.get("last_status", "STOPPED")
        task.last_status = status
        task.desired_status = "STOPPED"
        task.stopped_reason = body.get("stopped_reason", "Essential container in task exited")
        task.stop_code = body.get("stop_code", "EssentialContainerExited")
        task.stopping_at = now
        task.execution_stopped_at = now
        if status == "STOPPED":
            task.stopped_at = now
        for i, c in enumerate(task.containers):
            if i > 0 and not body.get("all_containers", False):
                break
            c.last_status = "STOPPED"
            if body.get("exit_code") is not None:
                c.exitCode = int(body["exit_code"])
            elif hasattr(c, "exitCode"):
                del c.exitCode  # no exit code: the container never ran (e.g. image pull failed)
            if body.get("container_reason"):
                c.reason = body["container_reason"]
    if body.get("deregister", False):
        ip = None
        for a in task.attachments:
            for d in a.get("details", []):
                if d["name"] == "privateIPv4Address":
                    ip = d["value"]
        svc = None
        if task.group and task.group.startswith("service:"):
            try:
                svc = ecs_backend()._get_service(task.cluster_name, task.group[8:])
            except Exception:
                svc = None
        if ip and svc:
            for lb in svc.load_balancers:
                if lb.get("targetGroupArn"):
                    ctx.client("elbv2").deregister_targets(
                        TargetGroupArn=lb["targetGroupArn"],
                        Targets=[{"Id": ip, "Port": int(lb.get("containerPort", 80))}],
                    )
    return {"task_arn": task.task_arn, "stopped_at": now.isoformat()}


def ep_ecs_service_event(ctx: Ctx, body: dict) -> dict:
    svc = get_service(req(body, "cluster"), req(body, "service"))
    ev_id = str(uuid.uuid4())
    created = now_utc()
    if body.get("created_at") is not None:
        created = _dt.datetime.fromtimestamp(float(body["created_at"]), _dt.timezone.utc)
    with LOCK:
        svc.events.insert(0, {"id": ev_id, "createdAt": created, "message": req(body, "message")})
    return {"id": ev_id, "created_at": created.isoformat()}


DEPLOYMENT_FIELDS = {
    "rollout_state": "rolloutState",
    "rollout_state_reason": "rolloutStateReason",
    "running": "runningCount",
    "failed": "failedTasks",
    "desired": "desiredCount",
    "pending": "pendingCount",
    "status": "status",
    "task_definition": "taskDefinition",
}


def ep_ecs_deployment(ctx: Ctx, body: dict) -> dict:
    svc = get_service(req(body, "cluster"), req(body, "service"))
    index = int(body.get("index", 0))
    with LOCK:
        if not svc.deployments or index >= len(svc.deployments):
            raise BadRequest("no such deployment")
        d = svc.deployments[index]
        for k, field in DEPLOYMENT_FIELDS.items():
            if k in body and body[k] is not None:
                d[field] = body[k]
        d["updatedAt"] = now_utc()
        if index == 0:
            if "running" in body:
                svc.running_count = int(body["running"])
            if "desired" in body:
                svc.desired_count = int(body["desired"])
            if "pending" in body:
                svc.pending_count = int(body["pending"])
            else:
                svc.pending_count = max(svc.desired_count - svc.running_count, 0)
                d["pendingCount"] = max(int(d.get("desiredCount", 0))
                                        - int(d.get("runningCount", 0)), 0)
        return {"deployment": json.loads(json.dumps(d, default=str))}


def ep_ecs_new_deployment(ctx: Ctx, body: dict) -> dict:
    """A rolling update: a new PRIMARY deployment in front, the old primary becomes ACTIVE."""
    svc = get_service(req(body, "cluster"), req(body, "service"))
    with LOCK:
        old = svc.deployments[0] if svc.deployments else {}
        td = body.get("task_definition") or svc.task_definition
        dep_id = f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"
        now = now_utc()
        new = dict(old)
        new.update({
            "id": dep_id,
            "status": "PRIMARY",
            "taskDefinition": td,
            "desiredCount": svc.desired_count,
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
        })
        for d in svc.deployments:
            if d.get("status") == "PRIMARY":
                d["status"] = "ACTIVE"
        svc.deployments.insert(0, new)
        svc.task_definition = td
        return {"id": dep_id, "task_definition": td}


def ep_elb_register(ctx: Ctx, body: dict) -> dict:
    target = {"Id": req(body, "target_id")}
    if body.get("port") is not None:
        target["Port"] = int(body["port"])
    ctx.client("elbv2").register_targets(
        TargetGroupArn=req(body, "target_group_arn"), Targets=[target]
    )
    return {"registered": target["Id"]}


def ep_elb_target_health(ctx: Ctx, body: dict) -> dict:
    tg_arn = req(body, "target_group_arn")
    target_id = req(body, "target_id")
    port = body.get("port")
    key = (tg_arn, target_id)
    state = body.get("state")
    if state is None:  # clear the override
        with LOCK:
            HEALTH_OVERRIDES.pop(key, None)
        return {"cleared": True}
    try:
        tg = elbv2_backend().target_groups[tg_arn]
    except KeyError:
        raise BadRequest(f"no target group {tg_arn!r}")
    if body.get("register", True) and target_id not in tg.targets:
        t = {"Id": target_id}
        if port is not None:
            t["Port"] = int(port)
        ctx.client("elbv2").register_targets(TargetGroupArn=tg_arn, Targets=[t])
    with LOCK:
        HEALTH_OVERRIDES[key] = (
            state,
            body.get("reason"),
            body.get("description"),
            int(port) if port is not None else None,
        )
    return {"target_group_arn": tg_arn, "target_id": target_id, "state": state}


def ep_logs_put(ctx: Ctx, body: dict) -> dict:
    logs = ctx.client("logs")
    group = req(body, "group")
    stream = req(body, "stream")
    lines = body.get("lines") or []
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    base = int(body.get("timestamp_ms") or time.time() * 1000)
    events = []
    for i, line in enumerate(lines):
        if isinstance(line, dict):
            events.append({"timestamp": int(line.get("timestamp_ms", base + i)),
                           "message": str(line["message"])})
        else:
            events.append({"timestamp": base + i, "message": str(line)})
    events.sort(key=lambda e: e["timestamp"])
    for i in range(0, len(events), 1000):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=events[i : i + 1000])
    return {"group": group, "stream": stream, "count": len(events),
            "first_timestamp_ms": events[0]["timestamp"] if events else None}


def ep_fault(ctx: Ctx, body: dict) -> dict:
    mode = body.get("mode", "none")
    if mode not in ("throttle", "refuse", "expired", "error", "none"):
        raise BadRequest("mode must be throttle, refuse, expired, error or none")
    match = body.get("match") or []
    if isinstance(match, str):
        match = [match]
    seconds = body.get("seconds")
    code = str(body.get("code") or "AccessDeniedException")
    PROXY.set_fault(mode, float(seconds) if seconds else None, list(match), code)
    return {"mode": mode, "seconds": seconds, "match": match, "code": code}


def ep_calls(ctx: Ctx, body: dict) -> dict:
    return PROXY.snapshot()


def ep_calls_log(ctx: Ctx, body: dict) -> dict:
    return PROXY.call_log()


def ep_calls_reset(ctx: Ctx, body: dict) -> dict:
    before = PROXY.snapshot()
    PROXY.reset_calls()
    return before


def ep_reset(ctx: Ctx, body: dict) -> dict:
    ctx.moto_api("/moto-api/reset")
    with LOCK:
        HEALTH_OVERRIDES.clear()
        STATE["setup"].clear()
        CFN_PAGE["size"] = 0
    PROXY.set_fault("none", None, [])
    PROXY.reset_calls()
    return {"reset": True}


def ep_health(ctx: Ctx, body: dict) -> dict:
    return {"ok": True}


CONTROL_ROUTES = {
    ("GET", "/health"): ep_health,
    ("POST", "/setup"): ep_setup,
    ("POST", "/setup-cluster"): ep_setup_cluster,
    ("POST", "/cfn/event"): ep_cfn_event,
    ("POST", "/cfn/stack-status"): ep_cfn_stack_status,
    ("POST", "/cfn/events/bulk"): ep_cfn_events_bulk,
    ("POST", "/cfn/page-size"): ep_cfn_page_size,
    ("POST", "/ecs/run-task"): ep_ecs_run_task,
    ("POST", "/ecs/stop-task"): ep_ecs_stop_task,
    ("POST", "/ecs/service-event"): ep_ecs_service_event,
    ("POST", "/ecs/deployment"): ep_ecs_deployment,
    ("POST", "/ecs/new-deployment"): ep_ecs_new_deployment,
    ("POST", "/elb/register"): ep_elb_register,
    ("POST", "/elb/target-health"): ep_elb_target_health,
    ("POST", "/logs/put"): ep_logs_put,
    ("POST", "/fault"): ep_fault,
    ("GET", "/calls"): ep_calls,
    ("GET", "/calls/log"): ep_calls_log,
    ("POST", "/calls/reset"): ep_calls_reset,
    ("POST", "/reset"): ep_reset,
}


class ControlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ctx: Ctx


class ControlHandler(http.server.BaseHTTPRequestHandler):
    server: ControlServer
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args) -> None:
        if VERBOSE:
            sys.stderr.write("control: " + (fmt % args) + "\n")

    def _answer(self, status: int, obj) -> None:
        data = json.dumps(obj, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
        fn = CONTROL_ROUTES.get((self.command, path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if fn is None:
            known = [p for (m, p) in CONTROL_ROUTES if p == path]
            if known:
                self._answer(405, {"error": f"{self.command} {path}: method not allowed"})
            else:
                self._answer(404, {"error": f"no endpoint {self.command} {path}"})
            return
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise BadRequest("body must be a JSON object")
            result = fn(self.server.ctx, body)
        except BadRequest as e:
            self._answer(400, {"error": str(e)})
            return
        except json.JSONDecodeError as e:
            self._answer(400, {"error": f"bad JSON: {e}"})
            return
        except Exception as e:  # boto3/moto errors and the like: the step failed
            if VERBOSE:
                import traceback

                traceback.print_exc()
            self._answer(400, {"error": f"{type(e).__name__}: {e}"})
            return
        self._answer(200, result)

    do_GET = do_POST = _route


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------

VERBOSE = False


def main() -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port-file", help="also write the ready JSON line to this file")
    ap.add_argument("--ignore-stdin", action="store_true",
                    help="do not exit when stdin closes (for running in the background by hand)")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args()
    VERBOSE = args.verbose

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    if not VERBOSE:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from moto.server import ThreadedMotoServer

    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto_server.start()
    host, port = moto_server.get_host_and_port()
    direct = f"http://{host}:{port}"
    install_patches()

    proxy = ProxyServer(("127.0.0.1", 0), ProxyHandler)
    proxy.upstream = (host, port)
    control = ControlServer(("127.0.0.1", 0), ControlHandler)
    control.ctx = Ctx(direct)
    for srv in (proxy, control):
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    ready = {
        "moto": f"http://127.0.0.1:{proxy.server_address[1]}",
        "moto_direct": direct,
        "control": f"http://127.0.0.1:{control.server_address[1]}",
        "pid": os.getpid(),
    }
    line = json.dumps(ready)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, args.port_file)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if not args.ignore_stdin:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read1(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    while not stop.wait(0.1):
        pass
    if args.port_file:
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    # Everything lives in memory and every thread is a daemon: leave at once, without waiting on
    # in-flight requests (the test that owned this driver is gone or done).
    try:
        sys.stdout.flush()
    except OSError:
        pass
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
