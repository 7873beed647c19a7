"""What the Python benches share: HTTP calls, a provider process (release build) and its memory."""

import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BENCH_BINARY: another build of faas-ecs, for a side-by-side.
BINARY = os.environ.get("BENCH_BINARY") or os.path.join(ROOT, "target", "release", "faas-ecs")


def http(method, url, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def memory_mib(pid, field="VmRSS"):
    """A /proc/<pid>/status field in MiB: VmRSS now, VmHWM the high-water mark."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def read_env_file(path):
    """The provider settings scripts/dev-bootstrap.py wrote (shell-quoted values)."""
    pairs = (line.strip().split("=", 1) for line in open(path) if "=" in line)
    return {key: shlex.split(value)[0] if value else "" for key, value in pairs}


class Provider:
    """faas-ecs on 127.0.0.1:`port`, started and waited for until /healthz answers."""

    def __init__(self, env, port, log):
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        self.process = subprocess.Popen([BINARY], env={**os.environ, **env, "port": str(port),
                                                      "bind_address": "127.0.0.1", "RUST_LOG": "warn"},
                                        stdout=log, stderr=log)
        while True:
            try:
                if http("GET", f"{self.url}/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("faas-ecs stopped; see its log")
            time.sleep(0.05)
        self.startup = time.monotonic() - self.started

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        self.process.terminate()
        self.process.wait()
