"""HTTP access to the Cekura API: auth, timeouts, retries, typed errors, paging, concurrency.

Reads of runs, runs/bulk, results, agents and metrics go to ``/test_framework/v2/`` where the
server has it (v1 reads of runs and results are deprecated since July 2026); scenarios,
personalities and the job endpoints stay on v1. With ``api_version="auto"`` the first 404 on a
v2 collection switches every v2 read to v1 once, with a one-line warning.

One :class:`CekuraClient` wraps an injectable ``requests.Session``. Retries are urllib3's
:class:`~urllib3.util.retry.Retry` (exponential backoff, ``Retry-After`` honoured up to
``retry_after_max`` seconds, beyond which the request fails at once saying when to retry) for
429/5xx on GET; a POST is retried only on 429, when the server did nothing. Every request
holds one of ``concurrency`` slots, so however many threads the callers use, at most that
many requests are in flight.

A hostile or broken server cannot take the key or the process with it:

- the key is attached per request, and only to the configured origin (scheme, host, port);
  redirects are followed by hand, within that origin only, and a redirect or ``next`` link to
  any other origin is an :class:`~cekura_analytics.errors.OffHostError` (``requests`` would
  carry a custom header across hosts on a redirect);
- every attempt has a total deadline (connect + headers + whole body): a watchdog shuts the
  socket of an attempt that outlives it, so a body trickling a byte at a time ends too;
- a JSON body nested too deep for the parser is a one-line ResponseError;
- paging (:class:`Listing`) is checked by identity, planned lazily and capped: see there.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import ResponseError as Urllib3ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from ..config import Settings, load_settings
from ..defaults import API_VERSIONS, EXTRACT_CONCURRENCY
from ..errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectError,
    IncompleteError,
    NotFoundError,
    OffHostError,
    RateLimitedError,
    ResponseError,
    ServerError,
)

API_PREFIX = "/test_framework/v1"
KEY_HEADER = "X-CEKURA-API-KEY"
#: what we ask for; the server may send fewer (the live default is 30, its maximum unknown)
MAX_PAGE_SIZE = 500
BULK_LIMIT = 100
#: collections with a v2 read (CEK-7539); everything else is read on v1
V2_READS = ("runs/", "runs/bulk/", "results/", "aiagents/", "metrics/")
#: the longest Retry-After (s) waited out; a server asking more fails the request at once
RETRY_AFTER_MAX = 120
#: the total time (s) one attempt may take: connect, headers and the whole body
DEADLINE = 180.0
#: same-origin redirects followed per request
MAX_REDIRECTS = 5
T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


class CekuraRetry(Retry):
    """urllib3 Retry that retries a POST only on 429 (a 5xx may mean the job was created),
    and gives up at once on a ``Retry-After`` above ``retry_after_max`` instead of sleeping
    (urllib3 would sleep ``retry_after_max`` and retry: hours of silence with its default)."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether to retry this status for this method."""
        if method.upper() == "POST":
            return status_code == 429 and bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """Count one retry; a Retry-After over the cap ends the retries (the caller sees the
        response itself, ``raise_on_status`` being off)."""
        if response is not None:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                reason = Urllib3ResponseError(f"Retry-After {wait:.0f} s is over the cap")
                raise MaxRetryError(_pool, url or "", reason)  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry(
    total: int = 6, backoff_factor: float = 0.3, retry_after_max: float = RETRY_AFTER_MAX
) -> Retry:
    """The retry policy: 429/5xx with exponential backoff capped at 30 s, Retry-After first
    (up to ``retry_after_max`` seconds; more fails the request, see :class:`CekuraRetry`)."""
    return CekuraRetry(
        total=total,
        connect=3,
        read=2,
        status=total,
        backoff_factor=backoff_factor,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        respect_retry_after_header=True,
        retry_after_max=int(retry_after_max),
        raise_on_status=False,
    )


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date), None if absent
    or unreadable; unlike urllib3's parser, not clamped to any cap."""
    if not value:
        return None
    if re.fullmatch(r"\s*\d+\s*", value):
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# -- where the key may go ---------------------------------------------------------------------
Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``, the unit the key is bound to (port defaulted)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a port number: matches no origin
        port = -1
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def _show(o: Origin) -> str:
    scheme, host, port = o
    return f"{scheme}://{host}:{port}"


