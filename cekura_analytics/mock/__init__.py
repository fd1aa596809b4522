"""A local mock of the Cekura API: the real contract, seeded synthetic data, injectable faults.

>>> from cekura_analytics.mock import MockServer
>>> with MockServer(runs=2000, seed=1) as srv:   # doctest: +SKIP
...     srv.base_url, srv.config.latency_ms

See :mod:`cekura_analytics.mock.data` for the planted signal the data carries.
"""

from .data import MockData
from .faults import MockConfig
from .server import MockServer, create_app

__all__ = ["MockConfig", "MockData", "MockServer", "create_app"]
