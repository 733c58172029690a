"""Realistic synthetic history for the back-office benchmark (bench/backoffice_bench.py).

    .venv/bin/python bench/history_generator.py [--reports 1000000] [--seed 2026]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/tinbao_bench]

Fills a migrated and seeded PostgreSQL database (``flask --app portal db upgrade heads`` and
``flask --app portal seed``; the URL also comes from ``TINBAO_BENCH_DATABASE_URL``) with
reports filed from 01/01/2022 to now and their history, in bulk with ``COPY`` (never the ORM):

- ``reports`` — a yearly growth of ~10 %, seasonality by month (a trough at Tết, peaks in
  spring and autumn), fewer on weekends, mostly in office hours (Vietnam time); report types
  and sectors in realistic proportions; the 92 communes of Thái Nguyên (province 19, the
  seeded directory; a few without a commune, a few from other provinces). Encrypted columns
  hold real envelopes from a small pool (see below).
- ``classifications`` — the classifier's guess, one per report (as intake writes it).
- ``report_events`` — filed, start_review, transfer (to an agency chosen by type, sector and
  commune), accept, resolve with log-normal delays; ~4 % returned as not competent and sent
  again to another agency, ~1 % transfers withdrawn, ~3 % spam, ~2 % merged duplicates; what
  would happen after now is cut, so recent cases are open and some old ones are stuck.
- ``report_deadlines`` — the stages of portal/deadlines/deadlines.yaml (the first version's
  length, unit and basis), started and closed by those events (working days skip weekends;
  holidays are ignored), due at 23:59:59 Vietnam time of the last day.

Texts are real envelopes of the portal's encryption (keys in instance/bench-keys, which the
benchmark loads), a pool of 64 reused across reports: the pages that decrypt a few rows (the
queue's opening words, the hot-spot alerts) work as in production.

Every table the reports own is emptied first (TRUNCATE … CASCADE). Seeded RNG: the same
arguments (with ``--now``) give the same rows. Prints the rows per table and the time taken.
The supervision facts do not see a ``COPY``: run ``flask --app portal supervision
rebuild-facts`` afterwards. :func:`generate_rows` gives the same history as typed rows for any
database (the tests load a small one with SQLAlchemy).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tinbao_bench"
PROTECTED = {"test", "tinbao_h1", "tinbao_h2", "tinbao_lead"}
START = date(2022, 1, 1)
VN = timedelta(hours=7)
DAY = 86400.0
# The keys the generated texts are encrypted with; bench/backoffice_bench.py loads the same.
KEYS_FOLDER = ROOT / "instance" / "bench-keys"
SAMPLE_TEXTS = (
    "Phản ánh việc lấn chiếm đất công tại tổ dân phố, đề nghị cơ quan chức năng xem xét.",
    "Tố cáo cán bộ xã có dấu hiệu nhận tiền khi giải quyết hồ sơ cấp giấy chứng nhận.",
    "Khiếu nại quyết định bồi thường khi thu hồi đất làm đường, mức giá chưa thỏa đáng.",
    "Kiến nghị sửa chữa tuyến đường liên thôn xuống cấp, đi lại khó khăn mùa mưa.",
    "Tin báo về việc khai thác cát trái phép trên sông vào ban đêm.",
    "Phản ánh trạm y tế thu thêm tiền ngoài quy định khi khám bệnh cho người cao tuổi.",
    "Đề nghị làm rõ việc chi trả trợ cấp xã hội chậm nhiều tháng.",
    "Tố cáo việc chấm thầu không công khai tại dự án xây trường học.",
)

TYPES = {"denunciation": 0.34, "complaint": 0.30, "petition": 0.26, "crime_report": 0.10}
SECTORS = {"land": 0.28, "environment_resources": 0.07, "construction_investment": 0.07,
           "procurement": 0.03, "public_finance": 0.04, "state_enterprise": 0.02,
           "economy_market": 0.04, "health": 0.05, "education": 0.05, "social_welfare": 0.08,
           "personnel": 0.06, "admin_procedure": 0.08, "justice": 0.04, "public_order": 0.05,
           "other": 0.04}
MONTH_WEIGHT = [0.85, 0.55, 1.15, 1.15, 1.1, 1.0, 0.95, 0.9, 1.0, 1.1, 1.15, 1.05]
OUTCOMES = {"crime_report": ["prosecuted", "not_prosecuted", "suspended"],
            "denunciation": ["founded", "partly_founded", "unfounded"],
            "complaint": ["upheld", "partly_upheld", "rejected"],
            "petition": ["answered", "not_accepted"]}
DEPARTMENT_OF = {"land": "tn-dept-agriculture-environment",
                 "environment_resources": "tn-dept-agriculture-environment",
                 "construction_investment": "tn-dept-construction",
                 "procurement": "tn-dept-finance", "public_finance": "tn-dept-finance",
                 "state_enterprise": "tn-dept-finance", "economy_market": "tn-dept-industry-trade",
                 "health": "tn-dept-health", "education": "tn-dept-education",
                 "social_welfare": "tn-dept-home-affairs", "personnel": "tn-dept-home-affairs"}
# The statuses each stage runs in (deadlines.yaml ``open_while``) and its start events.
FRONT_START = ("filed", "return", "withdraw_transfer")
TABLES = {
    "reports": ("id", "receipt_code_hash", "status", "created_at", "updated_at", "channel",
                "language", "reporter_role", "reported_type", "report_type", "sector",
                "subject", "flags", "province_code", "ward_code", "anonymous",
                "current_agency_id", "duplicate_of_id", "outcome_code", "crime_confirmed",
                "content_key_wrapped", "content_key_id", "text_encrypted",
                "result_text_encrypted"),
    "classifications": ("id", "report_id", "created_at", "model", "sector", "sector_score",
                        "report_type", "subject", "crime_flag", "crime_score", "needs_review",
                        "result_encrypted"),
    "report_events": ("id", "report_id", "created_at", "kind", "status_after", "agency_id",
                      "reason", "actor_user_id"),
    "report_deadlines": ("id", "report_id", "report_type", "stage", "party", "start_event_id",
                         "started_at", "length", "unit", "basis", "due_at", "closed_at",
                         "closed_by"),
}


def pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def rules() -> dict:
    """``{report_type: [stage dict]}`` from deadlines.yaml (first version of each stage)."""
    data = yaml.safe_load((ROOT / "portal/deadlines/deadlines.yaml").read_text(encoding="utf-8"))
    found: dict = {}
    for stage in data["stages"]:
        version = stage["versions"][0]
        found.setdefault(stage["report_type"], []).append({
            "stage": stage["stage"], "party": stage["party"], "start": tuple(stage["start"]),
            "open_while": tuple(stage["open_while"]),
            "closes_at_start": bool(stage.get("closes_at_start")),
            "length": version["length"], "unit": version["unit"],
            "basis": version["basis"]})
    return found


def due(started: float, length: int, unit: str) -> float:
    """Epoch seconds (UTC) of 23:59:59 Vietnam time on the last day of the limit."""
    local = datetime.fromtimestamp(started, UTC).replace(tzinfo=None) + VN
    if unit == "hours":
        return started + length * 3600
    day = local.date()
    if unit == "working_days":
        left = length
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
    elif unit == "days":
        day += timedelta(days=length)
    elif unit == "months":
        month = day.month - 1 + length
        year, month = day.year + month // 12, month % 12 + 1
        day = date(year, month, min(day.day, 28))
    while day.weekday() >= 5:  # a limit ending on a weekend ends on the next working day
        day += timedelta(days=1)
    end = datetime(day.year, day.month, day.day, 23, 59, 59) - VN
    return end.replace(tzinfo=UTC).timestamp()


def sealed_texts(count: int = 64) -> list[tuple[str, str, str, str, str]]:
    """Real envelopes (wrapped data key, key id, text, result text, the classifier's answer;
    bytea in COPY text format)
    made with the portal's own encryption under KEYS_FOLDER, reused across reports: the pages
    that show a report's opening words decrypt them as in production."""
    from portal import create_app

    app = create_app({"SECRET_KEY": "bench", "KEYS_FOLDER": str(KEYS_FOLDER),
                      "INSTANCE_PATH": str(KEYS_FOLDER.parent),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://", "CLASSIFIER_ENABLED": False})
    with app.app_context():
        return seal(count)


def seal(count: int) -> list[tuple[str, str, str, str, str]]:
    """:func:`sealed_texts` under the keys of the current application."""
    from portal.classification.models import Classification
    from portal.reports.models import Report

    def hexed(blob: bytes) -> str:
        return "\\\\x" + bytes(blob).hex()

    found = []
    for i in range(count):
        report = Report()
        report.text = SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)] + f" (mẫu {i + 1})"
        report.result_text = "Đã xem xét, trả lời người gửi theo quy định."
        guess = Classification(report=report)
        guess.result = {"flags": [], "evidence": []}
        found.append((hexed(report.content_key_wrapped), report.content_key_id,
                      hexed(report.text_encrypted), hexed(report.result_text_encrypted),
                      hexed(guess.result_encrypted)))
    return found


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def val(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class Generator:
    """``sealed``: the encrypted blobs to use (default: real envelopes, :func:`sealed_texts`;
    the tests, which never decrypt them, pass placeholders)."""

    def __init__(self, args, agencies: dict, wards: list[int], provinces: list[int],
                 sealed: list | None = None):
        self.rng = random.Random(args.seed)  # noqa: S311 (reproducible test data)
        self.n = args.reports
        self.now = time.time() if args.now is None else args.now
        self.agencies, self.wards, self.provinces = agencies, wards, provinces
        self.rules = rules()
        self.sealed = sealed if sealed is not None else sealed_texts()
        self.event_id = self.deadline_id = 0
        self.counts = dict.fromkeys(TABLES, 0)
        self.statuses: dict = {}
        start = datetime(START.year, START.month, START.day).replace(tzinfo=UTC).timestamp()
        self.days = [start + i * DAY for i in range(int((self.now - start) // DAY))]
        # Daily weights: month seasonality, weekends, ~10 % growth a year.
        weights = []
        for i in range(len(self.days)):
            d = START + timedelta(days=i)
            w = MONTH_WEIGHT[d.month - 1] * (0.35 if d.weekday() >= 5 else 1.0)
            weights.append(w * 1.1 ** (i / 365))
        total = sum(weights)
        self.per_day = [w / total for w in weights]

    # --- one report ---------------------------------------------------------------------
    def agency_for(self, report_type: str, sector: str, ward: int | None) -> int:
        rng, a = self.rng, self.agencies
        commune = ward is not None and (ward, "people_committee_commune") in a
        r = rng.random()
        if report_type == "crime_report":
            return a[(ward, "police")] if commune and r < 0.5 else a["tn-police"]
        if report_type == "denunciation":
            if r < 0.3:
                return a["tn-inspectorate"]
            if r < 0.7 and commune:
                return a[(ward, "people_committee_commune")]
        elif report_type == "complaint":
            if r < 0.1:
                return a["tn-people-committee"]
            if r < 0.6 and commune:
                return a[(ward, "people_committee_commune")]
        elif r < 0.6 and commune:
            return a[(ward, "people_committee_commune")]
        return a[DEPARTMENT_OF.get(sector, "tn-people-committee")]

    def other_agency(self, report_type, sector, ward, not_this: int) -> int:
        for _ in range(6):
            found = self.agency_for(report_type, sector, ward)
            if found != not_this:
                return found
        return self.agencies["tn-people-committee"] if not_this != self.agencies[
            "tn-people-committee"] else self.agencies["tn-inspectorate"]

    def delay(self, median_days: float, sigma: float = 0.8) -> float:
        return median_days * DAY * math.exp(self.rng.gauss(0, sigma))

    def report(self, rid: int, filed: float, out: dict) -> None:
        rng = self.rng
        reported_type = pick(rng, TYPES)
        sector = pick(rng, SECTORS)
        # Staff confirm the reporter's type nine times in ten.
        report_type = reported_type if rng.random() < 0.9 else pick(rng, TYPES)
        r = rng.random()
        if r < 0.9:
            province, ward = 19, rng.choice(self.wards)
        elif r < 0.95:
            province, ward = 19, None
        else:
            province, ward = rng.choice(self.provinces), None
        crime = report_type == "crime_report" or (report_type == "denunciation"
                                                  and rng.random() < 0.05)
        guess_crime = crime if rng.random() < 0.85 else not crime
        flags = '["corruption"]' if sector in ("procurement", "public_finance") and \
            rng.random() < 0.5 else "[]"

        events = []  # (at, kind, status_after, agency_id, reason, actor)
        now = self.now

        def add(at, kind, status, agency=None, reason=None, actor=2):
            if at >= now:
                raise StopIteration
            events.append((at, kind, status, agency, reason, actor))

        def returned(at, agency, after_days):
            """``agency`` returns the case as not competent; it is sent on to another one."""
            at += self.delay(after_days)
            add(at, "return", "returned", agency, "Không thuộc thẩm quyền.", actor=None)
            return at + self.delay(2.0), self.other_agency(report_type, sector, ward, agency)

        st, holder, outcome, classified = "received", None, None, False
        try:
            add(filed, "filed", "received", actor=None)
            at = filed + self.delay(0.6)
            fate = rng.random()
            if fate < 0.03:
                add(at, "mark_spam", "spam", reason="Tin quảng cáo.")
                st = "spam"
                raise StopIteration
            if fate < 0.05:
                add(at, "merge_duplicate", "duplicate", reason=f"#{max(rid - 1, 1)}")
                st = "duplicate"
                raise StopIteration
            add(at, "start_review", "in_review")
            st, classified = "in_review", True
            at += self.delay(1.5)
            agency = self.agency_for(report_type, sector, ward)
            for _attempt in range(3):
                add(at, "transfer", "transferred", agency, "Chuyển theo thẩm quyền.")
                st, holder = "transferred", agency
                r = rng.random()
                if r < 0.01:
                    at += self.delay(1.0)
                    add(at, "withdraw_transfer", "in_review", agency, "Chuyển nhầm cơ quan.")
                    st, holder = "in_review", None
                    at += self.delay(1.0)
                    agency = self.other_agency(report_type, sector, ward, agency)
                    continue
                if r < 0.035 and _attempt < 2:
                    at, agency = returned(at, agency, 3.0)
                    st, holder = "returned", None
                    continue
                if rng.random() < 0.02:  # never accepted (stuck with the agency)
                    raise StopIteration
                at += self.delay(4.0 if report_type != "crime_report" else 2.0)
                add(at, "accept", "accepted", agency, actor=None)
                st = "accepted"
                if rng.random() < 0.015 and _attempt < 2:  # returned after accepting
                    at, agency = returned(at, agency, 6.0)
                    st, holder = "returned", None
                    continue
                if rng.random() < 0.04:  # never resolved (long-running)
                    raise StopIteration
                at += self.delay(18.0 if report_type == "crime_report" else 25.0, 0.6)
                outcome_code = rng.choice(OUTCOMES[report_type]) if rng.random() < 0.97 \
                    else "withdrawn"
                add(at, "resolve", "resolved", agency, actor=None)
                st, outcome = "resolved", outcome_code
                break
        except StopIteration:
            pass

        # reports
        rows = out["reports"]
        last = events[-1][0]
        sealed = self.sealed[rid % len(self.sealed)]
        code = hashlib.blake2b(rid.to_bytes(8, "big"), digest_size=32).hexdigest()
        rows.append("\t".join((
            str(rid), code, st, ts(filed), ts(last), "web", "vi",
            "citizen" if rng.random() < 0.93 else "journalist", reported_type,
            report_type, val(sector if classified else None),
            val(("ordinary", "official")[rng.random() < 0.3] if classified else None), flags,
            str(province), val(ward), val(rng.random() < 0.7), val(holder),
            val(max(rid - 1, 1) if st == "duplicate" else None), val(outcome),
            val(crime if classified else None), *sealed[:3],
            sealed[3] if outcome else "\\N")))
        # classifications (the classifier's guess at intake)
        guess_sector = sector if rng.random() < 0.7 else pick(rng, SECTORS)
        out["classifications"].append("\t".join((
            str(rid), str(rid), ts(filed + 5), "lexical-1.0.0", guess_sector,
            f"{rng.random():.3f}", reported_type, "ordinary", val(guess_crime),
            f"{rng.random():.3f}", val(rng.random() < 0.2), sealed[4])))
        # events
        ids = []
        for at, kind, status, agency, reason, actor in events:
            self.event_id += 1
            ids.append(self.event_id)
            out["report_events"].append("\t".join((
                str(self.event_id), str(rid), ts(at), kind, status, val(agency),
                val(reason), val(actor))))
        self.statuses[st] = self.statuses.get(st, 0) + 1
        self.deadlines(rid, "crime_report" if crime else report_type, events, ids, out)

    def deadlines(self, rid, rule_type, events, ids, out) -> None:
        """Open each stage at its start event; close it at the first later event whose status
        is outside the stage's statuses."""
        for rule in self.rules.get(rule_type, ()):
            for i, (at, kind, _status, _agency, _reason, _actor) in enumerate(events):
                if kind not in rule["start"]:
                    continue
                closed_at = closed_by = None
                if rule["closes_at_start"]:
                    closed_at, closed_by = at, kind
                else:
                    for later in events[i + 1:]:
                        if later[2] not in rule["open_while"]:
                            closed_at, closed_by = later[0], later[1]
                            break
                        if later[1] in rule["start"]:  # a new start supersedes this one
                            closed_at, closed_by = later[0], later[1]
                            break
                self.deadline_id += 1
                out["report_deadlines"].append("\t".join((
                    str(self.deadline_id), str(rid), rule_type, rule["stage"], rule["party"],
                    str(ids[i]), ts(at), str(rule["length"]), rule["unit"], rule["basis"],
                    ts(due(at, rule["length"], rule["unit"])),
                    ts(closed_at) if closed_at else "\\N", val(closed_by))))

    def filing_times(self):
        """The filing times of the N reports, in order."""
        rng = self.rng
        counts = [0] * len(self.days)
        for i in rng.choices(range(len(self.days)), weights=self.per_day, k=self.n):
            counts[i] += 1
        hours = [h for h in range(24)]
        hour_w = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2, 4, 5, 5, 4, 2.5, 3, 4.5, 4.5, 4, 3,
                  2, 2, 1.8, 1.4, 0.8, 0.4]
        for i, k in enumerate(counts):
            day_start = self.days[i] - VN.total_seconds()  # local midnight in UTC
            times = sorted(day_start + h * 3600 + rng.random() * 3600
                           for h in rng.choices(hours, weights=hour_w, k=k))
            yield from (t for t in times if t < self.now)


def directory(connection) -> tuple[dict, list[int], list[int]]:
    """The generator's view of the seeded agency directory: ``{code or (ward, kind): id}``,
    the communes of Thái Nguyên and the other provinces."""
    from sqlalchemy import text

    from portal import geo

    agencies = {}
    for aid, code, kind, ward in connection.execute(
            text("SELECT id, code, kind, ward_code FROM agencies")):
        agencies[code] = aid
        if ward is not None:
            agencies[(ward, kind)] = aid
    wards = [code for code, _name in geo.wards_of(19)]
    provinces = [code for code, _name in geo.provinces() if code != 19]
    return agencies, wards, provinces


def generate_rows(connection, *, reports: int, seed: int, now: float) -> dict:
    """A history of ``reports`` reports as ``{table: [row dict]}`` (typed values) for any
    database: what the tests load with SQLAlchemy (tests/unit/supervision/test_fast_path.py).
    The encrypted columns are real envelopes under the current application's keys."""
    import json
    from types import SimpleNamespace

    from portal.extensions import db

    agencies, wards, provinces = directory(connection)
    gen = Generator(SimpleNamespace(seed=seed, reports=reports, now=now), agencies, wards,
                    provinces, sealed=seal(4))
    out = {table: [] for table in TABLES}
    for rid, filed in enumerate(gen.filing_times(), 1):
        gen.report(rid, filed, out)
    typed = {}
    for table, lines in out.items():
        columns = db.metadata.tables[table].c
        names = TABLES[table]
        typed[table] = []
        for line in lines:
            row = {}
            for name, value in zip(names, line.split("\t"), strict=True):
                kind = type(columns[name].type).__name__
                if value == "\\N":
                    row[name] = None
                elif kind == "Integer":
                    row[name] = int(value)
                elif kind == "Boolean":
                    row[name] = value == "t"
                elif kind == "UTCDateTime":
                    row[name] = datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(
                        tzinfo=UTC)
                elif kind == "LargeBinary":
                    row[name] = bytes.fromhex(value.replace("\\", "")[1:])
                elif kind == "JSON":
                    row[name] = json.loads(value)
                else:
                    row[name] = value
            typed[table].append(row)
    return typed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--now", type=float, help="epoch seconds of 'now' (default: the clock)")
    parser.add_argument("--database-url", default=os.environ.get("TINBAO_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    args = parser.parse_args()

    import psycopg
    from sqlalchemy.engine import make_url

    from portal import geo

    url = make_url(args.database_url)
    if url.database in PROTECTED:
        sys.exit(f"refusing to fill the shared database {url.database!r}")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=False) as conn:
        cur = conn.cursor()
        agencies = {}
        for aid, code, kind, ward in cur.execute(
                "SELECT id, code, kind, ward_code FROM agencies"):
            agencies[code] = aid
            if ward is not None:
                agencies[(ward, kind)] = aid
        if "tn-police" not in agencies:
            sys.exit("run `flask --app portal seed` on this database first")
        wards = [code for code, _name in geo.wards_of(19)]
        provinces = [code for code, _name in geo.provinces() if code != 19]
        gen = Generator(args, agencies, wards, provinces)

        # Bulk load: no foreign-key triggers, secondary indexes rebuilt once at the end.
        cur.execute("TRUNCATE reports RESTART IDENTITY CASCADE")
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '256MB'")
        indexes = cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)", (list(TABLES),)).fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')

        def flush(out):
            for table, rows in out.items():
                if not rows:
                    continue
                with cur.copy(f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN") as cp:
                    cp.write("\n".join(rows) + "\n")
                gen.counts[table] += len(rows)
                rows.clear()

        out = {table: [] for table in TABLES}
        rid = 0
        for filed in gen.filing_times():
            rid += 1
            gen.report(rid, filed, out)
            if rid % args.batch == 0:
                flush(out)
                print(f"  {rid:>9,} reports  {time.perf_counter() - started:7.1f} s",
                      flush=True)
        flush(out)
        loaded = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        for table in TABLES:
            # The table names are this module's constants.
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        cur.execute("SET session_replication_role = origin")
        conn.commit()
        indexed = time.perf_counter()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE reports, classifications, report_events, report_deadlines")
        done = time.perf_counter()
        kinds = cur.execute("SELECT kind, count(*) FROM report_events GROUP BY kind "
                            "ORDER BY 2 DESC").fetchall()

    print(f"\ndatabase {url.database}, seed {args.seed}, reports filed "
          f"{START:%d/%m/%Y} – {datetime.fromtimestamp(gen.now, UTC):%d/%m/%Y %H:%M} UTC")
    print(f"{'table':<20}{'rows':>12}")
    for table, n in gen.counts.items():
        print(f"{table:<20}{n:>12,}")
    print("report statuses: " + ", ".join(f"{k} {v:,}" for k, v in
                                          sorted(gen.statuses.items(), key=lambda i: -i[1])))
    print("events by kind:  " + ", ".join(f"{k} {v:,}" for k, v in kinds))
    print(f"time: generate + COPY {loaded - started:.1f} s, indexes {indexed - loaded:.1f} s, "
          f"VACUUM ANALYZE {done - indexed:.1f} s, total {done - started:.1f} s")
    # COPY bypasses the portal, so the supervision facts (portal/supervision/facts.py) do not
    # know these rows yet.
    print("next: flask --app portal supervision rebuild-facts (the supervision figures' facts)")


if __name__ == "__main__":
    main()
