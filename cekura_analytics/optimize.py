"""``optimize``: compact every table into large files and vacuum what no version needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deltalake.exceptions import DeltaError

from .errors import StoreError, first_line
from .store import TARGET_FILE, Store
from .upkeep import ALL_TABLES


@dataclass
class OptimizeSummary:
    """What ``optimize`` did per table."""

    data_dir: str
    files_merged: dict[str, int] = field(default_factory=dict)
    files_deleted: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"optimized {self.data_dir}"]
        for t in self.files_merged:
            lines.append(
                f"  {t:<14} {self.files_merged[t]:>5} files compacted, "
                f"{self.files_deleted.get(t, 0):>5} old files deleted"
            )
        return "\n".join(lines)


def optimize(data_dir: str | Path, *, retain_days: float = 7.0) -> OptimizeSummary:
    """Compact every table and vacuum files older versions no longer need after
    ``retain_days`` (time travel before that is then impossible)."""
    if retain_days < 0:
        raise StoreError(f"--retain-days {retain_days} must be 0 or more")
    with Store(data_dir, lock=True) as store:
        out = OptimizeSummary(store.uri)
        for table in ALL_TABLES:
            dt = store.table(table)
            if dt is None:
                continue
            props = store._meta() if table == "runs" else None
            try:
                got = dt.optimize.compact(target_size=TARGET_FILE, commit_properties=props)
                gone = dt.vacuum(
                    retention_hours=round(retain_days * 24),
                    dry_run=False,
                    enforce_retention_duration=False,
                    commit_properties=props,
                )
            except DeltaError as exc:
                raise StoreError(f"{table}: optimize failed: {first_line(exc)}") from None
            out.files_merged[table] = int(got.get("numFilesRemoved", 0))
            out.files_deleted[table] = len(gone)
    return out
