"""The facts the routing rules test, derived from a report and the classifier's answer.

Plain data in and out: :func:`derive_facts` takes a dict (what staff confirmed or a caller
gave, the text, the place, the classifier's answer) and returns :class:`Facts` — each fact's
value and, for the reasoning shown to the officer, why it has that value. Given values win
over the classifier's (the officer's word is final); the classifier fills what is missing.

Facts routing.md needs but the taxonomy does not carry (a soldier, a crime in judicial
activity, a local and minor crime, which body manages an official, who issued a contested
decision…) come from the phrase lists of the rules file, the classifier's Penal Code articles
and flags; docs/routing.md lists how each one is made.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import geo
from portal.labels import FLAG_LABELS, REPORT_TYPE_LABELS, SECTOR_LABELS, SUBJECT_LABELS
from portal.routing.loader import Department, RuleSet
from portal.routing.phrases import Hit, ReportText

# Where a value came from, for the reasoning.
SOURCE_LABELS = {
    "staff": _l("cán bộ xác nhận"),
    "reporter": _l("người gửi chọn"),
    "given": _l("được cung cấp"),
    "machine": _l("máy gợi ý"),
}

FACT_LABELS = {
    "report_type": _l("Loại đơn"),
    "subject": _l("Người bị phản ánh"),
    "sector": _l("Lĩnh vực"),
    "crime_signs": _l("Dấu hiệu tội phạm"),
    "anonymous": _l("Người gửi tin"),
    "judicial_officer": _l("Người bị phản ánh là cán bộ tư pháp"),
    "soldier": _l("Người bị phản ánh là quân nhân"),
    "judicial_or_office_crime": _l("Tội phạm trong hoạt động tư pháp hoặc về chức vụ"),
    "local_minor_crime": _l("Vụ việc nhỏ, tại xã, phường"),
    "party_member": _l("Người bị tố cáo là đảng viên"),
    "state_law_breach": _l("Có vi phạm pháp luật nhà nước"),
    "procedural_violation": _l("Vi phạm thủ tục tố tụng"),
    "specific": _l("Nội dung cụ thể, có cơ sở xác minh"),
    "has_department": _l("Sở phụ trách"),
    "official_level": _l("Người bị tố cáo thuộc"),
    "judicial_role": _l("Cơ quan tư pháp của người bị tố cáo"),
    "issuer": _l("Nơi ra quyết định bị khiếu nại"),
    "petition_scope": _l("Loại kiến nghị"),
}

VALUE_LABELS = {
    True: _l("có"),
    False: _l("không"),
    None: _l("chưa rõ"),
    "unknown": _l("chưa rõ"),
    ("anonymous", True): _l("nặc danh"),
    ("anonymous", False): _l("có danh tính"),
    ("official_level", "head"): _l("người đứng đầu xã, phường hoặc sở"),
    ("official_level", "department"): _l("công chức, viên chức sở"),
    ("official_level", "commune"): _l("cán bộ, công chức xã, phường"),
    ("judicial_role", "court"): _l("Tòa án"),
    ("judicial_role", "enforcement"): _l("Thi hành án dân sự"),
    ("judicial_role", "procuracy"): _l("Viện kiểm sát"),
    ("judicial_role", "police"): _l("Công an"),
    ("issuer", "court"): _l("Tòa án"),
    ("issuer", "criminal_case"): _l("cơ quan tiến hành tố tụng hình sự"),
    ("issuer", "enforcement"): _l("Thi hành án dân sự"),
    ("issuer", "province"): _l("UBND tỉnh"),
    ("issuer", "department"): _l("sở"),
    ("issuer", "commune"): _l("UBND xã, phường"),
    ("petition_scope", "question"): _l("câu hỏi, lời cảm ơn"),
    ("petition_scope", "local"): _l("việc của địa phương"),
    ("petition_scope", "sector"): _l("việc của ngành, lĩnh vực"),
}

JUDICIAL_ROLES = ("court", "enforcement", "procuracy", "police")
ISSUERS = ("court", "criminal_case", "enforcement", "province", "department", "commune")
# Subjects that hold public office: never a "minor" local matter for the commune police.
OFFICE_SUBJECTS = ("official", "party_member", "judicial_officer")


@dataclass
class Facts:
    """The facts of one report: values the rules test and why each has its value."""

    values: dict
    reasons: dict = field(default_factory=dict)
    province_code: int | None = None
    ward_code: int | None = None
    # The department for the report: the one it names, else the one for its sector.
    department: Department | None = None

    def __getitem__(self, name):
        return self.values[name]


def value_label(fact: str, value) -> str:
    """The people-facing form of a fact's value."""
    if fact == "report_type" and value in REPORT_TYPE_LABELS:
        return str(REPORT_TYPE_LABELS[value])
    if fact == "subject" and value in SUBJECT_LABELS:
        return str(SUBJECT_LABELS[value])
    if fact == "sector" and value in SECTOR_LABELS:
        return str(SECTOR_LABELS[value])
    label = VALUE_LABELS.get((fact, value))
    if label is None and (isinstance(value, bool) or value in (None, "unknown")):
        label = VALUE_LABELS[value]
    return str(label if label is not None else value)


