"""Evaluation: metrics of a fitted model on labelled reports, and their text tables.

:func:`evaluate` returns plain data (dicts of numbers); :func:`format_report` prints it. Both
the whole set and its accented / unaccented parts are measured: reports typed without
diacritics are the central difficulty, so every headline figure is shown for each part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from classifier._corpus import is_accented
from classifier._taxonomy import CATEGORIES, FLAGS

_PARTS = ("all", "accented", "unaccented")


def evaluate(
    model: Any,
    items: Sequence[dict[str, Any]],
    predictions: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` on labelled ``items`` (corpus format).

    ``predictions`` (``model.predict(items)`` output) can be passed to avoid predicting twice.
    Category heads are scored on the items that carry their label; crime signs on items with
    a boolean ``crime``; flags on items with a ``flags`` list; review on ``needs_review``.
    """
    if predictions is None:
        predictions = model.predict(items)
    accented = np.array([is_accented(it) for it in items])
    masks = {"all": np.ones(len(items), bool), "accented": accented, "unaccented": ~accented}
    result: dict[str, Any] = {
        "n": {part: int(mask.sum()) for part, mask in masks.items()},
        "categories": {},
        "crime": {},
        "flags": {},
        "review": {},
    }
    for name, codes in CATEGORIES.items():
        labelled = np.array([it.get(name) in codes for it in items])
        gold = np.array([str(it.get(name)) for it in items])
        pred = np.array([p[name]["code"] for p in predictions])
        per_part = {}
        for part, mask in masks.items():
            m = mask & labelled
            per_part[part] = _category_metrics(gold[m], pred[m], codes)
        result["categories"][name] = per_part

    has_crime = np.array([isinstance(it.get("crime"), bool) for it in items])
    gold_crime = np.array([bool(it.get("crime")) for it in items])
    pred_crime = np.array([bool(p["crime_signs"]["flag"]) for p in predictions])
    found = [{a["article"] for a in p["crime_signs"]["articles"]} for p in predictions]
    article_hit = np.array(
        [bool(set(it.get("articles") or []) & f) for it, f in zip(items, found, strict=True)]
    )
    has_articles = np.array([bool(it.get("articles")) for it in items]) & gold_crime
    for part, mask in masks.items():
        m = mask & has_crime
        crime = _binary_metrics(gold_crime[m], pred_crime[m])
        am = mask & has_articles
        crime["article_hit"] = float(article_hit[am].mean()) if am.any() else None
        crime["article_support"] = int(am.sum())
        result["crime"][part] = crime

    has_flags = np.array([isinstance(it.get("flags"), list) for it in items])
    for code in FLAGS:
        gold = np.array([code in (it.get("flags") or []) for it in items])
        pred = np.array([code in p["flags"] for p in predictions])
        result["flags"][code] = _binary_metrics(gold[has_flags], pred[has_flags])

    has_review = np.array([isinstance(it.get("needs_review"), bool) for it in items])
    gold_review = np.array([bool(it.get("needs_review")) for it in items])
    pred_review = np.array([bool(p["needs_review"]) for p in predictions])
    # How often the sector is right on the reports that were (not) sent for review.
    sector_ok = np.array(
        [p["sector"]["code"] == it.get("sector") for it, p in zip(items, predictions, strict=True)]
    )
    for part, mask in masks.items():
        m = mask & has_review
        review = _binary_metrics(gold_review[m], pred_review[m])
        review["flagged_share"] = float(pred_review[mask].mean()) if mask.any() else 0.0
        for key, sub in (("not_flagged", mask & ~pred_review), ("flagged", mask & pred_review)):
            review[f"sector_accuracy_{key}"] = float(sector_ok[sub].mean()) if sub.any() else None
        result["review"][part] = review
    return result


def _category_metrics(gold: np.ndarray, pred: np.ndarray, codes: Sequence[str]) -> dict[str, Any]:
    if len(gold) == 0:
        return {"support": 0, "macro_f1": None, "accuracy": None, "per_class": {}, "confusion": []}
    present = [c for c in codes if c in set(gold)]
    p, r, f, s = precision_recall_fscore_support(
        gold, pred, labels=list(codes), zero_division=0
    )
    per_class = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
            "support": int(s[i])}
        for i, c in enumerate(codes)
    }
    # Macro-F1 over the classes present in the gold labels (a class absent from a small
    # evaluation set would otherwise count as F1 = 0).
    macro = float(np.mean([per_class[c]["f1"] for c in present])) if present else None
    return {
        "support": int(len(gold)),
        "macro_f1": macro,
        "accuracy": float((gold == pred).mean()),
        "per_class": per_class,
        "confusion": confusion_matrix(gold, pred, labels=list(codes)).tolist(),
    }


