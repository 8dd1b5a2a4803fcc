"""Shared command-line plumbing: dataclass options -> argparse with dashed flags, and one-line errors."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """Declare a dataclass field that becomes a command-line option."""
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_field(parser: argparse.ArgumentParser, field: dataclasses.Field, default: Any) -> None:
    meta = dict(field.metadata)
    help_text = meta.pop("help", "")
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    if kind == "bool":
        action = argparse.BooleanOptionalAction if default else "store_true"
        parser.add_argument(_flag(field.name), dest=field.name, default=default, help=help_text, action=action)
        return
    convert = {"int": int, "float": float}.get(kind.replace(" | None", ""), str)
    parser.add_argument(_flag(field.name), dest=field.name, default=default, type=convert, help=help_text,
                        metavar=field.name.upper().replace("_", "-"), **meta)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the script's docstring layout and shows every default that is not spelled out already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


def parse_args(groups: Sequence[type], defaults: dict[str, Any], argv: Sequence[str] | None,
               description: str | None = None) -> list[Any]:
    """Build a parser from dataclasses, apply the script's defaults, parse argv into dataclass instances."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=_HelpFormatter)
    known: set[str] = set()
    for group in groups:
        section = parser.add_argument_group(group.__name__)
        for field in dataclasses.fields(group):
            if field.name in known:
                continue
            known.add(field.name)
            _add_field(section, field, defaults.get(field.name, field.default))
    unknown = set(defaults) - known
    if unknown:
        raise ValueError(f"defaults name unknown options: {sorted(unknown)}")
    namespace = vars(parser.parse_args(argv))
    return [group(**{f.name: namespace[f.name] for f in dataclasses.fields(group)}) for group in groups]


def run_main(main: Callable[[Sequence[str] | None], T], argv: Sequence[str] | None = None) -> T:
    """Run a script's main, turning UserError into a one-line message and exit status 2."""
    try:
        return main(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


@dataclasses.dataclass
class ModelArgs:
    model: str = option("gpt2", "base checkpoint: a hub id or a local folder")
    tokenizer: str | None = option(None, "tokenizer hub id or folder (default: the model's own)")
