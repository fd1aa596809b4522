"""The exception hierarchy of cekura-analytics.

Every error the toolkit raises on purpose derives from :class:`CekuraError` and carries a
one-line message that says what went wrong and what to do. The CLI prints that line (no
traceback); Python callers can catch by class. Messages never contain the API key.

    CekuraError
    ├── ConfigError          bad settings or input files: missing key, bad URL, rules, prompt file
    ├── ApiError             an error status from the API (``.status``, ``.method``, ``.path``)
    │   ├── AuthError        401/403: the key is missing, wrong or lacks access
    │   ├── NotFoundError    404: unknown endpoint or id
    │   ├── BadRequestError  400/422: request rejected (``.fields``: DRF-style details)
    │   ├── RateLimitedError 429 that retries could not get past
    │   └── ServerError      5xx that retries could not get past
    ├── ConnectError         host unreachable, DNS failure, or timeout
    ├── ResponseError        the body is not what the contract says (truncated or invalid JSON)
    │   ├── IncompleteError  paging delivered fewer distinct ids than the server's ``count``
    │   └── OffHostError     a redirect or ``next`` link points away from the configured host
    ├── StoreError           the data directory is unusable (corrupt state, unreadable parquet)
    ├── DataError            the data cannot answer the question (empty data dir, unknown column)
    └── JobError             an improve job could not be launched or tracked
"""

from __future__ import annotations

import errno
from typing import Any


class CekuraError(Exception):
    """Base class: a one-line, user-facing message."""


class ConfigError(CekuraError):
    """Settings or an input file are missing or malformed."""


class ApiError(CekuraError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "GET",
        path: str = "",
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.body = body


class AuthError(ApiError):
    """401/403: the API key is missing, wrong, or lacks access."""


class NotFoundError(ApiError):
    """404: the endpoint or object does not exist."""


class BadRequestError(ApiError):
    """400/422: the API rejected the request body or parameters."""

    @property
    def fields(self) -> dict[str, Any]:
        """DRF-style ``{"field": ["message"]}`` details, when the API sent them."""
        return self.body if isinstance(self.body, dict) else {}


class RateLimitedError(ApiError):
    """429 persisted after the retry budget was spent."""


class ServerError(ApiError):
    """5xx persisted after the retry budget was spent."""


class ConnectError(CekuraError):
    """The host could not be reached (refused, DNS, TLS, timeout)."""


class ResponseError(CekuraError):
    """The response body is not valid JSON or not shaped as the contract says."""


class IncompleteError(ResponseError):
    """Paging delivered fewer distinct ids than the server's own ``count``, even re-walked."""


class OffHostError(ResponseError):
    """A redirect or ``next`` link pointed at another origin: not followed (the key stays home)."""


class StoreError(CekuraError):
    """The data directory or its state file is unusable."""


class DataError(CekuraError):
    """The extracted data cannot answer the question asked."""


class JobError(CekuraError):
    """An improve job could not be launched, tracked or collected."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's text (a library's multi-line dump cut to one line)."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


#: what an OS error means to a user, by errno or by the text a Rust library passes on
_OS_PROBLEMS = (
    (errno.ENOSPC, "no space left on device", "disk full"),
    (errno.EDQUOT, "disk quota exceeded", "disk quota exceeded"),
    (errno.EFBIG, "file too large", "file size limit reached"),
    (errno.EROFS, "read-only file system", "read-only file system"),
    (errno.EACCES, "permission denied", "permission denied"),
)


def os_problem(exc: BaseException) -> str | None:
    """``"disk full"``, ``"read-only file system"``, ... when ``exc`` (an OSError, or a
    delta-rs error or panic whose text carries the OS error) says so; else None."""
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    for number, words, problem in _OS_PROBLEMS:
        if code == number or words in text or f"(os error {number})" in text:
            return problem
    return None


__all__ = [
    "ApiError",
    "AuthError",
    "BadRequestError",
    "CekuraError",
    "ConfigError",
    "ConnectError",
    "DataError",
    "IncompleteError",
    "JobError",
    "NotFoundError",
    "OffHostError",
    "RateLimitedError",
    "ResponseError",
    "ServerError",
    "StoreError",
    "first_line",
    "os_problem",
]
