"""The rules file is checked when it is read: every mistake is reported, with where it is."""

import copy
from pathlib import Path

import pytest
import yaml

from portal import create_app
from portal.routing.loader import DEFAULT_RULES_FILE, RulesError, load_rules, parse_rules
from portal.routing.phrases import PhraseList, ReportText

PACKAGED = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))


def broken(change) -> RulesError:
    data = copy.deepcopy(PACKAGED)
    change(data)
    with pytest.raises(RulesError) as caught:
        parse_rules(data, "test.yaml")
    return caught.value


def test_the_packaged_file_loads_with_a_version_and_a_catch_all_last():
    rules = load_rules()
    assert rules.version == PACKAGED["version"]
    assert rules.rules[-1].when == {}
    assert {rule.clause for rule in rules.rules} == set(range(9))  # routing.md's 1–8, and 0
    assert all(rule.legal_basis for rule in rules.rules)
    assert len({rule.id for rule in rules.rules}) == len(rules.rules)


def test_departments_follow_routing_md_sector_table():
    rules = load_rules()
    table = {sector: d.name for d in rules.departments for sector in d.sectors}
    assert table == {
        "land": "Sở Nông nghiệp và Môi trường",
        "environment_resources": "Sở Nông nghiệp và Môi trường",
        "construction_investment": "Sở Xây dựng",
        "procurement": "Sở Tài chính", "public_finance": "Sở Tài chính",
        "state_enterprise": "Sở Tài chính",
        "economy_market": "Sở Công Thương",
        "health": "Sở Y tế",
        "education": "Sở Giáo dục và Đào tạo",
        "social_welfare": "Sở Nội vụ", "personnel": "Sở Nội vụ",
    }


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(version=""), "`version` must be a non-empty string"),
    (lambda d: d["rules"][0]["when"].update(crime_sign=True),
     "rule #1 (R1): unknown fact 'crime_sign' in `when`"),
    (lambda d: d["rules"][0]["when"].update(crime_signs="yes"),
     "rule #1 (R1): `crime_signs` takes true or false, not 'yes'"),
    (lambda d: d["rules"][0]["when"].update(report_type="crime"),
     "rule #1 (R1): `report_type` cannot be 'crime'"),
    (lambda d: d["rules"][1].update(agency_kind="army"),
     "rule #2 (R2): unknown agency_kind 'army'"),
    (lambda d: d["rules"][1].update(legal_basis=" "),
     "rule #2 (R2): `legal_basis` must be non-empty"),
    (lambda d: d["rules"][1].update(pick="district"), "rule #2 (R2): `pick` must be one of"),
    (lambda d: d["rules"][1].update(pick="department"),
     "`pick: department` goes with `agency_kind: department`"),
    (lambda d: d["rules"][1].update(clause=9), "rule #2 (R2): `clause` must be routing.md's"),
    (lambda d: d["rules"][1].update(legal="x"), "rule #2 (R2): unknown key 'legal'"),
    (lambda d: d["rules"][2].update(id="R1"), "rule #3: id 'R1' is used twice"),
    (lambda d: d["rules"].pop(), "the last rule (R8-vague) must have an empty `when`"),
    (lambda d: d["rules"].insert(0, dict(d["rules"][-1], id="early")),
     "rule early has an empty `when`: the rules after it would never fire"),
    (lambda d: d["departments"][0]["sectors"].append("farming"),
     "departments #1 (Sở Nông nghiệp và Môi trường): unknown sector 'farming'"),
    (lambda d: d["departments"][1]["sectors"].append("land"),
     "sector 'land' already belongs to Sở Nông nghiệp và Môi trường"),
    (lambda d: d["lexicon"].pop("soldier"), "lexicon.soldier: missing"),
    (lambda d: d["lexicon"].update(soldiers={"phrases": ["lính"]}), "unknown list 'soldiers'"),
    (lambda d: d["lexicon"]["soldier"]["phrases"].append("…"), "phrase '…' has no letters"),
    (lambda d: d["articles"].update(judicial_or_office=[[391, 352]]), "is not a [first, last]"),
    (lambda d: d.update(serious_flags=["violence"]), "`serious_flags` must be a list of flags"),
    (lambda d: d["specific"].update(min_details=5), "`specific` needs `min_words`"),
])
def test_each_mistake_is_named_with_its_place(change, message):
    error = broken(change)
    assert any(message in problem for problem in error.problems), error.problems
    assert "test.yaml" in str(error)


