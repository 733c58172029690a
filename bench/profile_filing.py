"""Profile one process filing reports through the JSON API or the form (issue 6, load
benchmark): where does the server's CPU time per filing go?

    .venv/bin/python bench/profile_filing.py --db postgresql --n 300 [--form] [--top 40]

Uses the Flask test client (no HTTP server, no load generator), a fresh database (SQLite file,
or the PostgreSQL database ``tinbao_load``), the load benchmark's mix of API filings (half
typed, a third named), and the classification jobs inline unless ``--no-classify``. Prints
the cumulative cProfile listing and the mean time per filing.
"""

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import SECRET_KEY, api_body, fresh_postgres, report_text  # noqa: E402


def _backend_cpu_reader(app):
    """CPU seconds used so far by the PostgreSQL backend process serving this process's pooled
    connection (the pool keeps one connection when filings run one after another)."""
    from sqlalchemy import text

    from portal.extensions import db

    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return read


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--form", action="store_true", help="file through the HTML form")
    parser.add_argument("--no-classify", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--cpu", action="store_true", help="profile CPU time only")
    parser.add_argument("--no-profile", action="store_true", help="only time the filings")
    parser.add_argument("--redis", help="Redis URL for the limiter (e.g. redis://127.0.0.1:6379/7)")
    parser.add_argument("--jobs", default="inline", help="JOBS_MODE (inline, thread, rq, db)")
    parser.add_argument("--filter", default="", help="only functions whose path matches")
    parser.add_argument("--dump", help="also write the raw profile to this file (pstats)")
    parser.add_argument("--sql", action="store_true", help="list one filing's SQL statements")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override one app setting, e.g. --set RATELIMIT_ENABLED=false")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tinbao-profile-"))
    url = (f"sqlite:///{workdir / 'p.sqlite3'}" if args.db == "sqlite" else fresh_postgres())
    env = {**os.environ, "TINBAO_DATABASE_URL": url, "TINBAO_SECRET_KEY": SECRET_KEY,
           "TINBAO_KEYS_FOLDER": str(workdir / "keys"),
           "TINBAO_UPLOAD_FOLDER": str(workdir / "uploads")}
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "portal"]
    for command in (["db", "upgrade", "heads"], ["seed", "--no-demo-users"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True,  # noqa: S603
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        env["TINBAO_REDIS_URL"] = args.redis
    os.environ.update(env)
    os.environ["TINBAO_FILING_RATE_LIMIT"] = "1000000 per minute"

    from portal import create_app

    overrides = {"JOBS_MODE": args.jobs, "CLASSIFIER_ENABLED": not args.no_classify}
    for setting in args.set:
        key, _, value = setting.partition("=")
        overrides[key] = json.loads(value)
    app = create_app(overrides)
    client = app.test_client()
    rng = random.Random(1)  # noqa: S311 (test data)

    def one_api():
        response = client.post("/api/v1/reports", json=api_body(rng))
        assert response.status_code == 201, response.status_code

    def one_form():
        import re

        page = client.get("/gui-tin?province=19").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/gui-tin?province=19", data={
            "csrf_token": token, "reporter_role": "citizen", "report_type": "",
            "province_code": "19", "ward_code": "", "identity_choice": "anonymous",
            "contact_preference": "none", "text": report_text(rng)},
            content_type="multipart/form-data")
        assert response.status_code == 302, response.status_code
        client.get("/bien-nhan")

    one = one_form if args.form else one_api
    if args.sql:
        from sqlalchemy import event

        from portal.extensions import db

        with app.app_context():
            engine = db.engine
        statements = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
        one()
        print(f"{len(statements)} SQL statements for one filing:")
        for statement in statements:
            print("  " + " ".join(statement.split())[:150])
        return 0
    for _ in range(20):  # warm-up: templates, connections, the classifier model
        one()
    gc_time = [0.0, 0.0]

    def time_gc(phase, info):
        if phase == "start":
            gc_time[1] = time.process_time()
        else:
            gc_time[0] += time.process_time() - gc_time[1]

    gc.callbacks.append(time_gc)
    backend_cpu = _backend_cpu_reader(app) if args.db == "postgresql" else (lambda: 0.0)
    pg_cpu = backend_cpu()
    # --cpu: attribute CPU time only (time.process_time), not time spent waiting for the
    # database's answers.
    profile = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
    cpu = time.process_time()
    start = time.perf_counter()
    if not args.no_profile:
        profile.enable()
    chunks = []  # CPU per filing of each run of 50: the least disturbed shows the cost best
    for done in range(args.n):
        if done % 50 == 0:
            chunk_start = time.process_time()
        one()
        if done % 50 == 49:
            chunks.append((time.process_time() - chunk_start) / 50)
    profile.disable()
    took = time.perf_counter() - start
    cpu = time.process_time() - cpu
    pg_cpu = backend_cpu() - pg_cpu
    if not args.no_profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.filter, args.top)
        if args.dump:
            profile.dump_stats(args.dump)
    print(f"{args.n} filings in {took:.2f} s"
          f"{'' if args.no_profile else ' under the profiler'}: "
          f"{1000 * took / args.n:.1f} ms each, {1000 * cpu / args.n:.1f} ms of CPU in this "
          "process "
          f"and {1000 * pg_cpu / args.n:.1f} ms in its PostgreSQL backend "
          f"(load average {os.getloadavg()})")
    print(f"garbage collection: {1000 * gc_time[0] / args.n:.2f} ms per filing")
    if chunks:
        chunks.sort()
        print(f"CPU per filing in runs of 50: least {1000 * chunks[0]:.2f} ms, "
              f"median {1000 * chunks[len(chunks) // 2]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
