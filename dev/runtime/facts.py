"""What the runtime shares with faas-ecs and ECS, in one place: the watchdog's port and the names
of log streams. tests/test_facts.py holds them against the provider's code."""

import sys

# The port every function's watchdog listens on (faas-ecs: WATCHDOG_PORT in src/model/shared.rs).
WATCHDOG_PORT = 8080


def log_stream(prefix, container, task_id):
    """A container's CloudWatch Logs stream, as the awslogs driver names it; faas-ecs finds a
    function's streams by `<prefix>/<function>/`."""
    return f"{prefix}/{container}/{task_id}"


def log(message):
    """The runtime's own messages, on stderr."""
    print(f"runtime: {message}", file=sys.stderr, flush=True)