def _line(fact: str, value, why) -> str:
    if why:
        return _("%(fact)s: %(value)s (%(why)s)", fact=FACT_LABELS[fact],
                 value=value_label(fact, value), why=why)
    return _("%(fact)s: %(value)s", fact=FACT_LABELS[fact], value=value_label(fact, value))


def _phrase(hit: Hit) -> str:
    return _("thấy “%(phrase)s”", phrase=hit.found)


def _articles(numbers) -> str:
    return _("Điều %(articles)s Bộ luật Hình sự", articles=", ".join(map(str, sorted(numbers))))


def _flag(flag: str) -> str:
    return _("dấu hiệu “%(flag)s”", flag=FLAG_LABELS.get(flag, flag))


def _classifier_code(answer: dict | None, field_name: str) -> str | None:
    return ((answer or {}).get(field_name) or {}).get("code")


def derive_facts(inputs: dict, rules: RuleSet) -> Facts:
    """Every fact of ``FACT_VALUES`` for one report.

    ``inputs``: ``text`` (and ``involved``), ``report_type``/``subject``/``sector`` as staff
    confirmed or a caller gave them (None: not given), ``sources`` (field → "staff",
    "reporter" or "given"), ``flags`` (staff-confirmed; None: use the classifier's),
    ``crime_confirmed`` (staff's answer, None: undecided), ``province_code``, ``ward_code``,
    ``anonymous`` and ``classifier`` (its answer, docs/classifier.md, or None).
    """
    answer = inputs.get("classifier") or None
    sources = inputs.get("sources") or {}
    text = ReportText("\n".join(t for t in (inputs.get("text"), inputs.get("involved")) if t))
    lex = rules.lexicon
    values, reasons = {}, {}

    def given_or_machine(name):
        value = inputs.get(name)
        if value:
            return value, SOURCE_LABELS.get(sources.get(name, "given"))
        value = _classifier_code(answer, name)
        return value, SOURCE_LABELS["machine"] if value else None

    whys = {}
    for name in ("report_type", "subject", "sector"):
        values[name], whys[name] = given_or_machine(name)
        reasons[name] = _line(name, values[name], whys[name])

    flags = inputs.get("flags")
    if flags is None:
        flags = list((answer or {}).get("flags") or [])
        if inputs.get("subject"):
            # A given subject replaces the classifier's reading of who the subject is, and the
            # classifier's judicial_officer/party_member flags only mirror that reading.
            flags = [f for f in flags if f not in ("judicial_officer", "party_member")]
    flags = set(flags)
    crime = (answer or {}).get("crime_signs") or {}
    articles = {int(a["article"]) for a in crime.get("articles") or [] if "article" in a}

    # Signs of a crime: staff's answer, else the classifier's flag or a crime report.
    confirmed = inputs.get("crime_confirmed")
    if confirmed is not None:
        values["crime_signs"], why = bool(confirmed), SOURCE_LABELS["staff"]
    elif crime.get("flag"):
        values["crime_signs"] = True
        why = _articles(articles) if articles else SOURCE_LABELS["machine"]
    elif values["report_type"] == "crime_report":
        values["crime_signs"], why = True, str(REPORT_TYPE_LABELS["crime_report"])
    else:
        values["crime_signs"], why = False, SOURCE_LABELS["machine"] if answer else None
    reasons["crime_signs"] = _line("crime_signs", values["crime_signs"], why)

    anonymous = bool(inputs.get("anonymous"))
    values["anonymous"] = anonymous
    reasons["anonymous"] = _line("anonymous", anonymous, None)

    subject = values["subject"]
    for name, code in (("judicial_officer", "judicial_officer"), ("party_member", "party_member")):
        if subject == code:
            values[name], why = True, whys["subject"]
        elif code in flags:
            values[name], why = True, _flag(code)
        else:
            values[name], why = False, None
        reasons[name] = _line(name, values[name], why)

    hit = lex["soldier"].first(text)
    values["soldier"] = hit is not None
    reasons["soldier"] = _line("soldier", hit is not None, _phrase(hit) if hit else None)

    # Rule 1: Penal Code chapters XXIII–XXIV, the corruption flag, or a phrase of the list.
    office = sorted(a for a in articles
                    if any(lo <= a <= hi for lo, hi in rules.judicial_or_office_articles))
    hit = lex["judicial_activity"].first(text)
    if office:
        values["judicial_or_office_crime"], why = True, _articles(office)
    elif "corruption" in flags:
        values["judicial_or_office_crime"], why = True, _flag("corruption")
    elif hit:
        values["judicial_or_office_crime"], why = True, _phrase(hit)
    else:
        values["judicial_or_office_crime"], why = False, None
    reasons["judicial_or_office_crime"] = _line("judicial_or_office_crime",
                                                values["judicial_or_office_crime"], why)

    ward_code = inputs.get("ward_code")
    province_code = inputs.get("province_code")
    if province_code is None and ward_code is not None:
        province_code = geo.ward_province(ward_code)
    values["local_minor_crime"], why = _local_minor_crime(
        text, rules, ward_code, flags, subject, articles)
    reasons["local_minor_crime"] = _line("local_minor_crime", values["local_minor_crime"], why)

    hit = lex["state_law_breach"].first(text)
    if "corruption" in flags:
        values["state_law_breach"], why = True, _flag("corruption")
    else:
        values["state_law_breach"], why = hit is not None, _phrase(hit) if hit else None
    reasons["state_law_breach"] = _line("state_law_breach", values["state_law_breach"], why)

    hit = lex["procedural_violation"].first(text)
    values["procedural_violation"] = hit is not None
    reasons["procedural_violation"] = _line("procedural_violation", hit is not None,
                                            _phrase(hit) if hit else None)

    department_phrases = [p for d in rules.departments for p in d.phrases.phrases]
    lists = {role: lex[f"role_{role}"] for role in JUDICIAL_ROLES}
    values["judicial_role"], why = _earliest(text, lists)
    reasons["judicial_role"] = _line("judicial_role", values["judicial_role"], why)

    values["official_level"], why = _official_level(text, lex, department_phrases)
    reasons["official_level"] = _line("official_level", values["official_level"], why)

    lists = {issuer: lex[f"issuer_{issuer}"] for issuer in ISSUERS}
    lists["department"] = lists["department"].with_phrases(department_phrases)
    values["issuer"], why = _earliest(text, lists)
    reasons["issuer"] = _line("issuer", values["issuer"], why)

    department, department_why = _department(text, rules, values["sector"])
    values["has_department"] = department is not None
    reasons["has_department"] = _line(
        "has_department", True, department_why) if department else _line(
        "has_department", False, None)

    values["petition_scope"], why = _petition_scope(text, lex, values["sector"], department)
    reasons["petition_scope"] = _line("petition_scope", values["petition_scope"], why)

    values["specific"], why = _specific(text, rules, ward_code, inputs.get("involved"))
    reasons["specific"] = _line("specific", values["specific"], why)

    return Facts(values=values, reasons=reasons, province_code=province_code,
                 ward_code=ward_code, department=department)


