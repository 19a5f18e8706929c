"""A misbehaving stand-in for an API server, on 127.0.0.1 only, for the live-read limits.

Each behaviour is one way a real (or hostile) server can hold a client:
silence, a slow drip, an endless or oversized body, a gzip bomb, a
``continue`` token handed back again. Every handler ends by itself (at the
latest when the test stops the server), so no test can hang.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.1", "platform": "linux/amd64"}
EMPTY_LIST = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": []}
NODES = {**EMPTY_LIST, "items": [{"metadata": {"name": "node-1", "uid": "u1"}, "status": {"nodeInfo": {
    "kubeletVersion": "v1.33.1"}}}]}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.target = target  # the path prefix that misbehaves; every other path answers normally
        self.stop = threading.Event()
        self.requests: list[str] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append(self.path)
        if not self.path.startswith(srv.target):
            self._json(VERSION if self.path == "/version" else NODES if self.path.startswith("/api/v1/nodes?")
                       else EMPTY_LIST)
            return
        getattr(self, "_" + srv.behaviour)()

    # -- behaviours ------------------------------------------------------------------------------------------
    def _silent(self) -> None:
        """Accept, read the request, never answer."""
        self.server.stop.wait(120)
        self.close_connection = True

    def _drip(self) -> None:
        """A valid answer, one byte every half second: no single read ever times out."""
        body = json.dumps(VERSION if self.path == "/version" else EMPTY_LIST).encode()
        text = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
        for i in range(len(text)):
            if self.server.stop.wait(0.5):
                break
            try:
                self.wfile.write(text[i:i + 1])
                self.wfile.flush()
            except OSError:
                break
        self.close_connection = True

    def _endless(self) -> None:
        """200 with no length and a body that does not end (until the client goes or 1 GiB)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b'{"items":[' + b" " * (64 * 1024 - 10)
        try:
            for _ in range(16 * 1024):
                if self.server.stop.is_set():
                    break
                self.wfile.write(chunk)
                chunk = b" " * len(chunk)
        except OSError:
            pass
        self.close_connection = True

    def _huge_length(self) -> None:
        """Announces 4 GiB; a client that believes it would read until memory runs out."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(4 * 1024 ** 3))
        self.end_headers()
        try:
            self.wfile.write(b'{"items":[')
        except OSError:
            pass
        self.server.stop.wait(30)
        self.close_connection = True

    def _gzip_bomb(self) -> None:
        """64 MiB of JSON that gzip shrinks to 64 KiB."""
        body = _bomb()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def _slow(self) -> None:
        """A correct answer, a second late each time."""
        self.server.stop.wait(1)
        self._json(VERSION if self.path == "/version" else EMPTY_LIST)

    def _repeat_continue(self) -> None:
        """Every page says there is another, always with the same token."""
        self._json({**EMPTY_LIST, "metadata": {"resourceVersion": "1", "continue": "c2FtZS10b2tlbg"}})


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b'{"items":[],"x":"' + b"a" * (64 * 1024 * 1024) + b'"}', compresslevel=9)


@contextmanager
def stub_apiserver(behaviour: str, target: str = "/version") -> Iterator[_Server]:
    """Serve ``behaviour`` on paths starting with ``target`` (others answer normally); stop on exit."""
    server = _Server(behaviour, target)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def kubeconfig_for(server: _Server, path: Path) -> Path:
    host, port = server.server_address[:2]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "stub",
        "clusters": [{"name": "stub", "cluster": {"server": f"http://{host}:{port}"}}],
        "users": [{"name": "u", "user": {"token": "stub-token"}}],
        "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "u"}}]}))
    return path

