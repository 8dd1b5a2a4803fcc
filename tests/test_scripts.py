import subprocess
import sys

import pytest
from conftest import ROOT

import chat
import demo
import eval_bertScore
import eval_bertScore_chinese
import eval_chat
import eval_ppl
import finetune
import finetune_chat
import finetune_chinese
import finetune_chinese_lyrics
import generate
import generate_chinese
import generate_chinese_lyrics

SCRIPTS = {finetune: ["--model", "--tokenizer", "--data", "--output-dir", "--epochs", "--max-steps", "--block-size",
                      "--batch-size", "--lr", "--seed", "--resume", "--grad-accum", "--max-grad-norm",
                      "--weight-decay", "--eval-interval", "--save-interval", "--no-pack", "--compile",
                      "--gradient-checkpointing"],
           generate: ["--model", "--tokenizer", "--input", "--prompt", "--title", "--max-new-tokens", "--temperature",
                      "--top-k", "--top-p", "--repetition-penalty", "--num-beams", "--greedy",
                      "--num-return-sequences", "--seed", "--stop-at-paragraph"],
           eval_ppl: ["--original", "--finetuned", "--tokenizer", "--data", "--results", "--window", "--stride"],
           eval_bertScore: ["--original", "--finetuned", "--results", "--max-new-tokens", "--bertscore-model",
                            "--num-layers", "--lang", "--rescale-with-baseline", "--idf", "--seed"],
           finetune_chinese: ["--model", "--tokenizer", "--data", "--stride", "--from-scratch", "--n-layer", "--n-head",
                              "--n-embd", "--n-positions", "--no-transplant", "--resume", "--output-dir"],
           generate_chinese: ["--model", "--prompt", "--input", "--temperature", "--top-k", "--top-p",
                              "--repetition-penalty", "--num-beams", "--greedy", "--max-new-tokens", "--seed"],
           finetune_chinese_lyrics: ["--model", "--data", "--test-artists", "--output-dir", "--epochs"],
           generate_chinese_lyrics: ["--model", "--title", "--prompt", "--repetition-penalty"],
           eval_bertScore_chinese: ["--original", "--finetuned", "--data", "--test-artists", "--bertscore-model",
                                    "--num-layers", "--lang", "--results", "--max-new-tokens"],
           finetune_chat: ["--model", "--data", "--loss-on", "--no-speaker-embeddings", "--block-size", "--resume"],
           chat: ["--model", "--temperature", "--top-k", "--top-p", "--repetition-penalty", "--greedy",
                  "--max-new-tokens", "--seed", "--max-history-tokens", "--transcript"],
           eval_chat: ["--model", "--data", "--results", "--max-turns", "--bertscore-model", "--max-new-tokens"]}


@pytest.mark.parametrize("script", list(SCRIPTS), ids=lambda m: m.__name__)
def test_help_lists_dashed_flags_with_defaults(script, capsys):
    with pytest.raises(SystemExit) as done:
        script.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for flag in SCRIPTS[script]:
        assert flag in text, flag
    usage = text.split("\n\n")[0]
    assert "_" not in "".join(word for word in usage.split() if word.startswith("[--"))
    assert "(default:" in text


def test_published_defaults():
    assert finetune.DEFAULTS == dict(model="gpt2", data="data/lyrics/lyrics-data.csv", output_dir="output/lyrics",
                                     epochs=1, block_size=1024, lr=3e-5, batch_size=4)
    assert eval_bertScore.DEFAULTS["max_new_tokens"] == 100 and eval_bertScore.DEFAULTS["top_k"] == 50
    assert eval_ppl.DEFAULTS["original"] == "gpt2"


def test_demo_runs_the_whole_pipeline(tmp_path, capsys):
    results = demo.main(["--output-dir", str(tmp_path / "demo"), "--epochs", "2"])
    out = capsys.readouterr().out
    assert "| Metrics | Original Model | Finetuned Model |" in out
    for column in ("original", "finetuned"):
        for key in ("precision", "recall", "f1", "ppl"):
            assert key in results[column]
    assert (tmp_path / "demo" / "finetuned" / "model.safetensors").is_file()
    assert (tmp_path / "demo" / "results.md").is_file()


@pytest.mark.parametrize("script, args", [
    ("finetune_chinese.py", ["--data", "no/such/corpus.json"]),
    ("finetune_chat.py", ["--data", "no/such/naturalconv"]),
    ("generate_chinese_lyrics.py", ["--model", "no/such/model", "--title", "x"]),
])
def test_bad_paths_are_one_line_errors(script, args, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert [line for line in done.stderr.splitlines() if line.strip()] == [done.stderr.strip()]
    assert done.stderr.startswith("error: ") and "not found" in done.stderr
