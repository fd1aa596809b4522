"""cekura-analytics: Cekura test data in Delta Lake tables, pass rates in DuckDB, better prompts.

The public surface, listed once (the path of the data, top to bottom)::

    CekuraClient, Settings, load_settings   the API: auth, retries, paging, v1/v2 reads
    extract, ExtractSummary                 API -> Delta tables (incremental, resumable)
    optimize                                compact and vacuum the tables
    connect, query, sql, duckdb             tables -> DuckDB views; ad-hoc SQL; a .duckdb file
    Scope                                   --since / --agent-id, parsed once
    pass_rates, compare_versions, outliers  analysis over the views
    failure_modes                           how each metric fails: explanations clustered
    gate, GateResult                        release gate: did a version make a metric worse?
    improve_launch, improve_instructions,   improve jobs: launch once, collect, show the diffs
    improve_collect, improve_show,
    improve_impact                          ... and did the suggestions work?
    report                                  the offline HTML / Markdown report
    demo, mock_server, SAMPLE_PROMPT        the end-to-end demo, the local mock API, a prompt
    CekuraError (and errors.*)              the exception hierarchy

Every CLI command is a thin wrapper over the function of the same name here
(``improve launch`` -> ``improve_launch``).
"""

from __future__ import annotations

from ._version import __version__
from .analysis import compare_versions, pass_rates
from .client import CekuraClient
from .config import Settings, load_settings
from .demo import demo
from .errors import CekuraError
from .extract import ExtractSummary, extract
from .failure_modes import failure_modes
from .gate import GateResult, gate
from .impact import improve_impact
from .improve import improve_collect, improve_instructions, improve_launch, improve_show
from .mock.process import mock_server
from .optimize import optimize
from .outliers import outliers
from .report import report
from .resources import SAMPLE_PROMPT
from .scope import Scope
from .views import connect, duckdb, query, sql

__all__ = [
    "SAMPLE_PROMPT",
    "CekuraClient",
    "CekuraError",
    "ExtractSummary",
    "GateResult",
    "Scope",
    "Settings",
    "__version__",
    "compare_versions",
    "connect",
    "demo",
    "duckdb",
    "extract",
    "failure_modes",
    "gate",
    "improve_collect",
    "improve_impact",
    "improve_instructions",
    "improve_launch",
    "improve_show",
    "load_settings",
    "mock_server",
    "optimize",
    "outliers",
    "pass_rates",
    "query",
    "report",
    "sql",
]
