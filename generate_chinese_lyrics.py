"""Write Chinese lyrics line by line from a title (--title) or first lines (--prompt, --input, input.txt).

    python generate_chinese_lyrics.py --title 夜空
    python generate_chinese_lyrics.py --prompt $'《夜空》\n我在人海里找你'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.chinese import chinese_lyrics_prompt
from gpt2ft.cli import ModelArgs, option, parse_args, run_main
from gpt2ft.generation import SamplingArgs, read_prompt, write_continuations

DEFAULTS = dict(model="output/chinese_lyrics", max_new_tokens=300, temperature=1.0, top_k=50, top_p=1.0,
                repetition_penalty=1.5)


@dataclass
class LyricsPromptArgs:
    input: str = option("input.txt", "file holding the first lines")
    prompt: str | None = option(None, "first lines (instead of --input)")
    title: str | None = option(None, "song title: builds the prompt 《TITLE》 + newline")


def main(argv: Sequence[str] | None = None) -> list[str]:
    model_args, prompt_args, sampling = parse_args([ModelArgs, LyricsPromptArgs, SamplingArgs], DEFAULTS, argv,
                                                   __doc__)
    if prompt_args.title is not None:
        text = chinese_lyrics_prompt(prompt_args.title.strip())
    else:
        text = read_prompt(prompt_args.prompt, prompt_args.input)
    return write_continuations(model_args.model, model_args.tokenizer, text, sampling)


if __name__ == "__main__":
    run_main(main)
