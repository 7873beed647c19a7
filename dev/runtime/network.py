"""Where a task listens: an address of its own, as awsvpc networking gives each task an interface.
As root, a network namespace per task (NamespaceNetwork); otherwise a loopback address per task
(LoopbackNetwork). Addresses are never reused, so a stale DNS answer never reaches another
function's task."""

import itertools
import os
import shutil
import socket
import subprocess

from facts import WATCHDOG_PORT


class TaskNetworkError(Exception):
    """A task cannot get a network; the reason names what is in the way."""


def holder_of(port):
    """Who listens on a TCP port, as `ss` tells it (needs root to name the process)."""
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=2).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out.splitlines()[0] if out else "an unknown process"


def loopback_address(n):
    """The n-th task's loopback address (n from 1): 127.1.0.2, 127.1.0.3, ... 250 to a block."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


def namespace_addresses(prefix, n):
    """The n-th task's /30 in `prefix`.0.0/16 (n from 1): the host's end and the task's."""
    block = n * 4
    base = f"{prefix}.{block // 256}"
    return f"{base}.{block % 256 + 1}", f"{base}.{block % 256 + 2}"


class LoopbackNetwork:
    """Tasks on loopback addresses (127.1.x.y). They share the machine's ports: nothing else may
    hold port 8080 on every address (0.0.0.0:8080, as a gateway does)."""

    name = "loopback"
    MAX_TRIES = 20

    def __init__(self):
        self._next = itertools.count(1)

    def take(self, task_id):
        # Skip addresses another runtime on this machine (or a leftover task) holds.
        for _ in range(self.MAX_TRIES):
            ip = loopback_address(next(self._next))
            with socket.socket() as s:
                try:
                    s.bind((ip, WATCHDOG_PORT))
                    return ip, []
                except OSError:
                    continue
        raise TaskNetworkError(
            f"no loopback address has port {WATCHDOG_PORT} free; it is held by {holder_of(WATCHDOG_PORT)}. "
            "Run the runtime as root (each task then gets a network namespace of its own), "
            "or stop what holds the port")

    def release(self, task_id):
        pass


class NamespaceNetwork:
    """Each task in a network namespace of its own: its own address (10.X.Y.Z, a /30 with the
    host per task) and all its ports, so it listens on 8080 whatever holds 8080 on the machine.
    The host reaches it through a veth pair; the task reaches the host's public addresses through
    its default route. Needs root."""

    name = "namespaces"
    MAX_TASKS = 16383

    def __init__(self):
        # A block of its own per runtime process, so that two runtimes on one machine do not
        # hand out the same subnets.
        self.prefix = f"10.{200 + os.getpid() % 50}"
        self._next = itertools.count(1)

    @staticmethod
    def available():
        if os.geteuid() != 0 or not shutil.which("ip"):
            return False
        probe = f"fe-probe-{os.getpid()}"
        ok = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
        return ok

    @staticmethod
    def names(task_id):
        """The namespace and the two ends of the veth pair (interface names: 15 bytes at most)."""
        return f"fe-{task_id[:12]}", f"fe{task_id[:10]}h", f"fe{task_id[:10]}t"

    def take(self, task_id):
        n = next(self._next)
        if n > self.MAX_TASKS:
            raise TaskNetworkError(f"{self.prefix}.0.0/16 is used up")
        host, ip = namespace_addresses(self.prefix, n)
        ns, host_if, task_if = self.names(task_id)
        steps = [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", task_if, "netns", ns],
            ["ip", "addr", "add", f"{host}/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", task_if],
            ["ip", "-n", ns, "link", "set", task_if, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", host],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                self.release(task_id)
                raise TaskNetworkError(f"{' '.join(step)}: {done.stderr.strip()}")
        return ip, ["ip", "netns", "exec", ns]

    def release(self, task_id):
        ns, host_if, _ = self.names(task_id)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def choose(kind):
    """The network `--network` asks for: `namespaces`, `loopback`, or `auto` (namespaces when
    possible)."""
    if kind != "loopback" and NamespaceNetwork.available():
        return NamespaceNetwork()
    if kind == "namespaces":
        raise SystemExit("runtime: --network namespaces needs root and iproute2 (ip)")
    return LoopbackNetwork()
