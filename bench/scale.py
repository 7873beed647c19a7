"""The control plane at size: faas-ecs (release build) on the emulator with N functions, measured
from its own /metrics and /proc. Reports, per N: the time to deploy them, start-up (time until
/healthz answers, and the AWS calls it took), AWS calls per minute at idle by operation, resident
memory, and the latency of a list of every function and of status reads (from memory).

Run by bench/scale (which starts the emulator); prints Markdown. Not a test: nothing is asserted.
"""

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lib import Provider, http, memory_mib, read_env_file


def aws_calls(url):
    """{"Service Operation": attempts} from /metrics."""
    _, text = http("GET", f"{url}/metrics")
    calls = {}
    for line in text.decode().splitlines():
        if not line.startswith("faas_ecs_aws_calls_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        fields = dict(part.split("=", 1) for part in labels[len("faas_ecs_aws_calls_total{"):-1].split(","))
        key = f'{fields["service"].strip(chr(34))} {fields["operation"].strip(chr(34))}'
        calls[key] = calls.get(key, 0) + float(value)
    return calls


def deploy_all(url, first, count):
    def deploy(n):
        body = {"service": f"fn-{n}", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat",
                "labels": {"team": "bench"}}
        status, text = http("POST", f"{url}/system/functions", body)
        if status not in (202, 409):
            raise SystemExit(f"deploy fn-{n}: {status} {text[:200]!r}")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deploy, range(first, first + count)))


def latencies(url, path, times):
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        status, _ = http("GET", f"{url}{path}")
        taken.append((time.perf_counter() - start) * 1000)
        assert status == 200, (path, status)
    taken.sort()
    return statistics.median(taken), taken[int(len(taken) * 0.99) - 1]


def main():
    sizes = [int(n) for n in sys.argv[1].split(",")]
    idle_seconds = float(sys.argv[2])
    port = int(sys.argv[3])
    env = read_env_file(sys.argv[4])
    # Functions are found by a fixed table: the bench measures the control plane, not DNS.
    env.update({"FAAS_ECS_RESOLVER": "fixed", "FAAS_ECS_ENDPOINTS": "fn-0=127.0.0.1:9"})
    log = open(sys.argv[5], "a")
    rows = []
    deployed = 0
    for size in sizes:
        provider = Provider(env, port, log)
        started = time.monotonic()
        deploy_all(provider.url, deployed, size - deployed)
        deploy_time = time.monotonic() - started
        deployed = size
        provider.stop()
        # Start-up with every function in AWS: the full read, every task definition once.
        provider = Provider(env, port, log)
        startup_calls = sum(aws_calls(provider.url).values())
        before = aws_calls(provider.url)
        time.sleep(idle_seconds)
        after = aws_calls(provider.url)
        idle = {op: (after.get(op, 0) - before.get(op, 0)) * 60 / idle_seconds for op in after}
        idle = {op: n for op, n in idle.items() if n > 0}
        rss = memory_mib(provider.pid)
        list_p50, list_p99 = latencies(provider.url, "/system/functions", 20)
        status_p50, status_p99 = latencies(provider.url, "/system/function/fn-1", 200)
        rss_after = memory_mib(provider.pid)
        time.sleep(5)
        rss_settled = memory_mib(provider.pid)
        _, listed = http("GET", f"{provider.url}/system/functions")
        rows.append({
            "functions": size, "listed": len(json.loads(listed)), "deploy_s": deploy_time,
            "startup_s": provider.startup, "startup_calls": startup_calls,
            "idle_per_min": sum(idle.values()), "idle_by_op": idle, "rss_mib": rss, "rss_after": rss_after, "rss_settled": rss_settled,
            "list_ms": (list_p50, list_p99), "status_ms": (status_p50, status_p99),
        })
        provider.stop()
        print(f"done: {size} functions", file=sys.stderr, flush=True)
    print(f"| functions | deploy (s) | start-up (s) | start-up AWS calls | idle AWS calls/min "
          f"(over {idle_seconds:.0f} s) | RSS at idle / right after the reads / 5 s later (MiB) | list p50 / p99 (ms) | status p50 / p99 (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f'| {r["functions"]} ({r["listed"]} listed) | {r["deploy_s"]:.0f} | {r["startup_s"]:.1f} | '
              f'{r["startup_calls"]:.0f} | {r["idle_per_min"]:.1f} | {r["rss_mib"]:.1f} / {r["rss_after"]:.1f} / {r["rss_settled"]:.1f} | '
              f'{r["list_ms"][0]:.1f} / {r["list_ms"][1]:.1f} | {r["status_ms"][0]:.2f} / {r["status_ms"][1]:.2f} |')
    print()
    for r in rows:
        ops = ", ".join(f"{op} {n:.1f}" for op, n in sorted(r["idle_by_op"].items()))
        print(f'- {r["functions"]} functions, idle calls per minute by operation: {ops or "none"}')


if __name__ == "__main__":
    main()
