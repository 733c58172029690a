"""The supervision dashboard, its drill-down lists and the periodic reports, through the pages
with a hand-built history (tests/unit/supervision/history.py): who may see them, charts with
titles beside their tables, the cases behind a figure, and DOCX/XLSX/CSV files whose numbers
are the dashboard's."""

import csv
import io
import re
from html import unescape

import docx
import openpyxl
import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.helpers import file_report
from tests.unit.supervision.history import align_filing_times, build_history

DASHBOARD = "/staff/supervision/"
Q3_ARGS = "from=01/07/2026&to=30/09/2026"
REPORT = "/staff/supervision/report?period=quarter&year=2026&quarter=3&format="
IDENTITY = {"name": "Đỗ Thị Hồng Nhung", "phone": "0912 345 678", "email": "nhung@example.vn",
            "address": "Tổ 3, phường Túc Duyên", "id_number": "019190001111"}


@pytest.fixture
def history(app, client, make_user, clock, monkeypatch):
    return build_history(app, client, make_user, clock, monkeypatch)


def main(page: str) -> str:
    return page[page.index("<main"):page.index("</main>")]


def dashboard_figures(page: str) -> dict:
    """``{(table id, row key, measure): shown text}`` from the dashboard's tables."""
    found = {}
    for table_id, body in re.findall(r'data-table="([^"]+)">(.*?)</table>', page, flags=re.S):
        for key, row in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', body, flags=re.S):
            for measure, cell in re.findall(r'<td class="num" data-measure="([^"]+)"'
                                            r'[^>]*>(.*?)</td>', row, flags=re.S):
                found[(table_id, key, measure)] = unescape(re.sub(r"<[^>]+>", "", cell)).strip()
    return found


def test_only_supervisors_and_admins_reach_the_dashboard_lists_and_reports(app, staff, client):
    paths = (DASHBOARD, "/staff/supervision/cases?measure=received", "/staff/supervision/report",
             REPORT + "csv")
    for role, agency in (("triage", None), ("agency", "tn-police"), ("custodian", None)):
        other = staff(role, agency)
        for path in paths:
            assert other.get(path).status_code == 403, (role, path)
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    for role in ("supervisor", "admin"):
        allowed = staff(role)
        for path in paths:
            assert allowed.get(path).status_code == 200, (role, path)


def test_dashboard_shows_the_quarters_figures_with_charts_beside_the_tables(app, history,
                                                                             staff):
    supervisor = staff("supervisor")
    page = supervisor.get(f"{DASHBOARD}?{Q3_ARGS}").get_data(as_text=True)
    figures = dashboard_figures(page)
    assert figures[("summary", "received", "received")] == "5"
    assert figures[("summary", "misrouting_rate", "misrouting_rate")] == "20,0%"
    assert figures[("summary", "long_running", "long_running")] == "3"
    assert figures[("summary", "crime_elsewhere", "crime_elsewhere")] == "2"
    assert figures[("stages", "transfer", "transfer_median")] == "1,0"
    assert figures[("stages", "accept", "accept_p90")] == "13,0"
    assert figures[("sector", "land", "received")] == "3"
    assert figures[("report_type", "total", "received")] == "5"
    assert figures[("month", "2026-09", "received")] == "2"
    assert figures[("outcome", "prosecuted", "resolved")] == "1"
    # The labelled filter form, dates as dd/mm/yyyy.
    assert '<label for="f-from">Từ ngày (ngày/tháng/năm)</label>' in page
    assert 'name="from" type="text"' in page and 'value="01/07/2026"' in page
    # Every chart is inline SVG with a title and a description, next to its table.
    content = main(page)
    charts = re.findall(r"<svg\b.*?</svg>", content, flags=re.S)
    assert len(charts) >= 5
    for chart in charts:
        chart_id = re.search(r'id="([^"]+)"', chart).group(1)
        assert f'<title id="{chart_id}-title">' in chart and f'<desc id="{chart_id}-desc">' in chart
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in chart
    assert "Số tin tiếp nhận theo lĩnh vực" in content
    sector_section = re.search(r'<section aria-labelledby="h-sector".*?</section>', content,
                               flags=re.S).group(0)
    assert "<svg" in sector_section and 'data-table="sector"' in sector_section
    # The CSP allows no inline style or script.
    assert "style=" not in content and "<script" not in content
    # The other engineer's alerts are included near the top when their partial exists.
    assert content.index("<form") < content.index('id="h-summary"')


