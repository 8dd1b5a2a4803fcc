"""Write lyrics with a (fine-tuned) GPT-2: the prompt comes from input.txt, --input, --prompt or --title.

    python generate.py                                   # continues input.txt with output/lyrics
    python generate.py --title "Paper Lanterns" --num-return-sequences 3
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import ModelArgs, option, parse_args, run_main
from gpt2ft.generation import SamplingArgs, read_prompt, write_continuations
from gpt2ft.lyrics import lyrics_prompt

DEFAULTS = dict(model="output/lyrics", max_new_tokens=200, temperature=1.0, top_k=50, top_p=1.0)


@dataclass
class PromptArgs:
    input: str = option("input.txt", "file holding the prompt")
    prompt: str | None = option(None, "prompt text (instead of --input)")
    title: str | None = option(None, 'song title: builds the prompt \'The lyrics of "TITLE":\' + blank line')


def main(argv: Sequence[str] | None = None) -> list[str]:
    model_args, prompt_args, sampling = parse_args([ModelArgs, PromptArgs, SamplingArgs], DEFAULTS, argv, __doc__)
    if prompt_args.title is not None:
        text = lyrics_prompt(prompt_args.title.strip())
    else:
        text = read_prompt(prompt_args.prompt, prompt_args.input)
    return write_continuations(model_args.model, model_args.tokenizer, text, sampling)


if __name__ == "__main__":
    run_main(main)
