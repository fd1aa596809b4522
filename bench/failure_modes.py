"""Failure-modes benchmark: recovery of the mock's planted modes, clustering and assignment time.

Explanations are generated straight from ``cekura_analytics.mock.modes`` (the texts the mock
serves for failed results, with their planted mode), ``--failures`` in all, split evenly over
the 10 metrics -- no mock extraction of a few million runs is needed for 100 k failures.
The clustering is :func:`cekura_analytics.analysis.clustering.fit_modes` on the texts that
:func:`cekura_analytics.analysis.modes.mode_text` gives, i.e. what ``failure-modes`` runs per
metric (the DuckDB read of the failures and the parquet writes are not in the timing).

Prints, per metric, the adjusted Rand index of recovered vs planted modes (goal >= 0.8 each),
then the time to cluster all failures (goal < 30 s on 2 cores) and to assign ``--new`` new
failures incrementally to the stored modes (goal < 2 s).

Usage: python bench/failure_modes.py [--failures 100000] [--new 10000] [--seed 0] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cekura_analytics.analysis import clustering as mc
from cekura_analytics.analysis.modes import mode_text
from cekura_analytics.mock.catalog import METRICS
from cekura_analytics.mock.modes import PLANTED, failed_explanation, planted_mode

NAMES = {m.id: m.name for m in METRICS}


def texts(seed: int, metric_id: int, first: int, n: int) -> tuple[list[str], list[str]]:
    """(explanations as the view holds them, planted modes) of runs first..first+n-1."""
    ids = range(first, first + n)
    expl = [mode_text(failed_explanation(seed, r, metric_id), NAMES[metric_id]) for r in ids]
    return expl, [planted_mode(seed, r, metric_id) for r in ids]


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--failures", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    per, new_per = args.failures // len(PLANTED), args.new // len(PLANTED)
    t = time.perf_counter()
    data = {m: texts(args.seed, m, 1, per) for m in PLANTED}
    fresh = {m: texts(args.seed, m, per + 1, new_per) for m in PLANTED}
    print(f"generated {per * len(PLANTED):,} + {new_per * len(PLANTED):,} explanations "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip

    fitted = {}
    t = time.perf_counter()
    for m, (expl, _) in data.items():
        fitted[m] = mc.fit_modes(m, expl, args.seed)
    cluster_s = time.perf_counter() - t

    worst = 1.0
    print(f"{'metric':<28} {'planted':>7} {'found':>5} {'ARI':>6}  labels")
    for m, (_, truth) in data.items():
        vocab, modes, inv = fitted[m]
        mode_of = {int(d): k for k, mode in enumerate(modes) for d in mode.members}
        got = [mode_of[int(d)] for d in inv]
        ari = adjusted_rand_score(truth, got)
        worst = min(worst, ari)
        labels = " | ".join(x.label for x in modes)
        print(f"{NAMES[m]:<28} {len(PLANTED[m]):>7} {len(modes):>5} {ari:>6.3f}  {labels}")

    t = time.perf_counter()
    n_far = 0
    agree = []
    for m, (expl, truth) in fresh.items():
        vocab, modes, inv = fitted[m]
        best, _, far = mc.assign(expl, vocab, modes)
        n_far += int(far.sum())
        agree.append(adjusted_rand_score(truth, best))
    assign_s = time.perf_counter() - t

    n = per * len(PLANTED)
    ok = "ok" if worst >= 0.8 else "MISSED"
    print(f"\nworst ARI {worst:.3f} (goal >= 0.8: {ok})")
    print(f"cluster {n:,} failures: {cluster_s:.1f} s (goal < 30 s: "
          f"{'ok' if cluster_s < 30 else 'MISSED'})")  # fmt: skip
    print(f"assign {new_per * len(PLANTED):,} new failures: {assign_s:.2f} s (goal < 2 s: "
          f"{'ok' if assign_s < 2 else 'MISSED'}); far from every mode: {n_far}; "
          f"worst ARI of the assigned: {min(agree):.3f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"failures": n, "new": new_per * len(PLANTED),
                                         "worst_ari": worst, "cluster_s": cluster_s,
                                         "assign_s": assign_s}))  # fmt: skip


if __name__ == "__main__":
    main()
