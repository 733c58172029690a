"""Speed and memory of the trained report classifier on 2 CPU threads.

    .venv/bin/python bench/classifier_bench.py [--model DIR] [--reports N] [--singles N]

Measures, in one fresh process: import + load time, batch throughput on ~100-word reports
(held-out texts repeated or cut to exactly 100 words, classified in batches of 64 as
``python -m classifier predict`` does), single-report latency (p50/p95) and peak resident
memory. Prints a table (copied into docs/benchmarks.md).
"""

from __future__ import annotations

import os

# Two threads for every numeric library, set before any of them is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 64
WORDS = 100


def _reports(n: int) -> list[dict]:
    from classifier import load_corpus, train_heldout_split

    heldout = train_heldout_split(load_corpus())[1]
    reports = []
    for i in range(n):
        words = heldout[i % len(heldout)]["text"].split()
        while len(words) < WORDS:
            words = words + words
        reports.append({"id": i, "text": " ".join(words[:WORDS])})
    return reports


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the trained one)")
    parser.add_argument("--reports", type=int, default=640, help="reports for the batch run")
    parser.add_argument("--singles", type=int, default=200, help="single-report calls")
    args = parser.parse_args()

    started = time.perf_counter()
    from classifier import ReportClassifier

    imported = time.perf_counter()
    model = ReportClassifier.load(args.model)
    loaded = time.perf_counter()
    uses_encoder = model.encoder_ is not None
    if uses_encoder:
        import torch

        torch.set_num_threads(2)

    reports = _reports(args.reports)

    def batch_run() -> float:
        t0 = time.perf_counter()
        for i in range(0, len(reports), BATCH):
            model.predict(reports[i : i + BATCH])
        return time.perf_counter() - t0

    # The first pass pays one-off costs: the crime lexicon compiles each pattern the first time
    # a report contains its first word. A portal process pays them once, so both are shown.
    cold_seconds = batch_run()
    batch_seconds = batch_run()

    latencies = []
    for report in reports[: args.singles]:
        t = time.perf_counter()
        model.predict([report])
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]

    rows = [
        ("model", f"{model.version_} ({'lexical + e5 encoder' if uses_encoder else 'lexical'})"),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPUs, 2 threads"),
        ("import classifier", f"{imported - started:.2f} s"),
        ("load model", f"{loaded - imported:.2f} s"),
        ("import + load", f"{loaded - started:.2f} s"),
        (f"batch throughput, first pass ({len(reports)} x {WORDS} words, batches of {BATCH})",
         f"{len(reports) / cold_seconds:.1f} reports/s"),
        ("batch throughput, warm", f"{len(reports) / batch_seconds:.1f} reports/s"),
        (f"single report latency p50 ({len(latencies)} calls)",
         f"{statistics.median(latencies):.1f} ms"),
        ("single report latency p95", f"{p95:.1f} ms"),
        ("peak RSS", f"{_peak_rss_mb():.0f} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
