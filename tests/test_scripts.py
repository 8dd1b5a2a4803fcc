import pytest

import demo
import eval_bertScore
import eval_ppl
import finetune
import generate

SCRIPTS = {finetune: ["--model", "--tokenizer", "--data", "--output-dir", "--epochs", "--max-steps", "--block-size",
                      "--batch-size", "--lr", "--seed", "--resume", "--grad-accum", "--max-grad-norm",
                      "--weight-decay", "--eval-interval", "--save-interval", "--no-pack", "--compile",
                      "--gradient-checkpointing"],
           generate: ["--model", "--tokenizer", "--input", "--prompt", "--title", "--max-new-tokens", "--temperature",
                      "--top-k", "--top-p", "--repetition-penalty", "--num-beams", "--greedy",
                      "--num-return-sequences", "--seed", "--stop-at-paragraph"],
           eval_ppl: ["--original", "--finetuned", "--tokenizer", "--data", "--results", "--window", "--stride"],
           eval_bertScore: ["--original", "--finetuned", "--results", "--max-new-tokens", "--bertscore-model",
                            "--num-layers", "--lang", "--rescale-with-baseline", "--idf", "--seed"]}


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
