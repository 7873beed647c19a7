"""The local task runtime: what ECS and Cloud Map do at run time, for an AWS emulator that runs
no containers. Outside the provider's code path: faas-ecs talks to the emulator and to this DNS
server exactly as it talks to AWS and the Route 53 resolver.

It watches the ECS services of every cluster in the emulator's account (or of one, with
--cluster) and, like ECS:
- keeps `desiredCount` tasks of each service's current task definition running (at most
  --max-tasks each), as local processes (watchdog.py) listening on port 8080 of an address of
  their own, as with awsvpc networking: as root, each task has a network namespace of its own
  (10.X.Y.Z, reached through a veth pair), so a gateway or anything else may hold 0.0.0.0:8080 on
  the machine; otherwise each has a loopback address (127.1.x.y) and port 8080 must be free on
  it. Addresses are never reused. A task that dies is replaced; tasks of an older revision are
  stopped once the service moves to a new one; a task that cannot start (no network, a failing
  secrets container) is logged and the other services carry on;
- registers each task in the service's Cloud Map service once its watchdog answers /_/health
  (AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT) and deregisters it when it stops;
- ships each task's stdout and stderr to CloudWatch Logs, stream `<prefix>/<container>/<task id>`
  as the awslogs driver names it;
- runs the containers the function depends on (`dependsOn` SUCCESS) first, to completion, with the
  task definition's `secrets` read from Secrets Manager into their environment, as ECS injects
  them; task volumes are folders of their own, and the function sees its secrets volume at its
  mount path (/var/openfaas/secrets) through a private mount namespace, so each task sees its own
  secrets alone. That needs root (CI runs as root); without it the runtime logs a warning and the
  function finds no files there.
Like Route 53 for a private DNS namespace, it answers A and SRV queries for
`<service>.<namespace>` from the registered instances, with the record TTL of the Cloud Map service.

What it does not do: pull or run images (an image maps to a local command, images.json), isolate
tasks beyond their address (as root) and their secrets (no cpu or memory limits; a task sees the
machine's files and processes), run health checks other than the watchdog's /_/health, place
tasks in subnets, or make the emulator's task and running counts true (moto has no API for that).

Modules: network.py (task addresses), tasks.py (task processes, the image table, the state file),
dns_answers.py (DNS), logs.py (CloudWatch Logs), facts.py (what is shared with faas-ecs).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import boto3

import dns_answers
import network
from dns_answers import Records
from facts import WATCHDOG_PORT, log, log_stream, not_emulated
from logs import LogShipper
from network import TaskNetworkError
from tasks import HERE, Images, Task, free_port, pump, write_state

# How long a stop waits for the round under way (a slow emulator call) before stopping the tasks.
ROUND_END_WAIT = 5.0


class Runtime:
    def __init__(self, args):
        session = boto3.session.Session(region_name=args.region)
        kw = {"endpoint_url": args.endpoint} if args.endpoint else {}
        self.ecs = session.client("ecs", **kw)
        self.sd = session.client("servicediscovery", **kw)
        self.logs = session.client("logs", **kw)
        self.cluster = args.cluster
        # The user's own entries over the project's.
        self.images = Images(args.images, args.user_images)
        self.state_file = args.state
        self.volumes_dir = args.volumes
        self.repo = os.path.dirname(os.path.dirname(HERE))
        self.secrets = session.client("secretsmanager", **kw)
        self.root = os.geteuid() == 0
        self.network = network.choose(args.network)
        self.max_tasks = args.max_tasks
        self.tasks = {}  # ECS service ARN -> [Task]
        self.definitions = {}  # task definition ARN -> description
        self.ttls = {}  # Cloud Map service id -> seconds to drain a task
        self.draining = set()  # tasks deregistered and about to stop
        self.records = Records()
        # Set once the runtime stops: no task starts after it.
        self.closing = threading.Event()
        self.log_shipper = LogShipper(self.logs)
        self.capped = set()  # services told they want more tasks than --max-tasks
        self.complaints = {}  # service -> why its tasks cannot start, as last logged
        self.said_not_emulated = set()  # task definition families already logged

    # ECS side

    def definition(self, arn):
        if arn not in self.definitions:
            self.definitions[arn] = self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return self.definitions[arn]

    def clusters(self):
        if self.cluster:
            return [self.cluster]
        arns = []
        for page in self.ecs.get_paginator("list_clusters").paginate():
            arns.extend(page["clusterArns"])
        return arns

    def services(self):
        found = []
        for cluster in self.clusters():
            arns = []
            for page in self.ecs.get_paginator("list_services").paginate(cluster=cluster):
                arns.extend(page["serviceArns"])
            for i in range(0, len(arns), 10):
                found.extend(self.ecs.describe_services(cluster=cluster, services=arns[i:i + 10])["services"])
        return [s for s in found if s["status"] == "ACTIVE"]

    def start_task(self, service, revision):
        """Starts a task: the containers the function depends on first, then the function.
        Returns None when a dependency failed (ECS would not start the function either)."""
        td = self.definition(revision)
        note = not_emulated(td)
        if note and td.get("family") not in self.said_not_emulated:
            self.said_not_emulated.add(td.get("family"))
            log(note)
        task_id = uuid.uuid4().hex
        name = service["serviceName"]
        function = next(c for c in td["containerDefinitions"] if c.get("essential", True))
        volumes = {v["name"]: os.path.join(self.volumes_dir, task_id, v["name"]) for v in td.get("volumes", [])}
        for path in volumes.values():
            os.makedirs(path, mode=0o700, exist_ok=True)
        for dependency in function.get("dependsOn", []):
            container = next(c for c in td["containerDefinitions"] if c["name"] == dependency["containerName"])
            try:
                ok = self.run_to_completion(name, task_id, container, volumes)
            except Exception as e:  # a secret that cannot be read, say: this task fails, not the runtime
                log(f"task {task_id} of {name}: container {container['name']}: {e}")
                ok = False
            if not ok:
                log(f"task {task_id} of {name}: container {container['name']} failed; the function does not start")
                shutil.rmtree(os.path.join(self.volumes_dir, task_id), ignore_errors=True)
                return None
        env = {kv["name"]: kv["value"] for kv in function.get("environment", [])}
        image = self.images.config(function["image"])
        try:
            ip, enter = self.network.take(task_id)
        except TaskNetworkError as e:
            self.complain(name, f"tasks of {name} cannot start: {e}")
            shutil.rmtree(os.path.join(self.volumes_dir, task_id), ignore_errors=True)
            return None
        env["mode"] = image.get("mode", "classic")
        # An http-mode upstream's port: the entry's own, else a free one.
        port = image.get("port") or free_port("127.0.0.1")
        if "fprocess" in image:
            env["fprocess"] = image["fprocess"].format(runtime=HERE, port=port)
        if "upstream_url" in image:
            env["upstream_url"] = image["upstream_url"].format(port=port)
            env["port"] = str(port)
        mounts = [(volumes[m["sourceVolume"]], m["containerPath"]) for m in function.get("mountPoints", [])
                  if m["sourceVolume"] in volumes and m["containerPath"] != "/tmp"]
        if mounts and not self.root:
            log(f"not root: task {task_id} of {name} runs without its volumes at {[p for _, p in mounts]}")
            mounts = []
        task = Task(task_id, name, revision, function, ip, env, self.ship_log, mounts, enter)
        self.complaints.pop(name, None)
        log(f"started task {task.id} of {name} at {ip}")
        return task

    def complain(self, service, message):
        """Logs why a service's tasks cannot start, once until the reason changes."""
        if self.complaints.get(service) != message:
            self.complaints[service] = message
            log(message)

    def run_to_completion(self, service, task_id, container, volumes):
        """Runs a non-essential container as ECS would before the function: its environment,
        its secrets injected as variables, its volumes at their paths (paths in its command are
        mapped to the task's folders)."""
        env = {kv["name"]: kv["value"] for kv in container.get("environment", [])}
        for secret in container.get("secrets", []):
            env[secret["name"]] = self.secrets.get_secret_value(SecretId=secret["valueFrom"])["SecretString"]
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        paths = {m["containerPath"]: volumes[m["sourceVolume"]] for m in container.get("mountPoints", [])}
        files = self.images.config(container["image"]).get("files", {})
        argv = [files.get(a, a).format(repo=self.repo) for a in container.get("entryPoint", [])]
        argv += [paths.get(a, a) for a in container.get("command", [])]
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pump(process, lambda line: self.ship_log(service, container, task_id, line))
        try:
            return process.wait(timeout=60) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            return False

    def stop_task(self, task, registry, drain=0.0):
        """Deregisters the task, then stops it after `drain` seconds (in the background), as ECS
        leaves cached DNS answers time to expire before it stops a task that is still healthy."""
        if task.registered and registry:
            try:
                self.sd.deregister_instance(ServiceId=registry, InstanceId=task.id)
            except self.sd.exceptions.ClientError:
                pass
            task.registered = False
        # The drain starts when DNS stops answering with the address, not a refresh later.
        self.records.retire(task.ip)

        def stop():
            time.sleep(drain)
            task.stop()
            self.network.release(task.id)
            self.draining.discard(task)
            shutil.rmtree(os.path.join(self.volumes_dir, task.id), ignore_errors=True)
            log(f"stopped task {task.id} of {task.service}")

        if drain and task.alive():
            self.draining.add(task)
            threading.Thread(target=stop, daemon=True).start()
        else:
            stop()

    def drain_seconds(self, registry):
        """The record TTL of the Cloud Map service, plus a second."""
        if not registry:
            return 0.0
        if registry not in self.ttls:
            records = self.sd.get_service(Id=registry)["Service"].get("DnsConfig", {}).get("DnsRecords", [])
            self.ttls[registry] = max((r["TTL"] for r in records), default=0) + 1.0
        return self.ttls[registry]

    @staticmethod
    def registry_of(service):
        for r in service.get("serviceRegistries", []):
            return r["registryArn"].rsplit("/", 1)[-1]
        return None

    def reconcile(self):
        services = {s["serviceArn"]: s for s in self.services()}
        # Descriptions are kept while a service or a task uses the revision: moto numbers a
        # family's revisions from 1 again once they were deleted, so an ARN can come back naming
        # another definition (AWS never reuses a revision number).
        in_use = {s["taskDefinition"] for s in services.values()}
        in_use |= {t.revision for tasks in self.tasks.values() for t in tasks}
        self.definitions = {arn: d for arn, d in self.definitions.items() if arn in in_use}
        for arn in list(self.tasks):
            if arn not in services:
                for task in self.tasks.pop(arn):
                    self.stop_task(task, None)
        for arn, service in services.items():
            try:
                self.reconcile_service(arn, service)
            except Exception as e:  # one service's trouble must not stop the others'
                log(f"service {service['serviceName']}: {e}")
        self.write_state()

    def reconcile_service(self, arn, service):
        name = service["serviceName"]
        registry = self.registry_of(service)
        tasks = self.tasks.setdefault(arn, [])
        revision = service["taskDefinition"]
        drain = self.drain_seconds(registry)
        keep = []
        for task in tasks:
            if task.revision != revision or not task.alive():
                why = "new revision" if task.alive() else "task exited"
                log(f"{why}: replacing {task.id} of {name}")
                self.stop_task(task, registry, drain)
            else:
                keep.append(task)
        # Recorded now: what is started below is known even if a later step fails.
        self.tasks[arn] = keep
        while len(keep) > service["desiredCount"]:
            self.stop_task(keep.pop(), registry, drain)
        wanted = service["desiredCount"]
        if wanted > self.max_tasks:
            if name not in self.capped:
                log(f"service {name} wants {wanted} tasks; running {self.max_tasks} (--max-tasks)")
                self.capped.add(name)
            wanted = self.max_tasks
        while len(keep) < wanted and not self.closing.is_set():
            task = self.start_task(service, revision)
            if task is None:
                break
            keep.append(task)
        for task in keep:
            if not task.registered and registry and task.healthy():
                self.sd.register_instance(
                    ServiceId=registry, InstanceId=task.id,
                    Attributes={"AWS_INSTANCE_IPV4": task.ip, "AWS_INSTANCE_PORT": str(WATCHDOG_PORT),
                                "ECS_SERVICE_NAME": name, "ECS_TASK_DEFINITION_FAMILY": self.definition(revision)["family"]},
                )
                task.registered = True

    def write_state(self):
        if self.state_file:
            write_state(self.state_file, [t for tasks in self.tasks.values() for t in tasks],
                        list(self.draining))

    # Cloud Map side: DNS answers from the registered instances

    def refresh_records(self):
        records = {}
        for ns_page in self.sd.get_paginator("list_namespaces").paginate():
            for ns in ns_page["Namespaces"]:
                if ns["Type"] != "DNS_PRIVATE":
                    continue
                services = self.sd.list_services(
                    Filters=[{"Name": "NAMESPACE_ID", "Values": [ns["Id"]], "Condition": "EQ"}])["Services"]
                for svc in services:
                    ttl = min((r["TTL"] for r in svc.get("DnsConfig", {}).get("DnsRecords", [])), default=5)
                    try:
                        instances = self.sd.list_instances(ServiceId=svc["Id"])["Instances"]
                    except self.sd.exceptions.ServiceNotFound:
                        continue  # deleted since it was listed: it answers nothing, as Route 53
                    addrs = [(i["Attributes"]["AWS_INSTANCE_IPV4"], int(i["Attributes"].get("AWS_INSTANCE_PORT", WATCHDOG_PORT)))
                             for i in instances if "AWS_INSTANCE_IPV4" in i.get("Attributes", {})]
                    records[f"{svc['Name']}.{ns['Name']}.".lower()] = (ttl, addrs)
        self.records.replace(records)

    # CloudWatch Logs side

    def ship_log(self, service, container, task_id, line):
        """Queues a line for CloudWatch Logs: a task never waits for the emulator to write it."""
        options = container.get("logConfiguration", {}).get("options", {})
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        print(f"[{service} {task_id[:8]} {container['name']}] {line}", file=sys.stderr, flush=True)
        if not group or not prefix:
            return
        self.log_shipper.put(group, log_stream(prefix, container["name"], task_id), line)

    def all_tasks(self):
        return [t for tasks in list(self.tasks.values()) for t in tasks] + list(self.draining)

    def stop_all(self, grace=0.5):
        """Stops every task at once: SIGTERM, then SIGKILL for what is left after `grace`. Call
        it once no round runs (`closing` set and the loop ended)."""
        tasks = self.all_tasks()
        for task in tasks:
            task.terminate()
        deadline = time.monotonic() + grace
        for task in tasks:
            task.stop(grace=max(0.0, deadline - time.monotonic()))
            self.network.release(task.id)



