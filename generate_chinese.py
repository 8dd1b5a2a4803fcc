"""Continue Chinese text (news, a novel) with a Chinese GPT-2 from finetune_chinese.py.

    python generate_chinese.py --prompt "今天天气很好，"
    python generate_chinese.py --model output/novel --input chapter.txt --max-new-tokens 400 --top-p 0.9
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gpt2ft.cli import ModelArgs, option, parse_args, run_main
from gpt2ft.generation import SamplingArgs, read_prompt, write_continuations

DEFAULTS = dict(model="output/chinese", max_new_tokens=300, temperature=1.0, top_k=50, top_p=0.95,
                repetition_penalty=1.2)


@dataclass
class TextPromptArgs:
    input: str = option("input.txt", "file holding the prompt")
    prompt: str | None = option(None, "prompt text (instead of --input)")


def main(argv: Sequence[str] | None = None) -> list[str]:
    model_args, prompt_args, sampling = parse_args([ModelArgs, TextPromptArgs, SamplingArgs], DEFAULTS, argv,
                                                   __doc__)
    text = read_prompt(prompt_args.prompt, prompt_args.input)
    return write_continuations(model_args.model, model_args.tokenizer, text, sampling)


if __name__ == "__main__":
    run_main(main)
