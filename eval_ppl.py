"""Perplexity of the original and the fine-tuned GPT-2 on the English test songs.

Token-weighted over the whole test set (total NLL / predicted tokens); songs longer than the context are
scored with a sliding window. Also reports next-token accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import UserError, option, parse_args, run_main
from gpt2ft.evaluation import CompareArgs, compare_models
from gpt2ft.lyrics import LyricsDataArgs, load_lyrics, lyrics_document
from gpt2ft.metrics import perplexity
from gpt2ft.modeling import context_length

DEFAULTS = dict(original="gpt2", finetuned="output/lyrics", data="data/lyrics/lyrics-data.csv",
                results="results/lyrics.json", batch_size=8)


@dataclass
class WindowArgs:
    window: int = option(0, "tokens the model sees per window (0: the model's context)")
    stride: int = option(0, "new tokens scored per window after the first (0: half the window)")


def main(argv: Sequence[str] | None = None) -> dict:
    compare, data_args, window_args = parse_args([CompareArgs, LyricsDataArgs, WindowArgs], DEFAULTS, argv, __doc__)
    documents = [lyrics_document(song) for song in load_lyrics(data_args.data, data_args.test_rows).test]
    if not documents:
        raise UserError(f"{data_args.data}: no English songs in the last {data_args.test_rows} rows to score")

    def score(model, tokenizer, runtime) -> dict:
        window = window_args.window or context_length(model)
        stride = window_args.stride or max(1, window // 2)
        if window > context_length(model):
            raise UserError(f"--window {window} exceeds the model's context of {context_length(model)}")
        eos = tokenizer.eos_token_id
        ids = tokenizer(documents, add_special_tokens=False)["input_ids"]
        result = perplexity(model, [[eos, *doc, eos] for doc in ids], window, stride, runtime, compare.batch_size)
        print(f"{model.name_or_path}: PPL {result.ppl:.2f} over {result.tokens:,} tokens of {len(documents)} songs")
        return {"ppl": result.ppl, "ppl_tokens": result.tokens, "next_token_accuracy": result.accuracy,
                "ppl_songs": len(documents)}

    return compare_models(compare, score, {"data": data_args.data, "test_rows": data_args.test_rows})


if __name__ == "__main__":
    run_main(main)
