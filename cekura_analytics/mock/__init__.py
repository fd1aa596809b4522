"""A local mock of the Cekura API: the real contract, seeded synthetic data, injectable faults.

>>> from cekura_analytics.mock import MockServer
>>> with MockServer(runs=2000, seed=1) as srv:   # doctest: +SKIP
...     srv.base_url, srv.config.latency_ms

See :mod:`cekura_analytics.mock.data` for the planted signal the data carries, :mod:`.flaky`
and :mod:`.reviews` for the planted flakiness and human reviews (``/_mock/flaky``,
``/_mock/reviews``) and :mod:`.modes` for the failure modes (``/_mock/failure_modes``).
The server needs the ``[mock]`` extra (fastapi, uvicorn), so its names load on first use:
``import cekura_analytics`` works without it.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"MockConfig": "faults", "MockData": "data", "MockServer": "server",
            "create_app": "server"}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load ``MockServer`` and friends on first use (they need fastapi and uvicorn)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cekura_analytics.mock' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
