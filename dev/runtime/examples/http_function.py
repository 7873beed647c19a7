"""An HTTP-mode function for local runs (image faas-ecs/http-example in images.json).

  /redirect  answers 302 to /elsewhere
  /ndjson    streams five JSON lines, 200 ms apart, each with the time it was written
  anything else: answers the request body, in 64 KiB chunks
"""

import json
import os
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.path.startswith("/redirect"):
            self.rfile.read(length)
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        ndjson = self.path.startswith("/ndjson")
        self.send_header("Content-Type", "application/x-ndjson" if ndjson else "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if ndjson:
            self.rfile.read(length)
            for i in range(5):
                self.chunk(json.dumps({"n": i, "at": time.time()}).encode() + b"\n")
                time.sleep(0.2)
        else:
            # Read all first: the local watchdog sends the whole request before it reads the answer.
            data = self.rfile.read(length)
            for i in range(0, len(data), 65536):
                self.chunk(data[i:i + 65536])
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = socket.SOMAXCONN  # as a Go server's; Python's 5 refuses a burst


Server(("127.0.0.1", int(os.environ.get("port", "3000"))), Handler).serve_forever()
