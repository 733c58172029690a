"""Load benchmark of the public side (issue 6): filing with and without an attachment, and the
status lookup, at several numbers of concurrent clients, on SQLite and on PostgreSQL.

    .venv/bin/python bench/load_bench.py                      # both databases, every scenario
    .venv/bin/python bench/load_bench.py --db postgresql --clients 50 --scenarios api-file
    .venv/bin/python bench/load_bench.py --db postgresql --clients 50 --scenarios api-file \
        --jobs rq --driver wrk     # api-file driven by wrk (bench/load_wrk.py; Debian's wrk)

For each database it creates a fresh one (SQLite: a file in a temporary folder; PostgreSQL: the
database ``tinbao_load``, dropped and created again), migrates and seeds it, starts gunicorn
with deploy/gunicorn.conf.py on a free loopback port (PostgreSQL: with Redis as the limiter's
storage, and the job queue when ``--jobs rq``), with the rate limits raised so that they do not
refuse the benchmark's own traffic, and drives it with closed-loop clients (each waits for its
answer before sending the next request), bounded by a number of operations and a time limit
per step. Afterwards it counts the stored reports, attachment rows and files, and checks that
every receipt code a client was given opens exactly one stored report: nothing lost.

Scenarios (an operation is what one person does):

  api-file        POST /api/v1/reports (JSON; a third of them with the reporter's identity)
  form-file       GET /gui-tin (form and CSRF token), POST it, GET /bien-nhan (the receipt)
  form-attach     the same with one JPEG photo carrying EXIF and GPS tags (the portal scrubs it)
  api-status      GET /api/v1/reports/status with "Authorization: Receipt <code>"
  form-status     GET /tra-cuu, POST the code, GET /ho-so (the case page)

Loopback only; bounded in count (``--ops``) and time (``--max-seconds``) per step. Uses Redis
database 7 by default (``--redis-url``) and flushes it before a PostgreSQL run: do not run it
beside ``make run-prod``, which uses the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_wrk  # noqa: E402
from load_http import Client, HTTPError, form_urlencoded, multipart  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "load-bench-secret-key-not-for-production"  # noqa: S105 (a throwaway instance)
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "tinbao_load"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'
                     r'|name="csrf_token" value="([^"]+)"')
RECEIPT_RE = re.compile(r"data-receipt-code>([^<]+)<")
SCENARIOS = ("api-file", "form-file", "form-attach", "api-status", "form-status")
FILING_SCENARIOS = ("api-file", "form-file", "form-attach")
# Half the filings leave the type to the Front ("I am not sure"); a typed one starts its legal
# deadline at once (portal/deadlines).
REPORT_TYPES = (None, None, None, None, "crime_report", "denunciation", "complaint", "petition")

# Report texts: real-looking Vietnamese, varied so that the keyed word index gets different
# rows for each report.
SENTENCES = [
    "Cán bộ địa chính xã nhận hối lộ {n} triệu đồng để cấp sổ đỏ sai quy định cho một hộ dân.",
    "Công ty xả nước thải chưa xử lý ra sông Cầu ở thôn {n}, cá chết hàng loạt.",
    "Chủ tịch UBND phường giao đất trái thẩm quyền cho người nhà, diện tích {n} mét vuông.",
    "Trường tiểu học thu thêm {n} nghìn đồng mỗi học sinh ngoài quy định mà không có biên lai.",
    "Đường liên xã mới làm xong {n} tháng đã nứt, nghi nhà thầu bớt xén vật liệu.",
    "Trạm y tế thu tiền khám của người có thẻ bảo hiểm y tế, mỗi lần {n} nghìn đồng.",
    "Một nhóm người cho vay nặng lãi {n}% mỗi tháng, đe dọa và đập phá nhà người vay.",
    "Khiếu nại việc bồi thường khi thu hồi đất làm khu công nghiệp chỉ được {n} nghìn đồng "
    "một mét.",
]


def report_text(rng: random.Random) -> str:
    picked = rng.sample(SENTENCES, 2)
    return " ".join(s.format(n=rng.randint(2, 999)) for s in picked)


def api_body(rng: random.Random) -> dict:
    """The JSON of one API filing: half typed, a third with the reporter's identity."""
    body = {"text": report_text(rng), "province_code": 19,
            "report_type": rng.choice(REPORT_TYPES)}
    if rng.random() < 1 / 3:
        body["identity"] = {"name": "Nguyễn Văn An", "phone": "0912345678",
                            "contact_preference": "phone"}
    return body


