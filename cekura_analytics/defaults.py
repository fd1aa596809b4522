"""Every default and choice list that a command and its function share, defined once.

This module imports nothing heavy, so the CLI shows these values in ``--help`` without loading
DuckDB, Delta or altair; the functions take the same values as their defaults.
"""

from __future__ import annotations

#: the environment variable ``--data-dir`` defaults to (set it once, as dbt's profiles dir)
ENV_DATA_DIR = "CEKURA_DATA_DIR"
#: ``--api-version``: v2 reads where the server has them, else v1 (auto), or one insisted on
API_VERSIONS = ("auto", "v2", "v1")
#: ``--format`` of every command that prints rows
FORMATS = ("table", "csv", "json", "parquet")
#: ``report --format``
REPORT_FORMATS = ("html", "md")
#: ``gate --format``: the verdict and one line per cell, or one JSON document for a script
GATE_FORMATS = ("text", "json")
#: ``status --format``
STATUS_FORMATS = ("text", "json")

#: requests in flight while extracting, and POSTs/GETs in flight for improve jobs
EXTRACT_CONCURRENCY = 8
JOB_CONCURRENCY = 4
#: ``optimize --retain-days``: how long files older versions need are kept
RETAIN_DAYS = 7.0

#: the release gate (and the tests of ``improve impact``): a cell regressed when its drop is
#: larger than MAX_DROP and significant at ALPHA after Holm's correction; fewer than MIN_N
#: results on a side are not tested
MAX_DROP = 0.05
ALPHA = 0.05
MIN_N = 30
#: ``gate --by``: one cell per metric, or per metric × language / personality
GATE_BY = ("metric", "metric,language", "metric,personality")

#: the thresholds the ``outlier_runs`` view applies unless told otherwise
OUTLIER_SETTINGS: dict[str, float] = {
    "min_group_pass_rate": 0.8,  # a failure is surprising when its group passes this often
    "min_group_results": 10,  # ... over at least this many evaluated results
    "score_z": 3.5,  # a low score: robust z <= -score_z
    "duration_z": 3.5,  # a long run: robust z >= duration_z
}

#: flakiness (``flaky``): a scenario × metric × agent version cell is judged once it has at
#: least MIN_REPEATS evaluated runs (flaky = both outcomes seen); ``flaky --by``: the cells
#: themselves (per scenario, or per scenario × week) or the shares per metric
MIN_REPEATS = 2
FLAKY_BY = ("metric", "metric,agent_version", "metric,week", "scenario", "scenario,week")
#: evaluator trust (``review-agreement``): the corrected pass rate of a metric is shown only
#: when reviewers looked at at least MIN_REVIEWED of its failed results and MIN_REVIEWED of
#: its results on runs the judge passed; ``review-agreement --by``: per metric (and agent
#: version), or the judge-vs-reviewer agreement per agent (and version)
MIN_REVIEWED = 20
REVIEW_BY = ("metric", "metric,agent_version", "agent", "agent_version")
