"""Every benchmark figure in one table, each against its reference measured in the same run
(``make bench``).

Runs ``bench/startup.py``, ``extract.py``, ``views.py``, ``report.py`` and
``failure_modes.py`` one after the other, each in a child process with this checkout's package
first on its path and at its own default sizes (``--quick``: small ones, a few minutes in
all; the goals are stated for the default sizes). Their own output shows as it comes; each
writes its figures with ``--json``, and this script prints them as one Markdown table:
figure | measured | reference | ratio (measured / reference) | goal | met?, then what each
reference is. The dlt comparison runs only when a Python with dlt is given (``--dlt-python``
or ``$DLT_PYTHON``).

Usage: python bench/all.py [--quick] [--dlt-python P] [--only extract,views,...] [--json FILE]
       python bench/all.py --from-json FILE   (the table of a saved run, nothing measured)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: the benches in the order they run, with their arguments at --quick (none at full size:
#: each script's defaults are the sizes its goals are stated for)
QUICK: dict[str, list[str]] = {
    "startup": ["--repeat", "3"],
    "extract": ["--runs", "1000", "--rss-runs", "2000", "--big", "10000", "--dlt-runs", "200"],
    "views": ["--runs", "100000", "--parts", "5", "--repeat", "2"],
    "report": ["--runs", "20000", "--parts", "4"],
    "failure_modes": ["--failures", "10000", "--new", "1000"],
}


@dataclass(frozen=True)
class Row:
    """One line of the table; ``met`` is None where there is no goal or no figure."""

    figure: str
    measured: str
    reference: str = ""
    ratio: float | None = None
    goal: str = "—"
    met: bool | None = None


def s(x: float) -> str:
    """Seconds as the table shows them."""
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def ms(x: float) -> str:
    return f"{x:.3f} ms"


def mb(x: float) -> str:
    return f"{x:.0f} MB"


def plain(x: float) -> str:
    return f"{x:.3f}"


def row(
    figure: str,
    measured: float,
    reference: float,
    what: str,
    goal: str = "—",
    met: bool | None = None,
    unit: Callable[[float], str] = s,
) -> Row:
    """``measured`` against ``reference`` (``what`` names the reference): ratio measured / ref."""
    return Row(figure, unit(measured), f"{unit(reference)} {what}", measured / reference, goal, met)


def missing(figure: str, why: str) -> Row:
    """A row for a figure this run did not measure."""
    return Row(figure, f"not measured: {why}")


def extract_rows(f: dict[str, Any]) -> list[Row]:
    n, big = f["runs"], f.get("big")
    ratio = f["extract_s"] / f["floor_s"]
    rows = [
        row(f"extract {n:,} runs @ {f['latency_ms']} ms vs the floor", f["extract_s"],
            f["floor_s"], "bare loop", "≤ 1.3×", ratio <= 1.3),
    ]  # fmt: skip
    if not big:
        return [*rows, missing("extract at scale", "--big 0")]
    per, floor = 1000 * f["big_extract_s"] / big, 1000 * f["big_floor_s"] / big
    rows.append(
        row(f"extract {big:,} runs vs the floor, per run", per, floor, "bare loop", "≤ 1.3×",
            per / floor <= 1.3, ms)
    )  # fmt: skip
    if f.get("rss_runs"):
        big_mb, mid_mb = f["big_rss_mb"], f["rss_rss_mb"]
        rows.append(
            row(f"extract peak RSS at {big:,} runs", big_mb, mid_mb,
                f"at {f['rss_runs']:,} runs", "≤ 300 MB, flat (≤ 1.2×)",
                big_mb <= 300 and big_mb / mid_mb <= 1.2, mb)
        )  # fmt: skip
    return rows


def views_rows(f: dict[str, Any]) -> list[Row]:
    n = f"{f['runs']:,} runs"
    slowest, view_s = f["slowest_pass_rate_view"], f["slowest_pass_rate_s"]
    first, again = f["connect_first_s"], f["connect_again_s"]
    fresh = "fresh" if f["fresh"] else "existing"
    rows = [
        row(f"connect(), first on {fresh} data, {n}", first, f["list_snapshot_s"],
            "listing files"),
        row(f"connect() again, same snapshot, {n}", again, first, "first connect()"),
        row(f"slowest pass-rate view ({slowest}), {n}", view_s, f["bare_scan_s"], "bare scan",
            "< 0.25 s", view_s < 0.25),
    ]  # fmt: skip
    question = again + view_s  # the least one question of a data dir costs
    for name, wall in f["questions_s"].items():
        label = name.replace("_", "-")
        rows.append(
            row(f"`{label}` asked of the data dir, {n}", wall, question, "connect + view",
                "< 1 s", wall < 1)
        )  # fmt: skip
    if f.get("pandas_ratio_min") is not None:
        ratio = f["pandas_ratio_min"]
        rows.append(
            Row(f"metric pass-rate views vs pandas (least), {n}", f"{ratio:.1f}× faster",
                "pandas, same files", ratio, "≥ 10×, same numbers",
                ratio >= 10 and bool(f["pandas_same"]))
        )  # fmt: skip
    return rows


def report_rows(f: dict[str, Any]) -> list[Row]:
    n = f"{f['runs']:,} runs" if f.get("runs") else f["dir"]
    rows = [
        row(f"`report`, {n}, {when}", f[f"report_{key}_s"],
            f[f"reference_{key}_s"], "`sql`, one view", "≤ 4 s", f[f"report_{key}_s"] <= 4)
        for key, when in (("first", "first on fresh data"), ("again", "again"))
    ]  # fmt: skip
    rss = f["report_rss_mb"]
    rows.append(
        row(f"`report` peak RSS, {n}", rss, f["reference_rss_mb"], "`sql`, one view",
            "≤ 400 MB", rss <= 400, mb)
    )  # fmt: skip
    return rows


def dlt_rows(f: dict[str, Any]) -> list[Row]:
    figure = "vs dlt `rest_api`, same mock, per-run detail"
    if "dlt_s" not in f:
        return [missing(figure, "give --dlt-python (a Python with dlt[duckdb])")]
    ratio = f["dlt_s"] / f["dlt_ours_s"]
    return [
        row(f"{figure}, {f['dlt_runs']:,} runs (dlt's time)", f["dlt_s"], f["dlt_ours_s"],
            "extract", "≥ 50×", ratio >= 50)
    ]  # fmt: skip


def modes_rows(f: dict[str, Any]) -> list[Row]:
    n, new = f"{f['failures']:,}", f"{f['new']:,}"
    return [
        row(f"failure modes: worst ARI, {n} failures", f["worst_ari"], 0.8, "goal", "≥ 0.8",
            f["worst_ari"] >= 0.8, plain),
        row(f"failure modes: cluster {n} failures", f["cluster_s"], 30, "goal", "< 30 s",
            f["cluster_s"] < 30),
        row(f"failure modes: assign {new} new failures", f["assign_s"], 2, "goal", "< 2 s",
            f["assign_s"] < 2),
    ]  # fmt: skip


def startup_rows(f: dict[str, Any]) -> list[Row]:
    wall = f["slowest_median_s"]
    return [row("`--help` start-up, slowest median", wall, 1, "goal", "< 1 s", wall < 1)]


#: bench -> its rows, in the table's order (the dlt row comes from the extract bench)
ROWS: list[tuple[str, Callable[[dict[str, Any]], list[Row]]]] = [
    ("extract", extract_rows),
    ("views", views_rows),
    ("report", report_rows),
    ("extract", dlt_rows),
    ("failure_modes", modes_rows),
    ("startup", startup_rows),
]

#: what each reference is, printed under the table
REFERENCES = """\
References, each measured in the same run:
- bare loop: the same requests as `extract` (v2 list pages, then `runs/bulk/` per 100 ids) on 8
  threads, JSON parsed and nothing else, on the same mock and at the same size: the floor.
