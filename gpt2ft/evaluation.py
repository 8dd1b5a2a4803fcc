"""What the eval scripts share: which models to compare, and the loop that scores each and updates the table."""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .cli import UserError, option
from .codec import make_codec
from .generation import DecodingArgs, cut_at_paragraph, generate_texts
from .lyrics import ContinuationSample
from .metrics import BertScoreArgs, bertscore, bleu, distinct_n, perplexity, rouge_l
from .modeling import Runtime, context_length, load_model_and_tokenizer, pick_runtime, seed_everything
from .report import COLUMNS, publish, update_results


@dataclass
class CompareArgs:
    original: str = option("gpt2", "the model before fine-tuning (hub id or folder; empty: skip it)")
    finetuned: str = option("output/lyrics", "the fine-tuned model folder")
    tokenizer: str | None = option(None, "tokenizer for both models (default: each model's own)")
    results: str = option("results/lyrics.json", "JSON file the metrics are merged into (Markdown beside it)")
    batch_size: int = option(16, "sequences per forward pass or generation batch")


ScoreFn = Callable[[object, object, Runtime], dict]
"""score(model, codec, runtime) -> metrics of one model."""


def compare_models(args: CompareArgs, score: ScoreFn, settings: dict) -> dict:
    """Score the original and the fine-tuned model in turn, merge into --results, print the table."""
    runtime = pick_runtime()
    results: dict = {}
    for column, _ in COLUMNS:
        name = getattr(args, column)
        if not name:
            continue
        model, tokenizer = load_model_and_tokenizer(name, args.tokenizer, runtime)
        metrics = score(model, make_codec(tokenizer), runtime)
        del model
        gc.collect()
        if runtime.device.type == "cuda":
            torch.cuda.empty_cache()
        results = update_results(args.results, column, name, metrics, settings)
    publish(results, args.results)
    print(f"\nresults written to {args.results}")
    return results


@dataclass
class WindowArgs:
    window: int = option(0, "tokens the model sees per window (0: the model's context)")
    stride: int = option(0, "new tokens scored per window after the first (0: half the window)")


