"""A local stand-in for checkip.amazonaws.com (what create_cluster.py asks for the caller's public address)."""

from __future__ import annotations

import http.server
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"203.0.113.99\n"
    status = 200

    def do_GET(self):  # (http.server's name)
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


class CheckIp:
    """Servers on 127.0.0.1 answering every GET with a given body and status; `serve(...)` returns its URL."""

    def __init__(self) -> None:
        self._servers: list[http.server.ThreadingHTTPServer] = []

    def serve(self, body: bytes = b"203.0.113.99\n", status: int = 200) -> str:
        handler = type("H", (_Handler,), {"body": body, "status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
