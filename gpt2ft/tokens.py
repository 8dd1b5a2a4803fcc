"""Tokenization with an on-disk cache, and the two training layouts: packed blocks and one document per row."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from .files import atomic_torch_save

IGNORE_INDEX = -100
TOKENIZE_BATCH = 1000


@dataclass
class Batch:
    """One batch on its way to the model: inputs, next-token targets, optional token types (speakers)."""

    inputs: torch.Tensor
    targets: torch.Tensor
    token_types: torch.Tensor | None = None

    def to(self, device: torch.device) -> "Batch":
        types = None if self.token_types is None else self.token_types.to(device, non_blocking=True)
        return Batch(self.inputs.to(device, non_blocking=True), self.targets.to(device, non_blocking=True), types)


def pad_batch(items: Sequence[tuple], pad_id: int) -> Batch:
    """Right-pad (inputs, targets, token_types or None) rows to the longest; padding carries no loss."""
    width = max(len(item[0]) for item in items)
    inputs = torch.full((len(items), width), pad_id, dtype=torch.long)
    targets = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
    with_types = items[0][2] is not None
    types = torch.full((len(items), width), pad_id, dtype=torch.long) if with_types else None
    for row, (x, y, t) in enumerate(items):
        inputs[row, :len(x)] = torch.as_tensor(x)
        targets[row, :len(y)] = torch.as_tensor(y)
        if with_types:
            types[row, :len(t)] = torch.as_tensor(t)
    return Batch(inputs, targets, types)


@dataclass
class Examples:
    """Variable-length training examples, padded per batch to the longest one (dialogues)."""

    items: list[tuple]
    pad_id: int
    documents: int

    def __len__(self) -> int:
        return len(self.items)

    def batch(self, rows: torch.Tensor) -> Batch:
        return pad_batch([self.items[i] for i in rows.tolist()], self.pad_id)

    @property
    def tokens(self) -> int:
        return sum(len(item[0]) + 1 for item in self.items)

    @property
    def loss_tokens(self) -> int:
        return sum(sum(1 for t in item[1] if t != IGNORE_INDEX) for item in self.items)

    @property
    def useful_ratio(self) -> float:
        """Loss-bearing positions divided by all example positions (before per-batch padding)."""
        return self.loss_tokens / max(1, sum(len(item[0]) for item in self.items))

    def summary(self, name: str) -> str:
        return (f"{name}: {self.documents} dialogues, {len(self)} examples, {self.tokens} tokens, "
                f"share of positions with loss {self.useful_ratio:.4f}")


@dataclass
class Blocks:
    """Model inputs and next-token targets of shape [rows, block_size]; targets are IGNORE_INDEX where no loss."""

    inputs: torch.Tensor
    targets: torch.Tensor
    documents: int
    tokens: int

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def batch(self, rows: torch.Tensor) -> Batch:
        return Batch(self.inputs[rows], self.targets[rows])

    @property
    def loss_tokens(self) -> int:
        return int((self.targets != IGNORE_INDEX).sum())

    @property
    def useful_ratio(self) -> float:
        """Loss-bearing tokens divided by positions processed."""
        return self.loss_tokens / max(1, self.targets.numel())

    def summary(self, name: str) -> str:
        return (f"{name}: {self.documents} documents, {self.tokens} tokens, {len(self)} blocks of "
                f"{self.inputs.shape[1]}, useful-token ratio {self.useful_ratio:.4f}")


def cache_location(data: str, cache_dir: str | None) -> Path:
    """Where tokenized copies of --data are cached: --cache-dir, else .cache/ beside the data."""
    return Path(cache_dir) if cache_dir else Path(data).parent / ".cache"


def _texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _encode(texts: Sequence[str], codec, desc: str) -> list[list[int]]:
    ids: list[list[int]] = []
    for start in tqdm(range(0, len(texts), TOKENIZE_BATCH), desc=desc, unit="batch", disable=len(texts) < 5000):
        ids.extend(codec.encode_batch(texts[start:start + TOKENIZE_BATCH]))
    return ids


def tokenize_documents(texts: Sequence[str], codec, cache_dir: str | Path | None = None,
                       desc: str = "tokenizing") -> list[list[int]]:
    """Token ids of each text, read from cache_dir when the same texts were tokenized the same way before."""
    if cache_dir is None:
        return _encode(texts, codec, desc)
    path = Path(cache_dir) / f"tokens-{codec.fingerprint()}-{_texts_fingerprint(texts)}.pt"
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        return [chunk.tolist() for chunk in torch.split(cached["ids"], cached["lengths"].tolist())]
    ids = _encode(texts, codec, desc)
    flat = torch.tensor([t for doc in ids for t in doc], dtype=torch.int32)
    atomic_torch_save({"ids": flat, "lengths": torch.tensor([len(d) for d in ids])}, path)
    return ids


def _framed(doc: Sequence[int], bos_id: int, eos_id: int) -> torch.Tensor:
    return torch.as_tensor([bos_id, *doc, eos_id], dtype=torch.long)


def pack_blocks(docs: Sequence[Sequence[int]], bos_id: int, eos_id: int, block_size: int) -> Blocks:
    """Concatenate documents framed as BOS doc EOS (one shared token where BOS == EOS, as in GPT-2) and cut the
    stream into full blocks; only the last block is padded."""
    pieces = [_framed(doc, bos_id, eos_id)[1 if i and bos_id == eos_id else 0:] for i, doc in enumerate(docs)]
    data = torch.cat(pieces) if pieces else torch.tensor([bos_id], dtype=torch.long)
    predicted = len(data) - 1
    rows = max(1, -(-predicted // block_size))
    inputs = torch.full((rows * block_size,), eos_id, dtype=torch.long)
    targets = torch.full((rows * block_size,), IGNORE_INDEX, dtype=torch.long)
    inputs[:predicted] = data[:-1]
    targets[:predicted] = data[1:]
    return Blocks(inputs.view(rows, block_size), targets.view(rows, block_size), len(docs), len(data))


def _rows(seq: torch.Tensor, block_size: int, step: int, pad_id: int) -> tuple[list, list]:
    """Rows of block_size inputs with next-token targets, starting every `step` tokens, padding out of the loss."""
    inputs, targets = [], []
    start = 0
    while True:
        piece = seq[start:start + block_size + 1]
        n = len(piece) - 1
        row_in = torch.full((block_size,), pad_id, dtype=torch.long)
        row_out = torch.full((block_size,), IGNORE_INDEX, dtype=torch.long)
        row_in[:n], row_out[:n] = piece[:-1], piece[1:]
        inputs.append(row_in)
        targets.append(row_out)
        if start + block_size + 1 >= len(seq):
            return inputs, targets
        start += step


def _stack(docs: Sequence[Sequence[int]], bos_id: int, eos_id: int, pad_id: int, block_size: int,
           step: int) -> Blocks:
    inputs, targets, tokens = [], [], 0
    for doc in docs:
        seq = _framed(doc, bos_id, eos_id)
        tokens += len(seq)
        rows_in, rows_out = _rows(seq, block_size, step, pad_id)
        inputs += rows_in
        targets += rows_out
    if not inputs:
        empty = torch.empty(0, block_size, dtype=torch.long)
        return Blocks(empty, empty.clone(), 0, 0)
    return Blocks(torch.stack(inputs), torch.stack(targets), len(docs), tokens)


def pad_blocks(docs: Sequence[Sequence[int]], bos_id: int, eos_id: int, pad_id: int, block_size: int) -> Blocks:
    """One document per row (long ones continue on the next rows), padded to block_size, padding out of the loss."""
    return _stack(docs, bos_id, eos_id, pad_id, block_size, block_size)


def window_blocks(docs: Sequence[Sequence[int]], bos_id: int, eos_id: int, pad_id: int, block_size: int,
                  stride: int) -> Blocks:
    """Overlapping windows of block_size over each document, a new one every `stride` tokens (novels)."""
    if not 0 < stride <= block_size:
        raise ValueError("stride must be in 1..block_size")
    return _stack(docs, bos_id, eos_id, pad_id, block_size, stride)


def make_blocks(docs: Sequence[Sequence[int]], codec, block_size: int, pack: bool = True, stride: int = 0) -> Blocks:
    """Overlapping windows when stride > 0, else packed blocks (default) or padded one-document rows."""
    if stride:
        return window_blocks(docs, codec.bos_id, codec.eos_id, codec.pad_id, block_size, stride)
    if pack:
        return pack_blocks(docs, codec.bos_id, codec.eos_id, block_size)
    return pad_blocks(docs, codec.bos_id, codec.eos_id, codec.pad_id, block_size)