def _earliest(text: ReportText, lists: dict) -> tuple[str, str | None]:
    """The key of the list mentioned first in the text, or "unknown"."""
    found = [(hit.start, -hit.end, key, hit) for key, phrases in lists.items()
             if (hit := phrases.first(text))]
    if not found:
        return "unknown", None
    _start, _end, key, hit = min(found, key=lambda item: item[:2])
    return key, _phrase(hit)


def _official_level(text: ReportText, lex: dict, department_phrases) -> tuple[str, str | None]:
    # Highest authority first: a chairman named beside his staff is the one to go above.
    for level, phrases in (
        ("head", lex["official_head"]),
        ("department", lex["official_department"].with_phrases(department_phrases)),
        ("commune", lex["official_commune"]),
    ):
        hit = phrases.first(text)
        if hit:
            return level, _phrase(hit)
    return "unknown", None


def _department(text: ReportText, rules: RuleSet, sector: str | None):
    """The department the report names (first named), else the one for its sector."""
    named = [(hit.start, index, hit) for index, department in enumerate(rules.departments)
             if (hit := department.phrases.first(text))]
    if named:
        _start, index, hit = min(named, key=lambda item: item[:2])
        department = rules.departments[index]
        return department, _("%(name)s: %(why)s", name=department.name, why=_phrase(hit))
    department = rules.department_for_sector(sector)
    if department:
        return department, _("%(name)s: lĩnh vực %(sector)s", name=department.name,
                             sector=value_label("sector", sector))
    return None, None


