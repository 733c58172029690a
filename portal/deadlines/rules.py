"""The deadline rules (deadlines.yaml) as plain data, and the date arithmetic they need.

Nothing here touches the database: a rule and a start time go in, a due time comes out.
"""

import calendar as monthcalendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from flask_babel import lazy_gettext as _l

from portal.deadlines.calendar import WorkingCalendar, end_of_day, local_date

RULES_FILE = Path(__file__).with_name("deadlines.yaml")

UNITS = ("working_days", "days", "months", "hours")
PARTIES = ("front", "agency")

STAGE_LABELS = {
    "forward": _l("Mặt trận chuyển đến cơ quan có thẩm quyền"),
    "notify_receipt": _l("Cơ quan thông báo đã tiếp nhận"),
    "accept": _l("Thụ lý hoặc không thụ lý"),
    "resolve": _l("Giải quyết"),
    "reply": _l("Trả lời: thụ lý, chuyển hoặc từ chối"),
    "report_back": _l("Báo kết quả cho Mặt trận"),
}

GROUND_LABELS = {
    "complex": _l("Vụ việc phức tạp"),
    "very_complex": _l("Vụ việc đặc biệt phức tạp"),
    "procuracy": _l("Viện kiểm sát gia hạn"),
    "several_places": _l("Phải xác minh ở nhiều địa điểm"),
    "remote": _l("Vùng sâu, vùng xa đi lại khó khăn"),
    "remote_complex": _l("Vùng sâu, vùng xa, vụ việc phức tạp"),
    "second_time": _l("Giải quyết khiếu nại lần hai"),
    "second_time_complex": _l("Lần hai, vụ việc phức tạp"),
    "second_time_remote": _l("Lần hai, vùng sâu, vùng xa"),
    "second_time_remote_complex": _l("Lần hai, vùng sâu, vùng xa, phức tạp"),
}

UNIT_LABELS = {
    "working_days": _l("ngày làm việc"),
    "days": _l("ngày"),
    "months": _l("tháng"),
    "hours": _l("giờ"),
}


class RulesError(ValueError):
    """deadlines.yaml is malformed (found when it is loaded, never at a deadline's due time)."""


@dataclass(frozen=True)
class Period:
    length: int
    unit: str


@dataclass(frozen=True)
class Ground:
    """A lawful reason to extend a deadline, and how far it goes."""

    code: str
    times: int
    basis: str
    add: Period | None = None  # added to the current (nominal) due date
    until: Period | None = None  # the deadline becomes start + this
    requires: str | None = None


@dataclass(frozen=True)
class Version:
    """The rule in force from ``valid_from``."""

    valid_from: date
    period: Period
    basis: str
    urgent: tuple[Period, str] | None = None
    max_extensions: int | None = None
    max_total: Period | None = None
    grounds: tuple[Ground, ...] = ()

    def ground(self, code: str) -> Ground | None:
        return next((g for g in self.grounds if g.code == code), None)


@dataclass(frozen=True)
class Stage:
    report_type: str
    stage: str
    party: str
    start: tuple[str, ...]
    open_while: tuple[str, ...]
    versions: tuple[Version, ...]
    closes_at_start: bool = False

    def version_on(self, day: date) -> Version:
        """The version in force on ``day`` (the law in force on the start date applies)."""
        chosen = None
        for version in self.versions:  # sorted by valid_from when loaded
            if version.valid_from <= day:
                chosen = version
        if chosen is None:  # a start before the first version: the oldest rule we know
            chosen = self.versions[0]
        return chosen


@dataclass(frozen=True)
class Rules:
    version: str
    counting_basis: str
    stages: tuple[Stage, ...] = field(default=())

    def stage(self, report_type: str, stage: str) -> Stage | None:
        return next((s for s in self.stages
                     if s.report_type == report_type and s.stage == stage), None)

    def for_type(self, report_type: str | None) -> list[Stage]:
        return [s for s in self.stages if s.report_type == report_type]


# --- loading ----------------------------------------------------------------------------------

def _period(raw, where: str) -> Period:
    if not isinstance(raw, dict) or set(raw) != {"length", "unit"}:
        raise RulesError(f"{where}: expected {{length, unit}}")
    if raw["unit"] not in UNITS or not isinstance(raw["length"], int) or raw["length"] <= 0:
        raise RulesError(f"{where}: bad length or unit {raw!r}")
    return Period(raw["length"], raw["unit"])


def _ground(raw: dict, where: str) -> Ground:
    code = raw.get("ground")
    if code not in GROUND_LABELS:
        raise RulesError(f"{where}: unknown ground {code!r} (add its label to rules.py)")
    if ("add" in raw) == ("until" in raw):
        raise RulesError(f"{where}: a ground has exactly one of add / until")
    return Ground(
        code=code, times=int(raw["times"]), basis=str(raw["basis"]),
        add=_period(raw["add"], where) if "add" in raw else None,
        until=_period(raw["until"], where) if "until" in raw else None,
        requires=raw.get("requires"),
    )


