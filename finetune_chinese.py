"""Teach GPT-2 Chinese: People's Daily news (or any .txt / folder / .jsonl corpus, e.g. a novel) with the
bert-base-chinese tokenizer; GPT-2's embeddings are transplanted to the new vocabulary.

    python finetune_chinese.py                                         # People's Daily, English gpt2 weights
    python finetune_chinese.py --data novel.txt --stride 512 --output-dir output/novel
    python finetune_chinese.py --data novels/ --from-scratch --n-layer 6 --n-embd 384 --n-head 6
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.chinese import ChineseModelArgs, build_chinese_model
from gpt2ft.cli import option, parse_args, run_main
from gpt2ft.corpora import read_text_corpus
from gpt2ft.tokens import cache_location
from gpt2ft.training import TrainArgs, is_main_process, run_finetune, split_validation

DEFAULTS = dict(
    model="gpt2",
    tokenizer="bert-base-chinese",
    data="data/peoples_daily/peoples_daily.json",
    output_dir="output/chinese",
    epochs=1,
    block_size=1024,
    lr=1e-4,
    batch_size=4,
)


@dataclass
class TextDataArgs:
    data: str = option("data/peoples_daily/peoples_daily.json",
                       "People's Daily .json, a .txt file, a folder of .txt files, or .jsonl with a 'text' field")
    stride: int = option(0, "cut each document into overlapping windows starting every N tokens (0: pack)")
    cache_dir: str | None = option(None, "tokenization cache (default: .cache/ beside --data)")


def main(argv: Sequence[str] | None = None) -> dict:
    model_args, data_args, train_args = parse_args([ChineseModelArgs, TextDataArgs, TrainArgs], DEFAULTS, argv,
                                                   __doc__)
    documents, counts = read_text_corpus(data_args.data)
    if is_main_process():
        print("\n".join(f"{name}: {n}" for name, n in sorted(counts.items())) or "no records skipped")
        print(f"{len(documents)} documents, {sum(map(len, documents)):,} characters")
    train_docs, val_docs = split_validation(documents, train_args.val_songs, train_args.seed)
    return run_finetune(train_docs, val_docs, lambda runtime: build_chinese_model(model_args, runtime), train_args,
                        cache_location(data_args.data, data_args.cache_dir), stride=data_args.stride)


if __name__ == "__main__":
    run_main(main)
