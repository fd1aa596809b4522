"""Extraction benchmark against the mock at 50 ms latency, side by side in one run.

Prints, for the same mock and the same URLs:
  * cekura-analytics `extract` into Delta tables at 20 k and 200 k runs: wall time,
    per-run cost, requests, peak RSS; then the two ratios that must stay near 1 (cost per
    run and peak RSS, 200 k over 20 k: linear cost, flat memory);
  * a bare sequential fetch loop (follow `next`, then `runs/bulk/` per page), and the same
    loop on 8 threads: the floor any extractor pays for these requests (extract / floor);
  * dlt's `rest_api` source, when a Python with dlt is given (`--dlt-python`); dlt is not a
    dependency of this project: `python3 -m venv /tmp/dlt && /tmp/dlt/bin/pip install dlt`.

Usage: python bench/extract.py [--runs 20000] [--big 200000] [--latency-ms 50] [--dlt-python P]
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
    """Run `extract` in a child process; return (wall s, peak RSS MB) of that child."""
    code = (
        "import resource, sys, time;"
        "from cekura_analytics import extract;"
        "t = time.perf_counter();"
        f"extract({str(data_dir)!r}, base_url={url!r}, quiet=True);"
        "w = time.perf_counter() - t;"
        "print(w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CEKURA_API_KEY": KEY},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(out.stderr.strip()[-800:])
    wall, rss = out.stdout.split()
    return float(wall), float(rss)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--big", type=int, default=200_000, help="runs for the memory check (0: skip)")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--dlt-python", default=os.environ.get("DLT_PYTHON"))
    ap.add_argument("--dlt-runs", type=int, default=2_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cekura-bench-"))
    rows: list[tuple[str, float, int, float, str]] = []
    dlt_rows: list[tuple[str, float, int, float, str]] = []
    with mock_process(args.runs, 1, KEY, latency_ms=args.latency_ms) as mock_url:
        reset(mock_url)
        wall, rss = extract_child(mock_url, work / "ours")
        ours = wall
        rows.append(
            (
                f"cekura-analytics extract, {args.runs:,} runs",
                wall,
                requests_made(mock_url),
                args.runs / wall,
                f"{rss:.0f} MB",
            )
        )
        for threads, name in [(8, "bare loop, 8 threads (floor)"), (1, "bare loop, sequential")]:
            reset(mock_url)
            t = time.perf_counter()
            n = bare_loop(mock_url, threads)
            wall = time.perf_counter() - t
            assert n == args.runs, n
            rows.append((name, wall, requests_made(mock_url), n / wall, ""))
    if args.dlt_python:
        # dlt's rest_api fetches each run's detail on its own (no bulk batching), one request
        # at a time: compared on a smaller mock, both tools on the same one.
        with mock_process(args.dlt_runs, 1, KEY, latency_ms=args.latency_ms) as small_url:
            reset(small_url)
            wall_ours, _ = extract_child(small_url, work / "ours-small")
            n_ours = requests_made(small_url)
            reset(small_url)
            t = time.perf_counter()
            out = subprocess.run(
                [args.dlt_python, str(HERE / "dlt_rest_api.py"), small_url, KEY, str(work / "dlt")],
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - t
            if out.returncode:
                print("dlt failed:", out.stderr[-800:], file=sys.stderr)
            else:
                dlt_rows.append(
                    (
                        f"cekura-analytics extract, {args.dlt_runs:,} runs",
                        wall_ours,
                        n_ours,
                        args.dlt_runs / wall_ours,
                        "",
                    )
                )
                dlt_rows.append(
                    (
                        f"dlt rest_api, {args.dlt_runs:,} runs",
                        wall,
                        requests_made(small_url),
                        args.dlt_runs / wall,
                        "",
                    )
                )
    if args.big:
        with mock_process(args.big, 1, KEY, latency_ms=args.latency_ms) as big_url:
            reset(big_url)
            wall, rss = extract_child(big_url, work / "big")
            rows.append(
                (
                    f"cekura-analytics extract, {args.big:,} runs",
                    wall,
                    requests_made(big_url),
                    args.big / wall,
                    f"{rss:.0f} MB",
                )
            )
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nextract benchmark: mock at {args.latency_ms} ms latency, {args.runs:,} runs, "
        f"{os.cpu_count()} cores"
    )
    floor = rows[1][1]  # the threaded bare loop
    print(
        f"{'what':<40} {'wall s':>8} {'ms/run':>7} {'requests':>9} {'runs/s':>9} "
        f"{'peak RSS':>9} {'vs floor':>8}"
    )
    for name, wall, reqs, rate, rss in rows:
        n = args.big if args.big and name.endswith(f" {args.big:,} runs") else args.runs
        print(
            f"{name:<40} {wall:8.2f} {1000 * wall / n:7.3f} {reqs:9d} {rate:9.0f} {rss:>9} "
            f"{(wall / n) / (floor / args.runs):7.2f}x"  # per run, vs the floor's per run
        )
    if args.big:
        small, big = rows[0], rows[-1]
        per_run = (big[1] / args.big) / (small[1] / args.runs)
        rss_ratio = float(big[4].split()[0]) / float(small[4].split()[0])
        print(
            f"{args.big:,} vs {args.runs:,} runs: cost per run x{per_run:.2f} (goal within 10 %), "
            f"peak RSS x{rss_ratio:.2f} (goal within 20 %); extract / floor at "
            f"{args.runs:,}: {ours / floor:.2f}x (goal 1.3x)"
        )
    if dlt_rows:
        print(f"\nside by side with dlt ({args.dlt_runs:,} runs, same mock):")
        for name, wall, reqs, rate, rss in dlt_rows:
            print(
                f"{name:<40} {wall:8.2f} {reqs:9d} {rate:9.0f} {rss:>9} "
                f"{wall / dlt_rows[0][1]:7.2f}x"
            )
    print(json.dumps({"rows": rows, "dlt": dlt_rows}))


if __name__ == "__main__":
    main()
