"""When the data dir is damaged or the disk misbehaves, every command ends in one line that
says what happened and what to do, and nothing committed is lost.

A full disk and a read-only one are real: a tmpfs mounted in a private mount namespace
(``unshare -rm``, no root needed where user namespaces are on), with ``extract`` and the
other commands run inside it as a user runs them.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import result, run, write_part, write_tables

import cekura_analytics
from cekura_analytics.cli import cli
from cekura_analytics.errors import DataError, StoreError
from cekura_analytics.lake.maintenance import open_writer, optimize
from cekura_analytics.warehouse.connection import connect, fetch, query

ROOT = Path(cekura_analytics.__file__).resolve().parents[1]
COUNT_RUNS = "select count(*) as n from stg_runs"


def one_line(res: Any) -> str:
    """The single non-empty line a failed command printed (asserted to be one)."""
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return str(lines[0])


def runs_in_commits(data_dir: Path, commits: int, per: int = 50) -> None:
    """``commits`` appends of ``per`` runs (one data file and one log file each)."""
    for c in range(commits):
        write_part(data_dir, "runs", [run(i) for i in range(c * per + 1, (c + 1) * per + 1)])
    write_part(data_dir, "run_metrics", [result(i, 1) for i in range(1, commits * per + 1)])


# -- the Delta log ---------------------------------------------------------------------------


def test_a_table_without_its_delta_log_is_an_error_not_zero_runs(tmp_path: Path) -> None:
    write_tables(
        tmp_path,
        runs=[run(i) for i in range(1, 51)],
        run_metrics=[result(i, 1) for i in range(1, 51)],
    )
    shutil.rmtree(tmp_path / "runs" / "_delta_log")
    with pytest.raises(StoreError) as err:
        query(tmp_path, COUNT_RUNS)
    msg = str(err.value)
    assert f"{tmp_path}/runs/_delta_log is missing" in msg and "1 data files" in msg
    assert "extract --full" in msg and "\n" not in msg
    res = CliRunner().invoke(cli, ["sql", "--data-dir", str(tmp_path), COUNT_RUNS])
    assert res.exit_code == 1 and "_delta_log is missing" in one_line(res)
    with pytest.raises(StoreError, match="_delta_log is missing"), open_writer(tmp_path):
        pass  # a writer refuses too, rather than start an empty table over the files


@pytest.mark.parametrize("which", ["newest", "middle"])
def test_a_corrupt_delta_log_file_is_named_with_a_fix(tmp_path: Path, which: str) -> None:
    runs_in_commits(tmp_path, 4)
    logs = sorted((tmp_path / "runs" / "_delta_log").glob("*.json"))
    victim = logs[-1] if which == "newest" else logs[1]
    victim.write_text('{"add": {"path": "part-')
    with pytest.raises(StoreError) as err:
        query(tmp_path, COUNT_RUNS)
    msg = str(err.value)
    assert f"Delta log file {victim} is corrupt" in msg and "\n" not in msg
    if which == "middle":
        assert "restore it from a backup" in msg
        return
    aside = tmp_path / "_damaged" / "runs" / "_delta_log"
    assert f"move it to {aside}/" in msg and "extract --full" in msg
    aside.mkdir(parents=True)
    victim.replace(aside / victim.name)  # the fix it offers works: the version before reads
    assert query(tmp_path, COUNT_RUNS)["n"][0] == 150


# -- readers and optimize -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "words", "not_words"),
    [
        ("vacuumed", "older than the retention window", "--repair"),
        ("deleted", "extract --repair", "retention"),
    ],
)
def test_a_file_gone_under_an_open_reader_says_why(
    tmp_path: Path, how: str, words: str, not_words: str
) -> None:
    runs_in_commits(tmp_path, 6)
    con = connect(tmp_path)
    try:
        if how == "vacuumed":
            optimize(tmp_path, retain_days=0)  # compacts, then deletes what con still reads
        else:
            os.remove(sorted((tmp_path / "runs").glob("*.parquet"))[0])
        with pytest.raises(DataError) as err:
            fetch(con, COUNT_RUNS)
    finally:
        con.close()
    msg = str(err.value)
    assert words in msg and not_words not in msg and "\n" not in msg
    if how == "vacuumed":
        assert query(tmp_path, COUNT_RUNS)["n"][0] == 300  # a new reader: all there


# -- a full disk and a read-only one, for real ---------------------------------------------


@functools.cache
def _namespaces() -> bool:
    """Can this machine mount a tmpfs in a private mount namespace (``unshare -rm``)?"""
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d && rmdir $d"
    try:
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", probe], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def in_namespace(tmp_path: Path, script: str, **env: str) -> dict[str, str]:
    """Run ``script`` (bash) in a private mount namespace, a tmpfs at ``$MNT``; returns
    the files it wrote to ``$OUT`` (name -> text)."""
    if not _namespaces():
        pytest.skip("needs unshare -rm and tmpfs mounts (user namespaces)")
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    cmd = f"{shlex.quote(sys.executable)} -m cekura_analytics"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "CEKURA_API_KEY": "test-key"}
    full_env |= {"MNT": str(mnt), "OUT": str(out), "CLI": cmd, "PY": sys.executable, **env}
    done = subprocess.run(
        ["unshare", "-rm", "bash", "-c", "set -u\n" + script],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {p.name: p.read_text() for p in out.iterdir()}


COUNT = (
    "from cekura_analytics.lake.store import Store; import json, sys; "
    "r = Store(sys.argv[1]).read('runs')['run_id']; print(json.dumps([r.len(), r.n_unique()]))"
)


def test_a_full_disk_says_disk_full_and_keeps_what_was_committed(
    make_mock_server: Any, tmp_path: Path
) -> None:
    srv = make_mock_server(runs=300)
    out = in_namespace(
        tmp_path,
        """
        mount -t tmpfs -o size=2m tmpfs "$MNT"
        step() {  # step NAME: extract, its output, exit code and the runs stored after it
          $CLI extract --base-url "$URL" --data-dir "$MNT/d" --quiet > "$OUT/$1.txt" 2>&1
          echo $? > "$OUT/$1.rc"
          "$PY" -c "$COUNT" "$MNT/d" > "$OUT/$1.runs" 2>&1
        }
        step first
        "$PY" -c "import requests; requests.post('$URL/_mock/runs/add?n=400').raise_for_status()"
        dd if=/dev/zero of="$MNT/reserve" bs=64k count=1 2>/dev/null
        dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null  # until the disk is full
        rm "$MNT/reserve"  # 64 KB left: a batch or two fits, then the disk is full
        step full
        rm "$MNT/filler"
        step freed
        """,
        URL=srv.base_url,
        COUNT=COUNT,
    )
    assert out["first.rc"].strip() == "0" and json.loads(out["first.runs"]) == [300, 300]
    assert out["full.rc"].strip() == "1"
    lines = [ln for ln in out["full.txt"].splitlines() if ln.strip()]
    assert len(lines) == 1, lines  # no Rust panic report, no traceback
    assert lines[0].startswith("error:") and "disk full" in lines[0] and "rerun" in lines[0]
    stored, distinct = json.loads(out["full.runs"])  # committed batches intact, readable
    assert 300 <= stored == distinct < 700
    assert out["freed.rc"].strip() == "0", out["freed.txt"]
    assert json.loads(out["freed.runs"]) == [700, 700] == [srv.data.runs.height] * 2


def test_a_read_only_data_dir_says_so_for_every_writing_command(
    make_mock_server: Any, tmp_path: Path
) -> None:
    srv = make_mock_server(runs=300)
    commands = {
        "extract": f"extract --base-url {srv.base_url} --quiet",
        "optimize": "optimize",
        "failure-modes": "failure-modes",
        "report": "report",
    }
    runs = "\n".join(
        f'$CLI {cmd} --data-dir "$MNT/d" > "$OUT/{name}.txt" 2>&1; echo $? > "$OUT/{name}.rc"'
        for name, cmd in commands.items()
    )
    out = in_namespace(
        tmp_path,
        f"""
        mount -t tmpfs -o size=50m tmpfs "$MNT"
        $CLI extract --base-url {srv.base_url} --data-dir "$MNT/d" --quiet > /dev/null
        mount -o remount,ro "$MNT"
        {runs}
        $CLI sql --data-dir "$MNT/d" --format csv "{COUNT_RUNS}" > "$OUT/sql.txt" 2>&1
        """,
    )
    for name in commands:
        lines = [ln for ln in out[f"{name}.txt"].splitlines() if ln.strip()]
        assert out[f"{name}.rc"].strip() == "1" and len(lines) == 1, (name, lines)
        assert lines[0].startswith("error:") and "read-only file system" in lines[0], name
    assert "--out" in out["report.txt"]  # report can write elsewhere
    assert out["sql.txt"].split() == ["n", "300"]  # reading works as it is
