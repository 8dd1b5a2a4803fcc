"""BERTScore of lyrics continuations: original vs fine-tuned GPT-2 on the English test songs (published protocol).

For each test song: reference = its last stanza; input = the prompt line, a blank line, every stanza but the
last and a newline. The model continues the input (seeded top-k sampling, batched, KV cache), the text is cut
at the first blank line and scored against the reference. BLEU-4, ROUGE-L and distinct-1/2 come from the same
generations.
"""
from __future__ import annotations

from typing import Sequence

from gpt2ft.cli import parse_args, run_main
from gpt2ft.evaluation import CompareArgs, ScorerArgs, compare_continuations
from gpt2ft.generation import DecodingArgs
from gpt2ft.lyrics import LyricsDataArgs, continuation_sample, load_lyrics

DEFAULTS = dict(original="gpt2", finetuned="output/lyrics", data="data/lyrics/lyrics-data.csv",
                results="results/lyrics.json", max_new_tokens=100, top_k=50, top_p=1.0, temperature=1.0,
                bertscore_model="bert-base-uncased", lang="en")


def main(argv: Sequence[str] | None = None) -> dict:
    compare, data_args, decoding, scorer = parse_args([CompareArgs, LyricsDataArgs, DecodingArgs, ScorerArgs],
                                                      DEFAULTS, argv, __doc__)
    songs = load_lyrics(data_args.data, data_args.test_rows).test
    return compare_continuations(compare, decoding, scorer, songs, [continuation_sample(s) for s in songs],
                                 data_args.data)


if __name__ == "__main__":
    run_main(main)
