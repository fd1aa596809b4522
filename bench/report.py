"""Report benchmark: ``cekura-analytics report`` at 200 k runs, as a whole process.

The data is synthesised by :func:`views.synthesise` (``--runs`` runs × 10 metrics, in
``--parts`` run batches), or read from ``--dir`` (an extract's data dir, say). The reference
is the same command-line process doing the least any answer from the data costs:
``cekura-analytics sql "select * from pass_rates_by_metric"`` (start-up, ``connect()`` and one
pass-rate view, the report's headline table). Each command runs on its own copy of the data,
first on data no connection has read yet (synthesised data; a cache built on first connect is
then paid where it is built), then ``--repeat`` more times: wall seconds, and peak RSS
sampled over the process (:mod:`memory`; ``ru_maxrss`` would count this bench's own).
Goal (issue 21): the report within 4 s and 400 MB at 200 k runs.

Usage: python bench/report.py [--runs 200000] [--parts 20] [--repeat 1] [--dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import memory  # noqa: E402  (sibling scripts, not a package)
from views import synthesise  # noqa: E402

#: the reference: one pass-rate view through the same command line
REFERENCE_SQL = "select * from pass_rates_by_metric"


def run_measured(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one process running ``argv`` with this checkout's
    package first on its path; raises with the end of its stderr when it fails."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    done, wall, rss = memory.run(argv, env={**os.environ, "PYTHONPATH": path}, cwd=str(ROOT))
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr[-800:]}")
    return wall, rss


def cli(*args: str) -> list[str]:
    """A ``cekura-analytics`` command line run by this interpreter."""
    return [sys.executable, "-m", "cekura_analytics", *args]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=200_000)
    ap.add_argument("--parts", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each after the first")
    ap.add_argument("--dir", type=Path, default=None, help="read this data dir (else synthesise)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cekura-bench-report-"))
    try:
        given = args.dir is not None and (args.dir / "runs").is_dir()
        data = args.dir if given else work / "data"
        if not given:
            t0 = time.perf_counter()
            synthesise(data, args.runs, args.parts)
            print(f"synthesised {args.runs:,} runs in {time.perf_counter() - t0:.1f} s")
        # its own copy for the reference, so each command's first run is on unread data
        ref_data = work / "ref"
        shutil.copytree(data, ref_data)
        commands = {
            "report": cli("report", "--data-dir", str(data), "--out", str(work / "report.html")),
            "reference": cli("sql", "--data-dir", str(ref_data), REFERENCE_SQL),
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(1 + args.repeat):
            for name, argv in commands.items():
                runs[name].append(run_measured(argv))
        n = args.runs if not given else None
        what = f"{n:,} runs" if n else str(args.dir)
        print(f"\nreport benchmark: {what}, {os.cpu_count()} cores")
        print(f"{'what':<44} {'first s':>8} {'again s':>8} {'peak RSS':>9}")
        labels = {
            "report": "cekura-analytics report",
            "reference": "cekura-analytics sql (one pass-rate view)",
        }
        timings: dict[str, float] = {}
        for name, measured in runs.items():
            first = measured[0][0]
            again = min(wall for wall, _ in measured[1:]) if len(measured) > 1 else first
            rss = max(mb for _, mb in measured)
            print(f"{labels[name]:<44} {first:8.2f} {again:8.2f} {rss:6.0f} MB")
            timings |= {f"{name}_first_s": first, f"{name}_again_s": again,
                        f"{name}_rss_mb": rss}  # fmt: skip
        print(
            f"report / reference: {timings['report_again_s'] / timings['reference_again_s']:.1f}x"
            "; goal: report within 4 s and 400 MB"
        )
        figures = {"runs": n, "dir": None if n else str(args.dir), **timings}
        if args.json:
            args.json.write_text(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
