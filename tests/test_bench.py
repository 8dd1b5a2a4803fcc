import json

from bench.__main__ import main as bench_main
from bench.data import data_report, published_ratio
from bench.training import group_texts


def test_layout_helpers():
    docs = [[1, 2, 3], [4, 5, 6, 7, 8]]
    assert group_texts(docs, 3) == [{"input_ids": [1, 2, 3], "labels": [1, 2, 3]},
                                    {"input_ids": [4, 5, 6], "labels": [4, 5, 6]}]
    assert published_ratio(docs, 4) == (3 + 3) / 8
    report = data_report(docs, 0, 4, None)
    assert report["documents"] == 2 and report["tokens"] == 8 and report["truncated_documents"] == 1
    assert report["packed_useful_ratio"] == 10 / 12


def test_bench_runs_in_tiny_mode(tmp_path, capsys):
    output = tmp_path / "bench.json"
    results = bench_main(["all", "--tiny", "--output", str(output)])
    printed = capsys.readouterr().out
    for name in ("ours/published", "ours/trainer", "generation speed-up"):
        assert f"| {name} |" in printed
        assert results["ratios"][name] > 0
    saved = json.loads(output.read_text())
    assert saved["ratios"] == results["ratios"]
    assert saved["ppl"]["ppl_relative_difference"] < 1e-4
    for contender in ("published", "trainer", "ours"):
        assert saved["train"][contender]["useful_tokens_per_s"] > 0
    assert saved["train"]["ours"]["useful_token_ratio"] > saved["train"]["trainer"]["useful_token_ratio"] - 0.02
    assert (tmp_path / "bench_lengths.png").read_bytes()[:4] == b"\x89PNG"
