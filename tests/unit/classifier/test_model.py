"""Unit tests of the report classifier on a tiny model (seconds, never the real one).

The tiny model is trained in-process on a few dozen generated reports, with a two-article crime
lexicon written to a temporary folder and, where the encoder path is tested, a stub encoder
that returns deterministic vectors. The real model is tested in test_integration.py.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from classifier import (
    ModelNotTrainedError,
    ReportClassifier,
    default_model_dir,
    evaluate,
    format_report,
    load_corpus,
    train_heldout_split,
)
from classifier.__main__ import main as cli_main
from classifier._corpus import is_heldout, load_corrections
from classifier._taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS
from classifier._text import nfc_to_input_offsets, strip_marks, vietnamese_share
from classifier.normalize import fold

ROOT = Path(__file__).resolve().parents[3]

TINY_LEXICON = """
version: 1
articles:
  - article: 354
    name: Tội nhận hối lộ
    patterns:
      - nhận hối lộ
      - "nhận (tiền|phong bì) {0,3} để"
  - article: 173
    name: Tội trộm cắp tài sản
    patterns:
      - trộm cắp
      - bị trộm
"""

# (sector, report_type, subject, crime, flags, sentence)
_TEMPLATES = [
    ("land", "denunciation", "official", True, ["corruption"],
     "Cán bộ địa chính xã {n} nhận hối lộ {m} triệu để cấp sổ đỏ cho thửa đất sai quy định."),
    ("land", "complaint", "official", False, [],
     "Tôi khiếu nại quyết định thu hồi đất số {n} của ủy ban xã, giá bồi thường đất quá thấp."),
    ("land", "petition", "none", False, ["mass"],
     "Đề nghị xã đo đạc lại ranh giới thửa đất giữa thôn {n} và thôn bên, nhiều hộ tranh chấp."),
    ("public_order", "crime_report", "ordinary", True, ["urgent"],
     "Xe máy của tôi bị trộm ở chợ {n} lúc {m} giờ sáng, kẻ trộm cắp bẻ khóa rồi bỏ chạy."),
    ("public_order", "crime_report", "ordinary", True, [],
     "Nhà số {n} tổ chức đánh bạc trộm cắp suốt đêm, {m} con bạc tụ tập, đề nghị công an bắt."),
    ("public_order", "petition", "none", False, [],
     "Quán karaoke ở ngõ {n} hát đến {m} giờ đêm, đề nghị phường kiểm tra tiếng ồn."),
    ("health", "denunciation", "official", True, ["corruption"],
     "Bác sĩ bệnh viện huyện {n} nhận phong bì {m} triệu để xếp lịch mổ sớm cho bệnh nhân."),
    ("health", "petition", "none", False, [],
     "Đề nghị trạm y tế xã {n} mở cửa cả ngày, người già phải đi {m} cây số khám bệnh."),
    ("health", "complaint", "ordinary", False, [],
     "Tôi khiếu nại bảo hiểm y tế chỉ thanh toán {m} phần trăm chi phí mổ ở bệnh viện {n}."),
    ("other", "petition", "none", False, [],
     "Xin cảm ơn mặt trận xã {n} đã giúp gia đình tôi sửa nhà trước mùa mưa, chúc {m} cán bộ "
     "sức khỏe."),
]


def _tiny_corpus(per_template: int = 6) -> list[dict]:
    items = []
    for t, (sector, rtype, subject, crime, flags, sentence) in enumerate(_TEMPLATES):
        for k in range(per_template):
            text = sentence.format(n=k + 2, m=3 * k + 5)
            accented = k % 2 == 0
            if not accented:
                text = strip_marks(text)
            items.append({
                "id": f"T-{t:02d}-{k}", "text": text, "sector": sector, "report_type": rtype,
                "subject": subject, "crime": crime, "articles": [], "evidence": [],
                "flags": list(flags), "accented": accented, "voice": "short_message",
                "needs_review": False,
            })
    for k, junk in enumerate(["test", "alo", "asdfgh", "ok", "hello ad", "😂😂"]):
        items.append({
            "id": f"J-{k}", "text": junk, "sector": "other", "report_type": "petition",
            "subject": "none", "crime": False, "articles": [], "evidence": [], "flags": [],
            "accented": False, "voice": "negative", "needs_review": True,
        })
    return items


class StubEncoder:
    """Deterministic 16-dimensional "embeddings" from hashed folded words."""

    dim = 16

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in fold(text).split():
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)  # noqa: S324 - not security
                out[i, h % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out


@pytest.fixture(scope="module")
def lexicon_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lexicon") / "lexicon.yaml"
    path.write_text(TINY_LEXICON, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return _tiny_corpus()


@pytest.fixture(scope="module")
def model(corpus, lexicon_path) -> ReportClassifier:
    return ReportClassifier(lexicon=lexicon_path, cv_folds=3).fit(
        [it["text"] for it in corpus], corpus
    )


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory) -> Path:
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


def _cli(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv, our own module
        [sys.executable, "-m", "classifier", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, **(env or {})},
    )


# ------------------------------------------------------------------------ output contract
def _check_contract(result: dict, item_id) -> None:
    assert set(result) == {
        "id", "sector", "report_type", "subject", "crime_signs", "flags", "needs_review", "model"
    }
    assert result["id"] == item_id
    for name, codes in (("sector", SECTORS), ("report_type", REPORT_TYPES), ("subject", SUBJECTS)):
        block = result[name]
        assert set(block) == {"code", "score", "ranked"}
        ranked = block["ranked"]
        assert [r["code"] for r in ranked] != []
        assert sorted(r["code"] for r in ranked) == sorted(codes)
        assert all(set(r) == {"code", "score"} for r in ranked)
        scores = [r["score"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert block["code"] == ranked[0]["code"] and block["score"] == ranked[0]["score"]
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert sum(scores) == pytest.approx(1.0, abs=1e-3)
    crime = result["crime_signs"]
    assert set(crime) == {"flag", "score", "articles"}
    assert isinstance(crime["flag"], bool) and 0.0 <= crime["score"] <= 1.0
    assert crime["flag"] == (crime["score"] >= 0.5)
    for art in crime["articles"]:
        assert set(art) == {"article", "name", "evidence"}
        assert isinstance(art["article"], int) and isinstance(art["name"], str)
        for ev in art["evidence"]:
            assert set(ev) == {"text", "start", "end"}
    assert all(f in FLAGS for f in result["flags"])
    assert isinstance(result["needs_review"], bool)
    assert result["model"]["name"] == "tinbao-classifier"
    assert isinstance(result["model"]["version"], str)


def test_predict_follows_the_json_contract(model):
    items = [
        {"id": 7, "text": "Cán bộ địa chính xã nhận hối lộ 30 triệu để cấp sổ đỏ sai quy định."},
        {"id": "x", "text": "de nghi tram y te xa mo cua ca ngay, nguoi gia phai di xa kham benh",
         "report_type": "petition", "reporter_role": "citizen", "province_code": "01"},
        {"id": None, "text": ""},
    ]
    results = model.predict(items)
    assert len(results) == 3
    for item, result in zip(items, results, strict=True):
        _check_contract(result, item["id"])
    json.dumps(results, ensure_ascii=False)  # plain JSON types only


def test_predict_keeps_order_and_accepts_strings(model):
    texts = [f"Xe máy bị trộm ở chợ số {i}, đề nghị công an điều tra." for i in range(5)]
    results = model.predict(texts)
    assert [r["id"] for r in results] == [None] * 5
    assert model.predict([]) == []


def test_reads_the_same_with_or_without_diacritics(model):
    accented = "Bác sĩ bệnh viện huyện nhận phong bì 5 triệu để xếp lịch mổ sớm."
    a, b = model.predict_proba([accented, strip_marks(accented)])["sector"]
    np.testing.assert_allclose(a, b)
    assert model.predict([accented])[0]["sector"]["code"] == "health"


def test_crime_signs_on_a_clear_report(model):
    [result] = model.predict(["Cán bộ địa chính xã nhận hối lộ 30 triệu để cấp sổ đỏ."])
    assert result["crime_signs"]["flag"] is True
    assert 354 in [a["article"] for a in result["crime_signs"]["articles"]]
    [calm] = model.predict(["Xin cảm ơn mặt trận xã đã giúp gia đình tôi sửa nhà."])
    assert calm["crime_signs"] == {"flag": False, "score": calm["crime_signs"]["score"],
                                   "articles": []}


@pytest.mark.parametrize(
    "text",
    [
        "Ông Tư, cán bộ xã, đã nhận hối lộ của tôi 20 triệu đồng.",
        "Ong Tu, can bo xa, da nhan hoi lo cua toi 20 trieu dong.",
        unicodedata.normalize("NFD", "Ông Tư, cán bộ xã, đã nhận hối lộ của tôi 20 triệu đồng."),
        "Ông Tư\u200b, cán bộ xã, đã NHẬN HỐI LỘ của tôi 20 triệu đồng.",
        unicodedata.normalize("NFD", "Ông Tư") + ", can bo xa, đã nhận hối lộ 20 triệu.",
    ],
    ids=["accented", "unaccented", "nfd", "zero-width-caps", "mixed"],
)
def test_evidence_offsets_index_the_original_input(model, text):
    [result] = model.predict([{"id": 1, "text": text}])
    articles = result["crime_signs"]["articles"]
    assert articles, "the lexicon phrase should be found"
    for art in articles:
        for ev in art["evidence"]:
            assert text[ev["start"]:ev["end"]] == ev["text"]
    spans = [ev["text"] for art in articles for ev in art["evidence"]]
    assert any(fold(s).replace("\u200b", "") == "nhan hoi lo" for s in spans)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😡😡😡", "...", "asdfgh", "ok", "hello ad",
     "Hello, how can I extend my tourist visa in Vietnam? Thank you.",
     "你好，请问这个网站是做什么的？"],
)
def test_needs_review_on_empty_nonsense_or_foreign_text(model, text):
    [result] = model.predict([{"id": 1, "text": text}])
    assert result["needs_review"] is True


def test_blank_text_goes_to_other(model):
    for text in ("", "   ", "👍", "12345"):
        [result] = model.predict([{"id": 1, "text": text}])
        assert result["sector"]["code"] == "other"
        assert result["crime_signs"]["flag"] is False
        assert result["flags"] == []


def test_missing_or_non_string_text_is_treated_as_empty(model):
    results = model.predict([{"id": 1}, {"id": 2, "text": None}])
    assert all(r["needs_review"] and r["sector"]["code"] == "other" for r in results)


def test_a_clear_report_needs_no_review(model):
    [result] = model.predict(["Bác sĩ bệnh viện huyện nhận phong bì 5 triệu để xếp lịch mổ sớm."])
    assert result["needs_review"] is False


# -------------------------------------------------------------------------- estimator API
def test_unfitted_model_refuses_to_predict():
    with pytest.raises(NotFittedError):
        ReportClassifier().predict(["x"])


def test_init_only_stores_settings():
    model = ReportClassifier(alpha=3.0, cv_folds=4)
    assert (model.alpha, model.cv_folds) == (3.0, 4)
    assert not [k for k in vars(model) if k.endswith("_")]


def test_fit_rejects_unknown_codes(lexicon_path):
    with pytest.raises(ValueError, match="unknown sector"):
        ReportClassifier(lexicon=lexicon_path).fit(
            ["a b c"] * 4, [{"sector": "space", "report_type": "petition"}] * 4
        )


def test_fit_is_reproducible(corpus, lexicon_path, model):
    again = ReportClassifier(lexicon=lexicon_path, cv_folds=3).fit(
        [it["text"] for it in corpus], corpus
    )
    texts = [it["text"] for it in corpus[:10]]
    assert again.predict(texts) == model.predict(texts)
    assert again.version_ == model.version_


def test_predict_proba_columns_follow_classes(model):
    proba = model.predict_proba(["Xe máy bị trộm ở chợ."])
    for name, codes in model.classes_.items():
        assert proba[name].shape == (1, len(codes))
    assert proba["crime"].shape == (1,)


# ------------------------------------------------------------------------------ save / load
def test_save_and_load_give_the_same_predictions(model, saved_model):
    loaded = ReportClassifier.load(saved_model)
    texts = ["Cán bộ địa chính xã nhận hối lộ 30 triệu.", "alo", "quan karaoke hat den 2 gio dem"]
    assert loaded.predict(texts) == model.predict(texts)
    assert {p.name for p in saved_model.iterdir()} == {
        "model.json", "weights.npz", "crime_lexicon.yaml"
    }


def test_load_without_a_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelNotTrainedError, match="python -m classifier train"):
        ReportClassifier.load(tmp_path / "nothing-here")


def test_default_model_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TINBAO_CLASSIFIER_DIR", raising=False)
    assert default_model_dir() == Path("instance/models/tinbao-classifier")
    monkeypatch.setenv("TINBAO_CLASSIFIER_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path


def test_save_replaces_an_existing_model(model, tmp_path):
    target = tmp_path / "m"
    model.save(target)
    model.save(target)
    assert ReportClassifier.load(target).version_ == model.version_
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


# ------------------------------------------------------------------------------- encoder
@pytest.fixture(scope="module")
def encoder_model(corpus, lexicon_path, tmp_path_factory) -> ReportClassifier:
    folder = tmp_path_factory.mktemp("encoder")
    return ReportClassifier(lexicon=lexicon_path, cv_folds=3, encoder=StubEncoder(folder)).fit(
        [it["text"] for it in corpus], corpus
    )


def test_encoder_heads_are_mixed_in_and_saved_by_path(encoder_model, tmp_path):
    assert any(name.startswith("enc:") for name in encoder_model.heads_)
    calls = encoder_model.encoder_.calls
    results = encoder_model.predict(["Bác sĩ nhận phong bì để xếp lịch mổ sớm.", "alo"])
    assert encoder_model.encoder_.calls == calls + 1  # one batch call per predict
    _check_contract(results[0], None)
    target = encoder_model.save(tmp_path / "with-encoder")
    meta = json.loads((target / "model.json").read_text(encoding="utf-8"))
    folder = encoder_model.encoder_.path
    assert (target / meta["encoder"]).resolve() == folder.resolve()
    loaded = ReportClassifier.load(target, encoder=StubEncoder(folder))
    assert loaded.predict(["alo"]) == encoder_model.predict(["alo"])


def test_an_encoder_folder_is_loaded_with_the_encoder_class(monkeypatch, tmp_path):
    import classifier.encoder

    monkeypatch.setattr(classifier.encoder, "Encoder", StubEncoder)
    for path in (str(tmp_path), tmp_path):
        encoder = ReportClassifier._make_encoder(path)
        assert isinstance(encoder, StubEncoder) and encoder.path == path


def test_an_encoder_without_a_folder_cannot_be_saved(encoder_model, tmp_path):
    model = copy.copy(encoder_model)
    model.encoder_ = StubEncoder(path=None)
    with pytest.raises(ValueError, match="encoder"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


# -------------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    "text",
    ["Nhận hối lộ", unicodedata.normalize("NFD", "Nhận hối lộ ở xã Đông"),
     "a\u0301b\u0323c" + unicodedata.normalize("NFD", "ướ"), "plain ascii", "",
     "x\u1100\u1161\u11a8y"],  # Hangul jamo: starters that compose with each other
)
def test_nfc_offsets_map_back_to_whole_letters(text):
    nfc = unicodedata.normalize("NFC", text)
    mapping = nfc_to_input_offsets(text)
    assert len(mapping) == len(nfc) + 1
    assert mapping[0] == 0 and mapping[-1] == len(text)
    assert mapping == sorted(mapping)
    for i in range(len(nfc)):
        for j in range(i + 1, len(nfc) + 1):
            piece = text[mapping[i]:mapping[j]]
            assert unicodedata.normalize("NFC", piece) == nfc[i:j]


def test_lexical_features_match_scikit_learn(corpus):
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    from classifier._features import _VECTORIZERS, LexicalFeatures
    from classifier._text import model_text

    docs = [model_text(it["text"]) for it in corpus] + ["a", "ab", "  x  y ", ""]
    ours = LexicalFeatures().fit(docs).transform(docs)
    # Each block is scikit-learn's TF-IDF scaled by the block's weight.
    reference = sp.hstack([
        settings["weight"] * TfidfVectorizer(
            lowercase=False, sublinear_tf=True,
            **{k: v for k, v in settings.items() if k != "weight"}).fit(docs).transform(docs)
        for settings in _VECTORIZERS.values()
    ])
    assert ours.shape == reference.shape
    assert abs(ours - reference).max() < 1e-6


def test_vietnamese_share():
    assert vietnamese_share("Cán bộ xã nhận hối lộ")[0] == 1.0
    assert vietnamese_share("can bo xa nhan hoi lo")[0] == 1.0
    assert vietnamese_share("Please tell me how to apply for a visa")[0] < 0.5
    assert vietnamese_share("😂😂") == (0.0, 0)


# ------------------------------------------------------------------------------ corpus split
def test_heldout_split_is_a_fixed_function_of_the_id():
    assert is_heldout("A-0001") == is_heldout("A-0001")
    share = np.mean([is_heldout(f"X-{i}") for i in range(5000)])
    assert 0.18 < share < 0.22


def test_real_corpus_split_covers_every_sector():
    train, heldout = train_heldout_split(load_corpus())
    assert not {it["id"] for it in train} & {it["id"] for it in heldout}
    for sector in SECTORS:
        assert sum(it["sector"] == sector for it in heldout) >= 10, sector


def test_corrections_need_text_sector_and_type(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "x", "sector": "land"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="report_type"):
        load_corrections(path)


# ---------------------------------------------------------------------------- evaluation
def test_evaluate_prints_tables_split_by_accents(model, corpus):
    result = evaluate(model, corpus)
    assert result["n"]["accented"] + result["n"]["unaccented"] == result["n"]["all"]
    text = format_report(result, "tiny")
    for needle in ("Summary", "sector macro-F1", "report_type macro-F1", "subject macro-F1",
                   "crime-sign recall", "crime-sign precision", "accented", "unaccented",
                   "confusion matrix", "flags"):
        assert needle in text
    json.dumps(result)


# ------------------------------------------------------------------------------------ CLI
def test_cli_predict_streams_json_lines(saved_model):
    lines = [
        json.dumps({"id": 1, "text": "Cán bộ địa chính xã nhận hối lộ 30 triệu để cấp sổ đỏ."},
                   ensure_ascii=False),
        json.dumps({"id": 2, "text": "alo"}),
        json.dumps({"id": "c", "text": "xe may bi trom o cho"}),
    ]
    proc = _cli("predict", "--model", str(saved_model), stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2, "c"]
    for o in out:
        _check_contract(o, o["id"])
    assert out[0]["crime_signs"]["flag"] is True
    assert out[1]["needs_review"] is True


def _main(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the CLI in-process (the subprocess test above covers the real entry point)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli_main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_predict_reports_bad_lines_in_place(saved_model, monkeypatch, capsys):
    monkeypatch.setenv("TINBAO_CLASSIFIER_DIR", str(saved_model))
    stdin = '{"id": 1, "text": "xe may bi trom"}\nnot json\n[1, 2]\n{"id": 4, "text": "alo"}\n'
    code, out, _ = _main(monkeypatch, capsys, "predict", stdin=stdin)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [o.get("id") for o in records] == [1, None, None, 4]
    assert "error" in records[1] and "error" in records[2]


def test_cli_predict_batches_keep_the_order(saved_model, monkeypatch, capsys):
    stdin = "".join(json.dumps({"id": i, "text": f"xe may bi trom o cho {i}"}) + "\n"
                    for i in range(7))
    code, out, _ = _main(monkeypatch, capsys, "predict", "--model", str(saved_model),
                         "--batch-size", "3", stdin=stdin)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == list(range(7))


def test_cli_without_a_model_fails_clearly(tmp_path, monkeypatch, capsys):
    code, _, err = _main(monkeypatch, capsys, "predict", "--model", str(tmp_path),
                         stdin='{"id": 1, "text": "x"}\n')
    assert code == 2
    assert "python -m classifier train" in err


def test_cli_evaluate_file(saved_model, corpus, tmp_path, monkeypatch, capsys):
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in corpus),
                    encoding="utf-8")
    code, out, _ = _main(monkeypatch, capsys, "evaluate", str(path), "--model", str(saved_model))
    assert code == 0
    assert "sector macro-F1" in out and "unaccented" in out and "confusion matrix" in out


def test_cli_train_with_corrections(corpus, tmp_path, monkeypatch, capsys):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "part_x.jsonl").write_text(
        "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in corpus), encoding="utf-8"
    )
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text(
        json.dumps({"text": "Trường học thu tiền học thêm trái quy định", "sector": "education",
                    "report_type": "denunciation"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    out_dir = tmp_path / "model"
    code, out, err = _main(monkeypatch, capsys, "train", "--corpus", str(corpus_dir),
                           "--out", str(out_dir), "--include-corrections", str(corrections))
    assert code == 0, err
    assert "corrections: 1" in err
    assert "training" in err  # the progress bar
    assert "held-out split" in out
    loaded = ReportClassifier.load(out_dir)
    assert loaded.training_["n_reports"] == sum(not is_heldout(it["id"]) for it in corpus) + 1