def test_all_problems_are_listed_at_once():
    def two_mistakes(data):
        data["rules"][0]["agency_kind"] = "army"
        data["rules"][3]["when"]["soldiers"] = True

    error = broken(two_mistakes)
    assert len(error.problems) == 2
    assert str(error).count("\n  - ") == 2


def test_unreadable_or_invalid_files_are_reported(tmp_path):
    with pytest.raises(RulesError, match="cannot read the file"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(RulesError, match="must be a mapping"):
        load_rules(bad)


def test_the_portal_does_not_start_with_a_broken_rules_file(tmp_path):
    data = copy.deepcopy(PACKAGED)
    data["rules"][0]["agency_kind"] = "army"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError, match="unknown agency_kind 'army'"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                    "SECRET_KEY": "test-secret-key-not-for-production",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "ROUTING_RULES_FILE": str(path)})


def test_an_edited_copy_of_the_rules_changes_routing_without_code(tmp_path):
    from portal.routing.engine import suggest
    from portal.routing.facts import derive_facts

    data = copy.deepcopy(PACKAGED)
    data["version"] = "2026.1-test"
    for rule in data["rules"]:
        if rule["id"] == "R3":
            rule["agency_kind"] = "procuracy"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rules = load_rules(path)
    facts = derive_facts({"text": "Lừa đảo chiếm đoạt tiền.", "report_type": "crime_report",
                          "province_code": 19}, rules)
    result = suggest(facts, rules, [])
    assert (result.rule_id, result.agency_kind, result.rules_version) == (
        "R3", "procuracy", "2026.1-test")


# --- phrases ---------------------------------------------------------------------------------

def hits(phrases, text, exceptions=()):
    return [hit.found for hit in PhraseList.compile("t", phrases, exceptions).hits(
        ReportText(text))]


def test_phrases_match_with_or_without_diacritics_and_whole_words_only():
    assert hits(["ủy ban xã"], "UỶ BAN XÃ và uy ban xa và Ủy ban xã") == [
        "UỶ BAN XÃ", "uy ban xa", "Ủy ban xã"]
    assert hits(["thôn"], "thông tin ở thôn 3") == ["thôn"]
    assert hits(["bộ đội"], "bỏ đói, bo doi, bộ  đội, bộ\nđội") == ["bo doi", "bộ đội",
                                                                    "bộ\nđội"]
    assert hits(["công an"], "co\u0302ng an xã") == ["công an"]  # decomposed input, found as NFC


def test_exceptions_cancel_the_hits_inside_them():
    assert hits(["bộ đội"], "cán bộ nhận tiền cho khỏi đi bộ đội", ["đi bộ đội"]) == []
    assert hits(["bộ đội"], "đi bộ đội; bộ đội đánh người", ["đi bộ đội"]) == ["bộ đội"]


def test_every_phrase_of_the_file_finds_itself_in_both_spellings():
    from classifier.normalize import fold

    rules = load_rules()
    lists = list(rules.lexicon.values()) + [d.phrases for d in rules.departments]
    for phrases in lists:
        for phrase in phrases.phrases:
            for text in (phrase.text, fold(phrase.text), phrase.text.upper()):
                found = [h.phrase for h in PhraseList(phrases.name, (phrase,)).hits(
                    ReportText(f"… {text} …"))]
                assert found == [phrase.text], (phrases.name, text)


def test_the_rules_file_is_packaged():
    import tomllib

    root = Path(__file__).resolve().parents[3]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "routing/*.yaml" in config["tool"]["setuptools"]["package-data"]["portal"]
