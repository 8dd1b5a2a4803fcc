"""BERTScore of lyrics continuations: original vs fine-tuned GPT-2 on the English test songs (published protocol).

For each test song: reference = its last stanza; input = the prompt line, a blank line, every stanza but the
last and a newline. The model continues the input (seeded top-k sampling, batched, KV cache), the text is cut
at the first blank line and scored against the reference. BLEU-4, ROUGE-L and distinct-1/2 come from the same
generations.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import UserError, option, parse_args, run_main
from gpt2ft.evaluation import CompareArgs, compare_models
from gpt2ft.generation import DecodingArgs, cut_at_paragraph, generate_texts
from gpt2ft.lyrics import LyricsDataArgs, continuation_sample, load_lyrics
from gpt2ft.metrics import BertScoreArgs, bertscore, bleu4, distinct_n, rouge_l
from gpt2ft.modeling import context_length, seed_everything

DEFAULTS = dict(original="gpt2", finetuned="output/lyrics", data="data/lyrics/lyrics-data.csv",
                results="results/lyrics.json", max_new_tokens=100, top_k=50, top_p=1.0, temperature=1.0)


@dataclass
class ScorerArgs:
    bertscore_model: str = option("bert-base-uncased", "encoder for bert-score (hub id or local folder)")
    num_layers: int | None = option(None, "encoder layer to use (default: bert-score's choice for the model)")
    lang: str = option("en", "language passed to bert-score")
    rescale_with_baseline: bool = option(False, "rescale scores with bert-score's baseline for the model")
    idf: bool = option(False, "weight tokens by idf computed on the references")
    bertscore_batch_size: int = option(64, "pairs per bert-score batch")


def main(argv: Sequence[str] | None = None) -> dict:
    compare, data_args, decoding, scorer = parse_args([CompareArgs, LyricsDataArgs, DecodingArgs, ScorerArgs],
                                                      DEFAULTS, argv, __doc__)
    songs = load_lyrics(data_args.data, data_args.test_rows).test
    samples = [s for s in map(continuation_sample, songs) if s is not None]
    print(f"{len(songs)} English test songs, {len(songs) - len(samples)} with a single stanza left out")
    if not samples:
        raise UserError(f"{data_args.data}: no test song has two stanzas to score")
    score_args = BertScoreArgs(scorer.bertscore_model, scorer.num_layers, scorer.lang, scorer.rescale_with_baseline,
                               scorer.idf, scorer.bertscore_batch_size)
    print(f"decoding: {decoding.describe()}")

    def score(model, tokenizer, runtime) -> dict:
        limit = context_length(model) - decoding.max_new_tokens
        encoded = [tokenizer(s.input, add_special_tokens=False)["input_ids"] for s in samples]
        kept = [(s, ids) for s, ids in zip(samples, encoded) if len(ids) <= limit]
        print(f"{model.name_or_path}: {len(samples) - len(kept)} songs dropped because input + "
              f"{decoding.max_new_tokens} new tokens exceed the context of {context_length(model)}")
        if not kept:
            raise UserError("every test song is longer than the context allows: lower --max-new-tokens")
        seed_everything(decoding.seed)
        texts = generate_texts(model, tokenizer, [ids for _, ids in kept], decoding.generate_kwargs(), runtime,
                               compare.batch_size, stop_at_paragraph=True)
        candidates = [cut_at_paragraph(t) for t in texts]
        references = [s.reference for s, _ in kept]
        p, r, f, hash_code = bertscore(candidates, references, score_args, str(runtime.device))
        print(f"bert-score hash: {hash_code}", file=sys.stderr)
        n = len(candidates)
        return {"precision": sum(p) / n, "recall": sum(r) / n, "f1": sum(f) / n, "bertscore_samples": n,
                "empty_generations": sum(1 for c in candidates if not c.strip()),
                "dropped_too_long": len(samples) - n, "bleu4": bleu4(candidates, references),
                "rougeL": rouge_l(candidates, references), "distinct1": distinct_n(candidates, 1),
                "distinct2": distinct_n(candidates, 2), "bertscore_hash": hash_code,
                "examples": [{"title": s.title, "generated": c, "reference": s.reference}
                             for (s, _), c in zip(kept[:3], candidates[:3])]}

    settings = {"data": data_args.data, "test_rows": data_args.test_rows, "decoding": decoding.describe(),
                "bertscore_model": scorer.bertscore_model, "num_layers": scorer.num_layers}
    return compare_models(compare, score, settings)


if __name__ == "__main__":
    run_main(main)
