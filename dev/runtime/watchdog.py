"""A stand-in for the OpenFaaS watchdogs, run as one local "task" by runtime.py.

Classic mode (the classic watchdog): every request forks `fprocess` with the body on stdin and
answers with its stdout; the child's environment holds the function's variables plus Http_Method,
Http_Query, Http_Path and Http_<Header>. It logs `Forking fprocess.` and
`Wrote N Bytes - Duration: S seconds` to stderr, as the classic watchdog does.

HTTP mode (of-watchdog's `http` mode): starts `fprocess` once and proxies every request to
`upstream_url`, streaming the answer.

Both answer GET /_/health with 200 once ready and write /tmp/.lock (as the real watchdogs do)
when /tmp is private to the task. Configuration comes from the environment, as in a container:
fprocess, mode, upstream_url, exec_timeout; listen address from WATCHDOG_ADDR (host:port).
"""

import http.client
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class Server(ThreadingHTTPServer):
    # The watchdogs (Go) listen with the kernel's largest backlog; Python's default of 5 refuses a
    # burst.
    request_queue_size = socket.SOMAXCONN


def log(message):
    # Go's log package format, as the OpenFaaS watchdogs print.
    sys.stderr.write(time.strftime("%Y/%m/%d %H:%M:%S ") + message + "\n")
    sys.stderr.flush()


def child_env(handler):
    env = dict(os.environ)
    parsed = urllib.parse.urlsplit(handler.path)
    env["Http_Method"] = handler.command
    env["Http_Path"] = parsed.path
    if parsed.query:
        env["Http_Query"] = parsed.query
    for name, value in handler.headers.items():
        env["Http_" + name.replace("-", "_").title().replace("-", "_")] = value
    if handler.headers.get("Content-Length"):
        env["Http_ContentLength"] = handler.headers["Content-Length"]
    return env


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faas-ecs-local-watchdog"

    def log_message(self, *_args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        if self.path.startswith("/_/health"):
            return self.answer(200, b"OK")
        body = self.read_body()
        if MODE == "http":
            return self.proxy(body)
        return self.fork(body)

    def fork(self, body):
        start = time.monotonic()
        log("Forking fprocess.")
        try:
            done = subprocess.run(
                shlex.split(FPROCESS), input=body, capture_output=True, env=child_env(self),
                timeout=EXEC_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            log(f"Killed process: {FPROCESS} - took too long")
            return self.answer(500, b"Killed process.\n")
        except OSError as e:
            log(f"Failed to start process: {e}")
            return self.answer(500, f"{e}\n".encode())
        if done.stderr:
            sys.stderr.buffer.write(done.stderr)
            sys.stderr.flush()
        if done.returncode != 0:
            log(f"exit status {done.returncode}")
            return self.answer(500, done.stdout or f"exit status {done.returncode}\n".encode())
        log(f"Wrote {len(done.stdout)} Bytes - Duration: {time.monotonic() - start:.6f} seconds")
        self.answer(200, done.stdout, [("Content-Type", self.headers.get("Content-Type", "text/plain"))])

    def proxy(self, body):
        upstream = urllib.parse.urlsplit(UPSTREAM)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=EXEC_TIMEOUT)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
        except OSError as e:
            return self.answer(502, f"upstream: {e}\n".encode())
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        # Stream the answer as it comes, chunk by chunk.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            chunk = response.read1(65536)
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any


def wait_for(url, seconds):
    parsed = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=1).connect()
            return True
        except OSError:
            time.sleep(0.05)
    return False


FPROCESS = os.environ.get("fprocess", "")
MODE = os.environ.get("mode", "classic")
UPSTREAM = os.environ.get("upstream_url", "http://127.0.0.1:3000")
EXEC_TIMEOUT = float(os.environ.get("exec_timeout", "60").rstrip("s") or 60)


def main():
    host, port = os.environ.get("WATCHDOG_ADDR", "127.0.0.1:8080").rsplit(":", 1)
    if not FPROCESS:
        log("Provide a \"fprocess\" environmental variable for your function.")
        sys.exit(1)
    if MODE == "http":
        subprocess.Popen(shlex.split(FPROCESS))
        if not wait_for(UPSTREAM, 30):
            log(f"upstream {UPSTREAM} did not start")
            sys.exit(1)
    server = Server((host, int(port)), Handler)
    server.daemon_threads = True
    try:
        with open("/tmp/.lock", "w"):
            pass
    except OSError:
        pass
    log(f"Listening on {host}:{port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
