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
from conftest import MOCK_KEY

from cekura_analytics.mock import MockServer

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
    sql = {
        n for n in names if n.startswith("cekura_analytics/warehouse/sql/") and n.endswith(".sql")
    }
    assert (
        len(sql) == len(list((REPO / "cekura_analytics" / "warehouse" / "sql").rglob("*.sql"))) > 20
    )
    assert "cekura_analytics/present/templates/report.html.j2" in names
    assert "cekura_analytics/samples/sample_prompt.txt" in names
    assert "cekura_analytics/samples/demo-rules.toml" in names
    # pyproject says MIT: the licence text ships with it (issue 20: there was no LICENSE)
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert zipfile.ZipFile(wheel).read(licence).startswith(b"MIT License")


#: what the optional extras ([mock], [modes], [notebooks]) install, by the first word of a
#: site-packages entry: the plain venv below sees the test environment without them
EXTRA_ENTRIES = ("fastapi", "uvicorn", "starlette", "sklearn", "scikit_learn", "scipy",
                 "anywidget", "jupyterlab")  # fmt: skip


def _site_without_extras(where: Path) -> Path:
    """The test environment's site-packages as links, minus the extras' entries (and this
    checkout's editable install): as if the extras had never been installed."""
    out = where / "site-without-extras"
    out.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        first = entry.name.lower().replace("-", "_").split("_")[0].split(".")[0]
        if first in EXTRA_ENTRIES or entry.name.startswith(("__editable__", "cekura_analytics")):
            continue
        if entry.name.lower().startswith("scikit_learn"):
            continue
        (out / entry.name).symlink_to(entry)
    return out


def _venv(wheel: Path, where: Path, *, extras: bool) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding the wheel (not editable); the dependencies come from the test's
    own environment (no download), and without ``extras`` the extras' modules are hidden."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # a plain path entry does not run the editable finder: the package comes from the wheel
    deps = sysconfig.get_paths()["purelib"] if extras else _site_without_extras(where)
    Path(site, "deps.pth").write_text(f"{deps}\n")
    # the installed copy only: no CEKURA_* settings, no PYTHONPATH pointing at a checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEKURA_") and k != "PYTHONPATH"}
    where_ = subprocess.run(
        [py, "-c", "import cekura_analytics, sys; print(cekura_analytics.__file__)"],
        cwd=where,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where_.startswith(site), where_  # the installed copy, not the checkout
    return venv / "bin" / "cekura-analytics", env


def _run(cli: Path, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_plain_install_runs_every_command_but_the_mock(
    wheel: Path, tmp_path: Path, mock_server: MockServer
) -> None:
    """No extras: --help, extract (against a mock run by the test's own environment),
    pass-rates and report work; mock-server and demo say which extra to install, exit 2."""
    cli, env = _venv(wheel, tmp_path, extras=False)
    blocked = subprocess.run(
        [cli.parent / "python", "-c", "import fastapi"], env=env, capture_output=True, text=True
    )
    assert blocked.returncode != 0 and "fastapi" in blocked.stderr  # the extras are gone
    helped = _run(cli, "--help", cwd=tmp_path, env=env)
    assert helped.returncode == 0 and "extract" in helped.stdout, helped.stderr
    env_key = {**env, "CEKURA_API_KEY": MOCK_KEY}
    synced = _run(
        cli, "extract", "--data-dir", "d", "--base-url", mock_server.base_url, "--quiet",
        cwd=tmp_path, env=env_key,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-2000:]
    assert "runs fetched: 600" in synced.stdout, synced.stdout
    rates = _run(cli, "pass-rates", "--data-dir", "d", "--by", "metric", cwd=tmp_path, env=env)
    assert rates.returncode == 0 and "Appointment Booked" in rates.stdout, rates.stderr
    made = _run(cli, "report", "--data-dir", "d", "--out", "r.html", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr[-2000:]
    assert (tmp_path / "r.html").stat().st_size > 100_000  # the Vega JavaScript is inline
    for args in (["mock-server", "--port", "0"], ["demo", "--data-dir", "dd", "--runs", "100"]):
        out = _run(cli, *args, cwd=tmp_path, env=env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.strip().count("\n") == 0, out.stderr  # one line
        assert "pip install 'cekura-analytics[mock]'" in out.stderr
        assert "Traceback" not in out.stderr


def test_a_wheel_in_a_fresh_venv_runs_the_demo_and_sql(wheel: Path, tmp_path: Path) -> None:
    cli, env = _venv(wheel, tmp_path, extras=True)
    demo = _run(cli, "demo", "--data-dir", "demo", "--runs", "1500", cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (tmp_path / "demo" / "report.html").is_file()
    sql = _run(
        cli, "sql", "--data-dir", "demo", "select count(*) as n from metric_results",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert sql.returncode == 0, sql.stderr
    assert any(ch.isdigit() for ch in sql.stdout)
