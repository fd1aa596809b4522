"""Mock configuration, request statistics, and the ASGI middleware that checks the API key
and injects faults (latency, 500s, 429s, truncated bodies, unknown extra fields).

Order for an API request (paths under ``/test_framework/``): count it in the stats, sleep
``latency_ms`` (``asyncio.sleep``, so concurrent requests overlap), then the rate limit (429),
then a random 500, then the API-key check (401), then the endpoint; truncation and extra
fields rewrite the endpoint's answer. ``fault_paths`` limits the *random* faults (429, 500,
truncation) to path prefixes; latency and extra fields apply to every API path. ``/_mock/*``
is never faulted, counted or key-checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/test_framework/"
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")
EXTRA_FIELDS = {"x_mock_drift": "unexpected", "x_mock_drift_obj": {"added_in": "2026-09"}}


@dataclass
class MockConfig:
    """Everything the mock can be told; mutable at runtime (read on every request)."""

    api_key: str = "test-key"
    seed: int = 0
    runs: int = 1000
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit_rps: float = 0.0  # 0 = unlimited
    truncate_rate: float = 0.0
    extra_fields: bool = False
    arrivals_per_list: int = 0
    fault_paths: list[str] | None = None
    job_polls_to_finish: int = 2
    job_seconds_to_finish: float | None = None
    job_fail_rate: float = 0.0
    job_stuck_rate: float = 0.0
    job_empty_rate: float = 0.0
    job_hash_failures: bool = True  # ~10 % of distinct job inputs fail deterministically
    max_page_size: int = 100  # larger page_size requests are capped (fewer rows than asked)
    v2_reads: bool = True  # False: the /test_framework/v2/ reads answer 404 (an older server)
    improve_prompt_endpoints: bool = True  # False: runs/improve_prompt* answer 404 (removed)

    #: fields ``POST /_mock/faults`` may change (the data shape and key are fixed at start)
    RUNTIME: ClassVar[tuple[str, ...]] = (
        "latency_ms", "fail_rate", "rate_limit_rps", "truncate_rate", "extra_fields",
        "arrivals_per_list", "fault_paths", "job_polls_to_finish", "job_seconds_to_finish",
        "job_fail_rate", "job_stuck_rate", "job_empty_rate", "job_hash_failures",
        "max_page_size", "v2_reads", "improve_prompt_endpoints",
    )  # fmt: skip

    def faults(self) -> dict[str, Any]:
        """The runtime-settable fields and their current values."""
        return {k: v for k, v in asdict(self).items() if k in self.RUNTIME}

    def update(self, changes: dict[str, Any]) -> None:
        """Validate and apply runtime changes; raises ValueError naming the bad field."""
        types = {f.name: f.type for f in fields(self)}
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in self.RUNTIME:
                raise ValueError(f"{key}: unknown or not settable at runtime")
            kind = str(types[key])
            if value is None and "None" in kind:
                checked[key] = None
            elif key == "fault_paths":
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise ValueError(f"{key}: expected a list of path prefixes or null")
                checked[key] = value
            elif kind.startswith("bool"):
                if not isinstance(value, bool):
                    raise ValueError(f"{key}: expected true or false")
                checked[key] = value
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}: expected a number")
            elif value < (1 if key == "max_page_size" else 0) or (
                key.endswith("_rate") and value > 1
            ):
                raise ValueError(f"{key}: out of range")
            else:
                checked[key] = int(value) if kind.startswith("int") else float(value)
        for key, value in checked.items():
            setattr(self, key, value)


@dataclass
class Stats:
    """Requests per normalised path (ids replaced by ``{id}``); thread-safe."""

    paths: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> None:
        """Record one request."""
        key = _NUMERIC_SEGMENT.sub("/{id}", path)
        with self.lock:
            self.paths[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"total": n, "paths": {...}}``."""
        with self.lock:
            return {"total": sum(self.paths.values()), "paths": dict(self.paths)}

    def reset(self) -> None:
        """Forget every count."""
        with self.lock:
            self.paths.clear()