def _version(raw: dict, where: str) -> Version:
    valid_from = raw["from"]
    if not isinstance(valid_from, date):
        raise RulesError(f"{where}: `from` must be a date (yyyy-mm-dd)")
    urgent = None
    if "urgent" in raw:
        urgent_raw = dict(raw["urgent"])
        basis = str(urgent_raw.pop("basis"))
        urgent = (_period(urgent_raw, where + ".urgent"), basis)
    grounds = tuple(_ground(g, f"{where}.extensions") for g in raw.get("extensions") or ())
    codes = {g.code for g in grounds}
    for g in grounds:
        if g.requires and g.requires not in codes:
            raise RulesError(f"{where}: {g.code} requires unknown ground {g.requires}")
    return Version(
        valid_from=valid_from,
        period=_period({"length": raw["length"], "unit": raw["unit"]}, where),
        basis=str(raw["basis"]),
        urgent=urgent,
        max_extensions=raw.get("max_extensions"),
        max_total=_period(raw["max_total"], where + ".max_total") if "max_total" in raw else None,
        grounds=grounds,
    )


def parse(document: dict) -> Rules:
    """Check and convert a rules document (the YAML's content)."""
    from portal.reports.models import REPORT_TYPES
    from portal.reports.status import STATUSES

    stages = []
    for index, raw in enumerate(document.get("stages") or ()):
        where = f"stages[{index}]"
        if raw.get("report_type") not in REPORT_TYPES:
            raise RulesError(f"{where}: unknown report_type {raw.get('report_type')!r}")
        if raw.get("stage") not in STAGE_LABELS:
            raise RulesError(f"{where}: unknown stage {raw.get('stage')!r}")
        if raw.get("party") not in PARTIES:
            raise RulesError(f"{where}: party must be one of {PARTIES}")
        if any(s not in STATUSES for s in raw.get("open_while") or ()):
            raise RulesError(f"{where}: unknown status in open_while")
        versions = sorted((_version(v, f"{where}.versions") for v in raw["versions"]),
                          key=lambda v: v.valid_from)
        stages.append(Stage(
            report_type=raw["report_type"], stage=raw["stage"], party=raw["party"],
            start=tuple(raw["start"]), open_while=tuple(raw["open_while"]),
            versions=tuple(versions), closes_at_start=bool(raw.get("closes_at_start")),
        ))
    keys = [(s.report_type, s.stage) for s in stages]
    if len(keys) != len(set(keys)):
        raise RulesError("a (report_type, stage) appears twice")
    return Rules(version=str(document["version"]),
                 counting_basis=str(document["counting_basis"]), stages=tuple(stages))


@lru_cache(maxsize=4)
def load(path: Path = RULES_FILE) -> Rules:
    """The rules file, checked (cached: it changes only with a deployment)."""
    with open(path, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle))


# --- date arithmetic --------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, or that month's last day (BLTTHS 2015, Art. 137: "ngày trùng
    của tháng sau; nếu tháng đó không có ngày trùng thì… ngày cuối cùng của tháng đó")."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthcalendar.monthrange(year, month)[1]))


def add_period(day: date, period: Period, cal: WorkingCalendar) -> date:
    """The nominal last day of ``period`` counted from ``day`` (not rolled to a working day)."""
    if period.unit == "working_days":
        return cal.add_working_days(day, period.length)
    if period.unit == "days":
        return day + timedelta(days=period.length)
    if period.unit == "months":
        return add_months(day, period.length)
    raise RulesError(f"cannot add {period.unit} to a date")


@dataclass(frozen=True)
class Due:
    """A computed deadline: ``nominal`` is the last day before rolling past days off (what an
    extension adds to); ``due_at`` is the moment it ends."""

    nominal: date | None
    due_at: datetime


def due_for(started_at: datetime, period: Period, cal: WorkingCalendar) -> Due:
    """When a stage that started at ``started_at`` ends after ``period``."""
    if period.unit == "hours":
        return Due(None, started_at + timedelta(hours=period.length))
    nominal = add_period(local_date(started_at), period, cal)
    return Due(nominal, end_of_day(cal.next_working_day(nominal)))


def roll(nominal: date, cal: WorkingCalendar) -> datetime:
    """The end of a deadline whose nominal last day is ``nominal``: a period ending on a day off
    ends on the next working day (Bộ luật Dân sự 2015, Art. 148(5))."""
    return end_of_day(cal.next_working_day(nominal))


def extended(started_at: datetime, current: Due, ground: Ground, cal: WorkingCalendar) -> Due:
    """The deadline after one more extension on ``ground``."""
    if ground.add is not None:
        nominal = add_period(current.nominal, ground.add, cal)
    else:
        nominal = max(current.nominal, add_period(local_date(started_at), ground.until, cal))
    return Due(nominal, roll(nominal, cal))
