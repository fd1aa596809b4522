"""``make demo`` installs what the demo runs and no test tool; ``make test`` installs the rest;
CI runs ``make test``. Read from ``make -n`` (what make would do in a fresh clone)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: tools only the tests and checks need
TEST_TOOLS = ("pytest", "ruff", "mypy", "selenium", "moto", "jsonschema", "nbclient")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def installed_extras(target: str, tmp_path: Path) -> list[set[str]]:
    """The extras each ``pip install -e '.[...]'`` of ``make -n TARGET`` names, as make would
    run it in a fresh clone (a copy of the Makefile and pyproject.toml, no .venv)."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    plan = subprocess.run(
        ["make", "-n", target], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout
    return [set(m.split(",")) for m in re.findall(r"pip install [^\n]*-e '\.\[([^\]]*)\]'", plan)]


def extra_requirements(extras: set[str]) -> str:
    """The requirement strings of ``extras`` (one level of self-references followed)."""
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    optional = table["optional-dependencies"]
    reqs: list[str] = []
    for extra in extras:
        for req in optional[extra]:
            inner = re.fullmatch(r"cekura-analytics\[([^\]]+)\]", req)
            reqs += [r for e in inner.group(1).split(",") for r in optional[e]] if inner else [req]
    return " ".join(reqs)


def test_make_demo_installs_no_test_tools(tmp_path: Path) -> None:
    (extras,) = installed_extras("demo", tmp_path)
    assert "mock" in extras and "dev" not in extras
    reqs = extra_requirements(extras)
    assert not [t for t in TEST_TOOLS if t in reqs], reqs


def test_make_test_installs_the_test_tools(tmp_path: Path) -> None:
    (extras,) = installed_extras("test", tmp_path)
    reqs = extra_requirements(extras)
    assert all(t in reqs for t in TEST_TOOLS), reqs


def test_ci_runs_make_test() -> None:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert "make test" in [ln.strip() for ln in lines]
