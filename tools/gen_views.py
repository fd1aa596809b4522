"""Write the generated SQL files from their one definition: ``python tools/gen_views.py``.

- the view families (``sql/marts/3x``, ``4x``, ``63``-``65``, ``7x``, ``81``-``83``) from
  ``cekura_analytics.warehouse.families``;
- the statistics macros (``sql/setup/04_clustered_macros.sql``) from
  ``cekura_analytics.analysis.stats.sql_macros``.

tests/warehouse/test_views.py fails when a file and its definition disagree.
"""

from __future__ import annotations

from pathlib import Path

from cekura_analytics.analysis.stats import sql_macros
from cekura_analytics.warehouse.families import GENERATED_VIEWS, view_file, view_sql

SQL = Path(__file__).resolve().parents[1] / "cekura_analytics" / "warehouse" / "sql"
MACROS = SQL / "setup" / "04_clustered_macros.sql"


def macros_file() -> str:
    """The text of the statistics macros file."""
    return (
        "-- macros (no rows): the scenario-clustered interval and Student's t quantile\n"
        "-- generated from cekura_analytics.analysis.stats.sql_macros by tools/gen_views.py\n"
        + sql_macros()
    )


if __name__ == "__main__":
    for name in GENERATED_VIEWS:
        (SQL / "marts" / view_file(name)).write_text(view_sql(name))
        print("wrote", view_file(name))
    MACROS.write_text(macros_file())
    print("wrote", MACROS.name)
