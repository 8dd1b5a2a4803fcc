"""The results table: one JSON file that both eval scripts update, printed as Markdown like the paper's."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .cli import UserError
from .files import atomic_write_json, atomic_write_text

COLUMNS = (("original", "Original Model"), ("finetuned", "Finetuned Model"))
ROWS = (
    ("precision", "Precision", "{:.4f}"),
    ("recall", "Recall", "{:.4f}"),
    ("f1", "F1", "{:.4f}"),
    ("ppl", "PPL", "{:.2f}"),
    ("ppl_tokens", "PPL tokens", "{:,}"),
    ("next_token_accuracy", "Next-token accuracy", "{:.4f}"),
    ("bleu4", "BLEU-4", "{:.2f}"),
    ("bleu2", "BLEU-2", "{:.2f}"),
    ("rougeL", "ROUGE-L", "{:.4f}"),
    ("distinct1", "Distinct-1", "{:.4f}"),
    ("distinct2", "Distinct-2", "{:.4f}"),
    ("bertscore_samples", "BERTScore samples", "{:,}"),
    ("empty_generations", "Empty generations", "{:,}"),
)


def load_results(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is not a results JSON file: pass another --results path or delete it") from None


def update_results(path: str | Path, column: str, model: str, metrics: dict, settings: dict) -> dict:
    """Merge metrics into the column; metrics of a different model in that column are dropped first."""
    results = load_results(path)
    entry = results.get(column, {})
    if entry.get("model") != model:
        entry = {"model": model}
    entry.update(metrics)
    results[column] = entry
    results.setdefault("settings", {}).update(settings)
    atomic_write_json(results, path)
    return results


def _cell(value, fmt: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return fmt.format(value)


def markdown_table(results: dict) -> str:
    """Rows that any column has, in the paper's order (P, R, F1, PPL first)."""
    columns = [(c, title) for c, title in COLUMNS if c in results] or list(COLUMNS)
    lines = ["| Metrics | " + " | ".join(title for _, title in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, label, fmt in ROWS:
        values = [results.get(column, {}).get(key) for column, _ in columns]
        if all(v is None for v in values):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(v, fmt) for v in values) + " |")
    models = " · ".join(f"{title}: `{results[c]['model']}`" for c, title in COLUMNS if c in results)
    return "\n".join(lines) + ("\n\n" + models if models else "")


def publish(results: dict, path: str | Path) -> str:
    """Print the table and write it as Markdown beside the JSON file."""
    table = markdown_table(results)
    print(table)
    atomic_write_text(table + "\n", Path(path).with_suffix(".md"))
    return table
