"""Write the generated view files (``sql/marts/3x``, ``4x``, ``63``-``65``) from
``cekura_analytics.warehouse.families``: ``python tools/gen_views.py``.
tests/warehouse/test_views.py fails when a file and the generator disagree."""

from __future__ import annotations

from pathlib import Path

from cekura_analytics.warehouse.families import GENERATED_VIEWS, view_file, view_sql

MARTS = Path(__file__).resolve().parents[1] / "cekura_analytics" / "warehouse" / "sql" / "marts"

if __name__ == "__main__":
    for name in GENERATED_VIEWS:
        (MARTS / view_file(name)).write_text(view_sql(name))
        print("wrote", view_file(name))
