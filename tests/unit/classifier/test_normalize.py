"""classifier.normalize: NFC clean-up, diacritic folding with offsets, abbreviations."""

import re
import unicodedata

import pytest

from classifier.normalize import (
    expand_abbreviations,
    fold,
    fold_with_offsets,
    has_diacritics,
    normalize,
)

NFC_SAMPLES = [
    "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định",
    "ĐỀ NGHỊ CÔNG AN XÃ XỬ LÝ NGHIÊM HÀNH VI ĐÁNH BẠC",
    "Ủy ban nhân dân phường Hoà Khánh; thuý, khoẻ, hòa, tuỳ",
    "ông Nguyễn Văn Đức – trưởng thôn “Đồng Kem” nói: ‘không sao’…",
    "nguoi dan bi lua dao mat 50tr, de nghi CA xa xu ly",
    "Mười sáu hộ ở ấp Vĩnh Phú: ượt, ữ, ỡ, ặ, ậ, ể, ờ, ự, ỷ",
]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# ------------------------------------------------------------------------------ normalize


class TestNormalize:
    def test_nfc_composes_decomposed_input(self):
        assert normalize(nfd("Nhận hối lộ")) == "Nhận hối lộ"
        assert unicodedata.is_normalized("NFC", normalize(nfd(NFC_SAMPLES[0])))

    def test_whitespace_is_unified(self):
        text = "  Xin\u00a0chào\t\tcác  anh\u3000chị  \r\n\r\n\r\n\r\nĐoạn hai  "
        assert normalize(text) == "Xin chào các anh chị\n\nĐoạn hai"

    def test_quotes_dashes_ellipsis(self):
        assert normalize("“Đồng Kem” – ‘xóm 2’ — số 5−3…") == "\"Đồng Kem\" - 'xóm 2' - số 5-3..."

    def test_control_and_invisible_characters_are_removed(self):
        text = "hối\u200b lộ\u00ad\ufeff\x07 xong\u200e"
        assert normalize(text) == "hối lộ xong"

    def test_zero_width_between_letter_and_mark_does_not_block_composition(self):
        assert normalize("o\u200b\u0302") == "ô"

    def test_d_lookalikes_become_vietnamese_d(self):
        assert normalize("Ðảng ủy, ðất") == "Đảng ủy, đất"

    def test_full_width_ascii(self):
        assert normalize("ＵＢＮＤ ５０") == "UBND 50"

    def test_letters_and_words_are_kept(self):
        for sample in NFC_SAMPLES:
            assert re.findall(r"\w+", normalize(sample)) == re.findall(r"\w+", sample)

    def test_empty(self):
        assert normalize("") == ""
        assert normalize("   \n ") == ""


# ------------------------------------------------------------------------------ fold


class TestFold:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Nhận HỐI LỘ", "nhan hoi lo"),
            ("Đường đất Đồng", "duong dat dong"),
            ("sổ đỏ", "so do"),
            ("ượt ữ ỡ ặ ậ ể ờ ự ỷ", "uot u o a a e o u y"),
            ("Hoà = Hòa, thuý = thúy", "hoa = hoa, thuy = thuy"),
            ("“trích” – dẫn", '"trich" - dan'),
            ("a\u00a0b\tc\nd", "a b c d"),
        ],
    )
    def test_examples(self, text, expected):
        assert fold(text) == expected

    def test_unaccented_text_is_unchanged_except_case(self):
        text = "nguoi dan bi lua dao mat 50tr, de nghi CA xa xu ly"
        assert fold(text) == text.lower()

    @pytest.mark.parametrize("text", NFC_SAMPLES)
    def test_same_length_on_nfc_vietnamese(self, text):
        folded = fold(text)
        assert len(folded) == len(text)
        for i, ch in enumerate(text):
            assert folded[i] == fold(ch)

    @pytest.mark.parametrize("text", NFC_SAMPLES)
    def test_nfd_and_nfc_fold_the_same(self, text):
        assert fold(nfd(text)) == fold(text)

    def test_other_scripts_are_kept_one_to_one(self):
        text = "Trung Quốc 中国, Ελλάδα, Привет"
        assert len(fold(text)) == len(text)
        assert fold(text) == "trung quoc 中国, ελλαδα, привет"

    def test_has_diacritics(self):
        assert has_diacritics("hối lộ")
        assert has_diacritics("dđ")
        assert has_diacritics(nfd("hối"))
        assert not has_diacritics("hoi lo, 50tr - OK")


