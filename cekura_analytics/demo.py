"""``make demo``: the whole toolkit end to end against the embedded mock Cekura.

Extract → views (pass rates with intervals, worst cells) → outliers → improve-prompt jobs →
offline HTML report. Needs no API key and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from .errors import ConfigError
from .extract import extract
from .mock.history import record_improve_history
from .mock.process import mock_process

DEMO_KEY = "demo-key"
RULES = Path(__file__).resolve().parent.parent / "data" / "demo-rules.toml"
MARKER = ".cekura-demo"  # only a directory carrying this marker is ever wiped by the demo


def _fresh_dir(data_dir: Path) -> None:
    """Start from an empty demo directory, refusing to wipe one the demo did not create."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise ConfigError(
                f"{data_dir} is not empty and was not made by the demo: pass another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by `cekura-analytics demo`; safe to delete\n")


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def demo(data_dir: str | Path = "data/demo", *, runs: int = 20_000, seed: int = 7) -> Path:
    """Run the whole toolkit on a seeded mock; print findings; return the report's path."""
    from .improve import demo_improve
    from .report import demo_report
    from .views import demo_summary

    started = time.monotonic()
    data_dir = Path(data_dir)
    _fresh_dir(data_dir)
    if RULES.exists():
        shutil.copy(RULES, data_dir / "cekura-analytics.toml")
    with mock_process(runs, seed, DEMO_KEY) as base_url:
        _step(f"extract: mock Cekura with {runs:,} runs at {base_url}")
        summary = extract(data_dir, base_url=base_url, api_key=DEMO_KEY)
        click.echo(str(summary))
        _step("where does the agent fail? (Wilson 95 % intervals)")
        click.echo(demo_summary(data_dir))
        # the jobs a team ran while the mock's broken version was live, for `improve impact`
        record_improve_history(data_dir)
        _step("improve-prompt jobs for the top 5 outlier runs")
        click.echo(demo_improve(data_dir, base_url, DEMO_KEY))
    _step("report")
    report = demo_report(data_dir)
    click.echo(f"offline HTML report: {report.resolve()}")
    click.secho(f"\ndemo finished in {time.monotonic() - started:.1f} s", bold=True)
    return report
