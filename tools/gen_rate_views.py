"""Write the pass-rate view files (``cekura_analytics/sql/3x``, ``4x``) from
``cekura_analytics.warehouse.rate_views.PASS_RATE_VIEWS``: ``python tools/gen_rate_views.py``.
tests/test_views.py fails when a file and the map disagree."""

from __future__ import annotations

from pathlib import Path

from cekura_analytics.warehouse.rate_views import PASS_RATE_VIEWS, view_file, view_sql

SQL = Path(__file__).resolve().parents[1] / "cekura_analytics" / "warehouse" / "sql"

if __name__ == "__main__":
    for name in PASS_RATE_VIEWS:
        (SQL / view_file(name)).write_text(view_sql(name))
        print("wrote", view_file(name))