class TestFoldWithOffsets:
    @pytest.mark.parametrize("text", NFC_SAMPLES)
    def test_identity_offsets_on_nfc(self, text):
        folded, offsets = fold_with_offsets(text)
        assert folded == fold(text)
        assert list(offsets) == list(range(len(text) + 1))

    def test_nfd_spans_cover_whole_letters(self):
        text = nfd("Cán bộ nhận hối lộ")
        folded, offsets = fold_with_offsets(text)
        assert folded == "can bo nhan hoi lo"
        start = folded.index("hoi lo")
        end = start + len("hoi lo")
        span = text[offsets[start] : offsets[end]]
        assert unicodedata.normalize("NFC", span) == "hối lộ"

    def test_zero_width_characters_are_skipped(self):
        text = "hối\u200blộ"
        folded, offsets = fold_with_offsets(text)
        assert folded == "hoilo"
        assert text[offsets[3] : offsets[5]] == "lộ"
        assert text[offsets[0] : offsets[3]] == "hối\u200b"

    def test_leading_stray_mark(self):
        text = "\u0301abc"
        folded, offsets = fold_with_offsets(text)
        assert folded == "abc"
        assert offsets[0] == 0
        assert offsets[-1] == len(text)


# ------------------------------------------------------------------------------ abbreviations


class TestExpandAbbreviations:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("UBND xã Yên Lạc", "Ủy ban nhân dân xã Yên Lạc"),
            ("ubnd phuong 5", "Ủy ban nhân dân phuong 5"),
            ("HĐND và HDND", "Hội đồng nhân dân và Hội đồng nhân dân"),
            ("CA xã không xử lý", "công an xã không xử lý"),
            ("báo CA đi", "báo công an đi"),
            ("Ca phuong 5 chua xu ly", "Công an phuong 5 chua xu ly"),
            ("CSGT thu tiền", "cảnh sát giao thông thu tiền"),
            ("CSĐT và CSDT", "cảnh sát điều tra và cảnh sát điều tra"),
            ("VKSND tỉnh, VKS huyện", "Viện kiểm sát nhân dân tỉnh, Viện kiểm sát huyện"),
            ("TAND tối cao", "Tòa án nhân dân tối cao"),
            ("cơ quan THADS", "cơ quan thi hành án dân sự"),
            ("MTTQ xã", "Mặt trận Tổ quốc xã"),
            ("tiền GPMB", "tiền giải phóng mặt bằng"),
            ("thẻ BHYT, sổ BHXH", "thẻ bảo hiểm y tế, sổ bảo hiểm xã hội"),
            ("cấp QSDĐ, QSDD", "cấp quyền sử dụng đất, quyền sử dụng đất"),
            ("GCN QSDĐ số 12", "giấy chứng nhận quyền sử dụng đất số 12"),
            ("cb địa chính", "cán bộ địa chính"),
            ("nhờ ctv của cty", "nhờ cộng tác viên của công ty"),
            ("CT UBND xã ký", "chủ tịch Ủy ban nhân dân xã ký"),
            ("ct TNHH Phú Gia", "công ty TNHH Phú Gia"),
            ("tp Vinh, TP.HCM", "thành phố Vinh, thành phố Hồ Chí Minh"),
            ("ko biết, k biết, khg có, hok có", "không biết, không biết, không có, không có"),
            ("Ko ai xử lý", "Không ai xử lý"),
            ("dc không, đc chưa", "được không, được chưa"),
            ("ng dân nói j vs cb", "người dân nói gì với cán bộ"),
            ("ck tôi đi làm, vk tôi ở nhà", "chồng tôi đi làm, vợ tôi ở nhà"),
            ("ck 20tr cho nó", "chuyển khoản 20 triệu cho nó"),
            ("đưa 50tr mới xong", "đưa 50 triệu mới xong"),
            ("hết 1tr5", "hết 1 triệu 5"),
            ("nộp 500.000đ và 200k", "nộp 500.000 đồng và 200 nghìn"),
            ("ở Q.3, P.12", "ở quận 3, phường 12"),
        ],
    )
    def test_examples(self, text, expected):
        assert expand_abbreviations(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "ca sĩ hát ca dao, đi làm ca đêm",  # "ca" is a word: never công an in lowercase
            "cá xã, cà phê, cao, cả nhà",  # accented "cá"/"cả" are other words
            "ông K. nói",  # capital single letters are initials
            "mua 5 kg gạo, 5kg thịt",  # kg after a number is a unit
            "tr. 12, chương trình",  # "tr" alone is not triệu
            "vẽ sơ đồ, số đó",  # sơ đồ / số đó are not sổ đỏ
        ],
    )
    def test_ordinary_words_are_left_alone(self, text):
        assert expand_abbreviations(text) == text

    def test_so_do_is_added_not_replaced(self):
        assert expand_abbreviations("cấp sổ đỏ sai") == (
            "cấp sổ đỏ (giấy chứng nhận quyền sử dụng đất) sai"
        )
        assert expand_abbreviations("lam so do dat nha toi") == (
            "lam so do (giấy chứng nhận quyền sử dụng đất) dat nha toi"
        )
        assert "quyền sở hữu nhà ở" in expand_abbreviations("căn hộ có sổ hồng")

    def test_unaccented_so_do_needs_a_land_word(self):
        assert expand_abbreviations("ve so do mach dien") == "ve so do mach dien"

    @pytest.mark.parametrize(
        "text",
        [
            "UBND xa k giai quyet, CA xã bảo phải đưa 50tr",
            "cấp sổ đỏ sai, cb địa chính ko làm",
            "Ca phuong 5 ko xu ly, dc chua?",
        ],
    )
    def test_idempotent(self, text):
        once = expand_abbreviations(text)
        assert expand_abbreviations(once) == once

    def test_nfd_input(self):
        assert expand_abbreviations(nfd("CA xã")) == "công an xã"

    def test_empty(self):
        assert expand_abbreviations("") == ""