def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--cluster", help="the one cluster to watch (default: every cluster)")
    parser.add_argument("--dns", default="127.0.0.1:5353", help="address:port of the DNS server")
    parser.add_argument("--images", default=os.path.join(HERE, "images.json"))
    parser.add_argument("--user-images", default=os.environ.get("FAAS_ECS_RUNTIME_IMAGES"),
                        help="a file of your own, as images.json, whose entries are added over it "
                             "(default: $FAAS_ECS_RUNTIME_IMAGES)")
    parser.add_argument("--state", help="file to write the running tasks to (JSON)")
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--network", choices=["auto", "namespaces", "loopback"], default="auto",
                        help="where tasks listen: a network namespace each (needs root), loopback "
                             "addresses, or namespaces when possible (default)")
    parser.add_argument("--max-tasks", type=int, default=20,
                        help="most tasks run for one service, whatever its desired count")
    parser.add_argument("--volumes", default=os.path.join("/tmp", f"faas-ecs-runtime-{os.getpid()}"),
                        help="folder for the tasks' volumes")
    args = parser.parse_args()

    runtime = Runtime(args)
    dns_answers.serve(runtime.records, args.dns)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log(f"watching {'cluster ' + args.cluster if args.cluster else 'every cluster'}; DNS on {args.dns}; "
        f"tasks on {runtime.network.name}")

    def loop():
        while not stop.is_set():
            try:
                runtime.reconcile()
                runtime.refresh_records()
            except Exception as e:  # the emulator restarting, a service deleted mid-way: try again
                log(f"reconcile failed: {e}")
            stop.wait(args.interval)

    # The main thread only waits. On a stop, the round under way starts no more tasks and ends;
    # then every task is stopped, once.
    rounds = threading.Thread(target=loop, daemon=True)
    rounds.start()
    stop.wait()
    runtime.closing.set()
    rounds.join(timeout=ROUND_END_WAIT)
    runtime.stop_all()
    shutil.rmtree(args.volumes, ignore_errors=True)
    # The DNS server's thread ends with the process (its own stop waits half a second).

if __name__ == "__main__":
    main()
