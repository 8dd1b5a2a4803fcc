"""Kaggle "Song lyrics from 79 musical genres" reader, English filter, and the lyrics prompt format."""
from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .cli import UserError, option
from .tokens import cache_location

REQUIRED_COLUMNS = ("SName", "Lyric")
LANGUAGE_COLUMN = "language"
LANGDETECT_CHARS = 1000


@dataclass
class Song:
    title: str
    lyrics: str
    row: int


@dataclass
class LyricsSplit:
    train: list[Song]
    test: list[Song]
    counts: Counter = field(default_factory=Counter)

    def report(self) -> str:
        """One line per filter: how many rows it dropped and what is left."""
        lines = [f"{name}: {n}" for name, n in sorted(self.counts.items())]
        lines.append(f"kept: {len(self.train)} train songs, {len(self.test)} test songs")
        return "\n".join(lines)


def lyrics_prompt(title: str) -> str:
    """The prompt line every song starts with, followed by a blank line."""
    return f'The lyrics of "{title}":\n\n'


def lyrics_document(song: Song) -> str:
    """A whole training document: the prompt line, a blank line, the lyrics."""
    return lyrics_prompt(song.title) + song.lyrics


def normalize_lyrics(text: str) -> str:
    """Unify line endings and trim trailing spaces so stanzas split on plain blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def split_paragraphs(lyrics: str) -> list[str]:
    """Split lyrics on blank lines into stanzas, dropping empty pieces."""
    return [p.strip() for p in re.split(r"\n\s*\n", normalize_lyrics(lyrics)) if p.strip()]


@dataclass
class ContinuationSample:
    title: str
    input: str
    reference: str


def continuation_sample(song: Song) -> ContinuationSample | None:
    """The BERTScore protocol: input = prompt line, blank line, all stanzas but the last, newline; reference = last.

    Songs with a single stanza give no sample (None)."""
    stanzas = split_paragraphs(song.lyrics)
    if len(stanzas) < 2:
        return None
    return ContinuationSample(song.title, lyrics_prompt(song.title) + "\n\n".join(stanzas[:-1]) + "\n", stanzas[-1])


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"{path} not found: download the lyrics CSV (see data/README.md) or pass --data FILE")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 (bad byte at offset {error.start}); re-save it as UTF-8") from None
    if not text.strip():
        raise UserError(f"{path} is empty")
    return text


def read_lyrics_rows(path: str | Path) -> tuple[list[dict[str, str]], Counter]:
    """Read the CSV into dict rows; rows with broken quoting (wrong field count) are skipped and counted."""
    path = Path(path)
    text = _read_text(path)
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{path} lacks column(s) {', '.join(missing)} (has: {', '.join(header) or 'nothing'}); "
                        "expected the Kaggle lyrics-data.csv schema ALink, SName, SLink, Lyric, language")
    counts: Counter = Counter()
    rows = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error:
            counts["dropped: broken quoting"] += 1
            continue
        if not values:
            continue
        if len(values) != len(header):
            counts["dropped: broken quoting"] += 1
            continue
        row = dict(zip(header, values))
        row["_row"] = str(reader.line_num)
        rows.append(row)
    return rows, counts


def _detect_language(text: str) -> str:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text[:LANGDETECT_CHARS])
    except LangDetectException:
        return "unknown"


def english_songs(rows: list[dict[str, str]], counts: Counter) -> list[Song]:
    """Keep rows with a title and lyrics whose language is English (column, else langdetect); count drops."""
    songs = []
    for row in rows:
        title = (row.get("SName") or "").strip()
        lyrics = normalize_lyrics(row.get("Lyric") or "")
        if not lyrics:
            counts["dropped: empty lyrics"] += 1
            continue
        if not title:
            counts["dropped: missing title"] += 1
            continue
        language = (row.get(LANGUAGE_COLUMN) or "").strip().lower()
        if not language:
            language = _detect_language(lyrics)
            counts["language detected by langdetect"] += 1
        if language != "en":
            counts["dropped: not English"] += 1
            continue
        songs.append(Song(title=title, lyrics=lyrics, row=int(row["_row"])))
    return songs


def load_lyrics(path: str | Path, test_rows: int = 500) -> LyricsSplit:
    """Read lyrics-data.csv; the last `test_rows` rows are the test set, the rows before them the training set."""
    rows, counts = read_lyrics_rows(path)
    if test_rows < 0 or test_rows >= len(rows):
        raise UserError(f"--test-rows {test_rows} leaves no training rows: {path} has {len(rows)} readable rows")
    cut = len(rows) - test_rows
    train_counts: Counter = Counter()
    test_counts: Counter = Counter()
    train = english_songs(rows[:cut], train_counts)
    test = english_songs(rows[cut:], test_counts)
    for name, n in train_counts.items():
        counts[f"train {name}"] += n
    for name, n in test_counts.items():
        counts[f"test {name}"] += n
    if not train:
        raise UserError(f"{path}: no English songs left in the training rows ({dict(counts)})")
    return LyricsSplit(train=train, test=test, counts=counts)


@dataclass
class LyricsDataArgs:
    data: str = option("data/lyrics/lyrics-data.csv", "Kaggle lyrics-data.csv (see data/README.md)")
    test_rows: int = option(500, "the last N rows of the CSV are the test set; the rows before them train")
    cache_dir: str | None = option(None, "tokenization cache (default: .cache/ beside --data)")

    def resolved_cache_dir(self) -> Path:
        return cache_location(self.data, self.cache_dir)
