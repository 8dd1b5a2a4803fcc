"""Multi-turn dialogue for GPT-2 (the CDial-GPT format): corpus readers, speaker tokens, examples, history."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .cli import UserError, option
from .corpora import read_text_file
from .tokens import IGNORE_INDEX

SPEAKERS = ("[speaker1]", "[speaker2]")
USER, BOT = 0, 1
HELD_OUT_SHARE = 20


@dataclass
class DialogueDataArgs:
    data: str = option("data/naturalconv", "NaturalConv folder (dialog_release.json + train/dev/test.txt), or a "
                                           "JSON / JSONL / YAML list of utterance lists")


@dataclass
class DialogueSplit:
    train: list[list[str]]
    dev: list[list[str]]
    test: list[list[str]]
    counts: Counter = field(default_factory=Counter)

    def report(self) -> str:
        lines = [f"{name}: {n}" for name, n in sorted(self.counts.items())]
        utterances = sum(len(d) for d in self.train)
        lines.append(f"dialogues: {len(self.train)} train ({utterances} utterances), {len(self.dev)} dev, "
                     f"{len(self.test)} test")
        return "\n".join(lines)


def _clean(dialogue, counts: Counter) -> list[str] | None:
    if not isinstance(dialogue, list) or not all(isinstance(u, str) for u in dialogue):
        counts["malformed dialogues skipped"] += 1
        return None
    utterances = [u.strip() for u in dialogue]
    if len(utterances) < 2:
        counts["dialogues with fewer than two utterances skipped"] += 1
        return None
    counts["empty utterances kept as empty turns"] += sum(1 for u in utterances if not u)
    return utterances


def _naturalconv(release: Path, counts: Counter) -> DialogueSplit:
    records = json.loads(read_text_file(release))
    if not isinstance(records, list):
        raise UserError(f"{release} is not a JSON list of dialogues")
    by_id = {}
    for record in records:
        if isinstance(record, dict) and "dialog_id" in record:
            utterances = _clean(record.get("content"), counts)
            if utterances:
                by_id[str(record["dialog_id"])] = utterances
        else:
            counts["malformed dialogues skipped"] += 1
    parts = []
    for name in ("train", "dev", "test"):
        split_file = release.parent / f"{name}.txt"
        if not split_file.is_file():
            raise UserError(f"{split_file} not found: NaturalConv needs train.txt, dev.txt and test.txt beside "
                            f"{release.name}")
        ids = [line.strip() for line in read_text_file(split_file).splitlines() if line.strip()]
        counts[f"{name} ids without a dialogue"] += sum(1 for i in ids if i not in by_id)
        parts.append([by_id[i] for i in ids if i in by_id])
    return DialogueSplit(*parts, counts=+counts)


def _load_plain(path: Path, counts: Counter) -> list:
    if path.suffix in (".yml", ".yaml"):
        import yaml

        data = yaml.safe_load(read_text_file(path)) or {}
        return data.get("conversations", []) if isinstance(data, dict) else []
    if path.suffix == ".jsonl":
        dialogues = []
        for line in read_text_file(path).splitlines():
            if line.strip():
                try:
                    dialogues.append(json.loads(line))
                except json.JSONDecodeError:
                    counts["malformed dialogues skipped"] += 1
        return dialogues
    data = json.loads(read_text_file(path))
    if not isinstance(data, list):
        raise UserError(f"{path} is not a JSON list of dialogues (lists of utterances)")
    return data


def _hold_out(dialogues: list[list[str]], counts: Counter) -> DialogueSplit:
    """The last 5% of the dialogues are the test set, the 5% before them the dev set."""
    n = len(dialogues)
    held = max(1, n // HELD_OUT_SHARE) if n >= 3 else 0
    return DialogueSplit(dialogues[:n - 2 * held], dialogues[n - 2 * held:n - held], dialogues[n - held:],
                         counts=+counts)


def read_dialogues(path: str | Path) -> DialogueSplit:
    """NaturalConv (dialog_release.json + split files) or plain lists of utterance lists (.json, .jsonl, .yml)."""
    path = Path(path)
    counts: Counter = Counter()
    if not path.exists():
        raise UserError(f"{path} not found: see data/README.md for NaturalConv, or pass --data PATH")
    if path.is_dir() and (path / "dialog_release.json").is_file():
        return _naturalconv(path / "dialog_release.json", counts)
    if path.name == "dialog_release.json":
        return _naturalconv(path, counts)
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".yml", ".yaml")) \
        if path.is_dir() else [path]
    if not files:
        raise UserError(f"{path} holds no dialogue files (.json, .jsonl, .yml)")
    dialogues = []
    for file in files:
        try:
            raw = _load_plain(file, counts)
        except json.JSONDecodeError as error:
            raise UserError(f"{file} is not valid JSON (line {error.lineno})") from None
        dialogues += [d for d in (_clean(item, counts) for item in raw) if d]
    if not dialogues:
        raise UserError(f"{path} holds no dialogue with two or more utterances")
    return _hold_out(dialogues, counts)


@torch.no_grad()
def add_speaker_tokens(model, tokenizer) -> None:
    """Add [speaker1]/[speaker2] to the tokenizer; grow the embeddings (padded to 64) with mean-initialised rows."""
    from .chinese import padded_size

    missing = [s for s in SPEAKERS if s not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": list(SPEAKERS)})
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        mean = model.get_input_embeddings().weight.mean(0)
        model.resize_token_embeddings(padded_size(len(tokenizer)), mean_resizing=False)
        model.get_input_embeddings().weight[rows:] = mean
        output = model.get_output_embeddings()
        if output is not None and output.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
            output.weight[rows:] = mean


class ChatFormat:
    """[CLS] [speaker1] u1 [SEP] [speaker2] u2 [SEP] ...: the one layout of training, evaluation and chat."""

    def __init__(self, codec):
        vocab = codec.tokenizer.get_vocab()
        if any(s not in vocab for s in SPEAKERS):
            raise UserError("the tokenizer has no [speaker1]/[speaker2] tokens: this is not a chat model; "
                            "fine-tune one with finetune_chat.py")
        self.codec = codec
        self.speaker_ids = [vocab[s] for s in SPEAKERS]

    def example(self, utterances: Sequence[Sequence[int]], speakers: Sequence[int], loss_on: str = "all",
                with_types: bool = True) -> tuple:
        """(inputs, targets, token_types or None) of one example; targets learn all turns or only the bot's."""
        ids, types, learn = [self.codec.bos_id], [self.speaker_ids[USER]], [False]
        for utterance, speaker in zip(utterances, speakers):
            speaker_id = self.speaker_ids[speaker]
            learned = loss_on == "all" or speaker == BOT
            ids += [speaker_id, *utterance, self.codec.eos_id]
            types += [speaker_id] * (len(utterance) + 2)
            learn += [False] + [learned] * (len(utterance) + 1)
        targets = [t if keep else IGNORE_INDEX for t, keep in zip(ids[1:], learn[1:])]
        return ids[:-1], targets, (types[:-1] if with_types else None)

    def dialogue_examples(self, dialogue: Sequence[Sequence[int]], max_tokens: int, loss_on: str = "all",
                          with_types: bool = True, counts: Counter | None = None) -> list[tuple]:
        """Examples of at most max_tokens, cut at utterance boundaries; speakers keep their original turns.

        An utterance that alone overflows is cut to fit (and counted); examples with nothing to learn are left out."""
        counts = counts if counts is not None else Counter()
        budget = max_tokens - 1
        examples, chunk, speakers, used = [], [], [], 0
        for index, utterance in enumerate(dialogue):
            if len(utterance) + 2 > budget:
                utterance = utterance[:budget - 2]
                counts["utterances cut to fit the context"] += 1
            if chunk and used + len(utterance) + 2 > budget:
                examples.append(self.example(chunk, speakers, loss_on, with_types))
                chunk, speakers, used = [], [], 0
            chunk.append(utterance)
            speakers.append(index % 2)
            used += len(utterance) + 2
        if chunk:
            examples.append(self.example(chunk, speakers, loss_on, with_types))
        kept = [e for e in examples if any(t != IGNORE_INDEX for t in e[1])]
        counts["examples with nothing to learn left out"] += len(examples) - len(kept)
        return kept

    def prompt(self, history: Sequence[tuple[int, Sequence[int]]], budget: int,
               with_types: bool = True) -> tuple[list[int], list[int] | None, int]:
        """Input ids (and types) for the bot's next reply: [CLS], the newest turns that fit `budget`, [speaker2].

        Oldest turns go first; a newest turn that alone is too long keeps its end. Also returns how many turns
        were left out."""
        turns = [(speaker, list(utterance)) for speaker, utterance in history]
        dropped = 0
        while len(turns) > 1 and _prompt_size(turns) > budget:
            turns.pop(0)
            dropped += 1
        if turns and _prompt_size(turns) > budget:
            speaker, utterance = turns[0]
            keep = max(0, len(utterance) - (_prompt_size(turns) - budget))
            turns[0] = (speaker, utterance[len(utterance) - keep:])
        ids, types = [self.codec.bos_id], [self.speaker_ids[USER]]
        for speaker, utterance in turns:
            speaker_id = self.speaker_ids[speaker]
            ids += [speaker_id, *utterance, self.codec.eos_id]
            types += [speaker_id] * (len(utterance) + 2)
        ids.append(self.speaker_ids[BOT])
        types.append(self.speaker_ids[BOT])
        return ids, (types if with_types else None), dropped


