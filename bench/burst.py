"""A burst from zero: N simultaneous invocations of a function whose desired count is 0, through
faas-ecs (release build) with the local task runtime starting its tasks. Reports the answers by
status, the time to the first and the last answer, the desired count the scaler reached, the
provider's resident memory before, at its peak and after (right away, 10 s, 60 s and 120 s later), what
each held request cost at the peak, and its open files (most, and 120 s after).
BENCH_HOLD=<seconds> keeps the provider running that long after the burst, to look into it.

Run by bench/burst (which starts the emulator and the runtime); prints Markdown. Not a test:
nothing is asserted.
"""

import asyncio
import json
import os
import sys
import threading
import time

from lib import Provider, http, memory_mib, read_env_file

FUNCTION = "burst"
BODY = b"ping"


def status(url):
    code, text = http("GET", f"{url}/system/function/{FUNCTION}")
    return json.loads(text) if code == 200 else None


def wait_for(what, check, within=120):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


async def invoke(host, port, started):
    """One invocation on a connection of its own: (status, seconds since `started`)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"POST /function/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (FUNCTION.encode(), host.encode(), len(BODY), BODY))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 180)
        await reader.read()
        writer.close()
        return int(head.split(b" ", 2)[1]), time.monotonic() - started
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
        return type(e).__name__, time.monotonic() - started


async def burst(url, n):
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    return await asyncio.gather(*(invoke(host, int(port), started) for _ in range(n)))


class Sampler(threading.Thread):
    """The provider's resident memory, open files and the function's desired count, sampled."""

    def __init__(self, provider):
        super().__init__(daemon=True)
        self.provider, self.rss, self.files, self.replicas = provider, 0.0, 0, 0
        self.running = True

    def run(self):
        while self.running:
            self.rss = max(self.rss, memory_mib(self.provider.pid))
            self.files = max(self.files, len(os.listdir(f"/proc/{self.provider.pid}/fd")))
            s = status(self.provider.url)
            if s:
                self.replicas = max(self.replicas, s["replicas"])
            time.sleep(0.1)


def main():
    sizes = [int(n) for n in sys.argv[1].split(",")]
    env = read_env_file(sys.argv[2])
    env["FAAS_ECS_DNS_SERVER"] = sys.argv[3]
    port = int(sys.argv[4])
    log = open(sys.argv[5], "a")
    rows = []
    for n in sizes:
        provider = Provider(env, port, log)
        code, text = http("POST", f"{provider.url}/system/functions",
                          {"service": FUNCTION, "image": "faas-ecs/http-example"})
        assert code in (202, 409), text
        wait_for("a ready task", lambda: (status(provider.url) or {}).get("availableReplicas", 0) >= 1)
        assert http("POST", f"{provider.url}/function/{FUNCTION}", {"warm": True})[0] == 200
        code, text = http("POST", f"{provider.url}/system/scale-function/{FUNCTION}",
                          {"serviceName": FUNCTION, "replicas": 0})
        assert code == 202, text
        wait_for("no task", lambda: status(provider.url)["availableReplicas"] == 0)
        time.sleep(5)
        idle = memory_mib(provider.pid)
        sampler = Sampler(provider)
        sampler.start()
        answers = asyncio.run(burst(provider.url, n))
        sampler.running = False
        sampler.join()
        after = [memory_mib(provider.pid)]
        for wait in (10, 50, 60):
            time.sleep(wait)
            after.append(memory_mib(provider.pid))
        files_after = len(os.listdir(f"/proc/{provider.pid}/fd"))
        if os.environ.get("BENCH_HOLD"):
            print(f"provider {provider.pid} held for {os.environ['BENCH_HOLD']} s", file=sys.stderr, flush=True)
            time.sleep(float(os.environ["BENCH_HOLD"]))
        by_status = {}
        for code, _ in answers:
            by_status[code] = by_status.get(code, 0) + 1
        times = sorted(t for code, t in answers if code == 200)
        rows.append({
            "n": n, "by_status": by_status, "first": times[0] if times else float("nan"),
            "last": times[-1] if times else float("nan"), "replicas": sampler.replicas,
            "idle": idle, "peak": max(sampler.rss, memory_mib(provider.pid, "VmHWM")),
            "after": after, "files": sampler.files, "files_after": files_after,
        })
        # The next size starts from zero again, in a provider of its own.
        http("DELETE", f"{provider.url}/system/functions", {"functionName": FUNCTION})
        wait_for("the function gone", lambda: status(provider.url) is None)
        provider.stop()
        print(f"done: {n} held requests", file=sys.stderr, flush=True)
    print("| held requests | answers | first / last answer (s) | desired count reached | RSS idle (MiB) "
          "| peak | after: 0 s / 10 s / 60 s / 120 s | KiB per held request at the peak | open files: most / after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["by_status"].items(), key=str))
        per = (r["peak"] - r["idle"]) * 1024 / r["n"]
        print(f'| {r["n"]} | {answers} | {r["first"]:.1f} / {r["last"]:.1f} | {r["replicas"]} | '
              f'{r["idle"]:.1f} | {r["peak"]:.1f} | {" / ".join(f"{a:.1f}" for a in r["after"])} | '
              f'{per:.0f} | {r["files"]} / {r["files_after"]} |')


if __name__ == "__main__":
    main()
