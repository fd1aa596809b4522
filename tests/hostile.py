"""A hostile server for tests: an HTTP proxy on 127.0.0.1 in front of the real mock.

The mock stays a faithful server; :class:`HostileProxy` misbehaves the way real APIs and
middleboxes do, as :class:`Hostility` says (mutable while it runs):

- list pages (``runs/``, ``results/``, ``scenarios/``, ``aiagents/``) are paged by the proxy
  itself from the mock's full, newest-first list, so it can repeat ids across pages (the
  unstable order of ties), lie about ``count`` (over and under), hide a run until page 2 is
  asked for (a back-dated insertion mid-sync), point ``next`` at itself, back at page 1 or
  at another host;
- any API answer can be a redirect (off-host, or once within the host), a body trickled a
  byte at a time, a 429 with a huge ``Retry-After``, or JSON nested 100k levels deep.

"Another host" is :class:`Recorder`, a second server on another port that notes every
request and whether it carried the API key. Everything else is passed through, with the
mock's absolute links rewritten to the proxy.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

KEY_HEADER = "X-CEKURA-API-KEY"
LISTS = ("runs/", "results/", "scenarios/", "aiagents/")
UPSTREAM_PAGE = 100


@dataclass
class Hostility:
    """What the proxy does wrong (all off by default: an honest proxy)."""

    #: on page k >= 2, the first n rows are the last n of page k-1 and its own last n vanish
    repeat_ids: int = 0
    #: repeat on every serving (a server that never settles), not only the first of a page
    repeat_always: bool = False
    #: added to the ``count`` of every list page (next links stay honest)
    count_delta: int = 0
    #: run ids left out of lists until page 2 of a list is asked for
    hidden: set[int] = field(default_factory=set)
    #: ``"self"``: every next link points at its own page; ``"first"``: the last page's
    #: next link points back to page 1
    next_loop: str | None = None
    #: next links point at the recorder, and the last page gets one too
    next_offhost: bool = False
    #: ``"offhost"``: every API request is redirected (302) to the recorder; ``"same"``:
    #: redirected once to the same URL on this proxy
    redirect: str | None = None
    #: seconds between body bytes of every API answer (0: send at once)
    trickle_s: float = 0.0
    #: answer every API request 429 with this Retry-After
    retry_after: int | None = None
    #: answer every API request with JSON nested this deep
    deep_json: int = 0
    #: which collections the paging lies apply to
    paths: tuple[str, ...] = ("runs/",)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Base:
    """A threaded HTTP server on 127.0.0.1 (port 0: any free one)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> Any:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (handler threads still trickling are daemons and die with us)."""
        self.httpd.shutdown()
        self.httpd.server_close()


class _RecorderHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        rec: Recorder = self.server.owner  # type: ignore[attr-defined]
        with rec.lock:
            rec.requests.append((self.command, self.path))
            if KEY_HEADER.lower() in {k.lower() for k in self.headers}:
                rec.saw_key += 1
        body = json.dumps({"count": 0, "next": None, "previous": None, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


class Recorder(_Base):
    """ "Another host": notes each request and whether it carried the API key."""

    def __init__(self) -> None:
        super().__init__(_RecorderHandler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.saw_key = 0


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    @property
    def proxy(self) -> HostileProxy:
        return self.server.owner  # type: ignore[attr-defined, no-any-return]

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        px, h = self.proxy, self.proxy.hostility
        parts = urlsplit(self.path)
        api = parts.path.startswith("/test_framework/")
        px.count(parts.path, KEY_HEADER.lower() in {k.lower() for k in self.headers})
        if api and h.redirect == "offhost":
            return self._send(302, b"", {"Location": px.recorder.base_url + self.path})
        if api and h.redirect == "same" and "hop=1" not in parts.query:
            sep = "&" if parts.query else "?"
            return self._send(302, b"", {"Location": f"{self.path}{sep}hop=1"})
        if api and h.retry_after is not None:
            body = json.dumps({"detail": "Request was throttled."}).encode()
            return self._send(429, body, {"Retry-After": str(h.retry_after)})
        if api and h.deep_json:
            return self._send(200, b"[" * h.deep_json + b"]" * h.deep_json)
        collection = _collection(parts.path)
        if self.command == "GET" and collection is not None:
            status, body = px.page(parts.path, parts.query, collection, self._forwarded())
        else:
            status, body = px.forward(self.command, self.path, self._forwarded(), self._body())
        self._send(status, body, trickle=h.trickle_s if api else 0.0)

    def _forwarded(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}

    def _body(self) -> bytes | None:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        trickle: float = 0.0,
    ) -> None:
        self.send_response(status)  # adds Date (this machine's clock, to the second)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            if not trickle:
                self.wfile.write(body)
                return
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(trickle)
        except OSError:  # the client gave up: fine
            self.close_connection = True


def _collection(path: str) -> str | None:
    """``runs/`` for ``/test_framework/v2/runs/`` (a paginated list), else None."""
    parts = path.split("/")
    if len(parts) == 5 and parts[1] == "test_framework" and parts[4] == "":
        name = parts[3] + "/"
        return name if name in LISTS else None
    return None


class HostileProxy(_Base):
    """The proxy in front of ``upstream`` (a mock's base URL); see :class:`Hostility`."""

    def __init__(self, upstream: str, hostility: Hostility | None = None) -> None:
        super().__init__(_ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.hostility = hostility or Hostility()
        self.recorder = Recorder()
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.without_key = 0
        self._served: set[tuple[str, int]] = set()
        self._http = requests.Session()
        self.mock: Any = None  # the MockServer behind (set by the fixture)

    def start(self) -> HostileProxy:
        """Serve the proxy and its recorder."""
        self.recorder.start()
        super().start()
        return self

    def stop(self) -> None:
        """Stop both servers."""
        super().stop()
        self.recorder.stop()
        self._http.close()

    def count(self, path: str, has_key: bool) -> None:
        """Note one request."""
        with self.lock:
            self.requests[path] += 1
            self.without_key += not has_key

    @property
    def total(self) -> int:
        """Requests received so far."""
        with self.lock:
            return sum(self.requests.values())

    def forward(
        self, method: str, path_qs: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        """Pass a request to the mock; its absolute links point back here."""
        r = self._http.request(method, self.upstream + path_qs, headers=headers, data=body)
        return r.status_code, r.content.replace(self.upstream.encode(), self.base_url.encode())

    def _all(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Any:
        """The mock's whole list for these filters, newest first (or its error answer)."""
        items: list[Any] = []
        page = 1
        while True:
            q = urlencode([*params, ("page", str(page)), ("page_size", str(UPSTREAM_PAGE))])
            r = self._http.get(f"{self.upstream}{path}?{q}", headers=headers)
            if r.status_code != 200:
                return r
            body = r.json()
            items += body["results"]
            if not body["next"]:
                return items
            page += 1

    def page(
        self, path: str, query: str, collection: str, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """One list page, paged here from the mock's full list, as :class:`Hostility` says."""
        h = self.hostility
        asked = parse_qsl(query, keep_blank_values=True)
        params = [(k, v) for k, v in asked if k not in ("page", "page_size", "hop")]
        q = dict(asked)
        try:
            page = int(q.get("page", "1"))
            size = max(1, min(int(q.get("page_size", "30")), UPSTREAM_PAGE))
        except ValueError:
            return 404, b'{"detail": "Invalid page."}'
        lying = collection in h.paths
        if lying and page >= 2 and h.hidden:
            with self.lock:  # a back-dated run lands after page 1 was read
                h.hidden = set()
        got = self._all(path, params, headers)  # with the client's own headers (its key)
        if isinstance(got, requests.Response):
            return got.status_code, got.content
        items = [i for i in got if not (lying and i.get("id") in h.hidden)]
        real = len(items)
        if page < 1 or (page > 1 and (page - 1) * size >= real):
            return 404, b'{"detail": "Invalid page."}'
        start = (page - 1) * size
        chunk = items[start : start + size]
        if lying and h.repeat_ids and page >= 2:
            key = (f"{path}?{urlencode(sorted(params))}&size={size}", page)
            with self.lock:
                first_time = key not in self._served
                self._served.add(key)
            if h.repeat_always or first_time:
                n = min(h.repeat_ids, size)
                # the order of ties shifts: n rows of the page before come again and n of
                # this page's rows fall out of the listing (the last page too)
                chunk = items[start - n : start] + chunk[: max(0, len(chunk) - n)]
        count = real + (h.count_delta if lying else 0)
        base = self.recorder.base_url if h.next_offhost and lying else self.base_url

        def link(p: int) -> str:
            query = urlencode([*params, ("page", str(p)), ("page_size", str(size))])
            return f"{base}{path}?{query}"

        last = start + size >= real
        nxt: str | None = None if last else link(page + 1)
        if lying and h.next_offhost and last:
            nxt = link(page + 1)
        if lying and h.next_loop == "self":
            nxt = f"{self.base_url}{path}?{query}"
        elif lying and h.next_loop == "first" and last:
            nxt = link(1)
        prev = link(page - 1) if page > 1 else None
        body = {"count": count, "next": nxt, "previous": prev, "results": chunk}
        return 200, json.dumps(body).encode()
