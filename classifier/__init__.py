"""tinbao's report classifier: sector, report type, subject, signs of a crime and flags.

Standalone: imports nothing from ``portal``. The portal calls it after a report is stored::

    from classifier import ReportClassifier

    model = ReportClassifier.load()          # instance/models/tinbao-classifier
    [result] = model.predict([{"id": 1, "text": "Cán bộ địa chính nhận hối lộ ..."}])

Train, evaluate and predict from the command line with ``python -m classifier`` (see
docs/classifier.md).
"""

from __future__ import annotations

import importlib
from typing import Any

# The public names are imported on first use (PEP 562): the portal imports
# ``classifier.normalize`` in every web process, and that must not load numpy, SciPy and
# scikit-learn (nor require them to be installed).
_PUBLIC = {
    "ReportClassifier": "classifier._model",
    "ModelNotTrainedError": "classifier._model",
    "default_model_dir": "classifier._model",
    "evaluate": "classifier._evaluate",
    "format_report": "classifier._evaluate",
    "load_corpus": "classifier._corpus",
    "train_heldout_split": "classifier._corpus",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