class HomeKeyAuth(requests.auth.AuthBase):
    """Adds the API key to a request for the home origin, and to nothing else."""

    def __init__(self, key: str, home: Origin) -> None:
        self.key = key
        self.home = home

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Attach (home) or strip (anywhere else) the key header."""
        if origin(r.url or "") == self.home:
            r.headers[KEY_HEADER] = self.key
        else:
            r.headers.pop(KEY_HEADER, None)
        return r


# -- a total deadline per attempt ---------------------------------------------------------------
_local = threading.local()
_owner_lock = threading.Lock()


class _Watchdog:
    """Shuts the socket of an attempt that outlives ``seconds`` (the socket timeout only
    bounds each read, so a body sent a byte at a time would otherwise never end)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._timer: threading.Timer | None = None
        self._conn: Any = None

    def arm(self, conn: Any) -> None:
        """Start the clock for one attempt on ``conn`` (called as the request is sent)."""
        with _owner_lock:
            if self.expired:  # no new attempt once the deadline has passed
                raise TimeoutError("the request deadline has passed")
            if self._timer is not None:
                self._timer.cancel()
            self._conn = conn
            conn._cekura_watch = self
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        with _owner_lock:
            conn = self._conn
            if conn is None or getattr(conn, "_cekura_watch", None) is not self:
                return  # finished, or the connection already serves another request
            self.expired = True
            sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> None:
        """The request is over: stop the clock."""
        with _owner_lock:
            if self._timer is not None:
                self._timer.cancel()
            if self._conn is not None and getattr(self._conn, "_cekura_watch", None) is self:
                self._conn._cekura_watch = None
            self._conn = None


