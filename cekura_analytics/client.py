"""HTTP access to the Cekura API: auth, timeouts, retries, typed errors, paging, concurrency.

One :class:`CekuraClient` wraps an injectable ``requests.Session``. Retries are urllib3's
:class:`~urllib3.util.retry.Retry` (exponential backoff, ``Retry-After`` honoured) for
429/5xx on GET; a POST is retried only on 429, when the server did nothing. Every request
holds one of ``concurrency`` slots, so however many threads the callers use, at most that
many requests are in flight.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import Settings, load_settings
from .errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConnectError,
    NotFoundError,
    RateLimitedError,
    ResponseError,
    ServerError,
)

API_PREFIX = "/test_framework/v1"
KEY_HEADER = "X-CEKURA-API-KEY"
MAX_PAGE_SIZE = 500
BULK_LIMIT = 100
T = TypeVar("T")
R = TypeVar("R")


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
        concurrency: int = 8,
        retry: Retry | None = None,
    ) -> None:
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

    # -- single requests ---------------------------------------------------------------
    def url(self, path: str) -> str:
        """Absolute URL for an API path (``/runs/`` or a full ``/test_framework/...`` path)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith(API_PREFIX):
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

    @property
    def total_requests(self) -> int:
        """How many HTTP responses this client has received (excluding retried ones)."""
        with self._lock:
            return sum(self.requests_made.values())

    # -- paging ------------------------------------------------------------------------
    def iter_pages(
        self, path: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Yield pages one by one, following the absolute ``next`` URL (sequential)."""
        page = self.get(path, {**(params or {}), "page_size": page_size})
        while True:
            yield page
            if not page.get("next"):
                return
            page = self.get(page["next"])

    def iter_pages_concurrently(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        skip: Iterable[int] = (),
        first: dict[str, Any] | None = None,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(page_no, page)``: page 1 first, then the rest concurrently as they land.

        ``skip`` names pages already processed (resume); ``first`` is page 1 if the caller
        fetched it already.
        """
        base = {**(params or {}), "page_size": page_size}
        first = first or self.get(path, {**base, "page": 1})
        n_pages = max(1, -(-int(first["count"]) // page_size))
        done = set(skip)
        if 1 not in done:
            yield 1, first
        rest = [p for p in range(2, n_pages + 1) if p not in done]
        yield from self.map_concurrently(
            lambda p: (p, self.get(path, {**base, "page": p})), rest, ordered=False
        )

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
        window = window or self.concurrency * 2
        it = iter(items)
        with ThreadPoolExecutor(min(window, self.concurrency), thread_name_prefix="cekura") as pool:
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

    def bulk_runs(self, run_ids: list[int]) -> list[dict[str, Any]]:
        """Full runs for ``run_ids`` via ``runs/bulk/``, in batches of 100, concurrently."""
        batches = [run_ids[i : i + BULK_LIMIT] for i in range(0, len(run_ids), BULK_LIMIT)]
        out: list[dict[str, Any]] = []
        for chunk in self.map_concurrently(self._bulk_batch, batches, ordered=True):
            out.extend(chunk)
        return out

    def _bulk_batch(self, ids: list[int]) -> list[dict[str, Any]]:
        body = self.get("/runs/bulk/", {"run_ids": ",".join(str(i) for i in ids)})
        if not isinstance(body, list):
            raise ResponseError("GET /runs/bulk/: expected a JSON array of runs")
        return body

    def close(self) -> None:
        """Close the underlying session's connections."""
        self.session.close()

    def __enter__(self) -> CekuraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SENTINEL: Any = object()


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
