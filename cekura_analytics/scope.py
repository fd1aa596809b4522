"""The scope of a question, defined once: runs at or after ``since`` (UTC), of one agent,
as the tables stood at ``as_of`` (a table version or a time).

Every command and twin that takes ``--since`` / ``--agent-id`` parses them here (one error
class, :class:`~cekura_analytics.errors.ConfigError`) and filters with :func:`scope_sql`
(SQL parameters ``$since`` and ``$agent_id``, values from :meth:`Scope.params`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .errors import ConfigError

When = str | date | datetime | None


def parse_when(value: When, option: str = "--since") -> datetime | None:
    """An ISO date or date-time (``2026-06-01``, ``2026-06-01T12:00Z``) as an aware UTC time."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, date):
        ts = datetime(value.year, value.month, value.day)
    else:
        try:
            ts = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{option} {value!r} is not an ISO date or date-time: use e.g. 2026-06-01 "
                "or 2026-06-01T12:00Z (UTC)"
            ) from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_as_of(value: str | int | datetime | None) -> int | datetime | None:
    """``--as-of``: a table version (an integer) or an ISO date/time (UTC unless it says)."""
    if value is None or isinstance(value, int):
        if isinstance(value, int) and value < 0:
            raise ConfigError(f"--as-of {value}: a version is 0 or more")
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--as-of {value!r} is neither a version (e.g. 12) nor an ISO date/time "
            "(e.g. 2026-06-01 or 2026-06-01T09:00Z)"
        ) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def parse_agent_id(value: Any) -> int | None:
    """An agent id as an integer; a one-line error for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
        raise ConfigError(f"--agent-id {value!r} is not an agent id: give its number, e.g. 2142")
    return int(value)


@dataclass(frozen=True)
class Scope:
    """Which runs a question is about: at or after ``since`` (UTC), of ``agent_id``."""

    since: datetime | None = None
    agent_id: int | None = None

    @classmethod
    def of(cls, since: When = None, agent_id: Any = None) -> Scope:
        """Parse user input (strings, dates, ints) into a scope."""
        return cls(parse_when(since), parse_agent_id(agent_id))

    def params(self) -> dict[str, Any]:
        """The values of ``$since`` and ``$agent_id`` in :func:`scope_sql`."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "agent_id": self.agent_id,
        }

    def __str__(self) -> str:
        parts = [f"since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else "",
                 f"agent {self.agent_id}" if self.agent_id is not None else ""]  # fmt: skip
        return ", ".join(p for p in parts if p) or "all runs"


#: the agents a data dir knows: its agents table and the agents its runs name
_KNOWN_AGENTS_SQL = (
    "select agent_id, max(agent_name) as agent_name from ("
    " select agent_id, agent_name from stg_agents"
    " union all select agent_id, agent_name from stg_runs"
    ") where agent_id is not null group by agent_id order by agent_id"
)


def known_agents_text(agents: list[tuple[Any, Any]], limit: int = 12) -> str:
    """``101 (Dental clinic), 102 (Pizza)`` and how many more."""
    shown = [f"{a} ({n})" if n else str(a) for a, n in agents[:limit]]
    more = f" and {len(agents) - limit} more" if len(agents) > limit else ""
    return ", ".join(shown) + more


def check_agent(con: Any, agent_id: int | None, where: str = "this data dir") -> None:
    """An ``--agent-id`` the data (a DuckDB connection over the views) knows, else a one-line
    :class:`ConfigError` listing the known agents: an unknown id would answer "0 rows"."""
    if agent_id is None:
        return
    agents = [tuple(r) for r in con.execute(_KNOWN_AGENTS_SQL).fetchall()]
    if not agents or any(a == agent_id for a, _ in agents):
        return  # nothing extracted: the question's own "no data" error says more
    raise ConfigError(
        f"--agent-id {agent_id}: {where} holds no agent {agent_id}; its agents: "
        f"{known_agents_text(agents)}"
    )


def scope_sql(prefix: str = "", *, timed: bool = True) -> str:
    """The SQL condition of a scope over a relation with ``timestamp`` and ``agent_id``;
    ``timed=False``: over one with ``agent_id`` only (it holds nothing when ``$since`` is
    given, so pick it for scopes without a start only)."""
    since = (
        f"cast($since as timestamptz) is null or {prefix}timestamp >= cast($since as timestamptz)"
        if timed
        else "cast($since as timestamptz) is null"
    )
    agent = f"cast($agent_id as bigint) is null or {prefix}agent_id = cast($agent_id as bigint)"
    return f"({since}) and ({agent})"


__all__ = [
    "Scope",
    "check_agent",
    "known_agents_text",
    "parse_agent_id",
    "parse_as_of",
    "parse_when",
    "scope_sql",
]
