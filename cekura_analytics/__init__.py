"""cekura-analytics: Cekura test data in Delta Lake tables, pass rates in DuckDB, better prompts.

The public surface, listed once, in the order the data flows (the folder each name lives in)::

    api/        CekuraClient, Settings, load_settings   auth, retries, paging, v1/v2 reads
    lake/       extract, ExtractSummary, optimize,      API -> Delta tables; compact, vacuum;
                status                                  what a data dir holds
    warehouse/  connect, query, duckdb, tables          tables -> DuckDB views over one snapshot
                Scope                                   --since / --agent-id, parsed once
    analysis/   pass_rates, compare_versions, outliers, failure_modes, gate, GateResult,
                flaky, review_agreement                 flaky scenarios; trust in the judge
    improve/    improve_launch, improve_instructions, improve_collect, improve_show,
                improve_impact                          improve jobs, and did they work?
    present/    sql, report, charts                     tables, reports and charts
                demo, mock_server, SAMPLE_PROMPT        the end-to-end demo and the local mock
                CekuraError (and errors.*)              the exception hierarchy

Every CLI command is a thin wrapper over the function of the same name here
(``improve launch`` -> ``improve_launch``). Names load on first use, so ``import
cekura_analytics`` (and the CLI's ``--help``) does not pay for DuckDB, Delta or altair.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import CekuraError

if TYPE_CHECKING:
    from .analysis.flakiness import flaky
    from .analysis.modes import failure_modes
    from .analysis.outlier_runs import outliers
    from .analysis.rates import pass_rates
    from .analysis.release_gate import GateResult, gate
    from .analysis.reviews import review_agreement
    from .analysis.versions import compare_versions
    from .api.client import CekuraClient
    from .config import Settings, load_settings
    from .improve.impact import improve_impact
    from .improve.jobs import improve_collect, improve_instructions, improve_launch, improve_show
    from .lake.maintenance import optimize
    from .lake.overview import status
    from .lake.sync import ExtractSummary, extract
    from .mock.process import mock_server
    from .present import charts as charts
    from .present.document import report
    from .present.output import sql
    from .scope import Scope
    from .showcase import SAMPLE_PROMPT, demo
    from .warehouse.catalog import tables
    from .warehouse.connection import connect, duckdb, query

#: public name -> the module that defines it (relative to this package)
_WHERE: dict[str, str] = {
    "CekuraClient": "api.client",
    "Settings": "config",
    "load_settings": "config",
    "extract": "lake.sync",
    "ExtractSummary": "lake.sync",
    "optimize": "lake.maintenance",
    "status": "lake.overview",
    "connect": "warehouse.connection",
    "query": "warehouse.connection",
    "duckdb": "warehouse.connection",
    "tables": "warehouse.catalog",
    "Scope": "scope",
    "pass_rates": "analysis.rates",
    "compare_versions": "analysis.versions",
    "outliers": "analysis.outlier_runs",
    "failure_modes": "analysis.modes",
    "flaky": "analysis.flakiness",
    "review_agreement": "analysis.reviews",
    "gate": "analysis.release_gate",
    "GateResult": "analysis.release_gate",
    "improve_launch": "improve.jobs",
    "improve_instructions": "improve.jobs",
    "improve_collect": "improve.jobs",
    "improve_show": "improve.jobs",
    "improve_impact": "improve.impact",
    "sql": "present.output",
    "report": "present.document",
    "charts": "present.charts",
    "demo": "showcase",
    "SAMPLE_PROMPT": "showcase",
    "mock_server": "mock.process",
}

__all__ = [
    "SAMPLE_PROMPT",
    "CekuraClient",
    "CekuraError",
    "ExtractSummary",
    "GateResult",
    "Scope",
    "Settings",
    "__version__",
    "charts",
    "compare_versions",
    "connect",
    "demo",
    "duckdb",
    "extract",
    "failure_modes",
    "flaky",
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
    "review_agreement",
    "sql",
    "status",
    "tables",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (and keep it)."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'cekura_analytics' has no attribute {name!r}")
    module = importlib.import_module(f".{where}", __name__)
    value = module if where.rpartition(".")[2] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