# ------------------------------------------------------------------------------ properties
# Hypothesis is in the project's test extras; without it only these property tests are left out.

try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    hypothesis = None


if hypothesis is not None:
    VIETNAMESE = (
        "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
    )
    ALPHABET = VIETNAMESE + VIETNAMESE.upper() + "0123456789 .,;:!?-/\"'()\n\t\u00a0“”–"

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(alphabet=ALPHABET, max_size=80))
    def test_property_fold_is_one_to_one_on_nfc_vietnamese(text):
        text = unicodedata.normalize("NFC", text)
        folded = fold(text)
        assert len(folded) == len(text)
        assert folded == "".join(fold(c) for c in text)
        assert folded.isascii()
        assert fold(nfd(text)) == folded
        assert fold(folded) == folded

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(max_size=60))
    def test_property_offsets_map_back_for_any_text(text):
        folded, offsets = fold_with_offsets(text)
        assert folded == fold(text)
        assert len(offsets) == len(folded) + 1
        # Text that folds to nothing (e.g. only format characters) has the single end offset.
        assert offsets[-1] == len(text) and (offsets[0] == 0 or not folded)
        assert all(a < b for a, b in zip(offsets, list(offsets)[1:], strict=False)) or not folded
        for k in range(len(folded)):
            assert fold(text[offsets[k] : offsets[k + 1]]) == folded[k]

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(st.text(alphabet=ALPHABET, max_size=60), st.data())
    def test_property_match_in_folded_text_maps_to_same_span(text, data):
        text = unicodedata.normalize("NFC", text)
        hypothesis.assume(len(text) >= 2)
        i = data.draw(st.integers(0, len(text) - 1))
        j = data.draw(st.integers(i + 1, len(text)))
        folded, offsets = fold_with_offsets(nfd(text))
        needle = fold(text[i:j])
        start = fold(text).index(needle)
        span = nfd(text)[offsets[start] : offsets[start + len(needle)]]
        assert fold(span) == needle
