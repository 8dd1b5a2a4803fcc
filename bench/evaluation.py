"""Evaluation speed: batched KV-cached generation vs one prompt at a time through pipeline, and batched
perplexity vs a one-text-at-a-time loop."""
from __future__ import annotations

import math
import time
from typing import Sequence

import torch

from gpt2ft.codec import make_codec
from gpt2ft.generation import generate_texts
from gpt2ft.metrics import perplexity
from gpt2ft.modeling import Runtime, context_length, seed_everything

from .timing import interleaved_medians, sync


def bench_generation(model, tokenizer, prompts: Sequence[str], new_tokens: int, batch_size: int,
                     repetitions: int, runtime: Runtime) -> dict:
    """Prompts per second of the published way (pipeline, one by one) and ours; both sample top-k 50 and are
    forced to produce exactly new_tokens tokens, so they do the same work."""
    from transformers import pipeline

    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, device=runtime.device)
    settings = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=True, top_k=50)
    codec = make_codec(tokenizer)
    encoded = codec.encode_batch(prompts)

    def published() -> float:
        seed_everything(0)
        sync(runtime.device)
        start = time.perf_counter()
        for prompt in prompts:
            pipe(prompt, return_full_text=False, pad_token_id=tokenizer.eos_token_id, **settings)
        sync(runtime.device)
        return time.perf_counter() - start

    def ours() -> float:
        seed_everything(0)
        sync(runtime.device)
        start = time.perf_counter()
        generate_texts(model, codec, encoded, settings, runtime, batch_size, desc="bench generation")
        sync(runtime.device)
        return time.perf_counter() - start

    seconds = interleaved_medians({"published": published, "ours": ours}, repetitions)
    return {name: {"prompts_per_s": len(prompts) / s, "seconds": s} for name, s in seconds.items()}


@torch.no_grad()
def one_at_a_time_nll(model, sequences: Sequence[list[int]], runtime: Runtime) -> tuple[float, int]:
    """The plain loop: each sequence alone, labels = inputs, loss times predicted tokens."""
    total, tokens = 0.0, 0
    for seq in sequences:
        x = torch.tensor([seq], device=runtime.device)
        with runtime.autocast():
            loss = model(input_ids=x, labels=x).loss
        total += float(loss) * (len(seq) - 1)
        tokens += len(seq) - 1
    return total, tokens


def bench_perplexity(model, tokenizer, documents: Sequence[str], batch_size: int, repetitions: int,
                     runtime: Runtime) -> dict:
    """Tokens per second and PPL of our batched evaluation and of the one-text loop (texts fit the context)."""
    codec = make_codec(tokenizer)
    window = context_length(model)
    sequences = [[codec.bos_id, *ids, codec.eos_id][:window] for ids in codec.encode_batch(documents)]
    model.eval()
    found: dict[str, tuple[float, int]] = {}

    def loop() -> float:
        start = time.perf_counter()
        found["loop"] = one_at_a_time_nll(model, sequences, runtime)
        sync(runtime.device)
        return time.perf_counter() - start

    def ours() -> float:
        start = time.perf_counter()
        result = perplexity(model, sequences, window, window, runtime, batch_size, desc="bench perplexity")
        sync(runtime.device)
        found["ours"] = (result.nll, result.tokens)
        return time.perf_counter() - start

    seconds = interleaved_medians({"loop": loop, "ours": ours}, repetitions)
    results = {name: {"tokens_per_s": found[name][1] / s, "ppl": math.exp(found[name][0] / found[name][1]),
                      "tokens": found[name][1]} for name, s in seconds.items()}
    results["ppl_relative_difference"] = abs(results["ours"]["ppl"] / results["loop"]["ppl"] - 1)
    return results