def _binary_metrics(gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    tp = int((gold & pred).sum())
    fp = int((~gold & pred).sum())
    fn = int((gold & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "support": int(gold.sum()), "predicted": int(pred.sum()), "n": int(len(gold)),
    }


# ------------------------------------------------------------------------------ printing
_SHORT = {
    "land": "land", "environment_resources": "env", "construction_investment": "constr",
    "procurement": "procur", "public_finance": "finance", "state_enterprise": "soe",
    "economy_market": "economy", "health": "health", "education": "educ",
    "social_welfare": "welfare", "personnel": "person", "admin_procedure": "admin",
    "justice": "justice", "public_order": "order", "other": "other",
    "crime_report": "crime", "denunciation": "denunc", "complaint": "complt",
    "petition": "petit", "ordinary": "ordin", "official": "offic", "party_member": "party",
    "judicial_officer": "judic", "none": "none",
}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "  -  " if value is None else f"{value:.{digits}f}"


def format_report(result: dict[str, Any], title: str = "", *, summary_only: bool = False) -> str:
    """Readable text tables of an :func:`evaluate` result (only the summary if asked)."""
    lines: list[str] = []
    if title:
        lines += [title, "=" * len(title), ""]
    n = result["n"]
    lines.append(
        f"reports: {n['all']} (accented {n['accented']}, unaccented {n['unaccented']})"
    )
    lines.append("")
    lines.append("Summary                      all    accented  unaccented")
    for name in CATEGORIES:
        row = result["categories"][name]
        lines.append(
            f"  {name + ' macro-F1':<26}{_fmt(row['all']['macro_f1']):>6}"
            f"{_fmt(row['accented']['macro_f1']):>11}{_fmt(row['unaccented']['macro_f1']):>12}"
        )
        lines.append(
            f"  {name + ' accuracy':<26}{_fmt(row['all']['accuracy']):>6}"
            f"{_fmt(row['accented']['accuracy']):>11}{_fmt(row['unaccented']['accuracy']):>12}"
        )
    crime = result["crime"]
    for key, label in (("recall", "crime-sign recall"), ("precision", "crime-sign precision"),
                       ("article_hit", "crime article hit")):
        lines.append(
            f"  {label:<26}{_fmt(crime['all'][key]):>6}"
            f"{_fmt(crime['accented'][key]):>11}{_fmt(crime['unaccented'][key]):>12}"
        )
    review = result["review"]
    for key, label in (("recall", "needs_review recall"), ("precision", "needs_review precision"),
                       ("flagged_share", "needs_review share"),
                       ("sector_accuracy_not_flagged", "sector acc. not flagged")):
        lines.append(
            f"  {label:<26}{_fmt(review['all'][key]):>6}"
            f"{_fmt(review['accented'][key]):>11}{_fmt(review['unaccented'][key]):>12}"
        )
    lines.append(
        f"  (crime: {crime['all']['support']} reports with signs, {crime['all']['predicted']} "
        f"flagged; article hit = a labelled article among those found, "
        f"{crime['all']['article_support']} reports)"
    )
    if summary_only:
        return "\n".join(lines) + "\n"
    for name, codes in CATEGORIES.items():
        metrics = result["categories"][name]["all"]
        lines += ["", f"{name}: per class (all reports)"]
        lines.append(f"  {'code':<24}{'prec':>6}{'recall':>8}{'F1':>7}{'n':>6}")
        for code in codes:
            c = metrics["per_class"].get(code)
            if not c or (c["support"] == 0 and not _predicted(metrics, codes, code)):
                continue
            lines.append(
                f"  {code:<24}{c['precision']:>6.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}"
                f"{c['support']:>6}"
            )
        lines += ["", f"{name}: confusion matrix (rows = true, columns = predicted)"]
        lines += _confusion_lines(metrics["confusion"], codes)
    lines += ["", "flags (all reports)", f"  {'flag':<18}{'prec':>6}{'recall':>8}{'F1':>7}{'n':>6}"]
    for code, m in result["flags"].items():
        lines.append(
            f"  {code:<18}{_fmt(m['precision']):>6}{_fmt(m['recall']):>8}{_fmt(m['f1']):>7}"
            f"{m['support']:>6}"
        )
    return "\n".join(lines) + "\n"


def _predicted(metrics: dict[str, Any], codes: Sequence[str], code: str) -> bool:
    j = list(codes).index(code)
    return any(row[j] for row in metrics["confusion"])


def _confusion_lines(matrix: list[list[int]], codes: Sequence[str]) -> list[str]:
    if not matrix:
        return ["  (no reports)"]
    used = [i for i, c in enumerate(codes) if sum(matrix[i]) or sum(r[i] for r in matrix)]
    heads = [_SHORT.get(codes[i], codes[i])[:7] for i in used]
    lines = ["  " + " " * 9 + "".join(f"{h:>8}" for h in heads)]
    for i in used:
        label = _SHORT.get(codes[i], codes[i])[:8]
        lines.append("  " + f"{label:<9}" + "".join(f"{matrix[i][j]:>8}" for j in used))
    return lines
