"""The warehouse: DuckDB views over one committed snapshot of the lake.

``sql/`` holds one view per file: ``setup/`` (macros, settings), ``staging/`` (rename and
cast one table), ``intermediate/`` (fallbacks, the pass rule), ``marts/`` (rates, outliers,
failure modes, improve jobs). ``connection`` registers them; ``rules`` reads the rules file;
``families`` generates the families of near-identical views.
"""
