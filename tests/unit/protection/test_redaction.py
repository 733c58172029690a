"""What the automatic masking finds in free text, and what it leaves alone."""

import pytest

from portal.protection import redaction


def found(text: str, kind: str | None = None) -> list[str]:
    return [text[s.start:s.end] for s in redaction.proposed_spans(text)
            if kind is None or s.kind == kind]


@pytest.mark.parametrize(("text", "names"), [
    ("Tôi là Nguyễn Văn An, nhà ở thôn Đồng Bẩm.", ["Nguyễn Văn An"]),
    ("Tên tôi là Trần Thị Bích Ngọc.", ["Trần Thị Bích Ngọc"]),
    ("tôi tên là lê thị hoa sống ở xã Phú Lương", ["lê thị hoa"]),  # typed in lower case
    ("Toi la Nguyen Van An, o thon Dong Bam.", ["Nguyen Van An"]),  # typed without accents
    ("Có anh Hùng và chị Lan chứng kiến.", ["Hùng", "Lan"]),
    ("Ông Trần Văn Bình, Chủ tịch UBND xã, nhận tiền của bà Lê Thị Hoa.",
     ["Trần Văn Bình", "Lê Thị Hoa"]),
    ("Chủ tịch xã Nguyễn Văn Bình đã nhận 50 triệu.", ["Nguyễn Văn Bình"]),
    ("NGUYỄN VĂN AN nhận tiền của Phạm Thị Mai.", ["NGUYỄN VĂN AN", "Phạm Thị Mai"]),
    ("Dương Văn Minh và Huỳnh Tấn Phát cùng ký.", ["Dương Văn Minh", "Huỳnh Tấn Phát"]),
])
def test_vietnamese_personal_names_are_proposed(text, names):
    assert [t for t in found(text) if t in names or t.lower() in {n.lower() for n in names}] \
        == names


@pytest.mark.parametrize("text", [
    "Đường Lê Lợi bị sụt lún sau khi thi công cống.",
    "Trụ sở ở phường Phan Đình Phùng, tỉnh Thái Nguyên.",
    "Người dân ở Thái Nguyên và Hà Giang đều phản ánh.",
    "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ.",
    "UBND xã Đồng Bẩm chậm giải quyết hồ sơ.",
    "Theo Quyết định số 12/QĐ-UBND ngày 3/4.",
])
def test_places_titles_and_bodies_are_not_taken_for_names(text):
    assert found(text, "name") == [] and found(text, "self_name") == []


def test_a_name_given_as_ones_own_is_told_apart():
    text = "Tôi là Nguyễn Văn An; ông Trần Văn Bình nhận tiền."
    kinds = {text[s.start:s.end]: s.kind for s in redaction.proposed_spans(text)}
    assert kinds == {"Nguyễn Văn An": "self_name", "Trần Văn Bình": "name"}


@pytest.mark.parametrize(("text", "number"), [
    ("Gọi tôi số 0912345678 nhé.", "0912345678"),
    ("SĐT: 0912 345 678.", "0912 345 678"),
    ("SĐT 0912.345.678, có Zalo.", "0912.345.678"),
    ("Liên hệ +84 912 345 678.", "+84 912 345 678"),
    ("Máy bàn 0208 3855 123.", "0208 3855 123"),
])
def test_phone_numbers(text, number):
    assert found(text, "phone") == [number]


@pytest.mark.parametrize(("text", "number"), [
    ("CCCD 019198001234, cấp ngày 1/1/2021.", "019198001234"),
    ("Số CMND: 012345678.", "012345678"),
    ("Căn cước 0191 9800 1234.", "0191 9800 1234"),
])
def test_id_card_numbers(text, number):
    assert found(text, "id_number") == [number]


@pytest.mark.parametrize("text", [
    "Đưa 500000000 đồng tiền mặt.",
    "Số tiền 1.234.567.890 đồng.",
    "Năm 2024 có 123 hộ dân.",
    "Ngày 12.03.2024 lúc 10 giờ.",
])
def test_money_dates_and_counts_are_not_numbers_to_mask(text):
    assert found(text, "phone") == [] and found(text, "id_number") == []


