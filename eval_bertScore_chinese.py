"""BERTScore of Chinese lyrics continuations: original vs fine-tuned Chinese GPT-2 on the held-out artists.

The English protocol applied to Chinese: reference = the last stanza (or the last quarter of the lines when a
song has no blank lines), input = the title line and the rest; seeded, batched generation cut at the first
blank line; bert-score with lang zh (bert-base-chinese, layer 8); BLEU-4 with sacrebleu's Chinese tokenizer,
ROUGE-L and distinct-n on characters.
"""
from __future__ import annotations

from typing import Sequence

from gpt2ft.chinese import ChineseLyricsDataArgs, characters, chinese_continuation_sample, load_chinese_lyrics
from gpt2ft.cli import parse_args, run_main
from gpt2ft.evaluation import CompareArgs, ScorerArgs, compare_continuations
from gpt2ft.generation import DecodingArgs

DEFAULTS = dict(original="uer/gpt2-chinese-cluecorpussmall", finetuned="output/chinese_lyrics",
                data="data/chinese_lyrics", results="results/chinese_lyrics.json", max_new_tokens=100, top_k=50,
                top_p=1.0, temperature=1.0, bertscore_model="bert-base-chinese", num_layers=8, lang="zh")


def main(argv: Sequence[str] | None = None) -> dict:
    compare, data_args, decoding, scorer = parse_args([CompareArgs, ChineseLyricsDataArgs, DecodingArgs,
                                                       ScorerArgs], DEFAULTS, argv, __doc__)
    songs = load_chinese_lyrics(data_args.data, data_args.test_artists).test
    return compare_continuations(compare, decoding, scorer, songs, [chinese_continuation_sample(s) for s in songs],
                                 data_args.data, bleu_tokenize="zh", rouge_tokenizer=characters)


if __name__ == "__main__":
    run_main(main)
