"""The periodic report as files: DOCX in the layout of Decree 30/2020, XLSX and CSV.

Every file prints the tables of :func:`portal.supervision.present.tables`, built from the same
:class:`~portal.supervision.stats.Statistics` as the dashboard, so the numbers are the
dashboard's. Nothing here queries the database.

Nghị định 30/2020/NĐ-CP (công tác văn thư), Phụ lục I, for the DOCX:

- A4 paper, margins top and bottom 20–25 mm, left 30–35 mm, right 15–20 mm;
- Times New Roman (Unicode, TCVN 6909:2001), black;
- top left the issuing body (its parent body above it, regular; the body itself bold, with a
  short line under it) and under it the number "Số: …/BC-…"; top right the national title
  "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" (bold, 12–13 pt) and the motto "Độc lập - Tự do -
  Hạnh phúc" (bold, 13–14 pt, a line under it as long as the motto), and on the number's line
  the place and date in italics ("Thái Nguyên, ngày 05 tháng 10 năm 2026": a day below 10 and
  the months 1 and 2 take a leading zero);
- the document type "BÁO CÁO" and its subject, bold, centred;
- the body at 13–14 pt, justified, first line indented 1–1.27 cm, spacing at least 6 pt;
- bottom left "Nơi nhận:" (bold italic, 12 pt) and the recipients (11 pt, "- …;", the last one
  "- Lưu: VT…."); bottom right the signer's authority and title (bold) and name;
- page numbers from the second page, centred at the top.

The report goes out unnumbered ("Số: …/BC-MTTQ"): the clerk gives the number when the signed
report is registered.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from portal.supervision import present
from portal.supervision.periods import Period
from portal.supervision.stats import Statistics
from portal.timeutil import VN_TZ

FONT = "Times New Roman"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMATS = ("docx", "xlsx", "csv")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report and to whom it goes (configuration, docs/supervision.md)."""

    issuer: tuple  # lines, parent body first; the last is the issuing body itself
    issuer_name: str  # the body's name in a sentence: "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh …"
    number_suffix: str  # "BC-MTTQ" → "Số: …/BC-MTTQ"
    place: str  # "Thái Nguyên" → "Thái Nguyên, ngày …"
    signer: tuple  # "TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH"
    signer_name: str
    recipients: tuple

    @classmethod
    def from_config(cls, config) -> "Letterhead":
        def lines(key):
            return tuple(part.strip() for part in str(config[key]).split("|") if part.strip())

        return cls(issuer=lines("REPORT_ISSUER"), issuer_name=config["REPORT_ISSUER_NAME"],
                   number_suffix=config["REPORT_NUMBER_SUFFIX"],
                   place=config["REPORT_PLACE"], signer=lines("REPORT_SIGNER"),
                   signer_name=config["REPORT_SIGNER_NAME"],
                   recipients=lines("REPORT_RECIPIENTS"))


def date_line(place: str, moment: datetime) -> str:
    """"Thái Nguyên, ngày 05 tháng 01 năm 2027": Decree 30/2020 writes a day below 10 and the
    months 1 and 2 with a leading zero (so that nothing can be added in front of them)."""
    day = moment.astimezone(VN_TZ).date()
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def subject_line(period: Period) -> str:
    return ("Tình hình tiếp nhận, phân loại, chuyển và giải quyết tố giác, tin báo về tội "
            f"phạm, tố cáo, khiếu nại, kiến nghị, phản ánh {period.title()}")


def file_name(period: Period, extension: str) -> str:
    if period.kind == "custom":
        span = f"{period.date_from:%Y%m%d}-{period.date_to:%Y%m%d}"
    elif period.kind == "year":
        span = str(period.year)
    else:
        span = f"{period.year}-{'Q' if period.kind == 'quarter' else 'H'}{period.number}"
    return f"bao-cao-giam-sat_{span}.{extension}"


def scope_text(scope: list[str]) -> str:
    return "; ".join(scope)


