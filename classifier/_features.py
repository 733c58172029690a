"""Lexical features: TF-IDF of word and character n-grams of the folded report.

Word unigrams and bigrams carry the vocabulary ("hoi lo", "so do", "ma tuy"); character n-grams
inside word boundaries (1–4) absorb typos, glued words and spelling variants. Both run on
:func:`classifier._text.model_text`, so a report typed without diacritics has the same features
as the accented one.

Vocabularies and IDF weights are learnt with scikit-learn's ``TfidfVectorizer``; the transform
is re-implemented here (same analyzers, sublinear TF, IDF, L2 norm per block — a unit test
checks it against scikit-learn) so that loading and using a model needs neither scikit-learn
nor pickle: importing scikit-learn alone costs about two seconds of CPU, and the fitted state is
plain data (term lists and IDF arrays, saved as JSON + ``.npz``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

# name -> TfidfVectorizer settings. min_df=2 drops terms seen in one report only (names,
# numbers, typos) which cannot generalise and would only let the model memorise reports.
# "weight" scales the block after its L2 normalisation: words count twice as much as character
# n-grams (5-fold CV on the training split, 3,373 reports: sector macro-F1 0.797 against 0.786
# with equal weights, report type 0.836 against 0.828; docs/classifier.md).
_VECTORIZERS: dict[str, dict[str, Any]] = {
    "word": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2, "weight": 2.0},
    "char": {"analyzer": "char_wb", "ngram_range": (1, 4), "min_df": 2, "weight": 1.0},
}
# scikit-learn's default token pattern: words of two or more word characters.
_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES_RE = re.compile(r"\s\s+")


def _word_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    tokens = _TOKEN_RE.findall(text)
    low, high = ngram_range
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend([" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)])
    return grams


def _char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside words padded with one space (scikit-learn's ``char_wb``)."""
    low, high = ngram_range
    grams: list[str] = []
    for word in _WHITE_SPACES_RE.sub(" ", text).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:  # a short word counts once, as a whole
                grams.append(padded)
                break
            grams.extend([padded[i : i + n] for i in range(size - n + 1)])
    return grams


_ANALYZERS = {"word": _word_ngrams, "char_wb": _char_wb_ngrams}


class _Block:
    """One fitted TF-IDF block: vocabulary, IDF weights and its analyzer."""

    def __init__(self, settings: dict[str, Any], terms: list[str], idf: np.ndarray) -> None:
        self.analyzer = _ANALYZERS[settings["analyzer"]]
        self.ngram_range = tuple(settings["ngram_range"])
        self.terms = terms
        self.vocabulary = {term: i for i, term in enumerate(terms)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weight = float(settings.get("weight", 1.0))

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        values: list[float] = []
        vocabulary = self.vocabulary
        for text in texts:
            # Count every n-gram first, then look up the distinct ones only.
            found = [
                (vocabulary[g], c)
                for g, c in Counter(self.analyzer(text, self.ngram_range)).items()
                if g in vocabulary
            ]
            cols = np.array([j for j, _ in found], dtype=np.int64)
            tf = np.array([c for _, c in found], dtype=np.float64)
            weights = (1.0 + np.log(tf)) * self.idf[cols] if len(cols) else tf
            norm = np.sqrt(np.dot(weights, weights))
            if norm > 0:
                weights = weights * (self.weight / norm)
            order = np.argsort(cols)
            indices.extend(cols[order].tolist())
            values.extend(weights[order].tolist())
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
            shape=(len(texts), len(self.terms)),
        )


class LexicalFeatures:
    """Fit on model texts (:func:`~classifier._text.model_text`), transform to a CSR matrix."""

    def __init__(self) -> None:
        self.blocks_: dict[str, _Block] = {}

    def fit(self, texts: Sequence[str]) -> LexicalFeatures:
        """Learn vocabularies and IDF weights from ``texts``; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # training only

        self.blocks_ = {}
        for name, settings in _VECTORIZERS.items():
            tfidf_settings = {k: v for k, v in settings.items() if k != "weight"}
            vectorizer = TfidfVectorizer(lowercase=False, sublinear_tf=True, **tfidf_settings)
            vectorizer.fit(texts)
            terms = vectorizer.get_feature_names_out().tolist()
            self.blocks_[name] = _Block(settings, terms, vectorizer.idf_)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """``(len(texts), n_features)`` float32 CSR matrix; each block is L2-normalised."""
        return sp.hstack(
            [block.transform(texts) for block in self.blocks_.values()], format="csr"
        )

    @property
    def n_features(self) -> int:
        """Number of columns :meth:`transform` returns."""
        return sum(len(block.terms) for block in self.blocks_.values())

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
        """``(terms, arrays)``: terms per block in column order, and their IDF arrays."""
        terms = {name: block.terms for name, block in self.blocks_.items()}
        arrays = {f"idf_{name}": block.idf for name, block in self.blocks_.items()}
        return terms, arrays

    @classmethod
    def from_state(
        cls, terms: dict[str, list[str]], arrays: dict[str, np.ndarray]
    ) -> LexicalFeatures:
        """Rebuild fitted features from :meth:`get_state` output."""
        features = cls()
        for name, settings in _VECTORIZERS.items():
            features.blocks_[name] = _Block(settings, terms[name], arrays[f"idf_{name}"])
        return features