def test_dashboard_filters_by_agency_and_says_so(app, history, staff):
    from portal.agencies.models import Agency

    with app.app_context():
        police = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
    supervisor = staff("supervisor")
    page = supervisor.get(f"{DASHBOARD}?{Q3_ARGS}&agency_id={police}").get_data(as_text=True)
    figures = dashboard_figures(page)
    assert figures[("summary", "transferred", "transferred")] == "3"
    assert figures[("summary", "open_now", "open_now")] == "0"
    assert "Phạm vi: Cơ quan: Công an tỉnh Thái Nguyên" in page
    bad = supervisor.get(f"{DASHBOARD}?from=31/02/2026").get_data(as_text=True)
    assert "Ngày “31/02/2026” không hợp lệ" in bad


def test_a_figure_opens_the_list_of_its_cases_without_the_reporters_identity(
        app, history, staff, client, clock):
    h = history
    clock.set(2026, 9, 20, 9)
    assert file_report(client, report_type="crime_report", identity_choice="named",
                       contact_preference="phone", **IDENTITY)
    align_filing_times(app)
    clock.set(2026, 10, 5, 9)
    supervisor = staff("supervisor")
    page = supervisor.get(f"{DASHBOARD}?{Q3_ARGS}").get_data(as_text=True)
    link = re.search(r'<tr data-key="land">.*?<td class="num" data-measure="received"[^>]*>'
                     r'<a href="([^"]+)">3</a>', page, flags=re.S).group(1)
    listing = supervisor.get(unescape(link)).get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/staff/triage/cases/(\d+)"', listing)}
    assert listed == {h.r1, h.r2, h.r5}
    assert "3 hồ sơ." in listing and "Đất đai" in listing
    # Everything received: the named report is listed, its reporter is not.
    everything = supervisor.get(f"/staff/supervision/cases?measure=received&{Q3_ARGS}")
    text = everything.get_data(as_text=True)
    assert "6 hồ sơ." in text
    for value in IDENTITY.values():
        assert value not in text
    assert "nhận hối lộ" not in text  # no report text either
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "view_list")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.detail["list"] == "supervision.cases" and len(entry.detail["report_ids"]) == 6
    # A figure that is not a list of cases, or a malformed key, is a 404.
    assert supervisor.get("/staff/supervision/cases?measure=misrouting_rate").status_code == 404
    assert supervisor.get(f"/staff/supervision/cases?measure=received&dim=sector&key=x&{Q3_ARGS}"
                          ).status_code == 404
    assert supervisor.get("/staff/supervision/cases?measure=received&dim=agency&key=1"
                          ).status_code == 404


