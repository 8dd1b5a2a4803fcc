"""Turn the Chinese GPT-2 into a chatbot: fine-tune on multi-turn dialogues (NaturalConv, after CDial-GPT).

Every dialogue is [CLS] [speaker1] u1 [SEP] [speaker2] u2 [SEP] ...; token types mark each token's speaker.

    python finetune_chat.py --data data/naturalconv
    python finetune_chat.py --data dialogues.jsonl --loss-on bot
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import ModelArgs, option, parse_args, run_main
from gpt2ft.dialogue import ChatFormat, DialogueDataArgs, add_speaker_tokens, chat_examples, read_dialogues
from gpt2ft.modeling import load_model_and_tokenizer
from gpt2ft.training import TrainArgs, is_main_process, run_training

DEFAULTS = dict(
    model="uer/gpt2-chinese-cluecorpussmall",
    output_dir="output/chat",
    epochs=1,
    block_size=512,
    lr=5e-5,
    batch_size=8,
    eval_interval=500,
)


@dataclass
class ChatFormatArgs:
    loss_on: str = option("all", "learn every utterance, or only the bot's turns", choices=["all", "bot"])
    speaker_embeddings: bool = option(True, "add speaker embeddings through token types (CDial-GPT)")


def main(argv: Sequence[str] | None = None) -> dict:
    model_args, data_args, chat_args, train_args = parse_args([ModelArgs, DialogueDataArgs, ChatFormatArgs, TrainArgs],
                                                              DEFAULTS, argv, __doc__)
    split = read_dialogues(data_args.data)
    if is_main_process():
        print(split.report())

    def build(runtime):
        model, tokenizer = load_model_and_tokenizer(model_args.model, model_args.tokenizer, runtime)
        add_speaker_tokens(model, tokenizer)
        model.config.chat_loss_on = chat_args.loss_on
        model.config.chat_speaker_embeddings = chat_args.speaker_embeddings
        return model, tokenizer

    def make_data(codec):
        fmt, counts = ChatFormat(codec), Counter()
        args = (fmt, train_args.block_size, chat_args.loss_on, chat_args.speaker_embeddings, counts)
        train, dev = chat_examples(split.train, *args), chat_examples(split.dev, *args) if split.dev else None
        if is_main_process():
            print("\n".join(f"{name}: {n}" for name, n in sorted(counts.items()) if n))
        return train, dev

    return run_training(build, make_data, train_args)


if __name__ == "__main__":
    run_main(main)
