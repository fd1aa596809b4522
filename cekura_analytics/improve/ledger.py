"""The improve-job ledger ``<data_dir>/improve_jobs/``: one row per job, crash-safe.

Each change is committed through :class:`~cekura_analytics.store.Store` as one Delta commit
replacing the table, so after a crash the ledger is exactly its last commit (and earlier
versions stay readable by time travel). Columns: :data:`cekura_analytics.tables.IMPROVE_JOBS`.

Statuses (a job is keyed by ``job_id`` = kind + run/scenario + sha256 of the submitted text):

=============  ==============================================================================
launching      intent recorded, POST in flight. Only ever seen by a later process if the
               launching one died: :meth:`Ledger.reconcile` turns it into ``uncertain``.
uncertain      the POST may have created a job but no ``progress_id`` was recorded (crash,
               timeout, 5xx). Never relaunched silently: ``--retry-uncertain`` does it.
queued         launched, ``progress_id`` known; mirrors the service while polling.
in_progress    launched and running.
completed      finished with an improved text (``improved_prompt``, ``summary_of_changes``).
no_change      finished without output: the service found nothing to improve.
failed         the job failed (``error``), was cancelled, was rejected (4xx) or its
               ``progress_id`` is unknown to the service; ``--retry-failed`` relaunches.
=============  ==============================================================================
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..api import jobs_wire as wire
from ..errors import AuthError, CekuraError, ConfigError, ConnectError, NotFoundError
from ..lake.store import Store, is_remote
from ..lake.tables import IMPROVE_JOBS

log = logging.getLogger("cekura_analytics.improve")

TABLE = "improve_jobs"

LAUNCHING = "launching"
UNCERTAIN = "uncertain"
QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
NO_CHANGE = "no_change"
FAILED = "failed"

STATUSES = (LAUNCHING, UNCERTAIN, QUEUED, IN_PROGRESS, COMPLETED, NO_CHANGE, FAILED)
OPEN = frozenset({QUEUED, IN_PROGRESS})  # collect() polls these
FINISHED = frozenset({COMPLETED, NO_CHANGE, FAILED})

UNCERTAIN_MESSAGE = (
    "the launch was interrupted after its request may have reached Cekura, and no "
    "progress_id was recorded; it is not relaunched automatically so that a paid job is "
    "never duplicated silently. Check the Cekura dashboard, then relaunch it with "
    "`cekura-analytics improve launch ... --retry-uncertain` if no job exists"
)
NO_CHANGE_MESSAGE = "the job completed without output: Cekura found nothing to improve"
FAILED_MESSAGE = "relaunch with `cekura-analytics improve launch ... --retry-failed`"


def now() -> datetime:
    """The current UTC time (the ledger's clock)."""
    return datetime.now(UTC)


def sha256_text(*parts: str) -> str:
    """sha256 hex of the text parts (joined with NUL so ``("ab","c") != ("a","bc")``)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def make_job_id(kind: str, key: int, sha: str) -> str:
    """Stable job id: the same run/scenario with the same text is the same job."""
    return f"{kind}:{key}:{sha[:16]}"


def empty_row() -> dict[str, Any]:
    """A ledger row with every column null (counters zero)."""
    row: dict[str, Any] = dict.fromkeys(IMPROVE_JOBS)
    row["attempts"] = 0
    row["polls"] = 0
    return row


class Ledger:
    """The ledger of one data directory, loaded in memory; the store must hold the lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        df = store.read(TABLE, schema=IMPROVE_JOBS)
        self.rows: dict[str, dict[str, Any]] = {r["job_id"]: r for r in df.to_dicts()}

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The row of ``job_id`` (a live dict: edit it, then :meth:`commit`)."""
        return self.rows.get(job_id)

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace a row (not yet committed)."""
        self.rows[row["job_id"]] = row

    def drop(self, job_id: str) -> None:
        """Forget a row (not yet committed)."""
        self.rows.pop(job_id, None)

    def commit(self) -> None:
        """Write the whole ledger as one crash-safe commit (it is small: one row per job)."""
        self.store.replace_table(TABLE, self.frame())

    def frame(self, job_ids: Iterable[str] | None = None) -> pl.DataFrame:
        """The rows (all, or ``job_ids`` in that order) as a DataFrame with the ledger schema."""
        rows = list(self.rows.values()) if job_ids is None else [self.rows[j] for j in job_ids]
        return pl.DataFrame(rows, schema=IMPROVE_JOBS)

    def reconcile(self) -> list[str]:
        """Turn rows a dead process left in ``launching`` into ``uncertain``; commit; warn.

        Returns the job ids changed. A ``launching`` row means the intent was recorded but
        the answer never was: the POST may or may not have created a job, and there is no
        endpoint to look it up, so the honest state is "uncertain", relaunched only on demand.
        """
        stale = [j for j, r in self.rows.items() if r["status"] == LAUNCHING]
        for j in stale:
            self.rows[j].update(status=UNCERTAIN, message=UNCERTAIN_MESSAGE)
        if stale:
            self.commit()
            log.warning(
                "%d improve job(s) were being launched when the launch stopped and are now "
                "'uncertain' (%s): %s",
                len(stale),
                ", ".join(stale[:5]) + (" ..." if len(stale) > 5 else ""),
                UNCERTAIN_MESSAGE,
            )
        return stale


def record_poll(row: dict[str, Any], got: wire.ProgressResponse | CekuraError) -> bool:
    """Record one progress answer (or poll error) in ``row``; True when the job finished."""
    if isinstance(got, AuthError | ConnectError):
        raise got  # nothing else will work either; answers so far are committed
    if isinstance(got, NotFoundError):
        row.update(status=FAILED, finished_at=now(), message=FAILED_MESSAGE)
        row["error"] = (
            f"Cekura does not know progress_id {row['progress_id']} (404): the job expired "
            "or was launched against another --base-url"
        )
        return True
    if isinstance(got, CekuraError):  # 429 past retries, 5xx, bad body: try again later
        row["message"] = f"last poll failed: {got}"
        return False
    row.update(polls=(row["polls"] or 0) + 1, last_polled_at=now(), message=None)
    st = got.status
    if st in wire.DONE_WIRE_STATUSES:
        out = wire.job_output(row["kind"], got)
        done = out.improved_text is not None
        row.update(status=COMPLETED if done else NO_CHANGE, finished_at=now())
        row.update(improved_prompt=out.improved_text, summary_of_changes=out.summary_of_changes)
        row["message"] = None if done else NO_CHANGE_MESSAGE
        return True
    if st in wire.FAILED_WIRE_STATUSES or st in wire.CANCELLED_WIRE_STATUSES:
        err = wire.error_text(got) or f"the job ended '{st}' without an error message"
        row.update(status=FAILED, finished_at=now(), error=err, message=FAILED_MESSAGE)
        return True
    row["status"] = QUEUED if st in ("queued", "pending") else IN_PROGRESS
    if st not in wire.OPEN_WIRE_STATUSES:
        row["message"] = f"unknown job status {st!r} from Cekura; still polling"
    return False


def check_data_dir(data_dir: str | Path) -> None:
    """A local data dir that does not exist is a :class:`ConfigError`: a typo, not "no jobs"
    (and a command must not create it)."""
    if not is_remote(data_dir) and not Path(data_dir).expanduser().is_dir():
        raise ConfigError(f"data dir {data_dir} does not exist: check --data-dir")


def read_ledger(data_dir: str | Path) -> pl.DataFrame:
    """The committed ledger of ``data_dir`` (zero rows when no job was ever launched); a
    local data dir that does not exist is a :class:`ConfigError` (a typo, not "no jobs")."""
    check_data_dir(data_dir)
    return Store(data_dir).read(TABLE, schema=IMPROVE_JOBS)
