"""The labelled corpus: loading, the fixed held-out split and staff corrections.

The corpus is ``classifier/data/corpus/part_*.jsonl`` (one report per line, fields described in
``classifier/data/DATACARD.md``). The held-out split is a pure function of each item's ``id``:
an item is held out when the SHA-256 of ``"tinbao-heldout:" + id`` falls in the lowest
:data:`HELDOUT_FRACTION` of the hash range. It never depends on the other items, so adding reports
to the corpus never moves an existing report between train and held-out, and nothing the model
was trained on can leak into the evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from classifier.normalize import has_diacritics

CORPUS_DIR = Path(__file__).with_name("data") / "corpus"
UNSEEN_CHECK_PATH = Path(__file__).with_name("data") / "unseen_check.jsonl"
DEFAULT_CORRECTIONS_PATH = Path("instance") / "classifier-corrections.jsonl"

HELDOUT_FRACTION = 0.2
_SALT = "tinbao-heldout:"


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSON Lines file; blank lines are skipped, a bad line raises with its number."""
    items: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            items.append(item)
    return items


def load_corpus(corpus_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """All corpus items from ``part_*.jsonl`` in ``corpus_dir``, in file then line order."""
    folder = Path(corpus_dir) if corpus_dir is not None else CORPUS_DIR
    paths = sorted(folder.glob("part_*.jsonl"))
    if not paths:
        raise FileNotFoundError(f"no corpus files (part_*.jsonl) in {folder}")
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in paths:
        for item in read_jsonl(path):
            if item.get("id") in seen:
                raise ValueError(f"{path}: duplicate id {item.get('id')!r}")
            seen.add(item.get("id"))
            items.append(item)
    return items


def is_heldout(item_id: str) -> bool:
    """True when the report with this id belongs to the fixed held-out split."""
    digest = hashlib.sha256((_SALT + str(item_id)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < HELDOUT_FRACTION * 2**64


def train_heldout_split(items: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """``(train, heldout)`` by :func:`is_heldout` on each item's id."""
    train: list[dict] = []
    heldout: list[dict] = []
    for item in items:
        (heldout if is_heldout(item["id"]) else train).append(item)
    return train, heldout


def is_accented(item: dict[str, Any]) -> bool:
    """The item's ``accented`` field when present, else whether its text carries diacritics."""
    value = item.get("accented")
    if isinstance(value, bool):
        return value
    return has_diacritics(item.get("text") or "")


def load_corrections(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Staff-confirmed labels ``{"text", "sector", "report_type", "subject"?, "crime"?}``.

    Lines without a text, sector or report type are rejected with their line number, so a
    broken export is noticed instead of silently training on half the file.
    """
    items = read_jsonl(path)
    for number, item in enumerate(items, start=1):
        missing = [k for k in ("text", "sector", "report_type") if not item.get(k)]
        if missing:
            raise ValueError(f"{path}: correction {number} lacks {', '.join(missing)}")
    return items
