"""Extraction benchmark against the mock at 50 ms latency, side by side in one run.

Prints, for the same mock and the same URLs:
  * cekura-analytics `extract` into Delta tables at 10 k, 20 k and 200 k runs: wall time,
    per-run cost, requests, peak RSS; then the two ratios that must stay near 1 (cost per
    run and peak RSS, 200 k over 20 k: linear cost, flat memory);
  * a bare fetch loop on 8 threads at 10 k and at 200 k runs (follow the v2 list pages,
    then `runs/bulk/` per 100 ids), and the same loop sequential at 10 k: the floor any
    extractor pays for these requests (extract / floor, per run, goal 1.3x);
  * dlt's `rest_api` source, when a Python with dlt is given (`--dlt-python`); dlt is not a
    dependency of this project: `python3 -m venv /tmp/dlt && /tmp/dlt/bin/pip install
    'dlt[duckdb]'`.

Usage: python bench/extract.py [--runs 10000] [--rss-runs 20000] [--big 200000]
                               [--latency-ms 50] [--dlt-python P] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import memory  # a sibling script: bench/ is first on the path
import requests

from cekura_analytics.api.client import MAX_PAGE_SIZE
from cekura_analytics.mock.process import mock_process

KEY = "bench-key"
HERE = Path(__file__).resolve().parent


def reset(url: str) -> None:
    requests.post(f"{url}/_mock/stats/reset", timeout=5)


def requests_made(url: str) -> int:
    return int(requests.get(f"{url}/_mock/stats", timeout=5).json()["total"])


def extract_child(url: str, data_dir: Path) -> tuple[float, float]:
    """Run `extract` in a child process; return (wall s of the extract call, peak RSS MB of
    that child and the processes it starts, sampled: see memory.py)."""
    code = (
        "import time;"
        "from cekura_analytics import extract;"
        "t = time.perf_counter();"
        f"extract({str(data_dir)!r}, base_url={url!r}, quiet=True);"
        "print(time.perf_counter() - t)"
    )
    out, _, rss = memory.run(
        [sys.executable, "-c", code], env={**os.environ, "CEKURA_API_KEY": KEY}
    )
    if out.returncode:
        raise RuntimeError(out.stderr.strip()[-800:])
    return float(out.stdout.split()[-1]), rss


def bare_loop(url: str, threads: int) -> int:
    """Fetch the same URLs as `extract` with nothing else: the v2 list pages (planned from what
    page 1 returned, as the server caps page_size), then `runs/bulk/` per 100 ids."""
    s = requests.Session()
    s.headers["X-CEKURA-API-KEY"] = KEY
    s.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads + 2))
    runs_url = f"{url}/test_framework/v2/runs/"
    first = s.get(runs_url, params={"page_size": MAX_PAGE_SIZE}).json()
    per_page = len(first["results"]) or 1
    n_pages = -(-first["count"] // per_page)
    pages = [first]

    def page(p: int) -> dict:
        return s.get(runs_url, params={"page_size": MAX_PAGE_SIZE, "page": p}).json()

    def bulk(ids: list[int]) -> list:
        r = s.get(
            f"{url}/test_framework/v2/runs/bulk/", params={"run_ids": ",".join(map(str, ids))}
        )
        return r.json()

    if threads == 1:
        nxt = first["next"]
        while nxt:
            body = s.get(nxt).json()
            pages.append(body)
            nxt = body["next"]
    else:
        with ThreadPoolExecutor(threads) as pool:
            pages += list(pool.map(page, range(2, n_pages + 1)))
    ids = [r["id"] for p in pages for r in p["results"]]
    batches = [ids[i : i + 100] for i in range(0, len(ids), 100)]
    if threads == 1:
        got = sum(len(bulk(b)) for b in batches)
    else:
        with ThreadPoolExecutor(threads) as pool:
            got = sum(len(x) for x in pool.map(bulk, batches))
    return got


#: a row of the printed table: what, wall s, runs, requests, peak RSS MB (None: not measured)
Row = tuple[str, float, int, int, float | None]


def timed_extract(url: str, n: int, data_dir: Path) -> Row:
    """``extract`` of the mock at ``url`` (``n`` runs) into ``data_dir``, in a child process."""
    reset(url)
    wall, rss = extract_child(url, data_dir)
    return (f"cekura-analytics extract, {n:,} runs", wall, n, requests_made(url), rss)


def timed_floor(url: str, n: int, threads: int) -> Row:
    """The bare loop over the same URLs on ``threads`` threads (1: sequential)."""
    reset(url)
    t = time.perf_counter()
    got = bare_loop(url, threads)
    wall = time.perf_counter() - t
    assert got == n, got
    name = "bare loop, sequential" if threads == 1 else f"bare loop, {threads} threads (floor)"
    return (f"{name}, {n:,} runs", wall, n, requests_made(url), None)


def print_rows(rows: list[Row], floor: Row) -> None:
    """The table, each row's cost per run against the floor's."""
    print(
        f"{'what':<46} {'wall s':>8} {'ms/run':>7} {'requests':>9} {'runs/s':>9} "
        f"{'peak RSS':>9} {'vs floor':>8}"
    )
    for name, wall, n, reqs, rss in rows:
        mb = "" if rss is None else f"{rss:.0f} MB"
        print(
            f"{name:<46} {wall:8.2f} {1000 * wall / n:7.3f} {reqs:9d} {n / wall:9.0f} {mb:>9} "
            f"{(wall / n) / (floor[1] / floor[2]):7.2f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000, help="runs for extract vs the floor")
    ap.add_argument(
        "--rss-runs", type=int, default=20_000, help="runs whose peak RSS the big one's is held to"
    )
    ap.add_argument("--big", type=int, default=200_000, help="runs for the scale check (0: skip)")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--dlt-python", default=os.environ.get("DLT_PYTHON"))
    ap.add_argument("--dlt-runs", type=int, default=2_000)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cekura-bench-"))
    figures: dict[str, object] = {"latency_ms": args.latency_ms, "cpus": os.cpu_count()}
    try:
        with mock_process(args.runs, 1, KEY, latency_ms=args.latency_ms) as mock_url:
            ours = timed_extract(mock_url, args.runs, work / "ours")
            floor = timed_floor(mock_url, args.runs, 8)
            rows = [ours, floor, timed_floor(mock_url, args.runs, 1)]
        figures |= {"runs": args.runs, "extract_s": ours[1], "extract_rss_mb": ours[4],
                    "floor_s": floor[1]}  # fmt: skip
        if args.rss_runs:
            with mock_process(args.rss_runs, 1, KEY, latency_ms=args.latency_ms) as mid_url:
                mid = timed_extract(mid_url, args.rss_runs, work / "mid")
            rows.append(mid)
            figures |= {"rss_runs": args.rss_runs, "rss_extract_s": mid[1],
                        "rss_rss_mb": mid[4]}  # fmt: skip
        if args.big:
            # the floor is measured again at this size, on the same mock: the per-run
            # comparison then holds whatever the mock's or the loop's cost per page does
            with mock_process(args.big, 1, KEY, latency_ms=args.latency_ms) as big_url:
                big = timed_extract(big_url, args.big, work / "big")
                big_floor = timed_floor(big_url, args.big, 8)
            rows += [big, big_floor]
            figures |= {"big": args.big, "big_extract_s": big[1], "big_rss_mb": big[4],
                        "big_floor_s": big_floor[1]}  # fmt: skip
        dlt_rows: list[Row] = []
        if args.dlt_python:
            # dlt's rest_api fetches each run's detail on its own (no bulk batching), one
            # request at a time: compared on a smaller mock, both tools on the same one.
            with mock_process(args.dlt_runs, 1, KEY, latency_ms=args.latency_ms) as small_url:
                small = timed_extract(small_url, args.dlt_runs, work / "ours-small")
                reset(small_url)
                t = time.perf_counter()
                out = subprocess.run(
                    [args.dlt_python, str(HERE / "dlt_rest_api.py"), small_url, KEY,
                     str(work / "dlt")],
                    capture_output=True,
                    text=True,
                )  # fmt: skip
                wall = time.perf_counter() - t
                if out.returncode:
                    print("dlt failed:", out.stderr[-800:], file=sys.stderr)
                else:
                    name = f"dlt rest_api, {args.dlt_runs:,} runs"
                    dlt_rows = [small, (name, wall, args.dlt_runs, requests_made(small_url), None)]
                    figures |= {"dlt_runs": args.dlt_runs, "dlt_ours_s": small[1], "dlt_s": wall}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nextract benchmark: mock at {args.latency_ms} ms latency, {os.cpu_count()} cores; "
        "'vs floor' compares the cost per run with the bare threaded loop's at "
        f"{args.runs:,} runs"
    )
    print_rows(rows, floor)
    print(f"extract / floor at {args.runs:,} runs: {ours[1] / floor[1]:.2f}x (goal 1.3x)")
    if args.big:
        print(
            f"extract / floor at {args.big:,} runs, per run: "
            f"{(big[1] / args.big) / (big_floor[1] / args.big):.2f}x (goal 1.3x); "
            f"peak RSS {big[4]:.0f} MB (goal <= 300 MB)"
        )
        if args.rss_runs:
            print(
                f"{args.big:,} vs {args.rss_runs:,} runs: cost per run "
                f"x{(big[1] / args.big) / (mid[1] / args.rss_runs):.2f} (goal within 10 %), "
                f"peak RSS x{(big[4] or 0) / (mid[4] or 1):.2f} (goal within 20 %: flat)"
            )
    if dlt_rows:
        print(f"\nside by side with dlt ({args.dlt_runs:,} runs, same mock):")
        print_rows(dlt_rows, dlt_rows[0])
        print(f"dlt / cekura-analytics: {dlt_rows[1][1] / dlt_rows[0][1]:.0f}x (goal >= 50x)")
    if args.json:
        args.json.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
