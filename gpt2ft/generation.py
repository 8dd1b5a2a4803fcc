"""Prompt handling and seeded, batched, KV-cached generation with the stop rules of the lyrics protocol."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from .cli import UserError, option
from .modeling import Runtime, context_length

BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass
class DecodingArgs:
    max_new_tokens: int = option(200, "tokens to generate at most")
    temperature: float = option(1.0, "sampling temperature")
    top_k: int = option(50, "sample from the k most likely tokens (0: no limit)")
    top_p: float = option(1.0, "nucleus sampling threshold (1.0: off)")
    repetition_penalty: float = option(1.0, "penalty for repeating tokens (1.0: off)")
    greedy: bool = option(False, "always take the most likely token instead of sampling")
    seed: int = option(42, "random seed: the same seed gives the same output")

    def generate_kwargs(self) -> dict:
        """Keyword arguments for model.generate."""
        kwargs = dict(max_new_tokens=self.max_new_tokens, repetition_penalty=self.repetition_penalty)
        if self.greedy:
            return {**kwargs, "do_sample": False}
        return {**kwargs, "do_sample": True, "temperature": self.temperature, "top_k": self.top_k,
                "top_p": self.top_p}

    def describe(self) -> str:
        if self.greedy:
            return f"greedy, max {self.max_new_tokens} new tokens, repetition penalty {self.repetition_penalty}"
        return (f"sampling with temperature {self.temperature}, top-k {self.top_k}, top-p {self.top_p}, "
                f"repetition penalty {self.repetition_penalty}, max {self.max_new_tokens} new tokens, "
                f"seed {self.seed}")


@dataclass
class SamplingArgs(DecodingArgs):
    num_beams: int = option(1, "beam search width (1: no beam search)")
    num_return_sequences: int = option(1, "how many continuations to print")
    stop_at_paragraph: bool = option(False, "stop at the first blank line (default: stop at the end of the song)")

    def generate_kwargs(self) -> dict:
        return {**super().generate_kwargs(), "num_beams": self.num_beams,
                "num_return_sequences": self.num_return_sequences}


class ParagraphStop(StoppingCriteria):
    """Stop each sequence once its generated text (leading blank lines ignored) contains a blank line."""

    def __init__(self, codec, prompt_length: int):
        self.codec, self.prompt_length = codec, prompt_length

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        texts = [self.codec.decode(row) for row in input_ids[:, self.prompt_length:].tolist()]
        done = [bool(BLANK_LINE.search(text.lstrip())) for text in texts]
        return torch.tensor(done, device=input_ids.device)


def cut_at_paragraph(text: str) -> str:
    """The generated text up to its first blank line, leading blank lines ignored."""
    return BLANK_LINE.split(text.lstrip(), maxsplit=1)[0].strip()


def read_prompt(prompt: str | None, input_file: str | None) -> str:
    """The prompt from --prompt, else from --input FILE; empty text is an error."""
    if prompt is not None:
        text, source = prompt, "--prompt"
    else:
        path = Path(input_file or "input.txt")
        if not path.is_file():
            raise UserError(f"{path} not found: write a prompt into it, or pass --prompt TEXT or --input FILE")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{path} is not UTF-8 text; re-save it as UTF-8") from None
        source = str(path)
    if not text.strip():
        raise UserError(f"{source} is empty: write the start of the text you want continued")
    return text


def fit_prompt(ids: list[int], model, max_new_tokens: int, source: str = "the prompt") -> list[int]:
    """Keep the prompt within the context minus max_new_tokens, cutting from the left with a warning."""
    context = context_length(model)
    if max_new_tokens >= context:
        raise UserError(f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in the model's "
                        f"context of {context} tokens")
    room = context - max_new_tokens
    if not ids:
        raise UserError(f"{source} has no tokens")
    if len(ids) > room:
        print(f"warning: {source} has {len(ids)} tokens; kept the last {room} so that it and "
              f"{max_new_tokens} new tokens fit the context of {context}", file=sys.stderr)
        return ids[-room:]
    return ids


def warn_unknown_tokens(codec, ids: Sequence[int], source: str) -> None:
    """Say how many prompt tokens the tokenizer could not represent."""
    count = sum(1 for i in ids if codec.unk_id is not None and i == codec.unk_id)
    if count:
        print(f"warning: {source} has {count} unknown token(s) ({codec.tokenizer.unk_token}); the model sees "
              "each as one placeholder", file=sys.stderr)


def _left_pad(rows: Sequence[Sequence[int]], pad: int, width: int) -> torch.Tensor:
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    for index, row in enumerate(rows):
        out[index, width - len(row):] = torch.as_tensor(row, dtype=torch.long)
    return out


@torch.no_grad()
def generate_batch(model, codec, prompts: Sequence[list[int]], kwargs: dict, runtime: Runtime,
                   stop_at_paragraph: bool = False,
                   token_types: Sequence[list[int]] | None = None) -> list[list[int]]:
    """Generate for left-padded prompts in one batch; returns each sequence's new token ids (EOS dropped).

    Ids the tokenizer cannot decode (padded embedding rows, [UNK] and the like) are never generated; new tokens
    take the last token type of their prompt (the bot's speaker in a dialogue)."""
    pad = codec.pad_id
    width = max(len(p) for p in prompts)
    input_ids = _left_pad(prompts, pad, width)
    mask = _left_pad([[1] * len(p) for p in prompts], 0, width)
    if token_types is not None:
        kwargs = {**kwargs, "token_type_ids": _left_pad(token_types, pad, width).to(runtime.device)}
    stopping = StoppingCriteriaList([ParagraphStop(codec, width)]) if stop_at_paragraph else None
    banned = codec.banned_ids(model.get_output_embeddings().out_features)
    with runtime.autocast():
        output = model.generate(input_ids=input_ids.to(runtime.device), attention_mask=mask.to(runtime.device),
                                pad_token_id=pad, eos_token_id=codec.eos_id, stopping_criteria=stopping,
                                suppress_tokens=banned or None, **kwargs)
    new_tokens = []
    for row in output[:, width:].tolist():
        if codec.eos_id in row:
            row = row[:row.index(codec.eos_id)]
        new_tokens.append(row)
    return new_tokens


def generate_texts(model, codec, prompts: Sequence[list[int]], kwargs: dict, runtime: Runtime,
                   batch_size: int = 16, stop_at_paragraph: bool = False, desc: str = "generating",
                   token_types: Sequence[list[int]] | None = None) -> list[str]:
    """Decoded continuations of many prompts, batched by similar length; output order follows the input."""
    from tqdm.auto import tqdm

    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[str] = [""] * len(prompts)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        chunk = order[start:start + batch_size]
        types = [token_types[i] for i in chunk] if token_types is not None else None
        outputs = generate_batch(model, codec, [prompts[i] for i in chunk], kwargs, runtime, stop_at_paragraph,
                                 types)
        for i, ids in zip(chunk, outputs):
            results[i] = codec.decode(ids)
    return results


def write_continuations(model_name: str, tokenizer_name: str | None, text: str, sampling: SamplingArgs) -> list[str]:
    """Load a model, continue `text` as the sampling flags say, print and return the continuations."""
    from .codec import make_codec
    from .modeling import load_model_and_tokenizer, pick_runtime, seed_everything

    runtime = pick_runtime()
    model, tokenizer = load_model_and_tokenizer(model_name, tokenizer_name, runtime)
    codec = make_codec(tokenizer)
    ids = codec.encode(text)
    warn_unknown_tokens(codec, ids, "the prompt")
    ids = fit_prompt(ids, model, sampling.max_new_tokens)
    seed_everything(sampling.seed)
    outputs = generate_batch(model, codec, [ids], sampling.generate_kwargs(), runtime, sampling.stop_at_paragraph)
    texts = [codec.decode(out) for out in outputs]
    if sampling.stop_at_paragraph:
        texts = [cut_at_paragraph(t) for t in texts]
    for number, continuation in enumerate(texts, 1):
        if len(texts) > 1:
            print(f"===== sample {number} =====")
        print(continuation)
    return texts