def plain_text(value):
    """A text a spreadsheet will not run: an agency an admin named "=HYPERLINK(…)" would
    otherwise be a formula in Excel (CSV and formula injection). Numbers pass unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- DOCX ----------------------------------------------------------------------------------------

def _set_font(run, size: float, *, bold=False, italic=False):
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    # Word picks the East Asian font slot for some Vietnamese letters: name it too.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    return run


def _paragraph(container, text="", size=14, *, bold=False, italic=False, align=None,
               indent=False, before=0, after=6):
    paragraph = container.add_paragraph()
    if text:
        _set_font(paragraph.add_run(text), size, bold=bold, italic=italic)
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Cm(1.27)
    return paragraph


def _rule(container, width_mm: float, cell_mm: float):
    """A short solid line, centred: a paragraph's top border between equal indents."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    side = max((cell_mm - width_mm) / 2, 0)
    fmt.left_indent = fmt.right_indent = Mm(side)
    fmt.space_before, fmt.space_after = Pt(0), Pt(4)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    paragraph._p.get_or_add_pPr().append(borders)
    return paragraph


def _no_borders(table):
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _cell_text(cell, text, size, *, bold=False, italic=False, align=WD_ALIGN_PARAGRAPH.CENTER):
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    _set_font(paragraph.add_run(text), size, bold=bold, italic=italic)
    return paragraph


