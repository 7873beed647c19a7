"""An HTTP-mode function answering every request with 302 to `$destination`, as the conformance
suite's image theaxer/redirector does (images.json maps that image here)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def handle_any(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302)
        self.send_header("Location", os.environ.get("destination", "/"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("port", "8082"))), Handler).serve_forever()
