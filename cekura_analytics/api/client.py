"""HTTP access to the Cekura API: auth, timeouts, retries, typed errors, paging, concurrency.

Reads of runs, runs/bulk, results, agents and metrics go to ``/test_framework/v2/`` where the
server has it (v1 reads of runs and results are deprecated since July 2026); scenarios,
personalities and the job endpoints stay on v1. With ``api_version="auto"`` the first 404 on a
v2 collection switches every v2 read to v1 once, with a one-line warning. Paging never trusts
the ``page_size`` it asked for: pages are planned from what page 1 returned, and
:meth:`CekuraClient.fetch_all` checks the rows against ``count`` (then follows ``next``).

One :class:`CekuraClient` wraps an injectable ``requests.Session``. Retries are urllib3's
:class:`~urllib3.util.retry.Retry` (exponential backoff, ``Retry-After`` honoured) for
429/5xx on GET; a POST is retried only on 429, when the server did nothing. Every request
holds one of ``concurrency`` slots, so however many threads the callers use, at most that
many requests are in flight.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
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
T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


class CekuraRetry(Retry):
    """urllib3 Retry that retries a POST only on 429: a 5xx may mean the job was created."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether to retry this status for this method."""
        if method.upper() == "POST":
            return status_code == 429 and bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)


def make_retry(total: int = 6, backoff_factor: float = 0.3) -> Retry:
    """The retry policy: 429/5xx with exponential backoff capped at 30 s, Retry-After first."""
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
        raise_on_status=False,
    )


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
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.session = session or requests.Session()
        adapter = HTTPAdapter(
            max_retries=retry or make_retry(),
            pool_connections=4,
            pool_maxsize=self.concurrency + 4,
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers[KEY_HEADER] = self.settings.api_key
        self.session.headers.setdefault("Accept", "application/json")
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self.requests_made: Counter[str] = Counter()

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
        """Absolute URL for an API path (``/runs/`` -> v1, or a full ``/test_framework/...``)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/test_framework/"):
            path = API_PREFIX + path
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return the decoded JSON body, or raise a typed error."""
        url = self.url(path)
        where = f"{method} {urlsplit(url).path}"
        # A body cut short by the network or a proxy is retried like a 5xx (GET only).
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            with self._slots:
                try:
                    resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
                except requests.exceptions.Timeout:
                    raise ConnectError(
                        f"{where}: {self.base_url} did not answer within {self.timeout[1]:.0f} s"
                    ) from None
                except requests.exceptions.ConnectionError as exc:
                    raise ConnectError(
                        f"{where}: cannot reach {self.base_url} ({_reason(exc)}); "
                        "check --base-url / CEKURA_BASE_URL and your network"
                    ) from None
            with self._lock:
                self.requests_made[urlsplit(url).path] += 1
            if resp.status_code >= 400:
                raise _api_error(resp, where, method)
            try:
                return resp.json()
            except (ValueError, requests.exceptions.ChunkedEncodingError):
                if attempt == attempts - 1:
                    raise ResponseError(
                        f"{where}: the response body is not valid JSON "
                        f"({len(resp.content)} bytes, truncated?) after {attempts} attempts; "
                        "nothing was written for this request, rerun to resume"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` with query ``params``; returns decoded JSON."""
        return self.request("GET", path, params=_clean(params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body; returns decoded JSON."""
        return self.request("POST", path, json=body)

    # -- paging ------------------------------------------------------------------------
    def iter_pages(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Yield pages one by one, following the absolute ``next`` URL (sequential)."""
        page = _page(self.read(resource, {**(params or {}), "page_size": page_size}), resource)
        while True:
            yield page
            if not page.get("next"):
                return
            page = _page(self.get(page["next"]), resource)

    def first_page(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> dict[str, Any]:
        """Page 1 of a collection (checked to be a page)."""
        body = self.read(resource, {**(params or {}), "page": 1, "page_size": page_size})
        return _page(body, resource)

    def iter_pages_concurrently(
        self,
        resource: str,
        params: dict[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        skip: Iterable[int] = (),
        first: dict[str, Any] | None = None,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(page_no, page)``: page 1 first, then the rest concurrently as they land.

        The pages are planned from how many rows page 1 *returned* (a server may send fewer
        than ``page_size``), with ``count``. ``skip`` names pages already processed (resume);
        ``first`` is page 1 if the caller fetched it already.
        """
        base = {**(params or {}), "page_size": page_size}
        first = first or self.first_page(resource, params, page_size)
        n_pages = planned_pages(first, resource)
        done = set(skip)
        if 1 not in done:
            yield 1, first
        rest = [p for p in range(2, n_pages + 1) if p not in done]
        yield from self.map_concurrently(
            lambda p: (p, _page(self.read(resource, {**base, "page": p}), resource)),
            rest,
            ordered=False,
        )

    def fetch_all(
        self, resource: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every item of a paginated collection, deduplicated by id, checked against ``count``.

        Pages come concurrently; if they hold fewer distinct items than ``count`` the
        collection is walked again by ``next`` links; still short is an
        :class:`~cekura_analytics.errors.IncompleteError` naming the shortfall.
        """
        pages = sorted(self.iter_pages_concurrently(resource, params, page_size), key=_first)
        count = int(pages[0][1]["count"])
        items = _by_id(item for _, page in pages for item in page["results"])
        if len(items) < count:
            log.warning(
                "GET %s: %d of %d rows arrived on planned pages; following next links",
                self.read_path(resource),
                len(items),
                count,
            )
            walked = [
                i for page in self.iter_pages(resource, params, page_size) for i in page["results"]
            ]
            items = _by_id([*items, *walked])
        check_complete(len(items), count, self.read_path(resource))
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


def _first(item: tuple[int, Any]) -> int:
    return item[0]


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
    return body


def planned_pages(first: dict[str, Any], resource: str) -> int:
    """How many pages a collection has, from page 1's own length (not the size asked for)."""
    count = int(first["count"])
    got = len(first["results"])
    if count and not got:
        raise IncompleteError(
            f"GET {resource}: the server says count={count} but page 1 is empty; "
            "nothing was written for it: rerun, or report it if it persists"
        )
    return max(1, -(-count // got)) if got else 1


def check_complete(received: int, count: int, where: str) -> None:
    """Raise :class:`IncompleteError` when fewer rows arrived than the server's ``count``."""
    if received < count:
        raise IncompleteError(
            f"GET {where}: the server reported count={count} but {received} rows arrived "
            f"({count - received} missing) even by following its next links; nothing from "
            "this listing was marked complete: rerun, or report it if it persists"
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


def _api_error(resp: requests.Response, where: str, method: str) -> ApiError:
    """Map an error response to the typed hierarchy with a one-line message."""
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    detail = ""
    if isinstance(body, dict):
        raw = body.get("detail") or body.get("error") or json.dumps(body)[:200]
        detail = f": {raw}"
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
    if status == 429:
        return RateLimitedError(
            f"{where}: still rate-limited after retries (429); try again later or lower "
            "--concurrency",
            **kw,
        )
    if status >= 500:
        return ServerError(f"{where}: server error {status} persisted after retries", **kw)
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
    flat; items are pulled from ``items`` on the caller's thread; the first error cancels
    what is queued and is raised.
    """
    it = iter(items)
    with ThreadPoolExecutor(min(window, workers), thread_name_prefix="cekura") as pool:
        pending: dict[Future[R], int] = {}
        seq = 0
        for item in it:
            pending[pool.submit(fn, item)] = seq
            seq += 1
            if len(pending) >= window:
                break
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
                item_next = next(it, _SENTINEL)
                if item_next is not _SENTINEL:
                    pending[pool.submit(fn, item_next)] = seq
                    seq += 1
            while ordered and next_out in buffered:
                yield buffered.pop(next_out)
                next_out += 1
