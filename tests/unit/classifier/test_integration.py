"""The real trained model: held-out targets and a few realistic reports.

Skipped when no model has been trained (``python -m classifier train`` writes it to
instance/models/tinbao-classifier, or $TINBAO_CLASSIFIER_DIR). Figures and their meaning:
docs/classifier.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from classifier import ReportClassifier, evaluate, load_corpus, train_heldout_split
from classifier._text import strip_marks

ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = Path(
    os.environ.get("TINBAO_CLASSIFIER_DIR") or ROOT / "instance" / "models" / "tinbao-classifier"
)

pytestmark = pytest.mark.skipif(
    not (MODEL_DIR / "model.json").is_file(),
    reason=f"no trained classifier in {MODEL_DIR}; run `python -m classifier train` first",
)


@pytest.fixture(scope="module")
def model() -> ReportClassifier:
    return ReportClassifier.load(MODEL_DIR)


@pytest.fixture(scope="module")
def heldout_metrics(model) -> dict:
    return evaluate(model, train_heldout_split(load_corpus())[1])


def _macro(metrics: dict, head: str, part: str = "all") -> float:
    return metrics["categories"][head][part]["macro_f1"]


def test_sector_macro_f1_target(heldout_metrics):
    assert _macro(heldout_metrics, "sector") >= 0.85


def test_report_type_macro_f1_target(heldout_metrics):
    assert _macro(heldout_metrics, "report_type") >= 0.80


def test_crime_sign_targets(heldout_metrics):
    crime = heldout_metrics["crime"]["all"]
    assert crime["recall"] >= 0.95
    assert crime["precision"] >= 0.75


@pytest.mark.parametrize("head", ["sector", "report_type"])
def test_unaccented_within_five_points_of_accented(heldout_metrics, head):
    accented = _macro(heldout_metrics, head, "accented")
    unaccented = _macro(heldout_metrics, head, "unaccented")
    assert unaccented >= accented - 0.05


def test_crime_recall_holds_without_diacritics(heldout_metrics):
    assert heldout_metrics["crime"]["unaccented"]["recall"] >= 0.95


# Written for this test (not in the corpus or the unseen set): (text, sector, type, crime).
REALISTIC = [
    ("Tôi tố cáo ông Lê Văn Hòa, cán bộ địa chính xã Quảng Lợi, đã nhận 40 triệu đồng của "
     "gia đình tôi để làm sổ đỏ cho mảnh đất ông bà để lại, đến nay đã hơn một năm vẫn chưa "
     "có sổ, gọi điện thì ông không nghe máy.",
     "land", "denunciation", True),
    ("Đêm qua nhóm thanh niên đi xe máy mang theo dao, kiếm đến đập phá quán nước nhà tôi ở "
     "đầu cầu Bến Thủy, chém em trai tôi bị thương ở tay phải đi cấp cứu. Đề nghị công an "
     "phường bắt giữ.",
     "public_order", "crime_report", True),
    ("Kiến nghị phòng giáo dục bố trí thêm xe đưa đón học sinh ở các bản xa của xã Mường "
     "Lạn, nhiều cháu phải đi bộ 7 km đến trường, mùa mưa lũ rất nguy hiểm.",
     "education", "petition", False),
    ("Đề nghị bệnh viện huyện mở thêm quầy tiếp đón bệnh nhân có thẻ bảo hiểm y tế vào buổi "
     "sáng, người già phải xếp hàng từ 5 giờ sáng mới đến lượt khám.",
     "health", "petition", False),
]


@pytest.mark.parametrize("accented", [True, False], ids=["accented", "unaccented"])
@pytest.mark.parametrize("case", REALISTIC, ids=[c[1] for c in REALISTIC])
def test_realistic_reports(model, case, accented):
    text, sector, report_type, crime = case
    if not accented:
        text = strip_marks(text)
    [result] = model.predict([{"id": 1, "text": text}])
    assert result["sector"]["code"] == sector
    assert result["report_type"]["code"] == report_type
    assert result["crime_signs"]["flag"] is crime
    assert result["needs_review"] is False


def test_nonsense_and_foreign_text_need_review(model):
    results = model.predict(["alo alo", "asdfghjk", "Where can I renew my visa, please?", ""])
    assert all(r["needs_review"] for r in results)
