"""A task's function container as a local process: the watchdog (watchdog.py) on port 8080 of the
task's address, its output pumped to the log shipper, its secrets volume visible to it alone."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from facts import WATCHDOG_PORT

HERE = os.path.dirname(os.path.abspath(__file__))

# Runs a command with a folder bind-mounted read-only at a path, visible to it alone.
PRIVATE_MOUNT = (
    'mkdir -p "$2" && mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"'
)


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def pump(process, sink):
    """Sends each line a process writes to `sink`, from background threads."""
    def read(stream):
        for line in iter(stream.readline, b""):
            sink(line.decode("utf-8", "replace").rstrip("\n"))
    for stream in (process.stdout, process.stderr):
        threading.Thread(target=read, args=(stream,), daemon=True).start()


class Task:
    def __init__(self, task_id, service, revision, container, ip, env, log_sink, mounts=(), enter=()):
        self.id = task_id
        self.service = service
        self.revision = revision
        self.container = container
        self.ip = ip
        self.registered = False
        self.started = time.monotonic()
        env = dict(env)
        env.update({"WATCHDOG_ADDR": f"{ip}:{WATCHDOG_PORT}", "HOSTNAME": self.id[:12],
                    "PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        argv = [sys.executable, os.path.join(HERE, "watchdog.py")]
        for host_dir, path in mounts:
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", PRIVATE_MOUNT, "sh",
                    host_dir, path] + argv
        # The task's network namespace, if it has one.
        argv = list(enter) + argv
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        pump(self.process, lambda line: log_sink(self.service, container, self.id, line))

    def alive(self):
        return self.process.poll() is None

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{WATCHDOG_PORT}/_/health", timeout=0.5) as r:
                return r.status == 200
        except OSError:
            return False

    def terminate(self):
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, grace=5.0):
        self.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


def write_state(path, tasks, draining=()):
    """Writes the running tasks to `path` as JSON (the end-to-end tests read it), atomically:
    those in service, then those deregistered and about to stop (`"draining": true`)."""
    state = [{"id": t.id, "service": t.service, "ip": t.ip, "pid": t.process.pid, "registered": t.registered,
              "draining": stopping}
             for group, stopping in ((tasks, False), (draining, True)) for t in group]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


class Images:
    """What an image runs here (images.json and the user's own table over it)."""

    def __init__(self, *paths):
        self.table = {}
        for path in paths:
            if path:
                with open(path) as f:
                    self.table.update({k: v for k, v in json.load(f).items() if not k.startswith("_")})

    def config(self, image):
        """The entry for an image: by its exact name, else without its tag, each also without
        Docker Hub's `docker.io/` (and `library/`) prefix."""
        names = [image]
        for prefix in ("docker.io/library/", "docker.io/"):
            if image.startswith(prefix):
                names.append(image[len(prefix):])
                break
        for name in names + [n.rsplit(":", 1)[0] for n in names if ":" in n.rsplit("/", 1)[-1]]:
            if name in self.table:
                return self.table[name]
        return {}
