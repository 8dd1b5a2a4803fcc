import json
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_CSV

import eval_bertScore
import eval_ppl
from gpt2ft.assets import tiny_gpt2
from gpt2ft.cli import UserError
from gpt2ft.lyrics import load_lyrics, lyrics_document

DATA = ["--data", str(SAMPLE_CSV), "--test-rows", "8"]


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, tokenizer_dir):
    folder = tmp_path_factory.mktemp("models")
    original = tiny_gpt2(folder / "original", tokenizer_dir, n_positions=128, n_embd=32, seed=1)
    finetuned = tiny_gpt2(folder / "finetuned", tokenizer_dir, n_positions=128, n_embd=32, seed=2)
    return str(original), str(finetuned)


def compare(two_models, results):
    return ["--original", two_models[0], "--finetuned", two_models[1], "--results", str(results), *DATA]


def test_eval_ppl_prints_the_table_and_writes_json(two_models, tmp_path, tokenizer, capsys):
    results_path = tmp_path / "results.json"
    results = eval_ppl.main(compare(two_models, results_path))
    out = capsys.readouterr().out
    assert "| Metrics | Original Model | Finetuned Model |" in out
    assert "| PPL |" in out and "| Next-token accuracy |" in out
    saved = json.loads(results_path.read_text())
    assert saved == results
    songs = load_lyrics(SAMPLE_CSV, 8).test
    expected_tokens = sum(len(tokenizer(lyrics_document(s))["input_ids"]) + 1 for s in songs)
    for column in ("original", "finetuned"):
        assert saved[column]["ppl_tokens"] == expected_tokens
        assert 1000 < saved[column]["ppl"] < 200000
    assert saved["original"]["ppl"] != saved["finetuned"]["ppl"]
    assert results_path.with_suffix(".md").read_text().startswith("| Metrics |")


def test_sliding_window_changes_only_context(two_models, tmp_path):
    full = eval_ppl.main(compare(two_models, tmp_path / "a.json"))
    windowed = eval_ppl.main([*compare(two_models, tmp_path / "b.json"), "--window", "32", "--stride", "16"])
    assert windowed["original"]["ppl_tokens"] == full["original"]["ppl_tokens"]
    assert windowed["original"]["ppl"] != full["original"]["ppl"]


def test_eval_bertscore_is_seeded_and_merges_with_ppl(two_models, tiny_bert_dir, tmp_path, capsys):
    results_path = tmp_path / "results.json"
    scorer = ["--bertscore-model", str(tiny_bert_dir), "--num-layers", "2", "--max-new-tokens", "20"]
    eval_ppl.main(compare(two_models, results_path))
    first = eval_bertScore.main([*compare(two_models, results_path), *scorer])
    out = capsys.readouterr().out
    for row in ("Precision", "Recall", "F1", "PPL", "BLEU-4", "ROUGE-L", "Distinct-1", "Distinct-2"):
        assert f"| {row} |" in out
    for column in ("original", "finetuned"):
        entry = first[column]
        assert entry["bertscore_samples"] == 7
        assert 0 <= entry["precision"] <= 1 and 0 <= entry["f1"] <= 1
        assert "ppl" in entry
    second = eval_bertScore.main([*compare(two_models, tmp_path / "again.json"), *scorer])
    for key in ("precision", "recall", "f1", "bleu4", "distinct2"):
        assert second["finetuned"][key] == first["finetuned"][key]


def test_songs_too_long_for_the_context_are_dropped(two_models, tiny_bert_dir, tmp_path):
    scorer = ["--bertscore-model", str(tiny_bert_dir), "--num-layers", "2"]
    results = eval_bertScore.main([*compare(two_models, tmp_path / "r.json"), *scorer, "--max-new-tokens", "60"])
    assert results["original"]["dropped_too_long"] == 6
    assert results["original"]["bertscore_samples"] + results["original"]["dropped_too_long"] == 7
    with pytest.raises(UserError, match="lower --max-new-tokens"):
        eval_bertScore.main([*compare(two_models, tmp_path / "r.json"), *scorer, "--max-new-tokens", "127"])


def test_a_different_model_replaces_stale_metrics(two_models, tmp_path):
    results_path = tmp_path / "r.json"
    eval_ppl.main(compare(two_models, results_path))
    swapped = ["--original", two_models[1], "--finetuned", two_models[1], "--results", str(results_path), *DATA]
    results = eval_ppl.main(swapped)
    assert results["original"]["model"] == two_models[1]
    assert results["original"]["ppl"] == results["finetuned"]["ppl"]


def test_bad_inputs_are_one_line_errors(two_models, tmp_path):
    with pytest.raises(UserError, match="not found"):
        eval_ppl.main([*compare(two_models, tmp_path / "r.json")[:6], "--data", str(tmp_path / "none.csv")])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="is not a results JSON file"):
        eval_ppl.main(compare(two_models, broken))
    done = subprocess.run([sys.executable, str(ROOT / "eval_ppl.py"), "--original", two_models[0],
                           "--finetuned", str(tmp_path / "missing" / "model"), *DATA,
                           "--results", str(tmp_path / "x.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not found" in errors[0]
    assert "Traceback" not in done.stderr
