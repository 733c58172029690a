"""Rule titles, legal bases and notes in English for the English back office (issue 5), while
the Vietnamese texts stay the ones that apply: the ``routing suggest`` output, the transfer
record and the audit entries keep them."""

import copy
import json

import pytest

from portal.routing.engine import DirectoryEntry, suggest
from portal.routing.facts import derive_facts
from portal.routing.loader import RulesError, load_rules, parse_rules
from tests.functional.test_backoffice import case_url, report_id
from tests.helpers import file_report
from tests.unit.routing.test_loader import PACKAGED

BRIBE = ("Cán bộ địa chính xã Tân Cương nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định "
         "cho một hộ dân ở xóm Chè.")
VIETNAMESE_LETTERS = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủũứừửữựỳỵỷỹ")


def test_every_packaged_rule_has_its_title_legal_basis_and_note_in_english():
    for rule in load_rules().rules:
        assert rule.title_en and rule.legal_basis_en, rule.id
        assert (rule.note_en is not None) == (rule.note is not None), rule.id
        for text in (rule.title_en, rule.legal_basis_en, rule.note_en or ""):
            # English, not Vietnamese copied over (place names aside, none here).
            assert not VIETNAMESE_LETTERS & set(text.lower()), (rule.id, text)
        assert rule.text("legal_basis", "en") == rule.legal_basis_en
        assert rule.text("legal_basis", "vi") == rule.legal_basis


def test_a_rule_without_english_falls_back_to_vietnamese():
    data = copy.deepcopy(PACKAGED)
    for key in ("title_en", "legal_basis_en", "note_en"):
        data["rules"][0].pop(key, None)
    rule = parse_rules(data).rules[0]
    assert rule.text("title", "en") == rule.title
    assert rule.text("legal_basis", "en") == rule.legal_basis
    assert rule.text("note", "en") == rule.note


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.__setitem__("title_en", "  "), "`title_en` must be non-empty text"),
    (lambda r: r.__setitem__("legal_basis_en", 3), "`legal_basis_en` must be non-empty text"),
    (lambda r: (r.pop("note", None), r.__setitem__("note_en", "A note.")),
     "`note_en` translates `note`, which the rule lacks"),
])
def test_bad_english_texts_are_refused_with_their_place(change, message):
    data = copy.deepcopy(PACKAGED)
    change(data["rules"][-1])
    with pytest.raises(RulesError) as caught:
        parse_rules(data, "test.yaml")
    assert any(message in problem and "R0" in problem for problem in caught.value.problems)


def _suggestion(app, language: str):
    rules = load_rules()
    facts = derive_facts({"text": BRIBE, "report_type": "crime_report", "subject": "official",
                          "province_code": 19, "crime_confirmed": True}, rules)
    directory = [DirectoryEntry(id=1, kind="police", name="Công an tỉnh Thái Nguyên",
                                province_code=19)]
    with app.test_request_context(f"/?lang={language}"):
        return suggest(facts, rules, directory)


def test_the_suggestion_carries_both_languages_and_reasons_in_the_pages_language(app):
    english, vietnamese = _suggestion(app, "en"), _suggestion(app, "vi")
    rule = load_rules().rule(english.rule_id)
    assert english.legal_basis == vietnamese.legal_basis == rule.legal_basis  # what applies
    assert english.as_dict() == vietnamese.as_dict()  # audit entries, JSON: unchanged
    assert english.title_in("en") == rule.title_en and english.title_in("vi") == rule.title
    assert english.legal_basis_in("en") == rule.legal_basis_en
    assert english.reasoning[0] == rule.title_en and vietnamese.reasoning[0] == rule.title
    assert english.reasoning[-1] == rule.note_en and vietnamese.reasoning[-1] == rule.note


def test_the_cli_still_prints_the_vietnamese_legal_basis(runner):
    result = runner.invoke(args=["routing", "suggest"], input=json.dumps(
        {"id": 1, "text": "Cán bộ địa chính xã nhận hối lộ để cấp sổ đỏ sai quy định.",
         "province_code": 19}) + "\n", env={"LANG": "en_US.UTF-8"})
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert set(line) == {"id", "agency_kind", "agency_id", "rule", "legal_basis"}
    assert line["legal_basis"] == load_rules().rule(line["rule"]).legal_basis
    assert line["legal_basis"].startswith("Bộ luật Tố tụng hình sự 2015")


def test_the_english_case_page_shows_the_english_rule_and_legal_basis(app, client, staff):
    rid = report_id(app, file_report(client, text=BRIBE))
    triage = staff("triage")
    english = triage.get(case_url(rid) + "?lang=en").get_data(as_text=True)
    section = english[english.index('class="suggestion routing-suggestion"'):]
    section = section[:section.index("</section>")]
    rule = load_rules().rule(section.split('data-rule="')[1].split('"')[0])
    assert rule.title_en in section and rule.legal_basis_en in section
    assert rule.legal_basis not in section and rule.title not in section
    vietnamese = triage.get(case_url(rid) + "?lang=vi").get_data(as_text=True)
    assert rule.legal_basis in vietnamese and rule.title in vietnamese
    assert rule.legal_basis_en not in vietnamese