class TokenBucket:
    """Allows ``rate`` requests a second with bursts of up to ``max(1, rate)``."""

    def __init__(self) -> None:
        self.rate = 0.0
        self.tokens = 0.0
        self.stamp = time.monotonic()

    def take(self, rate: float) -> bool:
        """Spend one token if available; a changed rate refills the bucket."""
        now = time.monotonic()
        if rate != self.rate:
            self.rate, self.tokens, self.stamp = rate, max(1.0, rate), now
        self.tokens = min(max(1.0, rate), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _add_extra(obj: Any) -> Any:
    """Add the drift fields to every JSON object, depth first."""
    if isinstance(obj, dict):
        for v in obj.values():
            _add_extra(v)
        obj.update(EXTRA_FIELDS)
    elif isinstance(obj, list):
        for v in obj:
            _add_extra(v)
    return obj


def json_bytes(obj: Any) -> bytes:
    """Compact JSON (ASCII-escaped: the fastest encoder path)."""
    return json.dumps(obj, separators=(",", ":")).encode()


async def send_json(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON response straight through ASGI."""
    raw = json_bytes(body)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": raw})


def _dated(send: Send) -> Send:
    """``send`` adding a ``Date`` header read from the clock as the answer starts (uvicorn's
    own is refreshed once a second, up to ~2 s late; clients bound their sync window by it)."""

    async def dated(message: Message) -> None:
        if message["type"] == "http.response.start":
            date = email.utils.formatdate(time.time(), usegmt=True).encode()
            message = {**message, "headers": [*message.get("headers", []), (b"date", date)]}
        await send(message)

    return dated


class FaultMiddleware:
    """Pure ASGI middleware (no per-request task overhead) applying auth and faults."""

    def __init__(self, app: ASGIApp, config: MockConfig, stats: Stats) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        self.bucket = TokenBucket()
        self.rng = random.Random(config.seed)  # fault decisions are reproducible per seed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        path = scope.get("path", "")
        if scope["type"] == "http":
            send = _dated(send)
        if scope["type"] != "http" or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        cfg = self.config
        self.stats.count(path)
        if cfg.latency_ms > 0:
            await asyncio.sleep(cfg.latency_ms / 1000.0)
        faulty = cfg.fault_paths is None or any(path.startswith(p) for p in cfg.fault_paths)
        if faulty and cfg.rate_limit_rps > 0 and not self.bucket.take(cfg.rate_limit_rps):
            detail = "Request was throttled. Expected available in 1 second."
            await send_json(send, 429, {"detail": detail}, {"Retry-After": "1"})
            return
        if faulty and cfg.fail_rate > 0 and self.rng.random() < cfg.fail_rate:
            await send_json(send, 500, {"detail": "A server error occurred (injected fault)."})
            return
        key = dict(scope.get("headers") or []).get(b"x-cekura-api-key")
        if key is None:
            await send_json(send, 401, {"detail": "Authentication credentials were not provided."})
            return
        if key.decode("latin-1") != cfg.api_key:
            await send_json(send, 401, {"detail": "Invalid API key."})
            return
        truncate = faulty and cfg.truncate_rate > 0 and self.rng.random() < cfg.truncate_rate
        if not truncate and not cfg.extra_fields:
            await self.app(scope, receive, send)
            return
        await self._rewrite(scope, receive, send, truncate, cfg.extra_fields)

    async def _rewrite(
        self, scope: Scope, receive: Receive, send: Send, truncate: bool, extra: bool
    ) -> None:
        """Buffer the endpoint's answer, then add drift fields and/or cut the body in half."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status = start.get("status", 500)
        if extra and 200 <= status < 300:
            with contextlib.suppress(ValueError):  # not JSON: leave it alone
                body = json_bytes(_add_extra(json.loads(body)))
        if truncate:
            body = body[: len(body) // 2]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
