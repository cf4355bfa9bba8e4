"""A local endpoint of an AWS JSON 1.1 service (the protocol of redshift-serverless and redshift-data): the
operation comes from the X-Amz-Target header, the body is JSON both ways. The stand-ins answer its requests."""

from __future__ import annotations

import http.server
import json
import uuid
from collections.abc import Callable

Handle = Callable[[str, dict], tuple[int, dict]]


def json_service(handle: Handle) -> http.server.ThreadingHTTPServer:
    """A server on 127.0.0.1 (a free port) whose every POST is answered by handle(operation, request) ->
    (HTTP status, answer). The caller runs serve_forever() and shuts it down."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # (http.server's name)
            op = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = handle(op, json.loads(body or b"{}"))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
