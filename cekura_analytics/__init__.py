"""cekura-analytics: Cekura test data in parquet, pass rates in DuckDB, better prompts.

The public surface::

    extract(data_dir, ...)                 API → parquet (incremental, resumable)
    CekuraClient, Settings, load_settings  HTTP access to the API
    errors                                 the exception hierarchy (CekuraError and children)
    gate(data_dir, agent_id, ...)          release gate: did a version make a metric worse?
    improve_impact(data_dir, ...)          did the improve-prompt suggestions work?
"""

from __future__ import annotations

from .client import CekuraClient
from .config import Settings, load_settings
from .errors import CekuraError
from .extract import ExtractSummary, extract
from .gate import GateResult, gate
from .impact import improve_impact

__version__ = "0.1.0"

__all__ = [
    "CekuraClient",
    "CekuraError",
    "ExtractSummary",
    "GateResult",
    "Settings",
    "__version__",
    "extract",
    "gate",
    "improve_impact",
    "load_settings",
]
