"""What the runtime shares with faas-ecs and ECS, in one place: the watchdog's port and the names
of log streams. tests/test_facts.py holds them against the provider's code."""

import sys

# The port every function's watchdog listens on (faas-ecs: WATCHDOG_PORT in src/model/shared.rs).
WATCHDOG_PORT = 8080


def log_stream(prefix, container, task_id):
    """A container's CloudWatch Logs stream, as the awslogs driver names it; faas-ecs finds a
    function's streams by `<prefix>/<function>/`."""
    return f"{prefix}/{container}/{task_id}"


def not_emulated(td):
    """What a task definition asks for that this runtime cannot give (it runs every task as a
    local process on this machine's x86-64 Linux), or None."""
    platform = td.get("runtimePlatform") or {}
    missing = []
    if platform.get("cpuArchitecture", "X86_64") != "X86_64":
        missing.append(platform["cpuArchitecture"])
    if platform.get("operatingSystemFamily", "LINUX") != "LINUX":
        missing.append(platform["operatingSystemFamily"])
    gpus = [r for c in td.get("containerDefinitions", []) for r in c.get("resourceRequirements", [])
            if r.get("type") == "GPU"]
    if gpus:
        missing.append("GPU")
    if not missing:
        return None
    return (f"{td.get('family')} asks for {', '.join(missing)}, which this runtime cannot emulate: "
            "its tasks run as local processes all the same")


def log(message):
    """The runtime's own messages, on stderr."""
    print(f"runtime: {message}", file=sys.stderr, flush=True)