def _local_minor_crime(text, rules, ward_code, flags, subject, articles):
    """Rule 3's "local and not serious": the place's commune is known, something marks the
    crime as minor (a minor article or phrase) and nothing marks it as serious."""
    lex = rules.lexicon
    if ward_code is None:
        return False, _("chưa rõ xã, phường nơi xảy ra")
    place = geo.ward_name(ward_code) or str(ward_code)
    serious = sorted(flags & rules.serious_flags)
    if serious:
        return False, _flag(serious[0])
    if subject in OFFICE_SUBJECTS:
        return False, _("người bị tố giác giữ chức vụ")
    beyond = sorted(articles - rules.minor_articles)
    if beyond:
        return False, _articles(beyond)
    hit = lex["serious_crime"].first(text)
    if hit:
        return False, _phrase(hit)
    if articles:
        return True, _("%(place)s; %(why)s", place=place, why=_articles(articles))
    hit = lex["minor_crime"].first(text)
    if hit:
        return True, _("%(place)s; %(why)s", place=place, why=_phrase(hit))
    return False, _("không thấy dấu hiệu vụ việc nhỏ")


def _petition_scope(text, lex, sector, department):
    hit = lex["question_or_thanks"].first(text)
    if hit:
        return "question", _phrase(hit)
    local = lex["local_matter"].first(text)
    wide = lex["provincial_matter"].first(text)
    if local and not wide and not (department and _named(text, department)):
        return "local", _phrase(local)
    # "Other" is the classifier's sector for questions, thanks and text it cannot place.
    if sector == "other":
        return "question", value_label("sector", sector)
    if wide:
        return "sector", _phrase(wide)
    return "sector", None


def _named(text: ReportText, department: Department) -> bool:
    return department.phrases.first(text) is not None


def _specific(text: ReportText, rules: RuleSet, ward_code, involved) -> tuple[bool, str]:
    """Rule 8 (Luật Tố cáo 2018, Art. 25): enough words and enough concrete details."""
    lex = rules.lexicon
    named_lists = [lex[name] for name in (
        "role_court", "role_enforcement", "role_procuracy", "role_police", "official_head",
        "official_department", "official_commune", "soldier")]
    named_lists += [d.phrases for d in rules.departments]
    details = [
        any(phrases.first(text) for phrases in named_lists),  # a body or a position
        text.has_digit,  # an amount, a date, a number
        ward_code is not None or lex["local_matter"].first(text) is not None,  # the place
        bool((involved or "").strip()),  # the people involved
    ]
    count = sum(details)
    value = text.words >= rules.specific_min_words and count >= rules.specific_min_details
    return value, _("%(words)d từ, %(count)d/4 chi tiết: cơ quan hoặc chức vụ, con số hoặc "
                    "ngày tháng, nơi xảy ra, người liên quan", words=text.words, count=count)
