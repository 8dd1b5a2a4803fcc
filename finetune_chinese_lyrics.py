"""Fine-tune the Chinese GPT-2 (uer/gpt2-chinese-cluecorpussmall) on the Chinese-Lyric-Corpus.

The last 10 artists in sorted order are held out for eval_bertScore_chinese.py and eval_ppl.py.

    python finetune_chinese_lyrics.py --data data/chinese_lyrics/Chinese_Lyrics.zip
"""
from __future__ import annotations

from typing import Sequence

from gpt2ft.chinese import (
    ChineseLyricsDataArgs,
    ChineseModelArgs,
    build_chinese_model,
    chinese_lyrics_document,
    load_chinese_lyrics,
)
from gpt2ft.cli import parse_args, run_main
from gpt2ft.training import TrainArgs, is_main_process, run_finetune, split_validation

DEFAULTS = dict(
    model="uer/gpt2-chinese-cluecorpussmall",
    tokenizer=None,
    data="data/chinese_lyrics",
    output_dir="output/chinese_lyrics",
    epochs=1,
    block_size=1024,
    lr=5e-5,
    batch_size=4,
)


def main(argv: Sequence[str] | None = None) -> dict:
    model_args, data_args, train_args = parse_args([ChineseModelArgs, ChineseLyricsDataArgs, TrainArgs], DEFAULTS,
                                                   argv, __doc__)
    split = load_chinese_lyrics(data_args.data, data_args.test_artists)
    if is_main_process():
        print(split.report())
    documents = [chinese_lyrics_document(song) for song in split.train]
    train_docs, val_docs = split_validation(documents, train_args.val_songs, train_args.seed)
    return run_finetune(train_docs, val_docs, lambda runtime: build_chinese_model(model_args, runtime), train_args,
                        data_args.resolved_cache_dir())


if __name__ == "__main__":
    run_main(main)