class _Watched:
    """Mixin for urllib3 connections: each request sent arms the caller's watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch: _Watchdog | None = getattr(_local, "watch", None)
        if watch is not None:
            watch.arm(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter on connections that honour the per-attempt deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool manager, building watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """An HTTP(S) proxy's manager, also on watched pools (SOCKS keeps its own)."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def decode_json(raw: bytes, where: str) -> Any:
    """Parse a JSON body; a body nested deeper than the parser's recursion limit is a
    one-line ResponseError (ValueError still means not JSON at all)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ResponseError(
            f"{where}: the JSON body is nested too deep to parse (over ~1000 levels): "
            "that is no Cekura answer; check --base-url, or report it if it persists"
        ) from None


class CekuraClient:
    """A typed, thread-safe client for the Cekura API."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        concurrency: int = EXTRACT_CONCURRENCY,
        retry: Retry | None = None,
        api_version: str = "auto",
        deadline: float = DEADLINE,
        retry_after_max: float = RETRY_AFTER_MAX,
    ) -> None:
        if api_version not in API_VERSIONS:
            raise ConfigError(
                f"--api-version {api_version!r} is not one of {', '.join(API_VERSIONS)}"
            )
        self.api_version = api_version
        #: the version reads actually use: None until a v2 read answered (auto mode)
        self.resolved_version: str | None = None if api_version == "auto" else api_version
        self.settings = settings or load_settings()
        self.base_url = self.settings.base_url
        #: the only origin the key is sent to
        self.home = origin(self.base_url)
        self.timeout = timeout
        self.deadline = deadline
        self.concurrency = max(1, concurrency)
        self.session = session or requests.Session()
        adapter = WatchedAdapter(
            max_retries=retry or make_retry(retry_after_max=retry_after_max),
            pool_connections=4,
            pool_maxsize=self.concurrency + 4,
        )
        self.retry_after_max = float(adapter.max_retries.retry_after_max)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # never a session header: requests keeps those on a redirect to another host
        self.session.headers.pop(KEY_HEADER, None)
        self.session.auth = HomeKeyAuth(self.settings.api_key, self.home)
        self.session.headers.setdefault("Accept", "application/json")
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self.requests_made: Counter[str] = Counter()
        #: the server's clock: the ``Date`` header of the latest answer (None: none sent)
        self.server_date: datetime | None = None

    # -- API versions ------------------------------------------------------------------
    def read_path(self, resource: str) -> str:
        """The path of a read: ``"runs/"`` -> ``/test_framework/v2/runs/`` (or v1)."""
        resource = resource.lstrip("/")
        version = "v1" if resource not in V2_READS else (self.resolved_version or "v2")
        return f"/test_framework/{version}/{resource}"

    def read(self, resource: str, params: dict[str, Any] | None = None) -> Any:
        """GET a collection by resource name on the API version in use (auto: v2, else v1)."""
        resource = resource.lstrip("/")
        path = self.read_path(resource)
        try:
            body = self.get(path, params)
        except NotFoundError:
            if self.api_version != "auto" or self.resolved_version or resource not in V2_READS:
                raise
            with self._lock:
                if self.resolved_version is None:
                    self.resolved_version = "v1"
                    log.warning(
                        "this server has no v2 reads (404 on GET %s): reading v1 instead "
                        "(remembered for this data dir; --api-version v2 to insist)",
                        path,
                    )
            return self.get(self.read_path(resource), params)
        if resource in V2_READS and self.resolved_version is None:
            with self._lock:
                self.resolved_version = self.resolved_version or "v2"
        return body

    # -- single requests ---------------------------------------------------------------
    def url(self, path: str) -> str:
        """Absolute URL for an API path (``/runs/`` -> v1, or a full ``/test_framework/...``);
        an absolute URL must be on the home origin (the key goes nowhere else)."""
        if path.startswith(("http://", "https://")):
            self._check_home(path, "link")
            return path
        if not path.startswith("/test_framework/"):
            path = API_PREFIX + path
        return self.base_url + path

    def _check_home(self, url: str, what: str, where: str = "") -> None:
        """Raise :class:`OffHostError` when ``url`` is not on the home origin."""
        there = origin(url)
        if there != self.home:
            where = where or f"GET {urlsplit(url).path}"
            raise OffHostError(
                f"{where}: the server sent a {what} to {_show(there)}, not to "
                f"{_show(self.home)}; not followed (the API key goes to that origin only): "
                "check --base-url (has the API moved?) or report it"
            )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return the decoded JSON body, or raise a typed error."""
        url = self.url(path)
        where = f"{method} {urlsplit(url).path}"
        # A body cut short by the network or a proxy is retried like a 5xx (GET only).
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            resp = self._send(method, url, where, **kwargs)
            if resp is None:  # body cut short
                if attempt < attempts - 1:
                    continue
                raise ResponseError(
                    f"{where}: the response body was cut short after {attempts} attempts; "
                    "nothing was written for this request, rerun to resume"
                )
            if resp.status_code >= 400:
                raise _api_error(resp, where, method, self.retry_after_max)
            try:
                return decode_json(resp.content, where)
            except ValueError:
                if attempt == attempts - 1:
                    raise ResponseError(
                        f"{where}: the response body is not valid JSON "
                        f"({len(resp.content)} bytes, truncated?) after {attempts} attempts; "
                        "nothing was written for this request, rerun to resume"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, where: str, **kwargs: Any) -> requests.Response | None:
        """One exchange, following same-origin redirects by hand (at most
        :data:`MAX_REDIRECTS`); None when the body was cut short."""
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._exchange(method, url, where, **kwargs)
            if resp is None or not resp.is_redirect:
                return resp
            target = urljoin(url, resp.headers["Location"])
            self._check_home(target, f"redirect ({resp.status_code})", where)
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method != "GET"):
                method = "GET"  # what browsers do; the body is not sent again
                kwargs = {k: v for k, v in kwargs.items() if k not in ("json", "data")}
            kwargs.pop("params", None)  # the Location carries its own query
            url = target
        raise ResponseError(
            f"{where}: more than {MAX_REDIRECTS} redirects; check --base-url or report it"
        )

    def _exchange(
        self, method: str, url: str, where: str, **kwargs: Any
    ) -> requests.Response | None:
        """One HTTP exchange under the deadline; typed errors for what never answered."""
        watch = _Watchdog(self.deadline)
        _local.watch = watch
        try:
            with self._slots:
                resp = self.session.request(
                    method, url, timeout=self.timeout, allow_redirects=False, **kwargs
                )
        except requests.exceptions.RequestException as exc:
            if watch.expired:
                raise ConnectError(
                    f"{where}: {self.base_url} sent no complete answer within the "
                    f"{self.deadline:.0f} s deadline per request (a stalled or trickling "
                    "server); rerun later"
                ) from None
            if isinstance(exc, requests.exceptions.Timeout):
                raise ConnectError(
                    f"{where}: {self.base_url} did not answer within {self.timeout[1]:.0f} s"
                ) from None
            if isinstance(exc, requests.exceptions.ConnectionError):
                raise ConnectError(
                    f"{where}: cannot reach {self.base_url} ({_reason(exc)}); "
                    "check --base-url / CEKURA_BASE_URL and your network"
                ) from None
            if isinstance(exc, requests.exceptions.ChunkedEncodingError):
                return None
            raise ConnectError(
                f"{where}: {type(exc).__name__} talking to {self.base_url}"
            ) from None
        finally:
            _local.watch = None
            watch.disarm()
        date = _http_date(resp.headers.get("Date"))
        with self._lock:
            self.requests_made[urlsplit(url).path] += 1
            if date is not None:
                self.server_date = date
        return resp

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` with query ``params``; returns decoded JSON."""
        return self.request("GET", path, params=_clean(params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body; returns decoded JSON."""
        return self.request("POST", path, json=body)

    # -- paging ------------------------------------------------------------------------
    def listing(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Listing:
        """A :class:`Listing` of a paginated collection (nothing is fetched yet)."""
        return Listing(self, resource, params, page_size)

    def iter_pages(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Yield pages one by one, following the ``next`` links (sequential, loop-checked)."""
        for _, page in self.listing(resource, params, page_size).walk():
            yield page

    def iter_pages_concurrently(
        self,
        resource: str,
        params: dict[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        first: dict[str, Any] | None = None,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(page_no, page)``: page 1, the planned pages concurrently as they land,
        then the server's ``next`` links past them (see :meth:`Listing.planned`)."""
        return self.listing(resource, params, page_size).planned(first)

    def fetch_all(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every item of a paginated collection, deduplicated by id, complete by identity.

        Walked as :class:`Listing` says (re-walked while distinct ids fall short of
        ``count``); still short is an :class:`~cekura_analytics.errors.IncompleteError`
        naming the numbers.
        """
        listing = self.listing(resource, params, page_size)
        items: list[Any] = []
        for pages in listing.passes():
            items.extend(item for _, page in pages for item in page["results"])
            items = _by_id(items)
        listing.check()
        return items

    def map_concurrently(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        ordered: bool = False,
        window: int | None = None,
    ) -> Iterator[R]:
        """Apply ``fn`` over ``items`` on ``concurrency`` threads with a bounded window.

        Results come as they complete (or in input order with ``ordered=True``); at most
        ``window`` (default ``2 × concurrency``) items are in flight, so memory stays flat.
        Items are pulled from ``items`` on the caller's thread.
        """
        return bounded_map(
            fn, items, workers=self.concurrency, window=window or 2 * self.concurrency,
            ordered=ordered,
        )  # fmt: skip

    def bulk_runs(self, run_ids: list[int]) -> list[dict[str, Any]]:
        """Full runs for ``run_ids`` via ``runs/bulk/``, in batches of 100, concurrently."""
        batches = [run_ids[i : i + BULK_LIMIT] for i in range(0, len(run_ids), BULK_LIMIT)]
        out: list[dict[str, Any]] = []
        for chunk in self.map_concurrently(self._bulk_batch, batches, ordered=True):
            out.extend(chunk)
        return out

    def _bulk_batch(self, ids: list[int]) -> list[dict[str, Any]]:
        body = self.read("runs/bulk/", {"run_ids": ",".join(str(i) for i in ids)})
        if not isinstance(body, list):
            raise ResponseError(
                f"GET {self.read_path('runs/bulk/')}: expected a JSON array of runs"
            )
        return body

    def close(self) -> None:
        """Close the underlying session's connections."""
        self.session.close()

    def __enter__(self) -> CekuraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _by_id(items: Iterable[Any]) -> list[Any]:
    """Items deduplicated by ``id`` (last wins), items without an id kept as they are."""
    keyed: dict[Any, Any] = {}
    for n, item in enumerate(items):
        key = item.get("id") if isinstance(item, dict) else None
        keyed[("id", key) if key is not None else ("n", n)] = item
    return list(keyed.values())


def _page(body: Any, resource: str) -> dict[str, Any]:
    """A Django-REST page, or a one-line error saying what arrived instead."""
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("results"), list)
        or body.get("count") is None
    ):
        raise ResponseError(
            f"GET {resource}: expected a page with count and results, got "
            f"{type(body).__name__}; the API may have changed: please report it"
        )
    _count(body, resource)
    return body


def _count(page: dict[str, Any], resource: str) -> int:
    """A page's ``count`` (the service may send it as a string), or a one-line error."""
    try:
        return max(0, int(page["count"]))
    except (TypeError, ValueError):
        raise ResponseError(
            f"GET {resource}: the page's count {str(page['count'])[:40]!r} is not a number; "
            "the API may have changed: please report it"
        ) from None


def planned_pages(first: dict[str, Any], resource: str) -> int:
    """How many pages a collection has, from page 1's own length (not the size asked for)."""
    count = _count(first, resource)
    got = len(first["results"])
    if count and not got:
        raise IncompleteError(
            f"GET {resource}: the server says count={count} but page 1 is empty; "
            "nothing was written for it: rerun, or report it if it persists"
        )
    return max(1, -(-count // got)) if got else 1


def _iso(ts: datetime) -> str:
    """An aware datetime as the API's ISO form (UTC, ``Z``, microseconds kept)."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _canonical(url: str) -> str:
    """A URL with its query sorted: two spellings of one page compare equal."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}?{query}"


def _page_no(url: str) -> int | None:
    """The ``page`` number a link asks for (None: no page parameter, e.g. a cursor)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "page":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


#: re-walks of a collection whose distinct ids fall short of its count
MAX_REWALKS = 3
#: pages a walk may take beyond twice what its count plans (a count that under-reports)
PAGE_SLACK = 10


class Listing:
    """One paginated collection, walked until the distinct ids received cover its ``count``.

    Completeness is by identity: ids repeated across pages (unstable ordering under ties)
    count once, so a listing that repeats 20 ids and skips 20 others is short, not whole.

    - :meth:`planned`: page 1, then pages 2..N planned from ``count`` and page 1's own
      length, fetched concurrently and *lazily* (a ``count`` of 10**12 plans nothing up
      front); the plan stops at the first page past the real end (404 or empty) or a page
      holding only ids already seen; then the ``next`` link of the last page is followed,
      since a ``count`` that under-reports leaves pages past the plan.
    - :meth:`walk`: page 1 and its ``next`` links, one by one.
    - :meth:`passes`: the planned walk, then re-walks while ids are missing and a re-walk
      still brings new ones (at most :data:`MAX_REWALKS`); :meth:`check` then raises
      :class:`IncompleteError` with the numbers.

    Bounds: a walk takes at most ``2 × pages(count) + PAGE_SLACK`` pages (pages as long as
    the shortest seen in the walk); a ``next`` link back to a page of the same walk (or to
    itself), or a page repeating the one before it, is a :class:`ResponseError`, not a loop.
    The ``count`` compared is the largest any page of the latest walk reported (rows
    inserted mid-walk raise it).
    """

    def __init__(
        self,
        client: CekuraClient,
        resource: str,
        params: dict[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self.client = client
        self.resource = resource
        self.base = {**(params or {}), "page_size": page_size}
        self.seen: set[Any] = set()
        self.anonymous = 0  # items without an id: each counts once
        self.repeats = 0  # ids received twice within the first walk
        self.count = 0
        self.walks = 0
        self.pages = 0
        self._size = 1  # rows on the shortest page of the latest walk

    @property
    def where(self) -> str:
        """``GET <path>`` of the collection (after an auto v2 -> v1 fallback, the v1 path)."""
        return f"GET {self.client.read_path(self.resource)}"

    @property
    def distinct(self) -> int:
        """Distinct items received over every walk."""
        return len(self.seen) + self.anonymous

    @property
    def short(self) -> bool:
        """Fewer distinct items than the latest walk's ``count``."""
        return self.distinct < self.count

    def first(self) -> dict[str, Any]:
        """Page 1 (fetched, checked to be a page)."""
        return self._fetch(1)

    def _fetch(self, page_no: int) -> dict[str, Any]:
        body = self.client.read(self.resource, {**self.base, "page": page_no})
        return _page(body, self.resource)

    def _begin(self, first: dict[str, Any]) -> None:
        self.walks += 1
        self.count = 0
        self._size = max(1, len(first["results"]))

    def _take(self, page: dict[str, Any]) -> tuple[list[Any], int]:
        """Record a page: its ids and how many of them are new."""
        ids: list[Any] = []
        new = 0
        for item in page["results"]:
            key = item.get("id") if isinstance(item, dict) else None
            if key is None:
                self.anonymous += 1
                new += 1
                continue
            ids.append(key)
            if key in self.seen:
                self.repeats += self.walks == 1
            else:
                self.seen.add(key)
                new += 1
        self.pages += 1
        self.count = max(self.count, _count(page, self.resource))
        if page["results"]:  # the cap follows the shortest page: pages may shrink after page 1
            self._size = min(self._size, len(page["results"]))
        return ids, new

    def _cap(self) -> int:
        return 2 * -(-self.count // self._size) + PAGE_SLACK

    def planned(
        self, first: dict[str, Any] | None = None, window: int | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The first walk: page 1, the planned pages concurrently (lazily), then ``next``."""
        first = first if first is not None else self.first()
        self._begin(first)
        ids, _ = self._take(first)
        yield 1, first
        end = min(planned_pages(first, self.where.removeprefix("GET ")), self._cap())

        def numbers() -> Iterator[int]:
            p = 2
            while p <= end:  # read as each number is pulled: the plan shrinks as pages land
                yield p
                p += 1

        def fetch(p: int) -> tuple[int, dict[str, Any] | None]:
            try:
                return p, self._fetch(p)
            except NotFoundError:  # past the real end: the count over-reports
                return p, None

        last_no, last, last_ids = 1, first, ids
        for p, page in self.client.map_concurrently(fetch, numbers(), window=window):
            if page is None or not page["results"]:
                end = min(end, p - 1)
                continue
            page_ids, new = self._take(page)
            if not new:  # only ids already seen: the server repeats itself past the end
                end = min(end, p)
            if p > last_no:
                last_no, last, last_ids = p, page, page_ids
            yield p, page
        yield from self._follow(last_no, last, last_ids)

    def walk(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """A walk by ``next`` links from page 1, one page at a time."""
        first = self.first()
        self._begin(first)
        ids, _ = self._take(first)
        yield 1, first
        yield from self._follow(1, first, ids)

    def _follow(
        self, page_no: int, page: dict[str, Any], ids: list[Any]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Follow ``next`` links from ``page`` (number ``page_no``), loop-checked, capped."""
        visited: set[str] = set()
        while page.get("next"):
            url = str(page["next"])
            back = _page_no(url)
            if _canonical(url) in visited or (back is not None and back <= page_no):
                raise ResponseError(
                    f"{self.where}: the next link of page {page_no} points back to page "
                    f"{back if back is not None else '?'} (a paging loop); stopped after "
                    f"{self.pages} pages, nothing of it marked complete: report it"
                )
            if page_no >= self._cap():
                raise ResponseError(
                    f"{self.where}: next links go on past {page_no} pages although "
                    f"count={self.count} fits in {-(-self.count // self._size)}; stopped "
                    "(a paging loop?), nothing of it marked complete: report it"
                )
            visited.add(_canonical(url))
            page = _page(self.client.get(url), self.resource)
            page_no += 1
            page_ids, _ = self._take(page)
            if page_ids and page_ids == ids:
                raise ResponseError(
                    f"{self.where}: page {page_no} repeats page {page_no - 1} (a paging loop); "
                    f"stopped after {self.pages} pages, nothing of it marked complete: report it"
                )
            ids = page_ids
            yield page_no, page

    def passes(
        self, first: dict[str, Any] | None = None, window: int | None = None
    ) -> Iterator[Iterator[tuple[int, dict[str, Any]]]]:
        """The walks to make, each to be consumed before the next is asked for: the
        planned walk, then re-walks while ids are missing and the last walk brought some."""
        yield self.planned(first, window)
        for _ in range(MAX_REWALKS):
            if not self.short:
                return
            log.warning(
                "%s: %d distinct ids of count=%d arrived (%d repeated across pages); "
                "following next links again",
                self.where,
                self.distinct,
                self.count,
                self.repeats,
            )
            before = self.distinct
            yield self.walk()
            if self.distinct == before:
                return  # stable: another walk would bring nothing either

    def slices(
        self, lower: datetime | None, upper: datetime, field: str = "timestamp"
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The fallback when walks stay short: the collection listed again in slices of
        ``field`` (``field__gte`` .. ``field__lte``) halved until each fits on one page.

        One page has no page boundary, so no unstable order of ties can repeat or skip a
        row across it: the ids are the server's own, which the caller diffs against what
        it has and fetches by id. Slices are pages of the same walk count; the requests are
        capped at ``4 × pages(distinct ids seen) + 64``, whatever ``count`` claims (slices
        of a count that lies high never fit), after which :meth:`check` says what is
        missing.
        """
        base = {k: v for k, v in self.base.items() if k not in (f"{field}__gte", f"{field}__lte")}
        budget = 4 * -(-self.distinct // self._size) + 64
        stack = [(lower or datetime(1970, 1, 1, tzinfo=UTC), upper)]
        tick = timedelta(microseconds=1)
        made = 0
        while stack and made < budget:
            lo, hi = stack.pop()
            made += 1
            window = {f"{field}__gte": _iso(lo), f"{field}__lte": _iso(hi), "page": 1}
            page = _page(self.client.read(self.resource, {**base, **window}), self.resource)
            if _count(page, self.resource) > len(page["results"]) and hi - lo > tick:
                mid = lo + (hi - lo) / 2
                stack += [(mid + tick, hi), (lo, mid)]  # older half first
                continue
            self._take(page)
            yield made, page

    def check(self) -> None:
        """Raise :class:`IncompleteError` when the distinct ids fall short of ``count``."""
        if self.short:
            repeated = f", {self.repeats} repeated across pages" if self.repeats else ""
            raise IncompleteError(
                f"{self.where}: the server reported count={self.count} but {self.distinct} "
                f"distinct ids arrived ({self.count - self.distinct} missing{repeated}) "
                f"after {self.walks} walk(s) of its pages; nothing past what was stored is "
                "marked complete: rerun, or report it if it persists"
            )


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop ``None`` values so optional filters can be passed through blindly."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _reason(exc: Exception) -> str:
    """A short cause for a connection error, without the urllib3 object dump."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower()
    if "NameResolutionError" in text or "Failed to resolve" in text:
        return "unknown host"
    return type(exc).__name__


def _http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _retry_hint(resp: requests.Response, cap: float) -> str:
    """``"; the server asks to wait 27.8 h (until …Z), more than …: rerun then"`` when its
    Retry-After is over ``cap`` (the retries stopped for it), else ``""``."""
    wait = retry_after_seconds(resp.headers.get("Retry-After"))
    if wait is None or wait <= cap:
        return ""
    until = (datetime.now(UTC) + timedelta(seconds=wait)).replace(microsecond=0)
    span = (
        f"{wait:.0f} s"
        if wait < 120
        else f"{wait / 60:.0f} min"
        if wait < 7200
        else (f"{wait / 3600:.1f} h")
    )
    return (
        f"; the server asks to wait {span} (until {until.isoformat().replace('+00:00', 'Z')}), "
        "more than this client waits: rerun then (what was committed is kept)"
    )


def _api_error(
    resp: requests.Response, where: str, method: str, retry_after_max: float = RETRY_AFTER_MAX
) -> ApiError:
    """Map an error response to the typed hierarchy with a one-line message."""
    try:
        body: Any = json.loads(resp.content) if resp.content else None
    except (ValueError, RecursionError):
        body = None
    detail = ""
    if isinstance(body, dict):
        raw = body.get("detail") or body.get("error") or json.dumps(body)[:200]
        detail = f": {' '.join(str(raw).split())[:300]}"
    status = resp.status_code
    kw: dict[str, Any] = {"status": status, "method": method, "path": where, "body": body}
    if status in (401, 403):
        return AuthError(
            f"{where}: the API rejected the key ({status}){detail}; check CEKURA_API_KEY", **kw
        )
    if status == 404:
        return NotFoundError(f"{where}: not found (404){detail}; check --base-url and the id", **kw)
    if status in (400, 422):
        return BadRequestError(f"{where}: request rejected ({status}){detail}", **kw)
    hint = _retry_hint(resp, retry_after_max)
    if status == 429:
        return RateLimitedError(
            f"{where}: rate-limited (429){hint}"
            if hint
            else f"{where}: still rate-limited after retries (429); try again later or lower "
            "--concurrency",
            **kw,
        )
    if status >= 500:
        return ServerError(f"{where}: server error {status} persisted after retries{hint}", **kw)
    return ApiError(f"{where}: unexpected status {status}{detail}", **kw)


# -- a bounded thread map: a function over many items, a bounded number in flight ----------
_SENTINEL: Any = object()


def bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int,
    ordered: bool = False,
) -> Iterator[R]:
    """Apply ``fn`` over ``items`` on ``workers`` threads, at most ``window`` in flight.

    Results come as they complete (or in input order with ``ordered=True``), so memory stays
    flat; items are pulled from ``items`` on the caller's thread. The first error of ``fn``
    cancels what is queued and is raised; an error pulling ``items`` (a paging loop found
    while pages are being processed) ends the input: what is in flight completes and is
    yielded first, so the caller can keep it, then the error is raised.
    """
    it = iter(items)
    failure: Exception | None = None

    def pull() -> Any:
        nonlocal failure
        if failure is not None:
            return _SENTINEL
        try:
            return next(it, _SENTINEL)
        except Exception as exc:  # raised below, after the work in flight
            failure = exc
            return _SENTINEL

    with ThreadPoolExecutor(min(window, workers), thread_name_prefix="cekura") as pool:
        pending: dict[Future[R], int] = {}
        seq = 0
        while len(pending) < window and (item := pull()) is not _SENTINEL:
            pending[pool.submit(fn, item)] = seq
            seq += 1
        buffered: dict[int, R] = {}
        next_out = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                idx = pending.pop(fut)
                try:
                    result = fut.result()
                except BaseException:
                    for other in pending:
                        other.cancel()
                    raise
                if ordered:
                    buffered[idx] = result
                else:
                    yield result
                item_next = pull()
                if item_next is not _SENTINEL:
                    pending[pool.submit(fn, item_next)] = seq
                    seq += 1
            while ordered and next_out in buffered:
                yield buffered.pop(next_out)
                next_out += 1
    if failure is not None:
        raise failure
