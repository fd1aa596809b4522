"""What a data dir holds, from its Delta logs and sync state alone (no data file is read):
each table's rows and version, the last sync, the watermarks, the API version, the runs
still unfinished and a sync left half done. The ``status`` command prints it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .maintenance import refuse_old_layout
from .store import Store, is_remote
from .tables import TABLES


@dataclass
class Status:
    """A data dir at a glance (``status``)."""

    data_dir: str
    #: table -> {"rows", "version", "grain"} for every table written so far
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: when the last extract finished, its scope and how many runs it fetched
    last_sync: dict[str, Any] | None = None
    #: scope ("all", "agent_id=7", ...) -> the newest run time its syncs covered
    watermarks: dict[str, str | None] = field(default_factory=dict)
    api_version: str | None = None
    #: runs stored while still running: fetched again by the next extract
    pending_runs: int = 0
    #: a sync that stopped before its end: its window and pages done (the next extract resumes)
    in_progress: dict[str, Any] | None = None
    #: the API server (origin) and projects the data came from (recorded by extract)
    server: str | None = None
    project_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for ``--format json``)."""
        return asdict(self)

    def to_json(self) -> str:
        """The status as a JSON document."""
        return json.dumps(self.to_dict(), indent=2, default=str)


def status(data_dir: str | Path) -> Status:
    """What ``data_dir`` holds: tables, rows, versions, last sync, watermarks, API version,
    server and project (see :class:`Status`); reads the Delta logs only."""
    if not is_remote(data_dir) and not Path(data_dir).expanduser().is_dir():
        raise ConfigError(f"data dir {data_dir} does not exist: check --data-dir")
    refuse_old_layout(data_dir)
    store = Store(data_dir)
    counts = store.row_counts()
    st = store.state
    out = Status(data_dir=store.uri)
    for table, n in counts.items():
        out.tables[table] = {"rows": n, "version": store.version(table),
                             "grain": TABLES[table].grain}  # fmt: skip
    out.last_sync = st.last_sync
    out.watermarks = {scope: v.get("watermark") for scope, v in st.scopes.items()}
    out.api_version = st.api_version
    out.pending_runs = len(st.pending_run_ids)
    if st.in_progress:
        ip = st.in_progress
        out.in_progress = {k: ip.get(k) for k in ("scope", "lower", "upper", "count")}
        out.in_progress["pages_done"] = len(ip.get("pages_done") or [])
    out.server = st.server
    out.project_ids = list(st.project_ids)
    return out


__all__ = ["Status", "status"]
