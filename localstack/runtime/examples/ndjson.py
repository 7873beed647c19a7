"""An HTTP-mode function for local runs: streams one JSON line every 200 ms, five in all."""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(5):
            line = json.dumps({"n": i, "at": time.time()}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
            time.sleep(0.2)
        self.wfile.write(b"0\r\n\r\n")

    do_POST = do_GET


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("port", "3000"))), Handler).serve_forever()
