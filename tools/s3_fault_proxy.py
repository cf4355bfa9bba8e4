"""A fault-injecting S3 endpoint for tests and benchmarks: an HTTP proxy in front of moto's server.

moto answers S3 requests faithfully but never fails one; real S3 sometimes does. FaultProxy forwards every
request to an upstream endpoint (a moto ThreadedMotoServer) and, for the requests a rule matches, answers
with a fault instead, N times per rule:

- "slowdown": 503 with S3's XML error SlowDown ("Please reduce your request rate."), the throttling answer;
- "internal": 500 with S3's XML error InternalError;
- "reset":    the connection is reset (TCP RST) before any byte of the answer;
- "cut":      the upstream answer's status and headers (its full Content-Length), half of its body, then
              the end of the connection: a body cut short.

Rules match a request by HTTP method and by the object it names (bucket/key, percent-decoded) or by a
predicate on (path, query, headers), which may also act (change the object upstream before the request goes
on, say); the first rule with faults left that matches a request takes it. Every request is recorded in
`requests` (method, path, Range/If-Match headers, the fault or None), so tests can see what the client
did. Usage:

    with moto_and_proxy() as (proxy, moto_url):   # or FaultProxy(upstream).start()
        proxy.fail("GET", "bucket/key.json", ["slowdown", "cut"])
        boto3.client("s3", endpoint_url=proxy.url, ...)

Run as a script it serves moto and the proxy in a process of their own (so that they do not share the
measured process's interpreter) and prints {"proxy": URL, "moto": URL} as one JSON line; it stops when its
standard input closes. Rules are then set over HTTP: POST {"method", "paths", "fault"} to
<proxy>/_fault/fail (that fault once for each object path), POST <proxy>/_fault/clear, GET <proxy>/_fault/left.

A development tool (tests, bench/): the toolkit never imports it.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

FAULTS = ("slowdown", "internal", "reset", "cut")
_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "internal": (500, "InternalError", "We encountered an internal error. Please try again."),
}
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


@dataclass
class Rule:
    method: str | None  # None: any method
    match: Callable[[str, dict, dict], bool]  # (object path "bucket/key", query, headers) -> whether it applies
    faults: list[str]
    seq: int = 0  # rules are tried in the order they were made
    taken: int = 0


@dataclass
class Seen:
    method: str
    path: str  # "bucket/key", percent-decoded
    query: dict
    headers: dict
    fault: str | None


@dataclass
class FaultProxy:
    upstream: str  # http://host:port
    rules: list[Rule] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._local = threading.local()
        self._by_path: dict[str, list[Rule]] = {}
        self._predicates: list[Rule] = []
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- rules
    def fail(self, method: str | None, target: str | Callable[[str, dict, dict], bool], faults: list[str] | str,
             times: int = 1) -> Rule:
        """Answer the next `times` requests of `method` on `target` (an object path "bucket/key", or a predicate
        on (path, query, lower-cased headers)) with `faults` in turn (one fault name: that fault `times` times)."""
        faults = [faults] * times if isinstance(faults, str) else list(faults)
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}: one of {FAULTS}")
        if callable(target):
            match = target
        else:
            wanted = target.lstrip("/")

            def match(path: str, query: dict, headers: dict) -> bool:
                return path == wanted
        rule = Rule(method.upper() if method else None, match, faults, seq=len(self.rules))
        with self._lock:
            self.rules.append(rule)
            if callable(target):
                self._predicates.append(rule)
            else:  # indexed: a benchmark plants hundreds of per-object rules
                self._by_path.setdefault(target.lstrip("/"), []).append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self._by_path.clear()
            self._predicates.clear()
            self.requests.clear()

    def _take(self, method: str, path: str, query: dict, headers: dict) -> str | None:
        with self._lock:
            candidates = sorted(self._by_path.get(path, []) + self._predicates, key=lambda r: r.seq)
            for rule in candidates:
                if rule.faults and (rule.method in (None, method)) and rule.match(path, query, headers):
                    rule.taken += 1
                    return rule.faults.pop(0)
        return None

    def faults_left(self) -> int:
        with self._lock:
            return sum(len(rule.faults) for rule in self.rules)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if (method is None or s.method == method) and (path is None or s.path == path)]

    # ------------------------------------------------------------- server
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls

            def _handle(self):
                split = urlsplit(self.path)
                path = unquote(split.path).lstrip("/")
                if path.startswith("_fault/"):
                    return self._control(path.removeprefix("_fault/"))
                query = dict(part.split("=", 1) if "=" in part else (part, "") for part in split.query.split("&") if part)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                fault = proxy._take(self.command, path, query, headers)
                with proxy._lock:
                    proxy.requests.append(Seen(self.command, path, query, headers, fault))
                if fault == "reset":
                    return self._reset()
                if fault in _ERRORS:
                    status, code, message = _ERRORS[fault]
                    payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
                               f"</Message><RequestId>FAULT</RequestId></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return None
                forward = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer, data = proxy._forward(self.command, self.path, body, forward)
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault == "cut" and self.command != "HEAD":
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)  # an orderly end, short of Content-Length
                    self.close_connection = True
                    return None
                if self.command != "HEAD":
                    self.wfile.write(data)
                return None

            def _control(self, action: str):
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if action == "fail":
                    for target in request["paths"]:
                        proxy.fail(request["method"], target, request["fault"])
                elif action == "clear":
                    proxy.clear()
                answer = json.dumps({"left": proxy.faults_left()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def _reset(self):
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True)
        self._thread.start()
        return self

    def _forward(self, method: str, path: str, body: bytes, headers: dict) -> tuple[http.client.HTTPResponse, bytes]:
        """The upstream's answer, over a connection kept per proxy thread (one per client connection)."""
        target = urlsplit(self.upstream)
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                return answer, answer.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None


@contextmanager
def moto_and_proxy() -> Iterator[tuple[FaultProxy, str]]:
    """A moto S3 server on a free local port and a FaultProxy in front of it: (proxy, moto's own URL)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset(url)  # moto's backends live in the process: start from nothing
    proxy = FaultProxy(url).start()
    try:
        yield proxy, url
    finally:
        proxy.stop()
        _reset(url)
        moto.stop()


def _reset(moto_url: str) -> None:
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=30) as answer:
        answer.read()


def control(proxy_url: str, action: str, request: dict | None = None) -> dict:
    """Call the control API of a proxy served by this script (see the module docstring)."""
    from urllib.request import Request, urlopen

    data = json.dumps(request or {}).encode()
    with urlopen(Request(f"{proxy_url}/_fault/{action}", data=data, method="POST"), timeout=60) as answer:
        return json.loads(answer.read())


if __name__ == "__main__":
    import sys

    with moto_and_proxy() as (served, moto_url):
        print(json.dumps({"proxy": served.url, "moto": moto_url}), flush=True)
        sys.stdin.read()  # until the parent closes it (or dies)
