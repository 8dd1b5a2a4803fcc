"""Chat with a Chinese GPT-2 chatbot from finetune_chat.py.

Type a line, get a reply. Commands: /reset (forget the history), /history, /quit; Ctrl-D or Ctrl-C exits.
With stdin not a terminal it reads one user line per input line and prints one reply per line:

    printf '你好\n你喜欢什么运动？\n' | python chat.py --transcript chat.json
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import ModelArgs, option, parse_args, run_main
from gpt2ft.codec import make_codec
from gpt2ft.dialogue import ChatBot
from gpt2ft.files import atomic_write_json
from gpt2ft.generation import DecodingArgs
from gpt2ft.modeling import load_model_and_tokenizer, pick_runtime, seed_everything

DEFAULTS = dict(model="output/chat", max_new_tokens=64, temperature=0.7, top_k=20, top_p=0.9,
                repetition_penalty=1.2)


@dataclass
class ChatArgs:
    max_history_tokens: int = option(0, "token budget of the history, oldest turns dropped first "
                                        "(0: the context minus --max-new-tokens)")
    transcript: str | None = option(None, "save the conversation to this JSON file after every turn")
    retries: int = option(3, "regenerate an empty reply this many times before reporting it as empty")


def read_lines(interactive: bool):
    """User lines from the terminal (with a prompt) or from piped stdin, until Ctrl-D / end of input."""
    while True:
        try:
            line = input("你> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            return
        if not interactive and not line:
            return
        yield line.strip()


def main(argv: Sequence[str] | None = None) -> list[dict]:
    model_args, decoding, chat_args = parse_args([ModelArgs, DecodingArgs, ChatArgs], DEFAULTS, argv, __doc__)
    runtime = pick_runtime()
    model, tokenizer = load_model_and_tokenizer(model_args.model, model_args.tokenizer, runtime)
    bot = ChatBot(model, make_codec(tokenizer), decoding, runtime, chat_args.max_history_tokens, chat_args.retries)
    seed_everything(decoding.seed)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"chatting with {model_args.model} ({decoding.describe()}); /reset, /history, /quit")
    for line in read_lines(interactive):
        if not line:
            continue
        if line == "/quit":
            break
        if line == "/reset":
            bot.reset()
            print("(history cleared)")
            continue
        if line == "/history":
            print(bot.history_text())
            continue
        try:
            reply = bot.reply(line)
        except KeyboardInterrupt:
            break
        shown = reply.replace("\n", " ") or "(empty reply)"
        print(f"机器人> {shown}" if interactive else shown, flush=True)
        if chat_args.transcript:
            atomic_write_json(bot.transcript, chat_args.transcript)
    if chat_args.transcript:
        atomic_write_json(bot.transcript, chat_args.transcript)
    return bot.transcript


if __name__ == "__main__":
    run_main(main)