def test_the_reports_have_the_dashboards_numbers(app, history, staff):
    supervisor = staff("supervisor")
    figures = dashboard_figures(supervisor.get(f"{DASHBOARD}?{Q3_ARGS}").get_data(as_text=True))

    # DOCX: every table row's cells are the dashboard's texts.
    response = supervisor.get(REPORT + "docx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="bao-cao-giam-sat_2026-Q3.docx"')
    document = docx.Document(io.BytesIO(response.get_data()))
    summary = next(t for t in document.tables if t.rows[0].cells[0].text == "Chỉ tiêu")
    summary_rows = {row.cells[0].text: row.cells[1].text for row in summary.rows[1:]}
    assert summary_rows["Tiếp nhận"] == figures[("summary", "received", "received")] == "5"
    assert summary_rows["Tỷ lệ trả lại"] == "20,0%"
    assert summary_rows["Quá hạn"] == figures[("summary", "overdue", "overdue")]
    sector = next(t for t in document.tables if t.rows[0].cells[0].text == "Lĩnh vực")
    headings = [c.text for c in sector.rows[0].cells]
    land = next(r for r in sector.rows if r.cells[0].text == "Đất đai")
    assert land.cells[headings.index("Tiếp nhận")].text == figures[("sector", "land", "received")]
    assert land.cells[headings.index("Kéo dài")].text == figures[
        ("sector", "land", "long_running")]
    stages = next(t for t in document.tables if t.rows[0].cells[0].text == "Giai đoạn")
    assert [c.text for c in stages.rows[2].cells[1:]] == [
        figures[("stages", "accept", m)] for m in ("accept_count", "accept_median", "accept_p90")]

    # XLSX: one sheet per breakdown; numbers as numbers.
    book = openpyxl.load_workbook(io.BytesIO(supervisor.get(REPORT + "xlsx").get_data()))
    assert book.sheetnames == ["Tổng hợp", "Theo loại đơn", "Theo lĩnh vực", "Theo cơ quan",
                               "Theo địa bàn", "Theo tháng", "Theo kết quả giải quyết"]
    sheet = book["Theo lĩnh vực"]
    header = [c.value for c in sheet[2]]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=3)}
    assert rows["Đất đai"][header.index("Tiếp nhận")].value == 3
    assert rows["Đất đai"][header.index("Tỷ lệ trả lại")].value == pytest.approx(1 / 3, abs=1e-3)
    assert rows["Tổng cộng"][header.index("Quá hạn")].value == int(
        figures[("sector", "total", "overdue")])
    months = book["Theo tháng"]
    month_rows = {r[0].value: r[1].value for r in months.iter_rows(min_row=3)}
    assert month_rows["09/2026"] == int(figures[("month", "2026-09", "received")])
    overview = [c.value for c in book["Tổng hợp"]["A"]]
    assert "Báo cáo giám sát quý III năm 2026" in overview

    # CSV: UTF-8 with BOM, one table.
    raw = supervisor.get(REPORT + "csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head = table[0]
    whole = next(r for r in table if r[0] == "Tổng hợp")
    for measure, label in (("received", "Tiếp nhận"), ("overdue", "Quá hạn"),
                           ("long_running", "Kéo dài")):
        assert whole[head.index(label)] == figures[("summary", measure, measure)]
    assert whole[head.index("Tỷ lệ trả lại")] == "20,0%"
    land_row = next(r for r in table if r[0] == "Theo lĩnh vực" and r[1] == "land")
    assert land_row[2] == "Đất đai" and land_row[head.index("Tiếp nhận")] == "3"

    with app.app_context():
        exported = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "export_supervision_report")).all()
        assert [e.detail["format"] for e in exported] == ["docx", "xlsx", "csv"]
        assert exported[0].detail["date_from"] == "2026-07-01"


