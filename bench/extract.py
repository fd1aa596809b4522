"""Extraction benchmark against the mock at 50 ms latency, side by side in one run.

Prints, for the same mock and the same URLs:
  * cekura-analytics `extract` (20 k runs): wall time, requests, runs/s, peak RSS;
  * a bare sequential fetch loop (follow `next`, then `runs/bulk/` per page), and the same
    loop on 8 threads: the floor any extractor pays for these requests;
  * dlt's `rest_api` source, when a Python with dlt is given (`--dlt-python`); dlt is not a
    dependency of this project: `python3 -m venv /tmp/dlt && /tmp/dlt/bin/pip install dlt`;
  * peak RSS of `extract` for 20 k and 200 k runs (memory must stay flat).

Usage: python bench/extract.py [--runs 20000] [--big 200000] [--latency-ms 50] [--dlt-python P]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

KEY = "bench-key"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mock:
    """The mock server in its own process, as a user would run it."""

    def __init__(self, runs: int, latency_ms: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "cekura_analytics",
            "mock-server",
            "--port",
            str(self.port),
            "--runs",
            str(runs),
            "--seed",
            "1",
            "--api-key",
            KEY,
            "--latency-ms",
            str(latency_ms),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/_mock/stats", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError("mock server did not start")

    def reset(self) -> None:
        requests.post(f"{self.url}/_mock/stats/reset", timeout=5)

    def requests_made(self) -> int:
        return int(requests.get(f"{self.url}/_mock/stats", timeout=5).json()["total"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


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
    """Fetch the same URLs with nothing else: list pages via `next`, bulk per 100 ids."""
    s = requests.Session()
    s.headers["X-CEKURA-API-KEY"] = KEY
    s.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads + 2))
    first = s.get(f"{url}/test_framework/v1/runs/", params={"page_size": 500}).json()
    n_pages = -(-first["count"] // 500)
    pages = [first]

    def page(p: int) -> dict:
        return s.get(f"{url}/test_framework/v1/runs/", params={"page_size": 500, "page": p}).json()

    def bulk(ids: list[int]) -> list:
        r = s.get(
            f"{url}/test_framework/v1/runs/bulk/", params={"run_ids": ",".join(map(str, ids))}
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
    mock = Mock(args.runs, args.latency_ms)
    try:
        mock.reset()
        wall, rss = extract_child(mock.url, work / "ours")
        ours = wall
        rows.append(
            (
                "cekura-analytics extract",
                wall,
                mock.requests_made(),
                args.runs / wall,
                f"{rss:.0f} MB",
            )
        )
        for threads, name in [(8, "bare loop, 8 threads"), (1, "bare loop, sequential")]:
            mock.reset()
            t = time.perf_counter()
            n = bare_loop(mock.url, threads)
            wall = time.perf_counter() - t
            assert n == args.runs, n
            rows.append((name, wall, mock.requests_made(), n / wall, ""))
    finally:
        mock.stop()
    if args.dlt_python:
        # dlt's rest_api fetches each run's detail on its own (no bulk batching), one request
        # at a time: compared on a smaller mock, both tools on the same one.
        small = Mock(args.dlt_runs, args.latency_ms)
        try:
            small.reset()
            wall_ours, _ = extract_child(small.url, work / "ours-small")
            n_ours = small.requests_made()
            small.reset()
            t = time.perf_counter()
            out = subprocess.run(
                [args.dlt_python, str(HERE / "dlt_rest_api.py"), small.url, KEY, str(work / "dlt")],
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
                        small.requests_made(),
                        args.dlt_runs / wall,
                        "",
                    )
                )
        finally:
            small.stop()
    if args.big:
        big = Mock(args.big, args.latency_ms)
        try:
            big.reset()
            wall, rss = extract_child(big.url, work / "big")
            rows.append(
                (
                    f"cekura-analytics extract, {args.big:,} runs",
                    wall,
                    big.requests_made(),
                    args.big / wall,
                    f"{rss:.0f} MB",
                )
            )
        finally:
            big.stop()
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nextract benchmark: mock at {args.latency_ms} ms latency, {args.runs:,} runs, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'what':<40} {'wall s':>8} {'requests':>9} {'runs/s':>9} {'peak RSS':>9} {'vs ours':>8}"
    )
    for name, wall, reqs, rate, rss in rows:
        print(f"{name:<40} {wall:8.2f} {reqs:9d} {rate:9.0f} {rss:>9} {wall / ours:7.2f}x")
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