def _page_number_header(section):
    """Page numbers from the second page on, centred at the top (Decree 30/2020)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = _set_font(paragraph.add_run(), 14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def _a4(section, *, landscape=False):
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210),
                                                                                    Mm(297))
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)


def _set_widths(grid, widths_mm):
    """Column widths that Word and LibreOffice both honour: on every cell, autofit off."""
    grid.autofit = False
    for column, width in zip(grid.columns, widths_mm, strict=True):
        column.width = Mm(width)  # the table grid (LibreOffice reads this one)
    for row in grid.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _data_table(document, table: present.Table, width_mm: float, size=13):
    """A bordered table: heading row, one row per line, the total in bold. Figures get up to
    30 mm a column, the labels the rest (at least 70 mm, or a third of a narrow table)."""
    rows = list(table.rows) + ([table.total] if table.total else [])
    grid = document.add_table(rows=1 + len(rows), cols=1 + len(table.headings))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    first = max(width_mm - 30 * len(table.headings), min(70, width_mm * 0.35))
    rest = (width_mm - first) / len(table.headings)
    _set_widths(grid, [first] + [rest] * len(table.headings))
    for index, heading in enumerate((table.first_heading, *table.headings)):
        _cell_text(grid.rows[0].cells[index], heading, size, bold=True)
    for row_index, row in enumerate(rows, start=1):
        is_total = table.total is not None and row is table.total
        label = _("Tổng cộng") if is_total else row.label
        _cell_text(grid.rows[row_index].cells[0], label, size, bold=is_total,
                   align=WD_ALIGN_PARAGRAPH.LEFT)
        for column, cell in enumerate(row.cells, start=1):
            _cell_text(grid.rows[row_index].cells[column], cell.text, size, bold=is_total)
    document.add_paragraph().paragraph_format.space_after = Pt(6)
    return grid


def _narrative(statistics: Statistics) -> str:
    counts, total = statistics.total.counts, statistics.total
    return (
        f"Trong kỳ, Cổng tiếp nhận {present.count_text(counts['received'])} tin; Mặt trận đã "
        f"chuyển {present.count_text(counts['transferred'])} lượt đến cơ quan có thẩm quyền, "
        f"trong đó {present.count_text(counts['misrouted'])} lượt bị cơ quan nhận trả lại vì "
        f"không đúng thẩm quyền (tỷ lệ {present.rate_text(total.misrouting_rate)}); các cơ "
        f"quan đã thụ lý {present.count_text(counts['accepted'])} lượt và có kết quả giải quyết "
        f"{present.count_text(counts['resolved'])} vụ việc. Có "
        f"{present.count_text(counts['overdue'])} thời hạn theo luật đến hạn trong kỳ bị quá "
        f"hạn, trong đó {present.count_text(counts['overdue_open'])} chưa được xử lý xong."
    )


def _snapshot_text(statistics: Statistics) -> str:
    counts = statistics.total.counts
    as_of = statistics.as_of.astimezone(VN_TZ)
    return (
        f"Tại thời điểm lập báo cáo ({as_of:%H:%M} ngày {as_of:%d/%m/%Y}), còn "
        f"{present.count_text(counts['open_now'])} vụ việc đang giải quyết, trong đó "
        f"{present.count_text(counts['long_running'])} vụ việc kéo dài (quá "
        f"{statistics.long_running_days} ngày kể từ khi tiếp nhận hoặc đã quá thời hạn giải "
        f"quyết theo luật) và {present.count_text(counts['crime_elsewhere'])} tin có dấu hiệu "
        "tội phạm chưa ở cơ quan điều tra, Viện kiểm sát."
    )


NOTES = (
    "Số liệu lấy tự động từ Cổng tiếp nhận tố giác, tố cáo, khiếu nại, kiến nghị; không tính "
    "tin rác. Một vụ việc được chuyển nhiều lần thì mỗi lần chuyển là một lượt.",
    "“Quá hạn”: thời hạn theo luật đến hạn trong kỳ mà việc xử lý xong sau thời hạn hoặc đến "
    "nay chưa xong. “Tỷ lệ trả lại”: số lượt chuyển trong kỳ bị cơ quan nhận trả lại vì không "
    "đúng thẩm quyền, chia cho số lượt chuyển.",
    "Thời gian xử lý: số ngày từ khi tiếp nhận (hoặc nhận lại) đến khi chuyển, từ khi chuyển "
    "đến khi cơ quan thụ lý, từ khi thụ lý đến khi có kết quả; trung vị là mức giữa, cột 90% "
    "là số ngày mà 90% số lượt xong trong thời gian đó.",
)


def docx_bytes(statistics: Statistics, period: Period, letterhead: Letterhead,
               scope: list[str]) -> bytes:
    """The report as a Word document (Vietnamese, whatever the page's language)."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    section = document.sections[0]
    _a4(section)
    _page_number_header(section)

    # Letterhead: issuing body | national title and motto; number | place and date.
    head = document.add_table(rows=2, cols=2)
    _no_borders(head)
    left_mm, right_mm = 68, 97
    _set_widths(head, (left_mm, right_mm))
    left, right = head.rows[0].cells
    for index, line in enumerate(letterhead.issuer):
        last = index == len(letterhead.issuer) - 1
        paragraph = left.paragraphs[0] if index == 0 else left.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        _set_font(paragraph.add_run(line.upper()), 12 if not last else 13, bold=last)
    _rule(left, max(15, 0.4 * 2.6 * len(letterhead.issuer[-1] if letterhead.issuer else "")),
          left_mm)
    _cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    motto = right.add_paragraph()
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER
    motto.paragraph_format.space_after = Pt(0)
    _set_font(motto.add_run("Độc lập - Tự do - Hạnh phúc"), 14, bold=True)
    _rule(right, 62, right_mm)
    _cell_text(head.rows[1].cells[0], f"Số: …/{letterhead.number_suffix}", 13)
    _cell_text(head.rows[1].cells[1], date_line(letterhead.place, statistics.as_of), 13,
               italic=True)

    _paragraph(document, "BÁO CÁO", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=18,
               after=0)
    _paragraph(document, subject_line(period), 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               after=0)
    _rule(document, 50, 165)

    f = statistics.filter
    _paragraph(document, (
        f"Thực hiện nhiệm vụ giám sát việc tiếp nhận và giải quyết tố giác, tin báo về tội "
        f"phạm, tố cáo, khiếu nại, kiến nghị, phản ánh của Nhân dân, {letterhead.issuer_name} "
        f"báo cáo tình hình {period.title()} (từ ngày "
        f"{f.date_from:%d/%m/%Y} đến ngày {f.date_to:%d/%m/%Y}) như sau:"),
        indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    if scope:
        _paragraph(document, f"Phạm vi số liệu: {scope_text(scope)}.", indent=True,
                   align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    all_tables = present.tables(statistics)
    by_id = {table.id: table for table in all_tables}
    _paragraph(document, "I. KẾT QUẢ TIẾP NHẬN, CHUYỂN VÀ GIẢI QUYẾT", bold=True, before=6)
    _paragraph(document, _narrative(statistics), indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _data_table(document, by_id["summary"], 165)
    _paragraph(document, "II. THỜI GIAN XỬ LÝ", bold=True, before=6)
    _data_table(document, by_id["stages"], 165)
    _paragraph(document, "III. VỤ VIỆC KÉO DÀI, TIN CÓ DẤU HIỆU TỘI PHẠM", bold=True, before=6)
    _paragraph(document, _snapshot_text(statistics), indent=True,
               align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    breakdowns = [t for t in all_tables if t.dim is not None]
    _paragraph(document, "IV. SỐ LIỆU CHI TIẾT", bold=True, before=6)
    _paragraph(document, "Số liệu chi tiết theo loại đơn, lĩnh vực, cơ quan giải quyết, địa "
               "bàn, tháng và kết quả giải quyết tại Phụ lục kèm theo.", indent=True,
               align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _paragraph(document, "Ghi chú:", bold=True, italic=True, before=6)
    for note in NOTES:
        _paragraph(document, f"- {note}", indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    # Recipients (left) and signer (right).
    foot = document.add_table(rows=1, cols=2)
    _no_borders(foot)
    _set_widths(foot, (80, 85))
    recipients, signer = foot.rows[0].cells
    _cell_text(recipients, "Nơi nhận:", 12, bold=True, italic=True,
               align=WD_ALIGN_PARAGRAPH.LEFT)
    for index, name in enumerate(letterhead.recipients):
        end = "." if index == len(letterhead.recipients) - 1 else ";"
        paragraph = recipients.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        _set_font(paragraph.add_run(f"- {name.rstrip(';.')}{end}"), 11)
    for index, line in enumerate(letterhead.signer):
        paragraph = signer.paragraphs[0] if index == 0 else signer.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        _set_font(paragraph.add_run(line.upper()), 14, bold=True)
    for _blank in range(4):  # room for the signature and the seal
        signer.add_paragraph().paragraph_format.space_after = Pt(0)
    if letterhead.signer_name:
        name = signer.add_paragraph()
        name.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_font(name.add_run(letterhead.signer_name), 14, bold=True)

    # Appendix: the detailed tables, on landscape pages so that every column fits.
    appendix = document.add_section(WD_SECTION.NEW_PAGE)
    _a4(appendix, landscape=True)
    _paragraph(document, "PHỤ LỤC", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, f"SỐ LIỆU CHI TIẾT {period.title().upper()}", 14, bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, f"(Kèm theo Báo cáo số …/{letterhead.number_suffix} ngày "
               f"{statistics.as_of.astimezone(VN_TZ):%d/%m/%Y} của {letterhead.issuer_name})", 14,
               italic=True,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    for number, table in enumerate(breakdowns, start=1):
        _paragraph(document, f"{ROMAN[number - 1]}. {table.title.upper()}", bold=True,
                   before=6)
        # 12 pt: up to a dozen columns of figures across a landscape page.
        _data_table(document, table, 252, size=12)

    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


# --- XLSX ----------------------------------------------------------------------------------------

def _sheet_value(cell: present.Cell):
    if cell.measure == "misrouting_rate":
        return present.rounded_rate(cell.value), "0.0%"
    if isinstance(cell.value, float):
        return present.rounded_days(cell.value), "0.0"
    return cell.value, None


def _write_table(sheet, table: present.Table, start_row: int) -> int:
    bold = Font(bold=True)
    sheet.cell(row=start_row, column=1, value=plain_text(table.title)).font = bold
    row_number = start_row + 1
    for column, heading in enumerate((table.first_heading, *table.headings), start=1):
        cell = sheet.cell(row=row_number, column=column, value=plain_text(heading))
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    rows = list(table.rows) + ([table.total] if table.total else [])
    for row in rows:
        row_number += 1
        is_total = table.total is not None and row is table.total
        sheet.cell(row=row_number, column=1, value=plain_text(
            _("Tổng cộng") if is_total else row.label)).font = Font(bold=is_total)
        for column, item in enumerate(row.cells, start=2):
            value, number_format = _sheet_value(item)
            cell = sheet.cell(row=row_number, column=column, value=value)
            if number_format:
                cell.number_format = number_format
            if is_total:
                cell.font = bold
    return row_number + 2


def xlsx_bytes(statistics: Statistics, period: Period, scope: list[str]) -> bytes:
    """One sheet for the summary and stage times, then one sheet per breakdown."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = _("Tổng hợp")
    as_of = statistics.as_of.astimezone(VN_TZ)
    f = statistics.filter
    heading = [
        _("Báo cáo giám sát %(period)s", period=period.title()),
        _("Từ ngày %(start)s đến ngày %(end)s", start=f"{f.date_from:%d/%m/%Y}",
          end=f"{f.date_to:%d/%m/%Y}"),
        _("Số liệu lúc %(time)s", time=f"{as_of:%H:%M %d/%m/%Y}"),
    ]
    if scope:
        heading.append(_("Phạm vi: %(scope)s", scope=scope_text(scope)))
    for index, line in enumerate(heading, start=1):
        summary.cell(row=index, column=1, value=plain_text(line)).font = Font(bold=index == 1)
    all_tables = present.tables(statistics)
    row = len(heading) + 2
    for table in all_tables:
        if table.dim is None:
            row = _write_table(summary, table, row)
    summary.column_dimensions["A"].width = 48
    for table in all_tables:
        if table.dim is None:
            continue
        sheet = workbook.create_sheet(table.title[:31])
        _write_table(sheet, table, 1)
        sheet.freeze_panes = "B3"
        sheet.column_dimensions["A"].width = 40
        for letter in "BCDEFGHIJKLM":
            sheet.column_dimensions[letter].width = 14
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# --- CSV -----------------------------------------------------------------------------------------

def csv_columns() -> list[str]:
    """Every figure a table can have, in a fixed order (a column is empty where a table does
    not have it)."""
    columns = ["received", "transferred", "accepted", "returned", "resolved", "misrouted",
               "misrouting_rate", "overdue", "overdue_open", "open_now", "long_running",
               "crime_elsewhere"]
    for stage in ("transfer", "accept", "resolve"):
        columns += [f"{stage}_count", f"{stage}_median", f"{stage}_p90"]
    return columns


def csv_bytes(statistics: Statistics) -> bytes:
    """One rectangular table: the whole first, then each breakdown's rows and total.

    UTF-8 with a byte-order mark, so that Excel reads the Vietnamese letters. Counts are plain
    integers; rates and days are written as on the dashboard ("20,5%", "1,8" in Vietnamese).
    """
    columns = csv_columns()
    headings = present.column_headings()
    output = io.StringIO()
    writer = _PlainWriter(output)
    writer.writerow([_("Bảng"), _("Mã"), _("Tên"), *(headings[c] for c in columns)])
    whole = {c: present.cell(statistics.total, c) for c in columns}
    writer.writerow([_("Tổng hợp"), "", _("Tổng cộng"),
                     *(_csv_value(whole[c]) for c in columns)])
    for table in present.tables(statistics):
        if table.dim is None:
            continue
        for row in (*table.rows, table.total):
            is_total = row is table.total
            cells = {cell.measure: cell for cell in row.cells}
            key = "" if is_total else ("none" if row.key is None else row.key)
            writer.writerow([table.title, key, _("Tổng cộng") if is_total else row.label,
                             *(_csv_value(cells[c]) if c in cells else "" for c in columns)])
    return ("\ufeff" + output.getvalue()).encode("utf-8")


class _PlainWriter:
    """csv.writer whose text cells go through :func:`plain_text`."""

    def __init__(self, output):
        self._writer = csv.writer(output)

    def writerow(self, row):
        self._writer.writerow([plain_text(value) for value in row])


def _csv_value(cell: present.Cell):
    return cell.value if isinstance(cell.value, int) else cell.text
