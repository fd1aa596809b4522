"""A wheel installs like a package: built, installed into a fresh venv (not editable), it runs
the demo and ``sql`` from a directory that is not the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # build from a copy of the sources: an in-tree build/ could carry files since deleted
    src = tmp_path_factory.mktemp("src") / "cekura-analytics"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "data", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("cekura_analytics-*.whl")
    return whl


def test_the_wheel_carries_sql_templates_and_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sql = {n for n in names if n.startswith("cekura_analytics/sql/") and n.endswith(".sql")}
    assert len(sql) == len(list((REPO / "cekura_analytics" / "sql").glob("*.sql"))) > 20
    assert "cekura_analytics/templates/report.html.j2" in names
    assert "cekura_analytics/samples/sample_prompt.txt" in names
    assert "cekura_analytics/samples/demo-rules.toml" in names


def test_a_wheel_in_a_fresh_venv_runs_the_demo_and_sql(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    # the dependencies come from the test's own environment (no download); the package
    # itself only from the wheel: a plain path entry does not run the editable finder
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEKURA_")}
    where = subprocess.run(
        [py, "-c", "import cekura_analytics, sys; print(cekura_analytics.__file__)"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(site), where  # the installed copy, not the checkout
    cli = venv / "bin" / "cekura-analytics"
    demo = subprocess.run(
        [cli, "demo", "--data-dir", "demo", "--runs", "1500"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (tmp_path / "demo" / "report.html").is_file()
    sql = subprocess.run(
        [cli, "sql", "--data-dir", "demo", "select count(*) as n from metric_results"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sql.returncode == 0, sql.stderr
    assert any(ch.isdigit() for ch in sql.stdout)
