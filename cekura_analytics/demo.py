"""``make demo``: the whole toolkit end to end against the embedded mock Cekura."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .extract import extract

DEMO_KEY = "demo-key"


def demo(data_dir: str | Path = "data/demo", *, runs: int = 20_000, seed: int = 7) -> None:
    """Start the mock, extract it into ``data_dir`` and print what the toolkit finds."""
    from .mock import MockServer

    started = time.monotonic()
    data_dir = Path(data_dir)
    with MockServer(runs=runs, seed=seed, api_key=DEMO_KEY) as srv:
        click.secho(f"mock Cekura with {runs:,} runs at {srv.base_url}", bold=True)
        summary = extract(data_dir, base_url=srv.base_url, api_key=DEMO_KEY)
        click.echo(str(summary))
    click.secho(f"\ndemo finished in {time.monotonic() - started:.1f} s", bold=True)
