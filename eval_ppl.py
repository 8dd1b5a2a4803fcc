"""Perplexity of the original and the fine-tuned model on a task's test texts.

Token-weighted over the whole test set (total NLL / predicted tokens); texts longer than the context are scored
with a sliding window. Also reports next-token accuracy. --task picks the data and the two models:

    python eval_ppl.py                          # English lyrics: gpt2 vs output/lyrics
    python eval_ppl.py --task chinese_lyrics    # uer/gpt2-chinese-cluecorpussmall vs output/chinese_lyrics
    python eval_ppl.py --task chat              # output/chat on the NaturalConv test dialogues (turns as trained)
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable, Sequence

from gpt2ft.chinese import ChineseLyricsDataArgs, chinese_lyrics_document, load_chinese_lyrics
from gpt2ft.cli import UserError, option, parse_args, run_main
from gpt2ft.dialogue import DialogueDataArgs, read_dialogues
from gpt2ft.evaluation import CompareArgs, WindowArgs, chat_perplexity_scorer, compare_models, perplexity_scorer
from gpt2ft.lyrics import LyricsDataArgs, load_lyrics, lyrics_document


def english_lyrics(data: LyricsDataArgs) -> list[str]:
    return [lyrics_document(song) for song in load_lyrics(data.data, data.test_rows).test]


def chinese_lyrics(data: ChineseLyricsDataArgs) -> list[str]:
    return [chinese_lyrics_document(song) for song in load_chinese_lyrics(data.data, data.test_artists).test]


def documents_scorer(read: Callable) -> Callable:
    """A scorer factory for tasks whose test set is a list of documents."""

    def make(data, windows: WindowArgs, batch_size: int):
        documents = read(data)
        if not documents:
            raise UserError(f"{data.data}: no test texts to score")
        return perplexity_scorer(documents, windows, batch_size)

    return make


def chat_dialogues(data: DialogueDataArgs, windows: WindowArgs, batch_size: int):
    dialogues = read_dialogues(data.data).test
    if not dialogues:
        raise UserError(f"{data.data}: no test dialogues to score")
    return chat_perplexity_scorer(dialogues, windows.window, batch_size)


@dataclass
class Task:
    data_args: type
    make_scorer: Callable
    defaults: dict


TASKS = {
    "lyrics": Task(LyricsDataArgs, documents_scorer(english_lyrics), dict(
        original="gpt2", finetuned="output/lyrics", data="data/lyrics/lyrics-data.csv",
        results="results/lyrics.json", batch_size=8)),
    "chinese_lyrics": Task(ChineseLyricsDataArgs, documents_scorer(chinese_lyrics), dict(
        original="uer/gpt2-chinese-cluecorpussmall", finetuned="output/chinese_lyrics",
        data="data/chinese_lyrics", results="results/chinese_lyrics.json", batch_size=8)),
    "chat": Task(DialogueDataArgs, chat_dialogues, dict(
        original="", finetuned="output/chat", data="data/naturalconv", results="results/chat.json", batch_size=8)),
}
DEFAULTS = TASKS["lyrics"].defaults


@dataclass
class TaskArgs:
    task: str = option("lyrics", f"which test set and models: {', '.join(TASKS)}", choices=list(TASKS))


def main(argv: Sequence[str] | None = None) -> dict:
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--task", default="lyrics", choices=list(TASKS))
    task = TASKS[chooser.parse_known_args(argv)[0].task]
    _, compare, data_args, windows = parse_args([TaskArgs, CompareArgs, task.data_args, WindowArgs],
                                                task.defaults, argv, __doc__)
    scorer = task.make_scorer(data_args, windows, compare.batch_size)
    return compare_models(compare, scorer, {"data": data_args.data})


if __name__ == "__main__":
    run_main(main)