def test_email_addresses():
    assert found("Thư: an.nguyen+tinbao@example.vn.", "email") == ["an.nguyen+tinbao@example.vn"]


@pytest.mark.parametrize(("text", "address"), [
    ("Nhà tôi ở số 12 ngõ 34 đường Lê Lợi, tổ 5, phường Phan Đình Phùng.",
     "số 12 ngõ 34 đường Lê Lợi, tổ 5, phường Phan Đình Phùng"),
    ("Địa chỉ: 123/45 Trần Phú, phường Gia Sàng.", "123/45 Trần Phú, phường Gia Sàng"),
    ("Tôi ở tổ 5, thôn Đồng Bẩm, xã Phú Lương.", "tổ 5, thôn Đồng Bẩm, xã Phú Lương"),
    ("Nhà số 7 hẻm 21 Nguyễn Trãi.", "số 7 hẻm 21 Nguyễn Trãi"),
    ("Ngõ 5 phố Huế có quán nước.", "Ngõ 5 phố Huế"),
])
def test_house_number_addresses(text, address):
    assert found(text, "address") == [address]


@pytest.mark.parametrize("text", [
    "Việc xảy ra ở thôn Đồng Bẩm, xã Phú Lương.",  # where it happened, not where someone lives
    "Quyết định số 12 của UBND tỉnh.",
    "Theo Quyết định số 12 UBND tỉnh ban hành.",
])
def test_places_without_a_house_number_are_not_addresses(text):
    assert found(text, "address") == []


def test_the_reporters_own_identity_is_found_ignoring_diacritics_case_and_spacing():
    identity = {"name": "Trần Thị Bích Ngọc", "phone": "0987654321",
                "email": "ngoc.tran@example.vn", "address": "Tổ 7, phường Phan Đình Phùng",
                "id_number": "019198001234"}
    text = ("Em la TRAN THI BICH NGOC, dt 0987 654 321 hoac +84987654321, ở tổ 7 phường Phan "
            "Đình Phùng; thư Ngoc.Tran@example.vn; CCCD 019198001234. Tran Thi khác.")
    spans = redaction.identity_spans(text, identity)
    assert [text[s.start:s.end] for s in spans] == [
        "TRAN THI BICH NGOC", "0987 654 321", "+84987654321", "tổ 7 phường Phan Đình Phùng",
        "Ngoc.Tran@example.vn", "019198001234"]
    assert redaction.redact(text, spans).count("[đã che]") == 6
    assert "Tran Thi khác" in redaction.redact(text, spans)


def test_identity_spans_work_on_text_typed_in_nfd():
    import unicodedata

    text = unicodedata.normalize("NFD", "Tôi là Nguyễn Văn An.")
    (span,) = redaction.identity_spans(text, {"name": "Nguyễn Văn An"})
    assert unicodedata.normalize("NFC", text[span.start:span.end]) == "Nguyễn Văn An"


def test_staff_phrases_mask_every_occurrence():
    text = "Quán Hoa Sen ở đầu thôn; chủ quán hoa sen biết rõ."
    spans = redaction.phrase_spans(text, ["Hoa Sen"])
    assert redaction.redact(text, spans) == "Quán [đã che] ở đầu thôn; chủ quán [đã che] biết rõ."
    assert redaction.clean_phrases("  Hoa Sen \n\n--\n" + "x" * 300) == ["Hoa Sen", "x" * 200]


def test_segments_cover_the_text_exactly_once():
    text = "Tôi là Nguyễn Văn An, SĐT 0912345678."
    pieces = redaction.segments(text, redaction.proposed_spans(text))
    assert "".join(piece for piece, _span in pieces) == text
    assert [piece for piece, span in pieces if span] == ["Nguyễn Văn An", "0912345678"]
