"""The ``cekura-analytics`` command line: each command is a thin wrapper over the public
function of the same name, prints a one-line error on failure and exits non-zero.

The commands live by concern (``sync``: the API and the tables' files; ``analyse``: the
views; ``improve``: the improve jobs); this module only gathers them on one group.
"""

from __future__ import annotations

import click

from . import analysis as analyse
from . import improve, sync


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cekura-analytics")
def cli() -> None:
    """Pull Cekura test data into Delta tables, find where your agent fails, improve its prompt."""


for command in (
    sync.extract_cmd,
    sync.optimize_cmd,
    sync.status_cmd,
    sync.demo_cmd,
    sync.mock_server_cmd,
    analyse.sql_cmd,
    analyse.tables_cmd,
    analyse.duckdb_cmd,
    analyse.pass_rates_cmd,
    analyse.compare_versions_cmd,
    analyse.outliers_cmd,
    analyse.failure_modes_cmd,
    analyse.flaky_cmd,
    analyse.review_agreement_cmd,
    analyse.gate_cmd,
    analyse.report_cmd,
    improve.improve_group,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()


__all__ = ["cli", "main"]
