"""The notebooks run top to bottom against the mock, are stored clean, never show the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from cekura_analytics.mock import MockServer

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_extract.ipynb", "02_pass_rates.ipynb", "03_outliers_and_improve.ipynb")
MOCK_KEY = "notebook-mock-key"  # the key notebooks give their embedded mock


def execute(name: str, env: dict[str, str | None], mp: pytest.MonkeyPatch) -> Any:
    """Run one notebook in a fresh kernel (it inherits ``env``); return it with outputs."""
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
        resources={"metadata": {"path": str(NOTEBOOKS)}},
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


def test_notebooks_run_against_the_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env: dict[str, str | None] = {
        "CEKURA_API_KEY": None,
        "CEKURA_BASE_URL": None,
        "CEKURA_DATA_DIR": str(tmp_path / "data"),
    }
    for name in NAMES:  # in order: 02 and 03 reuse what 01 extracted
        book = execute(name, env, monkeypatch)
        text = outputs_text(book)
        assert "embedded mock" in text, name
        assert MOCK_KEY not in text, f"{name} printed the API key"
        assert '"output_type": "error"' not in text, name
    # anywidget is installed (dev and notebooks extras): interactive, offline charts
    assert "'jupyter'" in text and "application/vnd.jupyter.widget-view+json" in text
    assert "wrote " in text and (tmp_path / "data" / "report.html").exists()
    assert "completed" in text  # improve jobs collected from the mock


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
