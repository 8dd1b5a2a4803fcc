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
class Blocks:
    """Model inputs and next-token targets of shape [rows, block_size]; targets are IGNORE_INDEX where no loss."""

    inputs: torch.Tensor
    targets: torch.Tensor
    documents: int
    tokens: int

    def __len__(self) -> int:
        return self.inputs.shape[0]

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
