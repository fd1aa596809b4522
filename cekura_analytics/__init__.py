"""cekura-analytics: Cekura test data in Delta Lake tables, pass rates in DuckDB, better prompts.

The public surface::

    extract(data_dir, ...)                 API → Delta tables (incremental, resumable)
    CekuraClient, Settings, load_settings  HTTP access to the API
    errors                                 the exception hierarchy (CekuraError and children)
"""

from __future__ import annotations

from .client import CekuraClient
from .config import Settings, load_settings
from .errors import CekuraError
from .extract import ExtractSummary, extract

__version__ = "0.1.0"

__all__ = [
    "CekuraClient",
    "CekuraError",
    "ExtractSummary",
    "Settings",
    "__version__",
    "extract",
    "load_settings",
]