- extract peak RSS: the same extract at the smaller size (flat memory: the ratio near 1). Peak
  RSS is sampled every 20 ms over the process and those it starts (the extract's worker).
- listing files: opening every table's latest Delta snapshot and listing its data files, the
  part of `connect()` no reader avoids; first connect(): the previous row (a cache kept per
  snapshot shows as a ratio well under 1).
- bare scan: a bare DuckDB connection reading the snapshot's run_metrics and runs files, joined
  on run_id and counted per metric (no views, pass rule or intervals): the floor of a view.
- connect + view: connect() again plus the slowest pass-rate view, i.e. the least one question
  asked of a data dir costs (gate, flaky and review-agreement each open their own connection,
  as their commands do).
- `sql`, one view: `cekura-analytics sql "select * from pass_rates_by_metric"` as a whole
  process on its own copy of the data, first on fresh data and again (wall, peak RSS).
- extract (dlt row): our extract of the same mock; dlt fetches each run's detail on its own.
- goal: no same-run reference exists; the ratio is measured / goal."""


def machine() -> str:
    """One line: date, cores, CPU model, memory, Python."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(
        int(line.split()[1]) / 1024**2
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{date.today().isoformat()}, {os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def run_bench(name: str, args: list[str], out: Path) -> tuple[dict[str, Any] | None, float]:
    """Run ``bench/<name>.py`` with ``args``; (its figures or None if it failed, seconds)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    print(f"\n=== bench/{name}.py {' '.join(args)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(out)],
        env={**os.environ, "PYTHONPATH": path},
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode or not out.exists():
        print(f"=== bench/{name}.py failed (exit {done.returncode})", flush=True)
        return None, wall
    return json.loads(out.read_text()), wall


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| figure | measured | reference | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×" if r.ratio < 10 else f"{r.ratio:.1f}×"
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        lines.append(f"| {r.figure} | {r.measured} | {r.reference} | {ratio} | {r.goal} | {met} |")
    return "\n".join(lines)


def summary(run: dict[str, Any]) -> str:
    """The table of a run (``machine``, ``quick``, ``ran``, ``took``, ``figures``) and what
    each reference is."""
    figures, ran = run["figures"], run["ran"]
    rows: list[Row] = []
    for name, make in ROWS:
        if name not in ran:
            continue
        if name in figures:
            rows += make(figures[name])
        else:
            rows.append(missing(f"bench/{name}.py", "it failed (see its output above)"))
    sizes = "quick sizes (the goals are for the default sizes)" if run["quick"] else "default sizes"
    took = ", ".join(f"{n} {t:.0f} s" for n, t in run["took"].items())
    met = [r.met for r in rows if r.met is not None]
    return (
        f"## Benchmarks: {sizes}\n\n{run['machine']}; each bench in its own process, in turn: "
        f"{took}\n\n{table(rows)}\n\n{REFERENCES}\n\n{sum(met)} of {len(met)} goals met."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, a few minutes in all")
    ap.add_argument("--dlt-python", default=os.environ.get("DLT_PYTHON"))
    ap.add_argument("--only", default=",".join(QUICK), help="comma-separated benches to run")
    ap.add_argument("--json", type=Path, default=None, help="also write every figure here")
    ap.add_argument("--from-json", type=Path, default=None, help="print a saved run's table")
    args = ap.parse_args()
    if args.from_json:
        print(summary(json.loads(args.from_json.read_text())))
        return
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(only) - set(QUICK))
    if unknown:
        ap.error(f"unknown bench {', '.join(unknown)}: choose from {', '.join(QUICK)}")

    run: dict[str, Any] = {"machine": machine(), "quick": args.quick, "ran": [], "took": {},
                           "figures": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cekura-bench-all-") as tmp:
        for name in (b for b in QUICK if b in only):
            extra = list(QUICK[name]) if args.quick else []
            if name == "extract" and args.dlt_python:
                extra += ["--dlt-python", args.dlt_python]
            got, run["took"][name] = run_bench(name, extra, Path(tmp) / f"{name}.json")
            run["ran"].append(name)
            if got is not None:
                run["figures"][name] = got
    print("\n" + summary(run))
    if args.json:
        args.json.write_text(json.dumps(run, indent=1))


if __name__ == "__main__":
    main()