def perplexity_scorer(documents: Sequence[str], windows: WindowArgs, batch_size: int) -> ScoreFn:
    """Token-weighted PPL and next-token accuracy of each model on the documents (BOS doc EOS)."""

    def score(model, codec, runtime: Runtime) -> dict:
        context = context_length(model)
        window = windows.window or context
        if window > context:
            raise UserError(f"--window {window} exceeds the model's context of {context}")
        stride = windows.stride or max(1, window // 2)
        sequences = [[codec.bos_id, *ids, codec.eos_id] for ids in codec.encode_batch(documents)]
        result = perplexity(model, sequences, window, stride, runtime, batch_size)
        print(f"{model.name_or_path}: PPL {result.ppl:.2f} over {result.tokens:,} tokens of {len(documents)} texts")
        return {"ppl": result.ppl, "ppl_tokens": result.tokens, "next_token_accuracy": result.accuracy,
                "ppl_texts": len(documents)}

    return score


@dataclass
class ScorerArgs:
    bertscore_model: str = option("bert-base-uncased", "encoder for bert-score (hub id or local folder)")
    num_layers: int | None = option(None, "encoder layer to use (default: bert-score's choice for the model)")
    lang: str = option("en", "language passed to bert-score")
    rescale_with_baseline: bool = option(False, "rescale scores with bert-score's baseline for the model")
    idf: bool = option(False, "weight tokens by idf computed on the references")
    bertscore_batch_size: int = option(64, "pairs per bert-score batch")

    def bertscore_args(self) -> BertScoreArgs:
        return BertScoreArgs(self.bertscore_model, self.num_layers, self.lang, self.rescale_with_baseline,
                             self.idf, self.bertscore_batch_size)


def continuation_scorer(samples: Sequence[ContinuationSample], decoding: DecodingArgs, scorer: ScorerArgs,
                        batch_size: int, bleu_tokenize: str = "13a",
                        rouge_tokenizer: Callable[[str], list[str]] | None = None) -> ScoreFn:
    """Continue every sample's input (seeded, batched), cut at the first blank line, score against the reference."""

    def score(model, codec, runtime: Runtime) -> dict:
        context = context_length(model)
        encoded = codec.encode_batch([s.input for s in samples])
        kept = [(s, ids) for s, ids in zip(samples, encoded) if len(ids) + decoding.max_new_tokens <= context]
        print(f"{model.name_or_path}: {len(samples) - len(kept)} samples dropped because input + "
              f"{decoding.max_new_tokens} new tokens exceed the context of {context}")
        if not kept:
            raise UserError("every test sample is longer than the context allows: lower --max-new-tokens")
        seed_everything(decoding.seed)
        texts = generate_texts(model, codec, [ids for _, ids in kept], decoding.generate_kwargs(), runtime,
                               batch_size, stop_at_paragraph=True)
        candidates = [cut_at_paragraph(t) for t in texts]
        references = [s.reference for s, _ in kept]
        p, r, f, hash_code = bertscore(candidates, references, scorer.bertscore_args(), str(runtime.device))
        print(f"bert-score hash: {hash_code}")
        n = len(candidates)
        return {"precision": sum(p) / n, "recall": sum(r) / n, "f1": sum(f) / n, "bertscore_samples": n,
                "empty_generations": sum(1 for c in candidates if not c.strip()),
                "dropped_too_long": len(samples) - n, "bleu4": bleu(candidates, references, bleu_tokenize),
                "rougeL": rouge_l(candidates, references, rouge_tokenizer),
                "distinct1": distinct_n(candidates, 1, rouge_tokenizer),
                "distinct2": distinct_n(candidates, 2, rouge_tokenizer), "bertscore_hash": hash_code,
                "examples": [{"title": s.title, "generated": c, "reference": s.reference}
                             for (s, _), c in zip(kept[:3], candidates[:3])]}

    return score


def chat_perplexity_scorer(dialogues: Sequence[Sequence[str]], max_tokens: int, batch_size: int) -> ScoreFn:
    """PPL of a chat model on test dialogues, on the turns it was trained on (all, or the bot's).

    Dialogues are cut into examples of at most max_tokens (0: the model's context)."""
    from collections import Counter

    from .dialogue import ChatFormat, chat_examples, chat_settings
    from .metrics import score_items

    def score(model, codec, runtime: Runtime) -> dict:
        loss_on, with_types = chat_settings(model)
        context = context_length(model)
        size = min(max_tokens, context) if max_tokens else context
        examples = chat_examples(dialogues, ChatFormat(codec), size, loss_on, with_types, Counter())
        result = score_items(model, examples.items, runtime, batch_size)
        print(f"{model.name_or_path}: PPL {result.ppl:.2f} over {result.tokens:,} tokens ({loss_on} turns) of "
              f"{len(dialogues)} dialogues")
        return {"ppl": result.ppl, "ppl_tokens": result.tokens, "next_token_accuracy": result.accuracy,
                "ppl_texts": len(dialogues)}

    return score


def compare_continuations(compare: CompareArgs, decoding: DecodingArgs, scorer: ScorerArgs, songs: Sequence,
                          samples: Sequence[ContinuationSample | None], data: str, bleu_tokenize: str = "13a",
                          rouge_tokenizer: Callable[[str], list[str]] | None = None) -> dict:
    """The BERTScore protocol for both models on the songs that gave a sample; prints and saves the table."""
    kept = [s for s in samples if s is not None]
    print(f"{len(songs)} test songs, {len(songs) - len(kept)} too short to split into input and reference")
    if not kept:
        raise UserError(f"{data}: no test song can be split into input and reference")
    print(f"decoding: {decoding.describe()}")
    settings = {"data": data, "decoding": decoding.describe(), "bertscore_model": scorer.bertscore_model,
                "num_layers": scorer.num_layers}
    score = continuation_scorer(kept, decoding, scorer, compare.batch_size, bleu_tokenize, rouge_tokenizer)
    return compare_models(compare, score, settings)
