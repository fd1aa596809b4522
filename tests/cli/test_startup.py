"""Start-up stays light: loading the CLI and every ``--help`` import no heavy library.

The time itself is measured by ``bench/startup.py`` (a timed test would be flaky on a busy
machine); this checks the cause, in a fresh interpreter, by looking at ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: libraries that cost hundreds of milliseconds (or pull numpy/scipy) to import
HEAVY = ("polars", "duckdb", "deltalake", "altair", "vl_convert", "sklearn", "pyarrow", "numpy")

PROBE = """
import json, sys
import click
from cekura_analytics.cli import cli

def paths(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from paths(cmd, (*prefix, name))

for path in [(), *paths(cli)]:
    try:
        cli.main([*path, "--help"], prog_name="cekura-analytics", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded_after(code: str) -> set[str]:
    """Top-level module names a fresh interpreter holds after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_of_every_command_imports_no_heavy_library() -> None:
    loaded = loaded_after(PROBE)
    assert "cekura_analytics" in loaded and "click" in loaded  # the probe did run the CLI
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("module", ["cekura_analytics", "cekura_analytics.cli"])
def test_importing_the_package_imports_no_heavy_library(module: str) -> None:
    show = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = loaded_after(f"import json, sys, {module}; {show}")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_probe_would_see_a_heavy_import() -> None:
    """Guards the tests above: a module of the CLI that imported the charts at its top would
    be caught (altair comes in through present.theme)."""
    loaded = loaded_after("import cekura_analytics.present.theme\n" + PROBE)
    assert {"altair", "polars"} <= loaded
