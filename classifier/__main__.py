"""Command line: ``python -m classifier {train,evaluate,predict}`` (run from the project root).

* ``train [--include-corrections [FILE]] [--encoder [DIR]] [--out DIR]`` trains on the corpus's
  training split (plus staff corrections when asked) and writes the model folder.
* ``evaluate FILE.jsonl`` / ``evaluate --heldout`` / ``evaluate --unseen`` prints the metrics.
* ``predict`` reads JSON Lines ``{"id", "text", ...}`` on stdin and writes one JSON line per input,
  in the same order.

See docs/classifier.md for the output contract and the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from classifier._corpus import (
    DEFAULT_CORRECTIONS_PATH,
    UNSEEN_CHECK_PATH,
    load_corpus,
    load_corrections,
    read_jsonl,
    train_heldout_split,
)
from classifier._model import ModelNotTrainedError, ReportClassifier

DEFAULT_ENCODER_DIR = Path("instance") / "models" / "multilingual-e5-small"
# Staff-confirmed labels weigh twice a corpus report: they are checked by a person and come
# from the real distribution of reports the portal receives.
CORRECTION_WEIGHT = 2.0
PREDICT_BATCH = 64


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ModelNotTrainedError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train on the corpus (training split) and save the model")
    train.add_argument(
        "--include-corrections", nargs="?", const=str(DEFAULT_CORRECTIONS_PATH), default=None,
        metavar="FILE",
        help=f"add staff corrections (JSON Lines; default file {DEFAULT_CORRECTIONS_PATH})",
    )
    train.add_argument(
        "--encoder", nargs="?", const=str(DEFAULT_ENCODER_DIR), default=None, metavar="DIR",
        help="also use the e5 sentence encoder (converted into DIR if missing; default "
        f"{DEFAULT_ENCODER_DIR}); slower and not more accurate on our data, see docs",
    )
    train.add_argument("--out", default=None, metavar="DIR",
                       help="model folder (default $TINBAO_CLASSIFIER_DIR or "
                       "instance/models/tinbao-classifier)")
    train.add_argument("--corpus", default=None, metavar="DIR", help=argparse.SUPPRESS)
    train.set_defaults(func=_train)

    evaluate = sub.add_parser("evaluate", help="print metrics on labelled reports")
    which = evaluate.add_mutually_exclusive_group(required=True)
    which.add_argument("file", nargs="?", help="JSON Lines in the corpus format")
    which.add_argument("--heldout", action="store_true", help="the corpus's fixed held-out split")
    which.add_argument("--unseen", action="store_true",
                       help=f"the hand-written check set ({UNSEEN_CHECK_PATH.name})")
    evaluate.add_argument("--model", default=None, metavar="DIR", help="model folder")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=_evaluate)

    predict = sub.add_parser("predict", help="classify JSON Lines from stdin")
    predict.add_argument("--model", default=None, metavar="DIR", help="model folder")
    predict.add_argument("--batch-size", type=int, default=PREDICT_BATCH, help=argparse.SUPPRESS)
    predict.set_defaults(func=_predict)
    return parser


# ----------------------------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> int:
    started = time.monotonic()
    train, heldout = train_heldout_split(load_corpus(args.corpus))
    texts = [item["text"] for item in train]
    labels: list[dict[str, Any]] = list(train)
    weights = [1.0] * len(train)
    if args.include_corrections is not None:
        path = Path(args.include_corrections)
        if path.is_file():
            corrections = load_corrections(path)
            texts += [item["text"] for item in corrections]
            labels += corrections
            weights += [CORRECTION_WEIGHT] * len(corrections)
            print(f"corrections: {len(corrections)} from {path}", file=sys.stderr)
        else:
            print(f"corrections: {path} does not exist yet; training on the corpus only",
                  file=sys.stderr)

    encoder = None
    if args.encoder is not None:
        from classifier._convert import ensure_encoder  # imports torch-free code only

        encoder = str(ensure_encoder(args.encoder))
    model = ReportClassifier(encoder=encoder, verbose=True)
    model.fit(texts, labels, sample_weight=weights)
    out = model.save(args.out)
    elapsed = time.monotonic() - started
    print(f"trained on {len(texts)} reports ({len(train)} from the corpus) in {elapsed:.1f}s")
    print(f"model {model.version_} written to {out}")

    from classifier._evaluate import evaluate, format_report

    print()
    print(format_report(evaluate(model, heldout), "held-out split", summary_only=True), end="")
    return 0


# -------------------------------------------------------------------------------- evaluate
def _evaluate(args: argparse.Namespace) -> int:
    from classifier._evaluate import evaluate, format_report

    if args.heldout:
        items = train_heldout_split(load_corpus())[1]
        title = "held-out split (classifier/data/corpus, 20% by id hash)"
    elif args.unseen:
        items = read_jsonl(UNSEEN_CHECK_PATH)
        title = f"unseen check set ({UNSEEN_CHECK_PATH.name})"
    else:
        items = read_jsonl(args.file)
        title = str(args.file)
    model = ReportClassifier.load(args.model)
    result = evaluate(model, items)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(format_report(result, f"{title} — model {model.version_}"), end="")
    return 0


# --------------------------------------------------------------------------------- predict
def _predict(args: argparse.Namespace) -> int:
    model = ReportClassifier.load(args.model)
    failures = 0
    for batch in _batches(sys.stdin, max(1, args.batch_size)):
        failures += _predict_batch(model, batch, sys.stdout)
    return 1 if failures else 0


def _batches(stream: TextIO, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in stream:
        if not line.strip():
            continue
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _predict_batch(model: ReportClassifier, lines: list[str], out: TextIO) -> int:
    """Classify one batch; a line that is not a JSON object gets ``{"id", "error"}``."""
    parsed: list[dict[str, Any] | str] = []
    for line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.append(f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            parsed.append("expected an object with a string 'text'")
            continue
        parsed.append(item)
    good = [p for p in parsed if isinstance(p, dict)]
    results = iter(model.predict(good))
    failures = 0
    for p in parsed:
        if isinstance(p, dict):
            record = next(results)
        else:
            record = {"id": None, "error": p}
            failures += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    return failures


if __name__ == "__main__":
    sys.exit(main())