def _prompt_size(turns: Sequence[tuple[int, Sequence[int]]]) -> int:
    """[CLS] + each turn as speaker, utterance, [SEP] + the closing [speaker2]."""
    return 2 + sum(len(utterance) + 2 for _, utterance in turns)


def chat_examples(dialogues: Sequence[Sequence[str]], fmt: ChatFormat, max_tokens: int, loss_on: str,
                  with_types: bool, counts: Counter):
    """All training examples of the dialogues as an Examples dataset (padded per batch)."""
    from .tokens import Examples

    flat = [u for d in dialogues for u in d]
    encoded = iter(fmt.codec.encode_batch(flat))
    items = []
    for dialogue in dialogues:
        ids = [next(encoded) for _ in dialogue]
        items += fmt.dialogue_examples(ids, max_tokens, loss_on, with_types, counts)
    return Examples(items, fmt.codec.pad_id, len(dialogues))


def chat_settings(model) -> tuple[str, bool]:
    """(loss_on, speaker_embeddings) that finetune_chat.py stored in the model's config."""
    return getattr(model.config, "chat_loss_on", "all"), getattr(model.config, "chat_speaker_embeddings", True)


class ChatBot:
    """Keeps the history and answers each user line the way finetune_chat.py formatted the training data."""

    def __init__(self, model, codec, decoding, runtime, max_history_tokens: int = 0, retries: int = 3):
        from .modeling import context_length

        self.model, self.codec, self.decoding, self.runtime, self.retries = model, codec, decoding, runtime, retries
        self.format = ChatFormat(codec)
        room = context_length(model) - decoding.max_new_tokens
        if room < 8:
            raise UserError(f"--max-new-tokens {decoding.max_new_tokens} leaves no room for a history in the "
                            f"context of {context_length(model)} tokens")
        self.budget = min(max_history_tokens, room) if max_history_tokens > 0 else room
        self.with_types = chat_settings(model)[1]
        self.history: list[tuple[int, list[int]]] = []
        self.transcript: list[dict] = []

    def reset(self) -> None:
        self.history = []
        self.transcript.append({"event": "reset"})

    def reply(self, text: str) -> str:
        """Append the user's line, generate the bot's reply until [SEP], append it; empty replies are retried."""
        from .generation import generate_batch

        self.history.append((USER, self.codec.encode(text)))
        ids, types, _ = self.format.prompt(self.history, self.budget, self.with_types)
        reply_ids: list[int] = []
        for _ in range(1 + self.retries):
            reply_ids = generate_batch(self.model, self.codec, [ids], self.decoding.generate_kwargs(), self.runtime,
                                       token_types=[types] if types else None)[0]
            if self.codec.decode(reply_ids).strip():
                break
        reply = self.codec.decode(reply_ids).strip()
        self.history.append((BOT, reply_ids))
        self.transcript += [{"role": "user", "text": text}, {"role": "bot", "text": reply}]
        return reply

    def history_text(self) -> str:
        names = {USER: "user", BOT: "bot"}
        return "\n".join(f"{names[s]}: {self.codec.decode(u)}" for s, u in self.history) or "(empty)"