def test_the_docx_follows_decree_30_2020(app, history, staff):
    supervisor = staff("supervisor")
    document = docx.Document(io.BytesIO(supervisor.get(REPORT + "docx").get_data()))
    section = document.sections[0]
    def mm(*lengths):  # (stored in twips: a fraction of a millimetre off)
        return tuple(round(length.mm) for length in lengths)

    assert mm(section.page_width, section.page_height) == (210, 297)
    assert mm(section.top_margin, section.bottom_margin) == (20, 20)
    assert mm(section.left_margin, section.right_margin) == (30, 15)
    head = document.tables[0]
    issuer, title = head.rows[0].cells
    number, dated = head.rows[1].cells
    assert issuer.text.split("\n")[:2] == ["ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM", "TỈNH THÁI NGUYÊN"]
    assert title.text.split("\n")[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                          "Độc lập - Tự do - Hạnh phúc"]
    assert number.text == "Số: …/BC-MTTQ"
    assert dated.text == "Thái Nguyên, ngày 05 tháng 10 năm 2026"
    assert dated.paragraphs[0].runs[0].italic
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    subject = texts[texts.index("BÁO CÁO") + 1]
    assert subject.endswith("quý III năm 2026")
    assert any(t.startswith("Trong kỳ, Cổng tiếp nhận 5 tin") for t in texts)
    runs = [r for p in document.paragraphs for r in p.runs if r.text.strip()]
    assert {r.font.name for r in runs} == {"Times New Roman"}
    assert {r.font.size.pt for r in runs} <= {13.0, 14.0}
    body = next(p for p in document.paragraphs if p.text.startswith("Trong kỳ"))
    assert body.paragraph_format.first_line_indent is not None
    foot = next(t for t in document.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    recipients, signer = foot.rows[0].cells
    lines = recipients.text.split("\n")
    assert lines[0] == "Nơi nhận:" and lines[1].startswith("- ") and lines[1].endswith(";")
    assert lines[-1] == "- Lưu: VT."
    assert signer.text.split("\n")[:2] == ["TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH"]
    # Detailed tables in the landscape appendix.
    assert mm(document.sections[1].page_width) == (297,)
    assert "PHỤ LỤC" in texts


@pytest.mark.parametrize("query, name, title", [
    ("period=half&year=2026&half=1", "bao-cao-giam-sat_2026-H1", "6 tháng đầu năm 2026"),
    ("period=year&year=2026", "bao-cao-giam-sat_2026", "năm 2026"),
    ("period=custom&from=01/07/2026&to=15/08/2026", "bao-cao-giam-sat_20260701-20260815",
     "từ ngày 01/07/2026 đến ngày 15/08/2026"),
])
def test_six_months_year_and_custom_ranges(app, history, staff, query, name, title):
    supervisor = staff("supervisor")
    response = supervisor.get(f"/staff/supervision/report?{query}&format=docx")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.docx"'
    texts = [p.text for p in docx.Document(io.BytesIO(response.get_data())).paragraphs]
    assert texts[texts.index("BÁO CÁO") + 1].endswith(title)


def test_a_bad_period_or_format_shows_the_form_with_the_reason(app, staff):
    supervisor = staff("supervisor")
    form = supervisor.get("/staff/supervision/report")
    assert form.status_code == 200 and "Kỳ báo cáo" in form.get_data(as_text=True)
    bad = supervisor.get("/staff/supervision/report?period=quarter&year=2026&quarter=5&format=csv")
    assert bad.status_code == 400
    assert "Kỳ báo cáo không hợp lệ" in bad.get_data(as_text=True)
    backwards = supervisor.get(
        "/staff/supervision/report?period=custom&from=02/07/2026&to=01/07/2026&format=csv")
    assert "“Từ ngày” phải trước hoặc bằng “Đến ngày”." in backwards.get_data(as_text=True)
    no_format = supervisor.get("/staff/supervision/report?period=year&year=2026&format=pdf")
    assert no_format.status_code == 400


def test_dashboard_in_english(app, history, staff):
    page = staff("supervisor").get(f"{DASHBOARD}?{Q3_ARGS}&lang=en").get_data(as_text=True)
    assert "Received" in page and "Misrouting rate" in page and "By sector" in page
    assert dashboard_figures(page)[("summary", "misrouting_rate", "misrouting_rate")] == "20.0%"


def test_a_name_that_looks_like_a_formula_stays_text_in_the_spreadsheets(app, history, staff):
    from sqlalchemy import update

    from portal.agencies.models import Agency

    with app.app_context():
        db.session.execute(update(Agency).where(Agency.code == "tn-police")
                           .values(name="=HYPERLINK(\"http://example.invalid\")"))
        db.session.commit()
    supervisor = staff("supervisor")
    book = openpyxl.load_workbook(io.BytesIO(supervisor.get(REPORT + "xlsx").get_data()))
    names = [row[0] for row in book["Theo cơ quan"].iter_rows(min_row=3)]
    police = next(c for c in names if c.value and "HYPERLINK" in c.value)
    assert police.data_type == "s" and police.value.startswith("'=")
    raw = supervisor.get(REPORT + "csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in raw and ",=HYPERLINK" not in raw


def test_the_stored_counts_give_the_same_dashboard_and_the_check_command_agrees(
        app, history, staff, runner):
    """`flask supervision refresh` stores the daily counts the dashboard then reads for a
    period without a filter (docs/supervision.md): the page's figures do not change, and
    `flask supervision check` finds them identical to the history's."""
    supervisor = staff("supervisor")
    before = dashboard_figures(supervisor.get(f"{DASHBOARD}?{Q3_ARGS}").get_data(as_text=True))
    result = runner.invoke(args=["supervision", "refresh", "--no-alerts"])
    assert result.exit_code == 0 and "stored counts:" in result.output, result.output
    with app.app_context():
        from portal.supervision import facts

        assert facts.coverage(db.session.connection()) is not None
    after = dashboard_figures(supervisor.get(f"{DASHBOARD}?{Q3_ARGS}").get_data(as_text=True))
    assert after == before and after[("summary", "received", "received")] == "5"
    result = runner.invoke(args=["supervision", "check", "--from", "01/07/2026",
                                 "--to", "30/09/2026"])
    assert result.exit_code == 0 and "identical figures" in result.output, result.output
