"""Time of the on-the-fly clusters and hot-spot alerts (portal/supervision) on a filled database.

    .venv/bin/python bench/clusters_bench.py [--reports N] [--no-commune 0.1] [--database-url URL]

Files N reports through the real intake (encrypted text, keyed token index) into a fresh
database — a temporary SQLite file unless ``--database-url`` names an empty PostgreSQL database
(its tables are dropped first) — with texts from the classifier's corpus (2,170 distinct
reports) and 5 % edited copies of earlier ones, spread over the 92 communes of Thái Nguyên
(a fraction without a commune) and the last 30 days. Then times what the pages compute: the
supervision page's clusters (all reports of the window), the alerts, and one case page's
cluster. Prints a table (copied into docs/clusters.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _texts(n: int, rng: random.Random) -> list[str]:
    corpus = [json.loads(line)["text"]
              for path in sorted((ROOT / "classifier/data/corpus").glob("part_*.jsonl"))
              for line in path.open(encoding="utf-8")]
    corpus = [text for text in corpus if len(text) >= 20]
    rng.shuffle(corpus)
    texts = []
    for i in range(n):
        if texts and rng.random() < 0.05:  # an edited copy of an earlier report
            source = rng.choice(texts).split()
            texts.append(" ".join(w for w in source if rng.random() > 0.1))
        else:
            texts.append(corpus[i % len(corpus)])
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--no-commune", type=float, default=0.1)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from portal import create_app, geo
    from portal.extensions import db
    from portal.public.views import storage
    from portal.reports import intake
    from portal.reports.models import Report
    from portal.supervision import clusters, hotspots
    from portal.timeutil import utcnow

    workdir = Path(tempfile.mkdtemp(prefix="tinbao-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(workdir), "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(workdir / "uploads"),
                      "CLASSIFIER_ENABLED": False, "JOBS_MODE": "inline"})
    rng = random.Random(7)  # noqa: S311 (reproducible test data, not secrets)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        wards = [code for code, _name in geo.wards_of(19)]
        now = utcnow()
        started = time.perf_counter()
        for body in _texts(args.reports, rng):
            ward = None if rng.random() < args.no_commune else rng.choice(wards)
            report, _code = intake.file_report(
                intake.Submission(text=body, province_code=19, ward_code=ward),
                secret_key="bench", storage=storage())  # noqa: S106 (a throwaway database)
            report.created_at = now - timedelta(days=rng.uniform(0, 30))
            db.session.commit()
        filing = time.perf_counter() - started
        grouping, hot = clusters.Settings(), hotspots.Settings()

        def timed(fn, repeat=3):
            times = []
            for _ in range(repeat):
                db.session.expire_all()
                started = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - started)
            return result, min(times)

        items, load = timed(lambda: clusters.load_items(
            Report.created_at >= now - timedelta(days=grouping.recent_days)))
        found, grouped = timed(lambda: clusters.group(items, grouping))
        _alerts, alerting = timed(lambda: hotspots.current_alerts(now, hot, grouping))
        ids = list(db.session.scalars(select(Report.id)))
        case_times = []
        for report_id in rng.sample(ids, 20):
            report = db.session.get(Report, report_id)
            case_times.append(timed(lambda r=report: clusters.cluster_of(r, grouping), 1)[1])
        largest_block = max(sum(1 for i in items if i.ward_code == w) for w in [None, *wards])
        rows = [
            ("database", db.engine.dialect.name),
            ("reports (without a commune)",
             f"{args.reports} ({sum(1 for i in items if i.ward_code is None)})"),
            ("largest block", largest_block),
            ("token rows", sum(len(i.tokens) for i in items)),
            ("filing (not measured by the pages)", f"{filing:.1f} s"),
            ("load metadata + tokens, 30 days", f"{load * 1000:.0f} ms"),
            ("group (PPJoin per block)", f"{grouped * 1000:.0f} ms"),
            ("clusters found (largest)",
             f"{len(found)} ({max((len(c) for c in found), default=0)})"),
            ("all alerts (clusters + counts)", f"{alerting * 1000:.0f} ms"),
            ("one case page's cluster, median / max",
             f"{statistics.median(case_times) * 1000:.0f} / {max(case_times) * 1000:.0f} ms"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
