"""Data report: documents, tokens, blocks and useful-token ratio of the packed and padded layouts, and the
distribution of document lengths (printed and as a histogram PNG)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from gpt2ft.tokens import pack_blocks, pad_blocks


def published_ratio(docs: Sequence[list[int]], block: int) -> float:
    """The published layout: one document per row, truncated and padded to the block size."""
    return sum(min(len(doc), block - 1) for doc in docs) / (len(docs) * block)


def data_report(docs: Sequence[list[int]], eos: int, block: int, png: str | Path | None) -> dict:
    """Figures of one tokenized corpus under each layout."""
    packed = pack_blocks(docs, eos, eos, block)
    padded = pad_blocks(docs, eos, eos, eos, block)
    lengths = sorted(len(doc) for doc in docs)
    report = {
        "documents": len(docs), "tokens": sum(lengths), "block_size": block,
        "packed_blocks": len(packed), "packed_useful_ratio": packed.useful_ratio,
        "padded_rows": len(padded), "padded_useful_ratio": padded.useful_ratio,
        "published_useful_ratio": published_ratio(docs, block),
        "truncated_documents": sum(1 for n in lengths if n >= block),
        "length_min": lengths[0], "length_median": lengths[len(lengths) // 2], "length_max": lengths[-1],
        "length_mean": sum(lengths) / len(lengths),
    }
    if png:
        _histogram(lengths, block, Path(png))
        report["histogram"] = str(png)
    return report


def _histogram(lengths: Sequence[int], block: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=min(50, max(5, len(lengths) // 2)))
    ax.axvline(block, color="red", linestyle="--", label=f"block size {block}")
    ax.set_xlabel("tokens per document")
    ax.set_ylabel("documents")
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
