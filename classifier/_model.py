"""ReportClassifier: sector, report type, subject, signs of a crime, flags and review need.

Design (measured in docs/classifier.md): every head is a ridge classifier on lexical TF-IDF
features of the diacritic-folded report (:mod:`classifier._features`), so accented and
unaccented reports are read the same way; its decision values are calibrated into
probabilities on out-of-fold predictions. Signs of a crime combine that model with the crime
lexicon, which also supplies the articles and the evidence spans. An optional frozen sentence
encoder (multilingual-e5-small) can be mixed into the category heads; it is off by default
because on our data it lowered every held-out figure and is about 100x slower.

Estimator conventions (scikit-learn): ``__init__`` only stores settings; :meth:`fit` sets the
attributes ending in ``_`` and returns ``self``; every other method starts with
:func:`check_is_fitted`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier._features import _VECTORIZERS, LexicalFeatures
from classifier._taxonomy import CATEGORIES, FLAGS
from classifier._text import model_text, nfc_to_input_offsets, strip_marks, vietnamese_share
from classifier.lexicon import DEFAULT_LEXICON_PATH, CrimeLexicon
from classifier.normalize import fold, normalize

MODEL_NAME = "tinbao-classifier"
MODEL_VERSION = "1.0.0"
FORMAT_VERSION = 1
DEFAULT_MODEL_DIR = Path("instance") / "models" / "tinbao-classifier"
MODEL_DIR_ENV = "TINBAO_CLASSIFIER_DIR"

_MODEL_FILE = "model.json"
_WEIGHTS_FILE = "weights.npz"
_LEXICON_FILE = "crime_lexicon.yaml"

# Penal Code 2015, Chapter XXIII, Section 1 (Arts. 353–359): the corruption crimes
# ("tội phạm về tham nhũng"). A lexicon hit on one of them sets the corruption flag.
_CORRUPTION_ARTICLES = frozenset(range(353, 360))
# Fewer than this many words of running text cannot be classified meaningfully.
_MIN_WORDS = 3
# Share of words that must look like Vietnamese syllables (see classifier._text).
_MIN_VIETNAMESE_SHARE = 0.5
_STRONG_LEXICON_WEIGHT = 0.9
_THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.05), 2)


class ModelNotTrainedError(FileNotFoundError):
    """No trained model in the folder ``ReportClassifier.load`` was pointed at."""


def check_is_fitted(model: ReportClassifier) -> None:
    """Raise :class:`~sklearn.exceptions.NotFittedError` unless ``model`` was fitted or loaded."""
    if not hasattr(model, "features_"):
        # scikit-learn is imported only here and when fitting: a loaded model runs without it.
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            "this ReportClassifier is not fitted yet; call fit() or ReportClassifier.load()"
        )


def default_model_dir() -> Path:
    """``$TINBAO_CLASSIFIER_DIR`` if set, else ``instance/models/tinbao-classifier`` (cwd)."""
    return Path(os.environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR)


# ------------------------------------------------------------------------------------ heads
class _Head:
    """A fitted linear classifier reduced to plain arrays, with probability calibration.

    Trained as a ridge classifier with balanced class weights (on our data as accurate as
    logistic regression or a linear SVM and ten times faster to fit, see docs/classifier.md);
    its decision values are turned into probabilities by a softmax with a temperature
    (multi-class) or a sigmoid (binary, Platt scaling) fitted on out-of-fold decisions.
    """

    def __init__(
        self,
        classes: Sequence[Any],
        coef: np.ndarray,
        intercept: np.ndarray,
        calibration: Sequence[float] = (1.0, 0.0),
    ):
        self.classes = list(classes)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
        self.calibration = [float(v) for v in calibration]

    @classmethod
    def fit(
        cls, X: sp.csr_matrix | np.ndarray, y: np.ndarray, weight: np.ndarray, alpha: float
    ) -> _Head:
        classes = sorted(set(y.tolist()), key=str)
        if len(classes) < 2:
            # One class only (e.g. a small correction file): a constant head.
            return cls(classes, np.zeros((1, X.shape[1])), np.zeros(1))
        from sklearn.linear_model import RidgeClassifier

        ridge = RidgeClassifier(alpha=alpha, class_weight="balanced")
        ridge.fit(X, y.tolist(), sample_weight=weight)
        return cls(ridge.classes_.tolist(), ridge.coef_.reshape(-1, X.shape[1]), ridge.intercept_)

    def decision(self, X: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """``(n, k)`` decision values (``k == 1`` for a binary head: evidence for the 2nd class)."""
        return np.asarray(X @ self.coef.T, dtype=np.float64) + self.intercept

    def calibrate(self, decisions: np.ndarray, y: np.ndarray) -> None:
        """Fit the calibration on out-of-fold ``decisions`` of reports with labels ``y``."""
        if len(self.classes) < 2 or len(set(y.tolist())) < 2:
            return
        if len(self.classes) == 2:
            from sklearn.linear_model import LogisticRegression

            target = np.array([v == self.classes[1] for v in y.tolist()])
            platt = LogisticRegression(C=100.0).fit(decisions[:, :1], target)
            self.calibration = [float(platt.coef_[0, 0]), float(platt.intercept_[0])]
            return
        index = {c: j for j, c in enumerate(self.classes)}
        keep = np.array([v in index for v in y.tolist()])
        cols = np.array([index[v] for v in y[keep].tolist()])
        d = decisions[keep]
        best_t, best_nll = 1.0, np.inf
        for t in np.geomspace(0.5, 200.0, 80):
            logp = _log_softmax(t * d)
            nll = -float(logp[np.arange(len(cols)), cols].mean())
            if nll < best_nll:
                best_t, best_nll = float(t), nll
        self.calibration = [best_t, 0.0]

    def proba_from_decision(self, decisions: np.ndarray) -> np.ndarray:
        """Calibrated ``(n, len(classes))`` probabilities from :meth:`decision` output."""
        n = decisions.shape[0]
        if len(self.classes) == 1:
            return np.ones((n, 1))
        a, b = self.calibration
        if len(self.classes) == 2:
            p = _sigmoid(a * decisions[:, 0] + b)
            return np.stack([1.0 - p, p], axis=1)
        return np.exp(_log_softmax(a * decisions))

    def full(self, decisions: np.ndarray, codes: Sequence[Any]) -> np.ndarray:
        """Probabilities over all ``codes`` (0 for a code the head never saw)."""
        out = np.zeros((decisions.shape[0], len(codes)))
        proba = self.proba_from_decision(decisions)
        for j, c in enumerate(self.classes):
            out[:, list(codes).index(c)] = proba[:, j]
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.coef": self.coef, f"{prefix}.intercept": self.intercept}

    @classmethod
    def from_saved(cls, meta: dict[str, Any], arrays: Any, prefix: str) -> _Head:
        return cls(
            meta["classes"], arrays[f"{prefix}.coef"], arrays[f"{prefix}.intercept"],
            meta["calibration"],
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


# ------------------------------------------------------------------------------ the model
class ReportClassifier:
    """Classify citizens' reports (see the module docstring and docs/classifier.md).

    Settings:

    alpha
        Regularisation strength of every ridge head (larger: smoother, less fitted).
    cv_folds
        Folds of the internal cross-validation on the training data; its out-of-fold decisions
        calibrate the probabilities and set the thresholds (crime signs, flags, review,
        confidence). The held-out split is never used.
    crime_recall
        Share of the training reports with signs of a crime that the out-of-fold crime score
        must flag; the threshold is set to reach it ("không bỏ lọt tội phạm"). At 97.5 % the
        out-of-fold precision is 0.78 on the corpus as labelled by ANNOTATION-crime.md.
    min_confidence
        A report whose top (calibrated) sector probability is below this is sent for review
        (docs/classifier.md shows how often such reports get their sector right).
    lexicon
        Path of a crime-lexicon YAML file; ``None`` for the packaged one. A copy is saved with
        the model, because the crime threshold was tuned with it.
    encoder, encoder_weight
        Optional sentence encoder for the category heads: a folder path (loaded with
        :class:`classifier.encoder.Encoder`) or any object with ``encode(list[str]) ->
        ndarray``; its probabilities are averaged in with weight ``encoder_weight``.
    random_state
        Seed of the cross-validation split (every solver used is deterministic).
    verbose
        Show a progress bar on stderr while fitting.
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        cv_folds: int = 5,
        crime_recall: float = 0.975,
        min_confidence: float = 0.4,
        lexicon: str | os.PathLike[str] | None = None,
        encoder: Any = None,
        encoder_weight: float = 0.5,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.alpha = alpha
        self.cv_folds = cv_folds
        self.crime_recall = crime_recall
        self.min_confidence = min_confidence
        self.lexicon = lexicon
        self.encoder = encoder
        self.encoder_weight = encoder_weight
        self.random_state = random_state
        self.verbose = verbose

    # ================================================================== fit
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[dict[str, Any]],
        sample_weight: Sequence[float] | None = None,
    ) -> ReportClassifier:
        """Train on ``texts`` and their ``labels``; returns ``self``.

        ``labels[i]`` is a dict with ``sector`` and ``report_type`` and optionally ``subject``,
        ``crime`` (bool), ``flags`` (list of codes) and ``needs_review`` (bool); a head is
        trained on the reports that carry its label. ``sample_weight`` weighs reports (staff
        corrections count double in ``python -m classifier train``).
        """
        texts = [t if isinstance(t, str) else "" for t in texts]
        if len(texts) != len(labels):
            raise ValueError("texts and labels must have the same length")
        if not texts:
            raise ValueError("cannot fit on no data")
        weight = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, float)
        targets = _targets(labels)
        for name in ("sector", "report_type"):
            if not targets[name][0].all():
                raise ValueError(f"every report needs a {name} label")
        folds = self._folds(labels)
        bar = _progress(2 + folds + 1, self.verbose)

        lexicon_text, lexicon = _read_lexicon(self.lexicon)
        docs = [model_text(t) for t in texts]
        features = LexicalFeatures().fit(docs)
        X = features.transform(docs)
        lexicon_scores = np.array([lexicon.score(t) for t in texts])
        bar.update(1)

        encoder = self._make_encoder(self.encoder)
        # Embeddings of every report followed by its unaccented copy: the encoder reads
        # "khong dau" text poorly, so its heads learn from both forms.
        E = None if encoder is None else self._embed_training(encoder, texts)
        bar.update(1)

        heads = self._fit_heads(X, E, targets, weight, np.ones(len(texts), bool))
        bar.update(1)
        # Out-of-fold decisions calibrate the probabilities and set the thresholds: none of
        # them is chosen on reports the deciding model was trained on.
        oof = self._out_of_fold(X, E, targets, weight, labels, folds, bar)
        probs = {}
        for name, head in heads.items():
            base = name.removeprefix("enc:")
            classes, decisions = oof.get(name, (None, None))
            if classes == head.classes:
                mask, y = targets[base]
                head.calibrate(decisions[mask], y[mask])
                probs[name] = head.full(decisions, _codes(base, head))
        self._mix(probs)

        self.lexicon_text_ = lexicon_text
        self.lexicon_ = lexicon
        self.features_ = features
        self.heads_ = heads
        self.stacked_heads_ = _stack(heads)
        self.encoder_ = encoder
        self.thresholds_ = self._thresholds(probs, targets, lexicon_scores)
        self.training_ = {
            "n_reports": len(texts),
            "n_features": features.n_features,
            "fingerprint": _fingerprint(
                texts, labels, weight,
                [self._settings_for_save(), _VECTORIZERS, lexicon_text, encoder is not None],
            ),
        }
        bar.close()
        return self

    def _folds(self, labels: Sequence[dict]) -> int:
        """Folds of the internal cross-validation: fewer when a sector has few reports; 0: none."""
        counts: dict[str, int] = {}
        for lab in labels:
            counts[str(lab.get("sector"))] = counts.get(str(lab.get("sector")), 0) + 1
        folds = min(self.cv_folds, min(counts.values()))
        return folds if folds >= 2 else 0

    @staticmethod
    def _make_encoder(encoder: Any) -> Any:
        """``None``, an object with ``encode`` as given, or a folder path loaded as Encoder."""
        if not isinstance(encoder, str | os.PathLike):
            return encoder
        from classifier.encoder import Encoder  # torch is imported only when asked for

        return Encoder(encoder)

    @staticmethod
    def _embed_training(encoder: Any, texts: Sequence[str]) -> np.ndarray:
        clean = [normalize(t) for t in texts]
        stripped = [strip_marks(t) for t in clean]
        return np.vstack([_encode(encoder, clean), _encode(encoder, stripped)])

    def _fit_heads(self, X, E, targets, weight, rows: np.ndarray) -> dict[str, _Head]:
        """Fit every head on the reports in ``rows`` that carry its label."""
        heads: dict[str, _Head] = {}
        for name, (mask, y) in targets.items():
            use = mask & rows
            if not use.any():
                continue
            heads[name] = _Head.fit(X[use], y[use], weight[use], self.alpha)
            if E is not None and name in CATEGORIES:
                both = np.concatenate([use, use])
                heads[f"enc:{name}"] = _Head.fit(
                    E[both], np.concatenate([y, y])[both], np.concatenate([weight, weight])[both],
                    self.alpha,
                )
        return heads

    def _out_of_fold(self, X, E, targets, weight, labels, folds, bar) -> dict[str, tuple]:
        """Per head ``(classes, decisions)`` for every report, from models that did not see it.

        A head whose folds did not all see the same classes (tiny data) is left out: its
        decisions cannot be lined up, and it keeps an uncalibrated softmax/sigmoid.
        """
        if not folds:
            return {}
        n = X.shape[0]
        from sklearn.model_selection import StratifiedKFold

        strata = np.array([str(lab.get("sector")) for lab in labels])
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        oof: dict[str, tuple[list, np.ndarray]] = {}
        broken: set[str] = set()
        for train_idx, val_idx in splitter.split(np.zeros(n), strata):
            rows = np.zeros(n, bool)
            rows[train_idx] = True
            for name, head in self._fit_heads(X, E, targets, weight, rows).items():
                inputs = E[:n] if name.startswith("enc:") else X
                classes, decisions = oof.setdefault(
                    name, (head.classes, np.zeros((n, head.coef.shape[0])))
                )
                if classes != head.classes:
                    broken.add(name)
                    continue
                decisions[val_idx] = head.decision(inputs[val_idx])
            bar.update(1)
        return {name: value for name, value in oof.items() if name not in broken}

    def _mix(self, probs: dict[str, np.ndarray]) -> None:
        """Average the encoder heads' probabilities into the lexical ones (in place)."""
        for name in CATEGORIES:
            enc = probs.pop(f"enc:{name}", None)
            if enc is not None and name in probs:
                probs[name] = (1 - self.encoder_weight) * probs[name] + self.encoder_weight * enc

    def _thresholds(self, probs, targets, lexicon_scores) -> dict[str, Any]:
        th: dict[str, Any] = {"crime": 0.5, "review": 0.5, "flags": {}, "min_confidence": 0.0}
        if "crime" in probs:
            mask, y = targets["crime"]
            combined = np.maximum(probs["crime"][:, -1], lexicon_scores)[mask]
            positives = np.sort(combined[y[mask].astype(bool)])
            if len(positives):
                k = int(np.floor((1.0 - self.crime_recall) * len(positives)))
                # Never above the lexicon's weight for a "strong" phrase (one that alone is a
                # sign of the crime): such a phrase must always raise the flag.
                th["crime"] = float(np.clip(positives[k], 0.05, _STRONG_LEXICON_WEIGHT))
        for name in [f"flag:{f}" for f in FLAGS] + ["review"]:
            if name not in probs:
                continue
            mask, y = targets[name]
            value = _best_f1_threshold(probs[name][mask, -1], y[mask].astype(bool))
            if name == "review":
                th["review"] = value
            else:
                th["flags"][name.split(":", 1)[1]] = value
        th["min_confidence"] = float(self.min_confidence)
        return th

    # ================================================================== predict
    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Per head, calibrated probabilities for ``texts``.

        Category heads (``sector``, ``report_type``, ``subject``): ``(n, len(classes_[head]))``
        arrays, columns in :attr:`classes_` order. Binary heads (``crime`` — the model part of
        the crime-sign score, before the lexicon — ``flag:<code>`` and ``review``): ``(n,)``
        probabilities of True.
        """
        check_is_fitted(self)
        return self._proba([normalize(t) if isinstance(t, str) else "" for t in texts])

    def _proba(self, clean: list[str]) -> dict[str, np.ndarray]:
        """:meth:`predict_proba` of texts already passed through ``normalize``."""
        X = self.features_.transform([fold(t) for t in clean])
        # All lexical heads in one sparse product (one per head costs more than the product).
        coef, intercept, columns = self.stacked_heads_
        D = np.asarray(X @ coef.T, dtype=np.float64) + intercept
        E = None
        if self.encoder_ is not None:
            E = _encode(self.encoder_, clean)
        probs: dict[str, np.ndarray] = {}
        for name, head in self.heads_.items():
            if name in columns:
                start, stop = columns[name]
                probs[name] = head.full(D[:, start:stop], _codes(name, head))
            elif E is not None:  # an encoder head ("enc:<name>")
                probs[name] = head.full(head.decision(E), _codes(name.removeprefix("enc:"), head))
        self._mix(probs)
        out: dict[str, np.ndarray] = {}
        for name, codes in CATEGORIES.items():
            out[name] = probs.get(name, np.full((len(clean), len(codes)), 1.0 / len(codes)))
        for name, p in probs.items():
            if name not in CATEGORIES:
                out[name] = p[:, -1]
        return out

    @property
    def classes_(self) -> dict[str, tuple[str, ...]]:
        """Column order of :meth:`predict_proba` for the category heads."""
        check_is_fitted(self)
        return dict(CATEGORIES)

    def predict(self, items: Iterable[dict[str, Any] | str]) -> list[dict[str, Any]]:
        """One result dict per item, same order (the JSON contract of docs/classifier.md).

        An item is ``{"id", "text", ...}`` (other keys — ``report_type``, ``reporter_role``,
        ``province_code`` — are accepted and not used) or a plain string.
        """
        check_is_fitted(self)
        items = [{"text": it} if isinstance(it, str) else dict(it) for it in items]
        texts = [it.get("text") if isinstance(it.get("text"), str) else "" for it in items]
        if not items:
            return []
        clean = [normalize(t) for t in texts]
        proba = self._proba(clean)
        results = []
        for i, item in enumerate(items):
            row = {name: values[i] for name, values in proba.items()}
            results.append(self._result(item.get("id"), texts[i], clean[i], row))
        return results

    def _result(self, item_id: Any, text: str, clean: str, row: dict[str, Any]) -> dict[str, Any]:
        th = self.thresholds_
        share, letters = vietnamese_share(clean)
        words = len(clean.split())
        blank = letters == 0  # empty, digits, punctuation or emoji only
        categories = {}
        for name, codes in CATEGORIES.items():
            p = row[name]
            if blank:
                # Nothing to read: the taxonomy sends it to "other" for a person to look at.
                p = np.array([1.0 if c == _BLANK_DEFAULT[name] else 0.0 for c in codes])
            categories[name] = _ranked(codes, p)

        articles = [] if blank else self._articles(text)
        model_score = 0.0 if blank else float(row.get("crime", 0.0))
        # The same lexicon score the threshold was tuned with (see fit).
        lexicon_score = self.lexicon_.score(text) if articles else 0.0
        raw = max(model_score, lexicon_score)
        flag = (not blank) and raw >= th["crime"]
        crime = {
            "flag": bool(flag),
            "score": round(_calibrate(raw, th["crime"]), 4),
            "articles": articles if flag else [],
        }

        flags: list[str] = []
        if not blank:
            for code in FLAGS:
                if row.get(f"flag:{code}", 0.0) >= th["flags"].get(code, 0.5):
                    flags.append(code)
            subject = categories["subject"]["code"]
            if subject in ("judicial_officer", "party_member") and subject not in flags:
                flags.append(subject)  # the flag says what the subject says
            if flag and "corruption" not in flags and any(
                a["article"] in _CORRUPTION_ARTICLES for a in articles
            ):
                flags.append("corruption")
            flags.sort(key=FLAGS.index)

        needs_review = bool(
            blank
            or words < _MIN_WORDS
            or share < _MIN_VIETNAMESE_SHARE
            or row.get("review", 0.0) >= th["review"]
            or categories["sector"]["score"] < th["min_confidence"]
        )
        return {
            "id": item_id,
            "sector": categories["sector"],
            "report_type": categories["report_type"],
            "subject": categories["subject"],
            "crime_signs": crime,
            "flags": flags,
            "needs_review": needs_review,
            "model": {"name": MODEL_NAME, "version": self.version_},
        }

    def _articles(self, text: str) -> list[dict[str, Any]]:
        """Lexicon articles with evidence re-based on ``text`` exactly as given."""
        found = self.lexicon_.find(text)
        if not found:
            return []
        offsets = nfc_to_input_offsets(text)
        out = []
        for art in found:
            evidence = []
            for ev in art["evidence"]:
                start, end = offsets[ev["start"]], offsets[ev["end"]]
                evidence.append({"text": text[start:end], "start": start, "end": end})
            out.append({"article": art["article"], "name": art["name"], "evidence": evidence})
        return out

    @property
    def version_(self) -> str:
        """``MODEL_VERSION+<fingerprint of the training data>``: equal models, equal versions."""
        check_is_fitted(self)
        return f"{MODEL_VERSION}+{self.training_['fingerprint'][:8]}"

    # ================================================================== persistence
    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the model to ``path`` (default :func:`default_model_dir`); returns the path.

        The folder is written next to the target and renamed into place, so a reader never sees
        a half-written model. Contents: ``model.json`` (settings, classes, thresholds,
        vocabulary), ``weights.npz`` (arrays) and the crime lexicon it was tuned with.
        """
        check_is_fitted(self)
        target = Path(path) if path is not None else default_model_dir()
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            terms, arrays = self.features_.get_state()
            heads = {}
            for name, head in self.heads_.items():
                arrays.update(head.arrays(name))
                heads[name] = {"classes": head.classes, "calibration": head.calibration}
            meta = {
                "name": MODEL_NAME,
                "version": self.version_,
                "format": FORMAT_VERSION,
                "settings": self._settings_for_save(),
                "encoder": self._encoder_path_for_save(target),
                "heads": heads,
                "thresholds": self.thresholds_,
                "training": self.training_,
                "lexicon": {"file": _LEXICON_FILE, "version": self.lexicon_.version},
                "terms": terms,
            }
            (staging / _MODEL_FILE).write_text(
                json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
            np.savez_compressed(staging / _WEIGHTS_FILE, **arrays)
            (staging / _LEXICON_FILE).write_text(self.lexicon_text_, encoding="utf-8")
            _replace_dir(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def _settings_for_save(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "cv_folds": self.cv_folds,
            "crime_recall": self.crime_recall,
            "min_confidence": self.min_confidence,
            "encoder_weight": self.encoder_weight,
            "random_state": self.random_state,
        }

    def _encoder_path_for_save(self, target: Path) -> str | None:
        if self.encoder_ is None:
            return None
        folder = getattr(self.encoder_, "path", None)
        if folder is None:
            raise ValueError("cannot save a model whose encoder has no folder (encoder.path)")
        folder = Path(folder).resolve()
        try:  # relative to the model folder when possible, so both can move together
            return os.path.relpath(folder, target.resolve())
        except ValueError:  # pragma: no cover - different drives on Windows
            return str(folder)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, encoder: Any = None
    ) -> ReportClassifier:
        """Load a saved model (default folder: :func:`default_model_dir`).

        Raises :class:`ModelNotTrainedError` when the folder holds no model. ``encoder``
        replaces the encoder recorded in the model (for tests and custom deployments).
        """
        folder = Path(path) if path is not None else default_model_dir()
        meta_path = folder / _MODEL_FILE
        if not meta_path.is_file():
            raise ModelNotTrainedError(
                f"no trained classifier in {folder} (missing {_MODEL_FILE}); "
                "train one with `python -m classifier train`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{folder}: model format {meta.get('format')} is not {FORMAT_VERSION}; retrain it"
            )
        settings = dict(meta["settings"])
        model = cls(**settings, lexicon=folder / _LEXICON_FILE)
        with np.load(folder / _WEIGHTS_FILE, allow_pickle=False) as arrays:
            data = {k: arrays[k] for k in arrays.files}
        model.features_ = LexicalFeatures.from_state(meta["terms"], data)
        model.heads_ = {
            name: _Head.from_saved(head, data, name) for name, head in meta["heads"].items()
        }
        model.stacked_heads_ = _stack(model.heads_)
        model.lexicon_text_ = (folder / _LEXICON_FILE).read_text(encoding="utf-8")
        model.lexicon_ = CrimeLexicon.from_yaml(folder / _LEXICON_FILE)
        model.thresholds_ = meta["thresholds"]
        model.training_ = meta["training"]
        model.encoder_ = None
        if meta.get("encoder") is not None:
            if encoder is None:
                encoder = (folder / meta["encoder"]).resolve()
                if not encoder.is_dir():
                    raise ModelNotTrainedError(
                        f"the model in {folder} needs the encoder folder {encoder}, which is "
                        "missing; run `python -m classifier train --encoder` again"
                    )
            model.encoder = encoder
            model.encoder_ = model._make_encoder(encoder)
        return model


# ------------------------------------------------------------------------------ helpers
_BLANK_DEFAULT = {"sector": "other", "report_type": "petition", "subject": "none"}


def _targets(labels: Sequence[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per head: (mask of reports carrying the label, label array)."""
    targets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, codes in CATEGORIES.items():
        values = [lab.get(name) for lab in labels]
        bad = {v for v in values if v is not None and v not in codes}
        if bad:
            raise ValueError(f"unknown {name} codes {sorted(map(str, bad))}; see taxonomy.md")
        mask = np.array([v is not None for v in values])
        targets[name] = (mask, np.array([v or "" for v in values], dtype=object))
    crime = [lab.get("crime") for lab in labels]
    targets["crime"] = (
        np.array([isinstance(v, bool) for v in crime]),
        np.array([bool(v) for v in crime], dtype=object),
    )
    has_flags = np.array([isinstance(lab.get("flags"), list) for lab in labels])
    for code in FLAGS:
        y = np.array([code in (lab.get("flags") or []) for lab in labels], dtype=object)
        targets[f"flag:{code}"] = (has_flags.copy(), y)
    review = [lab.get("needs_review") for lab in labels]
    targets["review"] = (
        np.array([isinstance(v, bool) for v in review]),
        np.array([bool(v) for v in review], dtype=object),
    )
    # Heads without a single labelled report (e.g. flags when training on corrections only)
    # are left out; the category heads are always listed so that a missing one is an error.
    return {k: v for k, v in targets.items() if k in CATEGORIES or v[0].any()}


def _stack(heads: dict[str, _Head]) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
    """The lexical heads' weights in one matrix: (coef, intercept, columns of each head)."""
    coefs, intercepts, columns, start = [], [], {}, 0
    for name, head in heads.items():
        if name.startswith("enc:"):
            continue
        coefs.append(head.coef)
        intercepts.append(head.intercept)
        columns[name] = (start, start + head.coef.shape[0])
        start += head.coef.shape[0]
    return np.vstack(coefs), np.concatenate(intercepts), columns


def _codes(name: str, head: _Head) -> Sequence[Any]:
    """Output columns of a head: the taxonomy codes, or (False, True) for a binary head."""
    return CATEGORIES.get(name, (False, True))


def _best_f1_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    if y.sum() < 5:  # too few examples to tune on
        return 0.5
    best, best_f1 = 0.5, -1.0
    for t in _THRESHOLD_GRID:
        pred = scores >= t
        tp = float((pred & y).sum())
        f1 = 2 * tp / max(1.0, float(pred.sum() + y.sum()))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def _calibrate(score: float, threshold: float) -> float:
    """Map the combined crime score so that the decision threshold lands on 0.5."""
    if score < threshold:
        return 0.5 * score / threshold
    return 0.5 + 0.5 * (score - threshold) / max(1e-9, 1.0 - threshold)


def _ranked(codes: Sequence[str], p: np.ndarray) -> dict[str, Any]:
    order = sorted(range(len(codes)), key=lambda j: (-float(p[j]), j))
    ranked = [{"code": codes[j], "score": round(float(p[j]), 4)} for j in order]
    return {"code": ranked[0]["code"], "score": ranked[0]["score"], "ranked": ranked}


def _encode(encoder: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(encoder.encode(texts), dtype=np.float32)


def _read_lexicon(path: str | os.PathLike[str] | None) -> tuple[str, CrimeLexicon]:
    source = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    text = source.read_text(encoding="utf-8")
    return text, CrimeLexicon.from_yaml(source)


def _fingerprint(
    texts: Sequence[str], labels: Sequence[dict], weight: np.ndarray, config: Any
) -> str:
    """SHA-256 of everything that determines the fitted model: data, weights and settings."""
    digest = hashlib.sha256(MODEL_VERSION.encode())
    digest.update(json.dumps(config, sort_keys=True, ensure_ascii=False, default=str).encode())
    for text, label, w in zip(texts, labels, weight.tolist(), strict=True):
        digest.update(unicodedata.normalize("NFC", text).encode("utf-8"))
        digest.update(json.dumps(label, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(repr(w).encode())
    return digest.hexdigest()


def _replace_dir(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, replacing an existing model folder."""
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, target)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, desc="training", unit="step", leave=True)


__all__ = [
    "ReportClassifier",
    "ModelNotTrainedError",
    "default_model_dir",
    "check_is_fitted",
]
