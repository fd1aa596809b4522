"""The notebooks run top to bottom against the mock, are stored clean, never show the key."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from cekura_analytics.mock import MockServer

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_extract.ipynb", "02_pass_rates.ipynb", "03_outliers_and_improve.ipynb")
MOCK_KEY = "notebook-mock-key"  # the key notebooks give their embedded mock


def execute(
    name: str, env: dict[str, str | None], mp: pytest.MonkeyPatch, cwd: Path = NOTEBOOKS
) -> Any:
    """Run one notebook in a fresh kernel (it inherits ``env``; its working directory is
    ``cwd``); return it with outputs."""
    from nbclient import NotebookClient

    for key, value in env.items():
        if value is None:
            mp.delenv(key, raising=False)
        else:
            mp.setenv(key, value)
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    # "python3" is ipykernel's native spec: jupyter_client starts it with this interpreter.
    client = NotebookClient(
        book,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return book


def outputs_text(book: Any) -> str:
    return json.dumps([c.get("outputs", []) for c in book.cells if c.cell_type == "code"])


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert book.metadata["kernelspec"]["name"] == "python3"


def test_every_notebook_starts_with_the_same_setup() -> None:
    """The setup cell (``.env`` read from here or a folder above, live on the key alone, else
    the embedded mock) is one text in all three, so the tests that run it in 01 hold for each."""
    setups = []
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / name, as_version=4)
        setups.append(next(c.source for c in book.cells if c.cell_type == "code"))
    assert setups[0] == setups[1] == setups[2]
    assert "load_dotenv(find_dotenv(usecwd=True))" in setups[0]
    assert 'LIVE = bool(os.environ.get("CEKURA_API_KEY"))' in setups[0]
    code = [ln for ln in setups[0].splitlines() if not ln.startswith("#")]
    assert "load_settings().base_url" in setups[0]  # the URL: the key alone is enough
    assert not any("CEKURA_BASE_URL" in ln for ln in code)


def test_notebooks_run_against_the_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env: dict[str, str | None] = {
        # set but empty: a .env in a folder above (the notebooks look there) cannot fill it
        "CEKURA_API_KEY": "",
        "CEKURA_BASE_URL": None,
        "CEKURA_DATA_DIR": str(tmp_path / "data"),
    }
    books = {}
    for name in NAMES:  # in order: 02 and 03 reuse what 01 extracted
        book = books[name] = execute(name, env, monkeypatch)
        text = outputs_text(book)
        assert "embedded mock" in text, name
        assert MOCK_KEY not in text, f"{name} printed the API key"
        assert '"output_type": "error"' not in text, name
    # anywidget is installed (dev and notebooks extras): interactive, offline charts, each
    # with a static PNG and its Vega-Lite spec beside the widget
    assert "'jupyter'" in text and "application/vnd.jupyter.widget-view+json" in text
    widget = "application/vnd.jupyter.widget-view+json"
    charts = [o["data"] for c in books[NAMES[1]].cells if c.cell_type == "code"
              for o in c.outputs if widget in o.get("data", {})]  # fmt: skip
    assert len(charts) >= 5
    assert all("image/png" in d and any("vegalite" in k for k in d) for d in charts)
    assert_html_export_shows_the_charts(books[NAMES[1]], len(charts))
    assert "wrote " in text and (tmp_path / "data" / "report.html").exists()
    assert "completed" in text  # improve jobs collected from the mock


def assert_html_export_shows_the_charts(book: Any, n_charts: int) -> None:
    """nbconvert's HTML export (no widget state saved, as on GitHub or in a mail) shows every
    chart as its PNG: the export is not blank where the widgets were."""
    import copy

    from nbconvert import HTMLExporter

    assert "widgets" in book.metadata  # nbclient saved the widgets' state...
    saved = copy.deepcopy(book)
    # ... JupyterLab does not by default (Save Widget State Automatically is off), and with it
    # the export would fetch the widget JavaScript from a CDN: export the notebook as saved
    del saved.metadata["widgets"]
    html, _ = HTMLExporter().from_notebook_node(saved)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=\n]{200,})"', html)
    assert len(images) >= n_charts, len(images)
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)


def test_real_api_mode_uses_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_mock_server: Callable[..., MockServer],
) -> None:
    # A mock stands in for the real API: the notebook must use the URL and key it is given.
    secret = "sk-live-do-not-print-3f9a"
    srv = make_mock_server(runs=300, api_key=secret)
    env: dict[str, str | None] = {
        "CEKURA_API_KEY": secret,
        "CEKURA_BASE_URL": srv.base_url,
        "CEKURA_DATA_DIR": str(tmp_path / "api"),
    }
    text = outputs_text(execute(NAMES[0], env, monkeypatch))
    assert f"Cekura API at {srv.base_url}" in text
    assert secret not in text
    assert (tmp_path / "api" / "runs").is_dir()


def test_the_key_from_a_dotenv_file_above_is_enough(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_mock_server: Callable[..., MockServer],
) -> None:
    """A .env in the project root holding only the key turns the notebooks to the API: no
    CEKURA_BASE_URL needed (the URL here comes from the SDK's CEKURA_API_URL, standing in for
    the default https://api.cekura.ai, which a test must not call)."""
    secret = "sk-live-dotenv-7c1e"
    srv = make_mock_server(runs=300, api_key=secret)
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOKS / NAMES[0], project / "notebooks" / NAMES[0])
    (project / ".env").write_text(f"CEKURA_API_KEY={secret}\n")
    env: dict[str, str | None] = {
        "CEKURA_API_KEY": None,
        "CEKURA_BASE_URL": None,
        "CEKURA_API_URL": srv.base_url,
        "CEKURA_DATA_DIR": str(tmp_path / "api"),
    }
    book = execute(NAMES[0], env, monkeypatch, cwd=project / "notebooks")
    text = outputs_text(book)
    assert f"Cekura API at {srv.base_url}" in text and secret not in text
    assert (tmp_path / "api" / "runs").is_dir()