def photo_with_exif() -> bytes:
    """A real 640×480 JPEG (about 40 KB) with camera, time and GPS tags in its EXIF."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (90, 120, 160))
    draw = ImageDraw.Draw(image)
    rng = random.Random(6)  # noqa: S311 (test data, not secrets)
    for _ in range(400):
        x, y = rng.randrange(640), rng.randrange(480)
        draw.ellipse((x, y, x + rng.randint(4, 40), y + rng.randint(4, 40)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = Image.Exif()
    exif[0x010F] = "Canon"                  # Make
    exif[0x0110] = "Canon EOS 80D"          # Model
    exif[0x0131] = "Bench camera 1.0"       # Software
    exif[0x0132] = "2026:05:01 08:30:00"    # DateTime
    exif[0x8825] = {                        # GPSInfo: Thái Nguyên
        1: "N", 2: (21.0, 35.0, 32.0), 3: "E", 4: (105.0, 50.0, 41.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@dataclass
class Server:
    kind: str
    workdir: Path
    env: dict
    args: argparse.Namespace
    process: subprocess.Popen | None = None
    job_workers: list = field(default_factory=list)
    port: int = 0

    @classmethod
    def prepare(cls, kind: str, args) -> Server:
        workdir = Path(tempfile.mkdtemp(prefix=f"tinbao-load-{kind}-"))
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url = fresh_postgres()
        env = {
            **os.environ,
            "TINBAO_DATABASE_URL": url,
            "TINBAO_SECRET_KEY": SECRET_KEY,
            "TINBAO_KEYS_FOLDER": str(workdir / "keys"),
            "TINBAO_KEYS_GENERATE": "1",
            "TINBAO_UPLOAD_FOLDER": str(workdir / "uploads"),
            "TINBAO_NOTIFY_OUTBOX": str(workdir / "outbox"),
            # The benchmark's clients all come from 127.0.0.1: lift the per-client and global
            # limits far above what it sends, so that every request reaches the portal.
            "TINBAO_FILING_RATE_LIMIT": "1000000 per minute",
            "TINBAO_POW_FILING_RATE_LIMIT": "1000000 per minute",
            "TINBAO_LOOKUP_RATE_LIMIT": "1000000 per minute",
            "TINBAO_LOOKUP_GLOBAL_RATE_LIMIT": "1000000 per minute",
            "TINBAO_API_RATE_LIMIT": "1000000 per minute",
            "TINBAO_WORKERS": str(args.workers),
        }
        env.pop("TINBAO_REDIS_URL", None)
        env.pop("TINBAO_JOBS_MODE", None)
        if kind == "postgresql":
            flush_redis(args.redis_url)
            env["TINBAO_REDIS_URL"] = args.redis_url
            if args.jobs == "rq":
                env["TINBAO_JOBS_MODE"] = "rq"
                # Its own queue: jobs left over from a run never reach another instance's
                # workers on the same Redis database.
                env["TINBAO_JOBS_QUEUE"] = "tinbao-load-bench"
        if args.jobs == "off":
            env["TINBAO_CLASSIFIER_DIR"] = str(workdir / "no-classifier")
        server = cls(kind, workdir, env, args)
        flask = [str(VENV_BIN / "flask"), "--app", "portal"]
        setup_log = workdir / "setup.log"
        with open(setup_log, "wb") as log:
            for command in (["db", "upgrade", "heads"], ["seed", "--no-demo-users"]):
                done = subprocess.run(flask + command, cwd=ROOT, env=env,  # noqa: S603
                                      stdout=log, stderr=subprocess.STDOUT, check=False)
                if done.returncode:
                    raise SystemExit(f"`flask {' '.join(command)}` failed; see {setup_log}")
        return server

    def _job_priority(self) -> None:
        if self.args.job_priority == "idle":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.nice(10)

    def start(self) -> None:
        self.port = free_port()
        self.env["TINBAO_BIND"] = f"127.0.0.1:{self.port}"
        command = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                   "--no-control-socket", "-k", self.args.worker_class]
        if self.args.worker_class == "gthread":
            command += ["--threads", str(self.args.threads)]
        if self.args.without_supervision_facts:
            command.append("load_diagnostic_app:app")
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT / "bench"), str(ROOT)] + [self.env.get("PYTHONPATH", "")])
        log = open(self.workdir / "gunicorn.log", "wb")  # noqa: SIM115 (closed at exit)
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env,  # noqa: S603
                                        stdout=log, stderr=subprocess.STDOUT)
        if self.args.jobs == "rq" and self.kind == "postgresql":
            for _ in range(self.args.job_workers):
                # At idle priority, as deploy/tinbao-worker@.service runs it: classifying can
                # wait, a reporter cannot.
                self.job_workers.append(subprocess.Popen(  # noqa: S603
                    [str(VENV_BIN / "flask"), "--app", "portal", "jobs", "worker"], cwd=ROOT,
                    env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    preexec_fn=self._job_priority))  # noqa: PLW1509
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.workdir / 'gunicorn.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start in 60 s")

    def stop(self) -> None:
        for process in [*self.job_workers, self.process]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.job_workers, self.process]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) so far: gunicorn's master and workers ("web"), the job
        workers ("jobs") and, on PostgreSQL, the backends serving this database ("db"), by
        process id so that a step can subtract what each had at its start."""
        web = [self.process.pid] if self.process else []
        try:
            web += [int(c) for c in
                    Path(f"/proc/{web[0]}/task/{web[0]}/children").read_text().split()]
        except (OSError, IndexError):
            pass
        groups = {"web": web, "jobs": [p.pid for p in self.job_workers], "db": []}
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                groups["db"] = [row[0] for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid()", (PG_DB,))]
        return {f"{name}:{pid}": proc_cpu(pid) for name, pids in groups.items() for pid in pids}


def proc_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each group used between two :meth:`Server.cpu_seconds` readings."""
    used = {"web": 0.0, "jobs": 0.0, "db": 0.0}
    for key, seconds in after.items():
        used[key.split(":")[0]] += max(0.0, seconds - before.get(key, 0.0))
    return used


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- the scenarios ---------------------------------------------------------------------------

@dataclass
class Outcome:
    ok: bool
    latency: float          # the whole operation (seconds)
    key_latency: float      # the request that files or looks up
    code: str | None = None
    error: str | None = None


class Scenarios:
    def __init__(self, photo: bytes, codes: list[str]):
        self.photo = photo
        self.codes = codes  # receipt codes handed out so far (for the lookups)

    @staticmethod
    def _csrf(page: str) -> str | None:
        match = CSRF_RE.search(page)
        return (match.group(1) or match.group(2)) if match else None

    async def api_file(self, client: Client, rng: random.Random) -> Outcome:
        body = api_body(rng)
        start = time.perf_counter()
        response = await client.request(
            "POST", "/api/v1/reports", body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        took = time.perf_counter() - start
        if response.status != 201:
            return Outcome(False, took, took, error=f"HTTP {response.status}")
        return Outcome(True, took, took, code=json.loads(response.body)["receipt_code"])

    async def _form_file(self, client: Client, rng: random.Random, attach: bool) -> Outcome:
        client.cookies.clear()  # a new person each time
        start = time.perf_counter()
        page = await client.request("GET", "/gui-tin?province=19")
        token = self._csrf(page.text())
        if page.status != 200 or token is None:
            return Outcome(False, time.perf_counter() - start, 0, error=f"form {page.status}")
        fields = {"csrf_token": token, "reporter_role": "citizen",
                  "report_type": rng.choice(REPORT_TYPES) or "",
                  "province_code": "19", "ward_code": "", "occurred_on": "", "involved": "",
                  "identity_choice": "anonymous", "contact_preference": "none",
                  "text": report_text(rng), "website": ""}
        if rng.random() < 1 / 3:
            fields.update(identity_choice="named", name="Trần Thị Bình", phone="0987654321",
                          contact_preference="phone")
        files = [("attachments", "IMG_2041.jpg", "image/jpeg", self.photo)] if attach else []
        body, content_type = multipart(fields, files)
        posted = time.perf_counter()
        response = await client.request("POST", "/gui-tin?province=19", body=body,
                                        headers={"Content-Type": content_type})
        key = time.perf_counter() - posted
        if response.status != 302:
            return Outcome(False, time.perf_counter() - start, key,
                           error=f"POST {response.status}")
        receipt = await client.request("GET", "/bien-nhan")
        match = RECEIPT_RE.search(receipt.text())
        took = time.perf_counter() - start
        if receipt.status != 200 or match is None:
            return Outcome(False, took, key, error=f"receipt {receipt.status}")
        return Outcome(True, took, key, code=match.group(1))

    async def form_file(self, client, rng):
        return await self._form_file(client, rng, attach=False)

    async def form_attach(self, client, rng):
        return await self._form_file(client, rng, attach=True)

    async def api_status(self, client: Client, rng: random.Random) -> Outcome:
        code = rng.choice(self.codes)
        start = time.perf_counter()
        response = await client.request("GET", "/api/v1/reports/status",
                                        headers={"Authorization": f"Receipt {code}"})
        took = time.perf_counter() - start
        ok = response.status == 200 and json.loads(response.body).get("status") is not None
        return Outcome(ok, took, took, error=None if ok else f"HTTP {response.status}")

    async def form_status(self, client: Client, rng: random.Random) -> Outcome:
        client.cookies.clear()
        code = rng.choice(self.codes)
        start = time.perf_counter()
        page = await client.request("GET", "/tra-cuu")
        token = self._csrf(page.text())
        if token is None:
            return Outcome(False, time.perf_counter() - start, 0, error=f"form {page.status}")
        body, content_type = form_urlencoded({"csrf_token": token, "code": code})
        posted = time.perf_counter()
        response = await client.request("POST", "/tra-cuu", body=body,
                                        headers={"Content-Type": content_type})
        key = time.perf_counter() - posted
        if response.status != 302:
            return Outcome(False, time.perf_counter() - start, key,
                           error=f"POST {response.status}")
        case = await client.request("GET", "/ho-so")
        took = time.perf_counter() - start
        ok = case.status == 200
        return Outcome(ok, took, key, error=None if ok else f"case {case.status}")


# --- one step: N clients, bounded by count and time -----------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def run_step(server: Server, scenario: str, clients: int, ops: int, max_seconds: float,
                   scenarios: Scenarios, seed: int, rate: float | None = None) -> dict:
    """``clients`` people each doing one operation after another (closed loop), or, with
    ``rate``, operations started on a fixed schedule of ``rate`` per second by at most
    ``clients`` people at once (open loop: the latency counts from the scheduled start, so a
    server that falls behind is not flattered by clients that waited for it)."""
    operation = getattr(scenarios, scenario.replace("-", "_"))
    single_request = scenario.startswith("api-")
    outcomes: list[Outcome] = []
    started = 0
    stop_at = time.monotonic() + max_seconds
    if rate:
        ops = min(ops, int(rate * max_seconds))
    t0 = time.perf_counter()

    async def person(index: int) -> None:
        nonlocal started
        rng = random.Random(seed * 100_003 + index)  # noqa: S311 (test data)
        client = Client("127.0.0.1", server.port, timeout=max(30.0, max_seconds))
        try:
            while started < ops and time.monotonic() < stop_at:
                number = started
                started += 1
                lag = 0.0
                if rate:
                    scheduled = t0 + number / rate
                    wait = scheduled - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    lag = max(0.0, time.perf_counter() - scheduled)
                began = time.perf_counter()
                try:
                    outcome = await operation(client, rng)
                except (HTTPError, OSError, TimeoutError) as exc:
                    await client.close()
                    outcome = Outcome(False, time.perf_counter() - began, 0,
                                      error=type(exc).__name__)
                outcome.latency += lag
                if single_request:
                    outcome.key_latency += lag
                outcomes.append(outcome)
                if outcome.code:
                    scenarios.codes.append(outcome.code)
        finally:
            await client.close()

    cpu_before, (busy_before, total_before) = server.cpu_seconds(), machine_busy()
    rusage_before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(clients)))
    wall = time.perf_counter() - wall
    rusage = resource.getrusage(resource.RUSAGE_SELF)
    busy_after, total_after = machine_busy()
    used = cpu_used(cpu_before, server.cpu_seconds())
    client_cpu = (rusage.ru_utime + rusage.ru_stime
                  - rusage_before.ru_utime - rusage_before.ru_stime)
    good = [o for o in outcomes if o.ok]
    errors: dict[str, int] = {}
    for o in outcomes:
        if not o.ok:
            errors[o.error] = errors.get(o.error, 0) + 1
    key = [o.key_latency * 1000 for o in good]
    whole = [o.latency * 1000 for o in good]
    return {
        "db": server.kind, "scenario": scenario, "clients": clients,
        "rate": rate, "ops": len(outcomes),
        "ok": len(good), "errors": sum(errors.values()), "error_kinds": errors,
        "seconds": round(wall, 2), "throughput": round(len(good) / wall, 1),
        "p50": round(percentile(key, 50), 1), "p95": round(percentile(key, 95), 1),
        "p99": round(percentile(key, 99), 1), "mean": round(statistics.fmean(key), 1)
        if key else None,
        "op_p50": round(percentile(whole, 50), 1), "op_p95": round(percentile(whole, 95), 1),
        **cpu_per_op(used, client_cpu, len(outcomes), busy_after - busy_before,
                     total_after - total_before),
        "codes": [o.code for o in good if o.code],
    }


def cpu_per_op(used: dict, client_seconds: float, ops: int, busy: int, total: int) -> dict:
    """CPU per operation of each group and of the load generator, and how busy the machine
    was (jiffies busy of all), for a step's row."""
    ops = max(1, ops)
    return {
        "web_cpu_ms_per_op": round(1000 * used["web"] / ops, 2),
        "jobs_cpu_ms_per_op": round(1000 * used["jobs"] / ops, 2),
        "db_cpu_ms_per_op": round(1000 * used["db"] / ops, 2),
        "client_cpu_ms_per_op": round(1000 * client_seconds / ops, 2),
        "machine_busy_pct": round(100 * busy / max(1, total), 1),
    }


def run_step_wrk(server: Server, clients: int, max_seconds: float, seed: int) -> dict:
    """api-file with wrk (bench/load_wrk.py): closed loop, ``clients`` connections, for
    ``max_seconds``; the same row as :func:`run_step`."""
    bodies = load_wrk.bodies_like_the_api_scenario(api_body, 4000, seed)
    cpu_before, (busy_before, total_before) = server.cpu_seconds(), machine_busy()
    result = load_wrk.run(server.port, clients, max_seconds, bodies)
    busy_after, total_after = machine_busy()
    used = cpu_used(cpu_before, server.cpu_seconds())
    errors = {kind: result[kind] for kind in ("connect", "read", "write", "status", "timeout")
              if result[kind]}
    ops = result["requests"] + errors.get("connect", 0)
    ok = len(result["codes"])
    errors["no receipt code"] = max(0, result["requests"] - errors.get("status", 0) - ok)
    errors = {kind: n for kind, n in errors.items() if n}
    wall = result["duration_us"] / 1e6
    return {
        "db": server.kind, "scenario": "api-file", "clients": clients, "rate": None,
        "driver": "wrk", "ops": ops, "ok": ok, "errors": sum(errors.values()),
        "error_kinds": errors, "seconds": round(wall, 2), "throughput": round(ok / wall, 1),
        "p50": round(result["p50_us"] / 1000, 1), "p95": round(result["p95_us"] / 1000, 1),
        "p99": round(result["p99_us"] / 1000, 1), "mean": round(result["mean_us"] / 1000, 1),
        "op_p50": round(result["p50_us"] / 1000, 1), "op_p95": round(result["p95_us"] / 1000, 1),
        **cpu_per_op(used, result["cpu_seconds"], ops, busy_after - busy_before,
                     total_after - total_before),
        "codes": result["codes"],
    }


# --- counting afterwards ---------------------------------------------------------------------

def count_stored(server: Server, codes: list[str], attach_ok: int) -> dict:
    """Rows and files in the database and upload folder, and the codes that open nothing."""
    import sqlalchemy as sa

    sys.path.insert(0, str(ROOT))
    from portal.receipts import code_hash

    engine = sa.create_engine(server.env["TINBAO_DATABASE_URL"])
    with engine.connect() as conn:
        reports = conn.scalar(sa.text("SELECT count(*) FROM reports"))
        attachments = conn.scalar(sa.text("SELECT count(*) FROM attachments"))
        classified = conn.scalar(sa.text("SELECT count(*) FROM classifications"))
        stored = set(conn.scalars(sa.text("SELECT receipt_code_hash FROM reports")))
    engine.dispose()
    missing = sum(1 for code in codes if code_hash(code, SECRET_KEY) not in stored)
    uploads = Path(server.env["TINBAO_UPLOAD_FOLDER"])
    files = sum(1 for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else 0
    return {"db": server.kind, "filings_ok": len(codes), "reports": reports,
            "codes_missing": missing, "attachments_expected": attach_ok,
            "attachment_rows": attachments, "attachment_files": files,
            "classified": classified}


# --- main ------------------------------------------------------------------------------------

def print_table(rows: list[dict]) -> None:
    print("| db | scenario | clients | ops | errors | per second | p50 ms | p95 ms | p99 ms "
          "| whole op p95 ms | CPU ms/op: web | jobs | PostgreSQL | client | machine busy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        clients = f"{r['clients']} @ {r['rate']:g}/s" if r["rate"] else r["clients"]
        print(f"| {r['db']} | {r['scenario']} | {clients} | {r['ops']} | {r['errors']} "
              f"| {r['throughput']} | {r['p50']} | {r['p95']} | {r['p99']} | {r['op_p95']} "
              f"| {r['web_cpu_ms_per_op']} | {r['jobs_cpu_ms_per_op']} | {r['db_cpu_ms_per_op']} "
              f"| {r['client_cpu_ms_per_op']} "
              f"| {r['machine_busy_pct']}% |")


async def bench_one(kind: str, args) -> tuple[list[dict], dict]:
    print(f"\n== {kind}: preparing a fresh database, load average {os.getloadavg()}", flush=True)
    server = Server.prepare(kind, args)
    rows: list[dict] = []
    try:
        server.start()
        scenarios = Scenarios(photo_with_exif(), [])
        # Warm-up: every worker loads templates and opens its connections; these filings also
        # give the status lookups their first codes. Counted as filings at the end.
        warm = await run_step(server, "api-file", min(20, args.workers * 4), 40, 60,
                              scenarios, seed=0)
        codes = list(warm["codes"])
        attach_ok = 0
        # wrk stops at its time limit without reading the answers still on the way: those
        # filings are stored, their codes never seen (at most one per connection).
        unanswered = 0
        seed = 1
        for scenario in args.scenarios:
            for clients in args.clients:
                if args.driver == "wrk" and scenario == "api-file":
                    row = run_step_wrk(server, clients, args.max_seconds, seed=seed)
                    unanswered += clients
                else:
                    row = await run_step(server, scenario, clients, args.ops, args.max_seconds,
                                         scenarios, seed=seed, rate=args.rate)
                seed += 1
                codes += row.pop("codes")
                if scenario == "form-attach":
                    attach_ok += row["ok"]
                rows.append(row)
                print(f"  {scenario:12} {clients:4} clients: {row['ops']} ops, "
                      f"{row['errors']} errors {row['error_kinds'] or ''}, "
                      f"{row['throughput']}/s, p50 {row['p50']} ms, p95 {row['p95']} ms, "
                      f"p99 {row['p99']} ms; CPU/op web {row['web_cpu_ms_per_op']} ms, jobs "
                      f"{row['jobs_cpu_ms_per_op']} ms, db {row['db_cpu_ms_per_op']} ms, "
                      f"machine {row['machine_busy_pct']}% busy", flush=True)
        if args.jobs == "rq" and kind == "postgresql" and args.drain_seconds:
            await asyncio.sleep(args.drain_seconds)
    finally:
        server.stop()
    counts = count_stored(server, codes, attach_ok)
    counts["unanswered_at_most"] = unanswered
    if args.keep:
        print(f"  kept {server.workdir} (gunicorn.log, the database, uploads)")
    else:
        shutil.rmtree(server.workdir, ignore_errors=True)
    return rows, counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scenarios", type=lambda s: s.split(","), default=list(SCENARIOS))
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10, 50, 200])
    parser.add_argument("--ops", type=int, default=1000, help="operations per step (bound)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per step")
    parser.add_argument("--rate", type=float,
                        help="start operations at this rate per second (open loop) instead of "
                             "each client starting the next one as soon as it has its answer")
    parser.add_argument("--driver", choices=("asyncio", "wrk"), default="asyncio",
                        help="load generator for api-file: this folder's asyncio client, or "
                             "wrk (bench/load_wrk.py: closed loop, bounded by --max-seconds "
                             "only, a tenth of the client's CPU); the other scenarios always "
                             "use the asyncio client")
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("TINBAO_WORKERS", "4")))
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--jobs", choices=("thread", "rq", "off"), default="thread",
                        help="classification: in each web worker (thread, the embedded "
                             "default), on the Redis queue with separate `flask jobs worker` "
                             "processes (rq, PostgreSQL only), or not at all (off)")
    parser.add_argument("--job-workers", type=int, default=1)
    parser.add_argument("--job-priority", choices=("idle", "nice"), default="idle",
                        help="the job workers' CPU priority: idle (SCHED_IDLE, as "
                             "deploy/tinbao-worker@.service) or nice 10")
    parser.add_argument("--drain-seconds", type=float, default=0,
                        help="with --jobs rq: wait this long for the queue before counting")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--without-supervision-facts", action="store_true",
                        help="diagnostic: serve bench/load_diagnostic_app.py, the portal without "
                             "the supervision facts' after-flush hook, to measure its cost")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true",
                        help="keep each run's temporary folder (logs, SQLite file, uploads)")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.driver == "wrk":
        if args.rate:
            parser.error("--driver wrk is closed-loop only: no --rate")
        load_wrk.wrk_path()

    print(f"load average {os.getloadavg()}; {os.cpu_count()} CPUs; gunicorn {args.workers} "
          f"{args.worker_class} workers" + (f" × {args.threads} threads"
                                            if args.worker_class == "gthread" else "")
          + f"; jobs {args.jobs}; ≤ {args.ops} operations and ≤ {args.max_seconds:g} s per step"
          + (f"; {args.rate:g} operations/s" if args.rate else "")
          + ("; api-file driven by wrk" if args.driver == "wrk" else "")
          + ("; DIAGNOSTIC: without the supervision facts hook"
             if args.without_supervision_facts else ""))
    all_rows, all_counts = [], []
    for kind in kinds:
        rows, counts = asyncio.run(bench_one(kind, args))
        all_rows += rows
        all_counts.append(counts)
    print(f"\nload average at the end {os.getloadavg()}\n")
    print_table(all_rows)
    print()
    lost = False
    for c in all_counts:
        print(f"{c['db']}: {c['filings_ok']} filings answered with a receipt code; "
              f"{c['reports']} reports stored; {c['codes_missing']} codes open nothing; "
              f"{c['attachment_rows']} attachment rows and {c['attachment_files']} files for "
              f"{c['attachments_expected']} filings with a photo; {c['classified']} classified"
              + (f"; at most {c['unanswered_at_most']} filings were in flight when wrk stopped "
                 f"(stored, answer not read): {c['reports'] - c['filings_ok']}"
                 if c["unanswered_at_most"] else ""))
        extra = c["reports"] - c["filings_ok"]
        lost |= (c["codes_missing"] > 0 or not 0 <= extra <= c["unanswered_at_most"]
                 or c["attachment_rows"] != c["attachments_expected"]
                 or c["attachment_files"] != c["attachments_expected"])
    if args.json:
        args.json.write_text(json.dumps({"rows": all_rows, "counts": all_counts,
                                         "settings": {k: str(v) for k, v in vars(args).items()}},
                                        indent=1, ensure_ascii=False))
    if lost:
        print("!! stored rows and files do not match the successful filings")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
