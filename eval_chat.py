"""Response evaluation of a chat model: for every bot turn of the test dialogues, generate the reply from the
true history and compare it with the true reply (BLEU-2/4 and distinct-1/2 on characters, BERTScore).

    python eval_chat.py --model output/chat --data data/naturalconv
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.chinese import characters
from gpt2ft.cli import ModelArgs, UserError, option, parse_args, run_main
from gpt2ft.codec import make_codec
from gpt2ft.dialogue import ChatFormat, DialogueDataArgs, chat_settings, read_dialogues
from gpt2ft.evaluation import ScorerArgs
from gpt2ft.generation import DecodingArgs, generate_texts
from gpt2ft.metrics import bertscore, bleu, distinct_n
from gpt2ft.modeling import context_length, load_model_and_tokenizer, pick_runtime, seed_everything
from gpt2ft.report import publish, update_results

DEFAULTS = dict(model="output/chat", data="data/naturalconv", max_new_tokens=64, temperature=0.7, top_k=20,
                top_p=0.9, repetition_penalty=1.2, bertscore_model="bert-base-chinese", num_layers=8, lang="zh")


@dataclass
class ResponseArgs:
    results: str = option("results/chat.json", "JSON file the metrics are merged into (Markdown beside it)")
    batch_size: int = option(16, "replies generated per batch")
    max_turns: int = option(0, "evaluate at most this many bot turns (0: all)")


def main(argv: Sequence[str] | None = None) -> dict:
    model_args, data_args, response, decoding, scorer = parse_args(
        [ModelArgs, DialogueDataArgs, ResponseArgs, DecodingArgs, ScorerArgs], DEFAULTS, argv, __doc__)
    dialogues = read_dialogues(data_args.data).test
    runtime = pick_runtime()
    model, tokenizer = load_model_and_tokenizer(model_args.model, model_args.tokenizer, runtime)
    codec = make_codec(tokenizer)
    fmt, with_types = ChatFormat(codec), chat_settings(model)[1]
    budget = context_length(model) - decoding.max_new_tokens
    prompts, types, references = [], [], []
    for dialogue in dialogues:
        encoded = codec.encode_batch(dialogue)
        for turn in range(1, len(dialogue), 2):
            ids, token_types, _ = fmt.prompt([(i % 2, u) for i, u in enumerate(encoded[:turn])], budget, with_types)
            prompts.append(ids)
            types.append(token_types)
            references.append(dialogue[turn])
    if response.max_turns:
        prompts, types, references = (x[:response.max_turns] for x in (prompts, types, references))
    if not prompts:
        raise UserError(f"{data_args.data}: no bot turns in the test dialogues")
    print(f"{len(prompts)} bot turns of {len(dialogues)} test dialogues; decoding: {decoding.describe()}")
    seed_everything(decoding.seed)
    replies = generate_texts(model, codec, prompts, decoding.generate_kwargs(), runtime, response.batch_size,
                             token_types=types if with_types else None)
    replies = [r.strip() for r in replies]
    p, r, f, hash_code = bertscore(replies, references, scorer.bertscore_args(), str(runtime.device))
    n = len(replies)
    metrics = {"bleu2": bleu(replies, references, "char", 2), "bleu4": bleu(replies, references, "char", 4),
               "distinct1": distinct_n(replies, 1, characters), "distinct2": distinct_n(replies, 2, characters),
               "precision": sum(p) / n, "recall": sum(r) / n, "f1": sum(f) / n, "bertscore_samples": n,
               "empty_generations": sum(1 for x in replies if not x), "bertscore_hash": hash_code,
               "examples": [{"reply": x, "reference": y} for x, y in zip(replies[:3], references[:3])]}
    results = update_results(response.results, "finetuned", model_args.model, metrics,
                             {"data": data_args.data, "decoding": decoding.describe()})
    publish(results, response.results)
    print(f"\ndecoding: {decoding.describe()}\nresults written to {response.results}")
    return results


if __name__ == "__main__":
    run_main(main)
