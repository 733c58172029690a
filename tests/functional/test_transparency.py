"""The public transparency page (/minh-bach): aggregate figures only, no count under 5 shown or
derivable, no case identifiable; public, without JavaScript, in Vietnamese and English."""

import re
from html import unescape

import pytest

from tests.helpers import file_report
from tests.unit.supervision.history import align_filing_times
from tests.unit.supervision.test_transparency import possible_values

PAGE = "/minh-bach"


@pytest.fixture(autouse=True)
def _fresh_figures(app, monkeypatch):
    # The page keeps its figures for a while; each test wants them computed afresh.
    monkeypatch.setitem(app.config, "TRANSPARENCY_CACHE_SECONDS", 0)
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)


def table(page: str, table_id: str) -> dict[str, list[tuple[str, str]]]:
    """``{row label: [(mark, text), …]}`` of one public table, the total under "Cả năm"."""
    body = re.search(rf'id="public-{table_id}">(.*?)</table>', page, flags=re.S).group(1)
    rows = {}
    for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', body,
                                   flags=re.S):
        rows[unescape(label)] = [(mark, unescape(text)) for mark, text in re.findall(
            r'data-mark="([a-z]+)">(.*?)</td>', cells)]
    return rows


def test_a_count_of_three_is_never_shown_nor_derivable(app, client, clock):
    clock.set(2026, 8, 10, 9)
    for _ in range(3):
        file_report(client, report_type="complaint")
    for _ in range(7):
        file_report(client, report_type="denunciation")
    clock.set(2026, 10, 2, 9)
    file_report(client, report_type="complaint")  # this month's: not published until November
    align_filing_times(app)
    clock.set(2026, 10, 5, 9)
    response = client.get(PAGE)
    assert response.status_code == 200  # public: no login
    page = response.get_data(as_text=True)
    types = table(page, "report_type")
    assert types["Khiếu nại"][0] == ("small", "< 5")
    assert types["Tố cáo"][0] == ("hidden", "ẩn")  # else 10 − 7 would give the 3 away
    assert types["Tố giác, tin báo về tội phạm"][0] == ("shown", "0")
    assert types["Cả năm"][0] == ("shown", "10")
    # A reader who knows the rule still cannot tell the complaints' number.
    labels = [label for label in types if label != "Cả năm"]
    values = {"Khiếu nại": 3, "Tố cáo": 7}
    marks = [types[label][0][0] for label in labels]
    column = [values.get(label, 0) for label in labels]
    for candidates in possible_values(column, marks, 10).values():
        assert len(candidates) >= 2
    # The quarter with all ten shows them; nothing here identifies a case.
    quarters = table(page, "quarter")
    assert quarters["Quý III"][0] == ("shown", "10")
    assert quarters["Quý IV"][0] == ("shown", "—")  # to the end of last month: 30/09
    assert "đến ngày 30/09/2026" in page
    assert not re.search(r"\b3\b", " ".join(t for _m, t in types["Khiếu nại"]))
    assert "/staff/" not in page and "2026-0000" not in page
    assert "Ô nào có từ 1 đến 4 vụ việc được ghi “&lt; 5”" in page


def test_later_quarters_are_not_yet_and_earlier_years_can_be_chosen(app, client, clock):
    clock.set(2025, 11, 3, 9)
    for _ in range(6):
        file_report(client, report_type="petition")
    align_filing_times(app)
    clock.set(2026, 2, 10, 9)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Số liệu công khai năm 2026" in page
    quarters = table(page, "quarter")
    assert quarters["Quý I"][0] == ("shown", "0") and quarters["Quý II"][0] == ("shown", "—")
    assert '<option value="2025"' in page
    earlier = client.get(f"{PAGE}?nam=2025").get_data(as_text=True)
    assert table(earlier, "quarter")["Quý IV"][0] == ("shown", "6")
    assert "Số liệu công khai năm 2026" in client.get(f"{PAGE}?nam=1999").get_data(as_text=True)


def test_a_tiny_year_withholds_its_total(app, client, clock):
    clock.set(2026, 8, 10, 9)
    for _ in range(3):
        file_report(client, report_type="complaint")
    align_filing_times(app)
    clock.set(2026, 9, 2, 9)
    page = client.get(PAGE).get_data(as_text=True)
    quarters = table(page, "quarter")
    assert quarters["Quý III"][0] == ("small", "< 5")
    assert quarters["Cả năm"][0] == ("small", "< 5")
    assert table(page, "sector")["Cả năm"][0] == ("small", "< 5")


def test_the_page_in_english_and_linked_from_every_public_page(app, client, clock):
    page = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "Public figures" in page
    assert f'href="{PAGE}"' in client.get("/").get_data(as_text=True)
    assert "<script" not in page and "style=" not in page
