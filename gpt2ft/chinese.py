"""Chinese GPT-2: the embedding transplant to the bert-base-chinese vocabulary, and the Chinese-Lyric-Corpus."""
from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import torch

from .cli import UserError, option
from .codec import NEWLINE_TOKEN, BertChineseCodec, make_codec
from .corpora import decode_text, normalize_text
from .lyrics import ContinuationSample, split_paragraphs
from .modeling import Runtime, check_vocab, load_model, load_tokenizer
from .tokens import cache_location

VOCAB_MULTIPLE = 64


@dataclass
class ChineseModelArgs:
    model: str = option("gpt2", "base checkpoint (hub id or folder)")
    tokenizer: str | None = option("bert-base-chinese", "BERT-style tokenizer (hub id or folder with vocab.txt)")
    base_tokenizer: str | None = option(None, "the tokenizer the base model was trained with (default: its own)")
    transplant: bool = option(True, "start new embedding rows from GPT-2's embeddings of the same text "
                                    "(--no-transplant: random rows)")
    from_scratch: bool = option(False, "train a fresh GPT-2 of the size below instead of loading --model")
    n_layer: int = option(12, "layers (with --from-scratch)")
    n_head: int = option(12, "attention heads (with --from-scratch)")
    n_embd: int = option(768, "width (with --from-scratch)")
    n_positions: int = option(1024, "context length (with --from-scratch)")


