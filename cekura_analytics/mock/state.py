"""What every route of the mock shares: its config, its data, its request stats and jobs."""

from __future__ import annotations

from typing import Any

from .data import MockData
from .faults import MockConfig, Stats


class MockState:
    """Config, data, stats and the improve-job store (set by :func:`.jobs.register`)."""

    def __init__(self, config: MockConfig, data: MockData) -> None:
        self.config = config
        self.data = data
        self.stats = Stats()
        self.jobs: Any = None  # a jobs.JobStore; typed loosely so state.py imports no routes
