"""Running the classifier on stored reports and keeping its answer.

The classifier is loaded once per process, lazily, in the worker that first needs it (never
on a reporter's request). Staff-confirmed labels stay on the report; the classifier's answer
stays here, so the pair is a correction to learn from.
"""

import json
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import select

from portal.classification.models import Classification
from portal.extensions import db
from portal.reports.models import Report

log = logging.getLogger(__name__)


class ClassifierUnavailable(RuntimeError):
    """No trained model (run ``python -m classifier train``)."""


def default_model_dir(app) -> Path:
    configured = app.config.get("CLASSIFIER_DIR") or os.environ.get("TINBAO_CLASSIFIER_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "models" / "tinbao-classifier"


def load_default_classifier(app):
    """The trained ``classifier.ReportClassifier`` from the instance folder."""
    model_dir = default_model_dir(app)
    try:
        from classifier import ReportClassifier
    except ImportError as exc:  # the classifier extra is not installed
        raise ClassifierUnavailable(str(exc)) from exc
    if not model_dir.exists():
        raise ClassifierUnavailable(f"no trained model in {model_dir}")
    return ReportClassifier.load(model_dir)


class ClassifierHolder:
    """Loads the classifier on first use and shares it between jobs of this process."""

    def __init__(self, app):
        self._factory = app.config.get("CLASSIFIER_FACTORY") or load_default_classifier
        self._app = app
        self._lock = threading.Lock()
        self._classifier = None

    def get(self):
        with self._lock:
            if self._classifier is None:
                self._classifier = self._factory(self._app)
            return self._classifier


def classify_report(report_id: int, classifier, *, commit: bool = True) -> Classification | None:
    """Classify one stored report and save the answer (replacing an older one). With
    ``commit=False`` the caller commits (the job commits it with marking itself done)."""
    report = db.session.get(Report, report_id)
    if report is None:
        return None
    item = {
        "id": report.id,
        "text": report.text,
        "report_type": report.reported_type,
        "reporter_role": report.reporter_role,
        "province_code": report.province_code,
    }
    (answer,) = classifier.predict([item])
    row = report.classification or Classification(report=report)
    row.model = f"{answer['model']['name']} {answer['model']['version']}"[:128]
    row.sector = answer["sector"]["code"]
    row.sector_score = float(answer["sector"]["score"])
    row.report_type = answer["report_type"]["code"]
    row.subject = answer.get("subject", {}).get("code")
    row.crime_flag = bool(answer["crime_signs"]["flag"])
    row.crime_score = float(answer["crime_signs"]["score"])
    row.needs_review = bool(answer.get("needs_review"))
    row.result = answer
    db.session.add(row)
    if commit:
        db.session.commit()
    return row


def unclassified_report_ids() -> list[int]:
    query = (select(Report.id).outerjoin(Classification)
             .where(Classification.id.is_(None)).order_by(Report.id))
    return list(db.session.scalars(query))


def corrections() -> list[dict]:
    """Staff-confirmed labels as training examples for ``python -m classifier train
    --include-corrections`` (only reports that staff classified)."""
    rows = db.session.scalars(
        select(Report).where(Report.sector.is_not(None), Report.report_type.is_not(None))
        .order_by(Report.id)
    )
    return [
        {
            "text": report.text,
            "sector": report.sector,
            "report_type": report.report_type,
            "subject": report.subject,
            "crime": report.crime_confirmed,
            "flags": report.flags or [],
        }
        for report in rows
    ]


def write_corrections(path: Path) -> int:
    """Write :func:`corrections` as JSON Lines (mode 0600: it holds report text)."""
    items = corrections()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    return len(items)


def evidence_segments(text: str, answer: dict | None) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(piece, is_evidence)`` so templates can highlight evidence
    with <mark> while Jinja still escapes every piece."""
    spans = []
    for article in (answer or {}).get("crime_signs", {}).get("articles", []):
        for ev in article.get("evidence", []):
            start, end = int(ev.get("start", 0)), int(ev.get("end", 0))
            if 0 <= start < end <= len(text):
                spans.append((start, end))
    segments, position = [], 0
    for start, end in sorted(spans):
        if start < position:  # overlapping spans: extend the current highlight
            if end > position:
                segments[-1] = (segments[-1][0] + text[position:end], True)
                position = end
            continue
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments
