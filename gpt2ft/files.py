"""Atomic writes: a temporary file beside the target, then a rename."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """torch.save to path without ever leaving a half-written file there."""
    _atomic(Path(path), lambda tmp: torch.save(obj, tmp))


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write UTF-8 text to path atomically."""
    _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(obj: Any, path: str | Path) -> None:
    """Write obj as indented JSON atomically."""
    atomic_write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", path)


def atomic_save_dir(save: Callable[[Path], None], path: str | Path) -> None:
    """Fill a fresh sibling folder with save(folder), then swap it in place of path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = path.with_name(f".{path.name}.old")
    try:
        save(tmp)
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