def padded_size(n: int, multiple: int = VOCAB_MULTIPLE) -> int:
    return -(-n // multiple) * multiple


def _source_text(token: str, specials: set[str]) -> str | None:
    """The text GPT-2 should see for a BERT token: newline for NEWLINE_TOKEN, no '##' marker, None for specials."""
    if token == NEWLINE_TOKEN:
        return "\n"
    if token in specials or re.fullmatch(r"\[unused\d+\]", token):
        return None
    return token[2:] if token.startswith("##") and len(token) > 2 else token


@torch.no_grad()
def transplant_embeddings(model, source_tokenizer, target_tokenizer, random_init: bool = False) -> None:
    """Resize the embeddings (and tied LM head) to the target vocabulary padded to a multiple of 64.

    Each row starts from the mean of the old rows of the ids the source tokenizer gives for that token's text;
    special tokens and the padding rows start from the mean of all old rows. random_init draws new rows instead."""
    old = model.get_input_embeddings().weight.detach().clone()
    mean = old.mean(0)
    size = len(target_tokenizer)
    rows = padded_size(size)
    new = mean.repeat(rows, 1)
    if random_init:
        new.normal_(0.0, model.config.initializer_range)
    else:
        specials = set(target_tokenizer.all_special_tokens)
        tokens = target_tokenizer.convert_ids_to_tokens(list(range(size)))
        texts = [_source_text(t, specials) for t in tokens]
        wanted = [i for i, t in enumerate(texts) if t]
        encoded = source_tokenizer([texts[i] for i in wanted], add_special_tokens=False)["input_ids"]
        for i, ids in zip(wanted, encoded):
            if ids:
                new[i] = old[ids].mean(0)
    model.resize_token_embeddings(rows, mean_resizing=False)
    model.get_input_embeddings().weight.copy_(new)
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        output.weight.copy_(new)
    _set_special_ids(model, target_tokenizer)


def _set_special_ids(model, tokenizer) -> None:
    model.config.bos_token_id = tokenizer.cls_token_id
    model.config.eos_token_id = tokenizer.sep_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config is not None:
        model.generation_config.bos_token_id = tokenizer.cls_token_id
        model.generation_config.eos_token_id = tokenizer.sep_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def gpt2_from_scratch(tokenizer, args: ChineseModelArgs):
    """A freshly initialised GPT-2 of the requested size for the tokenizer's (padded) vocabulary."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=padded_size(len(tokenizer)), n_positions=args.n_positions, n_embd=args.n_embd,
                        n_layer=args.n_layer, n_head=args.n_head)
    model = GPT2LMHeadModel(config)
    _set_special_ids(model, tokenizer)
    return model


def build_chinese_model(args: ChineseModelArgs, runtime: Runtime):
    """The model and BERT tokenizer to fine-tune: from scratch, transplanted from GPT-2, or already Chinese."""
    tokenizer_name = args.tokenizer or args.model
    tokenizer = load_tokenizer(tokenizer_name)
    if not isinstance(make_codec(tokenizer), BertChineseCodec):
        raise UserError(f"tokenizer '{tokenizer_name}' is not a BERT-style WordPiece tokenizer with [CLS]/[SEP]: "
                        "pass --tokenizer bert-base-chinese or a folder with its vocab.txt")
    if args.from_scratch:
        model = gpt2_from_scratch(tokenizer, args)
        print(f"from scratch: GPT-2 with {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")
        return model.to(runtime.device), tokenizer
    model = load_model(args.model, runtime)
    base = load_tokenizer(args.base_tokenizer or args.model)
    if base.get_vocab() != tokenizer.get_vocab():
        how = "random rows" if not args.transplant else "rows from GPT-2's embeddings of the same text"
        print(f"resizing the vocabulary {model.get_input_embeddings().num_embeddings} -> "
              f"{padded_size(len(tokenizer))} ({how})")
        transplant_embeddings(model, base, tokenizer, random_init=not args.transplant)
    check_vocab(model, tokenizer, args.model, tokenizer_name)
    return model.to(runtime.device), tokenizer


@dataclass
class ChineseSong:
    artist: str
    title: str
    lyrics: str


@dataclass
class ChineseLyricsSplit:
    train: list[ChineseSong]
    test: list[ChineseSong]
    test_artists: list[str]
    counts: Counter = field(default_factory=Counter)

    def report(self) -> str:
        lines = [f"{name}: {n}" for name, n in sorted(self.counts.items())]
        train_artists = len({s.artist for s in self.train})
        lines.append(f"train: {len(self.train)} songs by {train_artists} artists; test: {len(self.test)} songs by "
                     f"the last {len(self.test_artists)} artists ({', '.join(self.test_artists)})")
        return "\n".join(lines)


@dataclass
class ChineseLyricsDataArgs:
    data: str = option("data/chinese_lyrics", "Chinese-Lyric-Corpus: its zip or the unpacked folder")
    test_artists: int = option(10, "the last N artists (sorted by name) are the test set")
    cache_dir: str | None = option(None, "tokenization cache (default: .cache/ beside --data)")

    def resolved_cache_dir(self) -> Path:
        return cache_location(self.data, self.cache_dir)


def clean_lyrics(text: str) -> str:
    """Keep the line structure; two or more spaces inside a line also mark a line break in this corpus."""
    return normalize_text(re.sub(r"[ \u3000]{2,}", "\n", text.replace("\r\n", "\n")))


def _lyric_files(path: Path):
    """(artist, title, raw bytes) of every file in a folder or zip of per-artist folders."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path)
            yield (relative.parts[-2] if len(relative.parts) > 1 else ""), file.stem, file.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if info.is_dir():
                    continue
                parts = PurePosixPath(info.filename).parts
                yield (parts[-2] if len(parts) > 1 else ""), PurePosixPath(info.filename).stem, archive.read(info)
    else:
        raise UserError(f"{path} is neither a folder nor a zip: pass the Chinese-Lyric-Corpus folder or zip")


def read_chinese_lyrics(path: str | Path) -> tuple[list[ChineseSong], Counter]:
    """Every song of the corpus; binary, undecodable and empty files are skipped and counted."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: download the Chinese-Lyric-Corpus (see data/README.md) or pass --data")
    counts: Counter = Counter()
    songs = []
    for artist, title, raw in _lyric_files(path):
        if title.startswith(".") or not title:
            continue
        text = decode_text(raw)
        if text is None:
            counts["binary or undecodable files skipped"] += 1
            continue
        lyrics = clean_lyrics(text)
        if not lyrics:
            counts["empty files skipped"] += 1
            continue
        songs.append(ChineseSong(artist, title, lyrics))
    if not songs:
        raise UserError(f"{path} holds no readable song files ({dict(counts) or 'no files'})")
    return songs, counts


def load_chinese_lyrics(path: str | Path, test_artists: int = 10) -> ChineseLyricsSplit:
    """Songs split by artist: the last `test_artists` artists in sorted order are held out."""
    songs, counts = read_chinese_lyrics(path)
    artists = sorted({s.artist for s in songs})
    if test_artists >= len(artists):
        raise UserError(f"--test-artists {test_artists} leaves no training artists: {path} has {len(artists)}")
    held = artists[len(artists) - test_artists:] if test_artists > 0 else []
    train = [s for s in songs if s.artist not in held]
    test = [s for s in songs if s.artist in held]
    return ChineseLyricsSplit(train, test, held, counts)


def chinese_lyrics_prompt(title: str) -> str:
    """The first line of every Chinese song document: the title in book-title marks."""
    return f"《{title}》\n"


def chinese_lyrics_document(song: ChineseSong) -> str:
    return chinese_lyrics_prompt(song.title) + song.lyrics


def chinese_continuation_sample(song: ChineseSong) -> ContinuationSample | None:
    """Reference = the last stanza, or the last quarter of the lines when the song has no blank lines."""
    stanzas = split_paragraphs(song.lyrics)
    if len(stanzas) >= 2:
        head, reference = "\n\n".join(stanzas[:-1]), stanzas[-1]
    else:
        lines = [line for line in song.lyrics.split("\n") if line.strip()]
        if len(lines) < 2:
            return None
        cut = len(lines) - max(1, len(lines) // 4)
        head, reference = "\n".join(lines[:cut]), "\n".join(lines[cut:])
    return ContinuationSample(song.title, chinese_lyrics_prompt(song.title) + head + "\n", reference)


def characters(text: str) -> list[str]:
    """Non-space characters: the tokens of character-level ROUGE and distinct-n for Chinese."""
    return [c for c in text if not c.isspace()]
