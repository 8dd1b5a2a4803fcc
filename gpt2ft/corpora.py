"""Readers for plain-text corpora: .txt files or folders, .jsonl with a text field, People's Daily JSON."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .cli import UserError

SNIFF_BYTES = 8192


def decode_text(raw: bytes) -> str | None:
    """UTF-8 (BOM allowed), else GB18030 (a superset of GBK/GB2312); None for binary or undecodable bytes."""
    if b"\0" in raw[:SNIFF_BYTES]:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def normalize_text(text: str) -> str:
    """Unix line ends, no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def read_text_file(path: Path) -> str:
    """One text file's content; a clear error when it is binary or in an unknown encoding."""
    text = decode_text(path.read_bytes())
    if text is None:
        raise UserError(f"{path} is not UTF-8 or GBK text; convert it to UTF-8")
    return text


def _people_daily(path: Path, counts: Counter) -> list[str]:
    try:
        records = json.loads(read_text_file(path))
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON (line {error.lineno}): expected People's Daily's list of "
                        "records with an 'output' field") from None
    if not isinstance(records, list):
        raise UserError(f"{path} holds a JSON {type(records).__name__}, not a list: expected People's Daily's list "
                        "of records with an 'output' field")
    docs = []
    for record in records:
        text = record.get("output") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            counts["records without an 'output' text skipped"] += 1
            continue
        docs.append(normalize_text(text))
    return docs


def _jsonl(path: Path, counts: Counter) -> list[str]:
    docs = []
    for line in read_text_file(path).splitlines():
        if not line.strip():
            continue
        try:
            text = json.loads(line).get("text")
        except (json.JSONDecodeError, AttributeError):
            text = None
        if not isinstance(text, str) or not text.strip():
            counts["jsonl lines without a 'text' skipped"] += 1
            continue
        docs.append(normalize_text(text))
    return docs


def _folder(path: Path, counts: Counter) -> list[str]:
    files = sorted(p for p in path.rglob("*.txt") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"{path} holds no .txt files: pass a folder of UTF-8 or GBK .txt files")
    docs = []
    for file in files:
        text = decode_text(file.read_bytes())
        if text is None:
            counts["binary or undecodable files skipped"] += 1
        elif not text.strip():
            counts["empty files skipped"] += 1
        else:
            docs.append(normalize_text(text))
    return docs


def read_text_corpus(path: str | Path) -> tuple[list[str], Counter]:
    """Documents from a .txt file (one document), a folder of .txt files, .jsonl ('text') or .json (People's Daily)."""
    path = Path(path)
    counts: Counter = Counter()
    if not path.exists():
        raise UserError(f"{path} not found: see data/README.md for the datasets, or pass --data PATH")
    if path.is_dir():
        docs = _folder(path, counts)
    elif path.suffix == ".json":
        docs = _people_daily(path, counts)
    elif path.suffix == ".jsonl":
        docs = _jsonl(path, counts)
    else:
        docs = [normalize_text(read_text_file(path))]
    docs = [d for d in docs if d]
    if not docs:
        raise UserError(f"{path} holds no text to train on ({dict(counts) or 'empty'})")
    return docs, counts
