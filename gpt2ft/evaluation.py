"""What the eval scripts share: which models to compare, and the loop that scores each and updates the table."""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Callable

import torch

from .cli import option
from .modeling import Runtime, load_model_and_tokenizer, pick_runtime
from .report import COLUMNS, publish, update_results


@dataclass
class CompareArgs:
    original: str = option("gpt2", "the model before fine-tuning (hub id or folder)")
    finetuned: str = option("output/lyrics", "the fine-tuned model folder")
    tokenizer: str | None = option(None, "tokenizer for both models (default: each model's own)")
    results: str = option("results/lyrics.json", "JSON file the metrics are merged into (Markdown beside it)")
    batch_size: int = option(16, "sequences per forward pass or generation batch")


ScoreFn = Callable[[object, object, Runtime], dict]


def compare_models(args: CompareArgs, score: ScoreFn, settings: dict) -> dict:
    """Score the original and the fine-tuned model in turn, merge into --results, print the table."""
    runtime = pick_runtime()
    results: dict = {}
    for column, _ in COLUMNS:
        name = getattr(args, column)
        model, tokenizer = load_model_and_tokenizer(name, args.tokenizer, runtime)
        metrics = score(model, tokenizer, runtime)
        del model
        gc.collect()
        if runtime.device.type == "cuda":
            torch.cuda.empty_cache()
        results = update_results(args.results, column, name, metrics, settings)
    publish(results, args.results)
    print(f"\nresults written to {args.results}")
    return results
