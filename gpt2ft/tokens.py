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


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash that changes whenever the tokenizer would split text differently."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    state = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _encode(texts: Sequence[str], tokenizer, desc: str) -> list[list[int]]:
    ids: list[list[int]] = []
    for start in tqdm(range(0, len(texts), TOKENIZE_BATCH), desc=desc, unit="batch", disable=len(texts) < 5000):
        batch = list(texts[start:start + TOKENIZE_BATCH])
        ids.extend(tokenizer(batch, add_special_tokens=False, verbose=False)["input_ids"])
    return ids


def tokenize_documents(texts: Sequence[str], tokenizer, cache_dir: str | Path | None = None,
                       desc: str = "tokenizing") -> list[list[int]]:
    """Token ids of each text, read from cache_dir when the same texts were tokenized the same way before."""
    if cache_dir is None:
        return _encode(texts, tokenizer, desc)
    path = Path(cache_dir) / f"tokens-{tokenizer_fingerprint(tokenizer)}-{_texts_fingerprint(texts)}.pt"
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        return [chunk.tolist() for chunk in torch.split(cached["ids"], cached["lengths"].tolist())]
    ids = _encode(texts, tokenizer, desc)
    flat = torch.tensor([t for doc in ids for t in doc], dtype=torch.int32)
    atomic_torch_save({"ids": flat, "lengths": torch.tensor([len(d) for d in ids])}, path)
    return ids


def pack_blocks(docs: Sequence[Sequence[int]], eos_id: int, block_size: int) -> Blocks:
    """Concatenate documents with EOS before and after each, cut into full blocks; the last one is padded."""
    eos = torch.tensor([eos_id], dtype=torch.long)
    pieces = [eos]
    for doc in docs:
        pieces.extend((torch.as_tensor(doc, dtype=torch.long), eos))
    data = torch.cat(pieces)
    predicted = len(data) - 1
    rows = max(1, -(-predicted // block_size))
    inputs = torch.full((rows * block_size,), eos_id, dtype=torch.long)
    targets = torch.full((rows * block_size,), IGNORE_INDEX, dtype=torch.long)
    inputs[:predicted] = data[:-1]
    targets[:predicted] = data[1:]
    return Blocks(inputs.view(rows, block_size), targets.view(rows, block_size), len(docs), len(data))


def pad_blocks(docs: Sequence[Sequence[int]], eos_id: int, pad_id: int, block_size: int) -> Blocks:
    """One document per row (long ones continue on the next rows), padded to block_size, padding out of the loss."""
    inputs, targets = [], []
    tokens = 0
    for doc in docs:
        seq = [eos_id, *doc, eos_id]
        tokens += len(seq)
        for start in range(0, len(seq) - 1, block_size):
            piece = seq[start:start + block_size + 1]
            n = len(piece) - 1
            row_in = torch.full((block_size,), pad_id, dtype=torch.long)
            row_out = torch.full((block_size,), IGNORE_INDEX, dtype=torch.long)
            row_in[:n] = torch.tensor(piece[:-1])
            row_out[:n] = torch.tensor(piece[1:])
            inputs.append(row_in)
            targets.append(row_out)
    if not inputs:
        return Blocks(torch.empty(0, block_size, dtype=torch.long), torch.empty(0, block_size, dtype=torch.long), 0, 0)
    return Blocks(torch.stack(inputs), torch.stack(targets), len(docs), tokens)


def make_blocks(docs: Sequence[Sequence[int]], tokenizer, block_size: int, pack: bool = True) -> Blocks:
    """Packed blocks (default) or padded one-document rows, using the tokenizer's EOS and pad ids."""
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise ValueError("the tokenizer has no EOS token to separate documents")
    if pack:
        return pack_blocks(docs, eos_id, block_size)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    return pad_blocks(docs, eos_id, pad_id, block_size)
