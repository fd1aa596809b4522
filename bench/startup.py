"""Start-up benchmark: how long ``cekura-analytics --help`` (and a command's ``--help``) takes
as a whole process, the way a user's shell runs it.

Each figure is the median (with min and max) of ``--repeat`` runs of a fresh interpreter;
the first run is a warm-up (it fills the OS file cache and ``__pycache__``) and is not
counted. Goal: under 1 s on 2 cores. ``tests/cli/test_startup.py`` checks the cause (no
heavy library is imported by ``--help``), this script measures the effect.

Usage: python bench/startup.py [--repeat 9] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["extract", "--help"], ["report", "--help"], ["--version"])
GOAL_S = 1.0


def timed(args: list[str]) -> float:
    """Seconds for one ``python -m cekura_analytics ARGS`` process, start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cekura_analytics", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    """Print one line per command: median, min and max seconds over the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per command")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    worst = 0.0
    for command in COMMANDS:
        timed(command)  # warm-up, not counted
        runs = [timed(command) for _ in range(args.repeat)]
        median = statistics.median(runs)
        worst = max(worst, median)
        label = "cekura-analytics " + " ".join(command)
        print(
            f"{label:<34} median {median:.3f} s  (min {min(runs):.3f}, max {max(runs):.3f}, "
            f"{args.repeat} runs)"
        )
    verdict = "under" if worst < GOAL_S else "OVER"
    print(f"slowest median {worst:.3f} s: {verdict} the {GOAL_S:g} s goal")
    if args.json:
        args.json.write_text(json.dumps({"slowest_median_s": worst, "repeat": args.repeat}))


if __name__ == "__main__":
    main()
