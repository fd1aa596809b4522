"""The command line: every command has help; errors are one line, never a traceback."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import cekura_analytics
from cekura_analytics.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += all_commands(cmd, (*prefix, name))
    return out


@pytest.mark.parametrize("path", all_commands(cli), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    cmd: Any = cli
    for part in path:
        cmd = cmd.commands[part]
    assert cmd.help and len(cmd.help.strip()) > 20
    assert "Usage:" in result.output


@pytest.mark.parametrize("path", all_commands(cli), ids=" ".join)
def test_every_command_wraps_the_public_function_of_its_name(path: tuple[str, ...]) -> None:
    """``improve launch`` -> ``cekura_analytics.improve_launch``, in ``__all__``, called by a
    command body of a few lines (sqlite-utils style)."""
    cmd: Any = cli
    for part in path:
        cmd = cmd.commands[part]
    if isinstance(cmd, click.Group):
        return
    name = "_".join(path).replace("-", "_")
    assert name in cekura_analytics.__all__, f"no public function {name} for {' '.join(path)}"
    assert callable(getattr(cekura_analytics, name))
    body = inspect.getsource(inspect.unwrap(cmd.callback)).split('"""')[-1]
    code = [line for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert f"{name}(" in body, f"the {' '.join(path)} command does not call {name}()"
    assert len(code) <= 18, f"the {' '.join(path)} command body has {len(code)} lines"


def test_extract_cli_prints_summary(mock_server: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["extract", "--base-url", mock_server.base_url, "--data-dir", str(tmp_path), "--quiet"],
        env={"CEKURA_API_KEY": "test-key"},
    )
    assert result.exit_code == 0, result.output
    assert "runs" in result.output and "rows" in result.output
    result = CliRunner().invoke(cli, ["optimize", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("optimized ") and "run_metrics" in result.output
    result = CliRunner().invoke(
        cli, ["optimize", "--data-dir", str(tmp_path), "--retain-days", "-1"]
    )
    assert (
        result.exit_code == 2  # bad input
        and result.output.startswith("error:")
        and "retain-days" in result.output
    )


@pytest.mark.parametrize(
    ("env", "words", "code"),
    [
        ({"CEKURA_API_KEY": "bad"}, "401", 1),
        ({"CEKURA_API_KEY": ""}, "CEKURA_API_KEY", 2),  # bad input: a usage error's status
    ],
    ids=["wrong-key", "no-key"],
)
def test_extract_cli_errors_are_one_line(
    mock_server: Any,
    tmp_path: Path,
    env: dict[str, str],
    words: str,
    code: int,
    monkeypatch: Any,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    result = CliRunner().invoke(
        cli,
        ["extract", "--base-url", mock_server.base_url, "--data-dir", str(tmp_path / "d")],
        env=env,
    )
    assert result.exit_code == code
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["mock-server"], ["demo", "--data-dir", "x"]])
def test_mock_commands_without_the_mock_extra_say_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if the [mock] extra were missing
    res = CliRunner().invoke(cli, command)
    assert res.exit_code == 2
    assert res.output.strip() == (
        "error: the mock server needs the [mock] extra: pip install 'cekura-analytics[mock]'"
    )


def test_mock_server_on_a_busy_port_is_one_line_exit_2() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = CliRunner().invoke(cli, ["mock-server", "--port", str(port), "--runs", "10"])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    assert res.output.startswith(f"error: mock-server cannot listen on 127.0.0.1:{port} (")
    assert "--port 0" in res.output


def test_shell_completion_as_the_readme_documents_it() -> None:
    """The README's `eval "$(_CEKURA_ANALYTICS_COMPLETE=bash_source cekura-analytics)"`:
    the script, then the completions it asks for."""
    runner = CliRunner()
    script = runner.invoke(
        cli, [], prog_name="cekura-analytics", env={"_CEKURA_ANALYTICS_COMPLETE": "bash_source"}
    )
    assert script.exit_code == 0 and "_cekura_analytics_completion()" in script.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "_CEKURA_ANALYTICS_COMPLETE=bash_source cekura-analytics" in readme
    words = runner.invoke(
        cli,
        [],
        prog_name="cekura-analytics",
        env={"_CEKURA_ANALYTICS_COMPLETE": "bash_complete", "COMP_WORDS": "cekura-analytics st",
             "COMP_CWORD": "1"},
    )  # fmt: skip
    assert "plain,status" in words.output.splitlines()
