"""``status``: what a data dir holds, from the Delta logs and the sync state alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from cekura_analytics import extract
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError
from cekura_analytics.lake.overview import status


def test_status_after_an_extract(mock_server: Any, key_env: None, tmp_path: Path) -> None:
    d = tmp_path / "d"
    summary = extract(d, base_url=mock_server.base_url, quiet=True)
    got = status(d)
    assert {t: v["rows"] for t, v in got.tables.items()} == summary.rows
    assert got.tables["runs"]["rows"] == 600 and got.tables["runs"]["grain"] == "one row per run"
    assert got.last_sync is not None and got.last_sync["runs_fetched"] == 600
    newest = pl.read_delta(str(d / "runs"))["timestamp"].max()
    assert got.watermarks == {"all": newest.isoformat().replace("+00:00", "Z")}  # type: ignore[union-attr]
    assert got.api_version == "v2" and got.in_progress is None
    text = CliRunner().invoke(cli, ["status", "--data-dir", str(d)])
    assert text.exit_code == 0, text.output
    assert "last sync: " in text.output and "watermark (all): runs up to " in text.output
    assert any(ln.split()[:2] == ["runs", "600"] for ln in text.output.splitlines())
    js = CliRunner().invoke(cli, ["status", "--format", "json"], env={"CEKURA_DATA_DIR": str(d)})
    assert js.exit_code == 0 and json.loads(js.output)["tables"]["runs"]["rows"] == 600


def test_status_of_a_missing_or_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        status(tmp_path / "typo")
    assert status(tmp_path).tables == {}
    res = CliRunner().invoke(cli, ["status", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0 and "no tables yet" in res.output


def test_data_dir_defaults_to_the_environment(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["status"], env={"CEKURA_DATA_DIR": str(tmp_path)})
    assert res.exit_code == 0 and f"data dir {tmp_path}" in res.output
    missing = CliRunner().invoke(cli, ["status"], env={"CEKURA_DATA_DIR": None})
    assert missing.exit_code == 2 and "--data-dir" in missing.output
    helped = CliRunner().invoke(cli, ["pass-rates", "--help"])
    assert "CEKURA_DATA_DIR" in helped.output
