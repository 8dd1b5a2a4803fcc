"""Fine-tune GPT-2 on English song lyrics (Kaggle "Song lyrics from 79 musical genres").

    python finetune.py                                  # one GPU
    torchrun --nproc_per_node 2 finetune.py             # several GPUs
"""
from __future__ import annotations

from typing import Sequence

from gpt2ft.cli import ModelArgs, parse_args, run_main
from gpt2ft.lyrics import LyricsDataArgs, load_lyrics, lyrics_document
from gpt2ft.modeling import load_model_and_tokenizer
from gpt2ft.training import TrainArgs, is_main_process, run_finetune, split_validation

DEFAULTS = dict(
    model="gpt2",
    data="data/lyrics/lyrics-data.csv",
    output_dir="output/lyrics",
    epochs=1,
    block_size=1024,
    lr=3e-5,
    batch_size=4,
)


def main(argv: Sequence[str] | None = None) -> dict:
    model_args, data_args, train_args = parse_args([ModelArgs, LyricsDataArgs, TrainArgs], DEFAULTS, argv, __doc__)
    split = load_lyrics(data_args.data, data_args.test_rows)
    if is_main_process():
        print(split.report())
    documents = [lyrics_document(song) for song in split.train]
    train_docs, val_docs = split_validation(documents, train_args.val_songs, train_args.seed)

    def build(runtime):
        return load_model_and_tokenizer(model_args.model, model_args.tokenizer, runtime)

    return run_finetune(train_docs, val_docs, build, train_args, data_args.resolved_cache_dir())


if __name__ == "__main__":
    run_main(main)
